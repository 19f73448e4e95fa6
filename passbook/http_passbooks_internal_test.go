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

const pagesPassword = "Yuancheng#2026"

// pagesWorld is a running server over two communities with a passbook each.
type pagesWorld struct {
	*ledgerWorld
	ts     *httptest.Server
	auth   *auth.Service
	orgs   *org.Service
	other  Passbook
	c1, c2 int64
}

func newPagesWorld(t *testing.T, db *store.DB) *pagesWorld {
	t.Helper()
	w := &pagesWorld{ledgerWorld: newLedgerWorld(t, db, Settings{FenPerPoint: 100, PublicityDays: 0, DepositExpiry: "none", RankingsPublic: true}),
		auth: auth.NewService(db), orgs: org.NewService(db)}
	sys := auth.System()
	community, err := w.orgs.GetOrg(ctx, sys, w.pb.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	sibling, err := w.orgs.CreateOrg(ctx, sys, org.OrgInput{ParentID: community.ParentID, Name: "南沙社区", Kind: org.KindVillage})
	if err != nil {
		t.Fatal(err)
	}
	w.c1, w.c2 = community.ID, sibling.ID
	other, err := w.orgs.CreatePerson(ctx, sys, org.PersonInput{OrgID: sibling.ID, Name: "王大姐", IDNumber: "532528195601010020",
		PoliticalStatus: "中共党员", PartyJoinedOn: "1985-07-01", Categories: []string{"离退休"}})
	if err != nil {
		t.Fatal(err)
	}
	if w.other, err = w.svc.OpenPassbook(ctx, sys, OpenInput{PersonID: other.ID, Class: "离退休党员"}); err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Config{DB: db, Auth: w.auth, Org: w.orgs, Migrations: migrations,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	Register(srv, w.svc, w.orgs)
	w.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(w.ts.Close)
	return w
}

func (w *pagesWorld) account(t *testing.T, username string, role auth.RoleKey, orgID, personID int64) {
	t.Helper()
	if _, _, err := w.auth.CreateUser(ctx, auth.System(), auth.NewUser{Username: username, DisplayName: username,
		Password: pagesPassword, PersonID: personID, Grants: []auth.GrantInput{{Role: role, OrgID: orgID}}}); err != nil {
		t.Fatal(err)
	}
}

type pageClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func (w *pagesWorld) login(t *testing.T, username string) *pageClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &pageClient{t: t, base: w.ts.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	status, body := c.send("POST", "/api/v1/login", "application/json", fmt.Sprintf(`{"username":%q,"password":%q}`, username, pagesPassword))
	if status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, status, body)
	}
	return c
}

func (c *pageClient) send(method, path, ctype, body string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Origin", c.base)
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *pageClient) get(path string) (int, string) { return c.send("GET", path, "", "") }

func (c *pageClient) form(path string, v url.Values) (int, string) {
	return c.send("POST", path, "application/x-www-form-urlencoded", v.Encode())
}

func TestPassbookPagesAndAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newPagesWorld(t, db)
		w.account(t, "shuji", auth.RoleUnitAdmin, w.c1, 0)
		w.account(t, "laoli", auth.RoleMember, w.c1, w.pb.PersonID)
		pb, _ := w.svc.GetPassbook(ctx, auth.System(), w.pb.ID)
		if err := w.write(t, func(tx *store.Tx) error {
			_, err := earn(ctx, tx, auth.System().Actor(), pb, DefaultSettings, 6, "2026-03-01", "民族团课", 0)
			return err
		}); err != nil {
			t.Fatal(err)
		}

		staff := w.login(t, "shuji")
		status, body := staff.get("/passbook")
		if status != 200 || !strings.Contains(body, pb.Number) || strings.Contains(body, w.other.Number) {
			t.Fatalf("staff list: %d, own number shown %v, sibling's shown %v", status, strings.Contains(body, pb.Number), strings.Contains(body, w.other.Number))
		}
		status, body = staff.get(fmt.Sprintf("/api/v1/passbook/passbooks/%d", pb.ID))
		var got Passbook
		json.Unmarshal([]byte(body), &got)
		if status != 200 || got.HonorPoints != 6 || got.DepositFen != 600 {
			t.Fatalf("GET passbook: %d %s", status, body)
		}
		if status, _ := staff.get(fmt.Sprintf("/api/v1/passbook/passbooks/%d", w.other.ID)); status != http.StatusNotFound {
			t.Fatalf("sibling's passbook by API: %d", status)
		}
		status, body = staff.get(fmt.Sprintf("/passbook/passbooks/%d", pb.ID))
		if status != 200 || !strings.Contains(body, "民族团课") || !strings.Contains(body, "6.00") {
			t.Fatalf("passbook page: %d", status)
		}

		member := w.login(t, "laoli")
		status, _ = member.get("/passbook")
		if status != http.StatusSeeOther {
			t.Fatalf("member /passbook: %d, want a redirect to their own", status)
		}
		status, body = member.get("/passbook/me")
		if status != 200 || !strings.Contains(body, "6.00") || !strings.Contains(body, "民族团课") || !strings.Contains(body, "得 6 分，在") ||
			!strings.Contains(body, "排第 1 名") {
			t.Fatalf("member page: %d\n%s", status, body)
		}
		if status, _ := member.get(fmt.Sprintf("/api/v1/passbook/passbooks/%d", w.other.ID)); status != http.StatusNotFound {
			t.Fatalf("member loads another's passbook: %d", status)
		}
		if status, _ := member.form("/passbook/settings", url.Values{"org_id": {fmt.Sprint(w.c1)}, "fen_per_point": {"1"}, "publicity_days": {"0"}}); status != http.StatusForbidden {
			t.Fatalf("member changes settings: %d", status)
		}

		status, body = staff.form("/passbook/passbooks", url.Values{"id_number": {"532528195601010020"}, "class": {"离退休党员"}})
		if status != http.StatusBadRequest || !strings.Contains(body, "权限范围内没有") {
			t.Fatalf("opening a passbook for a sibling community's person: %d", status)
		}
		status, body = staff.form("/passbook/settings", url.Values{"org_id": {fmt.Sprint(w.c1)}, "fen_per_point": {"-5"}, "publicity_days": {"3"}, "deposit_expiry": {"none"}})
		if status != http.StatusBadRequest || !strings.Contains(body, "折算比例") {
			t.Fatalf("bad settings: %d", status)
		}
		status, _ = staff.form("/passbook/settings", url.Values{"org_id": {fmt.Sprint(w.c1)}, "fen_per_point": {"50"}, "publicity_days": {"3"}, "deposit_expiry": {"none"}})
		if status != http.StatusSeeOther {
			t.Fatalf("settings: %d", status)
		}
		if set, _ := w.svc.GetSettings(ctx, auth.System(), w.c1); set.FenPerPoint != 50 || set.OrgID != w.c1 {
			t.Fatalf("settings after the form: %+v", set)
		}

		lines, _, _ := w.svc.Statement(ctx, auth.System(), pb.ID, 0, 10)
		reverse := url.Values{"tx": {fmt.Sprint(lines[0].TxID)}, "reason": {"重复申报"}}
		if status, _ := member.form(fmt.Sprintf("/passbook/passbooks/%d/reverse", pb.ID), reverse); status != http.StatusForbidden {
			t.Fatalf("member reverses: %d", status)
		}
		if status, _ := staff.form(fmt.Sprintf("/passbook/passbooks/%d/reverse", pb.ID), reverse); status != http.StatusSeeOther {
			t.Fatalf("unit admin reverses: %d", status)
		}
		status, body = staff.form(fmt.Sprintf("/passbook/passbooks/%d/reverse", pb.ID), reverse)
		if status != http.StatusConflict || !strings.Contains(body, "不能重复冲正") {
			t.Fatalf("second reversal: %d", status)
		}
		w.wantBalances(t, 0, 0)
		w.wantSound(t)
	}, migrations...)
}
