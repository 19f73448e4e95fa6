package appraisal

import (
	"bytes"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/xlsx"
)

// publish runs a quarter of 西山区财政局 to its published results: a task each, HR's rating of
// everyone but the HR officer (who stays unrated), steps 1 to 5 closed.
func (w *world) publish(t *testing.T, quarter string, scores map[string]int64) Cycle {
	t.Helper()
	sys := auth.System()
	c := w.cycle(t, w.unit, quarter)
	got := must[Cycle](t)(w.svc.GetCycle(ctx, sys, c.ID))
	for _, a := range got.Appraisees {
		must[Task](t)(w.svc.CreateTask(ctx, sys, TaskInput{CycleID: c.ID, PersonID: a.PersonID, Dimension: "ji", Title: "日常工作",
			Standard: "按期完成", Weight: 1, BaseScore: 90}))
	}
	for step := 1; step <= 4; step++ {
		must[Progress](t)(w.svc.CloseStep(ctx, sys, c.ID, StepInput{Step: step}))
	}
	for name, v := range scores {
		must[RatingRecord](t)(w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: w.people[name], Party: "hr", Scores: same(v)}))
	}
	must[Progress](t)(w.svc.CloseStep(ctx, sys, c.ID, StepInput{Step: StepHR}))
	return c
}

// TestResultsInUse: a person's year and annual proposal, the unit's year pool by pool with the
// annual quota, the export for promotion review, and what each caller may see.
func TestResultsInUse(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		leaders := map[string]int64{"局长": 95, "副局长": 88, "党组成员": 80}
		q1 := map[string]int64{"一号": 95, "二号": 93, "三号": 85, "四号": 70, "五号": 82, "六号": 81}
		q2 := map[string]int64{"一号": 96, "二号": 85, "三号": 84, "四号": 92, "五号": 83, "六号": 80}
		for k, v := range leaders {
			q1[k], q2[k] = v, v
		}
		w.publish(t, "2026Q1", q1)
		w.publish(t, "2026Q2", q2)
		w.cycle(t, w.unit, "2026Q3") // open, not published: it does not count

		h := must[History](t)(w.svc.History(ctx, w.member, w.people["一号"], 2026))
		if len(h.Quarters) != 2 || h.Quarters[0].Grade != GradeGood || h.Quarters[1].Grade != GradeGood || !h.Annual.Candidate {
			t.Fatalf("一号's year = %+v", h)
		}
		if !strings.Contains(h.Annual.Text, "符合年度“优秀”推荐条件：2 个季度中 2 个为“好”") || !strings.Contains(h.Annual.Text, "已公示 2 个季度") {
			t.Errorf("一号's proposal: %s", h.Annual.Text)
		}
		h = must[History](t)(w.svc.History(ctx, w.hr, w.people["四号"], 2026))
		if h.Annual.Candidate || h.Annual.Text != "不符合年度“优秀”推荐条件：1 个季度为“一般”或“较差”（已公示 2 个季度，全年结果以四个季度为准）" {
			t.Errorf("四号's proposal: %+v", h.Annual)
		}
		if _, err := w.svc.History(ctx, w.member, w.people["二号"], 2026); !errs.Is(err, errs.KindNotFound) {
			t.Errorf("a member reads another's year: %v", err)
		}
		if _, err := w.svc.History(ctx, w.otherHR, w.people["一号"], 2026); !errs.Is(err, errs.KindNotFound) {
			t.Errorf("another unit's HR reads 一号's year: %v", err)
		}
		if h := must[History](t)(w.svc.History(ctx, w.hr, w.people["一号"], 2025)); len(h.Quarters) != 0 || h.Annual.Text != "本年度尚无公示的季度考核结果" {
			t.Errorf("2025: %+v", h)
		}

		y := must[UnitYear](t)(w.svc.UnitYear(ctx, w.districtAdmin, w.unit.ID, 2026))
		if len(y.Pools) != 2 || y.Cycles[2] != 0 || y.Cycles[0] == 0 {
			t.Fatalf("unit year = %+v", y)
		}
		staff := y.Pools[1]
		// Staff: 一号…六号 and the unrated HR officer; 40% of 7 is 2 places of 好 each quarter.
		if staff.Pool != PoolStaff || len(staff.People) != 7 || staff.Counts[0] != [4]int{2, 3, 1, 0} || staff.Counts[1] != [4]int{2, 4, 0, 0} {
			t.Fatalf("staff pool = %+v", staff)
		}
		// 一号 (好, 好) and 二号 (好, 较好) qualify; one annual place (20% of 7): 一号.
		if staff.Candidates != 2 || staff.Quota != 1 || staff.QuotaRaise != 1 {
			t.Errorf("staff annual: %d candidates, quota %d/%d", staff.Candidates, staff.Quota, staff.QuotaRaise)
		}
		// Leaders: 局长 (好, 好) qualifies; 20 % of 3 rounds down to none, but the annual quota,
		// like the quarter's, is at least one place in a pool that is not empty.
		lead := y.Pools[0]
		if lead.Pool != PoolLeader || len(lead.People) != 3 || lead.Candidates != 1 || lead.Quota != 1 || lead.QuotaRaise != 1 {
			t.Errorf("leaders annual = %+v", lead)
		}
		for _, p := range lead.People {
			if want := p.Name == "局长"; p.Proposed != want {
				t.Errorf("leader %s proposed = %v, grades %v", p.Name, p.Proposed, p.Grades)
			}
		}
		for _, p := range staff.People {
			want := p.Name == "一号"
			if p.Proposed != want {
				t.Errorf("%s proposed = %v, grades %v", p.Name, p.Proposed, p.Grades)
			}
		}
		if _, err := w.svc.UnitYear(ctx, w.otherHR, w.unit.ID, 2026); !errs.Is(err, errs.KindNotFound) {
			t.Errorf("another unit's HR reads the year: %v", err)
		}

		// The export: a row per person and quarter with the breakdown; audited.
		file, _, err := w.svc.ExportResults(ctx, w.hr, w.unit.ID, 2026)
		if err != nil {
			t.Fatal(err)
		}
		f, err := xlsx.Open(bytes.NewReader(file), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows := 0
		if err := f.ReadRows("", exportColumns, func(r xlsx.Row) error {
			rows++
			if r.Get("姓名") == "一号" && r.Get("季度") == "2026年第二季度" {
				for col, want := range map[string]string{"综合得分": "96", "组织人事部门评分": "96", "等次": "好", "评定池": "一般公务员",
					"全年“好”等次季度数": "2", "建议年度优秀": "是", "身份证号": "530112********0049"} {
					if got := r.Get(col); got != want {
						t.Errorf("export %s = %q, want %q", col, got, want)
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if rows != 20 {
			t.Errorf("export has %d rows, want 10 people × 2 quarters", rows)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'appraisal.results_export'`); n != 1 {
			t.Errorf("%d export audit records", n)
		}
		if _, _, err := w.svc.ExportResults(ctx, w.otherHR, w.unit.ID, 2026); !errs.Is(err, errs.KindNotFound) {
			t.Errorf("another unit's HR exports: %v", err)
		}
	})
}

// sheet builds an uploaded workbook with columns and rows.
func sheet(t *testing.T, columns []xlsx.Column, rows ...[]any) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	xw, err := xlsx.NewWriter(&buf, "Sheet1", columns)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := xw.WriteRow(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// TestRosterAndTaskImports: all or nothing, with every bad row named; refused after step 1.
func TestRosterAndTaskImports(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		id := func(n int) string { return idNumber(n) }
		// People are numbered in the order newWorld adds them: 局长 1, 副局长 2, 党组成员 3, 一号 4 … 六号 9, 人事干部 10, 工勤 11.
		before := w.count(t, `SELECT COUNT(*) FROM audit_log`)
		res, err := w.svc.ImportRoster(ctx, w.hr, c.ID, sheet(t, rosterColumns,
			[]any{id(9), "六号", "领导干部"}, []any{"530112198501019999", "无名", "一般公务员"}, []any{id(8), "五号", "科员"},
			[]any{id(7), "三号", "一般公务员"}, []any{id(9), "六号", "一般公务员"}))
		wantErr(t, "bad roster", err, errs.KindInvalid, "共 4 行有误，未导入任何考核对象")
		for row, msg := range map[int]string{3: "没有此身份证号的人员", 4: "评定池应为领导干部、一般公务员或不参加", 5: "姓名与身份证号不符（系统中为四号）", 6: "与第2行是同一人"} {
			if !strings.Contains(res.Problems[row], msg) {
				t.Errorf("row %d: %q, want %q", row, res.Problems[row], msg)
			}
		}
		if len(res.Report) == 0 || w.count(t, `SELECT COUNT(*) FROM audit_log`) != before {
			t.Fatalf("a refused roster wrote something or has no report")
		}
		res, err = w.svc.ImportRoster(ctx, w.hr, c.ID, sheet(t, rosterColumns,
			[]any{id(9), "六号", "领导干部"}, []any{id(8), "五号", "不参加"}))
		if err != nil || res.Imported != 1 || res.Removed != 1 {
			t.Fatalf("roster = %+v, %v", res, err)
		}
		got := must[Cycle](t)(w.svc.GetCycle(ctx, w.hr, c.ID))
		if got.Leaders != 4 || got.Staff != 5 {
			t.Errorf("after the roster: %d leaders, %d staff", got.Leaders, got.Staff)
		}

		res, err = w.svc.ImportTasks(ctx, w.hr, c.ID, sheet(t, taskColumns2,
			[]any{id(4), "一号", "绩", "完成预算编制", "9月底前报送", "回执", "2", "90"},
			[]any{id(4), "一号", "德", "遵守纪律", "无违纪", "", "1", "90"},
			[]any{id(8), "五号", "能", "业务学习", "学时达标", "", "1", "90"},
			[]any{id(5), "二号", "勤", "", "全勤", "", "0", "101"}))
		wantErr(t, "bad tasks", err, errs.KindInvalid, "共 3 行有误，未导入任何目标任务")
		for row, msg := range map[int]string{3: "维度应为能、勤或绩", 4: "此人不是本季度的考核对象", 5: "请填写任务名称；权重应为 1 到 100 的整数；达标基础分应为 1 到 100 的整数"} {
			if res.Problems[row] != msg && !strings.Contains(res.Problems[row], msg) {
				t.Errorf("row %d: %q, want %q", row, res.Problems[row], msg)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM ap_tasks`); n != 0 {
			t.Fatalf("a refused task list wrote %d tasks", n)
		}
		res, err = w.svc.ImportTasks(ctx, w.hr, c.ID, sheet(t, taskColumns2,
			[]any{id(4), "一号", "绩", "完成预算编制", "9月底前报送", "回执", "2", "90"},
			[]any{id(4), "", "勤", "按时到岗", "全勤", "", "1", "85"}))
		if err != nil || res.Imported != 2 {
			t.Fatalf("tasks = %+v, %v", res, err)
		}
		tasks := must[[]Task](t)(w.svc.ListTasks(ctx, w.member, TaskFilter{CycleID: c.ID}))
		if len(tasks) != 2 || tasks[0].PersonName != "一号" {
			t.Fatalf("一号's tasks = %+v", tasks)
		}
		if _, err := w.svc.ImportTasks(ctx, w.otherHR, c.ID, sheet(t, taskColumns2, []any{id(4), "一号", "绩", "x", "y", "", "1", "90"})); !errs.Is(err, errs.KindNotFound) {
			t.Errorf("another unit's HR imports: %v", err)
		}
		// After step 1 the lists are closed.
		for _, a := range got.Appraisees {
			if a.Name != "一号" {
				must[Task](t)(w.svc.CreateTask(ctx, auth.System(), TaskInput{CycleID: c.ID, PersonID: a.PersonID, Dimension: "ji", Title: "日常", Standard: "按期", Weight: 1, BaseScore: 90}))
			}
		}
		must[Progress](t)(w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: 1}))
		_, err = w.svc.ImportTasks(ctx, w.hr, c.ID, sheet(t, taskColumns2, []any{id(4), "一号", "绩", "x", "y", "", "1", "90"}))
		wantErr(t, "tasks after step 1", err, errs.KindConflict, "制定目标任务")
	})
}

// TestReviewSurvivesReopening: a grade changed on review stands when the district reopens the
// filed quarter at step 5 and HR computes again, in the results and in the pool's counts.
func TestReviewSurvivesReopening(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.publish(t, "2026Q3", map[string]int64{"局长": 95, "副局长": 88, "党组成员": 80,
			"一号": 95, "二号": 93, "三号": 85, "四号": 70, "五号": 82, "六号": 81})
		must[Review](t)(w.svc.RequestReview(ctx, w.member, c.ID, ReviewRequest{Reason: "请复核"}))
		must[Review](t)(w.svc.AnswerReview(ctx, w.hr, c.ID, AnswerInput{PersonID: w.people["一号"], Grade: "较好", Answer: "经复核，评为较好"}))
		w.now = w.now.AddDate(0, 0, 14) // the 复核 window has passed
		must[Progress](t)(w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: StepFeedback}))
		must[Progress](t)(w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: StepFiling}))
		must[Progress](t)(w.svc.Reopen(ctx, w.districtAdmin, c.ID, ReopenInput{Step: StepHR, Reason: "补录一项加分"}))

		check := func(when string, sum Summary) {
			t.Helper()
			res := must[[]Result](t)(w.svc.Results(ctx, w.hr, ResultFilter{CycleID: c.ID, PersonID: w.people["一号"]}))
			if len(res) != 1 || res[0].Grade != GradeFair || res[0].Status != StatusReviewed {
				t.Fatalf("%s: 一号 = %+v", when, res)
			}
			for _, p := range sum.Pools {
				if p.Pool == PoolStaff && (p.Counts[GradeGood] != 1 || p.Counts[GradeFair] != 4) {
					t.Errorf("%s: staff counts = %v, want 1 好 (二号) and 4 较好", when, p.Counts)
				}
			}
		}
		check("recomputed", must[Summary](t)(w.svc.ComputeResults(ctx, w.hr, c.ID)))
		must[Progress](t)(w.svc.CloseStep(ctx, w.hr, c.ID, StepInput{Step: StepHR}))
		check("step 5 closed again", *must[Cycle](t)(w.svc.GetCycle(ctx, w.hr, c.ID)).Summary)
	})
}
