package appraisal_test

// The HTTP tests run a whole server: web.New with routine appraisal registered.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"grassroots/appraisal"
	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/web"
)

const password = "Xishan#2026q3"

var migrations = []store.Migrations{audit.Migrations, org.Migrations, auth.Migrations, appraisal.Migrations}

// server is 西山区 with 西山区财政局 (a director, a deputy and three staff) and
// 西山区发展和改革局; accounts: zuzhibu (district org admin), renshi (unit admin of the bureau),
// juzhang (reviewer, the director), fgj (unit admin of the other bureau), jia (member, 甲).
type server struct {
	ts                  *httptest.Server
	srv                 *web.Server
	orgs                *org.Service
	district, unit, fgj org.Org
	people              map[string]int64
}

func newServer(t *testing.T, db *store.DB) *server {
	t.Helper()
	now := time.Date(2026, 7, 10, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	s := &server{orgs: org.NewService(db), people: map[string]int64{}}
	authSvc := auth.NewService(db)
	s.srv = web.New(web.Config{DB: db, Auth: authSvc, Org: s.orgs, Migrations: migrations,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	appraisal.Register(s.srv, appraisal.NewService(db), s.orgs)
	s.ts = httptest.NewServer(s.srv.Handler())
	t.Cleanup(s.ts.Close)

	sys := auth.System()
	mk := func(in org.OrgInput) org.Org {
		o, err := s.orgs.CreateOrg(t.Context(), sys, in)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	city := mk(org.OrgInput{Name: "昆明市", Kind: org.KindPrefecture})
	s.district = mk(org.OrgInput{ParentID: city.ID, Name: "西山区", Kind: org.KindCounty})
	s.unit = mk(org.OrgInput{ParentID: s.district.ID, Name: "西山区财政局", Kind: org.KindGovUnit})
	s.fgj = mk(org.OrgInput{ParentID: s.district.ID, Name: "西山区发展和改革局", Kind: org.KindGovUnit})
	for i, p := range []struct {
		name string
		cats []string
	}{{"局长", []string{"公务员", "领导干部"}}, {"副局长", []string{"公务员", "领导干部"}}, {"甲", []string{"公务员"}}, {"乙", []string{"公务员"}}, {"丙", []string{"公务员"}}} {
		pe, err := s.orgs.CreatePerson(t.Context(), sys, org.PersonInput{OrgID: s.unit.ID, Name: p.name, IDNumber: idNumber(i + 1),
			PoliticalStatus: "群众", Categories: p.cats})
		if err != nil {
			t.Fatal(err)
		}
		s.people[p.name] = pe.ID
	}
	// The 局长 holds the post in the unit, and so is its supervising leader.
	if _, err := s.orgs.AddMembership(t.Context(), sys, org.MembershipInput{PersonID: s.people["局长"], OrgID: s.unit.ID, Position: "局长", StartedOn: "2024-01-01"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		user   string
		role   auth.RoleKey
		o      org.Org
		person int64
	}{{"zuzhibu", auth.RoleOrgAdmin, s.district, 0}, {"renshi", auth.RoleUnitAdmin, s.unit, 0},
		{"juzhang", auth.RoleReviewer, s.unit, s.people["局长"]}, {"fgj", auth.RoleUnitAdmin, s.fgj, 0},
		{"jia", auth.RoleMember, s.unit, s.people["甲"]}} {
		if _, _, err := authSvc.CreateUser(t.Context(), sys, auth.NewUser{Username: a.user, DisplayName: a.user, Password: password,
			PersonID: a.person, Grants: []auth.GrantInput{{Role: a.role, OrgID: a.o.ID}}}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func idNumber(n int) string {
	body := fmt.Sprintf("53011219850101%03d", n)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

type reply struct {
	status int
	body   string
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (r reply) errorOf(t *testing.T) (code, field, message string) {
	var b struct {
		Error struct{ Code, Field, Message string } `json:"error"`
	}
	r.decode(t, &b)
	return b.Error.Code, b.Error.Field, b.Error.Message
}

// anonymous is a client without a session.
func (s *server) anonymous(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: s.ts.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (s *server) login(t *testing.T, username string) *client {
	t.Helper()
	c := s.anonymous(t)
	if r := c.json("POST", "/api/v1/login", map[string]string{"username": username, "password": password}); r.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, r.status, r.body)
	}
	return c
}

func (c *client) send(method, path, ctype string, body io.Reader, header map[string]string) reply {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, body: string(data)}
}

func (c *client) get(path string) reply { return c.send("GET", path, "", nil, nil) }

func (c *client) json(method, path string, v any) reply {
	c.t.Helper()
	data, _ := json.Marshal(v)
	return c.send(method, path, "application/json", bytes.NewReader(data), nil)
}

// form posts like a same-origin browser form.
func (c *client) form(path string, values url.Values) reply {
	return c.send("POST", path, "application/x-www-form-urlencoded", strings.NewReader(values.Encode()),
		map[string]string{"Origin": c.base, "Sec-Fetch-Site": "same-origin"})
}

func want(t *testing.T, what string, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, status)
	}
}

func TestEveryAppraisalRouteIsDocumented(t *testing.T) {
	s := newServer(t, storetest.SQLite(t, migrations...))
	n := 0
	for _, r := range s.srv.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/appraisal/") {
			n++
			if !s.srv.Documented(r.Method, r.Path) {
				t.Errorf("%s %s is not in the OpenAPI description", r.Method, r.Path)
			}
		}
	}
	if n < 25 {
		t.Fatalf("only %d appraisal API routes", n)
	}
}

func TestQuarterOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newServer(t, db)
		zzb, hr, leader, other, anon := s.login(t, "zuzhibu"), s.login(t, "renshi"), s.login(t, "juzhang"), s.login(t, "fgj"), s.anonymous(t)

		// The district's policy: weights that do not sum to 100 are refused with the field and sum.
		bad := appraisal.DefaultPolicy
		bad.DimensionWeights = appraisal.DimValues{10, 20, 20, 40, 20}
		r := zzb.json("PUT", "/api/v1/appraisal/policies", appraisal.PolicyInput{OrgID: s.district.ID, EffectiveFrom: "2026-01-01", Policy: bad})
		want(t, "bad weights", r, http.StatusBadRequest)
		if code, field, msg := r.errorOf(t); code != "invalid" || field != "dimension_weights" || msg != "德能勤绩廉权重之和应为100，现为110" {
			t.Fatalf("bad weights error = %s %s %s", code, field, msg)
		}
		pol := appraisal.DefaultPolicy
		pol.PartyWeights = appraisal.PartyValues{40, 60, 0} // HR does not score here
		want(t, "policy", zzb.json("PUT", "/api/v1/appraisal/policies", appraisal.PolicyInput{OrgID: s.district.ID, EffectiveFrom: "2026-01-01", Policy: pol}), http.StatusOK)
		want(t, "policy by unit HR", hr.json("PUT", "/api/v1/appraisal/policies", appraisal.PolicyInput{OrgID: s.unit.ID, EffectiveFrom: "2026-09-01", Policy: pol}), http.StatusForbidden)
		var eff appraisal.EffectivePolicy
		r = hr.get(fmt.Sprintf("/api/v1/appraisal/policies/effective?org_id=%d&quarter=2026Q3", s.unit.ID))
		want(t, "effective policy", r, http.StatusOK)
		if r.decode(t, &eff); eff.Source != appraisal.SourceInherited || eff.Policy.PartyWeights[appraisal.PartyHR] != 0 || eff.SourceOrgName != "西山区" {
			t.Fatalf("effective = %+v", eff)
		}

		var cycle appraisal.Cycle
		r = hr.json("POST", "/api/v1/appraisal/cycles", appraisal.CycleInput{OrgID: s.unit.ID, Quarter: "2026Q3"})
		want(t, "open cycle", r, http.StatusCreated)
		if r.decode(t, &cycle); cycle.Leaders != 2 || cycle.Staff != 3 {
			t.Fatalf("cycle = %+v", cycle)
		}
		cyclePath := fmt.Sprintf("/api/v1/appraisal/cycles/%d", cycle.ID)
		want(t, "other unit reads the cycle", other.get(cyclePath), http.StatusNotFound)

		// Three anonymous links; the form needs no login.
		var links web.ListBody[appraisal.IssuedLink]
		r = hr.json("POST", cyclePath+"/links", appraisal.LinksInput{Count: 3})
		want(t, "issue links", r, http.StatusCreated)
		if r.decode(t, &links); len(links.Items) != 3 {
			t.Fatalf("links = %+v", links)
		}
		var form appraisal.RatingForm
		r = anon.get("/api/v1/appraisal/rate/" + links.Items[0].Token)
		want(t, "form", r, http.StatusOK)
		if r.decode(t, &form); len(form.Ratees) != 5 || form.Ratees[0].Name != "局长" {
			t.Fatalf("form = %+v", form)
		}
		value := map[string]int64{"局长": 95, "副局长": 85, "甲": 93, "乙": 88, "丙": 70}
		scores := func(bump int64) appraisal.MassRatingInput {
			var in appraisal.MassRatingInput
			for name, v := range value {
				in.Ratings = append(in.Ratings, appraisal.RateeScores{PersonID: s.people[name], Scores: appraisal.DimValues{v, v, v, v + bump, v}})
			}
			return in
		}
		over := scores(0)
		over.Ratings[0].Scores[appraisal.DimJi] = 120
		r = anon.json("POST", "/api/v1/appraisal/rate/"+links.Items[0].Token, over)
		want(t, "a score of 120", r, http.StatusBadRequest)
		if code, field, msg := r.errorOf(t); code != "invalid" || field != "scores.ji" || msg != "绩的评分应在 0 到 100 分之间" {
			t.Fatalf("score 120 error = %s %s %s", code, field, msg)
		}
		want(t, "mass rating", anon.json("POST", "/api/v1/appraisal/rate/"+links.Items[0].Token, scores(0)), http.StatusCreated)
		r = anon.json("POST", "/api/v1/appraisal/rate/"+links.Items[0].Token, scores(0))
		want(t, "second use of a link", r, http.StatusConflict)
		if _, _, msg := r.errorOf(t); msg != "该测评链接已经使用过，不能重复测评" {
			t.Fatalf("reuse message = %q", msg)
		}
		want(t, "mass rating 2", anon.json("POST", "/api/v1/appraisal/rate/"+links.Items[1].Token, scores(0)), http.StatusCreated)
		want(t, "made-up token", anon.json("POST", "/api/v1/appraisal/rate/abc", scores(0)), http.StatusNotFound)

		// The phone form: the third link, 乙 left blank, a half-filled row refused first.
		page := anon.get("/appraisal/rate/" + links.Items[2].Token)
		want(t, "phone form", page, http.StatusOK)
		if !strings.Contains(page.body, "干部群众测评") || !strings.Contains(page.body, `name="s.`+fmt.Sprint(s.people["甲"])+`.ji"`) {
			t.Fatalf("phone form lacks its fields:\n%s", page.body)
		}
		vals := url.Values{}
		for name, v := range value {
			if name == "乙" {
				continue
			}
			for _, d := range appraisal.Dims() {
				vals.Set(fmt.Sprintf("s.%d.%s", s.people[name], d.Key()), fmt.Sprint(v))
			}
		}
		half := url.Values{}
		for k, v := range vals {
			half[k] = v
		}
		half.Set(fmt.Sprintf("s.%d.de", s.people["乙"]), "80")
		r = anon.form("/appraisal/rate/"+links.Items[2].Token, half)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "请为乙的德、能、勤、绩、廉五项都打分，或全部留空") {
			t.Fatalf("half-filled row: %d %s", r.status, r.body)
		}
		r = anon.form("/appraisal/rate/"+links.Items[2].Token, vals)
		if r.status != http.StatusOK || !strings.Contains(r.body, "本次共评价 4 人") {
			t.Fatalf("phone submit: %d %s", r.status, r.body)
		}
		if r = anon.get("/appraisal/rate/" + links.Items[2].Token); r.status != http.StatusConflict || !strings.Contains(r.body, "已经使用过") {
			t.Fatalf("used link's page: %d %s", r.status, r.body)
		}

		// The director rates everyone else as supervising leader; rating oneself is refused.
		for name, v := range value {
			in := appraisal.RatingInput{CycleID: cycle.ID, PersonID: s.people[name], Party: "leader", Scores: appraisal.DimValues{v, v, v, v, v}}
			r := leader.json("POST", "/api/v1/appraisal/ratings", in)
			if name == "局长" {
				want(t, "rating oneself", r, http.StatusForbidden)
				continue
			}
			want(t, "leader rating "+name, r, http.StatusOK)
		}
		r = leader.send("POST", "/api/v1/appraisal/ratings", "application/json", strings.NewReader(fmt.Sprintf(
			`{"cycle_id":%d,"person_id":%d,"party":"leader","scores":{"de":90,"neng":90,"qin":90,"ji":90}}`, cycle.ID, s.people["甲"])), nil)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "缺少“廉”一项") {
			t.Fatalf("rating without 廉: %d %s", r.status, r.body)
		}
		want(t, "HR rating as leader", hr.json("POST", "/api/v1/appraisal/ratings", appraisal.RatingInput{CycleID: cycle.ID,
			PersonID: s.people["甲"], Party: "leader", Scores: appraisal.DimValues{1, 1, 1, 1, 1}}), http.StatusForbidden)

		var sum appraisal.Summary
		want(t, "compute by the leader", leader.json("POST", cyclePath+"/compute", nil), http.StatusForbidden)
		r = hr.send("POST", cyclePath+"/compute", "", nil, nil)
		want(t, "compute", r, http.StatusOK)
		r.decode(t, &sum)
		var results web.ListBody[appraisal.Result]
		r = leader.get(cyclePath + "/results")
		want(t, "results", r, http.StatusOK)
		r.decode(t, &results)
		got := map[string]appraisal.Result{}
		for _, res := range results.Items {
			got[res.Name] = res
		}
		// Leaders: 局长 only mass-rated (95) → 好, the one place; 副局长 85 → 较好.
		// Staff: 甲 93 and 乙 88 (乙 rated by two links, not the phone), 丙 70: one place of 好 (40% of 3 is 1).
		for name, w := range map[string]struct {
			score string
			grade appraisal.Grade
		}{"局长": {"95.00", appraisal.GradeGood}, "副局长": {"85.00", appraisal.GradeFair}, "甲": {"93.00", appraisal.GradeGood},
			"乙": {"88.00", appraisal.GradeFair}, "丙": {"70.00", appraisal.GradePass}} {
			if got[name].Score != w.score || got[name].Grade != w.grade {
				t.Errorf("%s: %s %s, want %s %s", name, got[name].Score, got[name].Grade, w.score, w.grade)
			}
		}
		if b := got["乙"].Breakdown; b.Parties[appraisal.PartyMass].Count != 2 || b.PartyWeightUsed != 100 {
			t.Errorf("乙's breakdown = %+v", b)
		}
		if len(sum.Pools) != 2 || sum.Pools[0].Slots != 1 || sum.Pools[1].Slots != 1 {
			t.Fatalf("summary = %+v", sum)
		}
		want(t, "other unit's results", other.get(cyclePath+"/results"), http.StatusNotFound)

		// The cycle page shows each pool's table.
		page = hr.get(fmt.Sprintf("/appraisal/cycles/%d", cycle.ID))
		want(t, "cycle page", page, http.StatusOK)
		for _, s := range []string{"领导干部（2 人，“好”等次名额 1 个）", "一般公务员（3 人，“好”等次名额 1 个）", "93.00", "计算考核结果"} {
			if !strings.Contains(page.body, s) {
				t.Errorf("cycle page lacks %q", s)
			}
		}
		if page := hr.get("/appraisal"); page.status != http.StatusOK || !strings.Contains(page.body, "西山区财政局") {
			t.Fatalf("home page: %d", page.status)
		}
	}, migrations...)
}
