package passbook_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
	"grassroots/store/storetest"
)

// setClock gives the server a clock the test moves, to a wall-clock time in Asia/Shanghai.
func setClock(t *testing.T, s *claimsServer) func(string) {
	var now atomic.Int64
	s.db.Now = func() time.Time { return time.Unix(0, now.Load()).UTC() }
	return func(wall string) {
		t.Helper()
		at, err := time.ParseInLocation("2006-01-02 15:04", wall, store.Shanghai)
		if err != nil {
			t.Fatal(err)
		}
		now.Store(at.UnixNano())
	}
}

var dataPNG = regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`)

func wantPNG(t *testing.T, what string, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds().Dx() < 200 {
		t.Fatalf("%s: not a QR code image (%v)", what, err)
	}
}

func TestActivityScanningOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newClaimsServer(t, db)
		clock := setClock(t, s)
		clock("2026-03-20 10:00")
		lesson, err := s.svc.CreateItem(bg, auth.System(), passbook.ItemInput{OrgID: s.county.ID, Code: "V01", ItemTerms: passbook.ItemTerms{
			Name: "民族团课", Category: "志愿服务", Points: 2, Unit: passbook.UnitHour, MaxPerClaim: 4, ValidFrom: "2026-01-01"}})
		if err != nil {
			t.Fatal(err)
		}
		staff, laoli, zhao := s.login(t, "shequ"), s.login(t, "laoli"), s.login(t, "zhao")

		// The community's staff publish the 民族团课 through the form.
		form := url.Values{"org_id": {fmt.Sprint(s.c1.ID)}, "title": {"民族团课"}, "place": {"社区活动室"},
			"starts_at": {"2026-03-21T09:00"}, "ends_at": {"2026-03-21T08:00"}, "capacity": {"10"}, "item_id": {fmt.Sprint(lesson.ID)}}
		if r := staff.form("/passbook/activities", form, false); r.status != http.StatusBadRequest || !strings.Contains(r.body, "结束时间应晚于开始时间") {
			t.Fatalf("an activity ending before it starts: %d", r.status)
		}
		form.Set("ends_at", "2026-03-21T12:00")
		r := staff.form("/passbook/activities", form, false)
		wantStatus(t, "publish", r, http.StatusSeeOther)
		page := r.header.Get("Location")
		var id int64
		if _, err := fmt.Sscanf(page, "/passbook/activities/%d", &id); err != nil {
			t.Fatalf("redirected to %q", page)
		}

		// 李老师 signs up on her phone; 赵阿姨 of 南沙社区 cannot.
		if r := laoli.get("/passbook/activities"); r.status != 200 || !strings.Contains(r.body, "民族团课") || !strings.Contains(r.body, "+6分") {
			t.Fatalf("the member's activities page: %d", r.status)
		}
		wantStatus(t, "sign up", laoli.form(page+"/signup", nil, false), http.StatusSeeOther)
		if r := laoli.get(page); r.status != 200 || !strings.Contains(r.body, "已报名") || !strings.Contains(r.body, "取消报名") {
			t.Fatalf("the activity page after signing up: %d", r.status)
		}
		if r := zhao.json("POST", fmt.Sprintf("/api/v1/passbook/activities/%d/signup", id), nil, nil); r.status != http.StatusNotFound {
			t.Fatalf("another community's member signing up: %d %s", r.status, r.body)
		}

		// On the day the organiser's screen shows the code, as a page and as a PNG. Sessions
		// end after 30 idle minutes, so everyone signs in again whenever the clock moves.
		clock("2026-03-21 09:00")
		staff, laoli, zhao = s.login(t, "shequ"), s.login(t, "laoli"), s.login(t, "zhao")
		r = staff.get(page + "/checkin?kind=in")
		m := dataPNG.FindStringSubmatch(r.body)
		if r.status != 200 || m == nil || !strings.Contains(r.body, `hx-trigger="every 60s"`) {
			t.Fatalf("the check-in screen: %d", r.status)
		}
		img, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		wantPNG(t, "the screen's code", img)
		r = staff.get(fmt.Sprintf("/api/v1/passbook/activities/%d/qr?kind=out", id))
		if r.status != 200 || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("the PNG endpoint: %d %s", r.status, r.header.Get("Content-Type"))
		}
		wantPNG(t, "the PNG endpoint", []byte(r.body))
		if r := laoli.get(fmt.Sprintf("/api/v1/passbook/activities/%d/qr?kind=in", id)); r.status != http.StatusForbidden {
			t.Fatalf("a member fetching the code: %d", r.status)
		}

		// Scanning lands on the page, which records the check-in.
		code, err := s.svc.QRToken(bg, auth.System(), id, passbook.ScanIn)
		if err != nil {
			t.Fatal(err)
		}
		scan := page + "/scan?t=" + code.Token
		if r := laoli.get(scan); r.status != 200 || !strings.Contains(r.body, "签到成功") || !strings.Contains(r.body, "2026-03-21 09:00") {
			t.Fatalf("scanning in: %d %s", r.status, r.body)
		}
		if r := zhao.get(scan); r.status != http.StatusNotFound || !strings.Contains(r.body, "活动不存在") {
			t.Fatalf("another community's member scanning: %d", r.status)
		}
		if r := laoli.get(page + "/scan?t=" + strings.ToLower(code.Token)); r.status != http.StatusBadRequest || !strings.Contains(r.body, "二维码无效") {
			t.Fatalf("an altered token: %d", r.status)
		}
		if r := (&browser{t: t, base: s.ts.URL, http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}).get(scan); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
			t.Fatalf("scanning without signing in: %d %s", r.status, r.header.Get("Location"))
		}

		// Two hours later she checks out through the API.
		clock("2026-03-21 11:00")
		laoli = s.login(t, "laoli")
		out, err := s.svc.QRToken(bg, auth.System(), id, passbook.ScanOut)
		if err != nil {
			t.Fatal(err)
		}
		var res passbook.ScanResult
		r = laoli.json("POST", "/api/v1/passbook/activities/scan", map[string]string{"token": out.Token}, nil)
		r.decode(t, &res)
		if r.status != 200 || res.Kind != passbook.ScanOut || res.PersonName != "李老师" {
			t.Fatalf("scanning out: %d %s", r.status, r.body)
		}

		// After the activity the organiser confirms, once; the claim waits for another reviewer.
		clock("2026-03-21 12:30")
		staff, reviewer := s.login(t, "shequ"), s.login(t, "shenhe")
		if r := staff.get(page); r.status != 200 || !strings.Contains(r.body, "+4（2小时）") || !strings.Contains(r.body, "确认到场并生成申报") {
			t.Fatalf("the organiser's page: %d", r.status)
		}
		wantStatus(t, "confirm", staff.form(page+"/confirm", nil, false), http.StatusSeeOther)
		if r := staff.json("POST", fmt.Sprintf("/api/v1/passbook/activities/%d/confirm", id), nil, nil); r.status != http.StatusConflict {
			t.Fatalf("confirming twice: %d %s", r.status, r.body)
		}
		var confirmed passbook.Activity
		staff.get(fmt.Sprintf("/api/v1/passbook/activities/%d", id)).decode(t, &confirmed)
		if confirmed.State != passbook.ActivityConfirmed || len(confirmed.Signups) != 1 || confirmed.Signups[0].ClaimID == 0 {
			t.Fatalf("the confirmed activity: %+v", confirmed)
		}
		if r := reviewer.get("/passbook/review"); r.status != 200 || !strings.Contains(r.body, "李老师") || !strings.Contains(r.body, "民族团课 2小时") {
			t.Fatalf("the review queue: %d", r.status)
		}
	}, audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations)
}
