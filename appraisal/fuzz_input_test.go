package appraisal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store/storetest"
	"grassroots/web"
)

// FuzzAppraisalInput feeds arbitrary quarters and JSON bodies to what reads them: ParseQuarter
// (?quarter= and every cycle) and the bodies carrying scores and weights, a signed-in rating
// and a policy, decoded as the API does. A refusal is invalid input in Chinese; an accepted
// quarter writes back as itself; an accepted body decodes the same every time and comes back
// the same through encoding; scores that pass the checks, weighted by a policy that passes
// its, make a total within 0–100 points.
func FuzzAppraisalInput(f *testing.F) {
	for _, seed := range [][2]string{
		{"2026Q3", `{"cycle_id":1,"person_id":2,"party":"leader","scores":{"de":90,"neng":85,"qin":80,"ji":95,"lian":100}}`},
		{"2026q1", `{"cycle_id":1,"person_id":2,"party":"主管领导","scores":{"德":90,"能":85,"勤":80,"绩":95,"廉":100}}`},
		{" 2000Q4 ", `{"scores":{"de":1,"neng":2,"qin":3,"ji":4}}`},
		{"1999Q1", `{"scores":{"de":1,"德":2,"neng":3,"qin":4,"ji":5,"lian":6}}`},
		{"2101Q1", `{"scores":{"de":-1,"neng":101,"qin":1e3,"ji":"x","lian":null}}`},
		{"2026Q0", `{"scores":{"xx":1}}`},
		{"２０２６Q1", `{"scores":[]}`},
		{"2026Q", `{"org_id":1,"effective_from":"2026-01-01","policy":{"dimension_weights":{"de":10,"neng":20,"qin":20,"ji":40,"lian":10},"party_weights":{"mass":30,"leader":50,"hr":20},"bands":{"good":90,"fair":80,"pass":60},"good_quota_pct":40,"good_quota_min":1,"target_pct":50,"trim_min":5,"min_pool_size":3,"uniform_min_ratees":5,"annual":{"good_share_pct":50,"excellent_quota_pct":20,"excellent_quota_approved_pct":30},"step_days":[-10,0,5,10,15,20,30],"review_days":5}}`},
		{"2026Q4x", `{"policy":{"party_weights":{"mass":30,"干部群众":40,"leader":50,"hr":20}}}`},
		{"Q4", `{"policy":{"dimension_weights":{"de":9223372036854775807,"neng":1,"qin":0,"ji":0,"lian":0}}}`},
	} {
		f.Add(seed[0], []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, quarter string, body []byte) {
		q, err := ParseQuarter(quarter)
		if err != nil {
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Field != "quarter" {
				t.Fatalf("quarter %q: %v", quarter, err)
			}
		} else {
			if q.Year < 2000 || q.Year > 2100 || q.Q < 1 || q.Q > 4 || !strings.EqualFold(q.String(), strings.TrimSpace(quarter)) {
				t.Fatalf("quarter %q read as %+v", quarter, q)
			}
			if again, err := ParseQuarter(q.String()); err != nil || again != q {
				t.Fatalf("quarter %q: %s reads back as %+v, %v", quarter, q, again, err)
			}
			if !strings.HasPrefix(q.Label(), q.String()[:4]+"年第") || len(q.Start()) != 10 {
				t.Fatalf("quarter %s: %q from %q", q, q.Label(), q.Start())
			}
		}

		var rating RatingInput
		if decodeTwice(t, body, &rating) && checkScores(rating.Scores) == nil {
			if total := RaterTotal(DefaultPolicy, rating.Scores); total < 0 || total > 100*hundred {
				t.Fatalf("%q: total %d", body, total)
			}
		}
		var policy PolicyInput
		if decodeTwice(t, body, &policy) && policy.Policy.Validate() == nil {
			var top DimValues
			for _, d := range Dims() {
				top[d] = 100
			}
			if total := RaterTotal(policy.Policy, top); total != 100*hundred {
				t.Fatalf("%q: full marks weigh %d", body, total)
			}
		}
	})
}

// decodeTwice decodes body into v as the API does, and reports whether it was accepted.
// Refusals must be invalid input with a Chinese message; what is accepted must decode the
// same a second time and after encoding.
func decodeTwice[T any](t *testing.T, body []byte, v *T) bool {
	t.Helper()
	decode := func(b []byte, into *T) error {
		return web.DecodeJSON(httptest.NewRequest("POST", "/api/v1/appraisal/x", bytes.NewReader(b)), into)
	}
	if err := decode(body, v); err != nil {
		if e := errs.As(err); e.Kind != errs.KindInvalid || !strings.ContainsFunc(e.Message, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Fatalf("%q: %v, want invalid input in Chinese", body, err)
		}
		return false
	}
	var again T
	if err := decode(body, &again); err != nil || !reflect.DeepEqual(*v, again) {
		t.Fatalf("%q decodes as %+v and then as %+v, %v", body, *v, again, err)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%+v: %v", *v, err)
	}
	var back T
	if err := decode(enc, &back); err != nil || !reflect.DeepEqual(*v, back) {
		t.Fatalf("%q: %+v encodes as %s, which decodes as %+v, %v", body, *v, enc, back, err)
	}
	return true
}

// TestDimensionGivenTwiceIsRefused: a dimension or party given by key and by Chinese name
// took one value or the other as the map's order fell.
func TestDimensionGivenTwiceIsRefused(t *testing.T) {
	for _, body := range []string{
		`{"scores":{"de":1,"德":2,"neng":3,"qin":4,"ji":5,"lian":6}}`,
		`{"scores":{"de":1," de":2,"neng":3,"qin":4,"ji":5,"lian":6}}`,
	} {
		var in RatingInput
		err := web.DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(body)), &in)
		if e := errs.As(err); e.Kind != errs.KindInvalid || !strings.Contains(e.Message, "“德”一项填写了两次") {
			t.Errorf("%s: %v", body, err)
		}
	}
	var in PolicyInput
	err := web.DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`{"policy":{"party_weights":{"mass":30,"干部群众":40,"leader":50,"hr":20}}}`)), &in)
	if e := errs.As(err); e.Kind != errs.KindInvalid || !strings.Contains(e.Message, "“干部群众”一项填写了两次") {
		t.Errorf("party given twice: %v", err)
	}
}

// FuzzRatingLink feeds arbitrary tokens and bodies to the anonymous rating link, the one way
// into appraisal without a session: the token of /appraisal/rate/{token} and the scores posted
// to it. Only the exact issued token opens a form; any other text is "测评链接无效" and changes
// nothing. A body is refused as invalid input in Chinese, or accepted once: its ratings are
// stored, the link is used up, and every later submission is refused as a repeat.
func FuzzRatingLink(f *testing.F) {
	w := newWorld(f, storetest.SQLite(f, migrations...))
	c, err := w.svc.OpenCycle(ctx, auth.System(), CycleInput{OrgID: w.unit.ID, Quarter: "2026Q3"})
	if err != nil {
		f.Fatal(err)
	}
	links, err := w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: 1})
	if err != nil {
		f.Fatal(err)
	}
	valid, er := links[0].Token, w.people["二号"]
	for _, seed := range [][2]string{
		{valid, fmt.Sprintf(`{"ratings":[{"person_id":%d,"scores":{"de":90,"neng":85,"qin":80,"ji":95,"lian":100}}]}`, er)},
		{valid, fmt.Sprintf(`{"ratings":[{"person_id":%d,"scores":{"de":101}}]}`, er)},
		{valid, `{"ratings":[]}`},
		{valid[:len(valid)-1], fmt.Sprintf(`{"ratings":[{"person_id":%d,"scores":{"de":90}}]}`, er)},
		{strings.ToUpper(valid), `{}`},
		{valid + "/", `{"ratings":null}`},
		{"", ``},
		{"../../api/v1/appraisal/cycles", `{"ratings":[{"person_id":-1}]}`},
	} {
		f.Add(seed[0], []byte(seed[1]))
	}
	stored := 0 // mass ratings accepted so far, over every run of this process
	f.Fuzz(func(t *testing.T, token string, body []byte) {
		_, formErr := w.svc.LinkForm(ctx, token)
		var in MassRatingInput
		decoded := decodeTwice(t, body, &in)
		var rateErr error
		if decoded {
			var got MassRatingReceipt
			if got, rateErr = w.svc.RateByLink(ctx, token, in); rateErr == nil {
				if token != valid || got.Rated != len(in.Ratings) {
					t.Fatalf("token %q, body %q: accepted as %+v", token, body, got)
				}
				stored += got.Rated
			}
		}
		if token != valid {
			refused := func(err error) {
				if e := errs.As(err); e == nil || e.Kind != errs.KindNotFound || e.Message != "测评链接无效" {
					t.Fatalf("token %q: %v, want 测评链接无效", token, err)
				}
			}
			refused(formErr)
			if decoded {
				refused(rateErr)
			}
		} else if rateErr != nil {
			if e := errs.As(rateErr); e == nil || (e.Kind != errs.KindInvalid && e.Kind != errs.KindConflict) ||
				!strings.ContainsFunc(e.Message, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
				t.Fatalf("body %q: %v, want a refusal in Chinese", body, rateErr)
			}
		}
		used := w.count(t, `SELECT COUNT(*) FROM ap_links WHERE used = TRUE`)
		if rows := w.count(t, `SELECT COUNT(*) FROM ap_ratings WHERE party = ?`, PartyMass.Key()); rows != stored || (used == 1) != (stored > 0) || used > 1 {
			t.Fatalf("after token %q, body %q: %d mass ratings stored (%d accepted), %d links used", token, body, rows, stored, used)
		}
	})
}
