package passbook

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

// storeSettings: a point is worth one yuan and deposits never expire.
var storeSettings = Settings{FenPerPoint: 100, PublicityDays: 0, DepositExpiry: "none", RankingsPublic: true}

func wantRefusal(t *testing.T, err error, kind errs.Kind, text string) {
	t.Helper()
	if !errs.Is(err, kind) || !strings.Contains(errs.As(err).Message, text) {
		t.Fatalf("got %v; want %s containing %q", err, kind, text)
	}
}

func TestOrderDebitsDepositAndStockTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 1)
		m := w.members[0]
		w.fund(t, m.pb, 50, "2026-03-01")
		towel := w.reward(t, w.c1, "毛巾", 1250, 5)

		o, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 2})
		if err != nil {
			t.Fatal(err)
		}
		if o.State != OrderPlaced || o.TotalFen != 2500 || len(o.PickupCode) != 6 || o.PersonName != "党员001" {
			t.Fatalf("order = %+v", o)
		}
		if got := w.deposit(t, m.pb); got != 2500 {
			t.Fatalf("deposit = %d, want 2500", got)
		}
		if got := w.stock(t, towel); got != 3 {
			t.Fatalf("stock = %d, want 3", got)
		}
		moves, _, err := w.svc.StockMoves(ctx, w.c1Staff, towel.ID, 10, 0)
		if err != nil || len(moves) != 2 || moves[0].Delta != -2 || moves[0].StockAfter != 3 || moves[0].OrderID != o.ID {
			t.Fatalf("stock moves = %+v, %v", moves, err)
		}
		lines, err := w.svc.Latest(ctx, m.p, m.pb.ID, 1)
		if err != nil || len(lines) != 1 {
			t.Fatalf("statement: %v %v", lines, err)
		}
		if l := lines[0]; l.Memo != "兑换 毛巾×2" || l.DepositOut != 2500 || l.Balance != 2500 || l.Kind != TxRedeem || l.Points != 0 {
			t.Fatalf("statement line = %+v; want 支取 25.00 for 兑换 毛巾×2", l)
		}
		if b, _ := w.svc.GetPassbook(ctx, m.p, m.pb.ID); b.HonorPoints != 50 {
			t.Fatalf("honour points = %d; redemption must not lower them", b.HonorPoints)
		}
		w.wantSound(t)
	}, migrations...)
}

// Every refusal below leaves no trace: the counts of orders, stock moves, transactions and
// audit records are the same afterwards.
func TestOrderRefusalsWriteNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 1)
		m := w.members[0]
		w.fund(t, m.pb, 10, "2026-03-01")
		towel := w.reward(t, w.c1, "毛巾", 300, 2)
		radio := w.reward(t, w.c1, "收音机", 5000, 2)
		sign := func() string {
			return fmt.Sprint(w.count(t, `SELECT COUNT(*) FROM pb_orders`), w.count(t, `SELECT COUNT(*) FROM pb_stock_moves`),
				w.count(t, `SELECT COUNT(*) FROM pb_transactions`), w.count(t, `SELECT COUNT(*) FROM audit_log`))
		}
		refused := func(p *auth.Principal, rw Reward, n int64, kind errs.Kind, text string) {
			t.Helper()
			before := sign()
			_, err := w.svc.PlaceOrder(ctx, p, "", OrderInput{PassbookID: m.pb.ID, RewardID: rw.ID, Quantity: n})
			wantRefusal(t, err, kind, text)
			if after := sign(); after != before {
				t.Fatalf("refused order (%s) wrote: %s → %s", text, before, after)
			}
		}
		refused(m.p, towel, 3, errs.KindConflict, "库存不足")
		refused(m.p, radio, 1, errs.KindConflict, "存款余额不足")
		refused(m.p, towel, 0, errs.KindInvalid, "兑换数量")
		refused(w.outsider.p, towel, 1, errs.KindNotFound, "存折不存在")
		if _, err := w.svc.UpdateReward(ctx, w.c1Staff, radio.ID, RewardChange{Name: radio.Name, PriceFen: radio.PriceFen, Archived: true}); err != nil {
			t.Fatal(err)
		}
		refused(m.p, radio, 1, errs.KindConflict, "已下架")
		if _, err := w.svc.SetPassbookState(ctx, w.c1Staff, m.pb.ID, StateFrozen, "迁出"); err != nil {
			t.Fatal(err)
		}
		refused(m.p, towel, 1, errs.KindConflict, "存折已冻结")
		if got := w.deposit(t, m.pb); got != 1000 {
			t.Fatalf("deposit = %d after refusals", got)
		}
		if got := w.stock(t, towel); got != 2 {
			t.Fatalf("stock = %d after refusals", got)
		}
		w.wantSound(t)
	}, migrations...)
}

func TestRewardsOfAnotherCommunityAreInvisible(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 1)
		m, out := w.members[0], w.outsider
		w.fund(t, out.pb, 100, "2026-03-01")
		local := w.reward(t, w.c1, "元城镇社区毛巾", 100, 5)
		townWide := w.reward(t, w.town, "镇级大米", 100, 5)

		_, err := w.svc.GetReward(ctx, out.p, local.ID)
		wantRefusal(t, err, errs.KindNotFound, "奖品不存在")
		_, err = w.svc.PlaceOrder(ctx, out.p, "", OrderInput{PassbookID: out.pb.ID, RewardID: local.ID, Quantity: 1})
		wantRefusal(t, err, errs.KindNotFound, "奖品不存在")
		_, _, err = w.svc.StockMoves(ctx, w.c2Staff, local.ID, 10, 0)
		wantRefusal(t, err, errs.KindNotFound, "奖品不存在")

		names := func(p *auth.Principal, f RewardFilter) string {
			t.Helper()
			list, _, err := w.svc.ListRewards(ctx, p, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, rw := range list {
				out = append(out, rw.Name)
			}
			return strings.Join(out, ",")
		}
		if got := names(out.p, RewardFilter{}); got != "镇级大米" {
			t.Fatalf("南沙 member sees %q", got)
		}
		if got := names(out.p, RewardFilter{PassbookID: out.pb.ID}); got != "镇级大米" {
			t.Fatalf("南沙 shelf = %q", got)
		}
		if got := names(m.p, RewardFilter{PassbookID: m.pb.ID}); got != "元城镇社区毛巾,镇级大米" {
			t.Fatalf("元城镇社区 shelf = %q", got)
		}
		if got := names(w.c2Staff, RewardFilter{}); got != "镇级大米" {
			t.Fatalf("南沙 staff see %q", got)
		}
		if got := names(w.c1Staff, RewardFilter{Managed: true}); got != "元城镇社区毛巾" {
			t.Fatalf("元城镇社区 staff manage %q", got)
		}
		if _, err := w.svc.AdjustStock(ctx, w.c1Staff, townWide.ID, 1, "补货"); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("community staff restocking the township's reward: %v", err)
		}
		o, err := w.svc.PlaceOrder(ctx, out.p, "", OrderInput{PassbookID: out.pb.ID, RewardID: townWide.ID, Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.GetOrder(ctx, m.p, o.ID)
		wantRefusal(t, err, errs.KindNotFound, "订单不存在")
		_, err = w.svc.GetOrder(ctx, w.c1Staff, o.ID)
		wantRefusal(t, err, errs.KindNotFound, "订单不存在")
		if list, _, _ := w.svc.ListOrders(ctx, w.c1Staff, OrderFilter{}); len(list) != 0 {
			t.Fatalf("元城镇社区 staff list 南沙's orders: %+v", list)
		}
		if got, err := w.svc.GetOrder(ctx, w.townStaff, o.ID); err != nil || got.PickupCode != "" {
			t.Fatalf("township staff see the order %+v (%v); the pickup code must stay with the member", got, err)
		}
	}, migrations...)
}

func TestStockAdjustments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 0)
		rice := w.reward(t, w.c1, "大米", 2000, 3)
		rw, err := w.svc.AdjustStock(ctx, w.c1Staff, rice.ID, 5, "镇里调拨")
		if err != nil || rw.Stock != 8 {
			t.Fatalf("restock: %+v %v", rw, err)
		}
		audits := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'passbook.reward_stock' AND entity_id = ?`, rice.ID)
		moves := w.count(t, `SELECT COUNT(*) FROM pb_stock_moves WHERE reward_id = ?`, rice.ID)
		if audits != 1 || moves != 2 {
			t.Fatalf("restock left %d audit records and %d stock moves; want 1 and 2 (opening stock and restock)", audits, moves)
		}
		_, err = w.svc.AdjustStock(ctx, w.c1Staff, rice.ID, -9, "受潮报损")
		wantRefusal(t, err, errs.KindConflict, "库存不足：当前库存 8 件")
		_, err = w.svc.AdjustStock(ctx, w.c1Staff, rice.ID, 0, "无")
		wantRefusal(t, err, errs.KindInvalid, "调整数量")
		_, err = w.svc.AdjustStock(ctx, w.c1Staff, rice.ID, -1, " ")
		wantRefusal(t, err, errs.KindInvalid, "调整原因")
		if got := w.count(t, `SELECT COUNT(*) FROM pb_stock_moves WHERE reward_id = ?`, rice.ID); got != moves || w.stock(t, rice) != 8 {
			t.Fatalf("refused adjustments wrote: %d moves, stock %d", got, w.stock(t, rice))
		}
		if rw, err = w.svc.AdjustStock(ctx, w.c1Staff, rice.ID, -8, "受潮报损"); err != nil || rw.Stock != 0 {
			t.Fatalf("write-off to zero: %+v %v", rw, err)
		}

		_, err = w.svc.CreateReward(ctx, w.c1Staff, RewardInput{OrgID: w.c1.ID, Name: "毛巾", PriceFen: 100, Stock: -1})
		wantRefusal(t, err, errs.KindInvalid, "库存")
		_, err = w.svc.CreateReward(ctx, w.c1Staff, RewardInput{OrgID: w.c1.ID, Name: "毛巾", PriceFen: 0})
		wantRefusal(t, err, errs.KindInvalid, "兑换价格")
		_, err = w.svc.CreateReward(ctx, auth.System(), RewardInput{OrgID: w.county.ID, Name: "毛巾", PriceFen: 100})
		wantRefusal(t, err, errs.KindInvalid, "乡镇（街道）或村（社区）")
		_, err = w.svc.CreateReward(ctx, w.c1Staff, RewardInput{OrgID: w.c2.ID, Name: "毛巾", PriceFen: 100})
		wantRefusal(t, err, errs.KindInvalid, "不在您的管理范围")
		err = w.svc.SetRewardPhoto(ctx, w.c1Staff, rice.ID, []byte("GIF89a not a photo we take"))
		wantRefusal(t, err, errs.KindInvalid, "JPEG 或 PNG")
		w.wantSound(t)
	}, migrations...)
}

// A hundred members order the last ten towels at once: exactly ten get one, the others are told
// the stock ran out, and every deposit moved by exactly what its order cost.
func TestConcurrentOrdersNeverOversell(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 100)
		for _, m := range w.members {
			w.fund(t, m.pb, 20, "2026-03-01")
		}
		towel := w.reward(t, w.c1, "毛巾", 1250, 10)
		results := make([]error, len(w.members))
		var wg sync.WaitGroup
		for i, m := range w.members {
			wg.Go(func() {
				_, results[i] = w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1})
			})
		}
		wg.Wait()
		ok, short := 0, 0
		for i, err := range results {
			want := int64(2000)
			switch {
			case err == nil:
				ok++
				want = 750
			case errs.Is(err, errs.KindConflict) && strings.HasPrefix(errs.As(err).Message, "库存不足"):
				short++
			default:
				t.Errorf("member %d: %v", i, err)
			}
			if got := w.deposit(t, w.members[i].pb); got != want {
				t.Errorf("member %d deposit = %d, want %d", i, got, want)
			}
		}
		if ok != 10 || short != 90 {
			t.Fatalf("%d orders placed, %d refused for stock; want 10 and 90", ok, short)
		}
		if got := w.stock(t, towel); got != 0 {
			t.Fatalf("stock = %d", got)
		}
		w.wantSound(t)
	}, migrations...)
}

// One passbook's deposit covers three orders; twenty placed at once never take it below zero.
func TestConcurrentOrdersNeverOverdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 1)
		m := w.members[0]
		w.fund(t, m.pb, 10, "2026-03-01")
		soap := w.reward(t, w.c1, "肥皂", 300, 100)
		var wg sync.WaitGroup
		var mu sync.Mutex
		placed, broke := 0, 0
		for range 20 {
			wg.Go(func() {
				_, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: soap.ID, Quantity: 1})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					placed++
				case errs.Is(err, errs.KindConflict) && errs.As(err).Message == "存款余额不足":
					broke++
				default:
					t.Errorf("order: %v", err)
				}
			})
		}
		wg.Wait()
		if placed != 3 || broke != 17 || w.deposit(t, m.pb) != 100 || w.stock(t, soap) != 97 {
			t.Fatalf("%d placed, %d refused, deposit %d, stock %d; want 3, 17, 100, 97", placed, broke, w.deposit(t, m.pb), w.stock(t, soap))
		}
		w.wantSound(t)
	}, migrations...)
}

// A correction of an earning races an order that would spend it: one of them wins, the other
// is refused, and the ledger adds up either way.
func TestReversalRacingRedemption(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 10)
		radio := w.reward(t, w.c1, "收音机", 800, 100)
		outcomes := map[string]int{}
		for i, m := range w.members {
			earnID := w.fund(t, m.pb, 10, "2026-03-01")
			var orderErr, reverseErr error
			racers := []func(){
				func() {
					_, orderErr = w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: radio.ID, Quantity: 1})
				},
				func() { _, reverseErr = w.svc.Reverse(ctx, w.c1Staff, earnID, "重复申报") },
			}
			var wg sync.WaitGroup
			wg.Go(racers[i%2]) // each starts first in turn
			wg.Go(racers[1-i%2])
			wg.Wait()
			switch {
			case orderErr == nil && errs.Is(reverseErr, errs.KindConflict) && w.deposit(t, m.pb) == 200:
				outcomes["order first"]++
			case reverseErr == nil && errs.Is(orderErr, errs.KindConflict) && w.deposit(t, m.pb) == 0:
				outcomes["reversal first"]++
			default:
				t.Fatalf("order %v, reversal %v, deposit %d: not one consistent outcome", orderErr, reverseErr, w.deposit(t, m.pb))
			}
		}
		t.Logf("outcomes: %v", outcomes)
		w.wantSound(t)
	}, migrations...)
}

// Cancelling an order races its pick-up: exactly one of them happens.
func TestCancelRacingPickup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 10)
		cup := w.reward(t, w.c1, "茶杯", 500, 100)
		for _, m := range w.members {
			w.fund(t, m.pb, 5, "2026-03-01")
			o, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: cup.ID, Quantity: 1})
			if err != nil {
				t.Fatal(err)
			}
			var cancelErr, pickupErr error
			var wg sync.WaitGroup
			wg.Go(func() { _, cancelErr = w.svc.CancelOrder(ctx, m.p, o.ID, "不要了") })
			wg.Go(func() { _, pickupErr = w.svc.PickupByCode(ctx, w.c1Staff, o.PickupCode) })
			wg.Wait()
			got, _ := w.svc.GetOrder(ctx, m.p, o.ID)
			switch {
			case cancelErr == nil && pickupErr != nil && got.State == OrderCancelled && w.deposit(t, m.pb) == 500:
			case pickupErr == nil && errs.Is(cancelErr, errs.KindConflict) && got.State == OrderFulfilled && w.deposit(t, m.pb) == 0:
			default:
				t.Fatalf("cancel %v, pick-up %v, state %s, deposit %d", cancelErr, pickupErr, got.State, w.deposit(t, m.pb))
			}
		}
		w.wantSound(t)
	}, migrations...)
}

func TestIdempotentOrderReplays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 1)
		m := w.members[0]
		w.fund(t, m.pb, 100, "2026-03-01")
		towel := w.reward(t, w.c1, "毛巾", 1000, 100)
		in := OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1}
		ids := make([]int64, 50)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				o, err := w.svc.PlaceOrder(ctx, m.p, "phone-retry-1", in)
				if err != nil {
					t.Errorf("replay %d: %v", i, err)
				}
				ids[i] = o.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("replays returned orders %v; want one", ids)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_orders`); n != 1 || w.deposit(t, m.pb) != 9000 || w.stock(t, towel) != 99 {
			t.Fatalf("%d orders, deposit %d, stock %d after 50 replays", n, w.deposit(t, m.pb), w.stock(t, towel))
		}
		in.Quantity = 2
		_, err := w.svc.PlaceOrder(ctx, m.p, "phone-retry-1", in)
		wantRefusal(t, err, errs.KindConflict, "Idempotency-Key")
		w.wantSound(t)
	}, migrations...)
}

// Cancelling puts everything back where it came from: the stock, the deposit, and each lot's
// remainder with its own expiry date.
func TestCancelRestoresStockDepositAndLots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		set := Settings{FenPerPoint: 100, DepositExpiry: "months", ExpiryMonths: 6, RankingsPublic: true}
		w := newStoreWorld(t, db, set, 1)
		m := w.members[0]
		w.fund(t, m.pb, 3, "2026-01-15") // 300 fen until 2026-07-15
		w.fund(t, m.pb, 5, "2026-02-20") // 500 fen until 2026-08-20
		lots := func() string {
			rows, err := db.Query(ctx, `SELECT expires_on, remaining FROM pb_deposit_lots WHERE passbook_id = ? ORDER BY id`, m.pb.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var exp string
				var left int64
				rows.Scan(&exp, &left)
				out = append(out, fmt.Sprintf("%s:%d", exp, left))
			}
			return strings.Join(out, " ")
		}
		before := lots()
		fan := w.reward(t, w.c1, "蒲扇", 200, 5)
		o, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: fan.ID, Quantity: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got := lots(); got != "2026-07-15:0 2026-08-20:400" {
			t.Fatalf("lots after the order: %s; the lot expiring first is spent first", got)
		}
		c, err := w.svc.CancelOrder(ctx, m.p, o.ID, "买错了")
		if err != nil {
			t.Fatal(err)
		}
		if c.State != OrderCancelled || c.CancelTxID == 0 || c.Reason != "买错了" || c.ClosedAt == nil {
			t.Fatalf("cancelled order = %+v", c)
		}
		if got := lots(); got != before {
			t.Fatalf("lots after cancelling: %s; want %s", got, before)
		}
		if w.deposit(t, m.pb) != 800 || w.stock(t, fan) != 5 {
			t.Fatalf("deposit %d, stock %d after cancelling", w.deposit(t, m.pb), w.stock(t, fan))
		}
		lines, _ := w.svc.Latest(ctx, m.p, m.pb.ID, 1)
		if lines[0].Memo != "取消兑换 蒲扇×2" || lines[0].DepositIn != 400 || lines[0].Reverses != o.TxID {
			t.Fatalf("statement line = %+v", lines[0])
		}
		_, err = w.svc.CancelOrder(ctx, w.c1Staff, o.ID, "")
		wantRefusal(t, err, errs.KindConflict, "订单已取消")
		_, err = w.svc.FulfilOrder(ctx, w.c1Staff, o.ID, o.PickupCode)
		wantRefusal(t, err, errs.KindConflict, "订单已取消，不能核销")
		w.wantSound(t)
	}, migrations...)
}

func TestPickupVerification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 2)
		m, other := w.members[0], w.members[1]
		w.fund(t, m.pb, 100, "2026-03-01")
		towel := w.reward(t, w.c1, "毛巾", 1000, 10)
		order := func() Order {
			o, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		o := order()
		if seen, _ := w.svc.GetOrder(ctx, w.c1Staff, o.ID); seen.PickupCode != "" {
			t.Fatal("staff who hand rewards over can read the pickup code")
		}
		if mine, _ := w.svc.GetOrder(ctx, m.p, o.ID); mine.PickupCode != o.PickupCode {
			t.Fatal("the member cannot read their own pickup code")
		}
		n, _ := strconv.Atoi(o.PickupCode)
		wrong := fmt.Sprintf("%06d", (n+1)%1_000_000)
		_, err := w.svc.FulfilOrder(ctx, w.c1Staff, o.ID, wrong)
		wantRefusal(t, err, errs.KindInvalid, "取货码不正确")
		_, err = w.svc.FulfilOrder(ctx, w.c1Staff, o.ID, "12ab")
		wantRefusal(t, err, errs.KindInvalid, "6位数字")
		_, err = w.svc.FulfilOrder(ctx, m.p, o.ID, o.PickupCode)
		wantRefusal(t, err, errs.KindForbidden, "核销")
		_, err = w.svc.CancelOrder(ctx, other.p, o.ID, "")
		wantRefusal(t, err, errs.KindNotFound, "订单不存在")
		got, err := w.svc.FulfilOrder(ctx, w.c1Staff, o.ID, o.PickupCode)
		if err != nil || got.State != OrderFulfilled || got.ClosedAt == nil || got.ClosedBy != w.c1Staff.Username {
			t.Fatalf("fulfilled order = %+v, %v", got, err)
		}
		_, err = w.svc.CancelOrder(ctx, m.p, o.ID, "")
		wantRefusal(t, err, errs.KindConflict, "订单已领取，不能取消")
		_, err = w.svc.FulfilOrder(ctx, w.c1Staff, o.ID, o.PickupCode)
		wantRefusal(t, err, errs.KindConflict, "订单已领取")

		o2 := order()
		_, err = w.svc.PickupByCode(ctx, w.c2Staff, o2.PickupCode)
		wantRefusal(t, err, errs.KindNotFound, "没有找到")
		scanned := "https://grassroots.example/passbook/pickup?code=" + o2.PickupCode
		got, err = w.svc.PickupByCode(ctx, w.townStaff, scanned)
		if err != nil || got.ID != o2.ID || got.PersonName != "党员001" || got.RewardName != "毛巾" {
			t.Fatalf("pick-up by scanned code = %+v, %v", got, err)
		}
		placed, _, err := w.svc.ListOrders(ctx, w.c1Staff, OrderFilter{State: OrderPlaced})
		if err != nil || len(placed) != 0 {
			t.Fatalf("placed orders left: %+v %v", placed, err)
		}
		today, _, _ := w.svc.ListOrders(ctx, w.c1Staff, OrderFilter{From: "2026-03-10", To: "2026-03-10"})
		earlier, _, _ := w.svc.ListOrders(ctx, w.c1Staff, OrderFilter{To: "2026-03-09"})
		if len(today) != 2 || len(earlier) != 0 {
			t.Fatalf("orders by date: %d today, %d before; want 2 and 0", len(today), len(earlier))
		}
		w.wantSound(t)
	}, migrations...)
}
