package appraisal

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/xlsx"
)

// Excel: the export of a unit's year for promotion review (every number with the columns it
// came from), and the imports HR keeps in spreadsheets: the roster of a quarter (who is
// appraised, in which pool) and its target task lists. Imports are all or nothing: when any
// row is bad nothing is written and the sheet comes back with a 错误说明 column.

// MaxImportBytes bounds an uploaded roster or task list.
const MaxImportBytes = 10 << 20

const maxImportRows = 5000

// scoreCell is a score in hundredths as an Excel number; Excel shows it with two decimals.
// The float exists only in the cell, never in a computation.
func scoreCell(h int64) float64 { return float64(h) / hundred }

var exportColumns = []xlsx.Column{
	{Header: "单位", Width: 22}, {Header: "季度", Width: 10}, {Header: "姓名", Width: 10}, {Header: "身份证号", Text: true, Width: 20},
	{Header: "评定池", Width: 10}, {Header: "名次", Width: 6}, {Header: "等次", Width: 6}, {Header: "等次说明", Width: 20},
	{Header: "综合得分", Width: 9}, {Header: "基础分", Width: 9},
	{Header: "德", Width: 7}, {Header: "能", Width: 7}, {Header: "勤", Width: 7}, {Header: "绩", Width: 7}, {Header: "廉", Width: 7},
	{Header: "干部群众评分", Width: 10}, {Header: "干部群众人数", Width: 10}, {Header: "主管领导评分", Width: 10}, {Header: "组织人事部门评分", Width: 12},
	{Header: "目标任务得分", Width: 24}, {Header: "加扣分", Width: 8}, {Header: "争先赛加分", Width: 9}, {Header: "负面清单扣分", Width: 10},
	{Header: "负面清单后果", Width: 14}, {Header: "加扣分及负面清单明细", Width: 40},
	{Header: "全年“好”等次季度数", Width: 12}, {Header: "年度建议", Width: 50}, {Header: "建议年度优秀", Width: 10},
}

// ExportResults writes a unit's published year, one row per person and quarter, for promotion
// review; the export of personal data is audited.
func (s *Service) ExportResults(ctx context.Context, p *auth.Principal, orgID int64, year int) ([]byte, UnitYear, error) {
	var out UnitYear
	var file []byte
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if out, err = unitYear(ctx, tx, p, orgID, year); err != nil {
			return err
		}
		if file, err = resultsWorkbook(out); err != nil {
			return err
		}
		rows := 0
		for _, pool := range out.Pools {
			for _, person := range pool.People {
				rows += len(person.Quarters)
			}
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.results_export", EntityType: "org",
			EntityID: out.OrgID, OrgID: out.OrgID, Summary: map[string]any{"year": year, "rows": rows}})
	})
	return file, out, err
}

func resultsWorkbook(y UnitYear) ([]byte, error) {
	var buf bytes.Buffer
	w, err := xlsx.NewWriter(&buf, "平时考核结果", exportColumns)
	if err != nil {
		return nil, err
	}
	for _, pool := range y.Pools {
		for _, person := range pool.People {
			proposed := "否"
			if person.Proposed {
				proposed = "是"
			}
			for _, q := range person.Quarters {
				b := q.Breakdown
				var target, details, consequence []string
				for _, d := range b.TargetDims {
					target = append(target, d.Label()+" "+FormatScore(b.Target[d]))
				}
				for _, a := range b.Adjustments {
					details = append(details, fmt.Sprintf("%s %s", a.Label, adjustmentText(a)))
				}
				if b.Capped {
					consequence = append(consequence, "最高评为一般")
				}
				if b.Failed {
					consequence = append(consequence, "直接评为较差")
				}
				rank := any(q.Rank)
				if q.Rank == 0 {
					rank = ""
				}
				err := w.WriteRow(q.OrgName, q.QuarterLabel, person.Name, org.MaskIDNumber(person.IDNumber), q.PoolLabel, rank,
					string(q.Grade), q.StatusLabel, scoreCell(b.Composite), scoreCell(b.Base),
					scoreCell(b.Dimensions[DimDe]), scoreCell(b.Dimensions[DimNeng]), scoreCell(b.Dimensions[DimQin]),
					scoreCell(b.Dimensions[DimJi]), scoreCell(b.Dimensions[DimLian]),
					partyCell(b, PartyMass), b.Parties[PartyMass].Count, partyCell(b, PartyLeader), partyCell(b, PartyHR),
					strings.Join(target, "；"), scoreCell(b.AdjustTotal), scoreCell(b.BonusTotal), scoreCell(b.Deducted),
					strings.Join(consequence, "；"), strings.Join(details, "；"),
					person.Annual.Good, person.Annual.Text, proposed)
				if err != nil {
					return nil, err
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// partyCell is a party's weighted score, or empty where the party did not count.
func partyCell(b Breakdown, pa Party) any {
	if int(pa) >= len(b.Parties) || !b.Parties[pa].Used {
		return ""
	}
	return scoreCell(b.Parties[pa].Score)
}

func adjustmentText(a Adjustment) string {
	switch {
	case a.Negative && a.Consequence != "" && a.Consequence != ConsequenceDeduct:
		return a.Consequence.Label()
	case a.Negative:
		return "扣" + FormatScore(a.Points) + "分"
	case a.Points >= 0:
		return "+" + FormatScore(a.Points)
	}
	return FormatScore(a.Points)
}

// ImportResult is the outcome of an import. When any row is bad nothing is written: Imported
// is 0, Problems maps each bad row (as Excel numbers it) to its problems, and Report is the
// uploaded sheet with them in a 错误说明 column.
type ImportResult struct {
	Imported int            `json:"imported"`
	Removed  int            `json:"removed,omitempty"`
	Problems map[int]string `json:"problems,omitempty"`
	Report   []byte         `json:"-"`
}

var errImportRefused = errors.New("appraisal: import has bad rows")

// refuseImport builds the result of an import with bad rows.
func refuseImport(f *xlsx.File, problems map[int][]string, what string) (ImportResult, error) {
	res := ImportResult{Problems: make(map[int]string, len(problems))}
	for n, msgs := range problems {
		res.Problems[n] = strings.Join(msgs, "；")
	}
	var buf bytes.Buffer
	if err := f.WriteReport(&buf, res.Problems); err != nil {
		return ImportResult{}, err
	}
	res.Report = buf.Bytes()
	return res, errs.Invalid(xlsx.Field, "共 %d 行有误，未导入任何%s，请按错误说明修改后重新上传", len(res.Problems), what)
}

// Pool names in the roster sheet.
const notAppraised = "不参加"

var rosterColumns = []xlsx.Column{
	{Header: "身份证号", Required: true, Text: true, Width: 20, Note: "18位身份证号，本列为文本格式"},
	{Header: "姓名", Width: 10, Note: "用于核对，须与身份证号为同一人"},
	{Header: "评定池", Required: true, Width: 12, Allowed: []string{"领导干部", "一般公务员", notAppraised},
		Note: "领导干部与一般公务员分别评定等次；“不参加”将此人移出本季度考核对象（尚无评价、清单记录和目标任务时）"},
}

// WriteRoster writes a cycle's roster as the template of its import: everyone appraised now.
func (s *Service) WriteRoster(ctx context.Context, p *auth.Principal, cycleID int64, w io.Writer) error {
	c, err := loadCycle(ctx, s.db, p, PermManage, cycleID)
	if err != nil {
		return err
	}
	xw, err := xlsx.NewWriter(w, "考核对象", rosterColumns)
	if err != nil {
		return err
	}
	rows, err := s.db.Query(ctx, `SELECT pe.id_number, pe.name, a.pool FROM ap_appraisees a JOIN people pe ON pe.id = a.person_id
		WHERE a.cycle_id = ? ORDER BY a.pool, pe.id`, c.id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name, pool string
		if err := rows.Scan(&id, &name, &pool); err != nil {
			return err
		}
		if err := xw.WriteRow(id, name, PoolLabel(pool)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return xw.Close()
}

// importRow is a row of an uploaded sheet, by header.
type importRow struct {
	n     int
	cells map[string]string
}

func readImport(r io.Reader, columns []xlsx.Column) (*xlsx.File, []importRow, error) {
	f, err := xlsx.Open(r, MaxImportBytes)
	if err != nil {
		return nil, nil, err
	}
	var rows []importRow
	err = f.ReadRows("", columns, func(row xlsx.Row) error {
		if len(rows) == maxImportRows {
			return errs.Invalid(xlsx.Field, "一次最多导入%d行，请分批上传", maxImportRows)
		}
		ir := importRow{n: row.Number, cells: map[string]string{}}
		for _, c := range columns {
			ir.cells[c.Header] = row.Get(c.Header)
		}
		rows = append(rows, ir)
		return nil
	})
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rows, nil
}

// unitPerson finds a live person of the unit's subtree by 身份证号, checking the name when given.
func unitPerson(ctx context.Context, tx *store.Tx, c cycleRef, idNumber, name string) (int64, string, string) {
	if idNumber == "" {
		return 0, "", "请填写身份证号"
	}
	if xlsx.Scientific(idNumber) {
		return 0, "", "身份证号被 Excel 当成数字显示为科学计数法，请把该列设为文本后重新填写"
	}
	lo, hi := store.PathRange(c.path)
	var id int64
	var real string
	err := tx.QueryRow(ctx, `SELECT pe.id, pe.name FROM people pe JOIN orgs o ON o.id = pe.org_id
		WHERE pe.id_number = ? AND pe.archived_at IS NULL AND o.path >= ? AND o.path < ?`, strings.ToUpper(idNumber), lo, hi).Scan(&id, &real)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, "", fmt.Sprintf("“%s”没有此身份证号的人员", c.orgName)
	case err != nil:
		return 0, "", "查找人员失败"
	case name != "" && name != real:
		return 0, "", fmt.Sprintf("姓名与身份证号不符（系统中为%s）", real)
	}
	return id, real, ""
}

// ImportRoster sets a cycle's appraisees and pools from a sheet, all or nothing, while step 1
// is open: each row puts a person of the unit in a pool (set by HR) or takes them out.
func (s *Service) ImportRoster(ctx context.Context, p *auth.Principal, cycleID int64, r io.Reader) (ImportResult, error) {
	// The cycle first: a file sent to a cycle out of reach is not read, so ids cannot be probed.
	if _, err := loadCycle(ctx, s.db, p, PermManage, cycleID); err != nil {
		return ImportResult{}, err
	}
	f, rows, err := readImport(r, rosterColumns)
	if err != nil {
		return ImportResult{}, err
	}
	defer f.Close()
	var res ImportResult
	problems := map[int][]string{}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepTargets, "调整考核对象"); err != nil {
			return err
		}
		seen := map[int64]int{}
		var set, removed [][2]any
		for _, row := range rows {
			var msgs []string
			id, _, msg := unitPerson(ctx, tx, c, row.cells["身份证号"], row.cells["姓名"])
			if msg != "" {
				msgs = append(msgs, msg)
			}
			pool := ""
			switch row.cells["评定池"] {
			case "领导干部", PoolLeader:
				pool = PoolLeader
			case "一般公务员", PoolStaff:
				pool = PoolStaff
			case notAppraised:
			default:
				msgs = append(msgs, "评定池应为领导干部、一般公务员或不参加")
			}
			if first, dup := seen[id]; dup && id != 0 {
				msgs = append(msgs, fmt.Sprintf("与第%d行是同一人", first))
			}
			if id != 0 {
				seen[id] = row.n
			}
			if id != 0 && pool == "" && len(msgs) == 0 {
				var n int
				if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM ap_ratings WHERE cycle_id = ? AND ratee_id = ?)
					+ (SELECT COUNT(*) FROM ap_entries WHERE cycle_id = ? AND person_id = ?)
					+ (SELECT COUNT(*) FROM ap_tasks WHERE cycle_id = ? AND person_id = ?)`, c.id, id, c.id, id, c.id, id).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					msgs = append(msgs, "此人已有评价、清单记录或目标任务，不能移出考核对象")
				}
			}
			if len(msgs) > 0 {
				problems[row.n] = msgs
				continue
			}
			if pool == "" {
				removed = append(removed, [2]any{id, nil})
			} else {
				set = append(set, [2]any{id, pool})
			}
		}
		if len(problems) > 0 {
			return errImportRefused
		}
		for _, s := range set {
			rs, err := tx.Exec(ctx, `UPDATE ap_appraisees SET pool = ?, explicit = TRUE WHERE cycle_id = ? AND person_id = ?`, s[1], c.id, s[0])
			if err != nil {
				return err
			}
			if n, _ := rs.RowsAffected(); n == 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO ap_appraisees (cycle_id, person_id, pool, explicit) VALUES (?, ?, ?, TRUE)`, c.id, s[0], s[1]); err != nil {
					return err
				}
			}
		}
		for _, rm := range removed {
			rs, err := tx.Exec(ctx, `DELETE FROM ap_appraisees WHERE cycle_id = ? AND person_id = ?`, c.id, rm[0])
			if err != nil {
				return err
			}
			if n, _ := rs.RowsAffected(); n > 0 {
				res.Removed++
			}
			if _, err := tx.Exec(ctx, `DELETE FROM ap_results WHERE cycle_id = ? AND person_id = ?`, c.id, rm[0]); err != nil {
				return err
			}
		}
		res.Imported = len(set)
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.roster_import", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"set": len(set), "removed": res.Removed}})
	})
	if errors.Is(err, errImportRefused) {
		return refuseImport(f, problems, "考核对象")
	}
	return res, err
}

var taskColumns2 = []xlsx.Column{
	{Header: "身份证号", Required: true, Text: true, Width: 20, Note: "考核对象的18位身份证号，本列为文本格式"},
	{Header: "姓名", Width: 10, Note: "用于核对，须与身份证号为同一人"},
	{Header: "维度", Required: true, Width: 8, Allowed: []string{"能", "勤", "绩"}, Note: "目标任务只适用于能、勤、绩"},
	{Header: "任务名称", Required: true, Width: 24, Note: "不超过100字"},
	{Header: "完成标准", Required: true, Width: 30, Note: "不超过500字"},
	{Header: "佐证材料要求", Width: 20, Note: "可不填，不超过500字"},
	{Header: "权重", Required: true, Width: 8, Note: "1 到 100 的整数，同一维度内各任务的相对权重"},
	{Header: "达标基础分", Required: true, Width: 10, Note: "1 到 100 的整数，达标即得此分"},
}

// WriteTaskTemplate writes the template of a cycle's target task import: one example row for
// each appraisee, to copy as many times as they have tasks.
func (s *Service) WriteTaskTemplate(ctx context.Context, p *auth.Principal, cycleID int64, w io.Writer) error {
	c, err := loadCycle(ctx, s.db, p, PermManage, cycleID)
	if err != nil {
		return err
	}
	xw, err := xlsx.NewWriter(w, "目标任务", taskColumns2)
	if err != nil {
		return err
	}
	rows, err := s.db.Query(ctx, `SELECT pe.id_number, pe.name FROM ap_appraisees a JOIN people pe ON pe.id = a.person_id
		WHERE a.cycle_id = ? ORDER BY a.pool, pe.id`, c.id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		if err := xw.WriteRow(id, name, "绩"); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return xw.Close()
}

// ImportTasks adds target tasks to a cycle's appraisees from a sheet, all or nothing, while
// step 1 is open; every row is checked like a task set on the page.
func (s *Service) ImportTasks(ctx context.Context, p *auth.Principal, cycleID int64, r io.Reader) (ImportResult, error) {
	// The cycle first: a file sent to a cycle out of reach is not read, so ids cannot be probed.
	if _, err := loadCycle(ctx, s.db, p, PermManage, cycleID); err != nil {
		return ImportResult{}, err
	}
	f, rows, err := readImport(r, taskColumns2)
	if err != nil {
		return ImportResult{}, err
	}
	defer f.Close()
	var res ImportResult
	problems := map[int][]string{}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepTargets, "制定目标任务"); err != nil {
			return err
		}
		type task struct {
			person int64
			in     TaskInput
			d      Dim
		}
		var tasks []task
		for _, row := range rows {
			var msgs []string
			id, _, msg := unitPerson(ctx, tx, c, row.cells["身份证号"], row.cells["姓名"])
			if msg != "" {
				msgs = append(msgs, msg)
			} else if _, _, err := appraiseeOf(ctx, tx, c.id, id, "person_id"); err != nil {
				if errs.As(err).Kind == errs.KindInternal {
					return err
				}
				msgs = append(msgs, "此人不是本季度的考核对象")
			}
			in := TaskInput{CycleID: c.id, PersonID: id}
			d, ok := ParseDim(row.cells["维度"])
			if !ok || !d.Quantitative() {
				msgs = append(msgs, "维度应为能、勤或绩")
			}
			for _, f := range []struct {
				dst          *string
				header, name string
				limit        int
				required     bool
			}{{&in.Title, "任务名称", "任务名称", 100, true}, {&in.Standard, "完成标准", "完成标准", 500, true}, {&in.Evidence, "佐证材料要求", "佐证材料要求", 500, false}} {
				v, err := text("", f.name, row.cells[f.header], f.limit, f.required)
				if err != nil {
					msgs = append(msgs, errs.As(err).Message)
				}
				*f.dst = v
			}
			for _, n := range []struct {
				dst    *int64
				header string
				msg    string
			}{{&in.Weight, "权重", "权重应为 1 到 100 的整数"}, {&in.BaseScore, "达标基础分", "达标基础分应为 1 到 100 的整数"}} {
				v, err := strconv.ParseInt(row.cells[n.header], 10, 64)
				if err != nil || v < 1 || v > 100 {
					msgs = append(msgs, n.msg)
				}
				*n.dst = v
			}
			if len(msgs) > 0 {
				problems[row.n] = msgs
				continue
			}
			tasks = append(tasks, task{person: id, in: in, d: d})
		}
		if len(problems) > 0 {
			return errImportRefused
		}
		now := store.FormatTime(tx.Now())
		for _, t := range tasks {
			if _, err := tx.Insert(ctx, `INSERT INTO ap_tasks (cycle_id, org_id, person_id, dimension, title, standard, evidence, weight,
					base_score, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.id, c.orgID, t.person, t.d.Key(), t.in.Title, t.in.Standard, t.in.Evidence, t.in.Weight, t.in.BaseScore, now, now); err != nil {
				return err
			}
		}
		res.Imported = len(tasks)
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.tasks_import", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"tasks": len(tasks)}})
	})
	if errors.Is(err, errImportRefused) {
		return refuseImport(f, problems, "目标任务")
	}
	return res, err
}
