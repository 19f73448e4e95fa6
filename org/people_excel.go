package org

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/xlsx"
)

// Headers of the people spreadsheet. Required columns are marked red in the template rather
// than with a "*" in the text; the reader accepts headers with or without one.
const (
	colName       = "姓名"
	colGender     = "性别"
	colIDNumber   = "身份证号"
	colMobile     = "手机号"
	colStatus     = "政治面貌"
	colJoined     = "入党时间"
	colCategories = "人员类别"
	colOrg        = "所属组织"
)

// PeopleSheet is the name of the data sheet of the template and the export.
const PeopleSheet = "人员"

// DefaultImportBytes is the upload limit when ImportOptions.MaxBytes is not set: about
// 300,000 rows, which keeps an import within the memory the server is sized for.
const DefaultImportBytes = 20 << 20

// peopleColumns is the one definition of the people spreadsheet: the template, the import, the
// export and the import page's rules all come from it. Examples live in the notes, which the
// instructions sheet shows, because an example row in the data sheet gets imported by mistake.
var peopleColumns = []xlsx.Column{
	{Header: colName, Required: true, Width: 12, Note: "例：张三"},
	{Header: colGender, Allowed: []string{GenderMale, GenderFemale}, Width: 8, Note: "可不填，由身份证号推算；填写时须与身份证号一致"},
	{Header: colIDNumber, Required: true, Text: true,
		Note: "18位居民身份证号，末位可为X。本列已设为文本格式，请勿改为数字，否则 Excel 会丢失末尾数字"},
	{Header: colMobile, Text: true, Width: 16, Note: "11位手机号，可不填"},
	{Header: colStatus, Required: true, Allowed: politicalStatuses, Width: 14},
	{Header: colJoined, Width: 14, Note: "中共党员、中共预备党员填写，如 2001-07-01；其他人员不填"},
	{Header: colCategories, Width: 20,
		Note: "可填多个，用顿号或逗号分隔，如 在职、志愿者。可选：" + strings.Join(categories, "、")},
	{Header: colOrg, Required: true, Width: 36,
		Note: "12位区划代码，或从上级写起的组织路径，用 / 分隔，如 元阳县/元城镇/元城镇社区"},
}

// PeopleColumns describes the columns of the people spreadsheet, for pages that explain them.
func PeopleColumns() []xlsx.Column { return slices.Clone(peopleColumns) }

// WritePeopleTemplate writes the empty import template: the header row with text columns,
// dropdowns and prompts, and the "说明" sheet explaining every column.
func (s *Service) WritePeopleTemplate(w io.Writer) error {
	xw, err := xlsx.NewWriter(w, PeopleSheet, peopleColumns)
	if err != nil {
		return err
	}
	return xw.Close()
}

// ImportOptions tune one import.
type ImportOptions struct {
	MaxBytes int64          // upload size limit; 0: DefaultImportBytes
	Progress func(done int) // called now and then with the number of rows checked so far
}

// ImportResult is the outcome of an import. When any row is bad, Imported is 0, Problems maps
// each bad row's number (as Excel shows it) to all of its problems joined with "；", and Report
// is the uploaded sheet with those messages in a 错误说明 column.
type ImportResult struct {
	Imported int
	Problems map[int]string
	Report   []byte
}

// progressEvery is how many rows pass between Progress calls and cancellation checks.
const progressEvery = 1000

// existingBatch is how many 身份证号 one query checks against the table.
const existingBatch = 500

// ImportPeople adds the people of an uploaded spreadsheet, all or nothing. Every row is checked
// — the fields, the organisation (by division code or path, which the caller must hold both
// people.import and people.manage over), 身份证号 repeated within the file or already in the
// table — before anything is written. If all rows are good they are inserted in one
// transaction with one audit record. Otherwise nothing is written and the result carries every
// bad row's problems and the error report, and the error is errs.Invalid("file", "共 N 行有误…"),
// so a caller that only checks the error never reports success. Problems with the file itself
// (not .xlsx, too big, wrong header, merged cells, no data) are errs.Invalid("file", …) with an
// empty result.
func (s *Service) ImportPeople(ctx context.Context, p *auth.Principal, r io.Reader, opts ImportOptions) (ImportResult, error) {
	if !p.Can(auth.PeopleImport) || !p.Can(auth.PeopleManage) {
		return ImportResult{}, errs.Forbidden("没有导入人员的权限")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultImportBytes
	}
	f, err := xlsx.Open(r, opts.MaxBytes)
	if err != nil {
		return ImportResult{}, err
	}
	defer f.Close()
	im := s.newImport(p, opts.Progress)
	err = f.ReadRows("", peopleColumns, func(row xlsx.Row) error { return im.row(ctx, row) })
	if err == nil {
		err = im.finish(ctx)
	}
	if err != nil {
		return ImportResult{}, err
	}
	if len(im.problems) > 0 {
		return im.refuse(f)
	}
	if err := s.insertImported(ctx, p, im); err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Imported: len(im.good)}, nil
}

// peopleImport is the state of one import while its rows stream past.
type peopleImport struct {
	s        *Service
	p        *auth.Principal
	now      time.Time
	orgs     *OrgResolver
	allowed  map[int64]bool       // organisation → the caller may import into it
	first    map[string]int       // 身份证号 → the first row holding it
	repeats  map[int][]int        // first row → the later rows repeating its 身份证号
	pending  []pendingID          // valid numbers not yet checked against the table
	problems map[int][]string     // row → its problems
	good     []ValidPerson        // the rows to insert, while no row is bad
	touched  map[int64]*orgImport // organisations receiving people, for the audit record
	done     int
	progress func(int)
}

type pendingID struct {
	number string
	row    int
}

type orgImport struct {
	path  string
	count int
}

func (s *Service) newImport(p *auth.Principal, progress func(int)) *peopleImport {
	return &peopleImport{s: s, p: p, now: s.db.Now(), orgs: s.NewOrgResolver(p),
		allowed: map[int64]bool{}, first: map[string]int{}, repeats: map[int][]int{},
		problems: map[int][]string{}, touched: map[int64]*orgImport{}, progress: progress}
}

// row checks one spreadsheet row and keeps it for the insert if it is good.
func (im *peopleImport) row(ctx context.Context, row xlsx.Row) error {
	im.done++
	if im.done%progressEvery == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if im.progress != nil {
			im.progress(im.done)
		}
	}
	o, orgProblem, err := im.org(ctx, row.Get(colOrg))
	if err != nil {
		return err
	}
	v, msgs := PersonFromCells(row.Get, im.now)
	v.OrgID = o.ID
	if orgProblem != "" {
		msgs = append(msgs, orgProblem)
	}
	if v.IDNumber != "" {
		if m, ok := im.first[v.IDNumber]; ok {
			im.repeats[m] = append(im.repeats[m], row.Number)
			msgs = append(msgs, fmt.Sprintf("身份证号与第%d行重复", m))
		} else {
			im.first[v.IDNumber] = row.Number
			if err := im.checkLater(ctx, v.IDNumber, row.Number); err != nil {
				return err
			}
		}
	}
	if len(msgs) > 0 {
		im.problems[row.Number] = append(im.problems[row.Number], msgs...)
		im.good = nil // nothing will be inserted: stop holding rows
		return nil
	}
	if len(im.problems) == 0 {
		im.good = append(im.good, v)
		t := im.touched[o.ID]
		if t == nil {
			t = &orgImport{path: o.Path}
			im.touched[o.ID] = t
		}
		t.count++
	}
	return nil
}

// PersonFromCells reads one row of the people spreadsheet, given as the text of each cell by
// column header (xlsx.Row.Get), into a validated person, or the messages for the user naming
// each field at fault. It does no I/O: the organisation cell is left to the caller, who looks
// it up once per distinct text, so OrgID is 0. now is the day "today" is measured against.
func PersonFromCells(cell func(header string) string, now time.Time) (ValidPerson, []string) {
	joined := cell(colJoined)
	if d, ok := xlsx.Date(joined); ok {
		joined = d
	}
	in := PersonInput{
		Name: cell(colName), Gender: cell(colGender), IDNumber: cell(colIDNumber),
		Mobile: cell(colMobile), PoliticalStatus: cell(colStatus), PartyJoinedOn: joined,
		Categories: splitCategories(cell(colCategories)),
	}
	v, invalid := in.Validate(now)
	return v, cellProblems(cell, invalid)
}

// narrowBrackets turns brackets typed with a Chinese input method into the ASCII ones the
// category names use, so that 村（社区）干部 is the category 村(社区)干部.
var narrowBrackets = strings.NewReplacer("（", "(", "）", ")")

// splitCategories splits a cell of several categories.
func splitCategories(cell string) []string {
	cell = narrowBrackets.Replace(cell)
	return strings.FieldsFunc(cell, func(r rune) bool {
		return r == '、' || r == ',' || r == '，' || r == ';' || r == '；'
	})
}

// sciMessage tells the user why a number typed into a number cell cannot be imported.
const sciMessage = "%s被 Excel 转成了科学计数法（%s），末尾数字已丢失：请将该列设为文本格式后重新输入"

// cellProblems turns the validation problems of a row into messages, in column order. The
// organisation is checked by the import itself, so Validate's complaint about it is dropped;
// a number a spreadsheet kept as a number, losing digits, gets a message saying how to fix
// it; and "请填写性别" is dropped while the 身份证号 is wrong, since a correct number supplies
// the gender.
func cellProblems(cell func(header string) string, invalid error) []string {
	ps, _ := invalid.(Problems)
	badID := slices.ContainsFunc(ps, func(e *errs.Error) bool { return e.Field == "id_number" })
	var msgs []string
	for _, e := range ps {
		switch {
		case e.Field == "org_id":
		case e.Field == "gender" && badID && cell(colGender) == "":
		case e.Field == "id_number" && xlsx.Scientific(cell(colIDNumber)):
			msgs = append(msgs, fmt.Sprintf(sciMessage, colIDNumber, cell(colIDNumber)))
		case e.Field == "id_number" && roundedID(cell(colIDNumber)):
			msgs = append(msgs, e.Message+"（末尾为000，可能是该列被 Excel 当作数字保存而丢失了末尾数字，请将该列设为文本格式后重新输入）")
		case e.Field == "mobile" && xlsx.Scientific(cell(colMobile)):
			msgs = append(msgs, fmt.Sprintf(sciMessage, colMobile, cell(colMobile)))
		default:
			msgs = append(msgs, e.Message)
		}
	}
	return msgs
}

// roundedID reports whether a number looks like an 18-digit 身份证号 that a spreadsheet kept as
// a number: 15 significant digits survive, so it ends in 000. Excel itself writes such numbers
// in scientific notation, other spreadsheet programs in full.
func roundedID(s string) bool {
	return len(s) == 18 && strings.HasSuffix(s, "000") && strings.Trim(s, "0123456789") == ""
}

// org resolves the organisation cell and checks the caller may import people there. A
// problem for the user comes back as a message; only unexpected failures are errors.
func (im *peopleImport) org(ctx context.Context, text string) (Org, string, error) {
	if strings.TrimSpace(text) == "" {
		return Org{}, "请填写所属组织", nil
	}
	o, err := im.orgs.Resolve(ctx, text)
	switch {
	case err == nil:
	case errs.KindOf(err) == errs.KindInternal:
		return Org{}, "", err
	default:
		return Org{}, errs.As(err).Message, nil
	}
	ok, seen := im.allowed[o.ID]
	if !seen {
		ok = may(im.p, auth.PeopleImport, o.Path) && may(im.p, auth.PeopleManage, o.Path)
		im.allowed[o.ID] = ok
	}
	if !ok {
		return Org{}, fmt.Sprintf("无权向组织“%s”导入人员", o.Name), nil
	}
	return o, "", nil
}

// checkLater queues a number for the check against the table, which runs a batch at a time.
func (im *peopleImport) checkLater(ctx context.Context, number string, row int) error {
	im.pending = append(im.pending, pendingID{number, row})
	if len(im.pending) < existingBatch {
		return nil
	}
	return im.checkExisting(ctx)
}

// checkExisting refuses the pending numbers that another person, archived or not, already
// has, naming that person only when the caller may see them.
func (im *peopleImport) checkExisting(ctx context.Context) error {
	if len(im.pending) == 0 {
		return nil
	}
	args := make([]any, len(im.pending))
	rowOf := make(map[string]int, len(im.pending))
	for i, pid := range im.pending {
		args[i] = pid.number
		rowOf[pid.number] = pid.row
	}
	im.pending = im.pending[:0]
	rows, err := im.s.db.Query(ctx, `SELECT `+personColumns+` FROM people pe JOIN orgs o ON o.id = pe.org_id
		WHERE pe.id_number IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return err
	}
	found, err := scanPeople(rows)
	if err != nil {
		return err
	}
	view := im.p.Scope(auth.PeopleView)
	for _, other := range found {
		msg := "身份证号已存在"
		switch {
		case !view.CoversPerson(other.ID, other.OrgPath):
		case other.Archived:
			msg = fmt.Sprintf("身份证号已存在：%s（%s，已归档）", other.Name, other.OrgName)
		default:
			msg = fmt.Sprintf("身份证号已存在：%s（%s）", other.Name, other.OrgName)
		}
		n := rowOf[other.IDNumber]
		im.problems[n] = append(im.problems[n], msg)
		im.good = nil
	}
	return nil
}

// finish runs the last batch of the table check, names the later copies on the first row of
// each repeated 身份证号, and reports the final progress.
func (im *peopleImport) finish(ctx context.Context) error {
	if err := im.checkExisting(ctx); err != nil {
		return err
	}
	for first, later := range im.repeats {
		rows := make([]string, 0, len(later))
		for i, n := range later {
			if i == maxCandidates {
				rows[len(rows)-1] += "等"
				break
			}
			rows = append(rows, strconv.Itoa(n))
		}
		im.problems[first] = append(im.problems[first], fmt.Sprintf("身份证号与第%s行重复", strings.Join(rows, "、")))
		im.good = nil
	}
	if im.progress != nil {
		im.progress(im.done)
	}
	return nil
}

// refuse builds the result of an import with bad rows: the problems and the error report.
func (im *peopleImport) refuse(f *xlsx.File) (ImportResult, error) {
	res := ImportResult{Problems: make(map[int]string, len(im.problems))}
	for n, msgs := range im.problems {
		res.Problems[n] = strings.Join(msgs, "；")
	}
	var buf bytes.Buffer
	if err := f.WriteReport(&buf, res.Problems); err != nil {
		return ImportResult{}, err
	}
	res.Report = buf.Bytes()
	return res, errs.Invalid(xlsx.Field, "共 %d 行有误，未导入任何数据，请按错误报告修改后重新导入", len(res.Problems))
}

// insertImported writes the checked rows and the import's audit record in one transaction.
// InsertPeopleBulk takes the package's write lock and refuses organisations archived since
// the check; a 身份证号 someone added meanwhile fails the unique index, and so the import.
func (s *Service) insertImported(ctx context.Context, p *auth.Principal, im *peopleImport) error {
	counts := make(map[int64]int, len(im.touched))
	paths := make([]string, 0, len(im.touched))
	for id, t := range im.touched {
		counts[id] = t.count
		paths = append(paths, t.path)
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := InsertPeopleBulk(ctx, tx, im.good); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "people.import", EntityType: "person", OrgID: commonAncestor(paths),
			Summary: map[string]any{"count": len(im.good), "orgs": counts},
		})
	})
	if err == nil {
		s.db.RefreshStatistics(ctx, map[string]int{"people": len(im.good)})
	}
	return uniqueConflict(s.db, err, "导入期间有人新增了相同身份证号的人员，未导入任何数据，请重新导入")
}

// commonAncestor is the deepest organisation whose subtree holds every path, so that the
// audit record of a batch shows to the auditors of all it touched; 0 when there is none.
func commonAncestor(paths []string) int64 {
	if len(paths) == 0 {
		return 0
	}
	common := pathIDs(paths[0])
	for _, path := range paths[1:] {
		ids := pathIDs(path)
		n := 0
		for n < len(common) && n < len(ids) && common[n] == ids[n] {
			n++
		}
		common = common[:n]
	}
	if len(common) == 0 {
		return 0
	}
	return common[len(common)-1]
}

// exportPage is how many people one query of an export reads.
const exportPage = 1000

// ExportPeople writes the people the caller may both see and export, narrowed by f (Limit and
// Cursor are ignored), as a spreadsheet in the import's columns: full 身份证号 and mobile
// numbers, and the organisation as a path from the top of the caller's view, so the file can
// be imported again. People are read a page at a time by id, so a million never sit in memory.
// The export is audited before any data leaves: the workbook reaches w only after the
// people.export record is committed. It returns the number of people written.
func (s *Service) ExportPeople(ctx context.Context, p *auth.Principal, f PeopleFilter, w io.Writer) (int, error) {
	if !p.Can(auth.PeopleExport) {
		return 0, errs.Forbidden("没有导出人员的权限")
	}
	// Until the audit record is in, the writer's output is discarded: an export that fails
	// half way must neither reach the user nor leave excelize's temporary files behind.
	gate := &gatedWriter{w: w}
	xw, err := xlsx.NewWriter(gate, PeopleSheet, peopleColumns)
	if err != nil {
		return 0, err
	}
	defer xw.Close()
	n, err := s.exportRows(ctx, p, f, xw)
	if err != nil {
		return 0, err
	}
	if err := s.auditExport(ctx, p, f, n); err != nil {
		return 0, err
	}
	gate.open = true
	return n, xw.Close()
}

// gatedWriter passes writes through only once open is set, and swallows them until then.
type gatedWriter struct {
	w    io.Writer
	open bool
}

func (g *gatedWriter) Write(b []byte) (int, error) {
	if !g.open {
		return len(b), nil
	}
	return g.w.Write(b)
}

// exportRows writes the people row by row, a page at a time.
func (s *Service) exportRows(ctx context.Context, p *auth.Principal, f PeopleFilter, xw *xlsx.Writer) (int, error) {
	paths := newOrgPaths(p)
	n := 0
	f.Cursor = 0
	for {
		page, err := s.exportPage(ctx, p, f, paths)
		if err != nil {
			return n, err
		}
		for _, pe := range page {
			err := xw.WriteRow(pe.Name, pe.Gender, pe.IDNumber, pe.Mobile, pe.PoliticalStatus, pe.PartyJoinedOn,
				strings.Join(pe.Categories, "、"), paths.text(pe.OrgPath))
			if err != nil {
				return n, err
			}
		}
		n += len(page)
		if len(page) < exportPage {
			return n, nil
		}
		f.Cursor = page[len(page)-1].ID
	}
}

// exportPage reads the next page of people after f.Cursor with their categories, and the
// names of the organisations on their paths not seen before. The scope is the caller's
// people.view narrowed by people.export, and the order is ListPeople's.
func (s *Service) exportPage(ctx context.Context, p *auth.Principal, f PeopleFilter, paths *orgPaths) ([]Person, error) {
	var page []Person
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		w, err := peopleWhere(ctx, tx, p, f)
		if err != nil {
			return err
		}
		exportCond, exportArgs := p.Scope(auth.PeopleExport).Where("o.path", "")
		args := append(append(w.args, exportArgs...), exportPage)
		rows, err := tx.Query(ctx, `SELECT `+personColumns+` FROM people pe JOIN orgs o ON o.id = pe.org_id
			WHERE `+w.cond+` AND `+exportCond+` ORDER BY `+w.personID()+` LIMIT ?`, args...)
		if err != nil {
			return err
		}
		if page, err = scanPeople(rows); err != nil {
			return err
		}
		if err := fillCategories(ctx, tx, page); err != nil {
			return err
		}
		return paths.load(ctx, tx, page)
	})
	return page, err
}

// auditExport records who exported how many people with which filter.
func (s *Service) auditExport(ctx context.Context, p *auth.Principal, f PeopleFilter, n int) error {
	orgID := f.OrgID
	if orgID == 0 {
		orgID = commonAncestor(p.Scope(auth.PeopleExport).Paths)
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "people.export", EntityType: "person", OrgID: orgID,
			Summary: map[string]any{"count": n, "filter": map[string]any{
				"org_id": f.OrgID, "category": f.Category, "political_status": f.PoliticalStatus,
				"q": f.Query, "include_archived": f.IncludeArchived,
			}},
		})
	})
}

// orgPaths writes organisations as paths of names for the export, from the top of the
// caller's view down: 元阳县/元城镇/元城镇社区 for the county's staff, 元城镇/元城镇社区 for
// the township's, which FindOrgByPath reads back for either.
type orgPaths struct {
	orgView, export auth.Scope
	names           map[int64]string
	texts           map[string]string // materialised path → text
}

func newOrgPaths(p *auth.Principal) *orgPaths {
	return &orgPaths{orgView: p.Scope(auth.OrgView), export: p.Scope(auth.PeopleExport),
		names: map[int64]string{}, texts: map[string]string{}}
}

// load reads the names of the organisations on the page's paths that are not known yet.
func (op *orgPaths) load(ctx context.Context, q querier, page []Person) error {
	var missing []any
	for _, pe := range page {
		for _, id := range pathIDs(pe.OrgPath) {
			if _, ok := op.names[id]; !ok {
				op.names[id] = ""
				missing = append(missing, id)
			}
		}
	}
	for chunk := range slices.Chunk(missing, exportPage) {
		rows, err := q.Query(ctx, `SELECT id, name FROM orgs WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return err
			}
			op.names[id] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// text is the path of names of the organisation at path, starting at the first ancestor the
// caller sees.
func (op *orgPaths) text(path string) string {
	if t, ok := op.texts[path]; ok {
		return t
	}
	ids := pathIDs(path)
	top, prefix := 0, "/"
	for i, id := range ids {
		prefix += strconv.FormatInt(id, 10) + "/"
		if op.orgView.Covers(prefix) || op.export.Covers(prefix) {
			top = i
			break
		}
	}
	names := make([]string, 0, len(ids)-top)
	for _, id := range ids[top:] {
		names = append(names, op.names[id])
	}
	t := strings.Join(names, "/")
	op.texts[path] = t
	return t
}
