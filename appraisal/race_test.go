package appraisal

import (
	"fmt"
	"sync"
	"testing"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
)

// The races of routine appraisal: every contender starts at once, and one consistent outcome
// must come of it on both databases, with the refused told why and the audit chain whole.

// conflictSaying reports whether err is a conflict whose message is exactly msg.
func conflictSaying(err error, msg string) bool {
	return errs.Is(err, errs.KindConflict) && errs.As(err).Message == msg
}

// race runs every fn at once and waits for all of them.
func race(fns ...func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(func() {
			<-start
			fn()
		})
	}
	close(start)
	wg.Wait()
}

func wantAuditChain(t *testing.T, w *world) {
	t.Helper()
	if _, err := audit.Verify(ctx, w.db); err != nil {
		t.Fatal(err)
	}
}

// Three reviewers decide each of six entries at once, some confirming and some rejecting:
// exactly one review stands per entry, the others are told it is already reviewed.
func TestReviewersRaceForOneEntry(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		item := must[ListItem](t)(w.svc.CreateListItem(ctx, w.hr, ListItemInput{OrgID: w.unit.ID, List: ListAdjust, Name: "受到市级表彰", Points: 200}))
		reviewers := []*auth.Principal{w.hr, w.deputy, w.districtAdmin}
		names := []string{"一号", "二号", "三号", "四号", "五号", "六号"}
		entries := make([]Entry, len(names))
		for k, name := range names {
			entries[k] = must[Entry](t)(w.svc.AddEntry(ctx, w.leader, EntryInput{CycleID: c.ID, PersonID: w.people[name], ItemID: item.ID,
				OccurredOn: "2026-07-05", Evidence: "市政府表彰文件"}))
		}
		type review struct {
			decision string
			err      error
		}
		results := make([][]review, len(entries))
		var fns []func()
		for k, e := range entries {
			results[k] = make([]review, len(reviewers))
			for r, who := range reviewers {
				results[k][r].decision = []string{EntryConfirmed, EntryRejected}[(k+r)%2]
				fns = append(fns, func() {
					if results[k][r].decision == EntryConfirmed {
						_, results[k][r].err = w.svc.ConfirmEntry(ctx, who, e.ID, ReviewInput{})
					} else {
						_, results[k][r].err = w.svc.RejectEntry(ctx, who, e.ID, ReviewInput{Note: "依据不足"})
					}
				})
			}
		}
		race(fns...)
		confirmed := 0
		for k, e := range entries {
			won := ""
			for _, r := range results[k] {
				switch {
				case r.err == nil && won == "":
					won = r.decision
				case r.err == nil:
					t.Fatalf("entry %d: two reviews succeeded", e.ID)
				case !conflictSaying(r.err, "该记录已经复核"):
					t.Fatalf("entry %d: %v", e.ID, r.err)
				}
			}
			if won == "" {
				t.Fatalf("entry %d: no review succeeded", e.ID)
			}
			if won == EntryConfirmed {
				confirmed++
			}
			reviews := w.count(t, `SELECT COUNT(*) FROM ap_entry_reviews WHERE entry_id = ? AND decision = ?`, e.ID, won)
			audits := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE entity_type = 'appraisal_entry' AND entity_id = ?
				AND action IN ('appraisal.entry_confirmed', 'appraisal.entry_rejected')`, e.ID)
			if reviews != 1 || audits != 1 {
				t.Fatalf("entry %d: %d reviews saying %s, %d audit records", e.ID, reviews, won, audits)
			}
		}
		counting, err := countingEntries(ctx, w.db, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, adj := range counting {
			total += len(adj)
		}
		if total != confirmed {
			t.Fatalf("%d entries count in results, %d were confirmed", total, confirmed)
		}
		t.Logf("%d of %d entries confirmed", confirmed, len(entries))
		wantAuditChain(t, w)
	})
}

// Four reversals of each of three confirmed entries at once: each entry is reversed once.
func TestReversalsRaceForOneEntry(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		item := must[ListItem](t)(w.svc.CreateListItem(ctx, w.hr, ListItemInput{OrgID: w.unit.ID, List: ListAdjust, Name: "受到市级表彰", Points: 200}))
		var entries []Entry
		for _, name := range []string{"一号", "二号", "三号"} {
			e := must[Entry](t)(w.svc.AddEntry(ctx, w.leader, EntryInput{CycleID: c.ID, PersonID: w.people[name], ItemID: item.ID,
				OccurredOn: "2026-07-05", Evidence: "市政府表彰文件"}))
			must[Entry](t)(w.svc.ConfirmEntry(ctx, w.hr, e.ID, ReviewInput{}))
			entries = append(entries, e)
		}
		reversers := []*auth.Principal{w.hr, w.deputy, w.districtAdmin, w.leader}
		results := make([][]error, len(entries))
		var fns []func()
		for k, e := range entries {
			results[k] = make([]error, len(reversers))
			for r, who := range reversers {
				fns = append(fns, func() {
					_, results[k][r] = w.svc.ReverseEntry(ctx, who, e.ID, ReverseInput{Reason: fmt.Sprintf("误登（%s）", who.Username)})
				})
			}
		}
		race(fns...)
		for k, e := range entries {
			ok := 0
			for _, err := range results[k] {
				switch {
				case err == nil:
					ok++
				case !conflictSaying(err, "该记录已经冲正"):
					t.Fatalf("entry %d: %v", e.ID, err)
				}
			}
			if n := w.count(t, `SELECT COUNT(*) FROM ap_entries WHERE reverses_id = ?`, e.ID); ok != 1 || n != 1 {
				t.Fatalf("entry %d: %d reversals succeeded, %d stored", e.ID, ok, n)
			}
		}
		if counting, err := countingEntries(ctx, w.db, c.ID); err != nil || len(counting) != 0 {
			t.Fatalf("entries still counting after their reversal: %v, %v", counting, err)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'appraisal.entry_reverse'`); n != len(entries) {
			t.Fatalf("%d reversal audit records", n)
		}
		wantAuditChain(t, w)
	})
}

// A rating link forwarded in a chat group is opened by eight people at once: one submission is
// taken, the others are told the link is used.
func TestOneRatingLinkSubmittedAtOnce(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		links := must[[]IssuedLink](t)(w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: 2}))
		in := MassRatingInput{Ratings: []RateeScores{
			{PersonID: w.people["一号"], Scores: same(90)}, {PersonID: w.people["二号"], Scores: same(80)}}}
		results := make([]error, 8)
		var fns []func()
		for i := range results {
			fns = append(fns, func() { _, results[i] = w.svc.RateByLink(ctx, links[0].Token, in) })
		}
		race(fns...)
		ok := 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case !conflictSaying(err, "该测评链接已经使用过，不能重复测评"):
				t.Fatal(err)
			}
		}
		ratings := w.count(t, `SELECT COUNT(*) FROM ap_ratings WHERE cycle_id = ? AND party = 'mass'`, c.ID)
		audits := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'appraisal.rate_mass'`)
		if ok != 1 || ratings != 2 || audits != 1 {
			t.Fatalf("%d submissions taken, %d mass ratings stored, %d audit records; want 1, 2, 1", ok, ratings, audits)
		}
		stats := must[LinkStats](t)(w.svc.LinkStats(ctx, w.hr, c.ID))
		if stats.Issued != 2 || stats.Used != 1 {
			t.Fatalf("link stats %+v", stats)
		}
		wantAuditChain(t, w)
	})
}

// The supervising leader's rating is sent twice at once (a double tap): one rating of the
// person is kept, holding one of the two submissions, and a refused copy says to retry.
func TestRatingSubmittedTwiceAtOnce(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		names := []string{"一号", "二号", "三号", "四号"}
		results := make([][2]error, len(names))
		var fns []func()
		for k, name := range names {
			for j := range 2 {
				fns = append(fns, func() {
					_, results[k][j] = w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: w.people[name], Party: "leader",
						Scores: same(int64(80 + j))})
				})
			}
		}
		race(fns...)
		for k, name := range names {
			for _, err := range results[k] {
				if err != nil && !conflictSaying(err, "评分正在被同时提交，请刷新后重试") {
					t.Fatalf("%s: %v", name, err)
				}
			}
			var de int64
			if err := w.db.QueryRow(ctx, `SELECT de FROM ap_ratings WHERE cycle_id = ? AND ratee_id = ? AND party = 'leader'`,
				c.ID, w.people[name]).Scan(&de); err != nil {
				t.Fatalf("%s: one leader's rating wanted: %v", name, err)
			}
			if de != 80 && de != 81 {
				t.Fatalf("%s: 德 %d", name, de)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM ap_ratings WHERE cycle_id = ? AND party = 'leader'`, c.ID); n != len(names) {
			t.Fatalf("%d leader's ratings for %d people", n, len(names))
		}
		wantAuditChain(t, w)
	})
}

// Two HR officers press 计算 at the same moment, twice each: every computation succeeds and
// the cycle holds one result per appraisee.
func TestResultsComputedAtOnce(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		for _, name := range []string{"一号", "二号", "三号", "四号", "五号", "六号"} {
			must[RatingRecord](t)(w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: w.people[name], Party: "leader", Scores: same(90)}))
		}
		hr2 := principal(7, "czj_renshi2", auth.RoleUnitAdmin, w.unit, 0)
		results := make([]error, 4)
		var fns []func()
		for i := range results {
			who := []*auth.Principal{w.hr, hr2}[i%2]
			fns = append(fns, func() { _, results[i] = w.svc.ComputeResults(ctx, who, c.ID) })
		}
		race(fns...)
		for i, err := range results {
			if err != nil {
				t.Fatalf("computation %d: %v", i, err)
			}
		}
		appraisees := w.count(t, `SELECT COUNT(*) FROM ap_appraisees WHERE cycle_id = ?`, c.ID)
		if n := w.count(t, `SELECT COUNT(*) FROM ap_results WHERE cycle_id = ?`, c.ID); n != appraisees || n == 0 {
			t.Fatalf("%d results for %d appraisees", n, appraisees)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'appraisal.compute'`); n != len(results) {
			t.Fatalf("%d computation audit records", n)
		}
		wantAuditChain(t, w)
	})
}
