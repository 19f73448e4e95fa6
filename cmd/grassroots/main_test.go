package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/store"
)

func TestMain(m *testing.M) {
	auth.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	if code, ok := runAsChild(); ok { // the test binary re-executed as grassroots (crash_test.go)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestServeDemo starts the real server on a fresh SQLite file with the demo world, as the
// README's first command does, and checks it answers and prints what an operator needs.
func TestServeDemo(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "demo.db")
	t.Setenv("GRASSROOTS_ADMIN_PASSWORD", "")
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--db", dsn, "--addr", "127.0.0.1:0"}, outW, io.Discard)
		outW.Close()
	}()
	var url, printed string
	lines := bufio.NewScanner(outR)
	for lines.Scan() {
		line := lines.Text()
		printed += line + "\n"
		if u, ok := strings.CutPrefix(line, "grassroots 已启动："); ok {
			url = u
		}
		if strings.Contains(line, "xishan_keyuan") { // the last demo account
			break
		}
	}
	go io.Copy(io.Discard, outR)
	if url == "" {
		t.Fatalf("serve printed no URL:\n%s", printed)
	}
	for _, want := range []string{"管理员用户名：admin", "管理员初始密码", "shequ_shenhe", "xishan_zzb", "xishan_czj", "xishan_juzhang"} {
		if !strings.Contains(printed, want) {
			t.Errorf("serve output lacks %q:\n%s", want, printed)
		}
	}
	for _, path := range []string{"/readyz", "/login", "/api/v1/openapi.json"} {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, res.StatusCode)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}

	if code, out, errOut := runCLI("audit", "verify", "--db", dsn); code != 0 || !strings.Contains(out, "审计链完整") {
		t.Fatalf("audit verify: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := runCLI("passbook", "verify", "--db", dsn); code != 0 || !strings.Contains(out, "账目相符") {
		t.Fatalf("passbook verify: %d %s %s", code, out, errOut)
	}
	code, out, _ := runCLI("token", "create", "--db", dsn, "--user", "admin")
	if token := strings.TrimSpace(out); code != 0 || strings.Contains(token, "\n") || !strings.HasPrefix(token, "grt_") {
		t.Fatalf("token create printed %q (exit %d); want only the token", out, code)
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	if code, out, errOut := runCLI("backup", "--db", dsn, backup); code != 0 || !strings.Contains(out, "已备份") {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCLI("audit", "verify", "--db", backup); code != 0 {
		t.Fatalf("audit verify of the backup: %d %s", code, out)
	}
	if code, _, errOut := runCLI("backup", "--db", dsn, backup); code != 1 || !strings.Contains(errOut, "已存在") {
		t.Fatalf("backup over an existing file: %d %s", code, errOut)
	}
}

// TestAuditVerifyFailsOnTampering proves the command exits non-zero naming the record.
func TestAuditVerifyFailsOnTampering(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "g.db")
	if code, _, errOut := runCLI("user", "add", "--db", dsn, "--username", "zhangsan", "--display-name", "张三"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		for _, s := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET actor = 'mallory' WHERE id = 1"} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI("audit", "verify", "--db", dsn)
	if code != 1 || !strings.Contains(errOut, "第 1 条") {
		t.Fatalf("audit verify after tampering: exit %d, %q", code, errOut)
	}
}

// TestEveryAPIRouteIsDocumented checks the whole product as wired for serve: every JSON route
// of every room is in the served OpenAPI description.
func TestEveryAPIRouteIsDocumented(t *testing.T) {
	a, err := open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	srv := a.server(slog.New(slog.NewTextHandler(io.Discard, nil)))
	n := 0
	for _, r := range srv.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		n++
		if !srv.Documented(r.Method, r.Path) {
			t.Errorf("%s %s is not in the OpenAPI description", r.Method, r.Path)
		}
	}
	if n < 60 {
		t.Fatalf("only %d API routes: is every room registered?", n)
	}
}
