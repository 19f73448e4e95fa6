package passbook

import (
	"fmt"
	"testing"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

func TestOpenPassbooksInBulk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		set := DefaultSettings
		set.PublicityDays = 0
		w := newClaimsWorld(t, db, set)
		sys := auth.System()
		person := func(o org.Org, i int) int64 {
			t.Helper()
			pe, err := w.orgs.CreatePerson(ctx, sys, org.PersonInput{OrgID: o.ID, Name: fmt.Sprintf("党员%d", i),
				IDNumber: idNumber(fmt.Sprintf("53252819600101%03d", i)), PoliticalStatus: "中共党员", PartyJoinedOn: "1990-07-01"})
			if err != nil {
				t.Fatal(err)
			}
			return pe.ID
		}
		mine := []int64{person(w.community, 1), person(w.community, 2), person(w.community, 3)}
		theirs := person(w.sibling, 4)
		before := w.count(t, `SELECT COUNT(*) FROM pb_passbooks`)

		// The community's staff may not open a passbook for a person of the sibling community:
		// nothing of the batch is written.
		in := []OpenInput{{PersonID: mine[0], Class: "离退休党员"}, {PersonID: theirs, Class: "离退休党员"}}
		_, err := w.svc.OpenPassbooks(ctx, w.staff, in)
		wantKind(t, "a person out of scope", err, errs.KindInvalid, "第 2 本：人员不存在或已归档")
		_, err = w.svc.OpenPassbooks(ctx, w.staff, []OpenInput{{PersonID: mine[0]}})
		wantKind(t, "no class", err, errs.KindInvalid, "请填写存折类别")
		if n := w.count(t, `SELECT COUNT(*) FROM pb_passbooks`); n != before {
			t.Fatalf("refused batches opened %d passbooks", n-before)
		}

		in = []OpenInput{{PersonID: mine[0], Class: "离退休党员"}, {PersonID: mine[1], Class: "在职党员", Number: "ZZ-7"},
			{PersonID: mine[2], Class: "离退休党员", OpenedOn: "2026-01-05"}}
		n, err := w.svc.OpenPassbooks(ctx, w.staff, in)
		if err != nil || n != 3 {
			t.Fatalf("opened %d: %v", n, err)
		}
		if db.IsPostgres() {
			// The next bulk file looks these up: the planner knows how many there are.
			counted := w.count(t, `SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('pb_passbooks')`)
			if all := w.count(t, `SELECT COUNT(*) FROM pb_passbooks`); counted != all {
				t.Errorf("pb_passbooks' statistics count %d rows, the table has %d", counted, all)
			}
		}
		list, _, err := w.svc.ListPassbooks(ctx, w.staff, PassbookFilter{OrgID: w.community.ID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]Passbook{}
		for _, b := range list {
			got[b.PersonID] = b
		}
		// The community already had two passbooks (李老师, 王大爷): the sequence goes on after them.
		for i, want := range []struct{ number, class, opened string }{
			{"532528100001-0003", "离退休党员", "2026-03-20"},
			{"ZZ-7", "在职党员", "2026-03-20"},
			{"532528100001-0004", "离退休党员", "2026-01-05"},
		} {
			b := got[mine[i]]
			if b.Number != want.number || b.Class != want.class || b.OpenedOn != want.opened || b.State != StateActive ||
				b.HonorPoints != 0 || b.DepositFen != 0 || b.OrgID != w.community.ID {
				t.Errorf("passbook %d = %+v, want %+v", i, b, want)
			}
		}
		// A passbook opened in bulk earns like any other.
		it := w.item(t, w.staff, w.community, "V01", terms("志愿服务", 3))
		c := w.claim(t, w.staff, got[mine[0]], it, "2026-03-20", 1)
		w.approve(t, w.reviewer, c)
		if b := w.passbook(t, got[mine[0]].ID); b.HonorPoints != 3 {
			t.Errorf("honour after a posting = %d", b.HonorPoints)
		}

		// The same person again is a conflict, and the whole batch is refused.
		_, err = w.svc.OpenPassbooks(ctx, w.countyAdmin, []OpenInput{{PersonID: theirs, Class: "离退休党员"}, {PersonID: mine[0], Class: "离退休党员"}})
		wantKind(t, "a second passbook", err, errs.KindConflict, "已有存折")
		if _, err := w.svc.OpenPassbooks(ctx, w.countyAdmin, []OpenInput{{PersonID: theirs, Class: "离退休党员"}}); err != nil {
			t.Fatal(err)
		}

		recs, _, err := audit.List(ctx, db, audit.Filter{AllOrgs: true, Action: "passbook.open_bulk", Limit: 10})
		if err != nil || len(recs) != 2 {
			t.Fatalf("audit records: %d, %v", len(recs), err)
		}
		if last := recs[len(recs)-1]; last.Actor != w.staff.Actor().Name || last.OrgID != w.community.ID {
			t.Errorf("first bulk opening audited as %s at org %d", last.Actor, last.OrgID)
		}
		w.wantSound(t)
	}, migrations...)
}

// idNumber completes 17 digits with their GB 11643 check digit.
func idNumber(digits string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(digits[i]-'0') * w
	}
	return digits + string("10X98765432"[sum%11])
}
