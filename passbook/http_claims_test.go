package passbook_test

// The HTTP tests of claims run through a whole server: web.New with the passbook registered.
// They share the package's test binary, and with it the TestMain of the internal tests, which
// lowers the argon2 cost (a test binary has one TestMain).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/web"
	"grassroots/xlsx"
)

var bg = context.Background()

const claimsPassword = "Yuancheng#2026"

// claimsServer is a running server over 元阳县 with two communities: 元城镇社区 with 李老师 and
// 王大爷, 南沙社区 with 赵阿姨, each with a passbook; the clock stands at 2026-03-20 10:00.
type claimsServer struct {
	db           *store.DB
	srv          *web.Server
	ts           *httptest.Server
	svc          *passbook.Service
	auth         *auth.Service
	orgs         *org.Service
	county       org.Org
	c1, c2       org.Org
	li, wang, zh passbook.Passbook
}

func newClaimsServer(t *testing.T, db *store.DB) *claimsServer {
	t.Helper()
	now := time.Date(2026, 3, 20, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	s := &claimsServer{db: db, svc: passbook.NewService(db), auth: auth.NewService(db), orgs: org.NewService(db)}
	s.srv = web.New(web.Config{DB: db, Auth: s.auth, Org: s.orgs,
		Migrations: []store.Migrations{audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	passbook.Register(s.srv, s.svc, s.orgs)
	s.ts = httptest.NewServer(s.srv.Handler())
	t.Cleanup(s.ts.Close)

	sys := auth.System()
	s.county = must(t)(s.orgs.CreateOrg(bg, sys, org.OrgInput{Name: "元阳县", Kind: org.KindCounty}))
	s.c1 = must(t)(s.orgs.CreateOrg(bg, sys, org.OrgInput{ParentID: s.county.ID, Name: "元城镇社区", Kind: org.KindVillage}))
	s.c2 = must(t)(s.orgs.CreateOrg(bg, sys, org.OrgInput{ParentID: s.county.ID, Name: "南沙社区", Kind: org.KindVillage}))
	if _, err := s.svc.SetSettings(bg, sys, s.county.ID, passbook.Settings{FenPerPoint: 100, PublicityDays: 2, DepositExpiry: "none"}); err != nil {
		t.Fatal(err)
	}
	s.li = s.passbook(t, s.c1, "李老师", "532528195501010015")
	s.wang = s.passbook(t, s.c1, "王大爷", "532528195201010013")
	s.zh = s.passbook(t, s.c2, "赵阿姨", "532528195601010020")
	s.account(t, "shequ", auth.RoleUnitAdmin, s.c1, 0)
	s.account(t, "shenhe", auth.RoleReviewer, s.c1, 0)
	s.account(t, "laoli", auth.RoleMember, s.c1, s.li.PersonID)
	s.account(t, "laowang", auth.RoleMember, s.c1, s.wang.PersonID)
	s.account(t, "zhao", auth.RoleMember, s.c2, s.zh.PersonID)
	return s
}

func must(t *testing.T) func(org.Org, error) org.Org {
	return func(o org.Org, err error) org.Org {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
}

func (s *claimsServer) passbook(t *testing.T, o org.Org, name, idNumber string) passbook.Passbook {
	t.Helper()
	pe, err := s.orgs.CreatePerson(bg, auth.System(), org.PersonInput{OrgID: o.ID, Name: name, IDNumber: idNumber,
		PoliticalStatus: "中共党员", PartyJoinedOn: "1975-07-01", Categories: []string{"离退休"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.svc.OpenPassbook(bg, auth.System(), passbook.OpenInput{PersonID: pe.ID, Class: "离退休党员", OpenedOn: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *claimsServer) account(t *testing.T, username string, role auth.RoleKey, o org.Org, personID int64) {
	t.Helper()
	if _, _, err := s.auth.CreateUser(bg, auth.System(), auth.NewUser{Username: username, DisplayName: username,
		Password: claimsPassword, PersonID: personID, Grants: []auth.GrantInput{{Role: role, OrgID: o.ID}}}); err != nil {
		t.Fatal(err)
	}
}

// browser is a signed-in client that does not follow redirects, so tests see them.
type browser struct {
	t    *testing.T
	base string
	http *http.Client
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (r reply) errorCode() (code, field string) {
	var b struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	json.Unmarshal([]byte(r.body), &b)
	return b.Error.Code, b.Error.Field
}

func (s *claimsServer) login(t *testing.T, username string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: s.ts.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if r := b.json("POST", "/api/v1/login", map[string]string{"username": username, "password": claimsPassword}, nil); r.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, r.status, r.body)
	}
	return b
}

func (b *browser) send(method, path, ctype string, body io.Reader, header map[string]string) reply {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: string(data)}
}

func (b *browser) get(path string) reply { return b.send("GET", path, "", nil, nil) }

func (b *browser) json(method, path string, v any, header map[string]string) reply {
	b.t.Helper()
	data, _ := json.Marshal(v)
	return b.send(method, path, "application/json", bytes.NewReader(data), header)
}

// form posts like a same-origin browser form, optionally as htmx.
func (b *browser) form(path string, values url.Values, htmx bool) reply {
	h := map[string]string{"Origin": b.base, "Sec-Fetch-Site": "same-origin"}
	if htmx {
		h["HX-Request"] = "true"
	}
	return b.send("POST", path, "application/x-www-form-urlencoded", strings.NewReader(values.Encode()), h)
}

// multipart posts fields and files; files maps a field name to content.
func (b *browser) multipart(path string, fields map[string]string, files map[string][]byte) reply {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, data := range files {
		fw, _ := mw.CreateFormFile(k, k+".bin")
		fw.Write(data)
	}
	mw.Close()
	return b.send("POST", path, mw.FormDataContentType(), &buf, map[string]string{"Origin": b.base, "Sec-Fetch-Site": "same-origin"})
}

func wantStatus(t *testing.T, what string, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, status)
	}
}

func tinyPNG(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEveryClaimsRouteIsDocumented(t *testing.T) {
	s := newClaimsServer(t, storetest.SQLite(t, audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations))
	for _, r := range s.srv.Routes() {
		if r.Kind == web.KindAPI && strings.HasPrefix(r.Path, "/api/v1/passbook/") && !s.srv.Documented(r.Method, r.Path) {
			t.Errorf("%s %s is not in the OpenAPI description", r.Method, r.Path)
		}
	}
}

func TestClaimsOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newClaimsServer(t, db)
		staff, reviewer := s.login(t, "shequ"), s.login(t, "shenhe")
		laoli, laowang, zhao := s.login(t, "laoli"), s.login(t, "laowang"), s.login(t, "zhao")

		// The community's staff put an item into the catalog through the page.
		r := staff.form("/passbook/items", url.Values{"org_id": {fmt.Sprint(s.c1.ID)}, "code": {"c01"}, "name": {"民族团课"},
			"category": {"组织生活"}, "points": {"5"}, "unit": {"occasion"}, "max_per_claim": {"1"}, "cap_month": {"20"},
			"valid_from": {"2026-01-01"}}, false)
		wantStatus(t, "create item", r, http.StatusSeeOther)
		var items struct{ Items []passbook.Item }
		staff.get(fmt.Sprintf("/api/v1/passbook/items?org_id=%d", s.c1.ID)).decode(t, &items)
		if len(items.Items) != 1 || items.Items[0].Code != "C01" {
			t.Fatalf("catalog = %+v", items.Items)
		}
		item := items.Items[0]
		if r := staff.get(fmt.Sprintf("/passbook/items/%d", item.ID)); r.status != 200 || !strings.Contains(r.body, "版本记录") {
			t.Fatalf("item page: %d", r.status)
		}

		// A member claims from the phone: the form, then the API with an idempotency key.
		r = laoli.get("/passbook/claims/new")
		if r.status != 200 || !strings.Contains(r.body, "民族团课") || !strings.Contains(r.body, `capture="environment"`) {
			t.Fatalf("claim form: %d", r.status)
		}
		body := map[string]any{"passbook_id": s.li.ID, "item_id": item.ID, "work_date": "2026-03-12", "quantity": 1, "note": "团课"}
		key := map[string]string{"Idempotency-Key": "k-1"}
		r = laoli.json("POST", "/api/v1/passbook/claims", body, key)
		wantStatus(t, "claim", r, http.StatusCreated)
		var claim passbook.Claim
		r.decode(t, &claim)
		r = laoli.json("POST", "/api/v1/passbook/claims", body, key)
		var replay passbook.Claim
		r.decode(t, &replay)
		if r.status != http.StatusOK || replay.ID != claim.ID {
			t.Fatalf("replay: %d, claim %d", r.status, replay.ID)
		}
		body["quantity"] = 2
		if r := laoli.json("POST", "/api/v1/passbook/claims", body, key); r.status != http.StatusConflict {
			t.Fatalf("key with another body: %d %s", r.status, r.body)
		}
		refusals := []struct {
			what   string
			body   map[string]any
			status int
			field  string
		}{
			{"another community's passbook", map[string]any{"passbook_id": s.zh.ID, "item_id": item.ID, "quantity": 1}, 404, ""},
			{"negative quantity", map[string]any{"passbook_id": s.li.ID, "item_id": item.ID, "quantity": -1}, 400, "quantity"},
			{"future date", map[string]any{"passbook_id": s.li.ID, "item_id": item.ID, "quantity": 1, "work_date": "2026-04-01"}, 400, "work_date"},
		}
		for _, c := range refusals {
			r := laoli.json("POST", "/api/v1/passbook/claims", c.body, nil)
			if _, field := r.errorCode(); r.status != c.status || field != c.field {
				t.Errorf("%s: %d %s", c.what, r.status, r.body)
			}
		}

		// 代录 with a photo through the page; the photo is served to those who see the claim.
		r = staff.multipart("/passbook/claims", map[string]string{"passbook_id": fmt.Sprint(s.wang.ID), "item_id": fmt.Sprint(item.ID),
			"work_date": "2026-03-13", "quantity": "1", "idempotency_key": "form-1"}, map[string][]byte{"photo": tinyPNG(t)})
		wantStatus(t, "代录 with a photo", r, http.StatusSeeOther)
		var proxy passbook.Claim
		staff.get("/api/v1"+r.header.Get("Location")).decode(t, &proxy)
		if proxy.Source != passbook.SourceProxy || len(proxy.Evidence) != 1 {
			t.Fatalf("代录 claim: %+v", proxy)
		}
		photo := fmt.Sprintf("/passbook/claims/%d/evidence/%d", proxy.ID, proxy.Evidence[0])
		if r := laowang.get(photo); r.status != 200 || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("holder fetching the photo: %d %s", r.status, r.header.Get("Content-Type"))
		}
		if r := zhao.get(photo); r.status != http.StatusNotFound {
			t.Fatalf("another community's member fetching the photo: %d", r.status)
		}

		// Review: the staff who filed the 代录 may not approve it; the reviewer does, inline.
		if r := staff.json("POST", fmt.Sprintf("/api/v1/passbook/claims/%d/approve", proxy.ID), nil, nil); r.status != http.StatusForbidden {
			t.Fatalf("approving one's own 代录: %d %s", r.status, r.body)
		}
		if r := reviewer.get("/passbook/review"); r.status != 200 || !strings.Contains(r.body, "王大爷") || !strings.Contains(r.body, "李老师") {
			t.Fatalf("review queue: %d", r.status)
		}
		// The staff's queue leaves out the 代录 and says it waits for another reviewer.
		if r := staff.get("/passbook/review"); r.status != 200 || !strings.Contains(r.body, "另有 1 条申报是您本人的、由您代录的或经您初审的") {
			t.Fatalf("staff's queue: %d %s", r.status, r.body)
		}
		r = reviewer.form(fmt.Sprintf("/passbook/claims/%d/approve", claim.ID), url.Values{}, true)
		if r.status != 200 || !strings.Contains(r.body, fmt.Sprintf(`id="claim-%d"`, claim.ID)) || !strings.Contains(r.body, "已审核通过") {
			t.Fatalf("htmx approval: %d %s", r.status, r.body)
		}
		r = reviewer.json("POST", fmt.Sprintf("/api/v1/passbook/claims/%d/approve", proxy.ID), map[string]string{"reason": "照片清楚"}, nil)
		wantStatus(t, "API approval", r, http.StatusOK)
		if r := reviewer.json("POST", fmt.Sprintf("/api/v1/passbook/claims/%d/reject", proxy.ID), map[string]string{"reason": "x"}, nil); r.status != http.StatusConflict {
			t.Fatalf("rejecting a publicised claim: %d", r.status)
		}

		// 公示: the community sees both claims, the other community none; an objection.
		if r := laowang.get("/passbook/publicity"); r.status != 200 || !strings.Contains(r.body, "李老师") {
			t.Fatalf("公示 board: %d", r.status)
		}
		var board struct{ Items []passbook.PublicClaim }
		zhao.get("/api/v1/passbook/publicity").decode(t, &board)
		if len(board.Items) != 0 {
			t.Fatalf("another community's board: %+v", board.Items)
		}
		r = laowang.json("POST", fmt.Sprintf("/api/v1/passbook/claims/%d/object", claim.ID), map[string]string{"reason": "那天没开课"}, nil)
		var objected passbook.Claim
		r.decode(t, &objected)
		if r.status != 200 || objected.State != passbook.ClaimSubmitted {
			t.Fatalf("objection: %d %s", r.status, r.body)
		}
		if r := zhao.json("POST", fmt.Sprintf("/api/v1/passbook/claims/%d/object", proxy.ID), map[string]string{"reason": "?"}, nil); r.status != http.StatusNotFound {
			t.Fatalf("objection from another community: %d", r.status)
		}

		// After the 公示 the unopposed claim is posted.
		if posted, refused, err := s.svc.PostDue(bg, time.Date(2026, 3, 23, 1, 0, 0, 0, time.UTC)); posted != 1 || refused != 0 || err != nil {
			t.Fatalf("PostDue: %d %d %v", posted, refused, err)
		}
		var pb passbook.Passbook
		laowang.get(fmt.Sprintf("/api/v1/passbook/passbooks/%d", s.wang.ID)).decode(t, &pb)
		if pb.HonorPoints != 5 || pb.DepositFen != 500 {
			t.Fatalf("王大爷's passbook: %+v", pb)
		}
		if r := laoli.get(fmt.Sprintf("/passbook/claims/%d", claim.ID)); r.status != 200 || !strings.Contains(r.body, "那天没开课") {
			t.Fatalf("claim page with its history: %d", r.status)
		}
		if r := laoli.get("/passbook/claims"); r.status != 200 || !strings.Contains(r.body, "待审核") {
			t.Fatalf("my claims: %d", r.status)
		}
	}, audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations)
}

func batchUpload(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	cols := []xlsx.Column{{Header: "存折号", Text: true}, {Header: "身份证号", Text: true}, {Header: "事项编码"},
		{Header: "日期"}, {Header: "数量"}, {Header: "备注"}}
	var buf bytes.Buffer
	xw, err := xlsx.NewWriter(&buf, "积分申报", cols)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		xw.WriteRow(r...)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBatchOverHTTP(t *testing.T) {
	s := newClaimsServer(t, storetest.SQLite(t, audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations))
	if _, err := s.svc.CreateItem(bg, auth.System(), passbook.ItemInput{OrgID: s.county.ID, Code: "A01", ItemTerms: passbook.ItemTerms{
		Name: "疫情防控值守", Category: "疫情防控", Points: 3, Unit: passbook.UnitOccasion, MaxPerClaim: 1, ValidFrom: "2026-01-01"}}); err != nil {
		t.Fatal(err)
	}
	staff := s.login(t, "shequ")
	if r := staff.get("/passbook/batch/template"); r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("template: %d %s", r.status, r.header.Get("Content-Type"))
	}
	bad := batchUpload(t, []any{s.li.Number, "", "A01", "2026-03-10", 1}, []any{s.li.Number, "", "A01", "2026-03-11", 0})
	r := staff.multipart("/api/v1/passbook/claims/batch", nil, map[string][]byte{"file": bad})
	var refusal struct {
		Error    struct{ Code, Field string }
		Problems []struct {
			Row     int
			Message string
		}
	}
	r.decode(t, &refusal)
	if r.status != 400 || refusal.Error.Field != "file" || len(refusal.Problems) != 1 || refusal.Problems[0].Row != 3 ||
		!strings.Contains(refusal.Problems[0].Message, "数量应大于0") {
		t.Fatalf("bad batch: %d %s", r.status, r.body)
	}
	if r := staff.multipart("/passbook/batch", nil, map[string][]byte{"file": bad}); r.status != 400 || !strings.Contains(r.body, "第3行") ||
		!strings.Contains(r.body, "data:application/vnd.openxmlformats") {
		t.Fatalf("batch page with the report: %d", r.status)
	}
	good := batchUpload(t, []any{s.li.Number, "", "A01", "2026-03-10", 1}, []any{"", "532528195201010013", "a01", "2026-03-11", 1})
	r = staff.multipart("/api/v1/passbook/claims/batch", nil, map[string][]byte{"file": good})
	var res passbook.BatchResult
	r.decode(t, &res)
	if r.status != http.StatusCreated || res.Imported != 2 {
		t.Fatalf("good batch: %d %s", r.status, r.body)
	}
	if r := s.login(t, "laoli").multipart("/api/v1/passbook/claims/batch", nil, map[string][]byte{"file": good}); r.status != http.StatusForbidden {
		t.Fatalf("a member's batch: %d", r.status)
	}
}
