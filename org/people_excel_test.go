package org_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/xlsx"
)

// upload builds an .xlsx as a user's Excel holds it: the template's header row, then rows
// from row 2 (nil leaves a row empty); edit may merge cells and the like.
func upload(t testing.TB, rows [][]any, edit func(f *excelize.File, sheet string)) []byte {
	t.Helper()
	var header []any
	for _, c := range org.PeopleColumns() {
		header = append(header, c.Header)
	}
	return workbook(t, append([][]any{header}, rows...), edit)
}

// workbook builds an .xlsx with rows from A1 down.
func workbook(t testing.TB, rows [][]any, edit func(f *excelize.File, sheet string)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	for i, r := range rows {
		if r != nil {
			if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", i+1), &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if edit != nil {
		edit(f, sheet)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sheetRows reads a workbook of the people columns, plus 错误说明 when it is a report, as
// row number → header → text.
func sheetRows(t testing.TB, data []byte) map[int]map[string]string {
	t.Helper()
	f, err := xlsx.Open(bytes.NewReader(data), 100<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cols := append(org.PeopleColumns(), xlsx.Column{Header: xlsx.ReportColumn})
	out := map[int]map[string]string{}
	err = f.ReadRows("", cols, func(r xlsx.Row) error {
		out[r.Number] = map[string]string{}
		for _, c := range cols {
			out[r.Number][c.Header] = r.Get(c.Header)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *county) importSheet(t testing.TB, p *auth.Principal, data []byte) (org.ImportResult, error) {
	t.Helper()
	return w.svc.ImportPeople(ctx, p, bytes.NewReader(data), org.ImportOptions{})
}

// personByID reads a person by 身份证号 as the system sees them: full numbers, categories.
func (w *county) personByID(t *testing.T, number string) org.Person {
	t.Helper()
	var id int64
	if err := w.db.QueryRow(ctx, `SELECT id FROM people WHERE id_number = ?`, number).Scan(&id); err != nil {
		t.Fatalf("person %s: %v", number, err)
	}
	pe, err := w.svc.GetPerson(ctx, w.sys, id)
	if err != nil {
		t.Fatal(err)
	}
	return pe
}

// lastAudit is the newest audit record with action.
func lastAudit(t *testing.T, db *store.DB, action string) audit.Record {
	t.Helper()
	recs, _, err := audit.List(ctx, db, audit.Filter{AllOrgs: true, Action: action, Limit: 10})
	if err != nil || len(recs) == 0 {
		t.Fatalf("no %s audit record: %v", action, err)
	}
	return recs[0]
}

func TestImportPeople(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		wang, li, zhao := idNumber("532528", "19800101", 2), idNumber("532528", "19750505", 11), idNumber("532528", "20000301", 24)
		data := upload(t, [][]any{
			{"王芳", "", wang, "13812345678", "中共党员", "2005/7/1", "在职、志愿者", "元阳县/元城镇/元城镇社区"},
			nil,
			{" 李强 ", "男", strings.ToLower(li), "", "群众", "", "离退休,志愿者", "532528100002"},
			{"赵敏", "", zhao, "138 1234 0000", "中共预备党员", "2025年3月1日", "村（社区）干部，志愿者", "元城镇社区／第一党支部"},
		}, nil)
		var progress []int
		res, err := w.svc.ImportPeople(ctx, w.sys, bytes.NewReader(data), org.ImportOptions{Progress: func(n int) { progress = append(progress, n) }})
		if err != nil || res.Imported != 3 || res.Problems != nil || res.Report != nil {
			t.Fatalf("import = %+v, %v", res, err)
		}
		if len(progress) == 0 || progress[len(progress)-1] != 3 {
			t.Errorf("progress = %v, want to end at 3", progress)
		}
		if db.IsPostgres() {
			counted := count(t, db, `SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('people')`)
			if all := count(t, db, `SELECT COUNT(*) FROM people`); counted != all {
				t.Errorf("people's statistics count %d rows after the import, the table has %d", counted, all)
			}
		}
		for _, c := range []struct {
			number, name, gender, mobile, joined string
			orgID                                int64
			categories                           []string
		}{
			{wang, "王芳", "女", "13812345678", "2005-07-01", w.c1.ID, []string{"在职", "志愿者"}},
			{li, "李强", "男", "", "", w.c2.ID, []string{"离退休", "志愿者"}},
			{zhao, "赵敏", "女", "13812340000", "2025-03-01", w.c1b1.ID, []string{"村(社区)干部", "志愿者"}},
		} {
			pe := w.personByID(t, c.number)
			if pe.Name != c.name || pe.Gender != c.gender || pe.Mobile != c.mobile || pe.PartyJoinedOn != c.joined ||
				pe.OrgID != c.orgID || !slices.Equal(pe.Categories, c.categories) || len(pe.Memberships) != 0 {
				t.Errorf("imported %s = %+v", c.name, pe)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'people.import'`); n != 1 {
			t.Fatalf("%d people.import records, want 1", n)
		}
		rec := lastAudit(t, db, "people.import")
		var summary struct {
			Count int              `json:"count"`
			Orgs  map[string]int64 `json:"orgs"`
		}
		if err := json.Unmarshal(rec.Summary, &summary); err != nil || summary.Count != 3 || len(summary.Orgs) != 3 ||
			summary.Orgs[fmt.Sprint(w.c1b1.ID)] != 1 || rec.OrgID != w.town.ID || rec.Actor != "system" {
			t.Errorf("audit record = %+v (%s), %v; want 3 people in 3 organisations under 元城镇", rec, rec.Summary, err)
		}
		verifyAudit(t, db)
	})
}

func TestImportPeopleRefusesBadRows(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		w.mustPerson(t, org.PersonInput{OrgID: w.c1.ID, Name: "先来的", IDNumber: idNumber("532528", "19600101", 1),
			PoliticalStatus: org.StatusMasses})
		// A township's staff who may see the whole county.
		p := &auth.Principal{UserID: 7, Username: "zhenganbu", Grants: []auth.Grant{
			{Role: role(auth.RoleReviewer), OrgID: w.root.ID, OrgPath: w.root.Path},
			{Role: role(auth.RoleUnitAdmin), OrgID: w.town.ID, OrgPath: w.town.Path},
		}}
		good := idNumber("532528", "19800101", 2)
		checked := idNumber("532528", "19800101", 4)
		wrong := checked[:17] + map[bool]string{true: "1", false: "0"}[checked[17] == '0']
		const c1 = "元阳县/元城镇/元城镇社区"
		data := upload(t, [][]any{
			{"王芳", "", good, "", "群众", "", "", c1},                                            // 2
			{"错位", "", wrong, "", "群众", "", "", c1},                                           // 3
			{"无组织", "", idNumber("532528", "19800101", 6), "", "群众", "", "", "元阳县/元城镇/不存在社区"}, // 4
			{"重复", "", good, "", "群众", "", "", c1},                                            // 5
			{"已有", "", idNumber("532528", "19600101", 1), "", "群众", "", "", c1},               // 6
			{"科学", "", "5.3252819800101E+17", "", "群众", "", "", c1},                           // 7
			{"面貌", "", idNumber("532528", "19800101", 8), "", "党员", "", "", c1},               // 8
			{"越权", "", idNumber("532528", "19800101", 10), "", "群众", "", "", "元阳县/新街镇"},       // 9
			{"", "", idNumber("532528", "19800101", 12), "1381234567", "群众", "", "", c1},      // 10
			{"赵敏", "", idNumber("532528", "19800101", 14), "", "群众", "", "", c1},              // 11
			{"数字", "", "532528198001011000", "", "群众", "", "", c1},                            // 12
		}, nil)
		want := map[int]string{
			2:  "身份证号与第5行重复",
			3:  "身份证号校验位错误，应为" + checked[17:],
			4:  "未找到组织：元阳县/元城镇/不存在社区",
			5:  "身份证号与第2行重复",
			6:  "身份证号已存在：先来的（元城镇社区）",
			7:  "身份证号被 Excel 转成了科学计数法（5.3252819800101E+17），末尾数字已丢失：请将该列设为文本格式后重新输入",
			8:  "未知的政治面貌：党员",
			9:  "无权向组织“新街镇”导入人员",
			10: "请填写姓名；手机号应为11位中国大陆手机号码",
			12: "身份证号校验位错误，应为" + idNumber("532528", "19800101", 100)[17:] + "（末尾为000，可能是该列被 Excel 当作数字保存而丢失了末尾数字，请将该列设为文本格式后重新输入）",
		}
		var res org.ImportResult
		var err error
		unchanged(t, db, func() { res, err = w.importSheet(t, p, data) }, `SELECT COUNT(*) FROM people`)
		wantErr(t, err, errs.KindInvalid, "共 10 行有误，未导入任何数据，请按错误报告修改后重新导入")
		if res.Imported != 0 || !maps.Equal(res.Problems, want) {
			t.Errorf("problems:\n got %v\nwant %v", res.Problems, want)
		}
		report := sheetRows(t, res.Report)
		for n := 2; n <= 12; n++ {
			if got := report[n][xlsx.ReportColumn]; got != want[n] {
				t.Errorf("report row %d 错误说明 = %q, want %q", n, got, want[n])
			}
		}
		if report[11]["姓名"] != "赵敏" || report[7]["身份证号"] != "5.3252819800101E+17" {
			t.Errorf("report lost the uploaded values: %v, %v", report[11], report[7])
		}
	})
}

func TestImportPeopleRefusesFiles(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		row := []any{"王芳", "", idNumber("532528", "19800101", 2), "", "群众", "", "", "532528100001"}
		for _, c := range []struct {
			name     string
			data     []byte
			maxBytes int64
			msg      string
		}{
			{"wrong header", workbook(t, [][]any{{"姓名", "身份证", "政治面貌"}, {"王芳", "1", "群众"}}, nil), 0,
				"缺少列：身份证号、所属组织"},
			{"merged cells", upload(t, [][]any{row, row}, func(f *excelize.File, s string) { f.MergeCell(s, "F3", "G3") }), 0,
				"第3行存在合并单元格 F3:G3，请取消合并后重新上传"},
			{"no rows", upload(t, nil, nil), 0, "表格中没有数据"},
			{"empty sheet", workbook(t, nil, nil), 0, "表格中没有数据"},
			{"not xlsx", []byte("姓名,身份证号\n王芳,1\n"), 0, "文件不是 Excel（.xlsx）格式，请使用下载的模板填写后上传"},
			{"too big", upload(t, [][]any{row}, nil), 1 << 10, "文件超过 1 KB 的大小上限，请拆分后分批上传"},
		} {
			t.Run(c.name, func(t *testing.T) {
				var res org.ImportResult
				var err error
				unchanged(t, db, func() {
					res, err = w.svc.ImportPeople(ctx, w.sys, bytes.NewReader(c.data), org.ImportOptions{MaxBytes: c.maxBytes})
				}, `SELECT COUNT(*) FROM people`)
				wantErr(t, err, errs.KindInvalid, c.msg)
				if errs.As(err).Field != "file" || res.Problems != nil || res.Report != nil {
					t.Errorf("file refusal: field %q, result %+v", errs.As(err).Field, res)
				}
			})
		}
	})
}

// TestImportPeopleManyBadRows: every row of a 10,000-row file is wrong, and the report names
// each one.
func TestImportPeopleManyBadRows(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		var buf bytes.Buffer
		xw, err := xlsx.NewWriter(&buf, org.PeopleSheet, org.PeopleColumns())
		if err != nil {
			t.Fatal(err)
		}
		const n = 10_000
		for i := range n {
			id := idNumber("532528", time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000).Format("20060102"), i%1000)
			bad := id[:17] + map[bool]string{true: "1", false: "0"}[id[17] == '0']
			if err := xw.WriteRow(fmt.Sprintf("党员%d", i), "", bad, "", "群众", "", "", "元阳县/元城镇/南沙社区"); err != nil {
				t.Fatal(err)
			}
		}
		if err := xw.Close(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res, err := w.importSheet(t, w.sys, buf.Bytes())
		t.Logf("%d bad rows: refused in %s, report %d KB", n, time.Since(start).Round(time.Millisecond), len(res.Report)>>10)
		wantErr(t, err, errs.KindInvalid, fmt.Sprintf("共 %d 行有误，未导入任何数据，请按错误报告修改后重新导入", n))
		if len(res.Problems) != n || !strings.HasPrefix(res.Problems[n+1], "身份证号校验位错误，应为") {
			t.Fatalf("%d problems, last %q", len(res.Problems), res.Problems[n+1])
		}
		report := sheetRows(t, res.Report)
		marked := 0
		for _, r := range report {
			if strings.HasPrefix(r[xlsx.ReportColumn], "身份证号校验位错误") {
				marked++
			}
		}
		if marked != n {
			t.Fatalf("report marks %d rows, want %d", marked, n)
		}
	})
}

// TestExportImportRoundTrip exports a county and imports the file into a fresh database with
// the same tree: the same people land in the same organisations, found by their paths.
func TestExportImportRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		w.mustPerson(t, org.PersonInput{OrgID: w.c2b1.ID, Name: "张三", IDNumber: idNumber("532528", "19550101", 1),
			Mobile: "13812345678", PoliticalStatus: org.StatusPartyMember, PartyJoinedOn: "1980-07-01",
			Categories: []string{org.CategoryRetired, org.CategoryVolunteer}})
		archived := w.mustPerson(t, org.PersonInput{OrgID: w.c1.ID, Name: "已归档", IDNumber: idNumber("532528", "19550101", 3),
			PoliticalStatus: org.StatusMasses})
		if _, err := w.svc.ArchivePerson(ctx, w.sys, archived.ID); err != nil {
			t.Fatal(err)
		}
		var rows [][]any
		orgs := []string{"元阳县/元城镇/元城镇社区", "元阳县/元城镇/元城镇社区/第一党支部", "元阳县/元城镇/南沙社区", "元阳县/新街镇"}
		for i := range 2500 { // more than two export pages
			birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/900).Format("20060102")
			status, joined, cats := org.StatusMasses, "", ""
			if i%5 == 0 {
				status, joined, cats = org.StatusPartyMember, "2010-07-01", "在职、志愿者"
			}
			rows = append(rows, []any{fmt.Sprintf("人员%d", i), "", idNumber("532528", birth, i%900), "",
				status, joined, cats, orgs[i%len(orgs)]})
		}
		if res, err := w.importSheet(t, w.sys, upload(t, rows, nil)); err != nil || res.Imported != 2500 {
			t.Fatalf("import = %d, %v", res.Imported, err)
		}

		var first bytes.Buffer
		n, err := w.svc.ExportPeople(ctx, w.sys, org.PeopleFilter{}, &first)
		if err != nil || n != 2501 {
			t.Fatalf("export = %d, %v; want 2,501 live people", n, err)
		}
		exported := sheetRows(t, first.Bytes())
		if zhang := exported[2]; zhang["身份证号"] != idNumber("532528", "19550101", 1) || zhang["手机号"] != "13812345678" ||
			zhang["所属组织"] != "元阳县/元城镇/南沙社区/第一党支部" || zhang["人员类别"] != "离退休、志愿者" || zhang["入党时间"] != "1980-07-01" {
			t.Errorf("exported 张三 = %v", zhang)
		}

		var fresh *store.DB
		if db.IsPostgres() {
			fresh = storetest.Postgres(t, audit.Migrations, org.Migrations)
		} else {
			fresh = storetest.SQLite(t, audit.Migrations, org.Migrations)
		}
		w2 := newCounty(t, fresh)
		w2.mustOrg(t, org.OrgInput{ParentID: w2.town2.ID, Name: "先建的村", Kind: org.KindVillage}) // other ids than the source
		if res, err := w2.importSheet(t, w2.sys, first.Bytes()); err != nil || res.Imported != 2501 {
			t.Fatalf("re-import = %+v, %v", res.Problems, err)
		}
		var second bytes.Buffer
		if _, err := w2.svc.ExportPeople(ctx, w2.sys, org.PeopleFilter{}, &second); err != nil {
			t.Fatal(err)
		}
		if again := sheetRows(t, second.Bytes()); !maps.EqualFunc(exported, again, maps.Equal) {
			t.Fatalf("round trip changed the people: %d rows before, %d after", len(exported), len(again))
		}
		verifyAudit(t, fresh)
	})
}

func TestExportPeopleIsScopedAndAudited(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		w.mustPerson(t, org.PersonInput{OrgID: w.c1b1.ID, Name: "张三", IDNumber: idNumber("532528", "19550101", 1),
			PoliticalStatus: org.StatusPartyMember})
		w.mustPerson(t, org.PersonInput{OrgID: w.c2.ID, Name: "李四", IDNumber: idNumber("532528", "19560101", 2),
			PoliticalStatus: org.StatusMasses})
		admin := user(5, "shequ", auth.RoleUnitAdmin, w.c1)
		var buf bytes.Buffer
		n, err := w.svc.ExportPeople(ctx, admin, org.PeopleFilter{Category: ""}, &buf)
		if err != nil || n != 1 {
			t.Fatalf("community export = %d, %v", n, err)
		}
		got := sheetRows(t, buf.Bytes())
		if len(got) != 1 || got[2]["姓名"] != "张三" || got[2]["所属组织"] != "元城镇社区/第一党支部" ||
			got[2]["身份证号"] != idNumber("532528", "19550101", 1) {
			t.Fatalf("community export = %v", got)
		}
		rec := lastAudit(t, db, "people.export")
		if rec.OrgID != w.c1.ID || rec.Actor != "shequ" || !strings.Contains(string(rec.Summary), `"count":1`) {
			t.Errorf("export audit = %+v %s", rec, rec.Summary)
		}
		// The community's staff read their own export back in: the paths resolve for them.
		res, err := w.svc.ImportPeople(ctx, admin, bytes.NewReader(buf.Bytes()), org.ImportOptions{})
		if len(res.Problems) != 1 || res.Problems[2] != "身份证号已存在：张三（第一党支部）" {
			t.Errorf("re-import by the exporter = %v, %v; want only the duplicate refused", res.Problems, err)
		}

		reviewer := user(6, "shenhe", auth.RoleReviewer, w.root)
		unchanged(t, db, func() {
			_, err = w.svc.ExportPeople(ctx, reviewer, org.PeopleFilter{}, &buf)
			wantErr(t, err, errs.KindForbidden, "没有导出人员的权限")
			_, err = w.importSheet(t, reviewer, buf.Bytes())
			wantErr(t, err, errs.KindForbidden, "没有导入人员的权限")
		}, `SELECT COUNT(*) FROM people`)
	})
}

// FuzzImportRow feeds arbitrary cell text through the row path of an import: reading the
// cells, normalising and validating them. Whatever the cells hold, it must not panic, every
// problem must have a message, and a row it accepts must be normalised for good: validating
// the person again changes nothing.
func FuzzImportRow(f *testing.F) {
	f.Add("张三", "男", "532528195501010015", "13812345678", "中共党员", "1980/7/1", "在职、志愿者", "元阳县/元城镇")
	f.Add("", "", "5.3252819800101E+17", "1.38E+10", "党员", "1980/13/45", "未知", "532528100000")
	f.Add(" 李四 ", "", "５３２５２８１９５６０１０１００２０", "+86 138-1234-5678", "群众", "", "村（社区）干部，，志愿者", "")
	headers := make([]string, 0, 8)
	for _, c := range org.PeopleColumns() {
		headers = append(headers, c.Header)
	}
	f.Fuzz(func(t *testing.T, name, gender, id, mobile, status, joined, cats, place string) {
		cells := map[string]string{}
		for i, v := range []string{name, gender, id, mobile, status, joined, cats, place} {
			cells[headers[i]] = v
		}
		v, msgs := org.PersonFromCells(func(h string) string { return cells[h] }, today)
		for _, m := range msgs {
			if m == "" {
				t.Fatalf("empty message among %q", msgs)
			}
		}
		if len(msgs) > 0 {
			return
		}
		again, err := org.PersonInput{OrgID: 1, Name: v.Name, Gender: v.Gender, IDNumber: v.IDNumber, BirthDate: v.BirthDate,
			Mobile: v.Mobile, PoliticalStatus: v.PoliticalStatus, PartyJoinedOn: v.PartyJoinedOn, Categories: v.Categories}.Validate(today)
		again.OrgID = 0
		if err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("accepted %+v, which validates again as %+v, %v", v, again, err)
		}
	})
}

// TestImportPeople100k measures an import of 100,000 people into 300 communities: wall time
// and peak memory, next to the baseline of inserting the same validated rows with
// InsertPeopleBulk into an equal tree; then the export of them all. It runs only with
// GRASSROOTS_BENCH_BIG=1:
//
//	GRASSROOTS_BENCH_BIG=1 go test ./org/ -run TestImportPeople100k -v
func TestImportPeople100k(t *testing.T) {
	if os.Getenv("GRASSROOTS_BENCH_BIG") == "" {
		t.Skip("set GRASSROOTS_BENCH_BIG=1 to import 100,000 people")
	}
	each(t, func(t *testing.T, db *store.DB) {
		const people = 100_000
		places := communities(t, db, 10, 30)
		data, valid := bigUpload(t, places, people)
		t.Logf("upload: %d rows, %.1f MB", people, float64(len(data))/(1<<20))

		peak := watchMemory()
		start := time.Now()
		res, err := org.NewService(db).ImportPeople(ctx, auth.System(), bytes.NewReader(data), org.ImportOptions{})
		took := time.Since(start)
		heap, sys, hwm := peak()
		if err != nil || res.Imported != people {
			t.Fatalf("import = %d, %v (%d problems)", res.Imported, err, len(res.Problems))
		}

		var baseDB *store.DB
		if db.IsPostgres() {
			baseDB = storetest.Postgres(t, audit.Migrations, org.Migrations)
		} else {
			baseDB = storetest.SQLite(t, audit.Migrations, org.Migrations)
		}
		ids := communities(t, baseDB, 10, 30)
		for i := range valid {
			valid[i].OrgID = ids[i%len(ids)].id
		}
		start = time.Now()
		if err := baseDB.Write(ctx, func(tx *store.Tx) error { return org.InsertPeopleBulk(ctx, tx, valid) }); err != nil {
			t.Fatal(err)
		}
		base := time.Since(start)
		t.Logf("import of %d people: %s (baseline InsertPeopleBulk %s, ratio %.1f); peak heap in use %d MB, runtime Sys %d MB, VmHWM %s",
			people, took.Round(time.Millisecond), base.Round(time.Millisecond), took.Seconds()/base.Seconds(), heap>>20, sys>>20, hwm)

		peak = watchMemory()
		start = time.Now()
		n, err := org.NewService(db).ExportPeople(ctx, auth.System(), org.PeopleFilter{}, io.Discard)
		took = time.Since(start)
		heap, sys, hwm = peak()
		if err != nil || n != people {
			t.Fatalf("export = %d, %v", n, err)
		}
		t.Logf("export of %d people: %s; peak heap in use %d MB, runtime Sys %d MB, VmHWM %s",
			n, took.Round(time.Millisecond), heap>>20, sys>>20, hwm)
	})
}

type community struct {
	id   int64
	path string // as the spreadsheet writes it
}

// communities builds 元阳县 with towns townships of villages communities each.
func communities(t *testing.T, db *store.DB, towns, villages int) []community {
	t.Helper()
	svc, sys := org.NewService(db), auth.System()
	root, err := svc.CreateOrg(ctx, sys, org.OrgInput{Name: "元阳县", Kind: org.KindCounty})
	if err != nil {
		t.Fatal(err)
	}
	var out []community
	for i := range towns {
		town, err := svc.CreateOrg(ctx, sys, org.OrgInput{ParentID: root.ID, Name: fmt.Sprintf("第%d镇", i+1), Kind: org.KindTownship})
		if err != nil {
			t.Fatal(err)
		}
		for j := range villages {
			o, err := svc.CreateOrg(ctx, sys, org.OrgInput{ParentID: town.ID, Name: fmt.Sprintf("第%d镇第%d社区", i+1, j+1),
				Kind: org.KindVillage, DivisionCode: fmt.Sprintf("532528%03d%03d", i+1, j+1)})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, community{o.ID, fmt.Sprintf("元阳县/%s/%s", town.Name, o.Name)})
		}
	}
	return out
}

// bigUpload writes n valid people spread over places, every tenth with its organisation as a
// division code, and returns the file and the same people validated.
func bigUpload(t *testing.T, places []community, n int) ([]byte, []org.ValidPerson) {
	t.Helper()
	var buf bytes.Buffer
	xw, err := xlsx.NewWriter(&buf, org.PeopleSheet, org.PeopleColumns())
	if err != nil {
		t.Fatal(err)
	}
	statuses := org.PoliticalStatuses()
	valid := make([]org.ValidPerson, 0, n)
	for i := range n {
		birth := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000).Format("20060102")
		in := org.PersonInput{Name: fmt.Sprintf("人员%d", i), IDNumber: idNumber("532528", birth, i%1000),
			Mobile: fmt.Sprintf("138%08d", i), PoliticalStatus: statuses[i%len(statuses)]}
		if org.IsPartyMember(in.PoliticalStatus) {
			in.PartyJoinedOn = "1990-07-01"
		}
		if i%3 == 0 {
			in.Categories = []string{org.CategoryRetired, org.CategoryVolunteer}
		}
		k := i % len(places)
		place, cell := places[k], places[k].path
		if i%10 == 0 {
			cell = fmt.Sprintf("532528%03d%03d", k/30+1, k%30+1) // the division code communities gave it
		}
		if err := xw.WriteRow(in.Name, "", in.IDNumber, in.Mobile, in.PoliticalStatus, in.PartyJoinedOn,
			strings.Join(in.Categories, "、"), cell); err != nil {
			t.Fatal(err)
		}
		in.OrgID = place.id
		v, err := in.Validate(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, v)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), valid
}

// watchMemory samples the Go heap every few milliseconds until the returned function is
// called, which reports the largest heap in use, the largest memory obtained from the OS and
// the process's peak resident set (VmHWM, reset here where the kernel allows it).
func watchMemory() func() (heap, sys uint64, hwm string) {
	runtime.GC()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	var stop atomic.Bool
	var maxHeap, maxSys uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for !stop.Load() {
			runtime.ReadMemStats(&m)
			maxHeap, maxSys = max(maxHeap, m.HeapInuse), max(maxSys, m.Sys)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() (uint64, uint64, string) {
		stop.Store(true)
		<-done
		hwm := "unknown"
		if status, err := os.ReadFile("/proc/self/status"); err == nil {
			for line := range strings.SplitSeq(string(status), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					hwm = strings.TrimSpace(v)
				}
			}
		}
		return maxHeap, maxSys, hwm
	}
}
