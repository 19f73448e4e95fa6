package appraisal_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"grassroots/store/storetest"
)

// browser is one user's Chromium, signed in to the test server; it skips the test when no
// Chromium is installed (.ci/run installs it).
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (s *server) browser(t *testing.T, username, first string) *browser {
	t.Helper()
	var exe string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			exe = path
			break
		}
	}
	if exe == "" {
		t.Skip("no Chromium installed; .ci/run installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe),
		chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the browser on the long-lived context
		t.Fatal(err)
	}
	b := &browser{t: t, ctx: ctx, base: s.ts.URL}
	b.do("sign in as "+username, chromedp.Navigate(b.base+first),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`h1`)))
	return b
}

// do runs the actions of one step, each step within 30 seconds; on failure it shows what the
// page said.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		page, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`body`)))
		b.t.Fatalf("%s: %v; the page shows: %s", what, err, page)
	}
}

// shows fails unless the element sel shows every text.
func (b *browser) shows(what, sel string, texts ...string) {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: read %s: %v", what, sel, err)
	}
	for _, s := range texts {
		if !strings.Contains(got, s) {
			b.t.Errorf("%s: %s shows %q, not %q", what, sel, got, s)
		}
	}
}

// TestBrowserMergeAndConfirm drives the appraisal forms in Chromium: 财政局's HR office
// changes a rating on its form and is refused confirming a small pool alone; the district's
// organisation department goes from its oversight page to the merge page, grades the small
// units' pools merged, is refused a tie decision naming nobody, and decides the tie with a
// reason; the HR office then sees its pools graded merged and confirms step 5.
func TestBrowserMergeAndConfirm(t *testing.T) {
	s := newServer(t, storetest.SQLite(t, migrations...))
	fin, _ := s.smallQuarter(t)
	cycle := fmt.Sprintf("/appraisal/cycles/%d", fin.ID)
	hr := s.browser(t, "renshi", cycle+"/rate?party=hr")

	bing := fmt.Sprintf("#p%d", s.people["丙"])
	var set []chromedp.Action[chromedp.Void]
	for _, d := range []string{"de", "neng", "qin", "ji", "lian"} {
		set = append(set, chromedp.SetValue(chromedp.CSS(bing+" input[name="+d+"]"), "84"))
	}
	hr.do("rate 丙 on the HR form", append(set, chromedp.Submit(chromedp.CSS(bing+" input[name=de]")), chromedp.WaitVisible(chromedp.CSS(`.flash`)))...)
	hr.shows("after rating", ".flash", "已保存对丙的评分")
	hr.do("confirm step 5 alone", chromedp.Navigate(hr.base+cycle), chromedp.WaitVisible(chromedp.CSS(`form[action$="/steps"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/steps"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash.error`)))
	hr.shows("confirming alone", ".flash.error", "领导干部评定池人数少于5人，须由区级与其他小单位合并评定后方可确认结果")

	zzb := s.browser(t, "zuzhibu", fmt.Sprintf("/appraisal/oversight?org_id=%d&quarter=2026Q3", s.district.ID))
	zzb.do("open the merge page from oversight", chromedp.Click(chromedp.CSS(`a[href^="/appraisal/merges"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[method=post][action="/appraisal/merges"] button`)))
	zzb.shows("before merging", "section[aria-label=小单位评定池]", "西山区财政局", "西山区发展和改革局", "未合并")
	zzb.do("merge", chromedp.Click(chromedp.CSS(`form[method=post][action="/appraisal/merges"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/appraisal/merges/ties"]`)))
	zzb.shows("after merging", ".flash", "已合并评定：领导干部 2 人（“好”等次名额 1 个）；一般公务员 5 人（“好”等次名额 2 个）")
	zzb.shows("the merged staff", "section[aria-label=一般公务员合并评定]", "合并评定第 2 号（5 人参评，“好”等次名额 2 个）",
		"乙", "西山区财政局", "96.00", "待区级决定", "尚余 1 个“好”等次名额")

	ties := `form[action="/appraisal/merges/ties"] `
	zzb.do("decide naming nobody", chromedp.SendKeys(chromedp.CSS(ties+`input[name=reason]`), "发改甲牵头完成重点项目"),
		chromedp.Submit(chromedp.CSS(ties+`input[name=reason]`)), chromedp.WaitVisible(chromedp.CSS(`.field-error`)))
	zzb.shows("the refusal", ".field-error", "并列人员中应有 1 人评为好，已选 0 人")
	zzb.do("decide for 发改甲", chromedp.Click(chromedp.CSS(fmt.Sprintf(ties+`input[value="%d"]`, s.people["发改甲"]))),
		chromedp.Submit(chromedp.CSS(ties+`input[name=reason]`)), chromedp.WaitNotPresent(chromedp.CSS(`form[action="/appraisal/merges/ties"]`)))
	zzb.shows("after the decision", "section[aria-label=一般公务员合并评定]", "合并评定第 3 号", "好 2 人", "并列经区级决定评为好")

	hr.do("see the merged pools", chromedp.Navigate(hr.base+cycle), chromedp.WaitVisible(chromedp.CSS(`form[action$="/steps"] button`)))
	hr.shows("the unit's page", "main", "已由西山区将西山区发展和改革局、西山区财政局的同类评定池合并评定", "并列经区级决定评为较好：发改甲牵头完成重点项目")
	hr.do("confirm step 5", chromedp.Click(chromedp.CSS(`form[action$="/steps"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	hr.shows("after confirming", ".flash", "第5步“组织人事部门综合评定”已结束，现为第6步 结果反馈与公示")
	hr.shows("the progress", "section[aria-label=考核进度] h2", "考核进度：第6步 结果反馈与公示")
}
