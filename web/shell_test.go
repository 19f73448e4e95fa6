package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/org"
)

func TestEveryAPIRouteIsDocumented(t *testing.T) {
	h := newHarness(t, sqliteOnly(t))
	n := 0
	for _, r := range h.srv.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		n++
		if !h.srv.Documented(r.Method, r.Path) {
			t.Errorf("%s %s is not in the OpenAPI description", r.Method, r.Path)
		}
	}
	if n < 20 {
		t.Fatalf("only %d API routes registered", n)
	}
	res := h.anonymous(t).get("/api/v1/openapi.json")
	wantStatus(t, "openapi.json", res, http.StatusOK)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	res.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Paths["/api/v1/people/{id}"]["get"] == nil {
		t.Fatalf("served description is not OpenAPI 3 with the people routes: %.200s", res.body)
	}
}

func TestPlatformEndpoints(t *testing.T) {
	h := newHarness(t, sqliteOnly(t))
	c := h.anonymous(t)
	wantStatus(t, "healthz", c.get("/healthz"), http.StatusOK)
	ready := c.get("/readyz")
	wantStatus(t, "readyz", ready, http.StatusOK)
	h.login(t, mustAdmin(t, h)).get("/api/v1/people")
	metrics := c.get("/metrics")
	wantText(t, "metrics", metrics, "grassroots_http_requests_total", `route="GET /api/v1/people"`, "process_resident_memory_bytes")
}

func TestStaticAssetsAreHashedAndGzipped(t *testing.T) {
	h := newHarness(t, sqliteOnly(t))
	page := h.anonymous(t).get("/login")
	i := strings.Index(page.body, "/static/")
	if i < 0 {
		t.Fatal("login page links no static asset")
	}
	link := page.body[i : i+strings.IndexByte(page.body[i:], '"')]
	req, _ := http.NewRequest("GET", h.ts.URL+link, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("%s: %d, encoding %q, cache %q", link, res.StatusCode, res.Header.Get("Content-Encoding"), res.Header.Get("Cache-Control"))
	}
	stale := h.anonymous(t).get(strings.Replace(link, "/static/", "/static/0000", 1))
	wantStatus(t, "asset with a wrong hash", stale, http.StatusNotFound)
}

// mustAdmin makes an admin on the county and returns the user name.
func mustAdmin(t *testing.T, h *harness) string {
	t.Helper()
	h.account(t, "xianadmin", auth.RoleAdmin, h.county, 0)
	return "xianadmin"
}

func TestAPIErrorsAreClearAndNothingIsWritten(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		anon := h.anonymous(t)
		res := anon.get("/api/v1/people")
		wantStatus(t, "no session", res, http.StatusUnauthorized)
		if res.errorCode() != "unauthenticated" {
			t.Errorf("no session: error code %q", res.errorCode())
		}

		c := h.login(t, mustAdmin(t, h))
		bad := c.json("POST", "/api/v1/people", map[string]any{
			"org_id": h.c1.ID, "name": "王五", "id_number": "532528195501010011", "political_status": "群众"})
		wantStatus(t, "wrong check digit", bad, http.StatusBadRequest)
		var body struct {
			Error struct{ Code, Message, Field string } `json:"error"`
		}
		bad.decode(t, &body)
		if body.Error.Code != "invalid" || body.Error.Field != "id_number" || !strings.Contains(body.Error.Message, "校验") {
			t.Errorf("wrong check digit: %+v", body.Error)
		}

		dup := c.json("POST", "/api/v1/people", map[string]any{
			"org_id": h.c1.ID, "name": "张三二", "id_number": h.zhangsan.IDNumber, "political_status": "群众"})
		wantStatus(t, "duplicate 身份证号", dup, http.StatusConflict)

		unknownOrg := c.json("POST", "/api/v1/people", map[string]any{
			"org_id": 99999, "name": "王五", "id_number": "532528195501010015", "political_status": "群众"})
		if unknownOrg.status != http.StatusBadRequest && unknownOrg.status != http.StatusNotFound {
			t.Errorf("unknown organisation: status %d", unknownOrg.status)
		}

		unknownField := c.json("POST", "/api/v1/people", map[string]any{"nme": "王五"})
		wantStatus(t, "unknown field", unknownField, http.StatusBadRequest)

		huge := c.json("POST", "/api/v1/people", map[string]any{"name": strings.Repeat("王", 1<<20)})
		if huge.status != http.StatusBadRequest && huge.status != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: status %d", huge.status)
		}

		cycle := c.json("POST", fmt.Sprintf("/api/v1/orgs/%d/move", h.town.ID), map[string]any{"parent_id": h.c1.ID})
		wantStatus(t, "move under own child", cycle, http.StatusBadRequest)

		list := c.get(fmt.Sprintf("/api/v1/people?org_id=%d&limit=50", h.county.ID))
		var people struct {
			Items []org.Person `json:"items"`
		}
		list.decode(t, &people)
		if len(people.Items) != 2 {
			t.Fatalf("after refused writes the county has %d people, want 2", len(people.Items))
		}
		if o, _ := h.org.GetOrg(ctx, auth.System(), h.town.ID); o.ParentID != h.county.ID {
			t.Fatalf("refused move changed the parent to %d", o.ParentID)
		}
	})
}

// TestOneCommunityCannotReachAnother is the IDOR test: staff of 元城镇社区 can neither list,
// load nor change people of the sibling 南沙社区, by the API or by the pages.
func TestOneCommunityCannotReachAnother(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "shenhe", auth.RoleReviewer, h.c1, 0)
		h.account(t, "shuji", auth.RoleUnitAdmin, h.c1, 0)
		lisi := fmt.Sprint(h.lisi.ID)

		for _, name := range []string{"shenhe", "shuji"} {
			c := h.login(t, name)
			var list struct {
				Items []org.Person `json:"items"`
			}
			c.get("/api/v1/people").decode(t, &list)
			if len(list.Items) != 1 || list.Items[0].Name != "张三" {
				t.Errorf("%s lists %+v, want only 张三", name, list.Items)
			}
			wantStatus(t, name+" loads 李四 by API", c.get("/api/v1/people/"+lisi), http.StatusNotFound)
			wantStatus(t, name+" opens 李四's page", c.get("/people/"+lisi), http.StatusNotFound)
			filtered := c.get(fmt.Sprintf("/api/v1/people?org_id=%d", h.c2.ID))
			c.get(fmt.Sprintf("/api/v1/people?org_id=%d", h.c2.ID)).decode(t, &list)
			if filtered.status == http.StatusOK && len(list.Items) != 0 {
				t.Errorf("%s filtering by 南沙社区 sees %+v", name, list.Items)
			}
			page := c.get("/people?q=李四")
			wantNoText(t, name+" searches 李四", page, `href="/people/`+lisi+`"`)
		}

		shuji := h.login(t, "shuji")
		patch := shuji.json("PATCH", "/api/v1/people/"+lisi, map[string]any{
			"org_id": h.c2.ID, "name": "李四改", "id_number": h.lisi.IDNumber, "political_status": "群众"})
		if patch.status != http.StatusNotFound && patch.status != http.StatusForbidden {
			t.Errorf("shuji patches 李四: status %d", patch.status)
		}
		move := shuji.json("PATCH", fmt.Sprintf("/api/v1/people/%d", h.zhangsan.ID), map[string]any{
			"org_id": h.c2.ID, "name": "张三", "id_number": h.zhangsan.IDNumber, "political_status": "中共党员", "party_joined_on": "1980-07-01"})
		if move.status < 400 {
			t.Errorf("shuji moves 张三 into 南沙社区: status %d", move.status)
		}
		archive := shuji.form("/people/"+lisi+"/archive", url.Values{})
		if archive.status != http.StatusNotFound && archive.status != http.StatusForbidden {
			t.Errorf("shuji archives 李四 by the page: status %d", archive.status)
		}
		reviewerEdit := h.login(t, "shenhe").form(fmt.Sprintf("/people/%d", h.zhangsan.ID), url.Values{"name": {"改名"}})
		wantStatus(t, "reviewer edits by the page", reviewerEdit, http.StatusForbidden)

		after, err := h.org.GetPerson(ctx, auth.System(), h.lisi.ID)
		if err != nil || after.Name != "李四" || after.Archived {
			t.Fatalf("李四 after the attempts: %+v, %v", after, err)
		}
		if z, _ := h.org.GetPerson(ctx, auth.System(), h.zhangsan.ID); z.OrgID != h.c1.ID {
			t.Fatalf("张三 moved to org %d", z.OrgID)
		}
	})
}

func TestGeneratedPasswordMustBeChangedFirst(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, generated, err := h.auth.CreateUser(ctx, auth.System(), auth.NewUser{Username: "xinren", DisplayName: "新人",
			Grants: []auth.GrantInput{{Role: auth.RoleReviewer, OrgID: h.c1.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		c, res := signIn(t, h, "xinren", generated)
		wantStatus(t, "login", res, http.StatusOK)
		wantStatus(t, "API before the change", c.get("/api/v1/people"), http.StatusForbidden)
		page := c.get("/people")
		if page.status != http.StatusSeeOther || page.header.Get("Location") != "/password" {
			t.Fatalf("page before the change: %d → %q", page.status, page.header.Get("Location"))
		}
		mismatch := c.form("/password", url.Values{"old_password": {generated}, "new_password": {testPassword}, "confirm_password": {"other"}})
		wantStatus(t, "mismatched confirmation", mismatch, http.StatusBadRequest)
		wantText(t, "mismatched confirmation", mismatch, "两次输入的新密码不一致")
		weak := c.form("/password", url.Values{"old_password": {generated}, "new_password": {"abcdefgh"}, "confirm_password": {"abcdefgh"}})
		wantStatus(t, "weak password", weak, http.StatusBadRequest)
		ok := c.form("/password", url.Values{"old_password": {generated}, "new_password": {testPassword}, "confirm_password": {testPassword}})
		wantStatus(t, "change", ok, http.StatusSeeOther)
		wantStatus(t, "API after the change", c.get("/api/v1/people"), http.StatusOK)
	})
}

func TestLoginPageAndLogout(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "shenhe", auth.RoleReviewer, h.c1, 0)
		c := h.anonymous(t)
		toLogin := c.get("/people?q=张")
		if toLogin.status != http.StatusSeeOther || !strings.HasPrefix(toLogin.header.Get("Location"), "/login?next=") {
			t.Fatalf("anonymous page: %d → %q", toLogin.status, toLogin.header.Get("Location"))
		}
		wrong := c.form("/login", url.Values{"username": {"shenhe"}, "password": {"Wrong#pass1"}, "next": {"/people"}})
		wantStatus(t, "wrong password", wrong, http.StatusUnauthorized)
		wantText(t, "wrong password", wrong, "用户名或密码错误")
		right := c.form("/login", url.Values{"username": {"shenhe"}, "password": {testPassword}, "next": {"/people?q=张"}})
		if loc, _ := url.QueryUnescape(right.header.Get("Location")); right.status != http.StatusSeeOther || loc != "/people?q=张" {
			t.Fatalf("login: %d → %q", right.status, right.header.Get("Location"))
		}
		offsite := h.anonymous(t).form("/login", url.Values{"username": {"shenhe"}, "password": {testPassword}, "next": {"//evil.example/"}})
		if offsite.header.Get("Location") != "/" {
			t.Fatalf("login with an off-site next goes to %q", offsite.header.Get("Location"))
		}
		wantStatus(t, "signed in", c.get("/people"), http.StatusOK)
		wantStatus(t, "logout", c.form("/logout", url.Values{}), http.StatusSeeOther)
		wantStatus(t, "after logout", c.get("/api/v1/me"), http.StatusUnauthorized)
	})
}

func TestCrossOriginFormsAreRefused(t *testing.T) {
	h := newHarness(t, sqliteOnly(t))
	c := h.login(t, mustAdmin(t, h))
	req, _ := http.NewRequest("POST", h.ts.URL+"/orgs", strings.NewReader(url.Values{"parent_id": {fmt.Sprint(h.town.ID)}, "name": {"恶意组织"}, "kind": {"village"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantStatus(t, "cross-site form", c.do(req), http.StatusForbidden)
	kids, _ := h.org.Children(ctx, auth.System(), h.town.ID, true)
	if len(kids) != 2 {
		t.Fatalf("cross-site form created an organisation: %d children", len(kids))
	}
}

func TestAdminPagesRender(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		c := h.login(t, mustAdmin(t, h))
		pages := []struct {
			path  string
			texts []string
		}{
			{"/", []string{"人员总数", "chart-categories", "离退休"}},
			{"/orgs", []string{"组织架构", "元阳县", "元城镇", "/orgs/" + fmt.Sprint(h.town.ID) + "/children"}},
			{fmt.Sprintf("/orgs/%d", h.town.ID), []string{"元城镇", "元城镇社区", "新建下级组织", "变更记录", "新建组织"}},
			{fmt.Sprintf("/orgs/%d/children", h.town.ID), []string{"元城镇社区", "南沙社区"}},
			{"/people", []string{"张三", "李四", "532528********0015", "导入"}},
			{"/people?q=张", []string{"张三"}},
			{fmt.Sprintf("/people/%d", h.zhangsan.ID), []string{"张三", "1955-01-01", "离退休", "修改信息"}},
			{"/people/new", []string{"新增人员", "身份证号"}},
		}
		for _, p := range pages {
			res := c.get(p.path)
			wantStatus(t, p.path, res, http.StatusOK)
			wantText(t, p.path, res, p.texts...)
		}
		wantNoText(t, "/people?q=张", c.get("/people?q=张"), "李四")
		wantNoText(t, "people list", c.get("/people"), h.zhangsan.IDNumber)
	})
}

func TestOrgAndPersonFormsRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		c := h.login(t, mustAdmin(t, h))
		res := c.form("/orgs", url.Values{"parent_id": {fmt.Sprint(h.c1.ID)}, "name": {"元城镇社区第二党支部"}, "kind": {"party_branch"}})
		wantStatus(t, "create org", res, http.StatusSeeOther)
		dup := c.form("/orgs", url.Values{"parent_id": {fmt.Sprint(h.c1.ID)}, "name": {"元城镇社区第二党支部"}, "kind": {"party_branch"}})
		wantStatus(t, "duplicate sibling", dup, http.StatusConflict)
		wantText(t, "duplicate sibling", dup, "同名")

		bad := c.form("/people", url.Values{"org": {"元城镇/元城镇社区"}, "name": {"赵六"}, "id_number": {"53252819550101001"}, "political_status": {"群众"}, "mobile": {"12345"}})
		wantStatus(t, "bad person", bad, http.StatusBadRequest)
		wantText(t, "bad person", bad, "身份证号", "手机号", `value="赵六"`)
		good := c.form("/people", url.Values{"org": {"元城镇/元城镇社区"}, "name": {"赵六"}, "id_number": {"532528197001010042"}, "political_status": {"群众"}, "mobile": {"13812345678"}, "categories": {"志愿者"}})
		wantStatus(t, "good person", good, http.StatusSeeOther)
		list, _, err := h.org.ListPeople(ctx, auth.System(), org.PeopleFilter{Query: "赵六"})
		if err != nil || len(list) != 1 || list[0].OrgID != h.c1.ID || list[0].Gender != "女" {
			t.Fatalf("赵六 after the form: %+v, %v", list, err)
		}
		var me map[string]any
		json.Unmarshal([]byte(c.get("/api/v1/me").body), &me)
		if me["username"] != "xianadmin" {
			t.Fatalf("/api/v1/me = %v", me)
		}
	})
}

// API tokens are for staff wiring up other systems; a retiree's phone menu does without them.
func TestTokensLinkIsForStaffOnly(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "laodangyuan", auth.RoleMember, h.c1, h.zhangsan.ID)
		h.account(t, "shenhe", auth.RoleReviewer, h.c1, 0)
		wantNoText(t, "a member's home", h.login(t, "laodangyuan").get("/"), `href="/tokens"`)
		wantText(t, "a reviewer's home", h.login(t, "shenhe").get("/"), `href="/tokens"`)
	})
}
