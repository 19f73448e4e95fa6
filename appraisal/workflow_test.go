package appraisal

import (
	"strings"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

func TestAddWorkingDaysSkipsWeekendsAndHolidays(t *testing.T) {
	for _, c := range []struct {
		from     string
		n        int64
		holidays []string
		want     string
	}{
		{"2026-07-10", 5, nil, "2026-07-17"},                    // a Friday: the next five weekdays
		{"2026-07-10", 5, []string{"2026-07-14"}, "2026-07-20"}, // a holiday on the Tuesday
		{"2026-09-30", 3, []string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"}, "2026-10-12"},
		{"2026-07-11", 1, nil, "2026-07-13"}, // from a Saturday
	} {
		if got := AddWorkingDays(c.from, c.n, c.holidays); got != c.want {
			t.Errorf("%d working days after %s with %v = %s, want %s", c.n, c.from, c.holidays, got, c.want)
		}
	}
}

// TestSevenSteps runs 西山区财政局's third quarter through its seven steps: each step's writes
// are refused once it has closed, with nothing written; results are published with a 复核
// window of working days; a review changes a grade within the quota with a recorded reason;
// the filing's hash detects alteration; after filing nothing changes until the district
// reopens the quarter, which is filed again as the next version.
func TestSevenSteps(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		id := w.people
		pr := must[Progress](t)(w.svc.Progress(ctx, w.hr, c.ID))
		if pr.Step != 1 || len(pr.Steps) != 7 || pr.Steps[0].Deadline != "2026-07-16" || pr.Steps[6].Deadline != "2026-11-04" || pr.Steps[0].Role != "组织人事部门" {
			t.Fatalf("progress at opening = %+v", pr)
		}
		closeStep := func(step int) Progress {
			t.Helper()
			return must[Progress](t)(w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: step}))
		}
		// Step 1: everyone needs a target task before it closes.
		_, err := w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: 2})
		wantErr(t, "closing step 2 first", err, errs.KindConflict, "当前是第1步“制定目标任务”，不能结束第2步")
		_, err = w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: 1})
		wantErr(t, "closing step 1 without tasks", err, errs.KindConflict, "以下考核对象尚未制定目标任务：局长、副局长")
		_, err = w.svc.CloseStep(ctx, w.member, c.ID, StepInput{Step: 1})
		wantErr(t, "a member closing a step", err, errs.KindNotFound, "考核周期不存在")
		var yiTask Task
		for _, a := range must[Cycle](t)(w.svc.GetCycle(ctx, w.hr, c.ID)).Appraisees {
			task := must[Task](t)(w.svc.CreateTask(ctx, w.hr, TaskInput{CycleID: c.ID, PersonID: a.PersonID, Dimension: "ji", Title: "季度重点工作",
				Standard: "按期完成", Weight: 1, BaseScore: 90}))
			if a.Name == "一号" {
				yiTask = task
			}
		}
		pr = closeStep(1)
		if pr.Step != 2 || pr.Steps[0].ClosedAt == nil || pr.Steps[0].ClosedBy != "czj_renshi" || !pr.Steps[1].Current {
			t.Fatalf("after step 1 = %+v", pr)
		}
		tasks := w.count(t, `SELECT COUNT(*) FROM ap_tasks`)
		_, err = w.svc.CreateTask(ctx, w.hr, TaskInput{CycleID: c.ID, PersonID: id["一号"], Dimension: "ji", Title: "x", Standard: "y", Weight: 1, BaseScore: 90})
		wantErr(t, "a task after step 1", err, errs.KindConflict, "第1步“制定目标任务”已经结束，不能再制定目标任务")
		_, err = w.svc.SetAppraisee(ctx, w.hr, c.ID, AppraiseeInput{PersonID: id["工勤"], Pool: PoolStaff})
		wantErr(t, "an appraisee after step 1", err, errs.KindConflict, "第1步“制定目标任务”已经结束")
		if n := w.count(t, `SELECT COUNT(*) FROM ap_tasks`); n != tasks {
			t.Fatal("a refused task was written")
		}

		// Step 2: 个人小结, by the appraisee alone.
		_, err = w.svc.WriteSelfSummary(ctx, w.member, c.ID, SelfSummaryInput{Body: " "})
		wantErr(t, "an empty summary", err, errs.KindInvalid, "请填写个人小结")
		_, err = w.svc.WriteSelfSummary(ctx, w.districtAdmin, c.ID, SelfSummaryInput{Body: "代写"})
		wantErr(t, "someone else's summary", err, errs.KindForbidden, "只有本周期的考核对象本人可以填写个人小结")
		must[SelfSummary](t)(w.svc.WriteSelfSummary(ctx, w.member, c.ID, SelfSummaryInput{Body: "本季度完成预算执行分析。"}))
		must[SelfSummary](t)(w.svc.WriteSelfSummary(ctx, w.member, c.ID, SelfSummaryInput{Body: "本季度按期完成预算执行分析。"}))
		must[Task](t)(w.svc.ReportTask(ctx, w.member, yiTask.ID, ReportInput{Completion: "已完成"}))
		if mine := must[[]SelfSummary](t)(w.svc.SelfSummaries(ctx, w.member, c.ID)); len(mine) != 1 || mine[0].Body != "本季度按期完成预算执行分析。" {
			t.Fatalf("一号's summaries = %+v", mine)
		}
		closeStep(2)
		_, err = w.svc.WriteSelfSummary(ctx, w.member, c.ID, SelfSummaryInput{Body: "补充"})
		wantErr(t, "a summary after step 2", err, errs.KindConflict, "第2步“个人小结”已经结束，不能再填写个人小结")
		_, err = w.svc.ReportTask(ctx, w.member, yiTask.ID, ReportInput{Completion: "补充"})
		wantErr(t, "a report after step 2", err, errs.KindConflict, "第2步“个人小结”已经结束")

		// Step 3: a link issued in the step, used after it, is refused.
		links := must[[]IssuedLink](t)(w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: 2}))
		must[MassRatingReceipt](t)(w.svc.RateByLink(ctx, links[0].Token, MassRatingInput{Ratings: []RateeScores{{PersonID: id["二号"], Scores: same(95)}}}))
		closeStep(3)
		_, err = w.svc.RateByLink(ctx, links[1].Token, MassRatingInput{Ratings: []RateeScores{{PersonID: id["二号"], Scores: same(10)}}})
		wantErr(t, "a mass rating after step 3", err, errs.KindConflict, "第3步“干部群众测评”已经结束，不能再测评")
		_, err = w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: 1})
		wantErr(t, "links after step 3", err, errs.KindConflict, "第3步“干部群众测评”已经结束")

		// Step 4: the supervising leader.
		scores := map[string]int64{"局长": 92, "副局长": 88, "党组成员": 85, "二号": 95, "三号": 93, "一号": 75, "四号": 85, "五号": 84, "六号": 83, "人事干部": 82}
		for name, v := range scores {
			if name != "局长" {
				must[RatingRecord](t)(w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: id[name], Party: "leader", Scores: same(v)}))
			}
		}
		closeStep(4)
		ratings := w.count(t, `SELECT COUNT(*) FROM ap_ratings`)
		_, err = w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: id["一号"], Party: "leader", Scores: same(99)})
		wantErr(t, "a leader rating after step 4", err, errs.KindConflict, "第4步“主管领导评价”已经结束，不能再以主管领导身份评分")
		_, err = w.svc.AssessTask(ctx, w.leader, yiTask.ID, AssessInput{Met: true})
		wantErr(t, "assessing after step 4", err, errs.KindConflict, "第4步“主管领导评价”已经结束")

		// Step 5: HR rates, then confirms: the results are computed and published.
		for name, v := range scores {
			if name != "人事干部" {
				must[RatingRecord](t)(w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: id[name], Party: "hr", Scores: same(v)}))
			}
		}
		ratings = w.count(t, `SELECT COUNT(*) FROM ap_ratings`)
		if fb := must[Feedback](t)(w.svc.Feedback(ctx, w.member, c.ID)); fb.Published || fb.Result != nil || !fb.Appraised {
			t.Fatalf("一号's feedback before publication = %+v", fb)
		}
		pr = closeStep(5)
		if pr.ReviewUntil != "2026-07-17" || pr.PublishedAt == nil || pr.Step != 6 {
			t.Fatalf("after step 5 = %+v", pr)
		}
		_, err = w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: id["一号"], Party: "hr", Scores: same(99)})
		wantErr(t, "an HR rating after step 5", err, errs.KindConflict, "第5步“组织人事部门综合评定”已经结束，不能再以组织人事部门身份评分")
		_, err = w.svc.ComputeResults(ctx, w.hr, c.ID)
		wantErr(t, "computing after step 5", err, errs.KindConflict, "不能再重新计算考核结果")
		if n := w.count(t, `SELECT COUNT(*) FROM ap_ratings`); n != ratings {
			t.Fatal("a refused rating was written")
		}

		// Step 6: 一号 sees 一般 and asks for a review; HR cannot exceed the quota of 好.
		fb := must[Feedback](t)(w.svc.Feedback(ctx, w.member, c.ID))
		if !fb.Published || fb.Result == nil || fb.Result.Grade != GradePass || !fb.CanRequest || fb.ReviewUntil != "2026-07-17" {
			t.Fatalf("一号's feedback = %+v", fb)
		}
		_, err = w.svc.RequestReview(ctx, w.member, c.ID, ReviewRequest{})
		wantErr(t, "a review without reason", err, errs.KindInvalid, "请填写申请复核的理由")
		rv := must[Review](t)(w.svc.RequestReview(ctx, w.member, c.ID, ReviewRequest{Reason: "预算分析按期报送，请复核"}))
		if rv.State != ReviewOpen || rv.OldGrade != GradePass {
			t.Fatalf("review = %+v", rv)
		}
		_, err = w.svc.RequestReview(ctx, w.member, c.ID, ReviewRequest{Reason: "再次"})
		wantErr(t, "a second review", err, errs.KindConflict, "本季度已申请过复核")
		_, err = w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: 6})
		wantErr(t, "closing step 6 with a review open", err, errs.KindConflict, "尚有1件复核申请未答复")
		_, err = w.svc.AnswerReview(ctx, w.hr, c.ID, AnswerInput{PersonID: id["一号"], Grade: "好", Answer: "改为好"})
		wantErr(t, "a review past the quota", err, errs.KindConflict, "一般公务员评定池“好”等次已满2名")
		ans := must[Review](t)(w.svc.AnswerReview(ctx, w.hr, c.ID, AnswerInput{PersonID: id["一号"], Grade: "较好", Answer: "经核实报送件按期，改为较好"}))
		if ans.State != ReviewChanged || ans.NewGrade != GradeFair {
			t.Fatalf("answer = %+v", ans)
		}
		if fb = must[Feedback](t)(w.svc.Feedback(ctx, w.member, c.ID)); fb.Result.Grade != GradeFair || fb.Result.Status != StatusReviewed || fb.Review.Answer != "经核实报送件按期，改为较好" {
			t.Fatalf("一号's feedback after review = %+v", fb)
		}
		_, err = w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: 6})
		wantErr(t, "closing step 6 within the window", err, errs.KindConflict, "申请复核的期限至2026-07-17止，尚未届满")
		w.now = time.Date(2026, 7, 20, 2, 0, 0, 0, time.UTC)
		erhao := principal(9, "czj_erhao", auth.RoleMember, w.unit, id["二号"])
		_, err = w.svc.RequestReview(ctx, erhao, c.ID, ReviewRequest{Reason: "晚了"})
		wantErr(t, "a review after the window", err, errs.KindConflict, "申请复核的期限已于2026-07-17届满")
		closeStep(6)

		// Step 7: filing, with a hash that detects alteration.
		pr = closeStep(7)
		if !pr.Filed || pr.Step != StepFiled {
			t.Fatalf("after filing = %+v", pr)
		}
		filings := must[[]Filing](t)(w.svc.Filings(ctx, w.districtAdmin, c.ID))
		if len(filings) != 1 || !filings[0].Intact || filings[0].Version != 1 || len(filings[0].Hash) != 64 ||
			!strings.Contains(string(filings[0].Snapshot), `"grade":"较好","status":"reviewed"`) {
			t.Fatalf("filings = %+v", filings)
		}
		altered := strings.Replace(string(filings[0].Snapshot), `"grade":"较好","status":"reviewed"`, `"grade":"好","status":"reviewed"`, 1)
		if HashSnapshot([]byte(altered)) == filings[0].Hash {
			t.Fatal("an altered snapshot keeps its hash")
		}
		if err := w.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE ap_filings SET snapshot = ? WHERE cycle_id = ?`, altered, c.ID)
			return err
		}); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("altering a filing in place: %v", err)
		}
		_, err = w.svc.AddEntry(ctx, w.hr, EntryInput{CycleID: c.ID, PersonID: id["一号"]})
		wantErr(t, "an entry after filing", err, errs.KindConflict, "本季度考核已备案，不能再登记负面清单与加扣分；如需更改，须经区级批准重新开启")
		_, err = w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: 7})
		wantErr(t, "filing twice", err, errs.KindConflict, "本季度考核已备案")

		// Only the district reopens, with a reason; the quarter is filed again as version 2.
		audits := w.count(t, `SELECT COUNT(*) FROM audit_log`)
		_, err = w.svc.Reopen(ctx, w.hr, c.ID, ReopenInput{Step: 5, Reason: "更正"})
		wantErr(t, "the unit reopening", err, errs.KindForbidden, "须经区级组织人事部门批准")
		_, err = w.svc.Reopen(ctx, w.districtAdmin, c.ID, ReopenInput{Step: 5})
		wantErr(t, "a reopen without reason", err, errs.KindInvalid, "请填写重新开启的理由")
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log`); n != audits {
			t.Fatal("a refused reopen was audited")
		}
		pr = must[Progress](t)(w.svc.Reopen(ctx, w.districtAdmin, c.ID, ReopenInput{Step: 6, Reason: "抽查发现备案材料缺页，退回补正"}))
		if pr.Step != 6 || pr.Filed || pr.Steps[5].ClosedAt != nil || pr.Steps[4].ClosedAt == nil {
			t.Fatalf("after reopening = %+v", pr)
		}
		closeStep(6)
		closeStep(7)
		filings = must[[]Filing](t)(w.svc.Filings(ctx, w.hr, c.ID))
		if len(filings) != 2 || filings[0].Version != 2 || !filings[0].Intact || !filings[1].Intact {
			t.Fatalf("filings after refiling = %+v", filings)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'appraisal.step_close'`); n != 9 {
			t.Fatalf("%d step audit records, want 9", n)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM ap_reopens WHERE reason = '抽查发现备案材料缺页，退回补正'`); n != 1 {
			t.Fatal("the reopen is not on record")
		}

		// Another unit's quarter still in step 1 after its deadline is overdue.
		other := w.cycle(t, w.other, "2026Q3")
		if pr := must[Progress](t)(w.svc.Progress(ctx, w.otherHR, other.ID)); !pr.Steps[0].Overdue || pr.Steps[1].Overdue {
			t.Fatalf("发改局's progress = %+v", pr)
		}
	})
}
