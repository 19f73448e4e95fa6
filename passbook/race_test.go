package passbook

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

// The races below each start every contender at once and then check that one consistent
// outcome came of it: the refused were told why in words a user reads, the ledger adds up
// (Verify), the audit chain is whole, no deposit ever went below zero, and the final numbers
// are exactly those of one serial order of the winners.

// wantNeverNegative checks every running balance a deposit ever had, not only the last one.
func wantNeverNegative(t testing.TB, db *store.DB) {
	t.Helper()
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM pb_entries e JOIN pb_accounts a ON a.id = e.account_id
		WHERE a.kind = 'deposit' AND e.balance_after < 0`).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("%d deposit entries left a negative balance (%v)", n, err)
	}
}

// conflictSaying reports whether err is a conflict whose message is exactly msg.
func conflictSaying(err error, msg string) bool {
	return errs.Is(err, errs.KindConflict) && errs.As(err).Message == msg
}

// Thirty members with different deposits want the last two towels, one or two each, three
// rounds running. Two members who can afford one towel are enough to empty the shelf, so every
// round sells exactly two; the rest are refused for stock or deposit and keep their money.
func TestRaceForTheLastItemsInStock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 30)
		const price = 600
		deposit := make([]int64, len(w.members))
		quantity := make([]int64, len(w.members))
		for i, m := range w.members {
			if points := int64(i%3) * 10; points > 0 { // 0, 10 or 20 points: 0, 1000 or 2000 fen
				w.fund(t, m.pb, points, "2026-03-01")
				deposit[i] = points * 100
			}
			quantity[i] = 1 + int64(i/3)%2
		}
		sold := 0
		for round := range 3 {
			towel := w.reward(t, w.c1, fmt.Sprintf("毛巾%d", round), price, 2)
			results := make([]error, len(w.members))
			orders := make([]Order, len(w.members))
			var wg sync.WaitGroup
			for i, m := range w.members {
				wg.Go(func() {
					orders[i], results[i] = w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: quantity[i]})
				})
			}
			wg.Wait()
			var taken int64
			for i, err := range results {
				cost := price * quantity[i]
				switch {
				case err == nil:
					if orders[i].TotalFen != cost || orders[i].Quantity != quantity[i] {
						t.Fatalf("round %d member %d: order %+v", round, i, orders[i])
					}
					taken += quantity[i]
					deposit[i] -= cost
					sold++
				case errs.Is(err, errs.KindConflict) && strings.HasPrefix(errs.As(err).Message, "库存不足"):
				case conflictSaying(err, "存款余额不足") && deposit[i] < cost:
				default:
					t.Fatalf("round %d member %d (deposit %d, wants %d): %v", round, i, deposit[i], quantity[i], err)
				}
			}
			if taken != 2 || w.stock(t, towel) != 0 {
				t.Fatalf("round %d: %d towels sold, stock %d; want the last 2 sold and none left", round, taken, w.stock(t, towel))
			}
		}
		for i, m := range w.members {
			if got := w.deposit(t, m.pb); got != deposit[i] {
				t.Errorf("member %d deposit = %d, want %d", i, got, deposit[i])
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_orders`); n != sold {
			t.Fatalf("%d orders stored, %d acknowledged", n, sold)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_orders od JOIN pb_entries e ON e.tx_id = od.tx_id
			JOIN pb_accounts a ON a.id = e.account_id AND a.kind = 'deposit' WHERE e.amount = -od.total_fen`); n != sold {
			t.Fatalf("%d of %d orders have a matching deposit debit", n, sold)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'passbook.order'`); n != sold {
			t.Fatalf("%d order audit records, %d orders", n, sold)
		}
		wantNeverNegative(t, db)
		w.wantSound(t)
	}, migrations...)
}

// Four reviewers decide the same claims at once, two approving and two rejecting, and a fifth
// double-clicks approve: on each claim exactly one decision stands, the others are told the
// claim is already decided, the history holds one decision, and only approved claims reach the
// ledger (no 公示, so the approval posts).
func TestReviewersRaceForOneClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 0, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		reviewers := []*auth.Principal{w.reviewer, w.reviewer2, w.staff, w.countyAdmin}
		const claims = 8
		ids := make([]int64, claims)
		for k := range ids {
			ids[k] = w.claim(t, w.member, w.pb, it, fmt.Sprintf("2026-03-%02d", 11+k), 1).ID
		}
		type decision struct {
			approve bool
			err     error
			claim   Claim
		}
		results := make([][]decision, claims)
		var wg sync.WaitGroup
		for k, id := range ids {
			results[k] = make([]decision, len(reviewers)+1)
			for r := range len(reviewers) + 1 {
				who := reviewers[r%len(reviewers)] // the fifth is the first again: a double click
				approve := (r+k)%2 == 0
				if r == len(reviewers) {
					approve = results[k][0].approve
				}
				results[k][r].approve = approve
				wg.Go(func() {
					d := &results[k][r]
					if approve {
						d.claim, d.err = w.svc.Approve(ctx, who, id, "")
					} else {
						d.claim, d.err = w.svc.Reject(ctx, who, id, "材料不全")
					}
				})
			}
		}
		wg.Wait()
		approved := 0
		for k, id := range ids {
			winners := 0
			var won decision
			for _, d := range results[k] {
				switch {
				case d.err == nil:
					winners++
					won = d
				case conflictSaying(d.err, "该申报当前为“已入账”，不能审核"), conflictSaying(d.err, "该申报当前为“未通过”，不能审核"):
				default:
					t.Fatalf("claim %d: %v", id, d.err)
				}
			}
			if winners != 1 {
				t.Fatalf("claim %d: %d decisions succeeded, want exactly 1", id, winners)
			}
			want := ClaimRejected
			if won.approve {
				want = ClaimPosted
				approved++
			}
			c := w.wantState(t, id, want)
			if len(c.History) != 2 || c.History[1].From != ClaimSubmitted || c.History[1].To != want {
				t.Fatalf("claim %d history: %+v; want the submission and one decision", id, c.History)
			}
			decisions := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE entity_type = 'pb_claim' AND entity_id = ?
				AND action IN ('passbook.claim_approve', 'passbook.claim_reject')`, id)
			postings := w.count(t, `SELECT COUNT(*) FROM pb_transactions WHERE claim_id = ?`, id)
			if decisions != 1 || (won.approve && (postings != 1 || c.TxID == 0)) || (!won.approve && postings != 0) {
				t.Fatalf("claim %d (%s): %d audit decisions, %d postings, tx %d", id, want, decisions, postings, c.TxID)
			}
		}
		t.Logf("%d of %d claims approved", approved, claims)
		w.wantBalances(t, int64(approved)*5, int64(approved)*50)
		w.wantSound(t)
	}, migrations...)
}

// A correction of an earning races four orders that would spend it, for eight members at once.
// For even members the earning is 10 of their 15 points, so either the reversal wins and no
// order fits what is left, or one order wins and the reversal is refused because the deposit is
// spent. For odd members the reversed earning is the smaller one (5 points), and both the
// reversal and one order fit, in either order, taking from the right lots.
func TestReversalRacingRedemptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 8)
		radio := w.reward(t, w.c1, "收音机", 800, 100)
		reversed := make([]int64, len(w.members))
		for i, m := range w.members {
			big := w.fund(t, m.pb, 10, "2026-03-01")
			small := w.fund(t, m.pb, 5, "2026-03-02")
			reversed[i] = big
			if i%2 == 1 {
				reversed[i] = small
			}
		}
		const racers = 4
		orderErrs := make([][]error, len(w.members))
		reverseErrs := make([]error, len(w.members))
		var wg sync.WaitGroup
		for i, m := range w.members {
			orderErrs[i] = make([]error, racers)
			wg.Go(func() { _, reverseErrs[i] = w.svc.Reverse(ctx, w.c1Staff, reversed[i], "重复申报") })
			for r := range racers {
				wg.Go(func() {
					_, orderErrs[i][r] = w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: radio.ID, Quantity: 1})
				})
			}
		}
		wg.Wait()
		outcomes := map[string]int{}
		orders := 0
		for i, m := range w.members {
			placed := 0
			for _, err := range orderErrs[i] {
				switch {
				case err == nil:
					placed++
				case conflictSaying(err, "存款余额不足"):
				default:
					t.Fatalf("member %d order: %v", i, err)
				}
			}
			orders += placed
			b, err := w.svc.GetPassbook(ctx, auth.System(), m.pb.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("reversal %v, %d orders, %d points, %d fen", reverseErrs[i] == nil, placed, b.HonorPoints, b.DepositFen)
			var want []string
			if i%2 == 0 {
				want = []string{"reversal true, 0 orders, 5 points, 500 fen", "reversal false, 1 orders, 15 points, 700 fen"}
				if reverseErrs[i] != nil && !conflictSaying(reverseErrs[i], "该笔积分折算的存款已被使用，余额不足，不能冲正") {
					t.Fatalf("member %d reversal: %v", i, reverseErrs[i])
				}
			} else {
				want = []string{"reversal true, 1 orders, 10 points, 200 fen"}
				if reverseErrs[i] != nil {
					t.Fatalf("member %d reversal: %v", i, reverseErrs[i])
				}
			}
			if got != want[0] && (len(want) == 1 || got != want[1]) {
				t.Fatalf("member %d: %s; want one of %q", i, got, want)
			}
			outcomes[got]++
		}
		t.Logf("outcomes: %v", outcomes)
		if got := w.stock(t, radio); got != 100-int64(orders) {
			t.Fatalf("stock %d after %d orders", got, orders)
		}
		wantNeverNegative(t, db)
		w.wantSound(t)
	}, migrations...)
}

// Earnings race redemptions of the same passbooks: on PostgreSQL both take the passbook's
// honour and deposit rows, and must take them in the same order or deadlock (a posting that
// moved both in one UPDATE did, now and then, once the rows' versions had moved about in the
// table). Every earning goes through; each redemption either goes through or is refused for
// the deposit, and the balances are exactly what the successes make them.
func TestEarningsRacingRedemptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 4)
		towel := w.reward(t, w.c1, "毛巾", 100, 1000)
		for _, m := range w.members {
			w.fund(t, m.pb, 10, "2026-03-01")
		}
		const racers, rounds = 3, 20
		var earnErrs, orderErrs []error
		var mu sync.Mutex
		placed := make([]int64, len(w.members))
		var wg sync.WaitGroup
		for i, m := range w.members {
			for range racers {
				wg.Go(func() {
					for range rounds {
						err := w.db.Write(ctx, func(tx *store.Tx) error {
							b, err := loadPassbook(ctx, tx, auth.System(), PermView, m.pb.ID)
							if err != nil {
								return err
							}
							_, err = earn(ctx, tx, auth.System().Actor(), b, w.set, 3, "2026-03-02", "志愿服务", 0)
							return err
						})
						if err != nil {
							mu.Lock()
							earnErrs = append(earnErrs, err)
							mu.Unlock()
						}
					}
				})
				wg.Go(func() {
					for range rounds {
						_, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1})
						mu.Lock()
						switch {
						case err == nil:
							placed[i]++
						case !conflictSaying(err, "存款余额不足"):
							orderErrs = append(orderErrs, err)
						}
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		if len(earnErrs) > 0 || len(orderErrs) > 0 {
			t.Fatalf("earnings refused: %v; orders refused: %v", earnErrs, orderErrs)
		}
		orders := int64(0)
		for i, m := range w.members {
			orders += placed[i]
			b, err := w.svc.GetPassbook(ctx, auth.System(), m.pb.ID)
			if err != nil {
				t.Fatal(err)
			}
			if placed[i] < 10 || b.HonorPoints != 10+racers*rounds*3 || b.DepositFen != 1000+racers*rounds*300-100*placed[i] {
				t.Fatalf("member %d: %d orders, %d points, %d fen", i, placed[i], b.HonorPoints, b.DepositFen)
			}
		}
		if got := w.stock(t, towel); got != 1000-orders {
			t.Fatalf("stock %d after %d orders", got, orders)
		}
		wantNeverNegative(t, db)
		w.wantSound(t)
	}, migrations...)
}

// Retries of one Idempotency-Key race each other: twenty carry the request as first sent and
// twenty a changed one. Exactly one request is carried out; every retry with its body gets its
// result, every retry with the other body is refused. Another member using the same key string
// is a different key.
func TestIdempotencyKeyRaces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 2)
		a, b := w.members[0], w.members[1]
		w.fund(t, a.pb, 100, "2026-03-01")
		w.fund(t, b.pb, 100, "2026-03-01")
		towel := w.reward(t, w.c1, "毛巾", 1000, 100)
		bodies := []OrderInput{{PassbookID: a.pb.ID, RewardID: towel.ID, Quantity: 1}, {PassbookID: a.pb.ID, RewardID: towel.ID, Quantity: 2}}
		const each = 20
		type result struct {
			body  int
			order Order
			err   error
		}
		results := make([]result, 2*each)
		otherIDs := make([]int64, each)
		var wg sync.WaitGroup
		for i := range results {
			results[i].body = i % 2
			wg.Go(func() {
				results[i].order, results[i].err = w.svc.PlaceOrder(ctx, a.p, "retry-7", bodies[i%2])
			})
		}
		for i := range otherIDs {
			wg.Go(func() {
				o, err := w.svc.PlaceOrder(ctx, b.p, "retry-7", OrderInput{PassbookID: b.pb.ID, RewardID: towel.ID, Quantity: 3})
				if err != nil {
					t.Errorf("the other member's retry: %v", err)
				}
				otherIDs[i] = o.ID
			})
		}
		wg.Wait()
		var winner Order
		for _, r := range results {
			if r.err == nil {
				winner = r.order
				break
			}
		}
		if winner.ID == 0 {
			t.Fatal("no retry was carried out")
		}
		for i, r := range results {
			same := bodies[r.body].Quantity == winner.Quantity
			switch {
			case same && r.err == nil && r.order.ID == winner.ID && r.order.PickupCode == winner.PickupCode:
			case !same && conflictSaying(r.err, "该 Idempotency-Key 已用于另一个不同的请求"):
			default:
				t.Fatalf("retry %d (quantity %d, winner %d): order %d, %v", i, bodies[r.body].Quantity, winner.Quantity, r.order.ID, r.err)
			}
		}
		for _, id := range otherIDs {
			if id != otherIDs[0] || id == winner.ID {
				t.Fatalf("the other member's retries returned orders %v (first member's %d)", otherIDs, winner.ID)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_orders`); n != 2 {
			t.Fatalf("%d orders; want one per member", n)
		}
		if got := w.deposit(t, a.pb); got != 10000-1000*winner.Quantity {
			t.Fatalf("deposit %d after an order of %d", got, winner.Quantity)
		}
		if got := w.deposit(t, b.pb); got != 7000 {
			t.Fatalf("the other member's deposit %d, want 7000", got)
		}
		if got := w.stock(t, towel); got != 97-winner.Quantity {
			t.Fatalf("stock %d", got)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'passbook.order'`); n != 2 {
			t.Fatalf("%d order audit records", n)
		}
		w.wantSound(t)
	}, migrations...)
}

// The same race for claims: one claim is filed, posted once when approved.
func TestIdempotentClaimKeyRaces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 0, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		bodies := []ClaimInput{
			{PassbookID: w.pb.ID, ItemID: it.ID, WorkDate: "2026-03-15", Quantity: 1, Note: "讲党史"},
			{PassbookID: w.pb.ID, ItemID: it.ID, WorkDate: "2026-03-16", Quantity: 1, Note: "讲党史"},
		}
		type result struct {
			body    int
			claim   Claim
			created bool
			err     error
		}
		results := make([]result, 40)
		var wg sync.WaitGroup
		for i := range results {
			results[i].body = i % 2
			wg.Go(func() {
				r := &results[i]
				r.claim, r.created, r.err = w.svc.SubmitClaim(ctx, w.member, bodies[r.body], nil, "phone-3")
			})
		}
		wg.Wait()
		var winner Claim
		created := 0
		for _, r := range results {
			if r.err == nil && r.created {
				winner = r.claim
				created++
			}
		}
		if created != 1 {
			t.Fatalf("%d retries created a claim; want 1", created)
		}
		for i, r := range results {
			same := bodies[r.body].WorkDate == winner.WorkDate
			switch {
			case same && r.err == nil && r.claim.ID == winner.ID:
			case !same && conflictSaying(r.err, "该 Idempotency-Key 已用于另一个不同的请求"):
			default:
				t.Fatalf("retry %d (%s, winner %s): claim %d, %v", i, bodies[r.body].WorkDate, winner.WorkDate, r.claim.ID, r.err)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_claims`); n != 1 {
			t.Fatalf("%d claims", n)
		}
		w.approve(t, w.reviewer, winner)
		if n := w.count(t, `SELECT COUNT(*) FROM pb_transactions WHERE claim_id = ?`, winner.ID); n != 1 {
			t.Fatalf("%d postings of the claim", n)
		}
		w.wantBalances(t, 5, 50)
		w.wantSound(t)
	}, migrations...)
}

// The 公示 of twelve claims ends at midnight; objections come in during the last second while
// two servers' expiry jobs post the claims the moment the next day begins. Each claim is either
// posted or back in review with its objection, never both; the ledger holds a posting for
// exactly the posted ones. Then the objected claims are approved again and posted, and the
// balances come out exact.
func TestPublicityExpiryRacingObjection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 1, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		type filed struct {
			id       int64
			objector *auth.Principal
		}
		var claims []filed
		for k := range 12 {
			b, claimant, objector := w.pb, w.member, w.neighbourMember
			if k%2 == 1 {
				b, claimant, objector = w.neighbour, w.neighbourMember, w.member
			}
			c := w.approve(t, w.reviewer, w.claim(t, claimant, b, it, fmt.Sprintf("2026-03-%02d", 11+k/2), 1))
			if c.State != ClaimPublicized || c.PublicityEndsOn != "2026-03-21" {
				t.Fatalf("approved: %s until %s", c.State, c.PublicityEndsOn)
			}
			claims = append(claims, filed{c.ID, objector})
		}
		// The objections' transactions begin at 23:59:59 on the last day; the jobs run at 00:00:01.
		w.now = time.Date(2026, 3, 21, 15, 59, 59, 0, time.UTC)
		midnight := time.Date(2026, 3, 21, 16, 0, 1, 0, time.UTC)
		objections := make([]error, len(claims))
		posted := make([]int, 2)
		// The jobs post in claim order; the objections come in the other order, 10 ms apart (about
		// what a posting takes), so that they meet in the middle and both outcomes happen.
		start := make(chan struct{})
		var wg sync.WaitGroup
		for j := range posted {
			wg.Go(func() {
				<-start
				var err error
				if posted[j], _, err = w.svc.PostDue(ctx, midnight); err != nil {
					t.Error(err)
				}
			})
		}
		for k := len(claims) - 1; k >= 0; k-- {
			c := claims[k]
			delay := time.Duration(len(claims)-k) * 10 * time.Millisecond
			wg.Go(func() {
				<-start
				time.Sleep(delay)
				_, objections[k] = w.svc.Object(ctx, c.objector, c.id, "那天不在社区")
			})
		}
		close(start)
		wg.Wait()
		objected := 0
		for k, c := range claims {
			got, err := w.svc.GetClaim(ctx, auth.System(), c.id)
			if err != nil {
				t.Fatal(err)
			}
			var to []string
			for _, e := range got.History {
				to = append(to, e.To)
			}
			postings := w.count(t, `SELECT COUNT(*) FROM pb_transactions WHERE claim_id = ?`, c.id)
			recorded := w.count(t, `SELECT COUNT(*) FROM pb_objections WHERE claim_id = ?`, c.id)
			history := fmt.Sprint(to)
			switch {
			case objections[k] == nil && got.State == ClaimSubmitted && postings == 0 && recorded == 1 && got.TxID == 0 &&
				history == "[submitted publicized submitted]":
				objected++
			case conflictSaying(objections[k], "该申报不在公示期，不能提出异议") && got.State == ClaimPosted && postings == 1 &&
				recorded == 0 && got.TxID != 0 && history == "[submitted publicized posted]":
			default:
				t.Fatalf("claim %d: objection %v, state %s, %d postings, %d objections recorded, history %s",
					c.id, objections[k], got.State, postings, recorded, history)
			}
		}
		if posted[0]+posted[1]+objected != len(claims) {
			t.Fatalf("the jobs posted %v and %d claims were objected to, of %d", posted, objected, len(claims))
		}
		t.Logf("posted %v, objected %d", posted, objected)
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'passbook.claim_post'`); n != len(claims)-objected {
			t.Fatalf("%d posting audit records for %d postings", n, len(claims)-objected)
		}
		w.wantSound(t)

		// Back in review, the objected claims are approved again and posted after a new 公示.
		w.now = midnight
		for k, c := range claims {
			if objections[k] == nil {
				if _, err := w.svc.Approve(ctx, w.reviewer, c.id, "核实无误"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if n, _, err := w.svc.PostDue(ctx, midnight.AddDate(0, 0, 2)); n != objected || err != nil {
			t.Fatalf("second PostDue posted %d of %d, %v", n, objected, err)
		}
		for _, b := range []Passbook{w.pb, w.neighbour} {
			got, err := w.svc.GetPassbook(ctx, auth.System(), b.ID)
			if err != nil || got.HonorPoints != 30 || got.DepositFen != 300 {
				t.Fatalf("passbook %s: %d points, %d fen, %v; want 30 and 300", b.Number, got.HonorPoints, got.DepositFen, err)
			}
		}
		if _, err := audit.Verify(ctx, db); err != nil {
			t.Fatal(err)
		}
		w.wantSound(t)
	}, migrations...)
}

// Phones drop off in the middle of requests: two hundred orders and approvals race with
// deadlines from nothing to 300 ms. A request that failed wrote nothing and one that succeeded
// wrote everything, the ledger adds up, and the database keeps taking writes afterwards (on
// SQLite, the single writer connection must not be left inside a transaction).
func TestAbandonedRequestsLeaveNoTrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 10)
		clerk := w.principal(t, auth.RoleUnitAdmin, w.c1, 0)
		reviewer := w.principal(t, auth.RoleReviewer, w.c1, 0)
		item, err := w.svc.CreateItem(ctx, auth.System(), ItemInput{OrgID: w.c1.ID, Code: "C01", ItemTerms: terms("志愿服务", 5)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.SetSettings(ctx, auth.System(), w.county.ID, Settings{FenPerPoint: 100, DepositExpiry: "none"}); err != nil {
			t.Fatal(err)
		}
		for _, m := range w.members {
			w.fund(t, m.pb, 100, "2026-03-01")
		}
		towel := w.reward(t, w.c1, "毛巾", 100, 1000)
		claims := make([]int64, 100)
		for k := range claims {
			c, _, err := w.svc.SubmitClaim(ctx, clerk, ClaimInput{PassbookID: w.members[k%10].pb.ID, ItemID: item.ID, WorkDate: "2026-03-10", Quantity: 1}, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			claims[k] = c.ID
		}
		var mu sync.Mutex
		var orders, postings int
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
		var wg sync.WaitGroup
		for k := range 2 * len(claims) {
			deadline := time.Duration(rng.IntN(300_000)) * time.Microsecond
			wg.Go(func() {
				c, cancel := context.WithTimeout(ctx, deadline)
				defer cancel()
				var err error
				if k%2 == 0 {
					m := w.members[k%10]
					_, err = w.svc.PlaceOrder(c, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1})
				} else {
					_, err = w.svc.Approve(c, reviewer, claims[k/2], "")
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && k%2 == 0:
					orders++
				case err == nil:
					postings++
				case c.Err() == nil:
					t.Errorf("request %d failed before its deadline: %v", k, err)
				}
			})
		}
		wg.Wait()
		t.Logf("%d orders and %d postings of 100 each went through", orders, postings)
		if n := w.count(t, `SELECT COUNT(*) FROM pb_orders`); n != orders || w.stock(t, towel) != int64(1000-orders) {
			t.Fatalf("%d orders stored, stock %d; %d acknowledged", n, w.stock(t, towel), orders)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_claims WHERE state = 'posted'`); n != postings {
			t.Fatalf("%d claims posted, %d approvals acknowledged", n, postings)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_transactions WHERE kind = 'earn' AND claim_id IS NOT NULL`); n != postings {
			t.Fatalf("%d postings in the ledger, %d approvals acknowledged", n, postings)
		}
		var honor, deposit int64
		for _, m := range w.members {
			b, err := w.svc.GetPassbook(ctx, auth.System(), m.pb.ID)
			if err != nil {
				t.Fatal(err)
			}
			honor, deposit = honor+b.HonorPoints, deposit+b.DepositFen
		}
		if honor != 1000+5*int64(postings) || deposit != 100000+500*int64(postings)-100*int64(orders) {
			t.Fatalf("passbooks hold %d points and %d fen", honor, deposit)
		}
		for _, m := range w.members { // and the database still takes writes
			if _, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1}); err != nil {
				t.Fatal(err)
			}
		}
		wantNeverNegative(t, db)
		w.wantSound(t)
	}, migrations...)
}

// A bulk posting holds the ledger gate alone while everything else that moves a balance shares
// it. Two files of approved records race, for the same eight passbooks, with orders, approvals, reversals
// of the funding and 公示-free postings of single claims. Whatever won, each passbook holds
// exactly what the successful requests make it, no deposit went below zero, and no request
// failed for any reason but a refusal a user can read.
func TestBulkPostingRacingEverything(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newStoreWorld(t, db, storeSettings, 8)
		clerk := w.principal(t, auth.RoleUnitAdmin, w.c1, 0)
		reviewer := w.principal(t, auth.RoleReviewer, w.c1, 0)
		earn, err := w.svc.CreateItem(ctx, auth.System(), ItemInput{OrgID: w.c1.ID, Code: "V01", ItemTerms: terms("志愿服务", 5)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.CreateItem(ctx, auth.System(), ItemInput{OrgID: w.c1.ID, Code: "K01", ItemTerms: terms("乱扔垃圾", -1)}); err != nil {
			t.Fatal(err)
		}
		towel := w.reward(t, w.c1, "毛巾", 500, 1000)
		funding := make([]int64, len(w.members))
		claims := make([]int64, len(w.members))
		var rows []string
		for i, m := range w.members {
			funding[i] = w.fund(t, m.pb, 20, "2026-03-01")
			c, _, err := w.svc.SubmitClaim(ctx, clerk, ClaimInput{PassbookID: m.pb.ID, ItemID: earn.ID, WorkDate: "2026-03-10", Quantity: 1}, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			claims[i] = c.ID
			rows = append(rows, m.pb.Number+",,V01,2026-03-10,1,", m.pb.Number+",,V01,2026-03-10,1,", m.pb.Number+",,K01,2026-03-10,1,")
		}
		// The second file's records differ by their note: the same records twice would be refused
		// as already booked.
		second := make([]string, len(rows))
		for i, r := range rows {
			second[i] = r + "第二份"
		}
		files := []*ApprovedFile{readApproved(t, "a.csv", approvedCSV(rows...)), readApproved(t, "b.csv", approvedCSV(second...))}

		var mu sync.Mutex
		var fails []string
		refused := func(what string, err error, allowed ...string) {
			mu.Lock()
			defer mu.Unlock()
			for _, msg := range allowed {
				if conflictSaying(err, msg) {
					return
				}
			}
			fails = append(fails, fmt.Sprintf("%s: %v", what, err))
		}
		bulkOK := make([]bool, len(files))
		orders := make([][2]bool, len(w.members))
		approved := make([]bool, len(w.members))
		reversed := make([]bool, len(w.members))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for j, f := range files {
			wg.Go(func() {
				<-start
				res, err := w.svc.PostApproved(ctx, reviewer, f)
				if err != nil || res.Posted != 3*len(w.members) {
					refused(fmt.Sprintf("file %d (%+v)", j, res), err)
					return
				}
				bulkOK[j] = true
			})
		}
		for i, m := range w.members {
			for k := range 2 {
				wg.Go(func() {
					<-start
					_, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1})
					if orders[i][k] = err == nil; err != nil {
						refused("order", err, "存款余额不足")
					}
				})
			}
			wg.Go(func() {
				<-start
				_, err := w.svc.Approve(ctx, reviewer, claims[i], "")
				if approved[i] = err == nil; err != nil {
					refused("approval", err)
				}
			})
			wg.Go(func() {
				<-start
				_, err := w.svc.Reverse(ctx, w.c1Staff, funding[i], "期初录错")
				if reversed[i] = err == nil; err != nil {
					refused("reversal", err, "该笔积分折算的存款已被使用，余额不足，不能冲正")
				}
			})
		}
		close(start)
		wg.Wait()
		if len(fails) > 0 {
			t.Fatalf("requests failed:\n%s", strings.Join(fails, "\n"))
		}
		files64 := int64(0)
		for _, ok := range bulkOK {
			if ok {
				files64++
			}
		}
		if files64 != int64(len(files)) {
			t.Fatalf("%d of %d files posted", files64, len(files))
		}
		summary := map[string]int{}
		for i, m := range w.members {
			honor, deposit := int64(20), int64(2000)
			honor += files64 * (5 + 5 - 1)
			deposit += files64 * (500 + 500)
			if approved[i] {
				honor, deposit = honor+5, deposit+500
			}
			for _, ok := range orders[i] {
				if ok {
					deposit -= 500
				}
			}
			if reversed[i] {
				honor, deposit = honor-20, deposit-2000
			}
			b, err := w.svc.GetPassbook(ctx, auth.System(), m.pb.ID)
			if err != nil {
				t.Fatal(err)
			}
			if b.HonorPoints != honor || b.DepositFen != deposit {
				t.Fatalf("member %d (approved %v, orders %v, reversed %v): %d points, %d fen; want %d and %d",
					i, approved[i], orders[i], reversed[i], b.HonorPoints, b.DepositFen, honor, deposit)
			}
			summary[fmt.Sprintf("reversed %v", reversed[i])]++
		}
		t.Logf("%v", summary)
		wantNeverNegative(t, db)
		w.wantSound(t)
	}, migrations...)
}
