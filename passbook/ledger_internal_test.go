package passbook

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

var ctx = context.Background()

func TestMain(m *testing.M) {
	auth.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

var migrations = []store.Migrations{audit.Migrations, org.Migrations, auth.Migrations, Migrations}

// ledgerWorld is one community with one passbook, on a clock the test sets.
type ledgerWorld struct {
	db  *store.DB
	svc *Service
	pb  Passbook
	now time.Time
}

func newLedgerWorld(t *testing.T, db *store.DB, set Settings) *ledgerWorld {
	t.Helper()
	w := &ledgerWorld{db: db, svc: NewService(db), now: time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)}
	db.Now = func() time.Time { return w.now }
	orgs := org.NewService(db)
	sys := auth.System()
	county, err := orgs.CreateOrg(ctx, sys, org.OrgInput{Name: "元阳县", Kind: org.KindCounty})
	if err != nil {
		t.Fatal(err)
	}
	community, err := orgs.CreateOrg(ctx, sys, org.OrgInput{ParentID: county.ID, Name: "元城镇社区", Kind: org.KindVillage, DivisionCode: "532528100001"})
	if err != nil {
		t.Fatal(err)
	}
	person, err := orgs.CreatePerson(ctx, sys, org.PersonInput{OrgID: community.ID, Name: "李老师", IDNumber: "532528195501010015",
		PoliticalStatus: "中共党员", PartyJoinedOn: "1980-07-01", Categories: []string{"离退休"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetSettings(ctx, sys, county.ID, set); err != nil {
		t.Fatal(err)
	}
	if w.pb, err = w.svc.OpenPassbook(ctx, sys, OpenInput{PersonID: person.ID, Class: "离退休党员"}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *ledgerWorld) write(t *testing.T, fn func(tx *store.Tx) error) error {
	t.Helper()
	return w.db.Write(ctx, fn)
}

func (w *ledgerWorld) balances(t *testing.T) (int64, int64) {
	t.Helper()
	b, err := w.svc.GetPassbook(ctx, auth.System(), w.pb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b.HonorPoints, b.DepositFen
}

func (w *ledgerWorld) wantBalances(t *testing.T, honor, deposit int64) {
	t.Helper()
	h, d := w.balances(t)
	if h != honor || d != deposit {
		t.Fatalf("balances = %d points, %d fen; want %d, %d", h, d, honor, deposit)
	}
}

func (w *ledgerWorld) wantSound(t *testing.T) {
	t.Helper()
	_, found, err := Verify(ctx, w.db)
	if err != nil || len(found) > 0 {
		t.Fatalf("ledger check: %v %v", found, err)
	}
	if _, err := audit.Verify(ctx, w.db); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerPostingsRedemptionsAndReversals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		set := Settings{FenPerPoint: 50, PublicityDays: 0, DepositExpiry: "year_end", DeductionsReduceDeposit: true, RankingsPublic: true}
		w := newLedgerWorld(t, db, set)
		sys := auth.System().Actor()
		pb, _ := w.svc.GetPassbook(ctx, auth.System(), w.pb.ID)

		var earnID, redeemID int64
		if err := w.write(t, func(tx *store.Tx) error {
			var err error
			if earnID, err = earn(ctx, tx, sys, pb, set, 10, "2026-03-01", "民族团课", 0); err != nil {
				return err
			}
			_, err = earn(ctx, tx, sys, pb, set, 4, "2025-12-20", "疫情防控", 0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		w.wantBalances(t, 14, 700)

		// Redemption spends the lot expiring first: the 2025 lot (200 fen) before the 2026 one.
		if err := w.write(t, func(tx *store.Tx) error {
			var err error
			redeemID, err = redeem(ctx, tx, sys, pb, 300, "2026-03-10", "兑换 毛巾")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		w.wantBalances(t, 14, 400)
		var left2025 int64
		db.QueryRow(ctx, `SELECT remaining FROM pb_deposit_lots WHERE expires_on = '2025-12-31'`).Scan(&left2025)
		if left2025 != 0 {
			t.Fatalf("the 2025 lot still holds %d fen; it expires first and should be spent first", left2025)
		}

		err := w.write(t, func(tx *store.Tx) error {
			_, err := redeem(ctx, tx, sys, pb, 401, "2026-03-10", "兑换 电饭锅")
			return err
		})
		if !errs.Is(err, errs.KindConflict) || !strings.Contains(err.Error(), "存款余额不足") {
			t.Fatalf("overdraft: %v", err)
		}
		w.wantBalances(t, 14, 400)

		// Reversing the redemption puts the deposit back into the lots it came from.
		if _, err := w.svc.Reverse(ctx, auth.System(), redeemID, "误操作"); err != nil {
			t.Fatal(err)
		}
		w.wantBalances(t, 14, 700)
		if _, err := w.svc.Reverse(ctx, auth.System(), redeemID, "再来一次"); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("second reversal: %v", err)
		}
		var reversalID int64
		db.QueryRow(ctx, `SELECT id FROM pb_transactions WHERE reverses_id = ?`, redeemID).Scan(&reversalID)
		if _, err := w.svc.Reverse(ctx, auth.System(), reversalID, "冲正的冲正"); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("reversal of a reversal: %v", err)
		}

		// A deduction lowers honour and, under these settings, the deposit.
		if err := w.write(t, func(tx *store.Tx) error {
			_, err := deduct(ctx, tx, sys, pb, set, 2, "2026-03-10", "有效投诉扣分", 0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		w.wantBalances(t, 12, 600)

		// Reversing the March earning removes its points from March's ranking.
		if _, err := w.svc.Reverse(ctx, auth.System(), earnID, "重复申报"); err != nil {
			t.Fatal(err)
		}
		w.wantBalances(t, 2, 100)
		var march int64
		db.QueryRow(ctx, `SELECT points FROM pb_points_totals WHERE period = '2026-03' AND passbook_id = ?`, pb.ID).Scan(&march)
		if march != -2 {
			t.Fatalf("March ranking total = %d, want -2 (10 earned, reversed, 2 deducted)", march)
		}
		w.wantSound(t)
	}, migrations...)
}

func TestVerifyFindsEntriesAlteredBehindTheBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		set := DefaultSettings
		w := newLedgerWorld(t, db, set)
		pb, _ := w.svc.GetPassbook(ctx, auth.System(), w.pb.ID)
		if err := w.write(t, func(tx *store.Tx) error {
			_, err := earn(ctx, tx, auth.System().Actor(), pb, set, 5, "2026-03-01", "志愿服务", 0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		w.wantSound(t)
		err := db.Write(ctx, func(tx *store.Tx) error {
			stmts := []string{"DROP TRIGGER pb_entries_no_update", "UPDATE pb_entries SET amount = 500 WHERE asset = 'points' AND amount = 5"}
			if db.IsPostgres() {
				stmts = []string{"ALTER TABLE pb_entries DISABLE TRIGGER USER", stmts[1], "ALTER TABLE pb_entries ENABLE TRIGGER USER"}
			}
			for _, s := range stmts {
				if _, err := tx.Exec(ctx, s); err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_, found, err := Verify(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) < 2 {
			t.Fatalf("altered entry: found %v; want the unbalanced transaction and the account mismatch", found)
		}
		text := fmt.Sprint(found)
		if !strings.Contains(text, "借贷不平") || !strings.Contains(text, "分录合计为 500") {
			t.Fatalf("altered entry reported as %s", text)
		}
	}, migrations...)
}

func TestEntriesAreAppendOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newLedgerWorld(t, db, DefaultSettings)
		pb, _ := w.svc.GetPassbook(ctx, auth.System(), w.pb.ID)
		w.write(t, func(tx *store.Tx) error {
			_, err := earn(ctx, tx, auth.System().Actor(), pb, DefaultSettings, 3, "2026-03-01", "志愿服务", 0)
			return err
		})
		for _, stmt := range []string{"UPDATE pb_entries SET amount = 1", "DELETE FROM pb_entries", "DELETE FROM pb_transactions"} {
			if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, stmt); return err }); err == nil {
				t.Errorf("%q was allowed", stmt)
			}
		}
	}, migrations...)
}

func TestSettingsAreInherited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newLedgerWorld(t, db, Settings{FenPerPoint: 20, PublicityDays: 3, DepositExpiry: "months", ExpiryMonths: 6})
		got, err := w.svc.GetSettings(ctx, auth.System(), w.pb.OrgID)
		if err != nil || got.FenPerPoint != 20 || got.PublicityDays != 3 || got.OrgID == w.pb.OrgID {
			t.Fatalf("community inherits %+v, %v", got, err)
		}
		if got.expiresOn("2026-01-31") != "2026-07-31" {
			t.Fatalf("6-month expiry of 2026-01-31 = %s", got.expiresOn("2026-01-31"))
		}
		if _, err := w.svc.SetSettings(ctx, auth.System(), w.pb.OrgID, Settings{FenPerPoint: -1}); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("negative rate: %v", err)
		}
		if _, err := w.svc.SetSettings(ctx, auth.System(), w.pb.OrgID, Settings{FenPerPoint: 10, DepositExpiry: "none"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.svc.GetSettings(ctx, auth.System(), w.pb.OrgID); got.FenPerPoint != 10 || got.OrgID != w.pb.OrgID {
			t.Fatalf("community's own settings = %+v", got)
		}
	}, migrations...)
}

func TestPeriods(t *testing.T) {
	got := strings.Join(Periods("2026-11-29"), ",")
	if got != "all,2026,2026Q4,2026-11" {
		t.Fatalf("Periods = %s", got)
	}
}
