package appraisal

import (
	"fmt"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
)

// mergeUnit is a unit's quarter and its HR office.
type mergeUnit struct {
	c  Cycle
	hr *auth.Principal
}

// smallUnits sets 西山区's policy to merge small units (fewer than 5 in a pool), adds
// 西山区审计局 (审计长, a leader; 审计甲, 审计乙, 审计丙) and opens 2026Q3 for 财政局 (fin,
// unless without), 发改局 (dev) and 审计局 (aud).
func (w *world) smallUnits(t *testing.T, pol Policy, withFin bool) (fin, dev, aud mergeUnit) {
	t.Helper()
	pol.MergeSmallUnits = true
	must[PolicyVersion](t)(w.svc.SetPolicy(ctx, w.districtAdmin, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2026-01-01", Policy: pol}))
	audit := w.mustOrg(t, org.OrgInput{ParentID: w.district.ID, Name: "西山区审计局", Kind: org.KindGovUnit})
	w.person(t, audit, "审计长", "在职", "公务员", "领导干部")
	for _, n := range []string{"审计甲", "审计乙", "审计丙"} {
		w.person(t, audit, n, "在职", "公务员")
	}
	if withFin {
		fin = mergeUnit{w.cycle(t, w.unit, "2026Q3"), w.hr}
	}
	dev = mergeUnit{w.cycle(t, w.other, "2026Q3"), w.otherHR}
	aud = mergeUnit{w.cycle(t, audit, "2026Q3"), principal(8, "sjj_renshi", auth.RoleUnitAdmin, audit, 0)}
	return fin, dev, aud
}

// toStep gives everyone of the unit a 绩 task (assessed as met at 90 when assess) and
// closes the steps before step.
func (w *world) toStep(t *testing.T, u mergeUnit, step int, assess bool) {
	t.Helper()
	for _, a := range must[Cycle](t)(w.svc.GetCycle(ctx, u.hr, u.c.ID)).Appraisees {
		task := must[Task](t)(w.svc.CreateTask(ctx, u.hr, TaskInput{CycleID: u.c.ID, PersonID: a.PersonID, Dimension: "ji", Title: "季度重点工作",
			Standard: "按期完成", Weight: 1, BaseScore: 90}))
		if assess {
			must[Task](t)(w.svc.AssessTask(ctx, auth.System(), task.ID, AssessInput{Met: true}))
		}
	}
	for s := 1; s < step; s++ {
		must[Progress](t)(w.svc.CloseStep(ctx, u.hr, u.c.ID, StepInput{Step: s}))
	}
}

// rateHR records HR's rating of each named person, the same score on every dimension.
func (w *world) rateHR(t *testing.T, u mergeUnit, scores map[string]int64) {
	t.Helper()
	for name, v := range scores {
		must[RatingRecord](t)(w.svc.Rate(ctx, u.hr, RatingInput{CycleID: u.c.ID, PersonID: w.people[name], Party: "hr", Scores: same(v)}))
	}
}

// TestMergedPoolsOfSmallUnits: under a policy that merges small units (fewer than 5 in a
// pool), 西山区 grades the staff pools of 发改局 (4) and 审计局 (3) as one pool of 7 (好 quota
// ⌊40 % × 7⌋ = 2) and the leaders of 财政局 (3) and 审计局 (1) as one of 4 (quota 1), while
// 财政局's staff pool of 7 is graded alone.
func TestMergedPoolsOfSmallUnits(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		fin, dev, aud := w.smallUnits(t, DefaultPolicy, true)
		id := w.people
		w.toStep(t, fin, 5, false)
		w.toStep(t, dev, 5, false)
		w.toStep(t, aud, 4, false)
		w.rateHR(t, fin, map[string]int64{"局长": 92, "副局长": 92, "党组成员": 85, "一号": 95, "二号": 94, "三号": 93, "四号": 85, "五号": 84, "六号": 83})
		w.rateHR(t, dev, map[string]int64{"发改甲": 95, "发改乙": 96, "发改丙": 88, "发改丁": 91})
		w.rateHR(t, aud, map[string]int64{"审计长": 80, "审计甲": 94, "审计乙": 93, "审计丙": 70})

		// Refused: a unit still before step 5, a unit's HR, a small pool confirmed alone.
		in := MergeInput{OrgID: w.district.ID, Quarter: "2026Q3"}
		_, err := w.svc.MergePools(ctx, w.districtAdmin, in)
		wantErr(t, "merging with a unit at step 4", err, errs.KindConflict, "西山区审计局尚在第4步“主管领导评价”，小单位须都进入第5步")
		must[Progress](t)(w.svc.CloseStep(ctx, aud.hr, aud.c.ID, StepInput{Step: 4}))
		_, err = w.svc.MergePools(ctx, w.hr, in)
		if !errs.Is(err, errs.KindNotFound) && !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a unit's HR merging: %v", err)
		}
		_, err = w.svc.CloseStep(ctx, dev.hr, dev.c.ID, StepInput{Step: 5})
		wantErr(t, "confirming a small pool alone", err, errs.KindConflict, "一般公务员评定池人数少于5人，须由区级与其他小单位合并评定")
		if n := w.count(t, `SELECT COUNT(*) FROM ap_pool_merges`); n != 0 {
			t.Fatalf("%d merged gradings after refusals", n)
		}

		merged := must[[]MergedPool](t)(w.svc.MergePools(ctx, w.districtAdmin, in))
		if len(merged) != 2 {
			t.Fatalf("merged pools = %+v", merged)
		}
		leaders, staff := merged[0], merged[1]
		if staff.Pool != PoolStaff || staff.Size != 7 || staff.Slots != 2 || len(staff.Units) != 2 || staff.Counts[GradeGood] != 2 ||
			staff.Counts[GradeFair] != 4 || staff.Counts[GradePass] != 1 || len(staff.Tie) != 0 {
			t.Fatalf("merged staff = %+v", staff)
		}
		// Best first: 96 发改乙 and 95 发改甲 take both places; 审计甲 (94), who alone in 审计局
		// would have had its one place, is past the merged quota.
		want := []struct {
			name   string
			rank   int
			grade  Grade
			status Status
		}{{"发改乙", 1, GradeGood, StatusBand}, {"发改甲", 2, GradeGood, StatusBand}, {"审计甲", 3, GradeFair, StatusQuota},
			{"审计乙", 4, GradeFair, StatusQuota}, {"发改丁", 5, GradeFair, StatusQuota}, {"发改丙", 6, GradeFair, StatusBand}, {"审计丙", 7, GradePass, StatusBand}}
		for i, e := range staff.Entries {
			if e.Name != want[i].name || e.Rank != want[i].rank || e.Grade != want[i].grade || e.Status != want[i].status || e.Composite != 100*[]int64{96, 95, 94, 93, 91, 88, 70}[i] {
				t.Fatalf("merged staff entry %d = %+v, want %+v", i, e, want[i])
			}
		}
		if leaders.Pool != PoolLeader || leaders.Size != 4 || leaders.Slots != 1 || leaders.TieSlots != 1 || len(leaders.Tie) != 2 {
			t.Fatalf("merged leaders = %+v", leaders)
		}

		// Each unit's results are the merged grading's, and its summary says so.
		auditResults := must[[]Result](t)(w.svc.Results(ctx, aud.hr, ResultFilter{CycleID: aud.c.ID, Pool: PoolStaff}))
		if len(auditResults) != 3 || auditResults[0].Name != "审计甲" || auditResults[0].Rank != 3 || auditResults[0].Grade != GradeFair ||
			auditResults[0].Status != StatusQuota || auditResults[2].Grade != GradePass {
			t.Fatalf("审计局 staff = %+v", auditResults)
		}
		devSum := must[Summary](t)(w.svc.ComputeResults(ctx, dev.hr, dev.c.ID))
		ps := devSum.Pools[0]
		if ps.Merge == nil || ps.Merge.ID != staff.ID || ps.Merge.UnitNames() != "西山区发展和改革局、西山区审计局" || ps.Size != 7 || ps.Slots != 2 ||
			ps.Counts[GradeGood] != 2 || ps.Counts[GradeFair] != 2 || ps.MergeStale {
			t.Fatalf("发改局 staff summary = %+v", ps)
		}
		// 财政局's staff pool of 7 is not small: graded alone, 好 ⌊40 % × 6 graded⌋ = 2.
		finSum := must[Summary](t)(w.svc.ComputeResults(ctx, fin.hr, fin.c.ID))
		for _, ps := range finSum.Pools {
			if ps.Pool == PoolStaff && (ps.Small || ps.Merge != nil || ps.Size != 6 || ps.Slots != 2 || ps.Counts[GradeGood] != 2) {
				t.Fatalf("财政局 staff = %+v", ps)
			}
			if ps.Pool == PoolLeader && (ps.Merge == nil || len(ps.Tie) != 2 || ps.Size != 4) {
				t.Fatalf("财政局 leaders = %+v", ps)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM ap_results WHERE cycle_id = ? AND pool = 'staff' AND pool_key = ?`, fin.c.ID, fmt.Sprintf("c%d:staff", fin.c.ID)); n != 7 {
			t.Fatalf("财政局 staff results in its own pool: %d", n)
		}

		// The tie of the merged leaders is the district's to decide, not the unit's.
		_, err = w.svc.DecideTie(ctx, fin.hr, fin.c.ID, TieInput{Pool: PoolLeader, Winners: []int64{id["副局长"]}, Reason: "x"})
		wantErr(t, "the unit deciding a merged tie", err, errs.KindConflict, "领导干部评定池已与西山区审计局、西山区财政局合并评定，并列由西山区决定")
		_, err = w.svc.CloseStep(ctx, fin.hr, fin.c.ID, StepInput{Step: 5})
		wantErr(t, "confirming with a merged tie", err, errs.KindConflict, "领导干部评定池的合并评定有并列人员待西山区决定")
		_, err = w.svc.DecideMergedTie(ctx, w.districtAdmin, MergeTieInput{OrgID: w.district.ID, Quarter: "2026Q3", Pool: PoolLeader, MergeID: leaders.ID, Winners: []int64{id["副局长"], id["局长"]}, Reason: "x"})
		wantErr(t, "two winners for one place", err, errs.KindInvalid, "并列人员中应有 1 人评为好，已选 2 人")
		_, err = w.svc.DecideMergedTie(ctx, fin.hr, MergeTieInput{OrgID: w.district.ID, Quarter: "2026Q3", Pool: PoolLeader, MergeID: leaders.ID, Winners: []int64{id["副局长"]}, Reason: "x"})
		if !errs.Is(err, errs.KindNotFound) && !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a unit's HR deciding a merged tie: %v", err)
		}
		decided := must[MergedPool](t)(w.svc.DecideMergedTie(ctx, w.districtAdmin, MergeTieInput{OrgID: w.district.ID, Quarter: "2026Q3", Pool: PoolLeader, MergeID: leaders.ID, Winners: []int64{id["副局长"]}, Reason: "副局长牵头完成重点改革任务"}))
		if decided.ID == leaders.ID || len(decided.Tie) != 0 || decided.Counts[GradeGood] != 1 {
			t.Fatalf("after the decision = %+v", decided)
		}
		_, err = w.svc.DecideMergedTie(ctx, w.districtAdmin, MergeTieInput{OrgID: w.district.ID, Quarter: "2026Q3", Pool: PoolLeader, MergeID: leaders.ID, Winners: []int64{id["副局长"]}, Reason: "x"})
		wantErr(t, "deciding a superseded grading", err, errs.KindConflict, "该合并评定已被重新评定")
		finLeaders := must[[]Result](t)(w.svc.Results(ctx, fin.hr, ResultFilter{CycleID: fin.c.ID, Pool: PoolLeader}))
		byName := map[string]Result{}
		for _, r := range finLeaders {
			byName[r.Name] = r
		}
		if r := byName["副局长"]; r.Rank != 1 || r.Grade != GradeGood || r.Status != StatusTieWon ||
			byName["局长"].Grade != GradeFair || byName["局长"].TieReason != "副局长牵头完成重点改革任务" || byName["党组成员"].Rank != 3 {
			t.Fatalf("财政局 leaders = %+v", finLeaders)
		}

		// 审计局 changes a score after the merged grading: the grading no longer holds, so the
		// staff grades of both its units are held, and neither can confirm, until the district
		// grades the merged pool again.
		w.rateHR(t, aud, map[string]int64{"审计丙": 97})
		audSum := must[Summary](t)(w.svc.ComputeResults(ctx, aud.hr, aud.c.ID))
		devSum = must[Summary](t)(w.svc.ComputeResults(ctx, dev.hr, dev.c.ID))
		for _, sum := range []Summary{audSum, devSum} {
			for _, ps := range sum.Pools {
				if ps.Pool == PoolStaff && (!ps.MergeStale || ps.Merge == nil || ps.StaleUnitNames() != "西山区审计局" || ps.Count("好") != 0) {
					t.Fatalf("staff after 审计局's change = %+v", ps)
				}
			}
		}
		for _, r := range must[[]Result](t)(w.svc.Results(ctx, dev.hr, ResultFilter{CycleID: dev.c.ID, Pool: PoolStaff})) {
			if r.Grade != "" || r.StatusLabel != "合并评定后评分已有变化，等次暂缓，待区级重新合并评定" {
				t.Fatalf("发改局's held result = %+v", r)
			}
		}
		_, err = w.svc.CloseStep(ctx, aud.hr, aud.c.ID, StepInput{Step: 5})
		wantErr(t, "confirming a stale merge", err, errs.KindConflict, "一般公务员评定池合并评定后本单位的评分已有变化，合并评定已失效，等次暂缓：须由西山区重新合并评定后方可确认结果")
		_, err = w.svc.CloseStep(ctx, dev.hr, dev.c.ID, StepInput{Step: 5})
		wantErr(t, "confirming another unit's stale merge", err, errs.KindConflict, "一般公务员评定池合并评定后西山区审计局的评分已有变化")
		listed := must[[]MergedPool](t)(w.svc.MergedPools(ctx, w.districtAdmin, w.district.ID, "2026Q3"))
		if len(listed) != 2 || listed[0].Stale || !listed[1].Stale || strings.Join(listed[1].StaleUnits, "") != "西山区审计局" {
			t.Fatalf("the district's list after the change = %+v", listed)
		}
		again := must[[]MergedPool](t)(w.svc.MergePools(ctx, w.districtAdmin, in))
		// 97 审计丙 now leads the merged staff: 审计丙 and 发改乙 are 好, 发改甲 (95) is not.
		if s := again[1]; s.Entries[0].Name != "审计丙" || s.Entries[1].Name != "发改乙" || s.Entries[2].Grade != GradeFair || s.Entries[2].Name != "发改甲" {
			t.Fatalf("merged staff again = %+v", s.Entries)
		}
		// The leaders' tie stays decided when graded again.
		if l := again[0]; len(l.Tie) != 0 || l.Entries[1].Name != "副局长" || l.Entries[1].Status != StatusTieWon || l.Counts[GradeGood] != 1 {
			t.Fatalf("merged leaders again = %+v", l)
		}

		for _, u := range []mergeUnit{fin, dev, aud} {
			must[Progress](t)(w.svc.CloseStep(ctx, u.hr, u.c.ID, StepInput{Step: 5}))
		}
		// A confirmed quarter does not change: grading the merged pools again is refused.
		_, err = w.svc.MergePools(ctx, w.districtAdmin, in)
		wantErr(t, "merging after confirmation", err, errs.KindConflict, "西山区财政局：第5步“组织人事部门综合评定”已经结束，不能再合并评定")
		// The district sees no quota violation: each merged pool's 好 is counted whole.
		ov := must[Oversight](t)(w.svc.Oversight(ctx, w.districtAdmin, w.district.ID, "2026Q3"))
		for _, u := range ov.Units {
			if len(u.QuotaViolations) != 0 {
				t.Fatalf("%s quota violations %v", u.OrgName, u.QuotaViolations)
			}
		}
	})
}

// TestContestInMergedPool: the 争先赛 of a merged pool is run over the merged pool. With the
// top 30 % earning 2 points, 发改局 alone (4 staff) gives its one place to 发改乙 (绩 93.00)
// and 审计局 alone (3) has none; merged (7), the two places go to 审计甲 (绩 94.00) and 审计乙
// (绩 93.50), and 发改乙 earns nothing. The bonuses change the composites the merged pool is
// graded on, and each unit's results show the merged pool's bonuses.
func TestContestInMergedPool(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		pol := DefaultPolicy
		pol.ContestTopPct, pol.ContestBonus = 30, 200
		_, dev, aud := w.smallUnits(t, pol, false)
		w.toStep(t, dev, 5, true)
		w.toStep(t, aud, 5, true)
		w.rateHR(t, dev, map[string]int64{"发改甲": 95, "发改乙": 96, "发改丙": 88, "发改丁": 91})
		w.rateHR(t, aud, map[string]int64{"审计长": 80, "审计甲": 98, "审计乙": 97, "审计丙": 70})
		// Composite = 60 % × rating + 40 % × 绩, 绩 = (task 90 + rating) / 2.
		result := func(u mergeUnit, name string) Result {
			t.Helper()
			for _, r := range must[[]Result](t)(w.svc.Results(ctx, u.hr, ResultFilter{CycleID: u.c.ID, Pool: PoolStaff})) {
				if r.Name == name {
					return r
				}
			}
			t.Fatalf("no result of %s", name)
			return Result{}
		}
		must[Summary](t)(w.svc.ComputeResults(ctx, dev.hr, dev.c.ID))
		must[Summary](t)(w.svc.ComputeResults(ctx, aud.hr, aud.c.ID))
		if r := result(dev, "发改乙"); r.Composite != 9680 || r.Breakdown.BonusTotal != 200 {
			t.Fatalf("发改乙 graded alone = %d (bonus %d), want 96.80 with the bonus", r.Composite, r.Breakdown.BonusTotal)
		}
		if r := result(aud, "审计甲"); r.Composite != 9640 || r.Breakdown.BonusTotal != 0 {
			t.Fatalf("审计甲 graded alone = %d (bonus %d), want 96.40 without", r.Composite, r.Breakdown.BonusTotal)
		}

		merged := must[[]MergedPool](t)(w.svc.MergePools(ctx, w.districtAdmin, MergeInput{OrgID: w.district.ID, Quarter: "2026Q3"}))
		staff := merged[len(merged)-1]
		want := []struct {
			name              string
			scored, composite int64
			grade             Grade
		}{{"审计甲", 9640, 9840, GradeGood}, {"审计乙", 9560, 9760, GradeGood}, {"发改乙", 9480, 9480, GradeFair}, {"发改甲", 9400, 9400, GradeFair},
			{"发改丁", 9080, 9080, GradeFair}, {"发改丙", 8840, 8840, GradeFair}, {"审计丙", 7400, 7400, GradePoor}}
		if staff.Pool != PoolStaff || len(staff.Entries) != len(want) {
			t.Fatalf("merged staff = %+v", staff)
		}
		for i, e := range staff.Entries {
			bonus := int64(0)
			for _, b := range e.Bonuses {
				bonus += b.Points
			}
			if e.Name != want[i].name || e.Scored != want[i].scored || e.Composite != want[i].composite || bonus != e.Composite-e.Scored ||
				(want[i].grade != GradePoor && e.Grade != want[i].grade) {
				t.Errorf("merged staff %d = %s %d→%d %s, want %+v", i+1, e.Name, e.Scored, e.Composite, e.Grade, want[i])
			}
		}
		if r := result(dev, "发改乙"); r.Composite != 9480 || r.Breakdown.BonusTotal != 0 || r.Grade != GradeFair || r.Rank != 3 {
			t.Errorf("发改乙 merged = %+v", r)
		}
		if r := result(aud, "审计甲"); r.Composite != 9840 || len(r.Breakdown.Bonuses) != 1 || r.Breakdown.Bonuses[0].Dim != DimJi || r.Grade != GradeGood {
			t.Errorf("审计甲 merged = %+v", r)
		}
		// Computing again keeps the merged pool's bonuses: the scores did not change.
		sum := must[Summary](t)(w.svc.ComputeResults(ctx, dev.hr, dev.c.ID))
		if ps := sum.Pools[0]; ps.MergeStale || ps.Merge == nil || ps.Merge.ID != staff.ID {
			t.Fatalf("发改局 computed again = %+v", ps)
		}
		must[Progress](t)(w.svc.CloseStep(ctx, dev.hr, dev.c.ID, StepInput{Step: StepHR}))
	})
}

// TestMergeGoneStaleAfterConfirmation: 发改局 and 财政局 have confirmed their merged pools
// when 审计局, still at step 5, changes a score. The gradings of the pools 审计局 shares no
// longer hold: every unit of them is told so, and the district grades again, which returns
// the confirmed 发改局 to step 5 (recorded with the reason) while 财政局, whose merged
// leaders' grading still holds, stays confirmed. A filed unit is never changed by a merge:
// the district is told to reopen it first, and nothing is written until it does.
func TestMergeGoneStaleAfterConfirmation(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		fin, dev, aud := w.smallUnits(t, DefaultPolicy, true)
		for _, u := range []mergeUnit{fin, dev, aud} {
			w.toStep(t, u, 5, false)
		}
		w.rateHR(t, fin, map[string]int64{"局长": 93, "副局长": 92, "党组成员": 85, "一号": 95, "二号": 94, "三号": 93, "四号": 85, "五号": 84, "六号": 83})
		w.rateHR(t, dev, map[string]int64{"发改甲": 95, "发改乙": 96, "发改丙": 88, "发改丁": 91})
		w.rateHR(t, aud, map[string]int64{"审计长": 80, "审计甲": 94, "审计乙": 93, "审计丙": 70})
		in := MergeInput{OrgID: w.district.ID, Quarter: "2026Q3"}
		first := must[[]MergedPool](t)(w.svc.MergePools(ctx, w.districtAdmin, in))
		must[Progress](t)(w.svc.CloseStep(ctx, dev.hr, dev.c.ID, StepInput{Step: StepHR}))
		must[Progress](t)(w.svc.CloseStep(ctx, fin.hr, fin.c.ID, StepInput{Step: StepHR}))

		w.rateHR(t, aud, map[string]int64{"审计丙": 97})
		must[Summary](t)(w.svc.ComputeResults(ctx, aud.hr, aud.c.ID))
		// 发改局 has confirmed, but its page says its staff grades no longer hold, and why.
		devCycle := must[Cycle](t)(w.svc.GetCycle(ctx, dev.hr, dev.c.ID))
		if ps := devCycle.Summary.Pools[0]; !ps.MergeStale || ps.StaleUnitNames() != "西山区审计局" {
			t.Fatalf("发改局's confirmed staff pool after 审计局's change = %+v", ps)
		}
		small := must[[]SmallPool](t)(w.svc.SmallPools(ctx, w.districtAdmin, w.district.ID, "2026Q3"))
		stale := map[string]bool{}
		for _, sp := range small {
			stale[sp.OrgName+sp.Pool] = sp.Stale
		}
		if len(small) != 4 || !stale["西山区发展和改革局staff"] || !stale["西山区审计局staff"] || stale["西山区审计局leader"] || stale["西山区财政局leader"] {
			t.Fatalf("small pools = %+v", small)
		}

		again := must[[]MergedPool](t)(w.svc.MergePools(ctx, w.districtAdmin, in))
		if len(again) != 1 || again[0].Pool != PoolStaff || again[0].ID == first[1].ID {
			t.Fatalf("graded again = %+v", again)
		}
		if e := again[0].Entries; e[0].Name != "审计丙" || e[0].Grade != GradeGood || e[1].Name != "发改乙" || e[2].Name != "发改甲" || e[2].Grade != GradeFair {
			t.Fatalf("merged staff again = %+v", e)
		}
		pr := must[Progress](t)(w.svc.Progress(ctx, dev.hr, dev.c.ID))
		if pr.Step != StepHR || pr.PublishedAt != nil || pr.Steps[StepHR-1].ClosedAt != nil || pr.Reopened == nil ||
			!strings.Contains(pr.Reopened.Reason, "合并评定因西山区审计局评分变化已失效") {
			t.Fatalf("发改局 after the district graded again = %+v", pr)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM ap_reopens WHERE cycle_id = ? AND to_step = 5 AND approved_by = 'xishan_zzb'
			AND reason = '一般公务员评定池的合并评定因西山区审计局评分变化已失效，西山区重新合并评定，结果退回第5步重新确认'`, dev.c.ID); n != 1 {
			t.Fatalf("%d records of 发改局's return", n)
		}
		if pr := must[Progress](t)(w.svc.Progress(ctx, fin.hr, fin.c.ID)); pr.Step != StepFeedback {
			t.Fatalf("财政局, whose leaders' grading holds, is at step %d", pr.Step)
		}
		for _, r := range must[[]Result](t)(w.svc.Results(ctx, dev.hr, ResultFilter{CycleID: dev.c.ID, Pool: PoolStaff})) {
			if r.Name == "发改甲" && (r.Grade != GradeFair || r.Status != StatusQuota || r.Rank != 3) {
				t.Fatalf("发改甲 after grading again = %+v", r)
			}
		}
		must[Progress](t)(w.svc.CloseStep(ctx, dev.hr, dev.c.ID, StepInput{Step: StepHR}))

		// 财政局 files; then 审计局 changes its leader's score, and the merged leaders' grading
		// (财政局 and 审计局) goes stale.
		w.now = w.now.AddDate(0, 0, 14)
		must[Progress](t)(w.svc.CloseStep(ctx, fin.hr, fin.c.ID, StepInput{Step: StepFeedback}))
		must[Progress](t)(w.svc.CloseStep(ctx, fin.hr, fin.c.ID, StepInput{Step: StepFiling}))
		w.rateHR(t, aud, map[string]int64{"审计长": 99})
		must[Summary](t)(w.svc.ComputeResults(ctx, aud.hr, aud.c.ID))
		merges, reopens := w.count(t, `SELECT COUNT(*) FROM ap_pool_merges`), w.count(t, `SELECT COUNT(*) FROM ap_reopens`)
		_, err := w.svc.MergePools(ctx, w.districtAdmin, in)
		wantErr(t, "grading again over a filed unit", err, errs.KindConflict,
			"领导干部评定池的合并评定因西山区审计局评分变化已失效，但西山区财政局本季度考核已备案：须先批准重新开启该单位至第5步，方可重新合并评定")
		if w.count(t, `SELECT COUNT(*) FROM ap_pool_merges`) != merges || w.count(t, `SELECT COUNT(*) FROM ap_reopens`) != reopens {
			t.Fatal("a refused merge wrote something")
		}
		if pr := must[Progress](t)(w.svc.Progress(ctx, dev.hr, dev.c.ID)); pr.Step != StepFeedback {
			t.Fatalf("the refusal moved 发改局 to step %d", pr.Step)
		}
		must[Progress](t)(w.svc.Reopen(ctx, w.districtAdmin, fin.c.ID, ReopenInput{Step: StepHR, Reason: "审计局领导评分更正，重新合并评定"}))
		again = must[[]MergedPool](t)(w.svc.MergePools(ctx, w.districtAdmin, in))
		if len(again) != 1 || again[0].Pool != PoolLeader || again[0].Entries[0].Name != "审计长" || again[0].Entries[0].Grade != GradeGood {
			t.Fatalf("leaders graded again = %+v", again)
		}
		for _, u := range []mergeUnit{fin, aud} {
			must[Progress](t)(w.svc.CloseStep(ctx, u.hr, u.c.ID, StepInput{Step: StepHR}))
		}
	})
}
