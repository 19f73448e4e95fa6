package passbook

import (
	"context"
	"database/sql"
	"fmt"

	"grassroots/store"
)

// Discrepancy is one thing the ledger check found wrong.
type Discrepancy struct {
	What string
}

func (d Discrepancy) String() string { return d.What }

// maxReported bounds the list; past it the ledger is broken beyond reading one by one.
const maxReported = 100

// Verify recomputes the ledger from its entries inside one snapshot: every transaction balances
// per asset, every passbook account's balance equals the sum of its entries and each entry's
// running balance follows from the one before, no deposit is negative, the deposit lots of a passbook
// add up to its deposit, and the all-time ranking total equals the honour balance. It returns
// the number of entries checked and what is wrong (nothing, when the ledger is sound).
func Verify(ctx context.Context, db *store.DB) (int64, []Discrepancy, error) {
	var entries int64
	var found []Discrepancy
	report := func(format string, args ...any) {
		if len(found) < maxReported {
			found = append(found, Discrepancy{fmt.Sprintf(format, args...)})
		}
	}
	err := db.Read(ctx, func(tx *store.Tx) error {
		checks := []struct {
			query  string
			format string
		}{
			{`SELECT tx_id, asset, SUM(amount) FROM pb_entries GROUP BY tx_id, asset HAVING SUM(amount) <> 0`,
				"交易 %v 的 %v 分录合计为 %v，借贷不平"},
			{`SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0) FROM pb_accounts a LEFT JOIN pb_entries e ON e.account_id = a.id
				WHERE a.passbook_id IS NOT NULL
				GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(e.amount), 0)`,
				"账户 %v 的余额为 %v，分录合计为 %v"},
			{`SELECT id, passbook_id, balance FROM pb_accounts WHERE kind = 'deposit' AND balance < 0`,
				"存款账户 %v（存折 %v）余额为负：%v"},
			{`SELECT a.passbook_id, a.balance, COALESCE(SUM(l.remaining), 0) FROM pb_accounts a
				LEFT JOIN pb_deposit_lots l ON l.passbook_id = a.passbook_id
				WHERE a.kind = 'deposit' GROUP BY a.passbook_id, a.balance HAVING a.balance <> COALESCE(SUM(l.remaining), 0)`,
				"存折 %v 的存款为 %v，存款批次余额合计为 %v"},
			{`SELECT a.passbook_id, a.balance, COALESCE(t.points, 0) FROM pb_accounts a
				LEFT JOIN pb_points_totals t ON t.passbook_id = a.passbook_id AND t.period = 'all'
				WHERE a.kind = 'honor' AND a.balance <> COALESCE(t.points, 0)`,
				"存折 %v 的荣誉积分为 %v，排名累计为 %v"},
		}
		for _, c := range checks {
			if err := eachRow(ctx, tx, c.query, func(v [3]any) { report(c.format, v[0], v[1], v[2]) }); err != nil {
				return err
			}
		}
		var err error
		entries, err = walkRunningBalances(ctx, tx, report)
		return err
	})
	return entries, found, err
}

func eachRow(ctx context.Context, tx *store.Tx, query string, fn func([3]any)) error {
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v [3]any
		if err := rows.Scan(&v[0], &v[1], &v[2]); err != nil {
			return err
		}
		for i, x := range v {
			if b, ok := x.([]byte); ok {
				v[i] = string(b)
			}
		}
		fn(v)
	}
	return rows.Err()
}

// walkRunningBalances streams the entries of passbook accounts in account order and checks
// each balance_after; community accounts keep none.
func walkRunningBalances(ctx context.Context, tx *store.Tx, report func(string, ...any)) (int64, error) {
	rows, err := tx.Query(ctx, `SELECT e.id, e.account_id, e.amount, e.balance_after FROM pb_entries e
		JOIN pb_accounts a ON a.id = e.account_id WHERE a.passbook_id IS NOT NULL ORDER BY e.account_id, e.id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n, account, running int64 = 0, -1, 0
	for rows.Next() {
		var id, acc, amount int64
		var after sql.NullInt64
		if err := rows.Scan(&id, &acc, &amount, &after); err != nil {
			return n, err
		}
		if acc != account {
			account, running = acc, 0
		}
		running += amount
		if !after.Valid || after.Int64 != running {
			report("分录 %d（账户 %d）记录的余额为 %v，按分录累计应为 %d", id, acc, after.Int64, running)
			running = after.Int64
		}
		n++
	}
	return n, rows.Err()
}
