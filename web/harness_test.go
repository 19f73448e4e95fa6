package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/web"
)

func TestMain(m *testing.M) {
	// Production argon2 cost would make every login in these tests slow and memory-hungry.
	auth.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

var ctx = context.Background()

var migrations = []store.Migrations{audit.Migrations, org.Migrations, auth.Migrations}

// testPassword satisfies the password policy; every test account uses it.
const testPassword = "Yuanyang#2026"

// harness is a running server over a small county:
//
//	元阳县
//	└─ 元城镇
//	   ├─ 元城镇社区 (c1): 张三
//	   └─ 南沙社区 (c2): 李四
type harness struct {
	db             *store.DB
	srv            *web.Server
	ts             *httptest.Server
	auth           *auth.Service
	org            *org.Service
	county, town   org.Org
	c1, c2         org.Org
	zhangsan, lisi org.Person
}

// each runs fn against a harness on SQLite and, when configured, PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, h *harness)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fn(t, newHarness(t, db))
	}, migrations...)
}

func newHarness(t *testing.T, db *store.DB) *harness {
	t.Helper()
	h := &harness{db: db, auth: auth.NewService(db), org: org.NewService(db)}
	h.srv = web.New(web.Config{DB: db, Auth: h.auth, Org: h.org, Migrations: migrations,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h.ts = httptest.NewServer(h.srv.Handler())
	t.Cleanup(h.ts.Close)
	sys := auth.System()
	must := func(o org.Org, err error) org.Org {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	h.county = must(h.org.CreateOrg(ctx, sys, org.OrgInput{Name: "元阳县", Kind: org.KindCounty, DivisionCode: "532528000000"}))
	h.town = must(h.org.CreateOrg(ctx, sys, org.OrgInput{ParentID: h.county.ID, Name: "元城镇", Kind: org.KindTownship}))
	h.c1 = must(h.org.CreateOrg(ctx, sys, org.OrgInput{ParentID: h.town.ID, Name: "元城镇社区", Kind: org.KindVillage}))
	h.c2 = must(h.org.CreateOrg(ctx, sys, org.OrgInput{ParentID: h.town.ID, Name: "南沙社区", Kind: org.KindVillage}))
	h.zhangsan = h.person(t, h.c1, "张三", "532528195501010015")
	h.lisi = h.person(t, h.c2, "李四", "532528195601010020")
	return h
}

func (h *harness) person(t *testing.T, o org.Org, name, id string) org.Person {
	t.Helper()
	p, err := h.org.CreatePerson(ctx, auth.System(), org.PersonInput{OrgID: o.ID, Name: name, IDNumber: id,
		PoliticalStatus: "中共党员", PartyJoinedOn: "1980-07-01", Categories: []string{"离退休"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// account creates a user holding role on o, with testPassword (no forced change).
func (h *harness) account(t *testing.T, username string, role auth.RoleKey, o org.Org, personID int64) auth.User {
	t.Helper()
	u, _, err := h.auth.CreateUser(ctx, auth.System(), auth.NewUser{Username: username, DisplayName: username, Password: testPassword,
		PersonID: personID, Grants: []auth.GrantInput{{Role: role, OrgID: o.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// client is a browser-like HTTP client with a cookie jar that does not follow redirects, so
// tests see them.
type client struct {
	t    *testing.T
	h    *harness
	http *http.Client
	// bearer, when set, is sent instead of relying on cookies.
	bearer string
}

func (h *harness) anonymous(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, h: h, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login signs username in through the JSON API.
func (h *harness) login(t *testing.T, username string) *client {
	t.Helper()
	c := h.anonymous(t)
	res := c.json("POST", "/api/v1/login", map[string]string{"username": username, "password": testPassword})
	if res.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, res.status, res.body)
	}
	return c
}

type response struct {
	status int
	header http.Header
	body   string
}

// decode unmarshals the body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// errorCode is the "code" of a JSON error body.
func (r response) errorCode() string {
	var b struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	json.Unmarshal([]byte(r.body), &b)
	return b.Error.Code
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.h.ts.URL+path, nil)
	return c.do(req)
}

func (c *client) json(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.h.ts.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

// form posts a form as a same-origin browser would.
func (c *client) form(path string, values url.Values) response {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.h.ts.URL+path, strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.h.ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// sqliteOnly is for tests of the HTTP layer itself, which behave the same on both databases.
func sqliteOnly(t *testing.T) *store.DB { return storetest.SQLite(t, migrations...) }
