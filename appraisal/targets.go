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

// Target task lists (目标任务清单) for 能、勤、绩: HR sets each person's tasks for the quarter
// with a weight, a standard and the evidence expected; the person reports completion; the
// supervising leader assesses. 达标赛: a task whose standard is met earns its base score; one
// not met earns what the assessor gives, below the base.

// Task states.
const (
	TaskSet      = "set"      // awaiting the person's report
	TaskReported = "reported" // awaiting assessment
	TaskAssessed = "assessed"
)

// TaskInput sets one target task.
type TaskInput struct {
	CycleID   int64  `json:"cycle_id"`
	PersonID  int64  `json:"person_id"`
	Dimension string `json:"dimension"` // neng, qin or ji
	Title     string `json:"title"`
	Standard  string `json:"standard"`
	Evidence  string `json:"evidence"` // what will show it was done
	Weight    int64  `json:"weight"`   // 1–100, relative to the person's other tasks of the dimension
	BaseScore int64  `json:"base_score"`
}

// Task is a target task with its report and assessment.
type Task struct {
	ID           int64      `json:"id"`
	CycleID      int64      `json:"cycle_id"`
	OrgID        int64      `json:"org_id"`
	PersonID     int64      `json:"person_id"`
	PersonName   string     `json:"person_name"`
	Dimension    Dim        `json:"dimension"`
	Title        string     `json:"title"`
	Standard     string     `json:"standard"`
	Evidence     string     `json:"evidence"`
	Weight       int64      `json:"weight"`
	BaseScore    int64      `json:"base_score"`
	SelfReport   string     `json:"self_report"`
	SelfEvidence string     `json:"self_evidence"`
	ReportedAt   *time.Time `json:"reported_at"`
	Met          *bool      `json:"met"`
	Score        *int64     `json:"score"` // hundredths
	AssessNote   string     `json:"assess_note"`
	AssessedBy   string     `json:"assessed_by"`
	State        string     `json:"state"`
}

// ReportInput is the person's own report of a task.
type ReportInput struct {
	Completion string `json:"completion"`
	Evidence   string `json:"evidence"`
}

// AssessInput is the supervising leader's assessment: the standard met, or not and the score
// (whole points, below the task's base score).
type AssessInput struct {
	Met   bool   `json:"met"`
	Score int64  `json:"score"`
	Note  string `json:"note"`
}

// CreateTask sets a target task for a person in a cycle.
func (s *Service) CreateTask(ctx context.Context, p *auth.Principal, in TaskInput) (Task, error) {
	var out Task
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, in.CycleID)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepTargets, "制定目标任务"); err != nil {
			return err
		}
		_, name, err := appraiseeOf(ctx, tx, c.id, in.PersonID, "person_id")
		if err != nil {
			return err
		}
		var ps problems
		d, ok := ParseDim(in.Dimension)
		if !ok || !d.Quantitative() {
			ps.add("dimension", "目标任务只适用于能、勤、绩三项")
		}
		if in.Title, err = text("title", "任务名称", in.Title, 100, true); err != nil {
			ps = append(ps, err)
		}
		if in.Standard, err = text("standard", "完成标准", in.Standard, 500, true); err != nil {
			ps = append(ps, err)
		}
		if in.Evidence, err = text("evidence", "佐证材料要求", in.Evidence, 500, false); err != nil {
			ps = append(ps, err)
		}
		if in.Weight < 1 || in.Weight > 100 {
			ps.add("weight", "任务权重应在 1 到 100 之间")
		}
		if in.BaseScore < 1 || in.BaseScore > 100 {
			ps.add("base_score", "达标基础分应在 1 到 100 分之间")
		}
		if err := ps.err(); err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		id, err := tx.Insert(ctx, `INSERT INTO ap_tasks (cycle_id, org_id, person_id, dimension, title, standard, evidence, weight,
				base_score, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.id, c.orgID, in.PersonID, d.Key(), in.Title, in.Standard, in.Evidence, in.Weight, in.BaseScore, now, now)
		if err != nil {
			return err
		}
		out = Task{ID: id, CycleID: c.id, OrgID: c.orgID, PersonID: in.PersonID, PersonName: name, Dimension: d, Title: in.Title,
			Standard: in.Standard, Evidence: in.Evidence, Weight: in.Weight, BaseScore: in.BaseScore, State: TaskSet}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.task_create", EntityType: "appraisal_task",
			EntityID: id, OrgID: c.orgID, Summary: in})
	})
	return out, err
}

// ReportTask is the person's own report of completion; it is closed once assessed.
func (s *Service) ReportTask(ctx context.Context, p *auth.Principal, id int64, in ReportInput) (Task, error) {
	var out Task
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := loadTask(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if p.PersonID == 0 || p.PersonID != t.PersonID {
			return errs.Forbidden("只能填报本人的目标任务完成情况")
		}
		if err := stepOpen(ctx, tx, t.CycleID, StepSummary, "填报目标任务完成情况"); err != nil {
			return err
		}
		if t.State == TaskAssessed {
			return errs.Conflict("任务已评定，不能再修改完成情况")
		}
		var ps problems
		if in.Completion, err = text("completion", "完成情况", in.Completion, 1000, true); err != nil {
			ps = append(ps, err)
		}
		if in.Evidence, err = text("evidence", "佐证材料", in.Evidence, 500, false); err != nil {
			ps = append(ps, err)
		}
		if err := ps.err(); err != nil {
			return err
		}
		now := tx.Now()
		if _, err := tx.Exec(ctx, `UPDATE ap_tasks SET self_report = ?, self_evidence = ?, reported_at = ?, updated_at = ? WHERE id = ?`,
			in.Completion, in.Evidence, store.FormatTime(now), store.FormatTime(now), t.ID); err != nil {
			return err
		}
		t.SelfReport, t.SelfEvidence, t.ReportedAt, t.State = in.Completion, in.Evidence, &now, TaskReported
		out = t
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.task_report", EntityType: "appraisal_task",
			EntityID: t.ID, OrgID: t.OrgID, Summary: in})
	})
	return out, err
}

// AssessTask is the supervising leader's assessment of a task. Assessing again replaces the
// assessment; the audit keeps the earlier one.
func (s *Service) AssessTask(ctx context.Context, p *auth.Principal, id int64, in AssessInput) (Task, error) {
	var out Task
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := loadTask(ctx, tx, p, id)
		if err != nil {
			return err
		}
		c, err := loadCycle(ctx, tx, p, PermRate, t.CycleID)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepLeader, "评定目标任务"); err != nil {
			return err
		}
		if p.PersonID != 0 && p.PersonID == t.PersonID {
			return errs.Forbidden("不能评定本人的目标任务")
		}
		score := t.BaseScore * hundred
		if !in.Met {
			if in.Score < 0 || in.Score >= t.BaseScore {
				return errs.Invalid("score", "未达标的任务得分应在 0 到 %d 分之间（低于达标基础分 %d 分）", t.BaseScore-1, t.BaseScore)
			}
			score = in.Score * hundred
		}
		note, err := text("note", "评定意见", in.Note, 500, false)
		if err != nil {
			return err
		}
		if err := supervises(ctx, tx, p, t.PersonID, t.PersonName); err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		if _, err := tx.Exec(ctx, `UPDATE ap_tasks SET met = ?, score = ?, assess_note = ?, assessed_by = ?, assessed_at = ?, updated_at = ?
			WHERE id = ?`, in.Met, score, note, p.Username, now, now, t.ID); err != nil {
			return err
		}
		summary := map[string]any{"met": in.Met, "score": score, "note": note}
		if t.State == TaskAssessed {
			summary["was"] = map[string]any{"met": *t.Met, "score": *t.Score, "by": t.AssessedBy}
		}
		t.Met, t.Score, t.AssessNote, t.AssessedBy, t.State = &in.Met, &score, note, p.Username, TaskAssessed
		out = t
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.task_assess", EntityType: "appraisal_task",
			EntityID: t.ID, OrgID: t.OrgID, Summary: summary})
	})
	return out, err
}

const taskColumns = `SELECT t.id, t.cycle_id, t.org_id, t.person_id, pe.name, t.dimension, t.title, t.standard, t.evidence,
		t.weight, t.base_score, t.self_report, t.self_evidence, t.reported_at, t.met, t.score, t.assess_note, t.assessed_by
	FROM ap_tasks t JOIN orgs o ON o.id = t.org_id JOIN people pe ON pe.id = t.person_id`

// taskScope lets staff see the tasks in their sight and everyone their own.
func taskScope(p *auth.Principal) (string, []any) {
	view, args := p.Scope(PermView).Where("o.path", "")
	self, selfArgs := p.Scope(PermSelf).Where("o.path", "t.person_id")
	return "(" + view + " OR " + self + ")", append(args, selfArgs...)
}

func scanTask(row interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var dim string
	var reported sql.NullString
	var met sql.NullBool
	var score sql.NullInt64
	err := row.Scan(&t.ID, &t.CycleID, &t.OrgID, &t.PersonID, &t.PersonName, &dim, &t.Title, &t.Standard, &t.Evidence,
		&t.Weight, &t.BaseScore, &t.SelfReport, &t.SelfEvidence, &reported, &met, &score, &t.AssessNote, &t.AssessedBy)
	if err != nil {
		return t, err
	}
	t.Dimension, _ = ParseDim(dim)
	t.State = TaskSet
	if reported.Valid {
		rt, err := store.ParseTime(reported.String)
		if err != nil {
			return t, err
		}
		t.ReportedAt, t.State = &rt, TaskReported
	}
	if met.Valid && score.Valid {
		t.Met, t.Score, t.State = &met.Bool, &score.Int64, TaskAssessed
	}
	return t, nil
}

func loadTask(ctx context.Context, q querier, p *auth.Principal, id int64) (Task, error) {
	cond, args := taskScope(p)
	t, err := scanTask(q.QueryRow(ctx, taskColumns+` WHERE t.id = ? AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return t, errs.NotFound("目标任务不存在")
	}
	return t, err
}

// taskCycle checks that the caller may list the tasks of a cycle: one in their sight, or one
// they are appraised in. Any other cycle is not found, as it is for its entries and results,
// so that cycle ids cannot be probed.
func taskCycle(ctx context.Context, q querier, p *auth.Principal, cycleID int64) error {
	view, args := p.Scope(PermView).Where("o.path", "")
	self, selfArgs := p.Scope(PermSelf).Where("o.path", "a.person_id")
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM ap_cycles c JOIN orgs o ON o.id = c.org_id WHERE c.id = ? AND (`+view+`
		OR EXISTS (SELECT 1 FROM ap_appraisees a WHERE a.cycle_id = c.id AND `+self+`))`,
		append(append([]any{cycleID}, args...), selfArgs...)...).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.NotFound("考核周期不存在")
	}
	return nil
}

// TaskFilter narrows a list of tasks.
type TaskFilter struct {
	CycleID  int64
	PersonID int64
}

// ListTasks lists a cycle's tasks in the caller's sight (a person sees their own).
func (s *Service) ListTasks(ctx context.Context, p *auth.Principal, f TaskFilter) ([]Task, error) {
	cond, args := taskScope(p)
	cond += " AND t.cycle_id = ?"
	args = append(args, f.CycleID)
	if f.PersonID != 0 {
		cond += " AND t.person_id = ?"
		args = append(args, f.PersonID)
	}
	var out []Task
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if err := taskCycle(ctx, tx, p, f.CycleID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, taskColumns+` WHERE `+cond+` ORDER BY t.person_id, t.dimension, t.id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// assessedTasks are a cycle's assessed tasks, by person.
func assessedTasks(ctx context.Context, q querier, cycleID int64) (map[int64][]TaskScore, error) {
	rows, err := q.Query(ctx, `SELECT person_id, dimension, weight, score FROM ap_tasks
		WHERE cycle_id = ? AND score IS NOT NULL ORDER BY id`, cycleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]TaskScore{}
	for rows.Next() {
		var person int64
		var dim string
		var ts TaskScore
		if err := rows.Scan(&person, &dim, &ts.Weight, &ts.Score); err != nil {
			return nil, err
		}
		ts.Dim, _ = ParseDim(dim)
		out[person] = append(out[person], ts)
	}
	return out, rows.Err()
}
