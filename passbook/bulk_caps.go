package passbook

import (
	"context"
	"strings"
)

// capKey is what one passbook has of one item in one period: a day (2026-03-08), a month
// (2026-03) or a year (2026).
type capKey struct {
	passbook, item int64
	period         string
}

// capPeriodsOf are the day, month and year of a date, in the order of an item's caps.
func capPeriodsOf(date string) [3]string { return [3]string{date, date[:7], date[:4]} }

// checkCaps checks the rows of capped items that are otherwise good, in posting order, against what each passbook
// already has posted of the item and what the file's earlier rows add, as posting one by one
// would. It works through the passbooks a few hundred at a time, so the usage it holds stays
// small however long the file is.
func (b *bulkPosting) checkCaps(ctx context.Context) error {
	first, last, ok := b.dateRange()
	if !ok {
		return nil
	}
	for start := 0; start < len(b.order); {
		end, ids := b.nextPassbooks(start)
		used, err := postedUsage(ctx, b.tx, ids, first[:4]+"-01-01", last[:4]+"-12-31")
		if err != nil {
			return err
		}
		for _, i := range b.order[start:end] {
			row := &b.f.rows[i]
			if _, bad := b.problems[int(row.line)]; bad {
				continue
			}
			book := b.books[row.key].Passbook
			it := b.items[itemAt{book.OrgID, row.code}]
			caps := [3]int64{it.CapDay, it.CapMonth, it.CapYear}
			if caps == [3]int64{} {
				continue
			}
			points := it.Points * row.quantity
			var keys [3]capKey
			var posted [3]int64
			for j, period := range capPeriodsOf(b.f.dates[row.date]) {
				keys[j] = capKey{book.ID, it.ID, period}
				posted[j] = used[keys[j]]
			}
			if why := overCap(points, caps, posted); why != "" {
				b.problem(row.line, why)
				continue
			}
			for _, k := range keys {
				used[k] += abs(points)
			}
		}
		start = end
	}
	return nil
}

// dateRange is the first and last work date of the good rows, if there are any.
func (b *bulkPosting) dateRange() (first, last string, found bool) {
	for _, row := range b.f.rows {
		if _, bad := b.problems[int(row.line)]; bad {
			continue
		}
		date := b.f.dates[row.date]
		if !found || date < first {
			first = date
		}
		if !found || date > last {
			last = date
		}
		found = true
	}
	return first, last, found
}

// nextPassbooks is where the run of up to findChunk passbooks that begins at start in posting
// order ends, and their ids.
func (b *bulkPosting) nextPassbooks(start int) (int, []int64) {
	var ids []int64
	end := start
	for ; end < len(b.order); end++ {
		id := b.books[b.f.rows[b.order[end]].key].ID
		if len(ids) == 0 || ids[len(ids)-1] != id {
			if len(ids) == findChunk {
				break
			}
			ids = append(ids, id)
		}
	}
	return end, ids
}

// postedUsage sums the posted claims of the passbooks between two dates by item and by day,
// month and year; deductions count by their size.
func postedUsage(ctx context.Context, q querier, passbooks []int64, from, to string) (map[capKey]int64, error) {
	args := []any{ClaimPosted, from, to}
	for _, id := range passbooks {
		args = append(args, id)
	}
	rows, err := q.Query(ctx, `SELECT c.passbook_id, v.item_id, c.work_date, SUM(ABS(c.points))
		FROM pb_claims c JOIN pb_item_versions v ON v.id = c.item_version_id
		WHERE c.state = ? AND c.work_date >= ? AND c.work_date <= ?
			AND c.passbook_id IN (?`+strings.Repeat(", ?", len(passbooks)-1)+`)
		GROUP BY c.passbook_id, v.item_id, c.work_date`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	used := map[capKey]int64{}
	for rows.Next() {
		var passbook, item, points int64
		var date string
		if err := rows.Scan(&passbook, &item, &date, &points); err != nil {
			return nil, err
		}
		for _, period := range capPeriodsOf(date) {
			used[capKey{passbook, item, period}] += points
		}
	}
	return used, rows.Err()
}
