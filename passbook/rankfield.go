package passbook

import (
	"context"

	"grassroots/store"
)

// rankField is a ranking as one caller may see it: the period's totals of the active passbooks
// whose community lies in a subtree, the caller's scope as SQL over o.path and t.org_id, and
// whether rows are masked.
type rankField struct {
	org    orgRef
	period string
	masked bool
	cond   string
	args   []any
}

// How a page is read. SQLite has no statistics to plan by unless ANALYZE has run, so the
// queries state their plan: SQLite takes the left table of a CROSS JOIN as the outer loop
// (PostgreSQL plans a CROSS JOIN with its conditions in WHERE like any join, by statistics).
// A subtree of a few organisations (a community, a township) is read whole through its
// organisations, index pb_points_totals_org, and sorted. A larger one is found by walking the
// period's totals from the highest points down, index pb_points_totals_top, looking at up to
// walkWindow rows for every row of the page; when the subtree is too small a share of everyone
// ranked for the walk to fill the page, it is read whole after all. Either way only indexes
// are read until the page's own rows are known.
const (
	fewOrgs    = 50
	walkWindow = 50
)

// activeOnly leaves out the subtree's frozen and closed passbooks as one set, read once from
// the (org_id, state) index. The states are listed rather than written as <> 'active' so that
// the index is sought rather than scanned. Its arguments are the subtree's path range.
const activeOnly = ` AND t.passbook_id NOT IN (SELECT x.id FROM orgs xo CROSS JOIN pb_passbooks x
	WHERE xo.path >= ? AND xo.path < ? AND x.org_id = xo.id AND x.state IN ('frozen', 'closed')) AND `

// from is the FROM and WHERE of the whole field read through its organisations (tables t and
// o), with its arguments.
func (f rankField) from() (string, []any) {
	lo, hi := store.PathRange(f.org.path)
	return ` FROM orgs o CROSS JOIN pb_points_totals t
		WHERE o.path >= ? AND o.path < ? AND t.period = ? AND t.org_id = o.id AND t.points > 0` + activeOnly + f.cond,
		append([]any{lo, hi, f.period, lo, hi}, f.args...)
}

// walk is the FROM and WHERE of the field's rows among the period's next window rows after a
// key (nil: from the top).
func (f rankField) walk(after *rankKey, window int) (string, []any) {
	next, args := `SELECT passbook_id, org_id, points FROM pb_points_totals WHERE period = ? AND points > 0`, []any{f.period}
	if after != nil {
		next, args = next+` AND (points, passbook_id) < (?, ?)`, append(args, after.points, after.id)
	}
	lo, hi := store.PathRange(f.org.path)
	return ` FROM (` + next + ` ORDER BY points DESC, passbook_id DESC LIMIT ?) t CROSS JOIN orgs o
		WHERE o.id = t.org_id AND o.path >= ? AND o.path < ?` + activeOnly + f.cond,
		append(append(args, window, lo, hi, lo, hi), f.args...)
}

// fewOrgs reports whether the subtree has fewer than fewOrgs organisations.
func (f rankField) fewOrgs(ctx context.Context, q querier) (bool, error) {
	lo, hi := store.PathRange(f.org.path)
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM orgs WHERE path >= ? AND path < ? LIMIT ?) sub`, lo, hi, fewOrgs).Scan(&n)
	return n < fewOrgs, err
}

// top reads the next n rows of the field after a key (nil: from the top), with names.
func (f rankField) top(ctx context.Context, q querier, after *rankKey, n int) ([]RankRow, []int64, error) {
	few, err := f.fewOrgs(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	if !few {
		from, args := f.walk(after, walkWindow*n)
		rows, people, err := f.rows(ctx, q, from, args, n)
		if err != nil || len(rows) == n {
			return rows, people, err
		}
	}
	from, args := f.from()
	if after != nil {
		from, args = from+` AND (t.points, t.passbook_id) < (?, ?)`, append(args, after.points, after.id)
	}
	return f.rows(ctx, q, from, args, n)
}

// rows lists up to n rows of a query over the field (from, as from or walk give it) in ranking
// order: points descending, then passbook id descending. Ranks are not filled in; the person of
// each row comes back beside it. Names are looked up for these rows only.
func (f rankField) rows(ctx context.Context, q querier, from string, args []any, n int) ([]RankRow, []int64, error) {
	rows, err := q.Query(ctx, `SELECT r.passbook_id, r.points, pb.person_id, pe.name, pb.number, o.id, o.name
		FROM (SELECT t.passbook_id, t.points`+from+` ORDER BY t.points DESC, t.passbook_id DESC LIMIT ?) r
		CROSS JOIN pb_passbooks pb CROSS JOIN orgs o CROSS JOIN people pe
		WHERE pb.id = r.passbook_id AND o.id = pb.org_id AND pe.id = pb.person_id
		ORDER BY r.points DESC, r.passbook_id DESC`, append(args, n)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []RankRow
	var people []int64
	for rows.Next() {
		var r RankRow
		var person int64
		if err := rows.Scan(&r.PassbookID, &r.Points, &person, &r.Name, &r.Number, &r.OrgID, &r.OrgName); err != nil {
			return nil, nil, err
		}
		out = append(out, r)
		people = append(people, person)
	}
	return out, people, rows.Err()
}

// above counts the field ahead of a score: the rows with more points, and the rows with the
// same points listed before passbook id.
func (f rankField) above(ctx context.Context, q querier, points, id int64) (higher, tiedBefore int64, err error) {
	from, args := f.from()
	args = append(append([]any{points, points, id}, args...), points)
	err = q.QueryRow(ctx, `SELECT COUNT(CASE WHEN t.points > ? THEN 1 END), COUNT(CASE WHEN t.points = ? AND t.passbook_id > ? THEN 1 END)`+
		from+` AND t.points >= ?`, args...).Scan(&higher, &tiedBefore)
	return higher, tiedBefore, err
}

// count is how many passbooks the field ranks.
func (f rankField) count(ctx context.Context, q querier) (int64, error) {
	from, args := f.from()
	var n int64
	err := q.QueryRow(ctx, `SELECT COUNT(*)`+from, args...).Scan(&n)
	return n, err
}

// nthPoints is the n-th highest score of the field (n ≥ 1 and at most the field's size).
func (f rankField) nthPoints(ctx context.Context, q querier, n int64) (int64, error) {
	from, args := f.from()
	var points int64
	err := q.QueryRow(ctx, `SELECT t.points`+from+` ORDER BY t.points DESC LIMIT 1 OFFSET ?`, append(args, n-1)...).Scan(&points)
	return points, err
}
