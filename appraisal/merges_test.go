package appraisal

import (
	"fmt"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
)

// TestMergedPoolsOfSmallUnits: under a policy that merges small units (fewer than 5 in a
// pool), 西山区 grades the staff pools of 发改局 (4) and 审计局 (3) as one pool of 7 (好 quota
// ⌊40 % × 7⌋ = 2) and the leaders of 财政局 (3) and 审计局 (1) as one of 4 (quota 1), while
// 财政局's staff pool of 7 is graded alone.
func TestMergedPoolsOfSmallUnits(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		pol := DefaultPolicy
		pol.MergeSmallUnits = true
		must[PolicyVersion](t)(w.svc.SetPolicy(ctx, w.districtAdmin, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2026-01-01", Policy: pol}))
		audit := w.mustOrg(t, org.OrgInput{ParentID: w.district.ID, Name: "西山区审计局", Kind: org.KindGovUnit})
		w.person(t, audit, "审计长", "在职", "公务员", "领导干部")
		for _, n := range []string{"审计甲", "审计乙", "审计丙"} {
			w.person(t, audit, n, "在职", "公务员")
		}
		auditHR := principal(8, "sjj_renshi", auth.RoleUnitAdmin, audit, 0)
		id := w.people

		type unit struct {
			c  Cycle
			hr *auth.Principal
		}
		fin := unit{w.cycle(t, w.unit, "2026Q3"), w.hr}
		dev := unit{w.cycle(t, w.other, "2026Q3"), w.otherHR}
		aud := unit{w.cycle(t, audit, "2026Q3"), auditHR}
		toStep := func(u unit, step int) {
			t.Helper()
			for _, a := range must[Cycle](t)(w.svc.GetCycle(ctx, u.hr, u.c.ID)).Appraisees {
				must[Task](t)(w.svc.CreateTask(ctx, u.hr, TaskInput{CycleID: u.c.ID, PersonID: a.PersonID, Dimension: "ji", Title: "季度重点工作",
					Standard: "按期完成", Weight: 1, BaseScore: 90}))
			}
			for s := 1; s < step; s++ {
				must[Progress](t)(w.svc.CloseStep(ctx, u.hr, u.c.ID, StepInput{Step: s}))
			}
		}
		rate := func(u unit, scores map[string]int64) {
			t.Helper()
			for name, v := range scores {
				must[RatingRecord](t)(w.svc.Rate(ctx, u.hr, RatingInput{CycleID: u.c.ID, PersonID: id[name], Party: "hr", Scores: same(v)}))
			}
		}
		toStep(fin, 5)
		toStep(dev, 5)
		toStep(aud, 4)
		rate(fin, map[string]int64{"局长": 92, "副局长": 92, "党组成员": 85, "一号": 95, "二号": 94, "三号": 93, "四号": 85, "五号": 84, "六号": 83})
		rate(dev, map[string]int64{"发改甲": 95, "发改乙": 96, "发改丙": 88, "发改丁": 91})
		rate(aud, map[string]int64{"审计长": 80, "审计甲": 94, "审计乙": 93, "审计丙": 70})

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

		// 审计局 changes a score after the merged grading: it is graded alone again, flagged,
		// and cannot confirm until the district grades the merged pool again.
		rate(aud, map[string]int64{"审计丙": 97})
		audSum := must[Summary](t)(w.svc.ComputeResults(ctx, aud.hr, aud.c.ID))
		for _, ps := range audSum.Pools {
			if ps.Pool == PoolStaff && (!ps.MergeStale || ps.Merge != nil) {
				t.Fatalf("审计局 staff after a change = %+v", ps)
			}
		}
		_, err = w.svc.CloseStep(ctx, aud.hr, aud.c.ID, StepInput{Step: 5})
		wantErr(t, "confirming a stale merge", err, errs.KindConflict, "一般公务员评定池合并评定后本单位评分已有变化，须由区级重新合并评定")
		again := must[[]MergedPool](t)(w.svc.MergePools(ctx, w.districtAdmin, in))
		// 97 审计丙 now leads the merged staff: 审计丙 and 发改乙 are 好, 发改甲 (95) is not.
		if s := again[1]; s.Entries[0].Name != "审计丙" || s.Entries[1].Name != "发改乙" || s.Entries[2].Grade != GradeFair || s.Entries[2].Name != "发改甲" {
			t.Fatalf("merged staff again = %+v", s.Entries)
		}
		// The leaders' tie stays decided when graded again.
		if l := again[0]; len(l.Tie) != 0 || l.Entries[1].Name != "副局长" || l.Entries[1].Status != StatusTieWon || l.Counts[GradeGood] != 1 {
			t.Fatalf("merged leaders again = %+v", l)
		}

		for _, u := range []unit{fin, dev, aud} {
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
