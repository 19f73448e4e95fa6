package passbook

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

// shanghai reads a wall-clock time in Asia/Shanghai, e.g. "2026-03-21 09:00".
func shanghai(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.ParseInLocation("2006-01-02 15:04", s, store.Shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// lesson is the 民族团课 of the seed as a catalog item: 2 points an hour, at most 4 hours a claim.
func (w *claimsWorld) lesson(t *testing.T) Item {
	t.Helper()
	it := terms("民族团课", 2)
	it.Unit, it.MaxPerClaim = UnitHour, 4
	return w.item(t, w.countyAdmin, w.county, "V01", it)
}

// publish has the community's staff publish an activity on 2026-03-21 from and to the given
// times of day.
func (w *claimsWorld) publish(t *testing.T, it Item, from, to string, capacity int64) Activity {
	t.Helper()
	a, err := w.svc.CreateActivity(ctx, w.staff, ActivityInput{OrgID: w.community.ID, ActivityTerms: ActivityTerms{
		Title: "民族团课：给孩子们讲民族团结", Place: "社区活动室", StartsAt: shanghai(t, "2026-03-21 "+from),
		EndsAt: shanghai(t, "2026-03-21 "+to), Capacity: capacity, ItemID: it.ID}})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return a
}

func (w *claimsWorld) signUp(t *testing.T, p *auth.Principal, a Activity) Signup {
	t.Helper()
	s, _, err := w.svc.SignUp(ctx, p, a.ID)
	if err != nil {
		t.Fatalf("%s signing up: %v", p.Username, err)
	}
	return s
}

// code has the organiser issue a token for the screen at the current time.
func (w *claimsWorld) code(t *testing.T, a Activity, kind string) string {
	t.Helper()
	c, err := w.svc.QRToken(ctx, w.staff, a.ID, kind)
	if err != nil {
		t.Fatalf("QR token %s: %v", kind, err)
	}
	return c.Token
}

func (w *claimsWorld) scan(t *testing.T, p *auth.Principal, a Activity, kind string) ScanResult {
	t.Helper()
	r, err := w.svc.Scan(ctx, p, w.code(t, a, kind), a.ID)
	if err != nil {
		t.Fatalf("%s scanning %s: %v", p.Username, kind, err)
	}
	return r
}

func TestActivityFromPublicationToPostedPoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 100, PublicityDays: 3, DepositExpiry: "none"})
		a := w.publish(t, w.lesson(t), "09:00", "12:00", 10)
		if a.State != ActivityOpen || a.Phase != PhaseUpcoming || a.Earns() != 6 || a.When() != "2026-03-21 09:00–12:00" {
			t.Fatalf("published: %s %s, earns %d, %s", a.State, a.Phase, a.Earns(), a.When())
		}
		w.signUp(t, w.member, a)
		w.signUp(t, w.neighbourMember, a) // 王大爷 signs up and never comes
		if _, created, err := w.svc.SignUp(ctx, w.member, a.ID); created || err != nil {
			t.Fatalf("signing up twice: created %v, %v", created, err)
		}
		list, _, err := w.svc.ListActivities(ctx, w.member, ActivityFilter{When: WhenUpcoming})
		if err != nil || len(list) != 1 || !list[0].Joined || list[0].PlacesLeft() != 8 {
			t.Fatalf("the member's list: %+v, %v", list, err)
		}

		w.now = shanghai(t, "2026-03-21 09:00")
		if r := w.scan(t, w.member, a, ScanIn); r.Kind != ScanIn || !r.At.Equal(w.now) || r.Again || r.SignedUp {
			t.Fatalf("check-in: %+v", r)
		}
		w.now = shanghai(t, "2026-03-21 09:10")
		if r := w.scan(t, w.member, a, ScanIn); !r.Again || !r.At.Equal(shanghai(t, "2026-03-21 09:00")) {
			t.Fatalf("a second check-in: %+v", r)
		}
		w.now = shanghai(t, "2026-03-21 11:00")
		if r := w.scan(t, w.member, a, ScanOut); r.Kind != ScanOut || !r.At.Equal(w.now) {
			t.Fatalf("check-out: %+v", r)
		}

		_, err = w.svc.ConfirmAttendance(ctx, w.staff, a.ID)
		wantKind(t, "confirming before the end", err, errs.KindConflict, "结束后")
		w.now = shanghai(t, "2026-03-21 12:30")
		_, err = w.svc.Scan(ctx, w.neighbourMember, w.code(t, a, ScanIn), a.ID)
		wantKind(t, "checking in after the end", err, errs.KindConflict, "已结束")
		preview, err := w.svc.GetActivity(ctx, w.staff, a.ID)
		if err != nil || len(preview.Signups) != 2 || preview.Signups[0].Quantity != 2 || preview.Signups[0].Points != 4 ||
			preview.Signups[1].NoClaim != "未签到" {
			t.Fatalf("the organiser's summary: %+v, %v", preview.Signups, err)
		}
		confirmed, err := w.svc.ConfirmAttendance(ctx, w.staff, a.ID)
		if err != nil || confirmed.State != ActivityConfirmed || confirmed.Signups[0].ClaimID == 0 || confirmed.Signups[1].ClaimID != 0 {
			t.Fatalf("confirmed: %+v, %v", confirmed, err)
		}
		_, err = w.svc.ConfirmAttendance(ctx, w.staff, a.ID)
		wantKind(t, "confirming twice", err, errs.KindConflict, "不能重复确认")

		c := w.wantState(t, confirmed.Signups[0].ClaimID, ClaimSubmitted)
		if c.Source != SourceActivity || c.Quantity != 2 || c.Points != 4 || c.WorkDate != "2026-03-21" ||
			c.PassbookID != w.pb.ID || c.SubmittedByName != "shequ" {
			t.Fatalf("the attendance claim: %+v", c)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_claims WHERE activity_id = ?`, a.ID); n != 1 {
			t.Fatalf("%d claims linked to the activity; 王大爷 never checked in", n)
		}
		_, err = w.svc.Approve(ctx, w.staff, c.ID, "")
		wantKind(t, "the organiser approving the claim they filed", err, errs.KindForbidden, "本人")
		if c = w.approve(t, w.reviewer, c); c.State != ClaimPublicized {
			t.Fatalf("approved: %s", c.State)
		}
		w.now = shanghai(t, "2026-03-25 00:00")
		if posted, _, err := w.svc.PostDue(ctx, w.now); posted != 1 || err != nil {
			t.Fatalf("PostDue: %d, %v", posted, err)
		}
		w.wantBalances(t, 4, 400)
		w.wantSound(t)
	}, migrations...)
}

func TestActivityCapacityHoldsUnderConcurrentSignups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		a := w.publish(t, w.lesson(t), "09:00", "11:00", 10)
		members := make([]*auth.Principal, 30)
		for i := range members {
			b := w.openPassbook(t, w.community, fmt.Sprintf("党员%02d", i), signupIDNumber(i))
			members[i] = principal(int64(100+i), fmt.Sprintf("m%02d", i), auth.RoleMember, w.community, b.PersonID)
		}
		results := make([]error, len(members))
		var wg sync.WaitGroup
		for i, m := range members {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, results[i] = w.svc.SignUp(ctx, m, a.ID)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case !errs.Is(err, errs.KindConflict) || !strings.Contains(err.Error(), "名额已满"):
				t.Errorf("a refused signup: %v", err)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_signups WHERE activity_id = ?`, a.ID); ok != 10 || n != 10 {
			t.Fatalf("30 members for 10 places: %d signed up, %d signups stored", ok, n)
		}
	}, migrations...)
}

// signupIDNumber is a valid 身份证号 of a man born in 1950, numbered i.
func signupIDNumber(i int) string {
	body := fmt.Sprintf("53252819500101%03d", 100+i)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k, weight := range weights {
		sum += int(body[k]-'0') * weight
	}
	return body + string("10X98765432"[sum%11])
}

func TestForgedAlteredExpiredAndForeignTokensAreRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		it := w.lesson(t)
		a := w.publish(t, it, "09:00", "11:00", 0)
		other := w.publish(t, it, "14:00", "16:00", 0)
		w.now = shanghai(t, "2026-03-21 09:00")
		_, err := w.svc.Scan(ctx, w.member, signQRToken(make([]byte, qrKeySize), qrClaims{a.ID, ScanIn, w.now.Add(time.Minute)}), 0)
		wantKind(t, "a token before any key exists", err, errs.KindInvalid, "二维码无效")

		token := w.code(t, a, ScanIn)
		w.now = shanghai(t, "2026-03-21 13:30") // the other activity's codes are issued from 13:00
		foreign := w.code(t, other, ScanIn)
		w.now = shanghai(t, "2026-03-21 09:00")
		flip := func(s string, i int) string {
			c := byte('A')
			if s[i] == 'A' {
				c = 'B'
			}
			return s[:i] + string(c) + s[i+1:]
		}
		audits := w.count(t, `SELECT COUNT(*) FROM audit_log`)
		cases := []struct {
			name, token string
			activity    int64
			text        string
		}{
			{"forged", signQRToken([]byte("not the server's key, not at all"), qrClaims{a.ID, ScanIn, w.now.Add(time.Minute)}), a.ID, "二维码无效"},
			{"altered activity", flip(token, 3), 0, "二维码无效"},
			{"altered signature", flip(token, len(token)-5), a.ID, "二维码无效"},
			{"truncated", token[:len(token)-1], a.ID, "二维码无效"},
			{"with a line break", token[:10] + "\n" + token[10:], a.ID, "二维码无效"},
			{"empty", "", a.ID, "二维码无效"},
			{"another activity's", foreign, a.ID, "二维码无效"},
		}
		for _, c := range cases {
			_, err := w.svc.Scan(ctx, w.member, c.token, c.activity)
			if !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("%s token: %v", c.name, err)
			}
		}
		w.now = w.now.Add(qrTokenLife)
		_, err = w.svc.Scan(ctx, w.member, token, a.ID)
		wantKind(t, "an expired token", err, errs.KindInvalid, "已过期")
		if n := w.count(t, `SELECT COUNT(*) FROM pb_signups`); n != 0 {
			t.Fatalf("refused scans wrote %d signups", n)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log`); n != audits {
			t.Fatalf("refused scans wrote %d audit records", n-audits)
		}
	}, migrations...)
}

func TestActivitiesStayInTheirCommunity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		it := w.lesson(t)
		a := w.publish(t, it, "09:00", "11:00", 0)
		_, _, err := w.svc.SignUp(ctx, w.otherM, a.ID)
		wantKind(t, "another community's member signing up", err, errs.KindNotFound, "活动不存在")
		_, err = w.svc.GetActivity(ctx, w.otherM, a.ID)
		wantKind(t, "another community's member reading it", err, errs.KindNotFound, "活动不存在")
		_, err = w.svc.CancelActivity(ctx, w.otherStaff, a.ID, "")
		wantKind(t, "another community's staff cancelling it", err, errs.KindNotFound, "活动不存在")
		for _, p := range []*auth.Principal{w.otherM, w.otherStaff} {
			if list, _, err := w.svc.ListActivities(ctx, p, ActivityFilter{When: WhenUpcoming}); err != nil || len(list) != 0 {
				t.Fatalf("%s lists %+v, %v", p.Username, list, err)
			}
		}

		// A county activity is open to both communities, and managed by the county alone.
		county, err := w.svc.CreateActivity(ctx, w.countyAdmin, ActivityInput{OrgID: w.county.ID, ActivityTerms: ActivityTerms{
			Title: "全县党员志愿服务日", Place: "县城广场", StartsAt: shanghai(t, "2026-03-22 09:00"),
			EndsAt: shanghai(t, "2026-03-22 11:00"), ItemID: it.ID}})
		if err != nil {
			t.Fatal(err)
		}
		w.signUp(t, w.otherM, county)
		_, err = w.svc.CancelActivity(ctx, w.staff, county.ID, "")
		wantKind(t, "community staff cancelling the county's activity", err, errs.KindForbidden, "元阳县")
		first, next, err := w.svc.ListActivities(ctx, w.member, ActivityFilter{When: WhenUpcoming, Limit: 1})
		if err != nil || len(first) != 1 || first[0].ID != a.ID || next == 0 {
			t.Fatalf("the member's first page: %+v, next %d, %v", first, next, err)
		}
		second, next, err := w.svc.ListActivities(ctx, w.member, ActivityFilter{When: WhenUpcoming, Limit: 1, Cursor: next})
		if err != nil || len(second) != 1 || second[0].ID != county.ID || next != 0 {
			t.Fatalf("the member's second page: %+v, next %d, %v; want the county's activity, the day after", second, next, err)
		}
		seen, err := w.svc.GetActivity(ctx, w.staff, county.ID)
		if err != nil || len(seen.Signups) != 0 {
			t.Fatalf("community staff read the county's signups: %+v, %v", seen.Signups, err)
		}
	}, migrations...)
}

func TestSignupsCloseWithTheStartAndTheCancellation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		a := w.publish(t, w.lesson(t), "09:00", "11:00", 1)
		w.signUp(t, w.member, a)
		_, _, err := w.svc.SignUp(ctx, w.neighbourMember, a.ID)
		wantKind(t, "signing up to a full activity", err, errs.KindConflict, "名额已满")
		if err := w.svc.CancelSignUp(ctx, w.member, a.ID); err != nil {
			t.Fatal(err)
		}
		w.signUp(t, w.neighbourMember, a) // the freed place
		w.now = shanghai(t, "2026-03-21 08:30")
		w.scan(t, w.neighbourMember, a, ScanIn) // early
		err = w.svc.CancelSignUp(ctx, w.neighbourMember, a.ID)
		wantKind(t, "withdrawing after checking in", err, errs.KindConflict, "已签到")
		_, err = w.svc.UpdateActivity(ctx, w.staff, a.ID, ActivityTerms{Title: a.Title, Place: a.Place,
			StartsAt: a.StartsAt, EndsAt: a.EndsAt, Capacity: 0, ItemID: a.ItemID})
		if err != nil {
			t.Fatalf("lifting the capacity: %v", err)
		}

		w.now = shanghai(t, "2026-03-21 09:30")
		err = w.svc.CancelSignUp(ctx, w.neighbourMember, a.ID)
		wantKind(t, "withdrawing after the start", err, errs.KindConflict, "已开始")
		_, err = w.svc.UpdateActivity(ctx, w.staff, a.ID, a.ActivityTerms)
		wantKind(t, "changing it after the start", err, errs.KindConflict, "已开始")
		w.signUp(t, w.member, a) // late, but before the end

		if _, err := w.svc.CancelActivity(ctx, w.staff, a.ID, "下雨"); err != nil {
			t.Fatal(err)
		}
		_, _, err = w.svc.SignUp(ctx, w.member, a.ID)
		wantKind(t, "signing up to a cancelled activity", err, errs.KindConflict, "已取消")
		_, err = w.svc.QRToken(ctx, w.staff, a.ID, ScanIn)
		wantKind(t, "a QR code of a cancelled activity", err, errs.KindConflict, "已取消")
		_, err = w.svc.ConfirmAttendance(ctx, w.staff, a.ID)
		wantKind(t, "confirming a cancelled activity", err, errs.KindConflict, "已取消")
		mine, _, err := w.svc.ListActivities(ctx, w.member, ActivityFilter{Mine: true})
		if err != nil || len(mine) != 1 || mine[0].State != ActivityCancelled {
			t.Fatalf("the member's signups show %+v, %v", mine, err)
		}
		if open, _, _ := w.svc.ListActivities(ctx, w.member, ActivityFilter{When: WhenUpcoming}); len(open) != 0 {
			t.Fatalf("a cancelled activity offered to join: %+v", open)
		}
	}, migrations...)
}

func TestActivityTermsAreChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		it := w.lesson(t)
		penalty := w.item(t, w.staff, w.community, "K01", terms("无故缺席", -2))
		good := ActivityTerms{Title: "民族团课", Place: "社区活动室", StartsAt: shanghai(t, "2026-03-21 09:00"),
			EndsAt: shanghai(t, "2026-03-21 11:00"), ItemID: it.ID}
		cases := []struct {
			name   string
			change func(*ActivityTerms)
			field  string
		}{
			{"no title", func(a *ActivityTerms) { a.Title = " " }, "title"},
			{"in the past", func(a *ActivityTerms) { a.StartsAt = shanghai(t, "2026-03-20 09:00") }, "starts_at"},
			{"ending before it starts", func(a *ActivityTerms) { a.EndsAt = a.StartsAt }, "ends_at"},
			{"two days long", func(a *ActivityTerms) { a.EndsAt = a.StartsAt.Add(48 * time.Hour) }, "ends_at"},
			{"negative capacity", func(a *ActivityTerms) { a.Capacity = -1 }, "capacity"},
			{"a deduction", func(a *ActivityTerms) { a.ItemID = penalty.ID }, "item_id"},
		}
		for _, c := range cases {
			in := good
			c.change(&in)
			_, err := w.svc.CreateActivity(ctx, w.staff, ActivityInput{OrgID: w.community.ID, ActivityTerms: in})
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Field != c.field {
				t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
			}
		}
		_, err := w.svc.CreateActivity(ctx, w.member, ActivityInput{OrgID: w.community.ID, ActivityTerms: good})
		wantKind(t, "a member publishing", err, errs.KindNotFound, "")
		if n := w.count(t, `SELECT COUNT(*) FROM pb_activities`); n != 0 {
			t.Fatalf("refused activities stored: %d", n)
		}
	}, migrations...)
}

func TestStaffMarkAttendanceForMembersWithoutPhones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 0, DepositExpiry: "none"})
		a := w.publish(t, w.lesson(t), "09:00", "12:00", 0)
		_, err := w.svc.MarkAttendance(ctx, w.staff, a.ID, AttendanceInput{Number: w.neighbour.Number, Present: true})
		wantKind(t, "marking before the start", err, errs.KindConflict, "开始后")

		w.now = shanghai(t, "2026-03-21 10:00")
		w.scan(t, w.member, a, ScanIn) // 李老师 comes an hour late and forgets to check out
		s, err := w.svc.MarkAttendance(ctx, w.staff, a.ID, AttendanceInput{Number: w.neighbour.Number, Present: true})
		if err != nil || s.InClock() != "09:00" || s.OutClock() != "12:00" || s.Quantity != 3 {
			t.Fatalf("王大爷 marked present: %+v, %v", s, err)
		}
		s, err = w.svc.MarkAttendance(ctx, w.staff, a.ID, AttendanceInput{PassbookID: w.pb.ID, Present: true})
		if err != nil || s.InClock() != "10:00" || s.Quantity != 2 {
			t.Fatalf("李老师 marked present after her scan: %+v, %v", s, err)
		}
		_, err = w.svc.MarkAttendance(ctx, w.staff, a.ID, AttendanceInput{Number: w.other.Number, Present: true})
		wantKind(t, "marking another community's member", err, errs.KindNotFound, "存折不存在")
		_, err = w.svc.MarkAttendance(ctx, w.member, a.ID, AttendanceInput{PassbookID: w.pb.ID, Present: true})
		wantKind(t, "a member marking herself", err, errs.KindForbidden, "管理人员")

		w.now = shanghai(t, "2026-03-21 12:00")
		confirmed, err := w.svc.ConfirmAttendance(ctx, w.staff, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, sg := range confirmed.Signups {
			c := w.approve(t, w.reviewer, w.wantState(t, sg.ClaimID, ClaimSubmitted))
			if c.State != ClaimPosted {
				t.Fatalf("claim of %s: %s %s", sg.PersonName, c.State, c.Reason)
			}
		}
		w.wantBalances(t, 4, 40) // 李老师: 10:00–12:00
		_, err = w.svc.MarkAttendance(ctx, w.staff, a.ID, AttendanceInput{PassbookID: w.pb.ID})
		wantKind(t, "marking after the confirmation", err, errs.KindConflict, "确认")
		w.wantSound(t)
	}, migrations...)
}

func TestAttendanceQuantity(t *testing.T) {
	a := Activity{ActivityTerms: ActivityTerms{StartsAt: shanghai(t, "2026-03-21 09:00"), EndsAt: shanghai(t, "2026-03-21 15:00")}}
	hourly := ItemTerms{Unit: UnitHour, MaxPerClaim: 4}
	cases := []struct {
		name    string
		it      ItemTerms
		in, out string
		want    int64
	}{
		{"per occasion", ItemTerms{Unit: UnitOccasion, MaxPerClaim: 1}, "09:00", "15:00", 1},
		{"two and a half hours", hourly, "09:00", "11:30", 2},
		{"half an hour", hourly, "09:00", "09:30", 1},
		{"early and late count from the schedule", hourly, "08:00", "11:10", 2},
		{"capped at the item's maximum", hourly, "09:00", "15:00", 4},
	}
	for _, c := range cases {
		got := a.quantity(c.it, shanghai(t, "2026-03-21 "+c.in), shanghai(t, "2026-03-21 "+c.out))
		if got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// FuzzQRToken feeds arbitrary text to the token check: it must never panic, refuse with an
// invalid-input error, and let through only the exact text the server signed.
func FuzzQRToken(f *testing.F) {
	key := []byte("fuzz key: thirty-two bytes long!")
	now := time.Date(2026, 3, 21, 1, 0, 0, 0, time.UTC)
	valid := signQRToken(key, qrClaims{activityID: 7, kind: ScanIn, expires: now.Add(qrTokenLife)})
	for _, seed := range []string{valid, valid[:20], valid + "A", strings.ToUpper(valid), "", "====", "..."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := openQRToken(key, token, now)
		if err != nil {
			if !errs.Is(err, errs.KindInvalid) {
				t.Fatalf("token %q: %v, want an invalid-input error", token, err)
			}
			return
		}
		if signQRToken(key, c) != token || c.activityID <= 0 || (c.kind != ScanIn && c.kind != ScanOut) {
			t.Fatalf("token %q verified as %+v, which the server would sign differently", token, c)
		}
	})
}
