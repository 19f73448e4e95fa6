package passbook

import (
	"sync"
	"testing"
	"time"

	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

// expirySettings: deposit lasts one month after it is earned.
var expirySettings = Settings{FenPerPoint: 100, DepositExpiry: "months", ExpiryMonths: 1, RankingsPublic: true}

// shanghaiTime is an instant at a wall-clock time in Asia/Shanghai.
func shanghaiTime(date string, hour int) time.Time {
	d, err := time.ParseInLocation(store.DateLayout, date, store.Shanghai)
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(hour) * time.Hour)
}

func TestExpireDeposits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, expirySettings, 2)
		a, b := w.members[0], w.members[1]
		w.fund(t, a.pb, 3, "2026-01-10") // 300 fen, last day 2026-02-10
		w.fund(t, a.pb, 5, "2026-01-20") // 500 fen, last day 2026-02-20
		w.fund(t, b.pb, 2, "2026-01-10") // 200 fen, last day 2026-02-10
		w.now = shanghaiTime("2026-02-05", 10)
		pen := w.reward(t, w.c1, "钢笔", 100, 10)
		if _, err := w.svc.PlaceOrder(ctx, a.p, "", OrderInput{PassbookID: a.pb.ID, RewardID: pen.ID, Quantity: 1}); err != nil {
			t.Fatal(err)
		}

		// On its last day a lot is still good.
		lots, fen, err := w.svc.ExpireDeposits(ctx, shanghaiTime("2026-02-10", 23))
		if err != nil || lots != 0 || fen != 0 {
			t.Fatalf("on the last day: %d lots, %d fen, %v", lots, fen, err)
		}
		// The next morning (01:00 in Shanghai is still the 10th in UTC) the January 10 lots expire:
		// 200 left of a's (the order drew on it, being the first to expire) and b's 200.
		lots, fen, err = w.svc.ExpireDeposits(ctx, shanghaiTime("2026-02-11", 1))
		if err != nil || lots != 2 || fen != 400 {
			t.Fatalf("expiry: %d lots, %d fen, %v; want 2 lots, 400 fen", lots, fen, err)
		}
		if w.deposit(t, a.pb) != 500 || w.deposit(t, b.pb) != 0 {
			t.Fatalf("deposits after expiry: %d, %d; want 500, 0", w.deposit(t, a.pb), w.deposit(t, b.pb))
		}
		lines, _ := w.svc.Latest(ctx, a.p, a.pb.ID, 1)
		if l := lines[0]; l.Memo != "存款到期" || l.Kind != TxExpire || l.DepositOut != 200 || l.Date != "2026-02-11" {
			t.Fatalf("statement line = %+v", l)
		}
		if b, _ := w.svc.GetPassbook(ctx, a.p, a.pb.ID); b.HonorPoints != 8 {
			t.Fatalf("honour points = %d; expiry touches the deposit only", b.HonorPoints)
		}
		lots, fen, err = w.svc.ExpireDeposits(ctx, shanghaiTime("2026-02-11", 9))
		if err != nil || lots != 0 || fen != 0 {
			t.Fatalf("second run booked %d lots, %d fen, %v", lots, fen, err)
		}
		w.wantSound(t)

		// Reversing an expiry puts the deposit back into the lot it came from.
		var expireTx int64
		db.QueryRow(ctx, `SELECT id FROM pb_transactions WHERE passbook_id = ? AND kind = 'expire'`, b.pb.ID).Scan(&expireTx)
		if _, err := w.svc.Reverse(ctx, w.c1Staff, expireTx, "到期日设置有误"); err != nil {
			t.Fatal(err)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_deposit_lots WHERE passbook_id = ? AND remaining = 200 AND expires_on = '2026-02-10'`, b.pb.ID); n != 1 {
			t.Fatal("the reversal did not restore the expired lot")
		}
		w.wantSound(t)
	}, migrations...)
}

// Deposit past its last day cannot be spent even before the daily run has booked its expiry:
// the order books it first, and is then refused for want of deposit, writing nothing.
func TestExpiredDepositCannotBeSpent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, expirySettings, 1)
		m := w.members[0]
		w.fund(t, m.pb, 3, "2026-01-10")
		w.fund(t, m.pb, 1, "2026-02-01")
		w.now = shanghaiTime("2026-02-12", 9)
		dep, err := w.svc.SpendableDeposit(ctx, m.p, m.pb.ID)
		if err != nil || dep.SpendableFen != 100 || dep.ExpiringFen != 100 || dep.ExpiresOn != "2026-03-01" {
			t.Fatalf("spendable deposit = %+v, %v", dep, err)
		}
		pen := w.reward(t, w.c1, "钢笔", 200, 10)
		txs := w.count(t, `SELECT COUNT(*) FROM pb_transactions`)
		_, err = w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: pen.ID, Quantity: 1})
		wantRefusal(t, err, errs.KindConflict, "存款余额不足")
		if w.count(t, `SELECT COUNT(*) FROM pb_transactions`) != txs || w.stock(t, pen) != 10 {
			t.Fatal("a refused order left its expiry or stock move behind")
		}
		cheap := w.reward(t, w.c1, "铅笔", 100, 10)
		o, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: cheap.ID, Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		lines, _ := w.svc.Latest(ctx, m.p, m.pb.ID, 2)
		if lines[0].Memo != "兑换 铅笔×1" || lines[1].Memo != "存款到期" || lines[1].DepositOut != 300 || w.deposit(t, m.pb) != 0 {
			t.Fatalf("order %d: lines %+v, deposit %d", o.ID, lines, w.deposit(t, m.pb))
		}
		w.wantSound(t)
	}, migrations...)
}

// Several instances running the daily job at once expire each lot exactly once.
func TestConcurrentExpiryRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, expirySettings, 20)
		for _, m := range w.members {
			w.fund(t, m.pb, 2, "2026-01-10")
			w.fund(t, m.pb, 1, "2026-03-01")
		}
		asOf := shanghaiTime("2026-03-01", 0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total int64
		for range 4 {
			wg.Go(func() {
				_, fen, err := w.svc.ExpireDeposits(ctx, asOf)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += fen
				mu.Unlock()
			})
		}
		wg.Wait()
		if total != 20*200 {
			t.Fatalf("expired %d fen in all; want %d", total, 20*200)
		}
		for _, m := range w.members {
			if got := w.deposit(t, m.pb); got != 100 {
				t.Fatalf("deposit = %d, want 100", got)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'passbook.expire'`); n != 20 {
			t.Fatalf("%d expiry audit records; want one per passbook", n)
		}
		if _, err := w.svc.SpendableDeposit(ctx, w.outsider.p, w.members[0].pb.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another community's member reads the deposit: %v", err)
		}
		w.wantSound(t)
	}, migrations...)
}
