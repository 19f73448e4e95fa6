package audit

import (
	"context"
	"strings"
	"time"

	"grassroots/store"
)

// Filter selects audit records for the viewer. OrgPaths limits records to organisations under
// those materialised paths; records without an organisation (logins) are shown only when
// AllOrgs is set.
type Filter struct {
	AllOrgs    bool
	OrgPaths   []string
	Actor      string
	Action     string // a prefix: "person." matches every person action
	EntityType string
	EntityID   int64
	Since      time.Time
	Until      time.Time
	Before     int64 // cursor: only records with a smaller id
	Limit      int
}

// List returns matching records, newest first, and the cursor for the next page (0 at the end).
func List(ctx context.Context, db *store.DB, f Filter) ([]Record, int64, error) {
	var where []string
	var args []any
	if !f.AllOrgs {
		if len(f.OrgPaths) == 0 {
			return nil, 0, nil
		}
		var or []string
		for _, p := range f.OrgPaths {
			lo, hi := store.PathRange(p)
			or = append(or, "(o.path >= ? AND o.path < ?)")
			args = append(args, lo, hi)
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if f.Actor != "" {
		where, args = append(where, "a.actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		where, args = append(where, `a.action LIKE ? ESCAPE '\'`), append(args, store.LikePrefix(f.Action))
	}
	if f.EntityType != "" {
		where, args = append(where, "a.entity_type = ?"), append(args, f.EntityType)
	}
	if f.EntityID != 0 {
		where, args = append(where, "a.entity_id = ?"), append(args, f.EntityID)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "a.at >= ?"), append(args, store.FormatTime(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "a.at < ?"), append(args, store.FormatTime(f.Until))
	}
	if f.Before > 0 {
		where, args = append(where, "a.id < ?"), append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	q := `SELECT ` + recordColumns + ` FROM audit_log a`
	if !f.AllOrgs {
		q += ` JOIN orgs o ON o.id = a.org_id`
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY a.id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}
