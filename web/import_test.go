package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/xlsx"
)

// peopleSheet writes rows under the import template's header.
func peopleSheet(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xlsx.NewWriter(&buf, org.PeopleSheet, org.PeopleColumns())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.WriteRow(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readSheet reads a downloaded workbook of the people columns, plus 错误说明 in a report, as
// row number → header → text.
func readSheet(t *testing.T, res response) map[int]map[string]string {
	t.Helper()
	f, err := xlsx.Open(strings.NewReader(res.body), 10<<20)
	if err != nil {
		t.Fatalf("download is no workbook: %v", err)
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

// upload posts data as the multipart field "file", as the import form does.
func (c *client) upload(path string, data []byte) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "人员名单.xlsx")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", c.h.ts.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.h.ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// wantXLSX checks the headers of an .xlsx download named name.
func wantXLSX(t *testing.T, what string, res response, name string) {
	t.Helper()
	wantStatus(t, what, res, http.StatusOK)
	if ct := res.header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="`) ||
		!strings.HasSuffix(cd, "; filename*=UTF-8''"+url.PathEscape(name)) {
		t.Errorf("%s: Content-Disposition %q, want the UTF-8 name %s", what, cd, name)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q", what, cc)
	}
}

// withClock runs fn against a harness whose clock the returned function moves forward.
func withClock(t *testing.T, fn func(t *testing.T, h *harness, advance func(time.Duration))) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var offset atomic.Int64
		db.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		fn(t, newHarness(t, db), func(d time.Duration) { offset.Add(int64(d)) })
	}, migrations...)
}

func TestImportPeoplePageAndAPI(t *testing.T) {
	withClock(t, func(t *testing.T, h *harness, advance func(time.Duration)) {
		h.account(t, "yuancheng", auth.RoleUnitAdmin, h.town, 0)
		h.account(t, "tongshi", auth.RoleUnitAdmin, h.town, 0)
		c := h.login(t, "yuancheng")

		page := c.get("/people/import")
		wantStatus(t, "import page", page, http.StatusOK)
		wantText(t, "import page", page, `enctype="multipart/form-data"`, "/people/import/template.xlsx", "所属组织", "必填", "文本")
		template := c.get("/people/import/template.xlsx")
		wantXLSX(t, "template", template, "人员导入模板.xlsx")
		// The template's header is the import's, with no data row to import by mistake.
		tf, err := xlsx.Open(strings.NewReader(template.body), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer tf.Close()
		err = tf.ReadRows("", org.PeopleColumns(), func(xlsx.Row) error { return nil })
		if errs.As(err).Message != "表格中没有数据" || !slices.Equal(tf.Sheets(), []string{"人员", "说明"}) {
			t.Errorf("template: sheets %v, reading: %v", tf.Sheets(), err)
		}
		if c.get("/api/v1/people/template").body != template.body {
			t.Error("the API template differs from the page's")
		}

		done := c.upload("/people/import", peopleSheet(t,
			[]any{"王芳", "", "532528198001010020", "", "群众", "", "在职", "元阳县/元城镇/元城镇社区"},
			[]any{"赵敏", "", "532528198001010047", "", "中共党员", "2001-07-01", "", "元城镇/南沙社区"}))
		wantStatus(t, "good upload", done, http.StatusOK)
		wantText(t, "good upload", done, "已导入 <strong>2</strong> 人", `href="/people"`)
		api := c.upload("/api/v1/people/import", peopleSheet(t,
			[]any{"钱七", "", "532528198001010063", "", "群众", "", "", "元城镇社区"}))
		wantStatus(t, "API upload", api, http.StatusOK)
		if strings.TrimSpace(api.body) != `{"imported":1}` {
			t.Errorf("API upload = %s", api.body)
		}

		bad := peopleSheet(t,
			[]any{"错位", "", "532528198001010021", "", "群众", "", "", "元城镇社区"},
			[]any{"张三二", "", h.zhangsan.IDNumber, "", "群众", "", "", "元城镇社区"},
			[]any{"越级", "", "53252819800101008X", "", "群众", "", "", "元阳县"})
		wantProblems := []struct {
			Row     int    `json:"row"`
			Message string `json:"message"`
		}{{2, "身份证号校验位错误，应为0"}, {3, "身份证号已存在：张三（元城镇社区）"}, {4, "未找到组织：元阳县"}}
		refused := c.upload("/api/v1/people/import", bad)
		wantStatus(t, "bad rows", refused, http.StatusBadRequest)
		var body struct {
			Error    struct{ Code, Message, Field string }
			Problems []struct {
				Row     int    `json:"row"`
				Message string `json:"message"`
			}
			ReportURL string `json:"report_url"`
		}
		refused.decode(t, &body)
		if body.Error.Code != "invalid" || body.Error.Field != "file" ||
			body.Error.Message != "共 3 行有误，未导入任何数据，请按错误报告修改后重新导入" || len(body.Problems) != 3 {
			t.Fatalf("bad rows = %s", refused.body)
		}
		for i, want := range wantProblems {
			if body.Problems[i] != want {
				t.Errorf("problem %d = %+v, want %+v", i, body.Problems[i], want)
			}
		}
		onPage := c.upload("/people/import", bad)
		wantStatus(t, "bad rows on the page", onPage, http.StatusBadRequest)
		wantText(t, "bad rows on the page", onPage, "共 3 行有误，未导入任何数据", "错误明细（共 3 行）", "下载错误报告", "第3行", "身份证号已存在：张三（元城镇社区）")

		report := c.get(body.ReportURL)
		wantXLSX(t, "report", report, "人员导入错误报告.xlsx")
		if rows := readSheet(t, report); rows[3][xlsx.ReportColumn] != wantProblems[1].Message || rows[3]["姓名"] != "张三二" {
			t.Errorf("report row 3 = %v", rows[3])
		}
		wantStatus(t, "someone else's report", h.login(t, "tongshi").get(body.ReportURL), http.StatusNotFound)
		advance(20 * time.Minute)
		wantStatus(t, "report after 20 minutes", c.get(body.ReportURL), http.StatusOK)
		advance(11 * time.Minute)
		gone := c.get(body.ReportURL)
		wantStatus(t, "report after 31 minutes", gone, http.StatusNotFound)
		wantText(t, "expired report", gone, "已过期")

		notXLSX := c.upload("/api/v1/people/import", []byte("姓名,身份证号\n"))
		wantStatus(t, "CSV upload", notXLSX, http.StatusBadRequest)
		if notXLSX.errorCode() != "invalid" || strings.Contains(notXLSX.body, "problems") || !strings.Contains(notXLSX.body, "不是 Excel") {
			t.Errorf("CSV upload = %s", notXLSX.body)
		}
		noFile := c.json("POST", "/api/v1/people/import", map[string]string{})
		wantStatus(t, "no file", noFile, http.StatusBadRequest)
		wantText(t, "no file", noFile, "请选择要导入的 Excel 文件")

		var people int
		if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM people`).Scan(&people); err != nil || people != 5 {
			t.Errorf("%d people, want 2 + 3 imported and nothing from the refused files", people)
		}
	})
}

func TestImportAndExportNeedTheirPermissions(t *testing.T) {
	h := newHarness(t, sqliteOnly(t))
	h.account(t, "shenhe", auth.RoleReviewer, h.county, 0)
	c := h.login(t, "shenhe")
	wantStatus(t, "import page", c.get("/people/import"), http.StatusForbidden)
	wantStatus(t, "template", c.get("/people/import/template.xlsx"), http.StatusForbidden)
	wantStatus(t, "export", c.get("/people/export.xlsx"), http.StatusForbidden)
	wantStatus(t, "API export", c.get("/api/v1/people/export"), http.StatusForbidden)
	upload := c.upload("/api/v1/people/import", peopleSheet(t, []any{"王芳", "", "532528198001010020", "", "群众", "", "", "元城镇社区"}))
	wantStatus(t, "API import", upload, http.StatusForbidden)
	wantNoText(t, "people list", c.get("/people"), "/people/import", "/people/export.xlsx")
}

func TestExportDownload(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "shequ", auth.RoleUnitAdmin, h.c1, 0)
		c := h.login(t, "shequ")
		res := c.get("/people/export.xlsx")
		day := strings.ReplaceAll(store.LocalDate(time.Now()), "-", "")
		wantXLSX(t, "export", res, "人员名单-"+day+".xlsx")
		if cd := res.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="people-`+day+`.xlsx"`) {
			t.Errorf("export: ASCII fallback missing from %q", cd)
		}
		rows := readSheet(t, res)
		if len(rows) != 1 || rows[2]["姓名"] != "张三" || rows[2]["身份证号"] != h.zhangsan.IDNumber || rows[2]["所属组织"] != "元城镇社区" {
			t.Fatalf("community export = %v, want 张三 alone, in full", rows)
		}
		var records int
		if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'people.export' AND actor = 'shequ'`).Scan(&records); err != nil || records != 1 {
			t.Errorf("%d export audit records, %v", records, err)
		}

		admin := h.login(t, mustAdmin(t, h))
		filtered := admin.get("/api/v1/people/export?q=" + url.QueryEscape("李") + "&cursor=999&limit=1")
		wantXLSX(t, "filtered API export", filtered, "人员名单-"+day+".xlsx")
		if rows := readSheet(t, filtered); len(rows) != 1 || rows[2]["姓名"] != "李四" || rows[2]["所属组织"] != "元阳县/元城镇/南沙社区" {
			t.Fatalf("filtered export = %v, want 李四 by the full path, paging ignored", rows)
		}
		badFilter := admin.get("/people/export.xlsx?org=" + url.QueryEscape("不存在的组织"))
		if badFilter.status == http.StatusOK || badFilter.header.Get("Content-Disposition") != "" {
			t.Errorf("unknown organisation: status %d, disposition %q", badFilter.status, badFilter.header.Get("Content-Disposition"))
		}
	})
}

// TestImportReportsAreBounded: the server keeps a bounded number of error reports, dropping
// the oldest first.
func TestImportReportsAreBounded(t *testing.T) {
	h := newHarness(t, sqliteOnly(t))
	c := h.login(t, mustAdmin(t, h))
	bad := peopleSheet(t, []any{"错位", "", "532528198001010021", "", "群众", "", "", "元城镇社区"})
	var urls []string
	for range 33 {
		var body struct {
			ReportURL string `json:"report_url"`
		}
		c.upload("/api/v1/people/import", bad).decode(t, &body)
		urls = append(urls, body.ReportURL)
	}
	wantStatus(t, "the oldest report", c.get(urls[0]), http.StatusNotFound)
	wantStatus(t, "the second report", c.get(urls[1]), http.StatusOK)
	wantStatus(t, "the newest report", c.get(urls[32]), http.StatusOK)
}
