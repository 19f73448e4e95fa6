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

// Pools: leaders and ordinary civil servants are graded apart, so that scores are not
// 千人一面 across ranks.
const (
	PoolLeader = "leader"
	PoolStaff  = "staff"
)

// PoolLabel is a pool's Chinese name.
func PoolLabel(pool string) string {
	if pool == PoolLeader {
		return "领导干部"
	}
	return "一般公务员"
}

// Categories and posts of the org package that decide who is appraised and in which pool:
// civil servants (公务员) are appraised; those who are leading cadres (领导干部), or hold one
// of leaderPosts in the unit, are in the leaders' pool. HR can set anyone's pool explicitly.
const (
	categoryCivilServant = "公务员"
	categoryLeadingCadre = "领导干部"
)

var leaderPosts = []string{"局长", "副局长", "主任", "副主任", "党组书记", "党组副书记", "党组成员", "党委书记", "党委副书记", "区长", "副区长"}

// CycleInput opens a unit's quarter.
type CycleInput struct {
	OrgID   int64  `json:"org_id"`
	Quarter string `json:"quarter"`
}

// Cycle is one unit's quarter of appraisal.
type Cycle struct {
	ID           int64       `json:"id"`
	OrgID        int64       `json:"org_id"`
	OrgName      string      `json:"org_name"`
	Quarter      string      `json:"quarter"`
	QuarterLabel string      `json:"quarter_label"`
	Leaders      int         `json:"leaders"`
	Staff        int         `json:"staff"`
	ComputedAt   *time.Time  `json:"computed_at"`
	CreatedAt    time.Time   `json:"created_at"`
	Appraisees   []Appraisee `json:"appraisees,omitempty"`
	Summary      *Summary    `json:"summary,omitempty"`
	Progress     *Progress   `json:"progress,omitempty"`
}

// Appraisee is a person appraised in a cycle.
type Appraisee struct {
	PersonID int64  `json:"person_id"`
	Name     string `json:"name"`
	OrgName  string `json:"org_name"`
	Pool     string `json:"pool"`
	Explicit bool   `json:"explicit"` // set by HR rather than derived
}

// AppraiseeInput puts a person in a cycle's pool, or moves them to the other.
type AppraiseeInput struct {
	PersonID int64  `json:"person_id"`
	Pool     string `json:"pool"`
}

// cycleRef is a loaded cycle with its unit.
type cycleRef struct {
	id      int64
	orgID   int64
	orgName string
	path    string
	quarter Quarter
	step    int // the step under way, 1–7; StepFiled once filed
}

// loadCycle loads a cycle the caller may act on with perm: outside their sight it is not
// found; seen but not covered by perm it is forbidden.
func loadCycle(ctx context.Context, q querier, p *auth.Principal, perm auth.Permission, id int64) (cycleRef, error) {
	var c cycleRef
	var quarter string
	cond, args := sight(p, perm)
	err := q.QueryRow(ctx, `SELECT c.id, c.org_id, o.name, o.path, c.quarter, c.step FROM ap_cycles c JOIN orgs o ON o.id = c.org_id
		WHERE c.id = ? AND `+cond, append([]any{id}, args...)...).Scan(&c.id, &c.orgID, &c.orgName, &c.path, &quarter, &c.step)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("考核周期不存在")
	}
	if err != nil {
		return c, err
	}
	if c.quarter, err = ParseQuarter(quarter); err != nil {
		return c, fmt.Errorf("appraisal: cycle %d has quarter %q", id, quarter)
	}
	if !p.Scope(perm).Covers(c.path) {
		return c, errs.Forbidden("无权在“%s”执行此操作", c.orgName)
	}
	return c, nil
}

// OpenCycle opens a unit's quarter with its civil servants as appraisees, each in the pool
// their categories and posts say.
func (s *Service) OpenCycle(ctx context.Context, p *auth.Principal, in CycleInput) (Cycle, error) {
	var out Cycle
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := allowedOrg(ctx, tx, p, PermManage, in.OrgID, "开展平时考核")
		if err != nil {
			return err
		}
		q, err := ParseQuarter(in.Quarter)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM ap_cycles WHERE org_id = ? AND quarter = ?`, o.id, q.String()).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflict("“%s”%s的平时考核已经开启", o.name, q.Label())
		}
		id, err := tx.Insert(ctx, `INSERT INTO ap_cycles (org_id, quarter, created_at) VALUES (?, ?, ?)`,
			o.id, q.String(), store.FormatTime(tx.Now()))
		if err != nil {
			if tx.DB().Dialect.IsUniqueViolation(err) {
				return errs.Conflict("“%s”%s的平时考核已经开启", o.name, q.Label())
			}
			return err
		}
		if err := setDeadlines(ctx, tx, id, o, q); err != nil {
			return err
		}
		pools, err := derivePools(ctx, tx, o, store.LocalDate(tx.Now()))
		if err != nil {
			return err
		}
		rows := make([][]any, 0, len(pools))
		leaders := 0
		for _, a := range pools {
			rows = append(rows, []any{id, a.PersonID, a.Pool, false})
			if a.Pool == PoolLeader {
				leaders++
			}
		}
		if err := tx.DB().Dialect.CopyRows(ctx, tx, "ap_appraisees", []string{"cycle_id", "person_id", "pool", "explicit"}, rows); err != nil {
			return err
		}
		out = Cycle{ID: id, OrgID: o.id, OrgName: o.name, Quarter: q.String(), QuarterLabel: q.Label(),
			Leaders: leaders, Staff: len(pools) - leaders, CreatedAt: tx.Now()}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.cycle_open", EntityType: "appraisal_cycle",
			EntityID: id, OrgID: o.id, Summary: map[string]any{"quarter": q.String(), "leaders": leaders, "staff": len(pools) - leaders}})
	})
	return out, err
}

// derivePools lists the live civil servants of a unit's subtree with their pools.
func derivePools(ctx context.Context, q querier, o orgRef, today string) ([]Appraisee, error) {
	lo, hi := store.PathRange(o.path)
	args := []any{categoryLeadingCadre, lo, hi, today}
	args = append(args, stringArgs(leaderPosts)...)
	args = append(args, categoryCivilServant, lo, hi)
	rows, err := q.Query(ctx, `SELECT pe.id,
			EXISTS (SELECT 1 FROM person_categories l WHERE l.person_id = pe.id AND l.category = ?)
			OR EXISTS (SELECT 1 FROM memberships m JOIN orgs mo ON mo.id = m.org_id
				WHERE m.person_id = pe.id AND mo.path >= ? AND mo.path < ? AND (m.ended_on IS NULL OR m.ended_on > ?)
				AND m.position IN (`+placeholders(len(leaderPosts))+`))
		FROM people pe
		JOIN person_categories c ON c.person_id = pe.id AND c.category = ?
		JOIN orgs o ON o.id = pe.org_id
		WHERE o.path >= ? AND o.path < ? AND pe.archived_at IS NULL
		ORDER BY pe.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Appraisee
	for rows.Next() {
		var a Appraisee
		var leader bool
		if err := rows.Scan(&a.PersonID, &leader); err != nil {
			return nil, err
		}
		a.Pool = PoolStaff
		if leader {
			a.Pool = PoolLeader
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// SetAppraisee puts a person of the unit in a cycle's pool explicitly, or moves them.
func (s *Service) SetAppraisee(ctx context.Context, p *auth.Principal, cycleID int64, in AppraiseeInput) (Appraisee, error) {
	var out Appraisee
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepTargets, "调整考核对象"); err != nil {
			return err
		}
		if in.Pool != PoolLeader && in.Pool != PoolStaff {
			return errs.Invalid("pool", "评定池应为 leader（领导干部）或 staff（一般公务员）")
		}
		lo, hi := store.PathRange(c.path)
		err = tx.QueryRow(ctx, `SELECT pe.name, o.name FROM people pe JOIN orgs o ON o.id = pe.org_id
			WHERE pe.id = ? AND pe.archived_at IS NULL AND o.path >= ? AND o.path < ?`, in.PersonID, lo, hi).Scan(&out.Name, &out.OrgName)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Invalid("person_id", "此人不在“%s”", c.orgName)
		}
		if err != nil {
			return err
		}
		var was string
		err = tx.QueryRow(ctx, `SELECT pool FROM ap_appraisees WHERE cycle_id = ? AND person_id = ?`, c.id, in.PersonID).Scan(&was)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.Exec(ctx, `INSERT INTO ap_appraisees (cycle_id, person_id, pool, explicit) VALUES (?, ?, ?, TRUE)`, c.id, in.PersonID, in.Pool)
		case err == nil:
			_, err = tx.Exec(ctx, `UPDATE ap_appraisees SET pool = ?, explicit = TRUE WHERE cycle_id = ? AND person_id = ?`, in.Pool, c.id, in.PersonID)
		}
		if err != nil {
			return err
		}
		out.PersonID, out.Pool, out.Explicit = in.PersonID, in.Pool, true
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.appraisee_set", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"person_id": in.PersonID, "name": out.Name, "pool": [2]string{was, in.Pool}}})
	})
	return out, err
}

// RemoveAppraisee takes a person out of a cycle, as long as nobody has rated them and no
// list entry or task names them.
func (s *Service) RemoveAppraisee(ctx context.Context, p *auth.Principal, cycleID, personID int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepTargets, "调整考核对象"); err != nil {
			return err
		}
		var n int
		err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM ap_appraisees WHERE cycle_id = ? AND person_id = ?`, c.id, personID).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.NotFound("此人不在本周期的考核对象中")
		}
		err = tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM ap_ratings WHERE cycle_id = ? AND ratee_id = ?)
			+ (SELECT COUNT(*) FROM ap_entries WHERE cycle_id = ? AND person_id = ?)
			+ (SELECT COUNT(*) FROM ap_tasks WHERE cycle_id = ? AND person_id = ?)`,
			c.id, personID, c.id, personID, c.id, personID).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflict("此人已有评价、清单记录或目标任务，不能移出考核对象")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM ap_appraisees WHERE cycle_id = ? AND person_id = ?`, c.id, personID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM ap_results WHERE cycle_id = ? AND person_id = ?`, c.id, personID); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.appraisee_remove", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"person_id": personID}})
	})
}

// CycleFilter narrows a list of cycles.
type CycleFilter struct {
	OrgID   int64 // a unit, or an organisation above units; 0 = everywhere in scope
	Quarter string
	Limit   int
	Cursor  int64 // list cycles with ids below this
}

// ListCycles lists cycles in the caller's scope, newest first.
func (s *Service) ListCycles(ctx context.Context, p *auth.Principal, f CycleFilter) ([]Cycle, int64, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var out []Cycle
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		cond, args := p.Scope(PermView).Where("o.path", "")
		if f.OrgID != 0 {
			o, err := visibleOrg(ctx, tx, p, PermView, f.OrgID)
			if err != nil {
				return err
			}
			lo, hi := store.PathRange(o.path)
			cond += " AND o.path >= ? AND o.path < ?"
			args = append(args, lo, hi)
		}
		if f.Quarter != "" {
			q, err := ParseQuarter(f.Quarter)
			if err != nil {
				return err
			}
			cond += " AND c.quarter = ?"
			args = append(args, q.String())
		}
		if f.Cursor > 0 {
			cond += " AND c.id < ?"
			args = append(args, f.Cursor)
		}
		rows, err := tx.Query(ctx, `SELECT c.id, c.org_id, o.name, c.quarter, c.computed_at, c.created_at,
				(SELECT COUNT(*) FROM ap_appraisees a WHERE a.cycle_id = c.id AND a.pool = 'leader'),
				(SELECT COUNT(*) FROM ap_appraisees a WHERE a.cycle_id = c.id AND a.pool = 'staff')
			FROM ap_cycles c JOIN orgs o ON o.id = c.org_id
			WHERE `+cond+` ORDER BY c.id DESC LIMIT ?`, append(args, limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Cycle
			var computed sql.NullString
			var created string
			if err := rows.Scan(&c.ID, &c.OrgID, &c.OrgName, &c.Quarter, &computed, &created, &c.Leaders, &c.Staff); err != nil {
				return err
			}
			if err := c.fill(computed, created); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, err
}

func (c *Cycle) fill(computed sql.NullString, created string) error {
	if q, err := ParseQuarter(c.Quarter); err == nil {
		c.QuarterLabel = q.Label()
	}
	var err error
	if c.CreatedAt, err = store.ParseTime(created); err != nil {
		return err
	}
	if computed.Valid {
		t, err := store.ParseTime(computed.String)
		if err != nil {
			return err
		}
		c.ComputedAt = &t
	}
	return nil
}

// GetCycle loads a cycle with its appraisees and the summary of its last computation.
func (s *Service) GetCycle(ctx context.Context, p *auth.Principal, id int64) (Cycle, error) {
	var out Cycle
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermView, id)
		if err != nil {
			return err
		}
		out = Cycle{ID: c.id, OrgID: c.orgID, OrgName: c.orgName, Quarter: c.quarter.String()}
		var computed sql.NullString
		var created, summary string
		if err := tx.QueryRow(ctx, `SELECT computed_at, created_at, summary FROM ap_cycles WHERE id = ?`, id).Scan(&computed, &created, &summary); err != nil {
			return err
		}
		if err := out.fill(computed, created); err != nil {
			return err
		}
		if summary != "" {
			out.Summary = &Summary{}
			if err := json.Unmarshal([]byte(summary), out.Summary); err != nil {
				return fmt.Errorf("appraisal: summary of cycle %d: %w", id, err)
			}
			if err := markStaleMerges(ctx, tx, c.id, out.Summary); err != nil {
				return err
			}
		}
		pr, err := progress(ctx, tx, c.id, store.LocalDate(tx.Now()))
		if err != nil {
			return err
		}
		out.Progress = &pr
		out.Appraisees, err = appraisees(ctx, tx, c.id)
		for _, a := range out.Appraisees {
			if a.Pool == PoolLeader {
				out.Leaders++
			} else {
				out.Staff++
			}
		}
		return err
	})
	return out, err
}

// appraisees lists a cycle's appraisees, leaders first ('leader' sorts before 'staff').
func appraisees(ctx context.Context, q querier, cycleID int64) ([]Appraisee, error) {
	rows, err := q.Query(ctx, `SELECT a.person_id, pe.name, o.name, a.pool, a.explicit FROM ap_appraisees a
		JOIN people pe ON pe.id = a.person_id JOIN orgs o ON o.id = pe.org_id
		WHERE a.cycle_id = ? ORDER BY a.pool, pe.id`, cycleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Appraisee
	for rows.Next() {
		var a Appraisee
		if err := rows.Scan(&a.PersonID, &a.Name, &a.OrgName, &a.Pool, &a.Explicit); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// appraiseeOf checks that a person is appraised in a cycle and returns their pool and name.
func appraiseeOf(ctx context.Context, q querier, cycleID, personID int64, field string) (pool, name string, err error) {
	err = q.QueryRow(ctx, `SELECT a.pool, pe.name FROM ap_appraisees a JOIN people pe ON pe.id = a.person_id
		WHERE a.cycle_id = ? AND a.person_id = ?`, cycleID, personID).Scan(&pool, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", errs.Invalid(field, "此人不是本周期的考核对象")
	}
	return pool, name, err
}
