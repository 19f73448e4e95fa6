package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
)

const (
	wrongCredentials = "用户名或密码错误"
	lockedMessage    = "登录失败次数过多，账号已锁定，请15分钟后再试"
	expiredMessage   = "登录已过期，请重新登录"
)

func TestLockout(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		u := w.user(t, "lisi", "Lisi@2025", grant(auth.RoleMember, w.commA))

		for i := 1; i <= 4; i++ {
			_, err := w.svc.Login(ctx, "lisi", "wrong-guess", "10.9.9.9", "curl")
			wantErr(t, err, errs.KindUnauthenticated, wrongCredentials)
			// The failure count is committed although Login returned an error.
			if n := w.count(t, `SELECT failed_logins FROM users WHERE id = ?`, u.ID); n != i {
				t.Fatalf("after %d failures failed_logins = %d", i, n)
			}
		}
		_, err := w.svc.Login(ctx, "lisi", "wrong-guess", "10.9.9.9", "curl")
		wantErr(t, err, errs.KindUnauthenticated, lockedMessage)
		_, err = w.svc.Login(ctx, "LiSi", "Lisi@2025", "10.9.9.9", "curl")
		wantErr(t, err, errs.KindUnauthenticated, lockedMessage)
		if got, _ := w.svc.GetUser(ctx, auth.System(), u.ID); !got.LockedUntil.Equal(w.now.Add(15 * time.Minute)) {
			t.Fatalf("LockedUntil = %v, want 15 minutes from now", got.LockedUntil)
		}

		w.advance(14 * time.Minute)
		_, err = w.svc.Login(ctx, "lisi", "Lisi@2025", "10.9.9.9", "curl")
		wantErr(t, err, errs.KindUnauthenticated, lockedMessage)
		w.advance(2 * time.Minute)
		sess, err := w.svc.Login(ctx, "lisi", "Lisi@2025", "10.9.9.9", "curl")
		if err != nil || sess.User.ID != u.ID || !sess.User.LockedUntil.IsZero() {
			t.Fatalf("login after the lockout = %+v, %v", sess, err)
		}

		// An unknown user gets the same answer as a wrong password.
		_, err = w.svc.Login(ctx, "nobody", "Lisi@2025", "10.9.9.8", "curl")
		wantErr(t, err, errs.KindUnauthenticated, wrongCredentials)

		// Every attempt is in the audit log, with its reason and the client's address.
		recs, _, err := audit.List(ctx, w.db, audit.Filter{AllOrgs: true, Action: "auth.login"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(recs) - 1; i >= 0; i-- {
			var s struct{ Username, Reason string }
			if err := json.Unmarshal(recs[i].Summary, &s); err != nil {
				t.Fatal(err)
			}
			got = append(got, recs[i].Action+" "+s.Username+" "+s.Reason+" "+recs[i].ClientIP)
		}
		want := []string{
			"auth.login_failed lisi wrong_password 10.9.9.9",
			"auth.login_failed lisi wrong_password 10.9.9.9",
			"auth.login_failed lisi wrong_password 10.9.9.9",
			"auth.login_failed lisi wrong_password 10.9.9.9",
			"auth.login_failed lisi wrong_password_locked 10.9.9.9",
			"auth.login_failed lisi locked 10.9.9.9",
			"auth.login_failed lisi locked 10.9.9.9",
			"auth.login lisi  10.9.9.9",
			"auth.login_failed nobody unknown_user 10.9.9.8",
		}
		if len(got) != len(want) {
			t.Fatalf("audit log has\n%q\nwant\n%q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("audit record %d = %q, want %q", i, got[i], want[i])
			}
		}

		// An administrator can lift a lockout early.
		for range 5 {
			w.svc.Login(ctx, "lisi", "wrong-guess", "10.9.9.9", "curl")
		}
		if err := w.svc.Unlock(ctx, auth.System(), u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Login(ctx, "lisi", "Lisi@2025", "10.9.9.9", "curl"); err != nil {
			t.Fatalf("login after unlock: %v", err)
		}

		// A disabled account is refused, but only a caller who knows the password learns why.
		if err := w.svc.SetDisabled(ctx, auth.System(), u.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Login(ctx, "lisi", "Lisi@2025", "", "")
		wantErr(t, err, errs.KindUnauthenticated, "账号已停用")
		_, err = w.svc.Login(ctx, "lisi", "wrong-guess", "", "")
		wantErr(t, err, errs.KindUnauthenticated, wrongCredentials)
	})
}

func TestSessions(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		u := w.user(t, "wangwu", "Wangwu@2025", grant(auth.RoleUnitAdmin, w.commA), grant(auth.RoleMember, w.commB))
		start := w.now
		sess, err := w.svc.Login(ctx, "wangwu", "Wangwu@2025", "10.0.0.7", "Mozilla/5.0")
		if err != nil {
			t.Fatal(err)
		}
		if len(sess.Token) != 43 || sess.User.Username != "wangwu" || sess.MustChangePassword {
			t.Fatalf("session = %+v", sess)
		}
		// Only the SHA-256 of the token is stored.
		sum := sha256.Sum256([]byte(sess.Token))
		if n := w.count(t, `SELECT COUNT(*) FROM sessions WHERE id = ? AND user_id = ?`, hex.EncodeToString(sum[:]), u.ID); n != 1 {
			t.Fatal("the session is not stored under the SHA-256 of its token")
		}
		if n := w.count(t, `SELECT COUNT(*) FROM sessions WHERE id = ?`, sess.Token); n != 0 {
			t.Fatal("the session token is stored in the clear")
		}

		p, err := w.svc.Authenticate(ctx, sess.Token, "10.0.0.8")
		if err != nil {
			t.Fatal(err)
		}
		if p.UserID != u.ID || p.Username != "wangwu" || p.IP != "10.0.0.8" || len(p.Grants) != 2 ||
			p.Grants[0].OrgPath != w.commA.Path || p.Grants[0].OrgName != "南门社区" {
			t.Fatalf("principal = %+v", p)
		}
		if s := p.Scope(auth.PeopleManage); !s.Covers(w.commA.Path) || s.Covers(w.commB.Path) {
			t.Fatalf("people.manage scope = %+v", s)
		}
		if s := p.Scope(auth.PeopleView); !s.Covers(w.commA.Path) || s.PersonID != 0 {
			t.Fatalf("people.view scope = %+v", s) // the member grant is self-only, and wangwu has no person
		}

		lastSeen := func() string {
			var s string
			w.db.QueryRow(ctx, `SELECT last_seen_at FROM sessions WHERE user_id = ?`, u.ID).Scan(&s)
			return s
		}
		w.advance(30 * time.Second)
		w.svc.Authenticate(ctx, sess.Token, "")
		if lastSeen() != "2025-03-01T08:00:00.000000Z" {
			t.Fatalf("last_seen_at = %s: touched within a minute of the last touch", lastSeen())
		}
		// Use keeps the session alive past 30 minutes from sign-in …
		for _, d := range []time.Duration{29 * time.Minute, 29 * time.Minute} {
			w.advance(d)
			if _, err := w.svc.Authenticate(ctx, sess.Token, ""); err != nil {
				t.Fatalf("%v after sign-in: %v", w.now.Sub(start), err)
			}
		}
		if lastSeen() != "2025-03-01T08:58:30.000000Z" {
			t.Fatalf("last_seen_at = %s", lastSeen())
		}
		// … and 30 idle minutes end it.
		w.advance(30 * time.Minute)
		_, err = w.svc.Authenticate(ctx, sess.Token, "")
		wantErr(t, err, errs.KindUnauthenticated, expiredMessage)
		if n := w.count(t, `SELECT COUNT(*) FROM sessions`); n != 0 {
			t.Fatalf("%d sessions left after expiry", n)
		}

		// However busy, a session ends after 12 hours.
		sess, _ = w.svc.Login(ctx, "wangwu", "Wangwu@2025", "", "")
		for range 35 {
			w.advance(20 * time.Minute)
			if _, err := w.svc.Authenticate(ctx, sess.Token, ""); err != nil {
				t.Fatalf("busy session refused after %d minutes: %v", 20*35, err)
			}
		}
		w.advance(20 * time.Minute)
		_, err = w.svc.Authenticate(ctx, sess.Token, "")
		wantErr(t, err, errs.KindUnauthenticated, expiredMessage)

		// Logout ends the session and is audited.
		sess, _ = w.svc.Login(ctx, "wangwu", "Wangwu@2025", "", "")
		if err := w.svc.Logout(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Authenticate(ctx, sess.Token, "")
		wantErr(t, err, errs.KindUnauthenticated, expiredMessage)
		if err := w.svc.Logout(ctx, sess.Token); err != nil {
			t.Fatalf("second logout: %v", err)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.logout' AND actor_id = ?`, u.ID); n != 1 {
			t.Fatalf("%d logout records, want 1", n)
		}

		// Disabling ends every session at once.
		sess, _ = w.svc.Login(ctx, "wangwu", "Wangwu@2025", "", "")
		if err := w.svc.SetDisabled(ctx, auth.System(), u.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Authenticate(ctx, sess.Token, "")
		wantErr(t, err, errs.KindUnauthenticated, "")
	})
}

func TestInitialPassword(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		u, initial, err := w.svc.CreateUser(ctx, auth.System(), auth.NewUser{
			Username: "zhaoliu", PersonID: w.personA, Grants: []auth.GrantInput{grant(auth.RoleMember, w.commA)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if initial == "" || auth.ValidatePassword(initial) != nil || !u.MustChangePassword {
			t.Fatalf("initial password %q, must change %v", initial, u.MustChangePassword)
		}
		if u.DisplayName != "张三" || u.PersonID != w.personA || len(u.Grants) != 1 || u.Grants[0].RoleName != "普通党员/成员" {
			t.Fatalf("user = %+v", u)
		}
		sess, err := w.svc.Login(ctx, "zhaoliu", initial, "", "")
		if err != nil || !sess.MustChangePassword {
			t.Fatalf("first login = %+v, %v; want a forced change", sess, err)
		}
		other, _ := w.svc.Login(ctx, "zhaoliu", initial, "", "")
		p, err := w.svc.Authenticate(ctx, sess.Token, "")
		if err != nil || !p.MustChangePassword {
			t.Fatalf("principal = %+v, %v; want MustChangePassword", p, err)
		}

		wantErr(t, w.svc.ChangePassword(ctx, p, "not-it", "Better#2025"), errs.KindInvalid, "原密码错误")
		wantErr(t, w.svc.ChangePassword(ctx, p, initial, "short"), errs.KindInvalid,
			"密码至少8位，且须包含大写字母、小写字母、数字、符号中的三类")
		wantErr(t, w.svc.ChangePassword(ctx, p, initial, initial), errs.KindInvalid, "新密码不能与原密码相同")
		if err := w.svc.ChangePassword(ctx, p, initial, "Better#2025"); err != nil {
			t.Fatal(err)
		}

		if got, _ := w.svc.GetUser(ctx, p, u.ID); got.MustChangePassword {
			t.Fatal("must-change is still set after the change")
		}
		if _, err := w.svc.Authenticate(ctx, sess.Token, ""); err != nil {
			t.Fatalf("the session that changed the password ended: %v", err)
		}
		_, err = w.svc.Authenticate(ctx, other.Token, "")
		wantErr(t, err, errs.KindUnauthenticated, expiredMessage)
		_, err = w.svc.Login(ctx, "zhaoliu", initial, "", "")
		wantErr(t, err, errs.KindUnauthenticated, wrongCredentials)
		if sess, err := w.svc.Login(ctx, "zhaoliu", "Better#2025", "", ""); err != nil || sess.MustChangePassword {
			t.Fatalf("login with the new password = %+v, %v", sess, err)
		}

		// A reset hands out a new generated password, forces a change and ends every session.
		reset, err := w.svc.ResetPassword(ctx, auth.System(), u.ID)
		if err != nil || auth.ValidatePassword(reset) != nil {
			t.Fatalf("reset = %q, %v", reset, err)
		}
		_, err = w.svc.Authenticate(ctx, sess.Token, "")
		wantErr(t, err, errs.KindUnauthenticated, expiredMessage)
		if sess, err := w.svc.Login(ctx, "zhaoliu", reset, "", ""); err != nil || !sess.MustChangePassword {
			t.Fatalf("login after reset = %+v, %v", sess, err)
		}

		// An operator-chosen password must meet the policy and is not forced to change.
		_, _, err = w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: "sunqi", DisplayName: "孙七", Password: "sunqi123"})
		wantErr(t, err, errs.KindInvalid, "密码至少8位，且须包含大写字母、小写字母、数字、符号中的三类")
		chosen, generated, err := w.svc.CreateUser(ctx, auth.System(), auth.NewUser{Username: "sunqi", DisplayName: "孙七", Password: "Sunqi#123"})
		if err != nil || generated != "" || chosen.MustChangePassword {
			t.Fatalf("operator-chosen password: %+v, %q, %v", chosen, generated, err)
		}
		if err := w.svc.SetPassword(ctx, auth.System(), chosen.ID, "Sunqi#456"); err != nil {
			t.Fatal(err)
		}
		if sess, err := w.svc.Login(ctx, "sunqi", "Sunqi#456", "", ""); err != nil || sess.MustChangePassword {
			t.Fatalf("login after SetPassword = %+v, %v", sess, err)
		}
		wantErr(t, w.svc.ChangePassword(ctx, auth.System(), "x", "Sunqi#789"), errs.KindInvalid, "")
	})
}
