package appraisal

import (
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
)

// TestQuarterEndToEnd runs a quarter of 西山区财政局 under the default policy: target tasks,
// list entries, five anonymous mass ratings, the supervising leader's and HR's ratings, then
// grading by pool with a tie HR decides.
func TestQuarterEndToEnd(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		id := w.people
		// Every party gives the same score on every dimension, so a person's score is easy to read.
		value := map[string]int64{"局长": 98, "副局长": 97, "党组成员": 96,
			"一号": 96, "二号": 95, "三号": 95, "四号": 85, "五号": 99, "六号": 70, "人事干部": 88}

		links := must[[]IssuedLink](t)(w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: 5}))
		for i, l := range links {
			var in MassRatingInput
			for name, v := range value {
				if name == "四号" && i == 3 {
					v = 60 // the lowest, trimmed
				}
				if name == "四号" && i == 4 {
					v = 100 // the highest, trimmed
				}
				in.Ratings = append(in.Ratings, RateeScores{PersonID: id[name], Scores: same(v)})
			}
			must[MassRatingReceipt](t)(w.svc.RateByLink(ctx, l.Token, in))
		}
		for name, v := range value {
			if name != "局长" { // 局长 is the supervising leader and does not rate himself
				must[RatingRecord](t)(w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: id[name], Party: "leader", Scores: same(v)}))
			}
			if name != "人事干部" { // nor does HR
				must[RatingRecord](t)(w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: id[name], Party: "hr", Scores: same(v)}))
			}
		}

		// 六号 meets a 绩 task worth 100: half of 绩 comes from it.
		task := must[Task](t)(w.svc.CreateTask(ctx, w.hr, TaskInput{CycleID: c.ID, PersonID: id["六号"], Dimension: "ji", Title: "完成国库集中支付改革",
			Standard: "9月底前上线", Weight: 1, BaseScore: 100}))
		must[Task](t)(w.svc.AssessTask(ctx, w.leader, task.ID, AssessInput{Met: true}))

		fail := must[ListItem](t)(w.svc.CreateListItem(ctx, w.districtAdmin, ListItemInput{OrgID: w.district.ID, List: ListNegative,
			Dimension: "廉", Name: "违反中央八项规定精神受到处分", Consequence: ConsequenceFail}))
		deduct := must[ListItem](t)(w.svc.CreateListItem(ctx, w.districtAdmin, ListItemInput{OrgID: w.district.ID, List: ListNegative,
			Dimension: "德", Name: "工作纪律松散被通报", Consequence: ConsequenceDeduct, Points: 500}))
		praise := must[ListItem](t)(w.svc.CreateListItem(ctx, w.hr, ListItemInput{OrgID: w.unit.ID, List: ListAdjust, Name: "受到市级表彰", Points: 200}))
		enter := func(name string, item ListItem, confirm bool) Entry {
			e := must[Entry](t)(w.svc.AddEntry(ctx, w.leader, EntryInput{CycleID: c.ID, PersonID: id[name], ItemID: item.ID, OccurredOn: "2026-08-01", Evidence: "通报文件"}))
			if confirm {
				must[Entry](t)(w.svc.ConfirmEntry(ctx, w.hr, e.ID, ReviewInput{}))
			}
			return e
		}
		enter("五号", fail, true)        // 较差 whatever the score
		enter("一号", deduct, false)     // never confirmed: does not count
		e := enter("六号", deduct, true) // confirmed, then reversed: does not count
		must[Entry](t)(w.svc.ReverseEntry(ctx, w.deputy, e.ID, ReverseInput{Reason: "误登"}))
		enter("四号", praise, true) // +2

		sum := must[Summary](t)(w.svc.ComputeResults(ctx, w.hr, c.ID))
		if sum.PolicySource != SourceDefault || len(sum.Pools) != 2 || sum.Missing != 0 || len(sum.UniformRaters) != 0 {
			t.Fatalf("summary = %+v", sum)
		}
		leaders, staff := sum.Pools[0], sum.Pools[1]
		if leaders.Pool != PoolLeader || leaders.Size != 3 || leaders.Slots != 1 || leaders.Counts[GradeGood] != 1 || leaders.Counts[GradeFair] != 2 {
			t.Fatalf("leaders' pool = %+v", leaders)
		}
		// Staff have their own two places of 好 although all three leaders score above them.
		if staff.Size != 7 || staff.Slots != 2 || staff.Counts[GradeGood] != 1 || staff.TieSlots != 1 || len(staff.Tie) != 2 ||
			staff.Counts[GradeFair] != 2 || staff.Counts[GradePass] != 1 || staff.Counts[GradePoor] != 1 {
			t.Fatalf("staff pool = %+v", staff)
		}

		type want struct {
			composite int64
			grade     Grade
			status    Status
			rank      int
		}
		check := func(wants map[string]want) map[string]Result {
			t.Helper()
			results := must[[]Result](t)(w.svc.Results(ctx, w.leader, ResultFilter{CycleID: c.ID}))
			got := map[string]Result{}
			for _, r := range results {
				got[r.Name] = r
			}
			if len(got) != 10 {
				t.Fatalf("%d results, want 10", len(got))
			}
			for name, wnt := range wants {
				r := got[name]
				if r.Composite != wnt.composite || r.Grade != wnt.grade || r.Status != wnt.status || r.Rank != wnt.rank {
					t.Errorf("%s: %s %q %q rank %d; want %s %q %q rank %d", name, r.Score, r.Grade, r.Status, r.Rank,
						FormatScore(wnt.composite), wnt.grade, wnt.status, wnt.rank)
				}
			}
			return got
		}
		got := check(map[string]want{
			"局长": {9800, GradeGood, StatusBand, 1}, "副局长": {9700, GradeFair, StatusQuota, 2}, "党组成员": {9600, GradeFair, StatusQuota, 3},
			"五号": {9900, GradePoor, StatusFailed, 1}, "一号": {9600, GradeGood, StatusBand, 2},
			"二号": {9500, "", StatusTiePending, 3}, "三号": {9500, "", StatusTiePending, 3},
			"人事干部": {8800, GradeFair, StatusBand, 5}, "四号": {8700, GradeFair, StatusBand, 6}, "六号": {7600, GradePass, StatusBand, 7},
		})
		// The breakdowns show where the numbers came from.
		si := got["四号"].Breakdown
		if !si.Parties[PartyMass].Trimmed || si.Parties[PartyMass].Count != 5 || si.Parties[PartyMass].Average[DimDe] != 8500 ||
			si.Base != 8500 || si.AdjustTotal != 200 || len(si.Adjustments) != 1 || si.Adjustments[0].Label != "受到市级表彰" {
			t.Errorf("四号's breakdown = %+v", si)
		}
		hr := got["人事干部"].Breakdown
		if hr.PartyWeightUsed != 80 || hr.Parties[PartyHR].Used || hr.Parties[PartyHR].Count != 0 {
			t.Errorf("人事干部 (not rated by HR) = %+v", hr)
		}
		liu := got["六号"].Breakdown
		if liu.Target[DimJi] != 10000 || liu.Dimensions[DimJi] != 8500 || liu.Deducted != 0 || len(liu.Adjustments) != 0 {
			t.Errorf("六号's breakdown = %+v", liu)
		}
		if yi := got["一号"].Breakdown; yi.Deducted != 0 {
			t.Errorf("an unconfirmed deduction counted for 一号: %+v", yi)
		}

		// HR decides the tie, with a reason; a wrong decision is refused first.
		_, err := w.svc.DecideTie(ctx, w.hr, c.ID, TieInput{Pool: PoolStaff, Winners: []int64{id["二号"], id["三号"]}, Reason: "x"})
		wantErr(t, "both winning", err, errs.KindInvalid, "并列人员中应有 1 人评为好，已选 2 人")
		_, err = w.svc.DecideTie(ctx, w.hr, c.ID, TieInput{Pool: PoolStaff, Winners: []int64{id["一号"]}, Reason: "x"})
		wantErr(t, "someone not tied", err, errs.KindInvalid, "只能从并列人员中选定")
		_, err = w.svc.DecideTie(ctx, w.hr, c.ID, TieInput{Pool: PoolStaff, Winners: []int64{id["三号"]}})
		wantErr(t, "no reason", err, errs.KindInvalid, "请填写决定理由")
		_, err = w.svc.DecideTie(ctx, w.hr, c.ID, TieInput{Pool: PoolLeader, Winners: []int64{id["副局长"]}, Reason: "x"})
		wantErr(t, "leaders' pool", err, errs.KindConflict, "该评定池没有待决定的并列")
		_, err = w.svc.DecideTie(ctx, w.leader, c.ID, TieInput{Pool: PoolStaff, Winners: []int64{id["三号"]}, Reason: "x"})
		wantErr(t, "the leader deciding", err, errs.KindForbidden, "无权")
		sum = must[Summary](t)(w.svc.DecideTie(ctx, w.hr, c.ID, TieInput{Pool: PoolStaff, Winners: []int64{id["三号"]}, Reason: "三号牵头完成预算绩效评价专项"}))
		if sum.Pools[1].Counts[GradeGood] != 2 || len(sum.Pools[1].Tie) != 0 {
			t.Fatalf("after the decision: %+v", sum.Pools[1])
		}
		got = check(map[string]want{"二号": {9500, GradeFair, StatusTieLost, 3}, "三号": {9500, GradeGood, StatusTieWon, 3}})
		if got["三号"].TieReason != "三号牵头完成预算绩效评价专项" || got["二号"].TieReason == "" {
			t.Errorf("tie reasons: %q %q", got["三号"].TieReason, got["二号"].TieReason)
		}
		// Computing again keeps the decision while the tie is the same.
		must[Summary](t)(w.svc.ComputeResults(ctx, w.hr, c.ID))
		check(map[string]want{"三号": {9500, GradeGood, StatusTieWon, 3}})

		// Results stay in the unit: the other unit does not see them, a member cannot list them.
		if _, err := w.svc.Results(ctx, w.otherHR, ResultFilter{CycleID: c.ID}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("other unit reads results: %v", err)
		}
		if _, err := w.svc.Results(ctx, w.member, ResultFilter{CycleID: c.ID}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a member reads results: %v", err)
		}
		if district := must[[]Result](t)(w.svc.Results(ctx, w.districtAdmin, ResultFilter{CycleID: c.ID, Pool: PoolLeader})); len(district) != 3 || district[0].Name != "局长" {
			t.Fatalf("district's view of the leaders = %+v", district)
		}
		cy := must[Cycle](t)(w.svc.GetCycle(ctx, w.hr, c.ID))
		if cy.ComputedAt == nil || cy.Summary == nil || cy.Summary.Pools[1].Counts[GradeGood] != 2 {
			t.Fatalf("cycle after computing = %+v", cy)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action IN ('appraisal.compute', 'appraisal.tie_decide')`); n != 3 {
			t.Fatalf("%d compute/decide audit records, want 3", n)
		}
	})
}

// TestUniformScoringIsFlagged: a leader who gives everyone nearly the same score, and a unit
// whose scores barely differ, are flagged.
func TestUniformScoringIsFlagged(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		merge := DefaultPolicy
		merge.MergeSmallUnits = true
		must[PolicyVersion](t)(w.svc.SetPolicy(ctx, w.districtAdmin, PolicyInput{OrgID: w.district.ID, EffectiveFrom: "2026-01-01", Policy: merge}))
		c := w.cycle(t, w.other, "2026Q3")
		lead := principal(7, "fgj_juzhang", auth.RoleReviewer, w.other, w.people["发改甲"])
		if _, err := w.orgs.AddMembership(ctx, auth.System(), org.MembershipInput{PersonID: w.people["发改甲"], OrgID: w.other.ID, Position: "局长", StartedOn: "2024-01-01"}); err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]int64{"发改乙": 90, "发改丙": 90, "发改丁": 91} {
			must[RatingRecord](t)(w.svc.Rate(ctx, lead, RatingInput{CycleID: c.ID, PersonID: w.people[name], Party: "leader", Scores: same(v)}))
		}
		sum := must[Summary](t)(w.svc.ComputeResults(ctx, w.otherHR, c.ID))
		if len(sum.UniformRaters) != 1 || sum.UniformRaters[0].Rater != "fgj_juzhang" || sum.UniformRaters[0].Spread != 100 || sum.UniformRaters[0].Rated != 3 {
			t.Fatalf("uniform raters = %+v", sum.UniformRaters)
		}
		// 90, 90 and 91: the unit's scores lie within 1 分. Nobody rated 发改甲, who is not graded.
		// Four people are fewer than the five the district's policy grades alone.
		staff := sum.Pools[0]
		if !staff.Uniform || staff.Spread != 100 || staff.Size != 3 || sum.Missing != 1 || !sum.Flagged() || !staff.Small {
			t.Fatalf("staff pool = %+v; want flagged as uniform", staff)
		}
	})
}
