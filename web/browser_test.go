package web_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/xlsx"
)

// chromium finds a browser for the end-to-end test; CI installs Debian's chromium.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no Chromium installed; .ci/run installs it")
	return ""
}

// TestBrowserLoginCreateImportFind drives a real browser as a county organiser would: sign in,
// create a community under a township, import its members from Excel, find one by name.
func TestBrowserLoginCreateImportFind(t *testing.T) {
	exe := chromium(t)
	h := newHarness(t, sqliteOnly(t))
	h.account(t, "zuzhibu", auth.RoleOrgAdmin, h.county, 0)

	sheet := filepath.Join(t.TempDir(), "新社区党员.xlsx")
	var buf bytes.Buffer
	w, err := xlsx.NewWriter(&buf, org.PeopleSheet, org.PeopleColumns())
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]any{
		{"白玉兰", "女", "532528196203150022", "13908731234", "中共党员", "1988-07-01", "离退休", "元阳县/元城镇/东门社区"},
		{"龙国庆", "", "532528195910010016", "", "中共党员", "1980-05-04", "离退休、志愿者", "元阳县/元城镇/东门社区"},
	} {
		if err := w.WriteRow(row...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sheet, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe),
		chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 90*time.Second)
	defer cancel()

	base := h.ts.URL
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	step("sign in", chromedp.Navigate(base+"/people"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "zuzhibu"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.filters`)))

	step("create a community", chromedp.Navigate(fmt.Sprintf("%s/orgs/%d", base, h.town.ID)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/orgs"] input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/orgs"] input[name=name]`), "东门社区"),
		chromedp.Submit(chromedp.CSS(`form[action="/orgs"] input[name=name]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
	if got := text("h1"); !strings.Contains(got, "东门社区") {
		t.Fatalf("after creating, the page heading is %q", got)
	}

	step("import members", chromedp.Navigate(base+"/people/import"),
		chromedp.WaitVisible(chromedp.CSS(`input[type=file]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{sheet}),
		chromedp.Submit(chromedp.CSS(`input[type=file]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if got := text(".flash"); !strings.Contains(got, "已导入 2 人") {
		t.Fatalf("import result: %q", got)
	}

	step("find a member by name", chromedp.Navigate(base+"/people"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=q]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=q]`), "龙国庆"),
		chromedp.Submit(chromedp.CSS(`input[name=q]`)))
	// The list before the search has rows too: wait for the answer to the search to be the page.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if loc, err := chromedp.Run(bctx, chromedp.Location()); err == nil && strings.Contains(loc, "q=") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the search for 龙国庆 did not load")
		}
	}
	step("the search's answer", chromedp.WaitVisible(chromedp.CSS(`table tbody tr`)))
	rows := text("table tbody")
	if !strings.Contains(rows, "龙国庆") || !strings.Contains(rows, "东门社区") || strings.Contains(rows, "白玉兰") {
		t.Fatalf("search for 龙国庆 shows %q", rows)
	}
	if strings.Contains(rows, "532528195910010016") {
		t.Fatal("the list shows a full 身份证号")
	}
}
