package passbook

import (
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

// Regressions found by the authorisation matrix (cmd/grassroots/authz_matrix_test.go).

// TestPassbookOnlyForSomeoneInTheCallersCare: staff of one community cannot open a passbook
// in their community for a person of another, which also told them the person's name.
func TestPassbookOnlyForSomeoneInTheCallersCare(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, DefaultSettings, 1)
		before := w.count(t, `SELECT COUNT(*) FROM pb_passbooks`)
		_, err := w.svc.OpenPassbook(ctx, w.c1Staff, OpenInput{PersonID: w.outsider.pb.PersonID, OrgID: w.c1.ID, Class: "离退休党员"})
		wantKind(t, "a passbook in 元城镇社区 for a person of 南沙社区", err, errs.KindInvalid, "人员不存在或已归档")
		if n := w.count(t, `SELECT COUNT(*) FROM pb_passbooks`); n != before {
			t.Fatalf("the refused passbook was written: %d passbooks, want %d", n, before)
		}
		// Staff of the township, who keep both communities' passbooks, may.
		if _, err := w.svc.OpenPassbook(ctx, w.townStaff, OpenInput{PersonID: w.outsider.pb.PersonID, OrgID: w.c1.ID, Class: "志愿者"}); err != nil {
			t.Fatal(err)
		}
	}, migrations...)
}

// TestObjectorSeesOnlyWhatTheBoardShows: a member objecting to a neighbour's claim in 公示
// used to get the whole claim back: passbook number, note, photos, history.
func TestObjectorSeesOnlyWhatTheBoardShows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 100, PublicityDays: 5, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("调解纠纷", 8))
		claim := func() Claim {
			c, _, err := w.svc.SubmitClaim(ctx, w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, WorkDate: "2026-03-18",
				Quantity: 1, Note: "与邻居调解"}, []Photo{{Data: pngPhoto(t)}}, "")
			if err != nil {
				t.Fatal(err)
			}
			return w.approve(t, w.reviewer, c)
		}
		c, err := w.svc.Object(ctx, w.neighbourMember, claim().ID, "那天他不在社区")
		if err != nil {
			t.Fatal(err)
		}
		if c.State != ClaimSubmitted || c.PersonName == "" || c.ItemName != "调解纠纷" || c.Points != 8 {
			t.Fatalf("the objector's answer lacks what the board shows: %+v", c)
		}
		if c.PassbookNumber != "" || c.PassbookID != 0 || c.PersonID != 0 || c.Note != "" || c.SubmittedByName != "" ||
			len(c.Evidence) != 0 || len(c.History) != 0 {
			t.Fatalf("the objector's answer shows more than the board: %+v", c)
		}
		// Staff who object see the claim as they always do.
		c, err = w.svc.Object(ctx, w.reviewer, claim().ID, "需要核实")
		if err != nil || c.PassbookNumber != w.pb.Number || c.Note != "与邻居调解" {
			t.Fatalf("staff objection answered %+v, %v", c, err)
		}
	}, migrations...)
}

// TestListFiltersOutOfReachAreNotFound: a list filtered by a passbook or an organisation the
// caller cannot see answers not found, as the record itself does, rather than an empty list
// (or, for the 公示 board, the caller's own claims under an organisation they cannot see).
func TestListFiltersOutOfReachAreNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 100, PublicityDays: 5, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("调解纠纷", 8))
		w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, it, "2026-03-18", 1))

		_, _, err := w.svc.ListClaims(ctx, w.staff, ClaimFilter{PassbookID: w.other.ID})
		wantKind(t, "claims of another community's passbook", err, errs.KindNotFound, "存折不存在")
		_, _, err = w.svc.ListClaims(ctx, w.neighbourMember, ClaimFilter{PassbookID: w.pb.ID})
		wantKind(t, "claims of a neighbour's passbook", err, errs.KindNotFound, "存折不存在")
		_, _, err = w.svc.ListOrders(ctx, w.staff, OrderFilter{PassbookID: w.other.ID})
		wantKind(t, "orders of another community's passbook", err, errs.KindNotFound, "存折不存在")
		if list, _, err := w.svc.ListClaims(ctx, w.member, ClaimFilter{PassbookID: w.pb.ID}); err != nil || len(list) != 1 {
			t.Fatalf("a member's claims of their own passbook: %d, %v", len(list), err)
		}

		for _, c := range []struct {
			what  string
			p     *auth.Principal
			orgID int64
		}{
			{"staff, the sibling community's board", w.staff, w.sibling.ID},
			{"staff, the county's board", w.staff, w.county.ID},
			{"a member, the sibling community's board", w.member, w.sibling.ID},
			{"a member, the county's board", w.member, w.county.ID},
			{"an organisation that does not exist", w.staff, 1 << 40},
		} {
			_, _, err := w.svc.Publicity(ctx, c.p, c.orgID, 0, 0)
			wantKind(t, c.what, err, errs.KindNotFound, "组织不存在")
		}
		for _, p := range []*auth.Principal{w.staff, w.member, w.neighbourMember} {
			if list, _, err := w.svc.Publicity(ctx, p, w.community.ID, 0, 0); err != nil || len(list) != 1 {
				t.Fatalf("%s reads the community's board: %d, %v", p.Username, len(list), err)
			}
		}
	}, migrations...)
}
