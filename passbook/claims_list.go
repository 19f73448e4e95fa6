package passbook

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// GetClaim returns a claim the caller may see, with its history, its photos' ids and, while it
// is pending, the cap it may exceed. Who objected is shown only to staff: a member reading
// their own claim sees that there was an objection and why, not which neighbour raised it.
func (s *Service) GetClaim(ctx context.Context, p *auth.Principal, id int64) (Claim, error) {
	var c Claim
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		cond, args := claimScope(p, PermView)
		var err error
		if c, err = loadClaim(ctx, tx, id, cond, args); err != nil {
			return err
		}
		if err := fillWarning(ctx, tx, &c); err != nil {
			return err
		}
		if c.History, err = claimHistory(ctx, tx, id); err != nil {
			return err
		}
		if !p.Scope(PermView).Covers(c.orgPath) {
			hideObjectors(c.History)
		}
		c.Evidence, err = evidenceIDs(ctx, tx, id)
		return err
	})
	return c, err
}

// hideObjectors blanks the names on the objections of a history.
func hideObjectors(history []ClaimEvent) {
	for i, e := range history {
		if e.From == ClaimPublicized && e.To == ClaimSubmitted {
			history[i].Actor = "群众异议"
		}
	}
}

func claimHistory(ctx context.Context, q querier, id int64) ([]ClaimEvent, error) {
	rows, err := q.Query(ctx, `SELECT at, actor, from_state, to_state, reason FROM pb_claim_events WHERE claim_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClaimEvent
	for rows.Next() {
		var e ClaimEvent
		if err := rows.Scan(storedTime(&e.At), &e.Actor, &e.From, &e.To, &e.Reason); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func evidenceIDs(ctx context.Context, q querier, claimID int64) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT id FROM pb_claim_evidence WHERE claim_id = ? ORDER BY id`, claimID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Evidence returns a photo of a claim the caller may see; to anyone else it does not exist.
func (s *Service) Evidence(ctx context.Context, p *auth.Principal, claimID, photoID int64) (Photo, error) {
	var ph Photo
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		cond, args := claimScope(p, PermView)
		if _, err := loadClaim(ctx, tx, claimID, cond, args); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT content_type, data FROM pb_claim_evidence WHERE id = ? AND claim_id = ?`,
			photoID, claimID).Scan(&ph.ContentType, &ph.Data)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("照片不存在")
		}
		return err
	})
	return ph, err
}

// ClaimFilter selects claims for a list.
type ClaimFilter struct {
	OrgID      int64  // subtree; 0 = the caller's whole scope
	PassbookID int64  //
	State      string // one of ClaimStates, or "" for all
	Query      string // the member's name or passbook number contains
	From, To   string // work dates, inclusive
	// Queue lists the claims awaiting the caller's review, oldest first: submitted or
	// reviewed, in their review scope, neither their own nor one they reviewed already.
	Queue  bool
	Limit  int
	Cursor int64
}

// ListClaims lists claims the caller may see, newest first (the review queue oldest first),
// with the cap each pending claim may exceed.
func (s *Service) ListClaims(ctx context.Context, p *auth.Principal, f ClaimFilter) ([]Claim, int64, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = claimPageLimit
	}
	var out []Claim
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		where, args, err := claimWhere(ctx, tx, p, f)
		if err != nil {
			return err
		}
		order, after := "DESC", "<"
		if f.Queue {
			order, after = "ASC", ">"
		}
		if f.Cursor > 0 {
			where, args = append(where, "c.id "+after+" ?"), append(args, f.Cursor)
		}
		rows, err := tx.Query(ctx, `SELECT `+claimColumns+claimFrom+` WHERE `+strings.Join(where, " AND ")+
			` ORDER BY c.id `+order+` LIMIT ?`, append(args, limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanClaim(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for i := range out[:min(len(out), limit)] {
			if err := fillWarning(ctx, tx, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// WaitingForOthers counts the claims in the caller's review scope that wait for someone else's
// review: the caller's own, those they filed for a member and those they reviewed first. The
// review queue leaves them out and says how many there are, so that a secretary who enters a
// community's claims does not read an empty queue as nothing pending.
func (s *Service) WaitingForOthers(ctx context.Context, p *auth.Principal) (int64, error) {
	if p.UserID == 0 && p.PersonID == 0 {
		return 0, nil
	}
	cond, args := claimScope(p, PermReview)
	var n int64
	err := s.db.QueryRow(ctx, `SELECT COUNT(*)`+claimFrom+` WHERE `+cond+` AND c.state IN (?, ?)
		AND (pb.person_id = ? OR COALESCE(c.submitted_by, 0) = ? OR COALESCE(c.reviewed_by, 0) = ?)`,
		append(args, ClaimSubmitted, ClaimReviewed, p.PersonID, p.UserID, p.UserID)...).Scan(&n)
	return n, err
}

// claimWhere turns a filter into SQL conditions inside the caller's scope.
func claimWhere(ctx context.Context, tx *store.Tx, p *auth.Principal, f ClaimFilter) ([]string, []any, error) {
	perm := PermView
	if f.Queue {
		perm = PermReview
	}
	cond, args := claimScope(p, perm)
	where := []string{cond}
	add := func(c string, a ...any) { where, args = append(where, c), append(args, a...) }
	if f.OrgID != 0 {
		o, err := visibleOrg(ctx, tx, p, perm, f.OrgID)
		if err != nil {
			return nil, nil, err
		}
		lo, hi := store.PathRange(o.path)
		add("o.path >= ? AND o.path < ?", lo, hi)
	}
	if f.PassbookID != 0 {
		// A passbook out of reach is not found, as the passbook itself is.
		if _, err := loadPassbook(ctx, tx, p, perm, f.PassbookID); err != nil {
			return nil, nil, err
		}
		add("c.passbook_id = ?", f.PassbookID)
	}
	switch {
	case f.State == "":
	case validState(f.State):
		add("c.state = ?", f.State)
	default:
		return nil, nil, errs.Invalid("state", "申报状态无效")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		add(`(pe.name LIKE ? ESCAPE '\' OR pb.number LIKE ? ESCAPE '\')`, store.LikeContains(q), store.LikeContains(q))
	}
	for _, d := range []struct{ field, cmp, v string }{{"from", ">=", f.From}, {"to", "<=", f.To}} {
		switch {
		case d.v == "":
		case validDate(d.v):
			add("c.work_date "+d.cmp+" ?", d.v)
		default:
			return nil, nil, errs.Invalid(d.field, "日期格式应为 YYYY-MM-DD")
		}
	}
	if f.Queue {
		add("c.state IN (?, ?)", ClaimSubmitted, ClaimReviewed)
		if p.PersonID != 0 {
			add("pb.person_id <> ?", p.PersonID)
		}
		if p.UserID != 0 {
			add("COALESCE(c.submitted_by, 0) <> ? AND COALESCE(c.reviewed_by, 0) <> ?", p.UserID, p.UserID)
		}
	}
	return where, args, nil
}

func validState(s string) bool { return slices.Contains(ClaimStates, s) }
