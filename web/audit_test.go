package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
)

type auditList struct {
	Items []struct {
		ID     int64  `json:"id"`
		Actor  string `json:"actor"`
		Action string `json:"action"`
		OrgID  int64  `json:"org_id"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func (l auditList) has(actor, action string) bool {
	for _, r := range l.Items {
		if r.Actor == actor && r.Action == action {
			return true
		}
	}
	return false
}

func listAudit(t *testing.T, c *client, query string) auditList {
	t.Helper()
	res := c.get("/api/v1/audit?" + query)
	wantStatus(t, "audit API "+query, res, http.StatusOK)
	var l auditList
	res.decode(t, &l)
	return l
}

// Sign-ins belong to no organisation: the administrator of the whole tree sees them, a
// community's administrator sees only what happened in the community.
func TestAuditScope(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "countyadmin", auth.RoleAdmin, h.county, 0)
		h.account(t, "c1admin", auth.RoleOrgAdmin, h.c1, 0)
		county, c1 := h.login(t, "countyadmin"), h.login(t, "c1admin")
		res := c1.json("POST", "/api/v1/orgs", map[string]any{"parent_id": h.c1.ID, "name": "元城镇社区第一党支部", "kind": "party_branch"})
		wantStatus(t, "create a branch", res, http.StatusCreated)

		all := listAudit(t, county, "")
		if !all.has("c1admin", "auth.login") || !all.has("system", "person.create") || !all.has("c1admin", "org.create") {
			t.Errorf("the county's administrator misses records: %+v", all.Items)
		}
		mine := listAudit(t, c1, "")
		if mine.has("c1admin", "auth.login") || mine.has("countyadmin", "auth.login") {
			t.Error("a community's administrator sees sign-ins")
		}
		if !mine.has("c1admin", "org.create") {
			t.Error("a community's administrator misses a change in the community")
		}
		for _, r := range mine.Items {
			if r.OrgID == h.c2.ID {
				t.Errorf("a community's administrator sees a record of 南沙社区: %+v", r)
			}
		}

		res = county.get("/audit")
		wantStatus(t, "audit page", res, http.StatusOK)
		wantText(t, "county's audit page", res, "审计日志", `<td data-label="操作">登录</td>`, "新建组织", "元城镇社区", "校验审计链")
		res = c1.get("/audit")
		wantStatus(t, "community's audit page", res, http.StatusOK)
		wantText(t, "community's audit page", res, "新建组织", "元城镇社区第一党支部")
		wantNoText(t, "community's audit page", res, `<td data-label="操作">登录</td>`, "李四")

		// With a second tree, the county's administrator no longer administers everything.
		if _, err := h.org.CreateOrg(ctx, auth.System(), org.OrgInput{Name: "绿春县", Kind: org.KindCounty}); err != nil {
			t.Fatal(err)
		}
		if listAudit(t, county, "action=auth.").has("c1admin", "auth.login") {
			t.Error("an administrator of one tree of two sees sign-ins")
		}

		h.account(t, "reviewer", auth.RoleReviewer, h.county, 0)
		reviewer := h.login(t, "reviewer")
		wantStatus(t, "reviewer's audit page", reviewer.get("/audit"), http.StatusForbidden)
		wantStatus(t, "reviewer's audit API", reviewer.get("/api/v1/audit"), http.StatusForbidden)
	})
}

func TestAuditFilters(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "countyadmin", auth.RoleAdmin, h.county, 0)
		c := h.login(t, "countyadmin")
		today := store.LocalDate(time.Now())
		yesterday := store.LocalDate(time.Now().AddDate(0, 0, -1))

		l := listAudit(t, c, "action=person.&entity_type=person&entity_id="+fmt.Sprint(h.lisi.ID))
		if len(l.Items) != 1 || l.Items[0].Action != "person.create" {
			t.Errorf("李四's records: %+v", l.Items)
		}
		if l := listAudit(t, c, "actor=countyadmin&since="+today+"&until="+today); !l.has("countyadmin", "auth.login") || len(l.Items) != 1 {
			t.Errorf("today's records of countyadmin: %+v", l.Items)
		}
		if l := listAudit(t, c, "until="+yesterday); len(l.Items) != 0 {
			t.Errorf("records before today: %+v", l.Items)
		}

		first := listAudit(t, c, "limit=2")
		if len(first.Items) != 2 || first.NextCursor == "" {
			t.Fatalf("first page: %+v", first)
		}
		second := listAudit(t, c, "limit=2&cursor="+first.NextCursor)
		if len(second.Items) == 0 || second.Items[0].ID >= first.Items[1].ID {
			t.Errorf("second page does not continue with older records: %+v then %+v", first.Items, second.Items)
		}

		for _, q := range []struct{ query, field string }{
			{"since=2026-13-01", "since"},
			{"until=昨天", "until"},
			{"since=" + today + "&until=" + yesterday, "until"},
			{"entity_id=abc", "entity_id"},
			{"cursor=x", "cursor"},
		} {
			res := c.get("/api/v1/audit?" + q.query)
			wantStatus(t, q.query, res, http.StatusBadRequest)
			var e struct{ Error struct{ Field string } }
			if res.decode(t, &e); e.Error.Field != q.field {
				t.Errorf("%s: field %q, want %q", q.query, e.Error.Field, q.field)
			}
		}
		res := c.get("/audit?since=2026-02-30")
		wantStatus(t, "page with a bad date", res, http.StatusBadRequest)
		wantText(t, "page with a bad date", res, "日期应为 YYYY-MM-DD 格式", `value="2026-02-30"`)
	})
}

func TestAuditVerify(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "countyadmin", auth.RoleAdmin, h.county, 0)
		c := h.login(t, "countyadmin")
		res := c.form("/audit/verify", url.Values{})
		wantStatus(t, "verify", res, http.StatusOK)
		wantText(t, "verify", res, "审计链完整：已校验全部")

		// As someone with database access would, around the append-only triggers.
		tamper := []string{"DROP TRIGGER audit_log_no_update", `UPDATE audit_log SET actor = 'mallory' WHERE id = 3`}
		if h.db.IsPostgres() {
			tamper = []string{"ALTER TABLE audit_log DISABLE TRIGGER USER", tamper[1], "ALTER TABLE audit_log ENABLE TRIGGER USER"}
		}
		err := h.db.Write(ctx, func(tx *store.Tx) error {
			for _, stmt := range tamper {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", stmt, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		res = c.form("/audit/verify", url.Values{})
		wantStatus(t, "verify a broken chain", res, http.StatusOK)
		wantText(t, "verify a broken chain", res, "审计链在第 3 条记录处断裂")
	})
}
