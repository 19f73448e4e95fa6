package passbook

import (
	"testing"

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
