package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/errs"
)

const invalidToken = "令牌无效或已吊销"

func TestTokens(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		u := w.user(t, "feng", "Feng#2025", grant(auth.RoleUnitAdmin, w.commA))
		w.user(t, "chen", "Chen#2025", grant(auth.RoleUnitAdmin, w.commB))
		p, _ := w.signIn(t, "feng", "Feng#2025")

		secret, tok, err := w.svc.CreateToken(ctx, p, " 财务系统对接 ")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "grt_") || len(secret) != 4+43 || tok.Prefix != secret[:12] ||
			tok.Name != "财务系统对接" || tok.UserID != u.ID || !tok.LastUsedAt.IsZero() {
			t.Fatalf("token %q, %+v", secret, tok)
		}

		// At rest there is only the SHA-256 and a short prefix for display.
		var hash, prefix, name string
		w.db.QueryRow(ctx, `SELECT token_hash, prefix, name FROM api_tokens WHERE id = ?`, tok.ID).Scan(&hash, &prefix, &name)
		sum := sha256.Sum256([]byte(secret))
		if hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("token_hash = %q, want the SHA-256 of the token", hash)
		}
		for _, col := range []string{hash, prefix, name} {
			if strings.Contains(col, secret[12:]) {
				t.Fatalf("the stored row holds the secret: %q", col)
			}
		}

		tp, err := w.svc.AuthenticateToken(ctx, secret, "10.5.5.5")
		if err != nil {
			t.Fatal(err)
		}
		if tp.UserID != u.ID || tp.IP != "10.5.5.5" || !tp.Scope(auth.UsersManage).Covers(w.commA.Path) ||
			tp.Scope(auth.UsersManage).Covers(w.commB.Path) {
			t.Fatalf("token principal = %+v", tp)
		}
		w.advance(10 * time.Second)
		w.svc.AuthenticateToken(ctx, secret, "")
		list, err := w.svc.ListTokens(ctx, p)
		if err != nil || len(list) != 1 || list[0].ID != tok.ID || !list[0].LastUsedAt.Equal(w.now.Add(-10*time.Second)) {
			t.Fatalf("ListTokens = %+v, %v; want one token last used at the first use", list, err)
		}

		// Someone else's token is not found, not even by another community's administrator.
		pc, _ := w.signIn(t, "chen", "Chen#2025")
		wantErr(t, w.svc.RevokeToken(ctx, pc, tok.ID), errs.KindNotFound, "令牌不存在")
		if other, _ := w.svc.ListTokens(ctx, pc); len(other) != 0 {
			t.Fatalf("chen sees tokens %+v", other)
		}
		_, err = w.svc.ListTokensOf(ctx, pc, u.ID)
		wantErr(t, err, errs.KindNotFound, "")

		if err := w.svc.RevokeToken(ctx, p, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.AuthenticateToken(ctx, secret, "")
		wantErr(t, err, errs.KindUnauthenticated, invalidToken)
		if list, _ := w.svc.ListTokensOf(ctx, auth.System(), u.ID); len(list) != 1 || list[0].RevokedAt.IsZero() {
			t.Fatalf("after revoking: %+v", list)
		}
		for _, bad := range []string{"", "grt_", "grt_" + strings.Repeat("A", 43), secret[4:]} {
			_, err = w.svc.AuthenticateToken(ctx, bad, "")
			wantErr(t, err, errs.KindUnauthenticated, invalidToken)
		}

		// The command line makes tokens for a named user; a disabled user's tokens stop working.
		secret, tok, err = w.svc.CreateTokenForUser(ctx, auth.System(), "Chen", "巡检脚本")
		if err != nil || tok.Name != "巡检脚本" {
			t.Fatalf("CreateTokenForUser = %+v, %v", tok, err)
		}
		if _, err := w.svc.AuthenticateToken(ctx, secret, ""); err != nil {
			t.Fatal(err)
		}
		_, _, err = w.svc.CreateTokenForUser(ctx, p, "chen", "越权")
		wantErr(t, err, errs.KindNotFound, "")
		chen, _, _ := w.svc.ListUsers(ctx, auth.System(), auth.UserFilter{Query: "chen"})
		if err := w.svc.SetDisabled(ctx, auth.System(), chen[0].ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.AuthenticateToken(ctx, secret, "")
		wantErr(t, err, errs.KindUnauthenticated, "账号已停用")

		_, _, err = w.svc.CreateToken(ctx, auth.System(), "x")
		wantErr(t, err, errs.KindInvalid, "")
		_, _, err = w.svc.CreateToken(ctx, p, "  ")
		wantErr(t, err, errs.KindInvalid, "令牌名称须为1至64个字")
	})
}
