package passbook

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/xlsx"
)

// claim files a claim and fails the test on any error.
func (w *claimsWorld) claim(t *testing.T, p *auth.Principal, b Passbook, it Item, date string, quantity int64) Claim {
	t.Helper()
	c, _, err := w.svc.SubmitClaim(ctx, p, ClaimInput{PassbookID: b.ID, ItemID: it.ID, WorkDate: date, Quantity: quantity}, nil, "")
	if err != nil {
		t.Fatalf("claim %s on %s: %v", it.Code, date, err)
	}
	return c
}

func (w *claimsWorld) approve(t *testing.T, p *auth.Principal, c Claim) Claim {
	t.Helper()
	out, err := w.svc.Approve(ctx, p, c.ID, "")
	if err != nil {
		t.Fatalf("approve claim %d: %v", c.ID, err)
	}
	return out
}

func (w *claimsWorld) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *claimsWorld) wantState(t *testing.T, id int64, state string) Claim {
	t.Helper()
	c, err := w.svc.GetClaim(ctx, auth.System(), id)
	if err != nil || c.State != state {
		t.Fatalf("claim %d is %q (%v), want %q", id, c.State, err, state)
	}
	return c
}

func TestClaimReviewPublicityAndPosting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 100, PublicityDays: 3, DepositExpiry: "none", RankingsPublic: true})
		volunteer := terms("志愿服务", 2)
		volunteer.Unit, volunteer.MaxPerClaim = UnitHour, 4
		it := w.item(t, w.countyAdmin, w.county, "V01", volunteer)

		c := w.claim(t, w.member, w.pb, it, "2026-03-12", 3)
		if c.State != ClaimSubmitted || c.Points != 6 || c.Source != SourceSelf || c.SubmittedByName != "laoli" {
			t.Fatalf("submitted claim = %+v", c)
		}
		c = w.approve(t, w.reviewer, c)
		if c.State != ClaimPublicized || c.PublicityEndsOn != "2026-03-23" {
			t.Fatalf("approved claim is %s until %s, want publicized until 2026-03-23", c.State, c.PublicityEndsOn)
		}

		board, _, err := w.svc.Publicity(ctx, w.neighbourMember, 0, 0, 0)
		if err != nil || len(board) != 1 || board[0].PersonName != "李老师" || board[0].Points != 6 {
			t.Fatalf("the neighbour's 公示 board = %+v, %v", board, err)
		}
		if board, _, _ := w.svc.Publicity(ctx, w.otherM, 0, 0, 0); len(board) != 0 {
			t.Fatalf("another community's member sees %+v", board)
		}

		w.now = time.Date(2026, 3, 23, 15, 0, 0, 0, time.UTC) // 23:00 on the last day of 公示
		if posted, refused, err := w.svc.PostDue(ctx, w.now); posted+refused != 0 || err != nil {
			t.Fatalf("PostDue on the last day posted %d, refused %d, %v", posted, refused, err)
		}
		w.now = time.Date(2026, 3, 23, 16, 0, 0, 0, time.UTC) // 00:00 on the 24th
		if posted, refused, err := w.svc.PostDue(ctx, w.now); posted != 1 || refused != 0 || err != nil {
			t.Fatalf("PostDue after 公示 posted %d, refused %d, %v", posted, refused, err)
		}
		if posted, _, _ := w.svc.PostDue(ctx, w.now); posted != 0 {
			t.Fatal("a claim was posted twice")
		}

		b, err := w.svc.GetPassbook(ctx, w.member, w.pb.ID)
		if err != nil || b.HonorPoints != 6 || b.DepositFen != 600 {
			t.Fatalf("passbook after posting: %d points, %d fen, %v", b.HonorPoints, b.DepositFen, err)
		}
		lines, _, err := w.svc.Statement(ctx, w.member, w.pb.ID, 0, 10)
		if err != nil || len(lines) != 1 || lines[0].Memo != "志愿服务 3小时" || lines[0].Date != "2026-03-12" || lines[0].DepositIn != 600 {
			t.Fatalf("statement = %+v, %v", lines, err)
		}
		c = w.wantState(t, c.ID, ClaimPosted)
		if c.TxID != lines[0].TxID || len(c.History) != 3 || c.History[2].Reason != "公示期满无异议" {
			t.Fatalf("posted claim: tx %d, history %+v", c.TxID, c.History)
		}
		w.wantSound(t)
	}, migrations...)
}

func TestSecondReviewNeedsAnotherReviewer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 0, SecondReview: true, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		c := w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, it, "2026-03-15", 1))
		if c.State != ClaimReviewed {
			t.Fatalf("first approval: %s, want reviewed", c.State)
		}
		_, err := w.svc.Approve(ctx, w.reviewer, c.ID, "")
		wantKind(t, "second approval by the first reviewer", err, errs.KindForbidden, "另一位审核人")
		if queue, _, _ := w.svc.ListClaims(ctx, w.reviewer, ClaimFilter{Queue: true}); len(queue) != 0 {
			t.Fatalf("the first reviewer's queue still holds %+v", queue)
		}
		if queue, _, _ := w.svc.ListClaims(ctx, w.reviewer2, ClaimFilter{Queue: true}); len(queue) != 1 {
			t.Fatalf("the second reviewer's queue = %+v", queue)
		}
		c = w.approve(t, w.reviewer2, c)
		if c.State != ClaimPosted || c.TxID == 0 {
			t.Fatalf("second approval without 公示: %s, tx %d", c.State, c.TxID)
		}
		w.wantBalances(t, 5, 50)
		w.wantSound(t)
	}, migrations...)
}

func TestNobodyReviewsTheirOwnClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 0, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		proxy := w.claim(t, w.staff, w.neighbour, it, "2026-03-15", 1)
		if proxy.Source != SourceProxy {
			t.Fatalf("staff claim for a member: source %s", proxy.Source)
		}
		_, err := w.svc.Approve(ctx, w.staff, proxy.ID, "")
		wantKind(t, "approving one's own 代录", err, errs.KindForbidden, "本人")

		// A reviewer who also holds a passbook cannot approve it, whoever filed it.
		holder := principal(9, "lilaoshi", auth.RoleReviewer, w.community, w.pb.PersonID)
		own := w.claim(t, w.staff, w.pb, it, "2026-03-16", 1)
		_, err = w.svc.Reject(ctx, holder, own.ID, "不行")
		wantKind(t, "rejecting one's own claim", err, errs.KindForbidden, "本人")
		_, err = w.svc.Approve(ctx, w.otherStaff, own.ID, "")
		wantKind(t, "another community's reviewer", err, errs.KindNotFound, "申报不存在")
		w.wantState(t, own.ID, ClaimSubmitted)
		w.wantState(t, proxy.ID, ClaimSubmitted)
	}, migrations...)
}

func TestRefusedClaimsWriteNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		it := w.item(t, w.countyAdmin, w.county, "A01", terms("民族团课", 5))
		photo := terms("环境整治", 3)
		photo.EvidenceRequired = true
		needsPhoto := w.item(t, w.staff, w.community, "C01", photo)
		siblingItem := w.item(t, w.otherStaff, w.sibling, "S01", terms("南沙事项", 1))
		stopped := w.item(t, w.staff, w.community, "C02", terms("旧事项", 1))
		w.svc.ArchiveItem(ctx, w.staff, stopped.ID)
		working := terms("在职报到", 1)
		working.Classes = []string{"在职党员"}
		forWorking := w.item(t, w.staff, w.community, "C03", working)
		audits := w.count(t, `SELECT COUNT(*) FROM audit_log`)

		cases := []struct {
			name  string
			p     *auth.Principal
			in    ClaimInput
			kind  errs.Kind
			field string
		}{
			{"another community's passbook", w.member, ClaimInput{PassbookID: w.other.ID, ItemID: it.ID, Quantity: 1}, errs.KindNotFound, ""},
			{"staff for another community", w.staff, ClaimInput{PassbookID: w.other.ID, ItemID: it.ID, Quantity: 1}, errs.KindNotFound, ""},
			{"a neighbour's passbook", w.member, ClaimInput{PassbookID: w.neighbour.ID, ItemID: it.ID, Quantity: 1}, errs.KindNotFound, ""},
			{"negative quantity", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, Quantity: -1}, errs.KindInvalid, "quantity"},
			{"over the maximum", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, Quantity: 2}, errs.KindInvalid, "quantity"},
			{"future date", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, Quantity: 1, WorkDate: "2026-03-21"}, errs.KindInvalid, "work_date"},
			{"before the passbook", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, Quantity: 1, WorkDate: "2026-03-09"}, errs.KindInvalid, "work_date"},
			{"bad date", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, Quantity: 1, WorkDate: "2026-02-30"}, errs.KindInvalid, "work_date"},
			{"photo missing", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: needsPhoto.ID, Quantity: 1}, errs.KindInvalid, "evidence"},
			{"another community's item", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: siblingItem.ID, Quantity: 1}, errs.KindInvalid, "item_id"},
			{"archived item", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: stopped.ID, Quantity: 1}, errs.KindInvalid, "item_id"},
			{"item for another class", w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: forWorking.ID, Quantity: 1}, errs.KindInvalid, "item_id"},
		}
		for _, c := range cases {
			_, _, err := w.svc.SubmitClaim(ctx, c.p, c.in, nil, "")
			if e := errs.As(err); e.Kind != c.kind || e.Field != c.field {
				t.Errorf("%s: %v, want %s %s", c.name, err, c.kind, c.field)
			}
		}
		if _, err := w.svc.SetPassbookState(ctx, w.staff, w.pb.ID, StateFrozen, "调查"); err != nil {
			t.Fatal(err)
		}
		_, _, err := w.svc.SubmitClaim(ctx, w.member, ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, Quantity: 1}, nil, "")
		wantKind(t, "frozen passbook", err, errs.KindConflict, "冻结")

		if n := w.count(t, `SELECT COUNT(*) FROM pb_claims`); n != 0 {
			t.Fatalf("%d claims written by refused requests", n)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log`); n != audits+1 { // the freeze
			t.Fatalf("audit records: %d, want %d", n, audits+1)
		}
	}, migrations...)
}

func TestObjectionReturnsTheClaimToReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 100, PublicityDays: 5, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("调解纠纷", 8))
		c := w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, it, "2026-03-18", 1))

		_, err := w.svc.Object(ctx, w.otherM, c.ID, "不认识此人")
		wantKind(t, "objection from another community", err, errs.KindNotFound, "申报不存在")
		_, err = w.svc.Object(ctx, w.neighbourMember, c.ID, " ")
		wantKind(t, "objection without a reason", err, errs.KindInvalid, "异议理由")
		c, err = w.svc.Object(ctx, w.neighbourMember, c.ID, "那天他不在社区")
		if err != nil || c.State != ClaimSubmitted || c.PublicityEndsOn != "" || c.Reason != "异议：那天他不在社区" {
			t.Fatalf("after the objection: %+v, %v", c, err)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_objections WHERE claim_id = ? AND person_id = ?`, c.ID, w.neighbour.PersonID); n != 1 {
			t.Fatalf("objections recorded: %d", n)
		}
		w.now = w.now.AddDate(0, 0, 30)
		if posted, _, _ := w.svc.PostDue(ctx, w.now); posted != 0 {
			t.Fatal("a claim under objection was posted")
		}
		c = w.wantState(t, c.ID, ClaimSubmitted)
		if last := c.History[len(c.History)-1]; last.From != ClaimPublicized || last.Actor != "laowang" {
			t.Fatalf("history ends with %+v", last)
		}
		own, _ := w.svc.GetClaim(ctx, w.member, c.ID)
		if last := own.History[len(own.History)-1]; last.Actor == "laowang" || last.Reason != "异议：那天他不在社区" {
			t.Fatalf("the claimant reads the objection as %+v; the objector's name is for staff only", last)
		}
		w.wantBalances(t, 0, 0)

		// Approved again, the 公示 starts over; once it is over, objections come too late.
		c = w.approve(t, w.reviewer, c)
		w.now = w.now.AddDate(0, 0, 6)
		_, err = w.svc.Object(ctx, w.neighbourMember, c.ID, "晚了")
		wantKind(t, "objection after the 公示", err, errs.KindConflict, "公示期已结束")
	}, migrations...)
}

func TestCapsWarnAtSubmissionAndRefuseAtPosting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 0, DepositExpiry: "none"})
		capped := terms("巡逻值守", 7)
		capped.CapMonth = 30
		it := w.item(t, w.staff, w.community, "C01", capped)
		for day := 11; day <= 14; day++ {
			c := w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, it, fmt.Sprintf("2026-03-%d", day), 1))
			if c.State != ClaimPosted {
				t.Fatalf("claim of 03-%d: %s %s", day, c.State, c.Reason)
			}
		}
		fifth := w.claim(t, w.member, w.pb, it, "2026-03-15", 1)
		if !strings.Contains(fifth.Warning, "可能超过本月上限（每月最多30分，本月已得28分") {
			t.Fatalf("warning at submission: %q", fifth.Warning)
		}
		fifth = w.approve(t, w.reviewer, fifth)
		if fifth.State != ClaimRefused || fifth.Reason != "超过本月上限（每月最多30分，本月已得28分）" || fifth.TxID != 0 {
			t.Fatalf("over the cap: %s %q", fifth.State, fifth.Reason)
		}
		w.wantBalances(t, 28, 280)
		if c := w.approve(t, w.reviewer, w.claim(t, w.neighbourMember, w.neighbour, it, "2026-03-15", 1)); c.State != ClaimPosted {
			t.Fatalf("another passbook's claim under its own cap: %s %s", c.State, c.Reason)
		}
	}, migrations...)
}

func TestPostDueRefusesOverTheCapAndPostsTheRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 1, DepositExpiry: "none"})
		capped := terms("巡逻值守", 10)
		capped.CapDay = 10
		it := w.item(t, w.staff, w.community, "C01", capped)
		first := w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, it, "2026-03-16", 1))
		second := w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, it, "2026-03-16", 1))
		other := w.approve(t, w.reviewer, w.claim(t, w.neighbourMember, w.neighbour, it, "2026-03-16", 1))
		if second.Warning == "" {
			t.Fatal("no warning for a second claim on the same day")
		}
		posted, refused, err := w.svc.PostDue(ctx, w.now.AddDate(0, 0, 2))
		if posted != 2 || refused != 1 || err != nil {
			t.Fatalf("PostDue: %d posted, %d refused, %v", posted, refused, err)
		}
		w.wantState(t, first.ID, ClaimPosted)
		w.wantState(t, other.ID, ClaimPosted)
		if c := w.wantState(t, second.ID, ClaimRefused); c.Reason != "超过当日上限（每日最多10分，当日已得10分）" {
			t.Fatalf("refusal: %q", c.Reason)
		}
		w.wantSound(t)
	}, migrations...)
}

func TestDeductionsAndConcurrentPostDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 10, PublicityDays: 1, DepositExpiry: "none", DeductionsReduceDeposit: true})
		earn := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		penalty := w.item(t, w.staff, w.community, "K01", terms("无故缺席", -2))
		w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, earn, "2026-03-16", 1))
		w.approve(t, w.reviewer, w.claim(t, w.staff, w.pb, penalty, "2026-03-17", 1))
		var wg sync.WaitGroup
		results := make([]int, 8)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				posted, _, err := w.svc.PostDue(ctx, w.now.AddDate(0, 0, 2))
				if err != nil {
					t.Error(err)
				}
				results[i] = posted
			}()
		}
		wg.Wait()
		total := 0
		for _, n := range results {
			total += n
		}
		if total != 2 {
			t.Fatalf("8 concurrent PostDue calls posted %d claims, want 2", total)
		}
		w.wantBalances(t, 3, 30)
		w.wantSound(t)
	}, migrations...)
}

func TestClaimsKeepTheirItemVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 1, PublicityDays: 0, DepositExpiry: "none"})
		it := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		old := w.claim(t, w.member, w.pb, it, "2026-03-15", 1)
		if _, err := w.svc.UpdateItem(ctx, w.staff, it.ID, terms("民族团课", 8)); err != nil {
			t.Fatal(err)
		}
		old = w.approve(t, w.reviewer, old)
		if old.Points != 5 || old.ItemVersion != 1 || old.State != ClaimPosted {
			t.Fatalf("claim made under version 1: %d points, version %d, %s", old.Points, old.ItemVersion, old.State)
		}
		fresh := w.claim(t, w.member, w.pb, it, "2026-03-16", 1)
		if fresh.Points != 8 || fresh.ItemVersion != 2 {
			t.Fatalf("claim after the change: %d points, version %d", fresh.Points, fresh.ItemVersion)
		}
		w.wantBalances(t, 5, 5)
	}, migrations...)
}

func TestIdempotentClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		it := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		in := ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, WorkDate: "2026-03-15", Quantity: 1, Note: "给孩子们讲党史"}
		first, created, err := w.svc.SubmitClaim(ctx, w.member, in, nil, "phone-1")
		if err != nil || !created {
			t.Fatalf("first: %v %v", created, err)
		}
		again, created, err := w.svc.SubmitClaim(ctx, w.member, in, nil, "phone-1")
		if err != nil || created || again.ID != first.ID {
			t.Fatalf("replay: claim %d, created %v, %v", again.ID, created, err)
		}
		in.Quantity = 2
		_, _, err = w.svc.SubmitClaim(ctx, w.member, in, nil, "phone-1")
		wantKind(t, "same key, another body", err, errs.KindConflict, "Idempotency-Key")

		in.Quantity, in.WorkDate = 1, "2026-03-16"
		ids := make([]int64, 50)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, _, err := w.svc.SubmitClaim(ctx, w.member, in, nil, "phone-2")
				if err != nil {
					t.Error(err)
				}
				ids[i] = c.ID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("50 replays returned claims %v", ids)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_claims`); n != 2 {
			t.Fatalf("%d claims, want 2", n)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'passbook.claim'`); n != 2 {
			t.Fatalf("%d claim audit records, want 2", n)
		}
	}, migrations...)
}

// pngPhoto is a tiny valid PNG.
func pngPhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEvidenceIsShownOnlyToThoseWhoSeeTheClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		photo := terms("环境整治", 3)
		photo.EvidenceRequired = true
		it := w.item(t, w.staff, w.community, "C01", photo)
		in := ClaimInput{PassbookID: w.pb.ID, ItemID: it.ID, Quantity: 1}
		_, _, err := w.svc.SubmitClaim(ctx, w.member, in, []Photo{{Data: []byte("GIF89a not a photo")}}, "")
		wantKind(t, "a GIF", err, errs.KindInvalid, "JPG 或 PNG")
		_, _, err = w.svc.SubmitClaim(ctx, w.member, in, []Photo{{Data: make([]byte, MaxPhotoBytes+1)}}, "")
		wantKind(t, "an oversized photo", err, errs.KindInvalid, "5MB")

		c, _, err := w.svc.SubmitClaim(ctx, w.member, in, []Photo{{Data: pngPhoto(t)}}, "")
		if err != nil || c.WorkDate != "2026-03-20" {
			t.Fatalf("claim with a photo, dated today by default: %+v, %v", c, err)
		}
		c, err = w.svc.GetClaim(ctx, w.reviewer, c.ID)
		if err != nil || len(c.Evidence) != 1 {
			t.Fatalf("reviewer's view: %+v, %v", c.Evidence, err)
		}
		for _, p := range []*auth.Principal{w.member, w.reviewer} {
			ph, err := w.svc.Evidence(ctx, p, c.ID, c.Evidence[0])
			if err != nil || ph.ContentType != "image/png" {
				t.Fatalf("%s fetching the photo: %v", p.Username, err)
			}
		}
		for _, p := range []*auth.Principal{w.neighbourMember, w.otherStaff} {
			if _, err := w.svc.Evidence(ctx, p, c.ID, c.Evidence[0]); !errs.Is(err, errs.KindNotFound) {
				t.Fatalf("%s fetching the photo: %v", p.Username, err)
			}
		}
	}, migrations...)
}

func TestRejectAndCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		it := w.item(t, w.staff, w.community, "C01", terms("民族团课", 5))
		c := w.claim(t, w.member, w.pb, it, "2026-03-15", 1)
		_, err := w.svc.Reject(ctx, w.reviewer, c.ID, "")
		wantKind(t, "rejection without a reason", err, errs.KindInvalid, "不通过的原因")
		c, err = w.svc.Reject(ctx, w.reviewer, c.ID, "当天未开课")
		if err != nil || c.State != ClaimRejected || c.Reason != "当天未开课" {
			t.Fatalf("rejected: %+v, %v", c, err)
		}
		_, err = w.svc.Approve(ctx, w.reviewer, c.ID, "")
		wantKind(t, "approving a rejected claim", err, errs.KindConflict, "未通过")

		mine := w.claim(t, w.member, w.pb, it, "2026-03-16", 1)
		_, err = w.svc.Cancel(ctx, w.reviewer, mine.ID)
		wantKind(t, "cancelling someone else's claim", err, errs.KindForbidden, "本人")
		if mine, err = w.svc.Cancel(ctx, w.member, mine.ID); err != nil || mine.State != ClaimCancelled {
			t.Fatalf("cancel: %+v, %v", mine, err)
		}
		approved := w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, it, "2026-03-17", 1))
		_, err = w.svc.Cancel(ctx, w.member, approved.ID)
		wantKind(t, "cancelling an approved claim", err, errs.KindConflict, "公示中")

		mineList, _, err := w.svc.ListClaims(ctx, w.member, ClaimFilter{})
		if err != nil || len(mineList) != 3 || mineList[0].ID != approved.ID {
			t.Fatalf("member's list: %d claims, %v", len(mineList), err)
		}
		if others, _, _ := w.svc.ListClaims(ctx, w.otherStaff, ClaimFilter{}); len(others) != 0 {
			t.Fatalf("another community's staff list %d claims", len(others))
		}
		if _, err := audit.Verify(ctx, db); err != nil {
			t.Fatal(err)
		}
	}, migrations...)
}

// batchSheet writes a batch upload with the template's columns.
func batchSheet(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	xw, err := xlsx.NewWriter(&buf, ClaimsSheet, batchColumns(nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := xw.WriteRow(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBatchClaimsAreAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		hours := terms("志愿服务", 2)
		hours.Unit, hours.MaxPerClaim = UnitHour, 4
		w.item(t, w.staff, w.community, "V01", hours)
		bad := batchSheet(t,
			[]any{w.pb.Number, "", "v01", "2026-03-12", 3, "清扫"},
			[]any{"", "532528195201010013", "V01", "2026/3/13", 2},
			[]any{w.pb.Number, "", "X99", "2026-03-14", 1},
			[]any{w.other.Number, "", "V01", "2026-03-14", 1},
			[]any{w.pb.Number, "", "V01", "明天", 9},
		)
		res, err := w.svc.BatchClaims(ctx, w.staff, bytes.NewReader(bad))
		wantKind(t, "a batch with bad rows", err, errs.KindInvalid, "共 3 行有误")
		if len(res.Problems) != 3 || !strings.Contains(res.Problems[4], "X99") || !strings.Contains(res.Problems[5], w.other.Number) ||
			!strings.Contains(res.Problems[6], "日期有误") {
			t.Fatalf("problems = %v", res.Problems)
		}
		if len(res.Report) == 0 {
			t.Fatal("no error report")
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_claims`); n != 0 {
			t.Fatalf("a refused batch wrote %d claims", n)
		}

		good := batchSheet(t,
			[]any{w.pb.Number, "", "v01", "2026-03-12", 3, "清扫"},
			[]any{"", "532528195201010013", "V01", "2026/3/13", 2},
			[]any{w.pb.Number, "532528195501010015", "V01", "2026-03-14", 1},
		)
		res, err = w.svc.BatchClaims(ctx, w.staff, bytes.NewReader(good))
		if err != nil || res.Imported != 3 {
			t.Fatalf("good batch: %+v, %v", res, err)
		}
		c := w.wantState(t, res.ClaimIDs[1], ClaimSubmitted)
		if c.Source != SourceBatch || c.PassbookID != w.neighbour.ID || c.Points != 4 || c.WorkDate != "2026-03-13" {
			t.Fatalf("batch claim by 身份证号: %+v", c)
		}
		if _, err := w.svc.BatchClaims(ctx, w.member, bytes.NewReader(good)); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a member's batch: %v", err)
		}
		mismatch := batchSheet(t, []any{w.pb.Number, "532528195201010013", "V01", "2026-03-14", 1})
		res, err = w.svc.BatchClaims(ctx, w.staff, bytes.NewReader(mismatch))
		if !errs.Is(err, errs.KindInvalid) || !strings.Contains(res.Problems[2], "不是同一人") {
			t.Fatalf("number and 身份证号 of two people: %v %v", res.Problems, err)
		}
		var tmpl bytes.Buffer
		if err := w.svc.WriteClaimTemplate(ctx, w.staff, w.community.ID, &tmpl); err != nil || tmpl.Len() == 0 {
			t.Fatalf("template: %v", err)
		}
	}, migrations...)
}

// FuzzClaimRequest feeds arbitrary bodies to the JSON claim path: decoding and the checks that
// need no database must refuse bad input with a field, never panic, and let through only
// claims that are well-formed.
func FuzzClaimRequest(f *testing.F) {
	for _, seed := range []string{
		`{"passbook_id":1,"item_id":2,"work_date":"2026-03-12","quantity":3,"note":"清扫楼道"}`,
		`{"passbook_id":1,"item_id":2,"quantity":1}`,
		`{"passbook_id":-1,"item_id":0,"quantity":-5,"work_date":"2026-02-30"}`,
		`{"passbook_id":1,"item_id":2,"quantity":1e3}`,
		`{"passbook_id":1,"item_id":2,"quantity":1,"extra":true}`,
		`[]`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/passbook/claims", bytes.NewReader(body))
		in, err := decodeClaimJSON(r)
		if err != nil {
			if e := errs.As(err); e.Kind != errs.KindInvalid {
				t.Fatalf("body %q: %v, want an invalid-input error", body, err)
			}
			return
		}
		if in.PassbookID <= 0 || in.ItemID <= 0 || in.Quantity <= 0 || in.Quantity > maxQuantity ||
			(in.WorkDate != "" && !validDate(in.WorkDate)) || len([]rune(in.Note)) > maxNote {
			t.Fatalf("body %q passed as %+v", body, in)
		}
		if _, err := requestHash(claimFingerprint(in, nil)); err != nil {
			t.Fatalf("fingerprint of %+v: %v", in, err)
		}
	})
}
