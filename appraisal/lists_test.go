package appraisal

import (
	"strings"
	"testing"

	"grassroots/errs"
	"grassroots/store"
)

func TestCycleOpensWithPoolsFromCategoriesAndPosts(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := must[Cycle](t)(w.svc.OpenCycle(ctx, w.hr, CycleInput{OrgID: w.unit.ID, Quarter: "2026q3"}))
		if c.Quarter != "2026Q3" || c.QuarterLabel != "2026年第三季度" || c.Leaders != 3 || c.Staff != 7 {
			t.Fatalf("cycle = %+v; want 3 leaders and 7 staff", c)
		}
		got := must[Cycle](t)(w.svc.GetCycle(ctx, w.leader, c.ID))
		pools := map[string]string{}
		for _, a := range got.Appraisees {
			pools[a.Name] = a.Pool
		}
		want := map[string]string{"局长": PoolLeader, "副局长": PoolLeader, "党组成员": PoolLeader, "一号": PoolStaff, "二号": PoolStaff,
			"三号": PoolStaff, "四号": PoolStaff, "五号": PoolStaff, "六号": PoolStaff, "人事干部": PoolStaff}
		if len(pools) != len(want) {
			t.Fatalf("appraisees = %v; the 工勤 is not a civil servant", pools)
		}
		for n, p := range want {
			if pools[n] != p {
				t.Errorf("%s in pool %q, want %q", n, pools[n], p)
			}
		}
		_, err := w.svc.OpenCycle(ctx, w.hr, CycleInput{OrgID: w.unit.ID, Quarter: "2026Q3"})
		wantErr(t, "second open", err, errs.KindConflict, "“西山区财政局”2026年第三季度的平时考核已经开启")
		_, err = w.svc.OpenCycle(ctx, w.hr, CycleInput{OrgID: w.unit.ID, Quarter: "2026Q5"})
		wantErr(t, "bad quarter", err, errs.KindInvalid, "季度应写作如 2026Q3")
		_, err = w.svc.OpenCycle(ctx, w.leader, CycleInput{OrgID: w.unit.ID, Quarter: "2026Q4"})
		wantErr(t, "a reviewer opening", err, errs.KindForbidden, "无权在“西山区财政局”开展平时考核")

		// HR moves 二号 to the leaders' pool explicitly; the other unit's HR cannot even see the cycle.
		a := must[Appraisee](t)(w.svc.SetAppraisee(ctx, w.hr, c.ID, AppraiseeInput{PersonID: w.people["二号"], Pool: PoolLeader}))
		if a.Pool != PoolLeader || !a.Explicit || a.Name != "二号" {
			t.Fatalf("moved = %+v", a)
		}
		_, err = w.svc.SetAppraisee(ctx, w.hr, c.ID, AppraiseeInput{PersonID: w.people["发改甲"], Pool: PoolStaff})
		wantErr(t, "someone of another unit", err, errs.KindInvalid, "此人不在“西山区财政局”")
		_, err = w.svc.GetCycle(ctx, w.otherHR, c.ID)
		wantErr(t, "other unit's cycle", err, errs.KindNotFound, "考核周期不存在")
		if list, _, _ := w.svc.ListCycles(ctx, w.otherHR, CycleFilter{}); len(list) != 0 {
			t.Fatalf("other unit lists %+v", list)
		}
		if list, _, _ := w.svc.ListCycles(ctx, w.districtAdmin, CycleFilter{Quarter: "2026Q3"}); len(list) != 1 || list[0].Leaders != 4 {
			t.Fatalf("district lists %+v", list)
		}
		if err := w.svc.RemoveAppraisee(ctx, w.hr, c.ID, w.people["二号"]); err != nil {
			t.Fatal(err)
		}
		if got := must[Cycle](t)(w.svc.GetCycle(ctx, w.hr, c.ID)); got.Leaders != 3 || got.Staff != 6 {
			t.Fatalf("after removal: %d leaders, %d staff", got.Leaders, got.Staff)
		}
	})
}

func TestListsAreInheritedAndEntriesAreAppendOnly(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		cap := must[ListItem](t)(w.svc.CreateListItem(ctx, w.districtAdmin, ListItemInput{OrgID: w.district.ID, List: ListNegative,
			Dimension: "德", Name: "违反政治纪律", Consequence: ConsequenceCap}))
		deduct := must[ListItem](t)(w.svc.CreateListItem(ctx, w.hr, ListItemInput{OrgID: w.unit.ID, List: ListNegative,
			Dimension: "lian", Name: "违规接受宴请", Consequence: ConsequenceDeduct, Points: 500}))
		praise := must[ListItem](t)(w.svc.CreateListItem(ctx, w.districtAdmin, ListItemInput{OrgID: w.district.ID, List: ListAdjust,
			Name: "受到市级表彰", Points: 200}))
		other := must[ListItem](t)(w.svc.CreateListItem(ctx, w.otherHR, ListItemInput{OrgID: w.other.ID, List: ListAdjust,
			Name: "发改局自定加分", Points: 100}))

		for _, c := range []struct {
			name  string
			in    ListItemInput
			field string
			text  string
		}{
			{"negative on 绩", ListItemInput{OrgID: w.unit.ID, List: ListNegative, Dimension: "ji", Name: "x", Consequence: ConsequenceCap}, "dimension", "负面清单只适用于德、廉两项"},
			{"deduct without points", ListItemInput{OrgID: w.unit.ID, List: ListNegative, Dimension: "de", Name: "x", Consequence: ConsequenceDeduct}, "points", "扣分应在 0.01 到 100 分之间"},
			{"add of 0", ListItemInput{OrgID: w.unit.ID, List: ListAdjust, Name: "x"}, "points", "不为 0"},
			{"unknown list", ListItemInput{OrgID: w.unit.ID, List: "white", Name: "x"}, "list", "清单应为"},
		} {
			_, err := w.svc.CreateListItem(ctx, w.hr, c.in)
			if !errs.Is(err, errs.KindInvalid) || errs.As(err).Field != c.field || !contains(err, c.text) {
				t.Errorf("%s: %v", c.name, err)
			}
		}

		items := must[[]ListItem](t)(w.svc.ListItems(ctx, w.hr, ItemFilter{OrgID: w.unit.ID}))
		if len(items) != 3 || !items[0].Inherited || items[2].Inherited || items[2].Name != "违规接受宴请" {
			t.Fatalf("unit's items = %+v; want the district's two then its own", items)
		}
		if items := must[[]ListItem](t)(w.svc.ListItems(ctx, w.otherHR, ItemFilter{OrgID: w.other.ID, List: ListNegative})); len(items) != 1 || items[0].ID != cap.ID {
			t.Fatalf("other unit's negative list = %+v", items)
		}

		er, san := w.people["二号"], w.people["三号"]
		entry := func(p, item int64, on string) (Entry, error) {
			return w.svc.AddEntry(ctx, w.leader, EntryInput{CycleID: c.ID, PersonID: p, ItemID: item, OccurredOn: on, Evidence: "区纪委通报"})
		}
		_, err := entry(er, other.ID, "2026-07-05")
		wantErr(t, "another unit's item", err, errs.KindInvalid, "清单事项不存在或不适用于“西山区财政局”")
		_, err = entry(er, deduct.ID, "2026-06-30")
		wantErr(t, "a day of the last quarter", err, errs.KindInvalid, "发生日期应在2026年第三季度内")
		_, err = w.svc.AddEntry(ctx, w.leader, EntryInput{CycleID: c.ID, PersonID: w.people["局长"], ItemID: praise.ID, OccurredOn: "2026-07-05", Evidence: "x"})
		wantErr(t, "for oneself", err, errs.KindForbidden, "不能为本人登记")

		hit := must[Entry](t)(entry(er, deduct.ID, "2026-07-05"))
		if hit.State != EntryPending || hit.Points != 500 || hit.Consequence != ConsequenceDeduct {
			t.Fatalf("hit = %+v", hit)
		}
		_, err = w.svc.ConfirmEntry(ctx, w.leader, hit.ID, ReviewInput{})
		wantErr(t, "confirming one's own entry", err, errs.KindForbidden, "登记与复核须由不同的人完成")
		_, err = w.svc.RejectEntry(ctx, w.hr, hit.ID, ReviewInput{})
		wantErr(t, "rejecting without a reason", err, errs.KindInvalid, "请填写复核意见")
		if got := must[Entry](t)(w.svc.ConfirmEntry(ctx, w.hr, hit.ID, ReviewInput{Note: "属实"})); got.State != EntryConfirmed || got.ReviewedBy != "czj_renshi" {
			t.Fatalf("confirmed = %+v", got)
		}
		_, err = w.svc.ConfirmEntry(ctx, w.deputy, hit.ID, ReviewInput{})
		wantErr(t, "confirming twice", err, errs.KindConflict, "已经复核")

		// An entry about 人事干部 cannot be reviewed by 人事干部.
		aboutHR := must[Entry](t)(entry(w.people["人事干部"], praise.ID, "2026-07-06"))
		_, err = w.svc.ConfirmEntry(ctx, w.hr, aboutHR.ID, ReviewInput{})
		wantErr(t, "reviewing one's own record", err, errs.KindForbidden, "不能复核本人的记录")

		rev := must[Entry](t)(w.svc.ReverseEntry(ctx, w.deputy, hit.ID, ReverseInput{Reason: "经核实系误登"}))
		if rev.ReversesID != hit.ID || rev.Points != -500 || rev.State != EntryReversal {
			t.Fatalf("reversal = %+v", rev)
		}
		_, err = w.svc.ReverseEntry(ctx, w.deputy, hit.ID, ReverseInput{Reason: "again"})
		wantErr(t, "second reversal", err, errs.KindConflict, "已经冲正")
		_, err = w.svc.ReverseEntry(ctx, w.deputy, aboutHR.ID, ReverseInput{Reason: "x"})
		wantErr(t, "reversing a pending entry", err, errs.KindConflict, "未复核的记录请直接驳回")

		praised := must[Entry](t)(entry(san, praise.ID, "2026-07-07"))
		must[Entry](t)(w.svc.ConfirmEntry(ctx, w.hr, praised.ID, ReviewInput{}))
		counting := must[map[int64][]Adjustment](t)(countingEntries(ctx, w.db, c.ID))
		if len(counting) != 1 || len(counting[san]) != 1 || counting[san][0].Points != 200 || counting[san][0].Negative {
			t.Fatalf("entries that count = %+v; want only 三号's +2", counting)
		}
		list := must[[]Entry](t)(w.svc.ListEntries(ctx, w.hr, EntryFilter{CycleID: c.ID}))
		states := []string{}
		for _, e := range list {
			states = append(states, e.State)
		}
		if len(list) != 4 || list[0].ID != hit.ID || list[1].ID != rev.ID || list[0].State != EntryReversed {
			t.Fatalf("entries = %v %+v", states, list)
		}
		if _, err := w.svc.ListEntries(ctx, w.otherHR, EntryFilter{CycleID: c.ID}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another unit lists the entries: %v", err)
		}

		// The database itself refuses to change or remove an entry or a review.
		for _, stmt := range []string{"UPDATE ap_entries SET points = 1", "DELETE FROM ap_entries",
			"UPDATE ap_entry_reviews SET decision = 'rejected'", "DELETE FROM ap_entry_reviews"} {
			err := w.db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, stmt)
				return err
			})
			if err == nil || !contains(err, "append-only") {
				t.Errorf("%s: %v", stmt, err)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'appraisal.entry%'`); n != 6 {
			t.Fatalf("%d entry audit records, want 6 (3 added, 2 confirmed, 1 reversed)", n)
		}
	})
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

func TestArchivedItemsTakeNoNewEntries(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		item := must[ListItem](t)(w.svc.CreateListItem(ctx, w.districtAdmin, ListItemInput{OrgID: w.district.ID, List: ListAdjust, Name: "受到区级通报表扬", Points: 100}))
		_, err := w.svc.ArchiveListItem(ctx, w.hr, item.ID)
		wantErr(t, "a unit archiving the district's item", err, errs.KindForbidden, "无权在“西山区”修改考核清单")
		_, err = w.svc.ArchiveListItem(ctx, w.otherHR, item.ID+1000)
		wantErr(t, "an item that does not exist", err, errs.KindNotFound, "清单事项不存在")
		got := must[ListItem](t)(w.svc.ArchiveListItem(ctx, w.districtAdmin, item.ID))
		if !got.Archived {
			t.Fatalf("archived = %+v", got)
		}
		_, err = w.svc.AddEntry(ctx, w.leader, EntryInput{CycleID: c.ID, PersonID: w.people["一号"], ItemID: item.ID, OccurredOn: "2026-07-05", Evidence: "x"})
		wantErr(t, "an entry on an archived item", err, errs.KindInvalid, "已停用")
		if items := must[[]ListItem](t)(w.svc.ListItems(ctx, w.hr, ItemFilter{OrgID: w.unit.ID})); len(items) != 0 {
			t.Fatalf("items in use = %+v", items)
		}
		if items := must[[]ListItem](t)(w.svc.ListItems(ctx, w.hr, ItemFilter{OrgID: w.unit.ID, Archived: true})); len(items) != 1 {
			t.Fatalf("items with archived = %+v", items)
		}
	})
}
