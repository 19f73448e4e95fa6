package appraisal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// The seven steps of a unit's quarter (西山区's 7个具体程序). Each has a role, a deadline fixed
// when the cycle opens (the policy's StepDays) and a lock: once HR closes a step, the writes
// that belong to it are refused; once the quarter is filed, every write is, until the district
// reopens it.
const (
	StepTargets  = 1 // 制定目标任务: HR sets the tasks, appraisees are settled
	StepSummary  = 2 // 个人小结: appraisees write their summary and report on their tasks
	StepMass     = 3 // 干部群众测评: anonymous links
	StepLeader   = 4 // 主管领导评价: the supervising leader rates and assesses tasks
	StepHR       = 5 // 组织人事部门综合评定: HR rates, entries, compute, ties; closing confirms
	StepFeedback = 6 // 结果反馈与公示: appraisees see their result and may ask for a review
	StepFiling   = 7 // 备案: the unit files plan and results with the district
	StepCount    = 7
	StepFiled    = 8 // the cycle's step once filed
)

var stepNames = [StepCount]string{"制定目标任务", "个人小结", "干部群众测评", "主管领导评价", "组织人事部门综合评定", "结果反馈与公示", "备案"}
var stepRoles = [StepCount]string{"组织人事部门", "考核对象本人", "干部群众", "主管领导", "组织人事部门", "考核对象本人、组织人事部门", "单位报区级备案"}

// StepName is step n's Chinese name.
func StepName(n int) string {
	if n < 1 || n > StepCount {
		return "已备案"
	}
	return stepNames[n-1]
}

// StepState is one step of a cycle as its progress bar shows it.
type StepState struct {
	Step     int        `json:"step"`
	Name     string     `json:"name"`
	Role     string     `json:"role"`
	Deadline string     `json:"deadline"`
	ClosedAt *time.Time `json:"closed_at"`
	ClosedBy string     `json:"closed_by"`
	Current  bool       `json:"current"`
	Overdue  bool       `json:"overdue"` // not closed and its deadline has passed
}

// Progress is where a cycle stands in its seven steps.
type Progress struct {
	Step        int         `json:"step"` // under way, 1–7; 8 once filed
	StepName    string      `json:"step_name"`
	Filed       bool        `json:"filed"`
	PublishedAt *time.Time  `json:"published_at"`
	ReviewUntil string      `json:"review_until"`
	Steps       []StepState `json:"steps"`
	// Reopened is the last reopening while the quarter is back at the step it was reopened at:
	// the district's approval of a filed quarter, or a merged grading gone stale that sent it
	// back to step 5.
	Reopened *Reopening `json:"reopened,omitempty"`
}

// Reopening is a recorded return of a quarter to an earlier step.
type Reopening struct {
	ToStep     int       `json:"to_step"`
	Reason     string    `json:"reason"`
	ApprovedBy string    `json:"approved_by"`
	At         time.Time `json:"at"`
}

// open refuses a write that belongs to a step the cycle has passed.
func (c cycleRef) open(ctx context.Context, tx *store.Tx, step int, what string) error {
	return stepOpen(ctx, tx, c.id, step, what)
}

// cycleGate is the base of the per-cycle advisory locks of the steps: a write of a step
// shares its cycle's lock and a step closing or reopening holds it alone, so that on
// PostgreSQL no write commits into a step closed while it was under way.
const cycleGate = 0x61705f737470 << 16 // "ap_stp"

// heldCycle loads a cycle the caller manages, takes its step lock alone and reads its step
// again under it: for what closes or reopens a step.
func heldCycle(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64) (cycleRef, error) {
	c, err := loadCycle(ctx, tx, p, PermManage, id)
	if err != nil {
		return c, err
	}
	if err := tx.DB().Dialect.Serialize(ctx, tx, cycleGate^c.id); err != nil {
		return c, err
	}
	return c, tx.QueryRow(ctx, `SELECT step FROM ap_cycles WHERE id = ?`, c.id).Scan(&c.step)
}

func lockError(current, step int, what string) error {
	switch {
	case current >= StepFiled:
		return errs.Conflict("本季度考核已备案，不能再%s；如需更改，须经区级批准重新开启", what)
	case current > step:
		return errs.Conflict("第%d步“%s”已经结束，不能再%s", step, StepName(step), what)
	}
	return nil
}

// stepOpen is open for a cycle known by id only (a task's, a link's). It shares the cycle's
// step lock and reads the step under it.
func stepOpen(ctx context.Context, tx *store.Tx, cycleID int64, step int, what string) error {
	if err := tx.DB().Dialect.SerializeShared(ctx, tx, cycleGate^cycleID); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT step FROM ap_cycles WHERE id = ?`, cycleID).Scan(&current); err != nil {
		return err
	}
	return lockError(current, step, what)
}

// quarterEnd is the last day of the quarter.
func (q Quarter) End() time.Time {
	start, _ := time.Parse(store.DateLayout, q.Start())
	return start.AddDate(0, 3, -1)
}

// setDeadlines fixes a new cycle's step deadlines from the policy in force for its quarter.
func setDeadlines(ctx context.Context, tx *store.Tx, cycleID int64, o orgRef, q Quarter) error {
	eff, err := resolvePolicy(ctx, tx, o, q.Start(), true)
	if err != nil {
		return err
	}
	end := q.End()
	for i := range StepCount {
		deadline := end.AddDate(0, 0, int(eff.Policy.StepDays[i])).Format(store.DateLayout)
		if _, err := tx.Exec(ctx, `INSERT INTO ap_cycle_steps (cycle_id, step, deadline) VALUES (?, ?, ?)`, cycleID, i+1, deadline); err != nil {
			return err
		}
	}
	return nil
}

// AddWorkingDays is the n-th working day after date (YYYY-MM-DD): Saturdays, Sundays and the
// holidays do not count.
func AddWorkingDays(date string, n int64, holidays []string) string {
	d, err := time.Parse(store.DateLayout, date)
	if err != nil {
		return date
	}
	off := map[string]bool{}
	for _, h := range holidays {
		off[h] = true
	}
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday || off[d.Format(store.DateLayout)] {
			continue
		}
		n--
	}
	return d.Format(store.DateLayout)
}

// progress reads a cycle's steps.
func progress(ctx context.Context, q querier, cycleID int64, today string) (Progress, error) {
	var out Progress
	var published, until sql.NullString
	if err := q.QueryRow(ctx, `SELECT step, published_at, review_until FROM ap_cycles WHERE id = ?`, cycleID).
		Scan(&out.Step, &published, &until); err != nil {
		return out, err
	}
	out.StepName, out.Filed, out.ReviewUntil = StepName(out.Step), out.Step >= StepFiled, until.String
	if published.Valid {
		t, err := store.ParseTime(published.String)
		if err != nil {
			return out, err
		}
		out.PublishedAt = &t
	}
	rows, err := q.Query(ctx, `SELECT step, deadline, closed_at, closed_by FROM ap_cycle_steps WHERE cycle_id = ? ORDER BY step`, cycleID)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	byStep := map[int]StepState{}
	for rows.Next() {
		var st StepState
		var closed sql.NullString
		if err := rows.Scan(&st.Step, &st.Deadline, &closed, &st.ClosedBy); err != nil {
			return out, err
		}
		if closed.Valid {
			t, err := store.ParseTime(closed.String)
			if err != nil {
				return out, err
			}
			st.ClosedAt = &t
		}
		byStep[st.Step] = st
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	if !out.Filed {
		var r Reopening
		var at string
		err := q.QueryRow(ctx, `SELECT to_step, reason, approved_by, created_at FROM ap_reopens WHERE cycle_id = ? ORDER BY id DESC LIMIT 1`,
			cycleID).Scan(&r.ToStep, &r.Reason, &r.ApprovedBy, &at)
		switch {
		case err == nil && out.Step <= r.ToStep:
			if r.At, err = store.ParseTime(at); err != nil {
				return out, err
			}
			out.Reopened = &r
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return out, err
		}
	}
	for n := 1; n <= StepCount; n++ {
		st := byStep[n]
		st.Step, st.Name, st.Role, st.Current = n, StepName(n), stepRoles[n-1], n == out.Step
		st.Overdue = n >= out.Step && st.Deadline != "" && st.Deadline < today
		out.Steps = append(out.Steps, st)
	}
	return out, nil
}

// Progress is a cycle's seven steps.
func (s *Service) Progress(ctx context.Context, p *auth.Principal, cycleID int64) (Progress, error) {
	var out Progress
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermView, cycleID)
		if err != nil {
			return err
		}
		out, err = progress(ctx, tx, c.id, store.LocalDate(tx.Now()))
		return err
	})
	return out, err
}

// StepInput closes the step under way.
type StepInput struct {
	Step int `json:"step"`
}

// CloseStep closes the step under way and opens the next; closing step 5 computes and
// confirms the results and publishes them, closing step 7 files the quarter with the district.
func (s *Service) CloseStep(ctx context.Context, p *auth.Principal, cycleID int64, in StepInput) (Progress, error) {
	var out Progress
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := heldCycle(ctx, tx, p, cycleID)
		if err != nil {
			return err
		}
		if in.Step < 1 || in.Step > StepCount {
			return errs.Invalid("step", "步骤应为 1 到 7")
		}
		if c.step >= StepFiled {
			return errs.Conflict("本季度考核已备案，不能再变更步骤；如需更改，须经区级批准重新开启")
		}
		if in.Step != c.step {
			return errs.Conflict("当前是第%d步“%s”，不能结束第%d步", c.step, StepName(c.step), in.Step)
		}
		now := tx.Now()
		today := store.LocalDate(now)
		summary := map[string]any{"step": in.Step, "name": StepName(in.Step)}
		// The cycle's row moves to the next step in one UPDATE, with what the step sets on it.
		set, args := "step = ?", []any{in.Step + 1}
		switch in.Step {
		case StepTargets:
			var names []string
			rows, err := tx.Query(ctx, `SELECT pe.name FROM ap_appraisees a JOIN people pe ON pe.id = a.person_id
				WHERE a.cycle_id = ? AND NOT EXISTS (SELECT 1 FROM ap_tasks t WHERE t.cycle_id = a.cycle_id AND t.person_id = a.person_id)
				ORDER BY pe.id`, c.id)
			if err != nil {
				return err
			}
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					rows.Close()
					return err
				}
				names = append(names, n)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(names) > 0 {
				return errs.Conflict("以下考核对象尚未制定目标任务：%s", strings.Join(names, "、"))
			}
		case StepHR:
			sum, err := compute(ctx, tx, c)
			if err != nil {
				return err
			}
			for _, pool := range sum.Pools {
				switch {
				case pool.MergeStale:
					return errs.Conflict("%s评定池合并评定后%s的评分已有变化，合并评定已失效，等次暂缓：须由%s重新合并评定后方可确认结果",
						pool.Label, staleWho(c, pool.StaleUnits), pool.Merge.OrgName)
				case pool.Small && pool.Merge == nil:
					return errs.Conflict("%s评定池人数少于%d人，须由区级与其他小单位合并评定后方可确认结果", pool.Label, sum.Policy.MinPoolSize)
				case pool.Merge != nil && len(pool.Tie) > 0:
					return errs.Conflict("%s评定池的合并评定有并列人员待%s决定“好”等次", pool.Label, pool.Merge.OrgName)
				}
				if len(pool.Tie) > 0 {
					return errs.Conflict("%s评定池有并列人员待决定“好”等次，请先决定", pool.Label)
				}
			}
			// The policy the results were computed under, read once in this transaction.
			until := AddWorkingDays(today, sum.Policy.ReviewDays, sum.Policy.Holidays)
			set, args = set+", published_at = ?, review_until = ?", append(args, store.FormatTime(now), until)
			summary["review_until"] = until
		case StepFeedback:
			var open int
			var until sql.NullString
			if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM ap_reviews WHERE cycle_id = ? AND state = 'open'), review_until
				FROM ap_cycles WHERE id = ?`, c.id, c.id).Scan(&open, &until); err != nil {
				return err
			}
			if open > 0 {
				return errs.Conflict("尚有%d件复核申请未答复", open)
			}
			if until.Valid && today <= until.String {
				return errs.Conflict("申请复核的期限至%s止，尚未届满", until.String)
			}
		case StepFiling:
			f, err := file(ctx, tx, c, p.Username)
			if err != nil {
				return err
			}
			summary["version"], summary["hash"] = f.Version, f.Hash
		}
		res, err := tx.Exec(ctx, `UPDATE ap_cycles SET `+set+` WHERE id = ? AND step = ?`, append(args, c.id, in.Step)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, errs.Conflict("步骤已被他人变更，请刷新后重试"))
		}
		if _, err := tx.Exec(ctx, `UPDATE ap_cycle_steps SET closed_at = ?, closed_by = ? WHERE cycle_id = ? AND step = ?`,
			store.FormatTime(now), p.Username, c.id, in.Step); err != nil {
			return err
		}
		if out, err = progress(ctx, tx, c.id, today); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.step_close", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: summary})
	})
	return out, err
}

// staleWho names the units whose scores changed after a merged grading, this one as 本单位.
func staleWho(c cycleRef, units []string) string {
	var names []string
	for _, u := range units {
		if u == c.orgName {
			u = "本单位"
		}
		names = append(names, u)
	}
	return strings.Join(names, "、")
}

// ReopenInput is the district's approval to reopen a filed quarter back to a step.
type ReopenInput struct {
	Step   int    `json:"step"`
	Reason string `json:"reason"`
}

// Reopen reopens a filed quarter at a step, by the district above the unit; the filing stays
// on record and the quarter is filed again as the next version.
func (s *Service) Reopen(ctx context.Context, p *auth.Principal, cycleID int64, in ReopenInput) (Progress, error) {
	var out Progress
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := heldCycle(ctx, tx, p, cycleID)
		if err != nil {
			return err
		}
		var ps problems
		if in.Step < 1 || in.Step > StepCount {
			ps.add("step", "重新开启的步骤应为 1 到 7")
		}
		reason, err := text("reason", "重新开启的理由", in.Reason, 500, true)
		if err != nil {
			ps = append(ps, err)
		}
		if err := ps.err(); err != nil {
			return err
		}
		if !p.Scope(PermManage).Covers(parentPath(c.path)) {
			return errs.Forbidden("已备案的考核须经区级组织人事部门批准方可重新开启")
		}
		if c.step < StepFiled {
			return errs.Conflict("本季度考核尚未备案，无需重新开启")
		}
		if _, err := tx.Exec(ctx, `UPDATE ap_cycles SET step = ? WHERE id = ?`, in.Step, c.id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ap_cycle_steps SET closed_at = NULL, closed_by = '' WHERE cycle_id = ? AND step >= ?`, c.id, in.Step); err != nil {
			return err
		}
		if in.Step <= StepHR {
			if _, err := tx.Exec(ctx, `UPDATE ap_cycles SET published_at = NULL, review_until = NULL WHERE id = ?`, c.id); err != nil {
				return err
			}
		}
		if _, err := tx.Insert(ctx, `INSERT INTO ap_reopens (cycle_id, org_id, to_step, reason, approved_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			c.id, c.orgID, in.Step, reason, p.Username, store.FormatTime(tx.Now())); err != nil {
			return err
		}
		if out, err = progress(ctx, tx, c.id, store.LocalDate(tx.Now())); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.reopen", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"step": in.Step, "reason": reason}})
	})
	return out, err
}

// parentPath is the path of the organisation above: "/1/5/23/" → "/1/5/".
func parentPath(path string) string {
	t := strings.TrimSuffix(path, "/")
	if i := strings.LastIndex(t, "/"); i >= 0 {
		return t[:i+1]
	}
	return path
}

// Filing is a filed snapshot of a quarter: its plan and results, and their SHA-256.
type Filing struct {
	CycleID  int64           `json:"cycle_id"`
	Version  int             `json:"version"`
	Hash     string          `json:"hash"`
	Intact   bool            `json:"intact"` // the snapshot still hashes to Hash
	FiledBy  string          `json:"filed_by"`
	FiledAt  time.Time       `json:"filed_at"`
	Snapshot json.RawMessage `json:"snapshot"`
}

// snapshot is what a filing holds.
type snapshot struct {
	CycleID    int64         `json:"cycle_id"`
	OrgID      int64         `json:"org_id"`
	OrgName    string        `json:"org_name"`
	Quarter    string        `json:"quarter"`
	Version    int           `json:"version"`
	FiledAt    string        `json:"filed_at"`
	Policy     Summary       `json:"summary"`
	Steps      []StepState   `json:"steps"`
	Appraisees []Appraisee   `json:"appraisees"`
	Tasks      []filedTask   `json:"tasks"`
	Results    []filedResult `json:"results"`
	Reviews    []Review      `json:"reviews"`
}

type filedTask struct {
	PersonID  int64  `json:"person_id"`
	Dimension string `json:"dimension"`
	Title     string `json:"title"`
	Standard  string `json:"standard"`
	Weight    int64  `json:"weight"`
	Score     *int64 `json:"score"`
}

type filedResult struct {
	PersonID  int64  `json:"person_id"`
	Pool      string `json:"pool"`
	Composite int64  `json:"composite"`
	Rank      int    `json:"rank"`
	Grade     Grade  `json:"grade"`
	Status    Status `json:"status"`
}

// HashSnapshot is the SHA-256 of a filed snapshot, in hex.
func HashSnapshot(snapshot []byte) string {
	h := sha256.Sum256(snapshot)
	return hex.EncodeToString(h[:])
}

// file takes the snapshot of a cycle and stores it as its next filing.
func file(ctx context.Context, tx *store.Tx, c cycleRef, by string) (Filing, error) {
	var f Filing
	var raw string
	if err := tx.QueryRow(ctx, `SELECT summary FROM ap_cycles WHERE id = ?`, c.id).Scan(&raw); err != nil {
		return f, err
	}
	snap := snapshot{CycleID: c.id, OrgID: c.orgID, OrgName: c.orgName, Quarter: c.quarter.String(), FiledAt: store.FormatTime(tx.Now())}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &snap.Policy); err != nil {
			return f, err
		}
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM ap_filings WHERE cycle_id = ?`, c.id).Scan(&snap.Version); err != nil {
		return f, err
	}
	pr, err := progress(ctx, tx, c.id, store.LocalDate(tx.Now()))
	if err != nil {
		return f, err
	}
	snap.Steps = pr.Steps
	if snap.Appraisees, err = appraisees(ctx, tx, c.id); err != nil {
		return f, err
	}
	rows, err := tx.Query(ctx, `SELECT person_id, dimension, title, standard, weight, score FROM ap_tasks WHERE cycle_id = ? ORDER BY person_id, id`, c.id)
	if err != nil {
		return f, err
	}
	for rows.Next() {
		var t filedTask
		var score sql.NullInt64
		if err := rows.Scan(&t.PersonID, &t.Dimension, &t.Title, &t.Standard, &t.Weight, &score); err != nil {
			rows.Close()
			return f, err
		}
		if score.Valid {
			t.Score = &score.Int64
		}
		snap.Tasks = append(snap.Tasks, t)
	}
	rows.Close()
	rows, err = tx.Query(ctx, `SELECT person_id, pool, composite, rank, grade, status FROM ap_results WHERE cycle_id = ? ORDER BY pool, rank, person_id`, c.id)
	if err != nil {
		return f, err
	}
	for rows.Next() {
		var r filedResult
		if err := rows.Scan(&r.PersonID, &r.Pool, &r.Composite, &r.Rank, &r.Grade, &r.Status); err != nil {
			rows.Close()
			return f, err
		}
		snap.Results = append(snap.Results, r)
	}
	rows.Close()
	if snap.Reviews, err = reviews(ctx, tx, c.id, 0); err != nil {
		return f, err
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return f, err
	}
	f = Filing{CycleID: c.id, Version: snap.Version, Hash: HashSnapshot(data), Intact: true, FiledBy: by, FiledAt: tx.Now(), Snapshot: data}
	_, err = tx.Insert(ctx, `INSERT INTO ap_filings (cycle_id, org_id, version, snapshot, hash, filed_by, filed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.id, c.orgID, f.Version, string(data), f.Hash, by, snap.FiledAt)
	return f, err
}

// Filings lists a cycle's filings, latest first, each checked against its hash.
func (s *Service) Filings(ctx context.Context, p *auth.Principal, cycleID int64) ([]Filing, error) {
	var out []Filing
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermView, cycleID)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version, snapshot, hash, filed_by, filed_at FROM ap_filings WHERE cycle_id = ? ORDER BY version DESC`, c.id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f := Filing{CycleID: c.id}
			var snap, at string
			if err := rows.Scan(&f.Version, &snap, &f.Hash, &f.FiledBy, &at); err != nil {
				return err
			}
			if f.FiledAt, err = store.ParseTime(at); err != nil {
				return err
			}
			f.Snapshot, f.Intact = json.RawMessage(snap), HashSnapshot([]byte(snap)) == f.Hash
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, err
}

// SelfSummaryInput is an appraisee's 个人小结.
type SelfSummaryInput struct {
	Body string `json:"body"`
}

// SelfSummary is an appraisee's 个人小结 as stored.
type SelfSummary struct {
	CycleID    int64     `json:"cycle_id"`
	PersonID   int64     `json:"person_id"`
	PersonName string    `json:"person_name"`
	Body       string    `json:"body"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// selfCycle loads a cycle the caller is appraised in (or sees as staff); anything else is not
// found. It answers whether the caller is appraised in it.
func selfCycle(ctx context.Context, q querier, p *auth.Principal, cycleID int64) (cycleRef, bool, error) {
	var c cycleRef
	if err := taskCycle(ctx, q, p, cycleID); err != nil {
		return c, false, err
	}
	var quarter string
	if err := q.QueryRow(ctx, `SELECT c.id, c.org_id, o.name, o.path, c.quarter, c.step FROM ap_cycles c JOIN orgs o ON o.id = c.org_id WHERE c.id = ?`,
		cycleID).Scan(&c.id, &c.orgID, &c.orgName, &c.path, &quarter, &c.step); err != nil {
		return c, false, err
	}
	c.quarter, _ = ParseQuarter(quarter)
	if p.PersonID == 0 {
		return c, false, nil
	}
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM ap_appraisees WHERE cycle_id = ? AND person_id = ?`, c.id, p.PersonID).Scan(&n)
	return c, n > 0, err
}

// WriteSelfSummary records or replaces the caller's own 个人小结 while step 2 is open.
func (s *Service) WriteSelfSummary(ctx context.Context, p *auth.Principal, cycleID int64, in SelfSummaryInput) (SelfSummary, error) {
	var out SelfSummary
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, mine, err := selfCycle(ctx, tx, p, cycleID)
		if err != nil {
			return err
		}
		body, err := text("body", "个人小结", in.Body, 3000, true)
		if err != nil {
			return err
		}
		if !mine {
			return errs.Forbidden("只有本周期的考核对象本人可以填写个人小结")
		}
		if err := c.open(ctx, tx, StepSummary, "填写个人小结"); err != nil {
			return err
		}
		now := tx.Now()
		res, err := tx.Exec(ctx, `UPDATE ap_self_summaries SET body = ?, updated_at = ? WHERE cycle_id = ? AND person_id = ?`,
			body, store.FormatTime(now), c.id, p.PersonID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO ap_self_summaries (cycle_id, person_id, org_id, body, updated_at) VALUES (?, ?, ?, ?, ?)`,
				c.id, p.PersonID, c.orgID, body, store.FormatTime(now)); err != nil {
				return err
			}
		}
		out = SelfSummary{CycleID: c.id, PersonID: p.PersonID, Body: body, UpdatedAt: now}
		if err := tx.QueryRow(ctx, `SELECT name FROM people WHERE id = ?`, p.PersonID).Scan(&out.PersonName); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.self_summary", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"person_id": p.PersonID, "chars": len([]rune(body))}})
	})
	return out, err
}

// SelfSummaries lists a cycle's 个人小结: staff see all in their sight, a person their own.
func (s *Service) SelfSummaries(ctx context.Context, p *auth.Principal, cycleID int64) ([]SelfSummary, error) {
	var out []SelfSummary
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if err := taskCycle(ctx, tx, p, cycleID); err != nil {
			return err
		}
		view, args := p.Scope(PermView).Where("o.path", "")
		self, selfArgs := p.Scope(PermSelf).Where("o.path", "s.person_id")
		rows, err := tx.Query(ctx, `SELECT s.person_id, pe.name, s.body, s.updated_at FROM ap_self_summaries s
			JOIN orgs o ON o.id = s.org_id JOIN people pe ON pe.id = s.person_id
			WHERE s.cycle_id = ? AND (`+view+` OR `+self+`) ORDER BY s.person_id`, append(append([]any{cycleID}, args...), selfArgs...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v := SelfSummary{CycleID: cycleID}
			var at string
			if err := rows.Scan(&v.PersonID, &v.PersonName, &v.Body, &at); err != nil {
				return err
			}
			if v.UpdatedAt, err = store.ParseTime(at); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// Review is a request for a review (复核) of a result and its answer.
type Review struct {
	ID         int64      `json:"id"`
	CycleID    int64      `json:"cycle_id"`
	PersonID   int64      `json:"person_id"`
	PersonName string     `json:"person_name"`
	Reason     string     `json:"reason"`
	State      string     `json:"state"` // open, upheld, changed
	OldGrade   Grade      `json:"old_grade"`
	NewGrade   Grade      `json:"new_grade,omitempty"`
	Answer     string     `json:"answer"`
	AnsweredBy string     `json:"answered_by"`
	AnsweredAt *time.Time `json:"answered_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Review states.
const (
	ReviewOpen    = "open"
	ReviewUpheld  = "upheld"
	ReviewChanged = "changed"
)

func reviews(ctx context.Context, q querier, cycleID, personID int64) ([]Review, error) {
	cond, args := "r.cycle_id = ?", []any{cycleID}
	if personID != 0 {
		cond += " AND r.person_id = ?"
		args = append(args, personID)
	}
	rows, err := q.Query(ctx, `SELECT r.id, r.person_id, pe.name, r.reason, r.state, r.old_grade, r.new_grade, r.answer, r.answered_by,
			r.answered_at, r.created_at
		FROM ap_reviews r JOIN people pe ON pe.id = r.person_id WHERE `+cond+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Review{}
	for rows.Next() {
		r := Review{CycleID: cycleID}
		var answered sql.NullString
		var created string
		if err := rows.Scan(&r.ID, &r.PersonID, &r.PersonName, &r.Reason, &r.State, &r.OldGrade, &r.NewGrade, &r.Answer, &r.AnsweredBy,
			&answered, &created); err != nil {
			return nil, err
		}
		if r.CreatedAt, err = store.ParseTime(created); err != nil {
			return nil, err
		}
		if answered.Valid {
			t, err := store.ParseTime(answered.String)
			if err != nil {
				return nil, err
			}
			r.AnsweredAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Feedback is what an appraisee sees of a cycle in step 6: their result once published, the
// last day to ask for a review, and their request.
type Feedback struct {
	CycleID     int64   `json:"cycle_id"`
	Appraised   bool    `json:"appraised"`
	Published   bool    `json:"published"`
	ReviewUntil string  `json:"review_until"`
	CanRequest  bool    `json:"can_request"`
	Result      *Result `json:"result"`
	Review      *Review `json:"review"`
}

// Feedback is the caller's own result and review of a cycle.
func (s *Service) Feedback(ctx context.Context, p *auth.Principal, cycleID int64) (Feedback, error) {
	out := Feedback{CycleID: cycleID}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, mine, err := selfCycle(ctx, tx, p, cycleID)
		if err != nil {
			return err
		}
		var until sql.NullString
		var published sql.NullString
		if err := tx.QueryRow(ctx, `SELECT published_at, review_until FROM ap_cycles WHERE id = ?`, c.id).Scan(&published, &until); err != nil {
			return err
		}
		out.Appraised, out.Published, out.ReviewUntil = mine, published.Valid && c.step > StepHR, until.String
		if !mine || !out.Published {
			return nil
		}
		res, err := ownResult(ctx, tx, c.id, p.PersonID)
		if err != nil {
			return err
		}
		out.Result = res
		rs, err := reviews(ctx, tx, c.id, p.PersonID)
		if err != nil {
			return err
		}
		if len(rs) > 0 {
			out.Review = &rs[0]
		}
		out.CanRequest = c.step == StepFeedback && out.Review == nil && store.LocalDate(tx.Now()) <= out.ReviewUntil && res != nil
		return nil
	})
	return out, err
}

func ownResult(ctx context.Context, q querier, cycleID, personID int64) (*Result, error) {
	var r Result
	var breakdown string
	var poolKey string
	err := q.QueryRow(ctx, `SELECT r.person_id, pe.name, r.pool, r.composite, r.rank, r.band_grade, r.grade, r.status, r.breakdown, r.pool_key
		FROM ap_results r JOIN people pe ON pe.id = r.person_id WHERE r.cycle_id = ? AND r.person_id = ?`, cycleID, personID).
		Scan(&r.PersonID, &r.Name, &r.Pool, &r.Composite, &r.Rank, &r.BandGrade, &r.Grade, &r.Status, &breakdown, &poolKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(breakdown), &r.Breakdown); err != nil {
		return nil, err
	}
	r.Merged = mergedKey(poolKey)
	r.PoolLabel, r.Score, r.StatusLabel = PoolLabel(r.Pool), FormatScore(r.Composite), r.Status.label(r.Merged)
	return &r, nil
}

// ReviewRequest is an appraisee's request for a review of their result.
type ReviewRequest struct {
	Reason string `json:"reason"`
}

// RequestReview asks for a review (复核) of the caller's own result, within the working days
// the policy allows after the results are published; once per quarter.
func (s *Service) RequestReview(ctx context.Context, p *auth.Principal, cycleID int64, in ReviewRequest) (Review, error) {
	var out Review
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, mine, err := selfCycle(ctx, tx, p, cycleID)
		if err != nil {
			return err
		}
		reason, err := text("reason", "申请复核的理由", in.Reason, 1000, true)
		if err != nil {
			return err
		}
		if !mine {
			return errs.Forbidden("只有考核对象本人可以申请复核")
		}
		if c.step < StepFeedback {
			return errs.Conflict("考核结果尚未公示，不能申请复核")
		}
		if err := c.open(ctx, tx, StepFeedback, "申请复核"); err != nil {
			return err
		}
		var until string
		if err := tx.QueryRow(ctx, `SELECT COALESCE(review_until, '') FROM ap_cycles WHERE id = ?`, c.id).Scan(&until); err != nil {
			return err
		}
		today := store.LocalDate(tx.Now())
		if today > until {
			return errs.Conflict("申请复核的期限已于%s届满", until)
		}
		res, err := ownResult(ctx, tx, c.id, p.PersonID)
		if err != nil {
			return err
		}
		if res == nil {
			return errs.Conflict("您本季度没有评定结果，无需复核")
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM ap_reviews WHERE cycle_id = ? AND person_id = ?`, c.id, p.PersonID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflict("本季度已申请过复核，不能重复申请")
		}
		now := tx.Now()
		id, err := tx.Insert(ctx, `INSERT INTO ap_reviews (cycle_id, org_id, person_id, reason, state, old_grade, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.id, c.orgID, p.PersonID, reason, ReviewOpen, string(res.Grade), store.FormatTime(now))
		if err != nil {
			if tx.DB().Dialect.IsUniqueViolation(err) {
				return errs.Conflict("本季度已申请过复核，不能重复申请")
			}
			return err
		}
		out = Review{ID: id, CycleID: c.id, PersonID: p.PersonID, PersonName: res.Name, Reason: reason, State: ReviewOpen, OldGrade: res.Grade, CreatedAt: now}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.review_request", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"review_id": id, "person_id": p.PersonID, "grade": res.Grade}})
	})
	return out, err
}

// AnswerInput is HR's answer to a review: the grade upheld (Grade empty or unchanged) or
// changed, with the reason.
type AnswerInput struct {
	PersonID int64  `json:"person_id"`
	Grade    string `json:"grade"`
	Answer   string `json:"answer"`
}

// AnswerReview answers a person's open review request of a cycle; a changed grade replaces
// the result's, within the pool's 好 quota.
func (s *Service) AnswerReview(ctx context.Context, p *auth.Principal, cycleID int64, in AnswerInput) (Review, error) {
	var out Review
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		answer, err := text("answer", "复核意见", in.Answer, 1000, true)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepFeedback, "答复复核申请"); err != nil {
			return err
		}
		rs, err := reviews(ctx, tx, c.id, in.PersonID)
		if err != nil {
			return err
		}
		if len(rs) == 0 || rs[0].State != ReviewOpen {
			return errs.Conflict("此人没有待答复的复核申请")
		}
		r := rs[0]
		grade := r.OldGrade
		if in.Grade != "" {
			grade = Grade(strings.TrimSpace(in.Grade))
			if grade.rank() > 3 {
				return errs.Invalid("grade", "等次应为好、较好、一般或较差")
			}
		}
		state := ReviewUpheld
		if grade != r.OldGrade {
			state = ReviewChanged
			var pool string
			if err := tx.QueryRow(ctx, `SELECT pool FROM ap_results WHERE cycle_id = ? AND person_id = ?`, c.id, r.PersonID).Scan(&pool); err != nil {
				return err
			}
			if grade == GradeGood {
				var size, good int
				// The pool is the unit's, or the merged pool of several small units (pool_key).
				if err := tx.QueryRow(ctx, `SELECT COUNT(*), COUNT(CASE WHEN grade = ? THEN 1 END) FROM ap_results
					WHERE pool_key = (SELECT pool_key FROM ap_results WHERE cycle_id = ? AND person_id = ?) AND status <> ?`,
					string(GradeGood), c.id, r.PersonID, string(StatusMissing)).Scan(&size, &good); err != nil {
					return err
				}
				eff, err := resolvePolicy(ctx, tx, orgRef{id: c.orgID, name: c.orgName, path: c.path}, c.quarter.Start(), true)
				if err != nil {
					return err
				}
				if slots := eff.Policy.GoodSlots(size); good >= slots {
					return errs.Conflict("%s评定池“好”等次已满%d名，不能改为好", PoolLabel(pool), slots)
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE ap_results SET grade = ?, status = ? WHERE cycle_id = ? AND person_id = ?`,
				string(grade), string(StatusReviewed), c.id, r.PersonID); err != nil {
				return err
			}
		}
		now := tx.Now()
		if _, err := tx.Exec(ctx, `UPDATE ap_reviews SET state = ?, new_grade = ?, answer = ?, answered_by = ?, answered_at = ? WHERE id = ?`,
			state, string(grade), answer, p.Username, store.FormatTime(now), r.ID); err != nil {
			return err
		}
		r.State, r.NewGrade, r.Answer, r.AnsweredBy, r.AnsweredAt = state, grade, answer, p.Username, &now
		out = r
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.review_answer", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"review_id": r.ID, "person_id": r.PersonID, "state": state,
				"grade": [2]Grade{r.OldGrade, grade}, "answer": answer}})
	})
	return out, err
}

// Reviews lists a cycle's review requests for HR and the district.
func (s *Service) Reviews(ctx context.Context, p *auth.Principal, cycleID int64) ([]Review, error) {
	var out []Review
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermView, cycleID)
		if err != nil {
			return err
		}
		out, err = reviews(ctx, tx, c.id, 0)
		return err
	})
	return out, err
}

// ProgressBar is the width in percent of the steps closed, for the cycle page.
func (pr Progress) ProgressBar() int { return min(pr.Step-1, StepCount) * 100 / StepCount }

// String names where the cycle stands.
func (pr Progress) String() string {
	if pr.Filed {
		return "已备案"
	}
	return fmt.Sprintf("第%d步 %s", pr.Step, pr.StepName)
}
