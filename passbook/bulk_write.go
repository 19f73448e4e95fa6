package passbook

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"grassroots/store"
)

// bulkReason is the history line of a claim PostApproved books.
const bulkReason = "线下审核、公示后批量入账"

// earning is what one row of earned points books.
type earning struct {
	row    *approvedRow
	book   *Passbook
	item   *Item
	points int64
	fen    int64
	date   string
}

// post books every row: the earnings through the bulk path, then the deductions one by one.
func (b *bulkPosting) post(ctx context.Context) error {
	var earnings, deductions []int32
	moved := map[int64]bool{}
	for _, i := range b.order {
		row := &b.f.rows[i]
		book := b.books[row.key].Passbook
		moved[book.ID] = true
		if b.items[itemAt{book.OrgID, row.code}].Points < 0 {
			deductions = append(deductions, i)
		} else {
			earnings = append(earnings, i)
		}
	}
	b.result.Passbooks = len(moved)
	if err := b.bookEarnings(ctx, earnings); err != nil {
		return err
	}
	for _, i := range deductions {
		if err := b.bookDeduction(ctx, &b.f.rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// earningOf works out what row i of the earnings books.
func (b *bulkPosting) earningOf(row *approvedRow) earning {
	book := &b.books[row.key].Passbook
	it := b.items[itemAt{book.OrgID, row.code}]
	points := it.Points * row.quantity
	return earning{row: row, book: book, item: it, points: points,
		fen: points * b.settings[book.OrgID].FenPerPoint, date: b.f.dates[row.date]}
}

// bookEarnings writes the earnings' transactions, claims, histories, entries and deposit lots
// table by table, each in one COPY (or one prepared insert stepped per row), then moves each
// passbook's balances and ranking totals once. Rows come by passbook, so each passbook's
// running balances are carried from one row to the next.
func (b *bulkPosting) bookEarnings(ctx context.Context, rows []int32) error {
	n := len(rows)
	if n == 0 {
		return nil
	}
	tx, dialect := b.tx, b.tx.DB().Dialect
	community := map[int64]orgAccounts{}
	for _, i := range rows {
		book := b.books[b.f.rows[i].key].Passbook
		if _, ok := community[book.OrgID]; ok {
			continue
		}
		acc, err := ensureOrgAccounts(ctx, tx, book.OrgID)
		if err != nil {
			return err
		}
		community[book.OrgID] = acc
		if _, err := b.settingsOf(ctx, book); err != nil {
			return err
		}
	}
	txIDs, err := dialect.ReserveIDs(ctx, tx, "pb_transactions", n)
	if err != nil {
		return err
	}
	claimIDs, err := dialect.ReserveIDs(ctx, tx, "pb_claims", n)
	if err != nil {
		return err
	}
	b.firstTx, b.lastTx = txIDs[0], txIDs[n-1]
	at := store.FormatTime(tx.Now())
	actorID := nullID(b.actor.UserID)
	each := func(i int) earning { return b.earningOf(&b.f.rows[rows[i]]) }

	err = dialect.CopyFunc(ctx, tx, "pb_transactions", []string{"id", "org_id", "passbook_id", "kind", "memo",
		"business_date", "claim_id", "actor_id", "actor", "created_at"}, n, func(i int, v []any) {
		e := each(i)
		v[0], v[1], v[2], v[3], v[4] = txIDs[i], e.book.OrgID, e.book.ID, TxEarn, memoOf(e.item.Name, e.row.quantity, e.item.UnitLabel())
		v[5], v[6], v[7], v[8], v[9] = e.date, claimIDs[i], actorID, b.actor.Name, at
	})
	if err != nil {
		return err
	}
	err = dialect.CopyFunc(ctx, tx, "pb_claims", []string{"id", "org_id", "passbook_id", "item_version_id", "work_date",
		"quantity", "points", "note", "source", "state", "submitted_by", "submitted_by_name", "tx_id", "created_at", "updated_at"},
		n, func(i int, v []any) {
			e := each(i)
			v[0], v[1], v[2], v[3], v[4] = claimIDs[i], e.book.OrgID, e.book.ID, e.item.VersionID, e.date
			v[5], v[6], v[7], v[8], v[9] = e.row.quantity, e.points, e.row.note, SourceBatch, ClaimPosted
			v[10], v[11], v[12], v[13], v[14] = actorID, b.actor.Name, txIDs[i], at, at
		})
	if err != nil {
		return err
	}
	err = dialect.CopyFunc(ctx, tx, "pb_claim_events", []string{"claim_id", "at", "actor_id", "actor", "from_state",
		"to_state", "reason"}, n, func(i int, v []any) {
		v[0], v[1], v[2], v[3], v[4], v[5], v[6] = claimIDs[i], at, actorID, b.actor.Name, "", ClaimPosted, bulkReason
	})
	if err != nil {
		return err
	}
	b.grown["pb_transactions"], b.grown["pb_claims"], b.grown["pb_claim_events"] = n, n, n
	if err := b.writeEntries(ctx, rows, txIDs, community); err != nil {
		return err
	}
	if err := b.writeLots(ctx, rows, txIDs); err != nil {
		return err
	}
	return b.moveBalances(ctx, rows)
}

// memoOf is the 摘要 of a claim's posting: the item, the quantity and its unit.
func memoOf(item string, quantity int64, unit string) string {
	return fmt.Sprintf("%s %d%s", item, quantity, unit)
}

// writeEntries writes each earning's legs as book would: honour points against the
// community's issuing account, and the deposit they convert to against its deposit issuing
// account when the rate makes any; passbook legs carry the running balance.
func (b *bulkPosting) writeEntries(ctx context.Context, rows []int32, txIDs []int64, community map[int64]orgAccounts) error {
	legs := 0
	for _, i := range rows {
		legs += 2
		if b.earningOf(&b.f.rows[i]).fen > 0 {
			legs += 2
		}
	}
	b.grown["pb_entries"] = legs
	var (
		r, leg         int // the row and its leg the next entry is
		current        int64
		honor, deposit int64 // running balances of the current passbook
		e              earning
	)
	return b.tx.DB().Dialect.CopyFunc(ctx, b.tx, "pb_entries", []string{"tx_id", "account_id", "asset", "amount", "balance_after"},
		legs, func(_ int, v []any) {
			if leg == 0 {
				e = b.earningOf(&b.f.rows[rows[r]])
				if e.book.ID != current {
					current, honor, deposit = e.book.ID, e.book.HonorPoints, e.book.DepositFen
				}
			}
			acc := community[e.book.OrgID]
			v[0] = txIDs[r]
			switch leg {
			case 0:
				honor += e.points
				v[1], v[2], v[3], v[4] = e.book.honorAcc, string(Points), e.points, honor
			case 1:
				v[1], v[2], v[3], v[4] = acc.issuePoints, string(Points), -e.points, nil
			case 2:
				deposit += e.fen
				v[1], v[2], v[3], v[4] = e.book.depositAcc, string(Fen), e.fen, deposit
			case 3:
				v[1], v[2], v[3], v[4] = acc.issueFen, string(Fen), -e.fen, nil
			}
			leg++
			if leg == 4 || (leg == 2 && e.fen == 0) {
				r, leg = r+1, 0
			}
		})
}

// writeLots opens the deposit lots of the earnings: one per passbook and expiry date, since
// lots that expire on the same day are spent and expire as one. A lot names the first
// transaction that fed it; reversing one of the others takes its deposit back from the
// passbook's open lots, those expiring first first.
func (b *bulkPosting) writeLots(ctx context.Context, rows []int32, txIDs []int64) error {
	type lot struct {
		passbook, tx, fen int64
		expires           string
	}
	var lots []lot
	open := map[string]int{} // the current passbook's lots by expiry date
	var current int64
	for k, i := range rows {
		e := b.earningOf(&b.f.rows[i])
		if e.fen == 0 {
			continue
		}
		if e.book.ID != current {
			current = e.book.ID
			clear(open)
		}
		expires := b.settings[e.book.OrgID].expiresOn(e.date)
		if at, ok := open[expires]; ok {
			lots[at].fen += e.fen
			continue
		}
		open[expires] = len(lots)
		lots = append(lots, lot{e.book.ID, txIDs[k], e.fen, expires})
	}
	b.grown["pb_deposit_lots"] = len(lots)
	return b.tx.DB().Dialect.CopyFunc(ctx, b.tx, "pb_deposit_lots", []string{"passbook_id", "tx_id", "amount", "remaining", "expires_on"},
		len(lots), func(i int, v []any) {
			l := lots[i]
			var expires any
			if l.expires != "" {
				expires = l.expires
			}
			v[0], v[1], v[2], v[3], v[4] = l.passbook, l.tx, l.fen, l.fen, expires
		})
}

// pointsTotal is one passbook's points in one ranking period.
type pointsTotal struct {
	period        string
	passbook, org int64
	points        int64
}

// moveBalances adds the earnings to each passbook's honour and deposit balances and to its
// ranking totals, one row per account and per period.
func (b *bulkPosting) moveBalances(ctx context.Context, rows []int32) error {
	type delta struct {
		book        *Passbook
		points, fen int64
	}
	var deltas []delta
	var totals []pointsTotal
	periods := map[string]int64{}
	flush := func() {
		d := deltas[len(deltas)-1]
		for period, points := range periods {
			totals = append(totals, pointsTotal{period, d.book.ID, d.book.OrgID, points})
		}
		clear(periods)
	}
	for _, i := range rows {
		e := b.earningOf(&b.f.rows[i])
		if len(deltas) == 0 || deltas[len(deltas)-1].book.ID != e.book.ID {
			if len(deltas) > 0 {
				flush()
			}
			deltas = append(deltas, delta{book: e.book})
		}
		d := &deltas[len(deltas)-1]
		d.points, d.fen = d.points+e.points, d.fen+e.fen
		for _, period := range Periods(e.date) {
			periods[period] += e.points
		}
		b.result.Posted++
		b.result.Points += e.points
		b.result.Fen += e.fen
	}
	flush()
	// By period, then passbook: the totals' key, so the upserts walk it in order.
	slices.SortFunc(totals, func(x, y pointsTotal) int {
		return cmp.Or(strings.Compare(x.period, y.period), cmp.Compare(x.passbook, y.passbook))
	})
	dialect := b.tx.DB().Dialect
	err := dialect.UpsertFunc(ctx, b.tx, "pb_accounts", []string{"id", "org_id", "passbook_id", "kind", "asset", "balance"},
		"id", "balance = pb_accounts.balance + excluded.balance", 2*len(deltas), func(i int, v []any) {
			d := deltas[i/2]
			if i%2 == 0 {
				v[0], v[1], v[2], v[3], v[4], v[5] = d.book.honorAcc, d.book.OrgID, d.book.ID, accHonor, string(Points), d.points
			} else {
				v[0], v[1], v[2], v[3], v[4], v[5] = d.book.depositAcc, d.book.OrgID, d.book.ID, accDeposit, string(Fen), d.fen
			}
		})
	if err != nil {
		return err
	}
	return dialect.UpsertFunc(ctx, b.tx, "pb_points_totals", []string{"period", "passbook_id", "org_id", "points"},
		"period, passbook_id", "points = pb_points_totals.points + excluded.points", len(totals), func(i int, v []any) {
			t := totals[i]
			v[0], v[1], v[2], v[3] = t.period, t.passbook, t.org, t.points
		})
}

// bookDeduction files a deduction row as a claim and posts it the ordinary way, so that a
// deposit it reduces is drawn from the lots that expire first.
func (b *bulkPosting) bookDeduction(ctx context.Context, row *approvedRow) error {
	book := b.books[row.key].Passbook
	it := b.items[itemAt{book.OrgID, row.code}]
	set, err := b.settingsOf(ctx, book)
	if err != nil {
		return err
	}
	in := ClaimInput{PassbookID: book.ID, ItemID: it.ID, WorkDate: b.f.dates[row.date], Quantity: row.quantity, Note: row.note}
	c, err := insertClaim(ctx, b.tx, b.actor, book, *it, in, SourceBatch)
	if err != nil {
		return err
	}
	if err := post(ctx, b.tx, b.actor, &c, set, bulkReason); err != nil {
		return err
	}
	if c.State != ClaimPosted {
		return fmt.Errorf("passbook: bulk deduction for claim %d ended %s: %s", c.ID, c.State, c.Reason)
	}
	if b.firstTx == 0 {
		b.firstTx = c.TxID
	}
	b.lastTx = c.TxID
	b.result.Posted++
	b.result.Deductions++
	b.result.Points += c.Points
	return nil
}
