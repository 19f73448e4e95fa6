package appraisal

import (
	"testing"
	"time"

	"grassroots/errs"
	"grassroots/store"
)

// TestDistrictOversight: the district sees each unit's step, overdue steps, pools over the
// quota, missing filings and uniform scoring; a unit sees only itself.
func TestDistrictOversight(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		for name, v := range map[string]int64{"一号": 90, "二号": 90, "三号": 91} {
			must[RatingRecord](t)(w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: w.people[name], Party: "hr", Scores: same(v)}))
		}
		must[Summary](t)(w.svc.ComputeResults(ctx, w.hr, c.ID))
		// A pool's 好 beyond its quota (as an import or a hand edit might leave it) is flagged.
		if err := w.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE ap_results SET grade = '好' WHERE cycle_id = ? AND pool = 'staff'`, c.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		w.now = time.Date(2026, 7, 20, 2, 0, 0, 0, time.UTC)
		ov := must[Oversight](t)(w.svc.Oversight(ctx, w.districtAdmin, w.district.ID, "2026Q3"))
		if len(ov.Units) != 2 || ov.FilingDue != "2026-11-04" {
			t.Fatalf("oversight = %+v", ov)
		}
		unit, other := ov.Units[0], ov.Units[1]
		if unit.OrgName != "西山区财政局" || unit.Step != 1 || len(unit.Overdue) != 1 || unit.Overdue[0] != "第1步制定目标任务（期限2026-07-16）" ||
			len(unit.QuotaViolations) != 1 || unit.QuotaViolations[0] != "一般公务员评定池“好”3人，超出名额2人" || unit.MissingFiling ||
			len(unit.Uniform) != 2 || !unit.Flagged() {
			t.Fatalf("财政局 = %+v", unit)
		}
		if other.OrgName != "西山区发展和改革局" || other.CycleID != nil || other.StepName != "未开展" || other.MissingFiling || other.Flagged() {
			t.Fatalf("发改局 = %+v", other)
		}
		if ov.Counts["overdue"] != 1 || ov.Counts["flagged"] != 1 {
			t.Fatalf("counts = %+v", ov.Counts)
		}
		// After the filing deadline both are missing their filings.
		w.now = time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC)
		ov = must[Oversight](t)(w.svc.Oversight(ctx, w.districtAdmin, w.district.ID, "2026Q3"))
		if !ov.Units[0].MissingFiling || !ov.Units[1].MissingFiling || ov.Counts["missing_filing"] != 2 || len(ov.Units[0].Overdue) != 7 {
			t.Fatalf("after the filing deadline = %+v", ov.Units)
		}
		// A unit's HR sees its own unit only; another district's organisation is not found.
		if mine := must[Oversight](t)(w.svc.Oversight(ctx, w.hr, w.unit.ID, "2026Q3")); len(mine.Units) != 1 || mine.Units[0].OrgName != "西山区财政局" {
			t.Fatalf("财政局's own oversight = %+v", mine.Units)
		}
		_, err := w.svc.Oversight(ctx, w.hr, w.district.ID, "2026Q3")
		wantErr(t, "the district's oversight from a unit", err, errs.KindNotFound, "组织不存在")
		_, err = w.svc.Oversight(ctx, w.otherHR, w.unit.ID, "2026Q3")
		wantErr(t, "another unit's oversight", err, errs.KindNotFound, "组织不存在")
		_, err = w.svc.Oversight(ctx, w.districtAdmin, w.district.ID, "2026Q5")
		wantErr(t, "a bad quarter", err, errs.KindInvalid, "季度应写作如 2026Q3")
	})
}

// TestRectificationOrders: the district issues, the unit answers, the district closes.
func TestRectificationOrders(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		in := RectificationInput{OrgID: w.unit.ID, CycleID: c.ID, Issue: "第1步逾期，请于期限内补齐目标任务", DueOn: "2026-07-31"}
		_, err := w.svc.IssueRectification(ctx, w.hr, in)
		wantErr(t, "a unit ordering itself", err, errs.KindForbidden, "督促整改须由“西山区财政局”的上级组织下达")
		_, err = w.svc.IssueRectification(ctx, w.districtAdmin, RectificationInput{OrgID: w.unit.ID, DueOn: "2026-07-01"})
		wantErr(t, "no issue", err, errs.KindInvalid, "请填写整改事项")
		_, err = w.svc.IssueRectification(ctx, w.districtAdmin, RectificationInput{OrgID: w.unit.ID, Issue: "x", DueOn: "2026-07-01"})
		wantErr(t, "a past due date", err, errs.KindInvalid, "整改期限不能早于今天")
		_, err = w.svc.IssueRectification(ctx, w.districtAdmin, RectificationInput{OrgID: w.other.ID, CycleID: c.ID, Issue: "x", DueOn: "2026-07-31"})
		wantErr(t, "another unit's cycle", err, errs.KindInvalid, "该考核周期不属于“西山区发展和改革局”")
		if n := w.count(t, `SELECT COUNT(*) FROM ap_rectifications`); n != 0 {
			t.Fatalf("%d orders written by refusals", n)
		}
		r := must[Rectification](t)(w.svc.IssueRectification(ctx, w.districtAdmin, in))
		if r.State != RectOpen || r.IssuerOrgName != "西山区" || r.OrgName != "西山区财政局" || *r.CycleID != c.ID {
			t.Fatalf("order = %+v", r)
		}
		_, err = w.svc.AnswerRectification(ctx, w.otherHR, r.ID, RectAnswerInput{Answer: "x"})
		wantErr(t, "another unit answering", err, errs.KindNotFound, "整改单不存在")
		_, err = w.svc.CloseRectification(ctx, w.districtAdmin, r.ID, RectCloseInput{})
		wantErr(t, "closing an open order", err, errs.KindConflict, "整改单待整改，不能销号")
		r = must[Rectification](t)(w.svc.AnswerRectification(ctx, w.hr, r.ID, RectAnswerInput{Answer: "已于7月25日补齐全部目标任务"}))
		if r.State != RectAnswered || r.AnsweredBy != "czj_renshi" {
			t.Fatalf("answered = %+v", r)
		}
		_, err = w.svc.AnswerRectification(ctx, w.hr, r.ID, RectAnswerInput{Answer: "再答"})
		wantErr(t, "answering twice", err, errs.KindConflict, "整改单已答复，待销号，不能再答复")
		_, err = w.svc.CloseRectification(ctx, w.hr, r.ID, RectCloseInput{})
		wantErr(t, "the unit closing", err, errs.KindForbidden, "整改单须由下达整改的上级组织销号")
		r = must[Rectification](t)(w.svc.CloseRectification(ctx, w.districtAdmin, r.ID, RectCloseInput{Note: "经核查已整改到位"}))
		if r.State != RectClosed || r.ClosedBy != "xishan_zzb" {
			t.Fatalf("closed = %+v", r)
		}
		if list := must[[]Rectification](t)(w.svc.Rectifications(ctx, w.hr, w.unit.ID)); len(list) != 1 || list[0].CloseNote != "经核查已整改到位" {
			t.Fatalf("the unit's orders = %+v", list)
		}
		if list := must[[]Rectification](t)(w.svc.Rectifications(ctx, w.otherHR, w.other.ID)); len(list) != 0 {
			t.Fatalf("发改局 sees %+v", list)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'appraisal.rect_%'`); n != 3 {
			t.Fatalf("%d order audit records, want 3", n)
		}
	})
}
