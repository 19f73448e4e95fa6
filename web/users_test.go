package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"grassroots/auth"
)

var secretBox = regexp.MustCompile(`<p class="secret">([^<]+)</p>`)

// secret is the one-time password or token a page shows.
func secret(t *testing.T, res response) string {
	t.Helper()
	m := secretBox.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no secret on the page (%d): %s", res.status, res.body)
	}
	return html.UnescapeString(m[1])
}

func wantStatus(t *testing.T, what string, res response, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, res.status, status, res.body)
	}
}

func wantText(t *testing.T, what string, res response, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(res.body, s) {
			t.Errorf("%s: page lacks %q", what, s)
		}
	}
}

func wantNoText(t *testing.T, what string, res response, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(res.body, s) {
			t.Errorf("%s: page shows %q", what, s)
		}
	}
}

// signIn signs a user in with a password handed over to them.
func signIn(t *testing.T, h *harness, username, password string) (*client, response) {
	t.Helper()
	c := h.anonymous(t)
	return c, c.json("POST", "/api/v1/login", map[string]string{"username": username, "password": password})
}

func TestOrgAdminCreatesAccountsInTheirCommunity(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "c1admin", auth.RoleOrgAdmin, h.c1, 0)
		c := h.login(t, "c1admin")

		res := c.get("/users/new")
		wantStatus(t, "new user page", res, http.StatusOK)
		wantText(t, "new user page", res, "新建账号", "组织部门管理员", "留空则自动生成")

		res = c.form("/users", url.Values{"username": {"WangWu"}, "display_name": {"王五"},
			"role": {"reviewer"}, "org": {"元阳县/元城镇/元城镇社区"}})
		wantStatus(t, "create", res, http.StatusOK)
		wantText(t, "create", res, "已新建账号：wangwu", "只显示这一次", "首次登录时必须改为自己的密码", "审核员", "元城镇社区")
		password := secret(t, res)

		var u struct {
			ID                 int64 `json:"id"`
			MustChangePassword bool  `json:"must_change_password"`
		}
		_, login := signIn(t, h, "wangwu", password)
		wantStatus(t, "login with the generated password", login, http.StatusOK)
		login.decode(t, &u)
		if !u.MustChangePassword {
			t.Error("a generated password need not be changed")
		}
		again := c.get(fmt.Sprintf("/users/%d", u.ID))
		wantStatus(t, "user page", again, http.StatusOK)
		wantNoText(t, "user page after creation", again, password, `class="secret"`)

		// A person is named by their 身份证号, or comes with the link from their page.
		res = c.form("/users", url.Values{"username": {"zhangsan"}, "id_number": {h.zhangsan.IDNumber}, "password": {testPassword}})
		wantStatus(t, "create for a person", res, http.StatusSeeOther)
		res = c.get(res.header.Get("Location"))
		wantText(t, "person's account", res, "已新建账号：zhangsan", "张三", fmt.Sprintf(`href="/people/%d"`, h.zhangsan.ID))
		res = c.get(fmt.Sprintf("/users/new?person_id=%d", h.zhangsan.ID))
		wantText(t, "new account for a person", res, "本账号属于", "张三")

		// Nothing outside 元城镇社区: neither 李四 nor 南沙社区.
		res = c.form("/users", url.Values{"username": {"lisi"}, "id_number": {h.lisi.IDNumber}, "password": {testPassword}})
		wantStatus(t, "create for 李四", res, http.StatusBadRequest)
		wantText(t, "create for 李四", res, "您的权限范围内没有身份证号为")
		res = c.form("/users", url.Values{"username": {"nanadmin"}, "display_name": {"南沙"}, "role": {"reviewer"}, "org": {"元阳县/元城镇/南沙社区"}})
		wantStatus(t, "create on 南沙社区", res, http.StatusBadRequest)
		wantText(t, "create on 南沙社区", res, "未找到组织", `value="nanadmin"`)
		res = c.form("/users", url.Values{"username": {"x"}, "display_name": {"短"}, "role": {"reviewer"}, "org": {"元城镇社区"}})
		wantStatus(t, "bad username", res, http.StatusBadRequest)
		wantText(t, "bad username", res, "用户名须为3至32位")
	})
}

func TestAccountsOfAnotherCommunityAreHidden(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "c1admin", auth.RoleOrgAdmin, h.c1, 0)
		mine := h.account(t, "c1reviewer", auth.RoleReviewer, h.c1, 0)
		theirs := h.account(t, "c2reviewer", auth.RoleReviewer, h.c2, 0)
		c := h.login(t, "c1admin")

		res := c.get("/users")
		wantStatus(t, "users page", res, http.StatusOK)
		wantText(t, "users page", res, "c1reviewer", "审核员 · 元城镇社区")
		wantNoText(t, "users page", res, "c2reviewer")

		var list struct {
			Items []struct{ Username string } `json:"items"`
		}
		res = c.get("/api/v1/users")
		wantStatus(t, "users API", res, http.StatusOK)
		res.decode(t, &list)
		for _, u := range list.Items {
			if u.Username == "c2reviewer" {
				t.Error("the API lists an account of 南沙社区")
			}
		}

		id := fmt.Sprint(theirs.ID)
		for _, r := range []response{
			c.get("/users/" + id),
			c.form("/users/"+id+"/disable", nil),
			c.form("/users/"+id+"/password-reset", nil),
			c.form("/users/"+id+"/grants", url.Values{"role": {"reviewer"}, "org": {"元城镇社区"}}),
		} {
			wantStatus(t, "page on 南沙社区's account", r, http.StatusNotFound)
		}
		for _, r := range []response{
			c.get("/api/v1/users/" + id),
			c.json("POST", "/api/v1/users/"+id+"/disable", nil),
			c.json("POST", "/api/v1/users/"+id+"/unlock", nil),
			c.json("POST", "/api/v1/users/"+id+"/password-reset", nil),
			c.json("POST", "/api/v1/users/"+id+"/grants", map[string]any{"role": "reviewer", "org_id": h.c1.ID}),
			c.json("DELETE", "/api/v1/users/"+id+"/grants", map[string]any{"role": "reviewer", "org_id": h.c2.ID}),
		} {
			wantStatus(t, "API on 南沙社区's account", r, http.StatusNotFound)
			if r.errorCode() != "not_found" {
				t.Errorf("error code %q, want not_found", r.errorCode())
			}
		}
		if _, login := signIn(t, h, "c2reviewer", testPassword); login.status != http.StatusOK {
			t.Errorf("南沙社区's account was changed: login %d", login.status)
		}

		// The community's own account can be managed.
		res = c.get(fmt.Sprintf("/users/%d", mine.ID))
		wantStatus(t, "own community's account", res, http.StatusOK)
		wantText(t, "own community's account", res, "c1reviewer", "重置密码", "停用账号", "添加授权")
	})
}

func TestWithoutUsersManageAccountsAreForbidden(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "reviewer", auth.RoleReviewer, h.c1, 0)
		c := h.login(t, "reviewer")
		for _, path := range []string{"/users", "/users/new", "/roles", "/api/v1/users", "/api/v1/roles"} {
			wantStatus(t, path, c.get(path), http.StatusForbidden)
		}
		wantStatus(t, "create via API", c.json("POST", "/api/v1/users", map[string]any{"username": "someone"}), http.StatusForbidden)
		res := c.get("/")
		wantNoText(t, "reviewer's menu", res, `href="/users"`, `href="/audit"`)
	})
}

func TestManagingAnAccount(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		self := h.account(t, "c1admin", auth.RoleOrgAdmin, h.c1, 0)
		c := h.login(t, "c1admin")

		var created struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
			Password string `json:"password"`
			Grants   []struct {
				Role    string `json:"role"`
				OrgName string `json:"org_name"`
			} `json:"grants"`
			Disabled bool `json:"disabled"`
		}
		res := c.json("POST", "/api/v1/users", map[string]any{"username": "zhaoliu", "display_name": "赵六",
			"grants": []map[string]any{{"role": "reviewer", "org_id": h.c1.ID}}})
		wantStatus(t, "create via API", res, http.StatusCreated)
		res.decode(t, &created)
		if created.Password == "" || len(created.Grants) != 1 || created.Grants[0].OrgName != "元城镇社区" {
			t.Fatalf("created %+v", created)
		}
		user := fmt.Sprintf("/api/v1/users/%d", created.ID)
		page := fmt.Sprintf("/users/%d", created.ID)

		res = c.json("POST", "/api/v1/users", map[string]any{"username": "zhaoliu", "display_name": "又一个",
			"grants": []map[string]any{{"role": "reviewer", "org_id": h.c1.ID}}})
		wantStatus(t, "same username", res, http.StatusConflict)
		res = c.json("POST", "/api/v1/users", map[string]any{"username": "boss", "display_name": "县管理员",
			"grants": []map[string]any{{"role": "admin", "org_id": h.c1.ID}}})
		wantStatus(t, "grant more than one holds", res, http.StatusForbidden)

		var reset struct{ Password string }
		res = c.json("POST", user+"/password-reset", nil)
		wantStatus(t, "reset via API", res, http.StatusOK)
		res.decode(t, &reset)
		if _, login := signIn(t, h, "zhaoliu", reset.Password); login.status != http.StatusOK {
			t.Errorf("login with the reset password: %d", login.status)
		}
		res = c.form(page+"/password-reset", nil)
		wantStatus(t, "reset on the page", res, http.StatusOK)
		wantText(t, "reset on the page", res, "已重置密码", "新密码")
		pagePassword := secret(t, res)

		res = c.form(page+"/disable", nil)
		wantStatus(t, "disable", res, http.StatusSeeOther)
		wantText(t, "disabled", c.get(page), "已停用账号", "已停用", "启用账号")
		if _, login := signIn(t, h, "zhaoliu", pagePassword); login.status != http.StatusUnauthorized {
			t.Errorf("a disabled account signs in: %d", login.status)
		}
		res = c.json("POST", user+"/enable", nil)
		wantStatus(t, "enable", res, http.StatusOK)
		res.decode(t, &created)
		if created.Disabled {
			t.Error("still disabled")
		}
		wantStatus(t, "disable oneself", c.json("POST", fmt.Sprintf("/api/v1/users/%d/disable", self.ID), nil), http.StatusConflict)

		// Five wrong passwords lock the account; the administrator lifts the lock.
		for range 5 {
			signIn(t, h, "zhaoliu", "Wrong#Password1")
		}
		wantText(t, "locked", c.get(page), "已锁定", "解除锁定")
		wantStatus(t, "unlock", c.form(page+"/unlock", nil), http.StatusSeeOther)
		wantNoText(t, "unlocked", c.get(page), "已锁定")
		if _, login := signIn(t, h, "zhaoliu", pagePassword); login.status != http.StatusOK {
			t.Errorf("login after unlocking: %d", login.status)
		}

		// Grants: add on the page, remove through the API; without any, the account leaves
		// the administrator's charge.
		res = c.form(page+"/grants", url.Values{"role": {"unit_admin"}, "org": {"元城镇社区"}})
		wantStatus(t, "add grant", res, http.StatusSeeOther)
		wantText(t, "granted", c.get(page), "单位管理员")
		res = c.form(page+"/grants", url.Values{"role": {"unit_admin"}, "org": {"南沙社区"}})
		wantStatus(t, "grant on 南沙社区", res, http.StatusBadRequest)
		wantText(t, "grant on 南沙社区", res, "未找到组织")
		res = c.json("DELETE", user+"/grants", map[string]any{"role": "unit_admin", "org_id": h.c1.ID})
		wantStatus(t, "remove grant", res, http.StatusNoContent)
		res = c.form(page+"/grants/remove", url.Values{"role": {"reviewer"}, "org_id": {fmt.Sprint(h.c1.ID)}})
		wantStatus(t, "remove last grant", res, http.StatusSeeOther)
		if loc := res.header.Get("Location"); loc != "/users" {
			t.Errorf("after the last grant went to %q, want /users", loc)
		}
		wantStatus(t, "account out of charge", c.get(user), http.StatusNotFound)
	})
}

func TestRolesPage(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "c1admin", auth.RoleOrgAdmin, h.c1, 0)
		c := h.login(t, "c1admin")
		res := c.get("/roles")
		wantStatus(t, "roles page", res, http.StatusOK)
		wantText(t, "roles page", res, "系统管理员", "组织部门管理员", "普通党员/成员", "仅本人", "管理账号与授权", "查看审计日志")

		var roles struct {
			Items []struct {
				Key         string `json:"key"`
				SelfOnly    bool   `json:"self_only"`
				Permissions []struct{ Key, Name string }
			} `json:"items"`
		}
		c.get("/api/v1/roles").decode(t, &roles)
		if len(roles.Items) != len(auth.Roles()) {
			t.Fatalf("%d roles, want %d", len(roles.Items), len(auth.Roles()))
		}
		for _, r := range roles.Items {
			if r.Key == "admin" && len(r.Permissions) != len(auth.Permissions()) {
				t.Errorf("admin has %d permissions, want all %d", len(r.Permissions), len(auth.Permissions()))
			}
			if r.Key == "member" && !r.SelfOnly {
				t.Error("member is not self-only")
			}
		}
	})
}

func TestAPITokens(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.account(t, "c1admin", auth.RoleOrgAdmin, h.c1, 0)
		owner := h.account(t, "member", auth.RoleMember, h.c1, h.zhangsan.ID)
		c := h.login(t, "member")

		var tok struct {
			ID     int64  `json:"id"`
			Token  string `json:"token"`
			Prefix string `json:"prefix"`
		}
		res := c.json("POST", "/api/v1/tokens", map[string]string{"name": "数据同步"})
		wantStatus(t, "create token", res, http.StatusCreated)
		res.decode(t, &tok)
		if !strings.HasPrefix(tok.Token, tok.Prefix) {
			t.Fatalf("token %q does not start with its prefix %q", tok.Token, tok.Prefix)
		}
		wantStatus(t, "nameless token", c.json("POST", "/api/v1/tokens", map[string]string{"name": " "}), http.StatusBadRequest)

		bearer := h.anonymous(t)
		bearer.bearer = tok.Token
		var me struct{ Username string }
		res = bearer.get("/api/v1/me")
		wantStatus(t, "me with the token", res, http.StatusOK)
		if res.decode(t, &me); me.Username != "member" {
			t.Errorf("token acts as %q", me.Username)
		}
		var list struct {
			Items []struct{ Name string } `json:"items"`
		}
		c.get("/api/v1/tokens").decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].Name != "数据同步" {
			t.Errorf("tokens %+v", list.Items)
		}

		// Nobody else may revoke it: another member gets not found.
		h.account(t, "other", auth.RoleMember, h.c1, 0)
		wantStatus(t, "someone else's token", h.login(t, "other").json("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil), http.StatusNotFound)

		wantStatus(t, "revoke", c.json("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil), http.StatusNoContent)
		res = bearer.get("/api/v1/me")
		wantStatus(t, "me with a revoked token", res, http.StatusUnauthorized)
		if res.errorCode() != "unauthenticated" {
			t.Errorf("error code %q", res.errorCode())
		}

		// The page: created once, then only its prefix.
		res = c.form("/tokens", url.Values{"name": {"手机端"}})
		wantStatus(t, "create on the page", res, http.StatusOK)
		token := secret(t, res)
		wantText(t, "created token", res, "已创建令牌：手机端", "只显示这一次", "Authorization: Bearer "+token)
		res = c.get("/tokens")
		wantStatus(t, "tokens page", res, http.StatusOK)
		wantText(t, "tokens page", res, "手机端", "数据同步", "已于", "从未使用")
		wantNoText(t, "tokens page", res, token)

		// An administrator sees the member's tokens and revokes one from the account's page.
		admin := h.login(t, "c1admin")
		res = admin.get(fmt.Sprintf("/users/%d", owner.ID))
		wantText(t, "account's tokens", res, "手机端", "吊销")
		var mine struct {
			Items []struct{ ID int64 } `json:"items"`
		}
		c.get("/api/v1/tokens").decode(t, &mine)
		res = admin.form(fmt.Sprintf("/tokens/%d/revoke", mine.Items[0].ID), url.Values{"next": {fmt.Sprintf("/users/%d", owner.ID)}})
		wantStatus(t, "revoke by the administrator", res, http.StatusSeeOther)
		if loc := res.header.Get("Location"); loc != fmt.Sprintf("/users/%d", owner.ID) {
			t.Errorf("back to %q", loc)
		}
		bearer.bearer = token
		wantStatus(t, "revoked by the administrator", bearer.get("/api/v1/me"), http.StatusUnauthorized)
	})
}
