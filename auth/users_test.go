package auth_test

import (
	"slices"
	"strings"
	"testing"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

func usernames(users []auth.User) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Username)
	}
	return out
}

func TestScope(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		w.user(t, "admin.a", "AdminA#2025", grant(auth.RoleUnitAdmin, w.commA))
		b := w.user(t, "member.b", "MemberB#2025", grant(auth.RoleMember, w.commB))
		pa, _ := w.signIn(t, "admin.a", "AdminA#2025")

		// A user granted only on the sibling community is invisible and untouchable.
		list, _, err := w.svc.ListUsers(ctx, pa, auth.UserFilter{})
		if err != nil || !slices.Equal(usernames(list), []string{"admin.a"}) {
			t.Fatalf("admin.a lists %v, %v", usernames(list), err)
		}
		_, err = w.svc.GetUser(ctx, pa, b.ID)
		wantErr(t, err, errs.KindNotFound, "用户不存在")
		_, err = w.svc.UserByName(ctx, pa, "member.b")
		wantErr(t, err, errs.KindNotFound, "用户不存在")
		if got, err := w.svc.UserByName(ctx, auth.System(), "Member.B"); err != nil || got.ID != b.ID {
			t.Fatalf("UserByName as system = %+v, %v", got, err)
		}
		wantErr(t, w.svc.SetDisabled(ctx, pa, b.ID, true), errs.KindNotFound, "")
		wantErr(t, w.svc.Unlock(ctx, pa, b.ID), errs.KindNotFound, "")
		_, err = w.svc.ResetPassword(ctx, pa, b.ID)
		wantErr(t, err, errs.KindNotFound, "")
		wantErr(t, w.svc.SetPassword(ctx, pa, b.ID, "Taken#2025"), errs.KindNotFound, "")
		wantErr(t, w.svc.AddGrant(ctx, pa, b.ID, grant(auth.RoleMember, w.commA)), errs.KindNotFound, "")
		wantErr(t, w.svc.RemoveGrant(ctx, pa, b.ID, grant(auth.RoleMember, w.commB)), errs.KindNotFound, "")
		if got, _ := w.svc.GetUser(ctx, auth.System(), b.ID); got.Disabled || len(got.Grants) != 1 {
			t.Fatalf("member.b was changed: %+v", got)
		}

		// A member without users.manage sees only their own account and creates none.
		pb, _ := w.signIn(t, "member.b", "MemberB#2025")
		if list, _, _ := w.svc.ListUsers(ctx, pb, auth.UserFilter{}); len(list) != 0 {
			t.Fatalf("member lists %v", usernames(list))
		}
		if self, err := w.svc.GetUser(ctx, pb, b.ID); err != nil || self.Username != "member.b" {
			t.Fatalf("own account = %+v, %v", self, err)
		}
		_, err = w.svc.GetUser(ctx, pb, pa.UserID)
		wantErr(t, err, errs.KindNotFound, "")
		_, _, err = w.svc.CreateUser(ctx, pb, auth.NewUser{Username: "new.one", DisplayName: "新人",
			Grants: []auth.GrantInput{grant(auth.RoleMember, w.commB)}})
		wantErr(t, err, errs.KindForbidden, "")

		// Nor can admin.a hand out roles beyond its own, or anywhere else: an organisation
		// outside its charge is as missing as one that is not there, so that ids cannot be
		// probed for names.
		users := w.count(t, `SELECT COUNT(*) FROM users`)
		for _, c := range []struct {
			g    auth.GrantInput
			kind errs.Kind
			msg  string
		}{
			{grant(auth.RoleAdmin, w.commA), errs.KindForbidden, "无权在“南门社区”授予“系统管理员”角色"},
			{grant(auth.RoleOrgAdmin, w.commA), errs.KindForbidden, "无权在“南门社区”授予“组织部门管理员”角色"},
			{grant(auth.RoleMember, w.commB), errs.KindNotFound, "组织不存在"},
			{grant(auth.RoleUnitAdmin, w.county), errs.KindNotFound, "组织不存在"},
			{grant(auth.RoleMember, orgRef{ID: 1 << 40}), errs.KindNotFound, "组织不存在"},
		} {
			_, _, err := w.svc.CreateUser(ctx, pa, auth.NewUser{Username: "new.one", DisplayName: "新人", Grants: []auth.GrantInput{c.g}})
			wantErr(t, err, c.kind, c.msg)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM users`); n != users {
			t.Fatal("a refused CreateUser wrote a user")
		}
		_, _, err = w.svc.CreateUser(ctx, pa, auth.NewUser{Username: "new.one", PersonID: w.personB})
		wantErr(t, err, errs.KindNotFound, "人员不存在")
		_, _, err = w.svc.CreateUser(ctx, pa, auth.NewUser{Username: "new.one", DisplayName: "新人"})
		wantErr(t, err, errs.KindInvalid, "请至少授予一个角色或关联人员")

		// Inside community A it manages accounts, up to its own permissions.
		m, _, err := w.svc.CreateUser(ctx, pa, auth.NewUser{Username: "member.a", DisplayName: "成员甲",
			Grants: []auth.GrantInput{grant(auth.RoleMember, w.commA), grant(auth.RoleMember, w.commA)}})
		if err != nil || len(m.Grants) != 1 {
			t.Fatalf("create member.a = %+v, %v", m, err)
		}
		wantErr(t, w.svc.AddGrant(ctx, pa, m.ID, grant(auth.RoleAdmin, w.commA)), errs.KindForbidden, "")
		wantErr(t, w.svc.AddGrant(ctx, pa, m.ID, grant(auth.RoleMember, w.commB)), errs.KindNotFound, "组织不存在")
		wantErr(t, w.svc.AddGrant(ctx, pa, m.ID, grant(auth.RoleMember, w.commA)), errs.KindConflict, "该用户已有此授权")
		if err := w.svc.AddGrant(ctx, pa, m.ID, grant(auth.RoleReviewer, w.commA)); err != nil {
			t.Fatal(err)
		}
		linked, _, err := w.svc.CreateUser(ctx, pa, auth.NewUser{Username: "zhangsan", PersonID: w.personA})
		if err != nil || linked.DisplayName != "张三" || len(linked.Grants) != 0 {
			t.Fatalf("account for a person of community A = %+v, %v", linked, err)
		}
		list, _, _ = w.svc.ListUsers(ctx, pa, auth.UserFilter{})
		if !slices.Equal(usernames(list), []string{"admin.a", "member.a", "zhangsan"}) {
			t.Fatalf("admin.a lists %v", usernames(list))
		}
		got, err := w.svc.GetUser(ctx, pa, m.ID)
		if err != nil || len(got.Grants) != 2 || got.Grants[1].Role != auth.RoleReviewer || got.Grants[1].OrgName != "南门社区" {
			t.Fatalf("member.a = %+v, %v", got, err)
		}
		if err := w.svc.RemoveGrant(ctx, pa, m.ID, grant(auth.RoleReviewer, w.commA)); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.SetDisabled(ctx, pa, m.ID, true); err != nil {
			t.Fatal(err)
		}
		wantErr(t, w.svc.SetDisabled(ctx, pa, pa.UserID, true), errs.KindConflict, "不能停用自己的账号")

		// An organisation-department administrator holds every permission there is today, yet
		// cannot make an admin: admin also means every permission registered in future.
		w.user(t, "org.a", "OrgA#2025", grant(auth.RoleOrgAdmin, w.commA))
		po, _ := w.signIn(t, "org.a", "OrgA#2025")
		_, _, err = w.svc.CreateUser(ctx, po, auth.NewUser{Username: "new.admin", DisplayName: "新管理员",
			Grants: []auth.GrantInput{grant(auth.RoleAdmin, w.commA)}})
		wantErr(t, err, errs.KindForbidden, "无权在“南门社区”授予“系统管理员”角色")
		if _, _, err := w.svc.CreateUser(ctx, po, auth.NewUser{Username: "new.admin", DisplayName: "新管理员",
			Grants: []auth.GrantInput{grant(auth.RoleOrgAdmin, w.commA)}}); err != nil {
			t.Fatal(err)
		}

		// A county administrator who is also a member in community A is visible there but cannot
		// be taken over from there.
		boss := w.user(t, "boss", "Boss#2025", grant(auth.RoleAdmin, w.county), grant(auth.RoleMember, w.commA))
		if _, err := w.svc.GetUser(ctx, pa, boss.ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.ResetPassword(ctx, pa, boss.ID)
		wantErr(t, err, errs.KindForbidden, "")
		wantErr(t, w.svc.SetDisabled(ctx, pa, boss.ID, true), errs.KindForbidden, "")
		_, _, err = w.svc.CreateTokenForUser(ctx, pa, "boss", "后门")
		wantErr(t, err, errs.KindForbidden, "")
		// The county administrator can do all of it, including granting admin further down.
		pboss, _ := w.signIn(t, "boss", "Boss#2025")
		if !pboss.CanGrant(mustRole(auth.RoleAdmin), w.commB.Path) || pa.CanGrant(mustRole(auth.RoleAdmin), w.commA.Path) {
			t.Fatal("CanGrant admin: the county admin should, admin.a should not")
		}
		if err := w.svc.AddGrant(ctx, pboss, b.ID, grant(auth.RoleAdmin, w.commB)); err != nil {
			t.Fatal(err)
		}

	})
}

func mustRole(key auth.RoleKey) auth.Role {
	r, _ := auth.LookupRole(key)
	return r
}

func TestListUsersPagesAndFilters(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		for _, name := range []string{"wang.a", "wang.b", "li.c", "wang.d", "zhou.e"} {
			w.user(t, name, "Passw0rd!", grant(auth.RoleMember, w.commA))
		}
		var all []string
		var cursor int64
		for page := 0; ; page++ {
			list, next, err := w.svc.ListUsers(ctx, auth.System(), auth.UserFilter{Limit: 2, Cursor: cursor})
			if err != nil || len(list) > 2 || page > 3 {
				t.Fatalf("page %d = %v, %v", page, usernames(list), err)
			}
			all = append(all, usernames(list)...)
			if next == 0 {
				break
			}
			cursor = next
		}
		if !slices.Equal(all, []string{"wang.a", "wang.b", "li.c", "wang.d", "zhou.e"}) {
			t.Fatalf("pages hold %v", all)
		}
		list, _, _ := w.svc.ListUsers(ctx, auth.System(), auth.UserFilter{Query: "WANG"})
		if !slices.Equal(usernames(list), []string{"wang.a", "wang.b", "wang.d"}) {
			t.Fatalf("query WANG finds %v", usernames(list))
		}
		list, _, _ = w.svc.ListUsers(ctx, auth.System(), auth.UserFilter{Query: "_"})
		if len(list) != 0 {
			t.Fatalf("query _ is a wildcard: finds %v", usernames(list))
		}
	})
}

func TestDuplicatesRefused(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		w.user(t, "zhangsan", "Passw0rd!", grant(auth.RoleMember, w.commA))
		users, records := w.count(t, `SELECT COUNT(*) FROM users`), w.count(t, `SELECT COUNT(*) FROM audit_log`)
		_, _, err := w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: " ZhangSan ", DisplayName: "张三",
			Grants: []auth.GrantInput{grant(auth.RoleMember, w.commB)}})
		wantErr(t, err, errs.KindConflict, "用户名已存在")
		if w.count(t, `SELECT COUNT(*) FROM users`) != users || w.count(t, `SELECT COUNT(*) FROM audit_log`) != records ||
			w.count(t, `SELECT COUNT(*) FROM grants`) != 1 {
			t.Fatal("a refused CreateUser wrote something")
		}

		if _, _, err := w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: "san.zhang", PersonID: w.personA}); err != nil {
			t.Fatal(err)
		}
		_, _, err = w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: "zhang3", PersonID: w.personA})
		wantErr(t, err, errs.KindConflict, "该人员已有账号")

		for _, bad := range []string{"ab", "张三丰", "zhang san", strings.Repeat("a", 33), "a/b"} {
			_, _, err := w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: bad, DisplayName: "x"})
			wantErr(t, err, errs.KindInvalid, "用户名须为3至32位字母、数字或 . _ -")
		}
		_, _, err = w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: "nobody"})
		wantErr(t, err, errs.KindInvalid, "请填写显示名称")
		_, _, err = w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: "ghost", DisplayName: "x",
			Grants: []auth.GrantInput{{Role: "superuser", OrgID: w.commA.ID}}})
		wantErr(t, err, errs.KindInvalid, "未知角色：superuser")
		_, _, err = w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: "ghost", DisplayName: "x",
			Grants: []auth.GrantInput{{Role: auth.RoleMember, OrgID: 9999}}})
		wantErr(t, err, errs.KindNotFound, "组织不存在")
	})
}

func TestBootstrap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := &world{db: db, svc: auth.NewService(db)}
		// A fresh database: no organisations yet.
		generated, created, err := w.svc.Bootstrap(ctx, "admin", "")
		if err != nil || !created || auth.ValidatePassword(generated) != nil {
			t.Fatalf("Bootstrap = %q, %v, %v", generated, created, err)
		}
		if again, created, err := w.svc.Bootstrap(ctx, "admin", ""); err != nil || created || again != "" {
			t.Fatalf("second Bootstrap = %q, %v, %v", again, created, err)
		}
		root := w.addOrg(t, orgRef{}, "红河州")
		for range 2 {
			if err := w.svc.GrantAdminOnRoots(ctx, "admin"); err != nil {
				t.Fatal(err)
			}
		}
		sess, err := w.svc.Login(ctx, "admin", generated, "", "")
		if err != nil || !sess.MustChangePassword || len(sess.User.Grants) != 1 ||
			sess.User.Grants[0].Role != auth.RoleAdmin || sess.User.Grants[0].OrgID != root.ID {
			t.Fatalf("admin after seeding = %+v, %v", sess, err)
		}
		wantErr(t, w.svc.GrantAdminOnRoots(ctx, "nobody"), errs.KindNotFound, "")

		// With organisations in place, Bootstrap grants at once; a chosen password is kept.
		generated, created, err = w.svc.Bootstrap(ctx, "ops", "Ops#2025ok")
		if err != nil || !created || generated != "" {
			t.Fatalf("Bootstrap ops = %q, %v, %v", generated, created, err)
		}
		p, _ := w.signIn(t, "ops", "Ops#2025ok")
		if p.MustChangePassword || !p.CanGrant(mustRole(auth.RoleAdmin), root.Path) || !p.Scope(auth.OrgManage).Covers(root.Path+"7/") {
			t.Fatalf("ops principal = %+v", p)
		}
		if _, err := audit.Verify(ctx, db); err != nil {
			t.Fatal(err)
		}
	}, audit.Migrations, org.Migrations, auth.Migrations)
}
