package passbook

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/web"
)

const rptPassword = "Yuancheng#2026"

// rptServer is the rank world behind a running server with the passbook's routes.
type rptServer struct {
	*rankWorld
	srv  *web.Server
	ts   *httptest.Server
	auth *auth.Service
}

func newRptServer(t *testing.T, db *store.DB) *rptServer {
	t.Helper()
	s := &rptServer{rankWorld: newRankWorld(t, db), auth: auth.NewService(db)}
	s.srv = web.New(web.Config{DB: db, Auth: s.auth, Org: s.orgs, Migrations: migrations,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	Register(s.srv, s.svc, s.orgs)
	s.ts = httptest.NewServer(s.srv.Handler())
	t.Cleanup(s.ts.Close)
	return s
}

// user creates an account holding role on o and signs it in.
func (s *rptServer) user(t *testing.T, username string, role auth.RoleKey, o org.Org, personID int64) *rptClient {
	t.Helper()
	if _, _, err := s.auth.CreateUser(ctx, auth.System(), auth.NewUser{Username: username, DisplayName: username,
		Password: rptPassword, PersonID: personID, Grants: []auth.GrantInput{{Role: role, OrgID: o.ID}}}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &rptClient{t: t, base: s.ts.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if res := c.send("POST", "/api/v1/login", "application/json", fmt.Sprintf(`{"username":%q,"password":%q}`, username, rptPassword)); res.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, res.status, res.body)
	}
	return c
}

type rptClient struct {
	t    *testing.T
	base string
	http *http.Client
}

type rptResponse struct {
	status int
	header http.Header
	body   string
}

func (c *rptClient) send(method, path, ctype, body string) rptResponse {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return rptResponse{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *rptClient) get(path string) rptResponse { return c.send("GET", path, "", "") }

func (c *rptClient) form(path string, v url.Values) rptResponse {
	return c.send("POST", path, "application/x-www-form-urlencoded", v.Encode())
}

func (c *rptClient) json(path string, v any) rptResponse {
	b, _ := json.Marshal(v)
	return c.send("POST", path, "application/json", string(b))
}

func TestRankingsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newRptServer(t, db)
		s.rankingYear(t)
		clerk := s.user(t, "shuji", auth.RoleUnitAdmin, s.c1, 0)
		res := clerk.get(fmt.Sprintf("/api/v1/passbook/rankings?org_id=%d&period=2026", s.c1.ID))
		var r Ranking
		if res.status != 200 || json.Unmarshal([]byte(res.body), &r) != nil || rankedText(r.Items) != "1 张大爷 10, 1 李老师 10, 3 王奶奶 6" {
			t.Fatalf("clerk's ranking: %d %s", res.status, res.body)
		}
		if r.Items[0].Number == "" || r.Masked {
			t.Fatalf("staff rows are not masked: %s", res.body)
		}
		res = clerk.get(fmt.Sprintf("/api/v1/passbook/rankings?org_id=%d&period=2026&limit=2", s.c1.ID))
		json.Unmarshal([]byte(res.body), &r)
		if len(r.Items) != 2 || r.NextCursor == "" {
			t.Fatalf("first page of two: %s", res.body)
		}
		res = clerk.get(fmt.Sprintf("/api/v1/passbook/rankings?org_id=%d&period=2026&limit=2&cursor=%s", s.c1.ID, r.NextCursor))
		json.Unmarshal([]byte(res.body), &r)
		if len(r.Items) != 1 || r.Items[0].Rank != 3 || r.NextCursor != "" {
			t.Fatalf("second page: %s", res.body)
		}
		if res := clerk.get(fmt.Sprintf("/api/v1/passbook/rankings?org_id=%d&period=2026", s.c2.ID)); res.status != http.StatusNotFound {
			t.Fatalf("another community's ranking: %d", res.status)
		}
		res = clerk.get(fmt.Sprintf("/api/v1/passbook/rankings?org_id=%d&period=2026-13", s.c1.ID))
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, `"field":"period"`) {
			t.Fatalf("bad period: %d %s", res.status, res.body)
		}

		li := s.books["李老师"]
		member := s.user(t, "laoli", auth.RoleMember, s.c1, li.PersonID)
		res = member.get("/api/v1/passbook/rankings?period=2026Q4")
		if res.status != 200 || strings.Contains(res.body, `"number"`) || strings.Contains(res.body, `"passbook_id"`) ||
			!strings.Contains(res.body, `"masked":true`) || !strings.Contains(res.body, `"mine":true`) {
			t.Fatalf("member's ranking: %d %s", res.status, res.body)
		}
		res = member.get(fmt.Sprintf("/api/v1/passbook/passbooks/%d/rank?period=2026", li.ID))
		var st MyStanding
		if res.status != 200 || json.Unmarshal([]byte(res.body), &st) != nil || st.Community.Rank != 1 || st.Wider.Rank != 2 || st.Wider.Field != 7 {
			t.Fatalf("member's rank: %d %s", res.status, res.body)
		}
		if res := member.get(fmt.Sprintf("/api/v1/passbook/passbooks/%d/rank", s.books["刘阿姨"].ID)); res.status != http.StatusNotFound {
			t.Fatalf("another member's rank: %d", res.status)
		}
		if res := member.get(fmt.Sprintf("/api/v1/passbook/commendation?org_id=%d&rule=top&value=3", s.c1.ID)); res.status != http.StatusNotFound {
			t.Fatalf("member's commendation list: %d", res.status)
		}

		res = clerk.get(fmt.Sprintf("/api/v1/passbook/commendation?org_id=%d&period=2026&rule=top&value=1&format=xlsx", s.c1.ID))
		if res.status != 200 || res.header.Get("Content-Type") != xlsxType || !strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("commendation download: %d %v", res.status, res.header)
		}
		if rows := workbookRows(t, []byte(res.body), "评选推优名单"); len(rows) != 4 {
			t.Fatalf("commendation rows %v", rows)
		}
		res = clerk.get(fmt.Sprintf("/api/v1/passbook/reports?org_id=%d&year=2026", s.c1.ID))
		if res.status != 200 || !strings.Contains(res.body, `"participation":{"participants":3,"passbooks":4,"percent":"75.0"}`) {
			t.Fatalf("report: %d %s", res.status, res.body)
		}
		for _, route := range s.srv.Routes() {
			if route.Kind == web.KindAPI && !s.srv.Documented(route.Method, route.Path) {
				t.Errorf("%s %s is not in the OpenAPI description", route.Method, route.Path)
			}
		}
	}, migrations...)
}

func TestPrintPageMarksOnlyByPost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newRptServer(t, db)
		li := s.books["李老师"]
		s.earn(t, "李老师", 10, "2026-11-05", 0)
		through := s.earn(t, "李老师", 4, "2026-11-12", 0)
		clerk := s.user(t, "shuji", auth.RoleUnitAdmin, s.c1, 0)
		page := fmt.Sprintf("/passbook/passbooks/%d/print", li.ID)
		res := clerk.get(page)
		if res.status != 200 || !strings.Contains(res.body, "@media print") || !strings.Contains(res.body, "参加社区活动") ||
			!strings.Contains(res.body, fmt.Sprintf(`name="through_tx_id" value="%d"`, through)) || !strings.Contains(res.body, "14.00") {
			t.Fatalf("print page: %d", res.status)
		}
		if res := clerk.get(page); !strings.Contains(res.body, "有 <strong>2</strong> 行尚未打印") {
			t.Fatal("showing the print page moved the mark")
		}
		member := s.user(t, "laoli", auth.RoleMember, s.c1, li.PersonID)
		if res := member.form(page[:len(page)-len("print")]+"printed", url.Values{"through_tx_id": {fmt.Sprint(through)}}); res.status != http.StatusForbidden {
			t.Fatalf("member marks: %d", res.status)
		}
		res = clerk.form(fmt.Sprintf("/passbook/passbooks/%d/printed", li.ID), url.Values{"through_tx_id": {fmt.Sprint(through)}})
		if res.status != http.StatusSeeOther || res.header.Get("Location") != page {
			t.Fatalf("mark printed: %d %v", res.status, res.header)
		}
		if res := clerk.get(page); !strings.Contains(res.body, "没有需要补登的记录") {
			t.Fatal("pending lines after the mark")
		}
		if res := clerk.get(page + "?mode=all"); !strings.Contains(res.body, "全部 2 行") || !strings.Contains(res.body, "参加社区活动") {
			t.Fatal("reprint all")
		}
		newest := s.earn(t, "李老师", 6, "2026-11-20", 0)
		res = clerk.get(fmt.Sprintf("/api/v1/passbook/passbooks/%d/print", li.ID))
		var pr Printout
		if json.Unmarshal([]byte(res.body), &pr) != nil || len(pr.Items) != 1 || pr.Items[0].TxID != newest || pr.FirstLine != 3 {
			t.Fatalf("pending by API: %s", res.body)
		}
		res = clerk.json(fmt.Sprintf("/api/v1/passbook/passbooks/%d/printed", li.ID), printedRequest{ThroughTxID: through - 1})
		if res.status != http.StatusConflict {
			t.Fatalf("marking backwards by API: %d %s", res.status, res.body)
		}
		res = clerk.json(fmt.Sprintf("/api/v1/passbook/passbooks/%d/printed", li.ID), printedRequest{ThroughTxID: newest})
		if res.status != 200 || res.body != fmt.Sprintf(`{"printed_through":%d,"lines":1}`+"\n", newest) {
			t.Fatalf("mark by API: %d %s", res.status, res.body)
		}
		res = member.get(fmt.Sprintf("/passbook/passbooks/%d/statement.xlsx", li.ID))
		if res.status != 200 || res.header.Get("Content-Type") != xlsxType {
			t.Fatalf("member's statement download: %d", res.status)
		}
	}, migrations...)
}

func TestRankingsCommendationAndReportPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newRptServer(t, db)
		s.rankingYear(t)
		wang := s.user(t, "wangnainai", auth.RoleMember, s.c1, s.books["王奶奶"].PersonID)
		res := wang.get("/passbook/rankings")
		if res.status != 200 || !strings.Contains(res.body, `class="mine"`) || !strings.Contains(res.body, "第 3 名") ||
			!strings.Contains(res.body, "共 7 本存折") || strings.Contains(res.body, s.books["李老师"].Number) {
			t.Fatalf("member's rankings page: %d", res.status)
		}
		if _, err := s.svc.SetSettings(ctx, auth.System(), s.c1.ID, Settings{FenPerPoint: 100, DepositExpiry: "none"}); err != nil {
			t.Fatal(err)
		}
		res = wang.get("/passbook/rankings")
		if res.status != 200 || !strings.Contains(res.body, "本社区暂未向党员公开积分排名") || strings.Contains(res.body, "李老师") {
			t.Fatalf("member's page when rankings are not public: %d", res.status)
		}

		staff := s.user(t, "zuzhibu", auth.RoleOrgAdmin, s.county, 0)
		res = staff.get("/passbook/rankings?period=2026-11")
		if res.status != 200 || !strings.Contains(res.body, "元阳县") || !strings.Contains(res.body, s.books["李老师"].Number) || !strings.Contains(res.body, "2026年11月") {
			t.Fatalf("staff rankings page: %d", res.status)
		}
		res = staff.get(fmt.Sprintf("/passbook/commendation?org_id=%d&period=2026&rule=percent&value=50", s.county.ID))
		if res.status != 200 || !strings.Contains(res.body, "取前 3 名") || !strings.Contains(res.body, "杨大哥") || strings.Contains(res.body, "王奶奶") ||
			!strings.Contains(res.body, "/passbook/commendation.xlsx?") {
			t.Fatalf("commendation page: %d", res.status)
		}
		res = staff.get(fmt.Sprintf("/passbook/commendation?org_id=%d&period=2026&rule=percent&value=0", s.county.ID))
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, "百分比应在 1 到 100 之间") {
			t.Fatalf("bad percent: %d", res.status)
		}
		res = staff.get(fmt.Sprintf("/passbook/reports?org_id=%d&year=2026", s.town.ID))
		if res.status != 200 || !strings.Contains(res.body, "vendor/echarts") || !strings.Contains(res.body, `data-chart="chart-issued"`) ||
			!strings.Contains(res.body, `id="chart-participation"`) || !strings.Contains(res.body, "85.7%") {
			t.Fatalf("reports page: %d", res.status)
		}
	}, migrations...)
}
