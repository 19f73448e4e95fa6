package appraisal

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Negative-list hits and add/deduct entries are an append-only record: an entry is entered by
// one person and confirmed (or rejected) by another; it counts while confirmed and not
// reversed; a correction is a reversal entry, and an entry is reversed once.

// Entry states.
const (
	EntryPending   = "pending"   // awaiting review
	EntryConfirmed = "confirmed" // counts in results
	EntryRejected  = "rejected"
	EntryReversed  = "reversed" // confirmed, then reversed
	EntryReversal  = "reversal" // the correcting entry itself
)

// EntryInput records a negative-list hit or an add/deduct entry for a person in a cycle.
type EntryInput struct {
	CycleID    int64  `json:"cycle_id"`
	PersonID   int64  `json:"person_id"`
	ItemID     int64  `json:"item_id"`
	OccurredOn string `json:"occurred_on"`
	Evidence   string `json:"evidence"`
}

// Entry is one record of the append-only list record.
type Entry struct {
	ID          int64       `json:"id"`
	CycleID     int64       `json:"cycle_id"`
	OrgID       int64       `json:"org_id"`
	PersonID    int64       `json:"person_id"`
	PersonName  string      `json:"person_name"`
	ItemID      int64       `json:"item_id"`
	ItemName    string      `json:"item_name"`
	List        string      `json:"list"`
	Consequence Consequence `json:"consequence"`
	Points      int64       `json:"points"`
	OccurredOn  string      `json:"occurred_on"`
	Evidence    string      `json:"evidence"`
	ReversesID  int64       `json:"reverses_id,omitempty"`
	ReversedBy  int64       `json:"reversed_by,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	EnteredBy   string      `json:"entered_by"`
	CreatedAt   time.Time   `json:"created_at"`
	State       string      `json:"state"`
	ReviewedBy  string      `json:"reviewed_by,omitempty"`
	ReviewNote  string      `json:"review_note,omitempty"`
}

// ReviewInput is a reviewer's note; rejecting needs one.
type ReviewInput struct {
	Note string `json:"note"`
}

// ReverseInput is why an entry is reversed.
type ReverseInput struct {
	Reason string `json:"reason"`
}

// AddEntry records a hit or an entry, pending review by someone else.
func (s *Service) AddEntry(ctx context.Context, p *auth.Principal, in EntryInput) (Entry, error) {
	var out Entry
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermEnter, in.CycleID)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepHR, "登记负面清单与加扣分"); err != nil {
			return err
		}
		_, name, err := appraiseeOf(ctx, tx, c.id, in.PersonID, "person_id")
		if err != nil {
			return err
		}
		if p.PersonID != 0 && p.PersonID == in.PersonID {
			return errs.Forbidden("不能为本人登记负面清单或加扣分")
		}
		var it ListItem
		var archived bool
		ids := ancestorIDs(c.path)
		err = tx.QueryRow(ctx, `SELECT id, list, name, consequence, points, archived_at IS NOT NULL FROM ap_list_items
			WHERE id = ? AND org_id IN (`+placeholders(len(ids))+`)`, append([]any{in.ItemID}, int64Args(ids)...)...).
			Scan(&it.ID, &it.List, &it.Name, &it.Consequence, &it.Points, &archived)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return errs.Invalid("item_id", "清单事项不存在或不适用于“%s”", c.orgName)
		case err != nil:
			return err
		case archived:
			return errs.Invalid("item_id", "清单事项“%s”已停用", it.Name)
		}
		on, err := validDate("occurred_on", "发生日期", in.OccurredOn)
		if err != nil {
			return err
		}
		if next := (Quarter{c.quarter.Year + c.quarter.Q/4, c.quarter.Q%4 + 1}); on < c.quarter.Start() || on >= next.Start() {
			return errs.Invalid("occurred_on", "发生日期应在%s内", c.quarter.Label())
		}
		evidence, err := text("evidence", "事实依据", in.Evidence, 500, true)
		if err != nil {
			return err
		}
		now := tx.Now()
		id, err := tx.Insert(ctx, `INSERT INTO ap_entries (cycle_id, org_id, person_id, item_id, list, consequence, points,
				occurred_on, evidence, entered_by_id, entered_by_person, entered_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.id, c.orgID, in.PersonID, it.ID, it.List, string(it.Consequence), it.Points,
			on, evidence, nullID(p.UserID), nullID(p.PersonID), p.Username, store.FormatTime(now))
		if err != nil {
			return err
		}
		out = Entry{ID: id, CycleID: c.id, OrgID: c.orgID, PersonID: in.PersonID, PersonName: name, ItemID: it.ID, ItemName: it.Name,
			List: it.List, Consequence: it.Consequence, Points: it.Points, OccurredOn: on, Evidence: evidence,
			EnteredBy: p.Username, CreatedAt: now, State: EntryPending}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.entry_add", EntityType: "appraisal_entry",
			EntityID: id, OrgID: c.orgID, Summary: map[string]any{"cycle_id": c.id, "person_id": in.PersonID, "item": it.Name,
				"list": it.List, "points": it.Points, "consequence": it.Consequence, "occurred_on": on}})
	})
	return out, err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// ConfirmEntry confirms an entry so that it counts; the reviewer may not be the person who
// entered it nor the person it concerns.
func (s *Service) ConfirmEntry(ctx context.Context, p *auth.Principal, id int64, in ReviewInput) (Entry, error) {
	return s.review(ctx, p, id, EntryConfirmed, in.Note)
}

// RejectEntry rejects an entry with a reason; it never counts.
func (s *Service) RejectEntry(ctx context.Context, p *auth.Principal, id int64, in ReviewInput) (Entry, error) {
	return s.review(ctx, p, id, EntryRejected, in.Note)
}

func (s *Service) review(ctx context.Context, p *auth.Principal, id int64, decision, note string) (Entry, error) {
	var out Entry
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		e, enteredByID, enteredByPerson, err := loadEntry(ctx, tx, p, PermReview, id)
		if err != nil {
			return err
		}
		switch {
		case e.State == EntryReversal:
			return errs.Conflict("冲正记录无需复核")
		case e.State != EntryPending:
			return errs.Conflict("该记录已经复核")
		case enteredByID == p.UserID && !p.IsSystem(), enteredByPerson != 0 && enteredByPerson == p.PersonID:
			return errs.Forbidden("登记与复核须由不同的人完成")
		case p.PersonID != 0 && p.PersonID == e.PersonID:
			return errs.Forbidden("不能复核本人的记录")
		}
		if note, err = text("note", "复核意见", note, 500, decision == EntryRejected); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ap_entry_reviews (entry_id, decision, note, reviewer_id, reviewer, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, e.ID, decision, note, nullID(p.UserID), p.Username, store.FormatTime(tx.Now())); err != nil {
			if tx.DB().Dialect.IsUniqueViolation(err) {
				return errs.Conflict("该记录已经复核")
			}
			return err
		}
		e.State, e.ReviewedBy, e.ReviewNote = decision, p.Username, note
		out = e
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.entry_" + decision, EntityType: "appraisal_entry",
			EntityID: e.ID, OrgID: e.OrgID, Summary: map[string]any{"person_id": e.PersonID, "item": e.ItemName, "note": note}})
	})
	return out, err
}

// ReverseEntry corrects a confirmed entry by a reversal entry: from then on it no longer
// counts. An entry is reversed once.
func (s *Service) ReverseEntry(ctx context.Context, p *auth.Principal, id int64, in ReverseInput) (Entry, error) {
	var out Entry
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		e, _, _, err := loadEntry(ctx, tx, p, PermReview, id)
		if err != nil {
			return err
		}
		switch e.State {
		case EntryReversal:
			return errs.Conflict("冲正记录不能再冲正")
		case EntryReversed:
			return errs.Conflict("该记录已经冲正")
		case EntryPending, EntryRejected:
			return errs.Conflict("只有已确认的记录需要冲正；未复核的记录请直接驳回")
		}
		reason, err := text("reason", "冲正原因", in.Reason, 500, true)
		if err != nil {
			return err
		}
		now := tx.Now()
		rid, err := tx.Insert(ctx, `INSERT INTO ap_entries (cycle_id, org_id, person_id, item_id, list, consequence, points,
				occurred_on, evidence, reverses_id, reason, entered_by_id, entered_by_person, entered_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.CycleID, e.OrgID, e.PersonID, e.ItemID, e.List, string(e.Consequence),
			-e.Points, e.OccurredOn, e.Evidence, e.ID, reason, nullID(p.UserID), nullID(p.PersonID), p.Username, store.FormatTime(now))
		if err != nil {
			if tx.DB().Dialect.IsUniqueViolation(err) {
				return errs.Conflict("该记录已经冲正")
			}
			return err
		}
		out = Entry{ID: rid, CycleID: e.CycleID, OrgID: e.OrgID, PersonID: e.PersonID, PersonName: e.PersonName, ItemID: e.ItemID,
			ItemName: e.ItemName, List: e.List, Consequence: e.Consequence, Points: -e.Points, OccurredOn: e.OccurredOn,
			Evidence: e.Evidence, ReversesID: e.ID, Reason: reason, EnteredBy: p.Username, CreatedAt: now, State: EntryReversal}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.entry_reverse", EntityType: "appraisal_entry",
			EntityID: rid, OrgID: e.OrgID, Summary: map[string]any{"reverses_id": e.ID, "person_id": e.PersonID, "item": e.ItemName, "reason": reason}})
	})
	return out, err
}

// entryColumns reads an entry with its review and reversal; the caller's scope is applied by
// the query that uses it.
const entryColumns = `SELECT e.id, e.cycle_id, e.org_id, e.person_id, pe.name, e.item_id, i.name, e.list, e.consequence, e.points,
		e.occurred_on, e.evidence, COALESCE(e.reverses_id, 0), e.reason, e.entered_by, e.created_at,
		COALESCE(r.decision, ''), COALESCE(r.reviewer, ''), COALESCE(r.note, ''), COALESCE(x.id, 0),
		COALESCE(e.entered_by_id, 0), COALESCE(e.entered_by_person, 0)
	FROM ap_entries e
	JOIN orgs o ON o.id = e.org_id
	JOIN people pe ON pe.id = e.person_id
	JOIN ap_list_items i ON i.id = e.item_id
	LEFT JOIN ap_entry_reviews r ON r.entry_id = e.id
	LEFT JOIN ap_entries x ON x.reverses_id = e.id`

func scanEntry(row interface{ Scan(...any) error }) (Entry, int64, int64, error) {
	var e Entry
	var created, decision string
	var enteredByID, enteredByPerson int64
	err := row.Scan(&e.ID, &e.CycleID, &e.OrgID, &e.PersonID, &e.PersonName, &e.ItemID, &e.ItemName, &e.List, &e.Consequence,
		&e.Points, &e.OccurredOn, &e.Evidence, &e.ReversesID, &e.Reason, &e.EnteredBy, &created,
		&decision, &e.ReviewedBy, &e.ReviewNote, &e.ReversedBy, &enteredByID, &enteredByPerson)
	if err != nil {
		return e, 0, 0, err
	}
	if e.CreatedAt, err = store.ParseTime(created); err != nil {
		return e, 0, 0, err
	}
	switch {
	case e.ReversesID != 0:
		e.State = EntryReversal
	case e.ReversedBy != 0:
		e.State = EntryReversed
	case decision != "":
		e.State = decision
	default:
		e.State = EntryPending
	}
	return e, enteredByID, enteredByPerson, nil
}

// loadEntry loads an entry the caller may act on with perm, with who entered it.
func loadEntry(ctx context.Context, tx *store.Tx, p *auth.Principal, perm auth.Permission, id int64) (Entry, int64, int64, error) {
	cond, args := p.Scope(PermView).Where("o.path", "")
	e, by, byPerson, err := scanEntry(tx.QueryRow(ctx, entryColumns+` WHERE e.id = ? AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return e, 0, 0, errs.NotFound("记录不存在")
	}
	if err != nil {
		return e, 0, 0, err
	}
	c, err := loadCycle(ctx, tx, p, perm, e.CycleID)
	if err != nil {
		return e, 0, 0, err
	}
	if perm != PermView {
		if err := c.open(ctx, tx, StepHR, "更改负面清单与加扣分记录"); err != nil {
			return e, 0, 0, err
		}
	}
	return e, by, byPerson, nil
}

// EntryFilter narrows a cycle's entries.
type EntryFilter struct {
	CycleID  int64
	PersonID int64
}

// ListEntries lists a cycle's entries, oldest first, reversals next to what they reverse.
func (s *Service) ListEntries(ctx context.Context, p *auth.Principal, f EntryFilter) ([]Entry, error) {
	var out []Entry
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermView, f.CycleID)
		if err != nil {
			return err
		}
		cond, args := p.Scope(PermView).Where("o.path", "")
		cond += " AND e.cycle_id = ?"
		args = append(args, c.id)
		if f.PersonID != 0 {
			cond += " AND e.person_id = ?"
			args = append(args, f.PersonID)
		}
		rows, err := tx.Query(ctx, entryColumns+` WHERE `+cond+` ORDER BY COALESCE(e.reverses_id, e.id), e.id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, _, _, err := scanEntry(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// countingEntries are a cycle's entries that count: confirmed and not reversed, by person.
func countingEntries(ctx context.Context, q querier, cycleID int64) (map[int64][]Adjustment, error) {
	rows, err := q.Query(ctx, `SELECT e.id, e.person_id, e.list, e.consequence, e.points, i.name
		FROM ap_entries e
		JOIN ap_entry_reviews r ON r.entry_id = e.id AND r.decision = 'confirmed'
		JOIN ap_list_items i ON i.id = e.item_id
		WHERE e.cycle_id = ? AND e.reverses_id IS NULL
		AND NOT EXISTS (SELECT 1 FROM ap_entries x WHERE x.reverses_id = e.id)
		ORDER BY e.id`, cycleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]Adjustment{}
	for rows.Next() {
		var a Adjustment
		var person int64
		var list string
		if err := rows.Scan(&a.EntryID, &person, &list, &a.Consequence, &a.Points, &a.Label); err != nil {
			return nil, err
		}
		a.Negative = list == ListNegative
		out[person] = append(out[person], a)
	}
	return out, rows.Err()
}
