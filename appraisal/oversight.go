package appraisal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// District oversight: the district sees every unit's quarter — the step it is at, the steps
// past their deadline, pools over the 好 quota, filings missing after their deadline, uniform
// scoring — and issues rectification orders (督促整改) that the unit answers and the district
// closes: open → answered → closed.

// kindGovUnit is the org package's kind of a government unit: the units a district expects a
// quarter of appraisal from.
const kindGovUnit = "gov_unit"

// UnitOversight is one unit's quarter as the district sees it.
type UnitOversight struct {
	OrgID           int64    `json:"org_id"`
	OrgName         string   `json:"org_name"`
	CycleID         *int64   `json:"cycle_id"`
	Step            int      `json:"step"` // 0: no cycle opened
	StepName        string   `json:"step_name"`
	Overdue         []string `json:"overdue"`
	QuotaViolations []string `json:"quota_violations"`
	Filed           bool     `json:"filed"`
	MissingFiling   bool     `json:"missing_filing"` // not filed and the filing deadline has passed
	Uniform         []string `json:"uniform"`
	OpenOrders      int      `json:"open_orders"`
}

// Flagged reports whether the unit needs the district's attention.
func (u UnitOversight) Flagged() bool {
	return len(u.Overdue) > 0 || len(u.QuotaViolations) > 0 || u.MissingFiling || len(u.Uniform) > 0
}

// Oversight is a district's view of its units' quarter.
type Oversight struct {
	OrgID        int64           `json:"org_id"`
	OrgName      string          `json:"org_name"`
	Quarter      string          `json:"quarter"`
	QuarterLabel string          `json:"quarter_label"`
	Units        []UnitOversight `json:"units"`
	Orders       []Rectification `json:"orders"`
	FilingDue    string          `json:"filing_due"` // the filing deadline of a unit without a cycle
	Counts       map[string]int  `json:"counts"`     // units flagged, overdue, missing filings …
}

// Oversight lists the quarter of every government unit below an organisation (and of any
// other organisation below it that opened one).
func (s *Service) Oversight(ctx context.Context, p *auth.Principal, orgID int64, quarter string) (Oversight, error) {
	var out Oversight
	q, err := ParseQuarter(quarter)
	if err != nil {
		return out, err
	}
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermView, orgID)
		if err != nil {
			return err
		}
		out = Oversight{OrgID: o.id, OrgName: o.name, Quarter: q.String(), QuarterLabel: q.Label(), Units: []UnitOversight{},
			Counts: map[string]int{}}
		today := store.LocalDate(tx.Now())
		eff, err := resolvePolicy(ctx, tx, o, q.Start(), false)
		if err != nil {
			return err
		}
		out.FilingDue = q.End().AddDate(0, 0, int(eff.Policy.StepDays[StepCount-1])).Format(store.DateLayout)
		lo, hi := store.PathRange(o.path)
		cond, args := p.Scope(PermView).Where("u.path", "")
		rows, err := tx.Query(ctx, `SELECT u.id, u.name, c.id, COALESCE(c.step, 0), COALESCE(c.summary, ''),
				(SELECT COUNT(*) FROM ap_rectifications r WHERE r.org_id = u.id AND r.state <> 'closed')
			FROM orgs u LEFT JOIN ap_cycles c ON c.org_id = u.id AND c.quarter = ?
			WHERE u.path >= ? AND u.path < ? AND u.archived_at IS NULL AND (u.kind = ? OR c.id IS NOT NULL) AND `+cond+`
			ORDER BY u.path`, append([]any{q.String(), lo, hi, kindGovUnit}, args...)...)
		if err != nil {
			return err
		}
		type pending struct {
			u       UnitOversight
			summary string
		}
		var units []pending
		for rows.Next() {
			var u UnitOversight
			var cycle sql.NullInt64
			var summary string
			if err := rows.Scan(&u.OrgID, &u.OrgName, &cycle, &u.Step, &summary, &u.OpenOrders); err != nil {
				rows.Close()
				return err
			}
			if cycle.Valid {
				u.CycleID = &cycle.Int64
			}
			units = append(units, pending{u, summary})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, pu := range units {
			u := pu.u
			u.Overdue, u.QuotaViolations, u.Uniform = []string{}, []string{}, []string{}
			if u.CycleID == nil {
				u.StepName = "未开展"
				u.MissingFiling = today > out.FilingDue
			} else {
				u.StepName, u.Filed = StepName(u.Step), u.Step >= StepFiled
				pr, err := progress(ctx, tx, *u.CycleID, today)
				if err != nil {
					return err
				}
				for _, st := range pr.Steps {
					if st.Overdue {
						u.Overdue = append(u.Overdue, fmt.Sprintf("第%d步%s（期限%s）", st.Step, st.Name, st.Deadline))
					}
				}
				u.MissingFiling = !u.Filed && pr.Steps[StepCount-1].Deadline != "" && pr.Steps[StepCount-1].Deadline < today
				if pu.summary != "" {
					var sum Summary
					if err := json.Unmarshal([]byte(pu.summary), &sum); err != nil {
						return fmt.Errorf("appraisal: summary of cycle %d: %w", *u.CycleID, err)
					}
					for _, r := range sum.UniformRaters {
						u.Uniform = append(u.Uniform, fmt.Sprintf("%s %s 评分趋同（%d人相差不超过%s分）", r.Party.Label(), r.Rater, r.Rated, r.SpreadText()))
					}
					for _, ps := range sum.Pools {
						if ps.Uniform {
							u.Uniform = append(u.Uniform, fmt.Sprintf("%s得分趋同（极差%s分）", ps.Label, ps.SpreadText()))
						}
					}
					if u.QuotaViolations, err = quotaViolations(ctx, tx, *u.CycleID, sum.Policy); err != nil {
						return err
					}
				}
			}
			if u.Flagged() {
				out.Counts["flagged"]++
			}
			if len(u.Overdue) > 0 {
				out.Counts["overdue"]++
			}
			if u.MissingFiling {
				out.Counts["missing_filing"]++
			}
			if u.Filed {
				out.Counts["filed"]++
			}
			out.Units = append(out.Units, u)
		}
		out.Orders, err = rectifications(ctx, tx, p, o)
		return err
	})
	return out, err
}

// quotaViolations compares each pool's 好 as it stands (reviews included) with its quota.
func quotaViolations(ctx context.Context, q querier, cycleID int64, pol Policy) ([]string, error) {
	// A merged pool (pool_key shared by several small units) is counted whole.
	rows, err := q.Query(ctx, `SELECT MIN(pool), COUNT(*), COUNT(CASE WHEN grade = ? THEN 1 END) FROM ap_results
		WHERE pool_key IN (SELECT pool_key FROM ap_results WHERE cycle_id = ?) AND status <> ? GROUP BY pool_key ORDER BY MIN(pool)`,
		string(GradeGood), cycleID, string(StatusMissing))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var pool string
		var size, good int
		if err := rows.Scan(&pool, &size, &good); err != nil {
			return nil, err
		}
		if slots := pol.GoodSlots(size); good > slots {
			out = append(out, fmt.Sprintf("%s评定池“好”%d人，超出名额%d人", PoolLabel(pool), good, good-slots))
		}
	}
	return out, rows.Err()
}

// Rectification states.
const (
	RectOpen     = "open"
	RectAnswered = "answered"
	RectClosed   = "closed"
)

// Rectification is a 督促整改 order.
type Rectification struct {
	ID            int64      `json:"id"`
	OrgID         int64      `json:"org_id"`
	OrgName       string     `json:"org_name"`
	CycleID       *int64     `json:"cycle_id"`
	IssuerOrgID   int64      `json:"issuer_org_id"`
	IssuerOrgName string     `json:"issuer_org_name"`
	Issue         string     `json:"issue"`
	DueOn         string     `json:"due_on"`
	State         string     `json:"state"`
	Answer        string     `json:"answer"`
	AnsweredBy    string     `json:"answered_by"`
	AnsweredAt    *time.Time `json:"answered_at"`
	CloseNote     string     `json:"close_note"`
	ClosedBy      string     `json:"closed_by"`
	ClosedAt      *time.Time `json:"closed_at"`
	IssuedBy      string     `json:"issued_by"`
	CreatedAt     time.Time  `json:"created_at"`
}

// StateLabel is the order's state in Chinese.
func (r Rectification) StateLabel() string {
	switch r.State {
	case RectOpen:
		return "待整改"
	case RectAnswered:
		return "已答复，待销号"
	}
	return "已销号"
}

// RectificationInput is an order the district issues to a unit.
type RectificationInput struct {
	OrgID   int64  `json:"org_id"`
	CycleID int64  `json:"cycle_id"` // the quarter it is about, if any
	Issue   string `json:"issue"`
	DueOn   string `json:"due_on"`
}

// RectAnswerInput is the unit's answer.
type RectAnswerInput struct {
	Answer string `json:"answer"`
}

// RectCloseInput is the district's note on closing an order.
type RectCloseInput struct {
	Note string `json:"note"`
}

const rectColumns = `SELECT r.id, r.org_id, o.name, r.cycle_id, r.issuer_org_id, io.name, r.issue, r.due_on, r.state, r.answer,
		r.answered_by, r.answered_at, r.close_note, r.closed_by, r.closed_at, r.issued_by, r.created_at
	FROM ap_rectifications r JOIN orgs o ON o.id = r.org_id JOIN orgs io ON io.id = r.issuer_org_id`

func scanRect(row interface{ Scan(...any) error }) (Rectification, error) {
	var r Rectification
	var cycle sql.NullInt64
	var answered, closed sql.NullString
	var created string
	err := row.Scan(&r.ID, &r.OrgID, &r.OrgName, &cycle, &r.IssuerOrgID, &r.IssuerOrgName, &r.Issue, &r.DueOn, &r.State, &r.Answer,
		&r.AnsweredBy, &answered, &r.CloseNote, &r.ClosedBy, &closed, &r.IssuedBy, &created)
	if err != nil {
		return r, err
	}
	if cycle.Valid {
		r.CycleID = &cycle.Int64
	}
	if r.CreatedAt, err = store.ParseTime(created); err != nil {
		return r, err
	}
	for _, t := range []struct {
		s   sql.NullString
		dst **time.Time
	}{{answered, &r.AnsweredAt}, {closed, &r.ClosedAt}} {
		if t.s.Valid {
			v, err := store.ParseTime(t.s.String)
			if err != nil {
				return r, err
			}
			*t.dst = &v
		}
	}
	return r, nil
}

// rectifications lists the orders to an organisation and the units below it, in sight.
func rectifications(ctx context.Context, q querier, p *auth.Principal, o orgRef) ([]Rectification, error) {
	lo, hi := store.PathRange(o.path)
	cond, args := p.Scope(PermView).Where("o.path", "")
	rows, err := q.Query(ctx, rectColumns+` WHERE o.path >= ? AND o.path < ? AND `+cond+` ORDER BY r.state = 'closed', r.id DESC`,
		append([]any{lo, hi}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Rectification{}
	for rows.Next() {
		r, err := scanRect(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Rectifications lists the orders to an organisation and the units below it.
func (s *Service) Rectifications(ctx context.Context, p *auth.Principal, orgID int64) ([]Rectification, error) {
	var out []Rectification
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermView, orgID)
		if err != nil {
			return err
		}
		out, err = rectifications(ctx, tx, p, o)
		return err
	})
	return out, err
}

// IssueRectification issues an order to a unit, by the organisation above it.
func (s *Service) IssueRectification(ctx context.Context, p *auth.Principal, in RectificationInput) (Rectification, error) {
	var out Rectification
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := allowedOrg(ctx, tx, p, PermManage, in.OrgID, "督促整改")
		if err != nil {
			return err
		}
		var ps problems
		issue, err := text("issue", "整改事项", in.Issue, 1000, true)
		if err != nil {
			ps = append(ps, err)
		}
		due, err := validDate("due_on", "整改期限", in.DueOn)
		if err != nil {
			ps = append(ps, err)
		}
		if err := ps.err(); err != nil {
			return err
		}
		if due < store.LocalDate(tx.Now()) {
			return errs.Invalid("due_on", "整改期限不能早于今天")
		}
		ids := ancestorIDs(o.path)
		if len(ids) < 2 || !p.Scope(PermManage).Covers(parentPath(o.path)) {
			return errs.Forbidden("督促整改须由“%s”的上级组织下达", o.name)
		}
		var cycle any
		if in.CycleID != 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM ap_cycles WHERE id = ? AND org_id = ?`, in.CycleID, o.id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return errs.Invalid("cycle_id", "该考核周期不属于“%s”", o.name)
			}
			cycle = in.CycleID
		}
		issuer := ids[len(ids)-2]
		now := store.FormatTime(tx.Now())
		id, err := tx.Insert(ctx, `INSERT INTO ap_rectifications (org_id, cycle_id, issuer_org_id, issue, due_on, state, issued_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, o.id, cycle, issuer, issue, due, RectOpen, p.Username, now)
		if err != nil {
			return err
		}
		if out, err = scanRect(tx.QueryRow(ctx, rectColumns+` WHERE r.id = ?`, id)); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.rect_issue", EntityType: "appraisal_rectification",
			EntityID: id, OrgID: o.id, Summary: map[string]any{"issue": issue, "due_on": due, "cycle_id": in.CycleID}})
	})
	return out, err
}

// loadRect loads an order in the caller's sight; acting on it needs PermManage over its unit.
func loadRect(ctx context.Context, q querier, p *auth.Principal, id int64) (Rectification, string, error) {
	cond, args := sight(p, PermManage)
	var path string
	r, err := scanRect(q.QueryRow(ctx, rectColumns+` WHERE r.id = ? AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, "", errs.NotFound("整改单不存在")
	}
	if err != nil {
		return r, "", err
	}
	if err := q.QueryRow(ctx, `SELECT path FROM orgs WHERE id = ?`, r.OrgID).Scan(&path); err != nil {
		return r, "", err
	}
	if !p.Scope(PermManage).Covers(path) {
		return r, "", errs.Forbidden("无权处理“%s”的整改单", r.OrgName)
	}
	return r, path, nil
}

// AnswerRectification is the unit's answer to an open order.
func (s *Service) AnswerRectification(ctx context.Context, p *auth.Principal, id int64, in RectAnswerInput) (Rectification, error) {
	var out Rectification
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, _, err := loadRect(ctx, tx, p, id)
		if err != nil {
			return err
		}
		answer, err := text("answer", "整改情况", in.Answer, 2000, true)
		if err != nil {
			return err
		}
		if r.State != RectOpen {
			return errs.Conflict("整改单%s，不能再答复", r.StateLabel())
		}
		now := tx.Now()
		if _, err := tx.Exec(ctx, `UPDATE ap_rectifications SET state = ?, answer = ?, answered_by = ?, answered_at = ? WHERE id = ? AND state = ?`,
			RectAnswered, answer, p.Username, store.FormatTime(now), r.ID, RectOpen); err != nil {
			return err
		}
		r.State, r.Answer, r.AnsweredBy, r.AnsweredAt = RectAnswered, answer, p.Username, &now
		out = r
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.rect_answer", EntityType: "appraisal_rectification",
			EntityID: r.ID, OrgID: r.OrgID, Summary: map[string]any{"answer": answer}})
	})
	return out, err
}

// CloseRectification closes an answered order, by the organisation above the unit.
func (s *Service) CloseRectification(ctx context.Context, p *auth.Principal, id int64, in RectCloseInput) (Rectification, error) {
	var out Rectification
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, path, err := loadRect(ctx, tx, p, id)
		if err != nil {
			return err
		}
		note, err := text("note", "销号意见", in.Note, 1000, false)
		if err != nil {
			return err
		}
		if r.State != RectAnswered {
			return errs.Conflict("整改单%s，不能销号", r.StateLabel())
		}
		if !p.Scope(PermManage).Covers(parentPath(path)) {
			return errs.Forbidden("整改单须由下达整改的上级组织销号")
		}
		now := tx.Now()
		if _, err := tx.Exec(ctx, `UPDATE ap_rectifications SET state = ?, close_note = ?, closed_by = ?, closed_at = ? WHERE id = ? AND state = ?`,
			RectClosed, note, p.Username, store.FormatTime(now), r.ID, RectAnswered); err != nil {
			return err
		}
		r.State, r.CloseNote, r.ClosedBy, r.ClosedAt = RectClosed, note, p.Username, &now
		out = r
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.rect_close", EntityType: "appraisal_rectification",
			EntityID: r.ID, OrgID: r.OrgID, Summary: map[string]any{"note": note}})
	})
	return out, err
}
