package appraisal

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

var ctx = context.Background()

// migrations are what appraisal tests need.
var migrations = []store.Migrations{audit.Migrations, org.Migrations, auth.Migrations, Migrations}

// world is 西山区 with two units:
//
//	昆明市/西山区 (district: w.districtAdmin)
//	├─ 西山区财政局 (w.unit): leaders 局长 (领导干部), 副局长 (a post only), 党组成员 (领导干部);
//	│   staff 一号 … 六号 and the HR officer 人事干部, all 公务员; a 工勤 who is not a civil servant.
//	│   Accounts: w.hr (unit admin, the HR officer), w.leader (reviewer, 局长, who holds the post
//	│   局长 in the unit and so supervises it), w.member (一号).
//	└─ 西山区发展和改革局 (w.other): four staff; w.otherHR (unit admin).
//
// The clock stands at 2026-07-10 10:00 in Shanghai: the third quarter has begun.
type world struct {
	db                    *store.DB
	svc                   *Service
	orgs                  *org.Service
	now                   time.Time
	district, unit, other org.Org
	office                org.Org
	people                map[string]int64
	districtAdmin, hr     *auth.Principal
	leader, member        *auth.Principal
	otherHR               *auth.Principal
	deputy                *auth.Principal // reviewer account of 副局长
}

func newWorld(t testing.TB, db *store.DB) *world {
	t.Helper()
	w := &world{db: db, svc: NewService(db), orgs: org.NewService(db), people: map[string]int64{},
		now: time.Date(2026, 7, 10, 2, 0, 0, 0, time.UTC)}
	db.Now = func() time.Time { return w.now }
	sys := auth.System()
	province := w.mustOrg(t, org.OrgInput{Name: "云南省", Kind: org.KindProvince})
	city := w.mustOrg(t, org.OrgInput{ParentID: province.ID, Name: "昆明市", Kind: org.KindPrefecture})
	w.district = w.mustOrg(t, org.OrgInput{ParentID: city.ID, Name: "西山区", Kind: org.KindCounty})
	w.unit = w.mustOrg(t, org.OrgInput{ParentID: w.district.ID, Name: "西山区财政局", Kind: org.KindGovUnit})
	w.office = w.mustOrg(t, org.OrgInput{ParentID: w.unit.ID, Name: "办公室", Kind: org.KindDepartment})
	w.other = w.mustOrg(t, org.OrgInput{ParentID: w.district.ID, Name: "西山区发展和改革局", Kind: org.KindGovUnit})

	w.person(t, w.unit, "局长", "在职", "公务员", "领导干部")
	if _, err := w.orgs.AddMembership(ctx, sys, org.MembershipInput{PersonID: w.people["局长"], OrgID: w.unit.ID, Position: "局长", StartedOn: "2024-01-01"}); err != nil {
		t.Fatal(err)
	}
	w.person(t, w.unit, "副局长", "在职", "公务员")
	if _, err := w.orgs.AddMembership(ctx, sys, org.MembershipInput{PersonID: w.people["副局长"], OrgID: w.unit.ID, Position: "副局长", StartedOn: "2024-01-01"}); err != nil {
		t.Fatal(err)
	}
	w.person(t, w.unit, "党组成员", "在职", "公务员", "领导干部")
	for _, n := range []string{"一号", "二号", "三号"} {
		w.person(t, w.unit, n, "在职", "公务员")
	}
	for _, n := range []string{"四号", "五号", "六号"} {
		w.person(t, w.office, n, "在职", "公务员")
	}
	w.person(t, w.unit, "人事干部", "在职", "公务员")
	w.person(t, w.unit, "工勤", "在职")
	for _, n := range []string{"发改甲", "发改乙", "发改丙", "发改丁"} {
		w.person(t, w.other, n, "在职", "公务员")
	}
	w.districtAdmin = principal(1, "xishan_zzb", auth.RoleOrgAdmin, w.district, 0)
	w.hr = principal(2, "czj_renshi", auth.RoleUnitAdmin, w.unit, w.people["人事干部"])
	w.leader = principal(3, "czj_juzhang", auth.RoleReviewer, w.unit, w.people["局长"])
	w.member = principal(4, "czj_yihao", auth.RoleMember, w.unit, w.people["一号"])
	w.otherHR = principal(5, "fgj_renshi", auth.RoleUnitAdmin, w.other, 0)
	w.deputy = principal(6, "czj_fujuzhang", auth.RoleReviewer, w.unit, w.people["副局长"])
	return w
}

func (w *world) mustOrg(t testing.TB, in org.OrgInput) org.Org {
	t.Helper()
	o, err := w.orgs.CreateOrg(ctx, auth.System(), in)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// person adds someone with a valid 身份证号 made from their sequence number.
func (w *world) person(t testing.TB, o org.Org, name string, categories ...string) int64 {
	t.Helper()
	pe, err := w.orgs.CreatePerson(ctx, auth.System(), org.PersonInput{OrgID: o.ID, Name: name,
		IDNumber: idNumber(len(w.people) + 1), PoliticalStatus: "群众", Categories: categories})
	if err != nil {
		t.Fatalf("person %s: %v", name, err)
	}
	w.people[name] = pe.ID
	return pe.ID
}

// idNumber is a valid 身份证号 of someone born in 1985 in 西山区, numbered n.
func idNumber(n int) string {
	body := fmt.Sprintf("53011219850101%03d", n)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// principal is a signed-in user holding one role on one organisation.
func principal(id int64, name string, k auth.RoleKey, o org.Org, personID int64) *auth.Principal {
	role, _ := auth.LookupRole(k)
	return &auth.Principal{UserID: id, Username: name, PersonID: personID,
		Grants: []auth.Grant{{Role: role, OrgID: o.ID, OrgPath: o.Path, OrgName: o.Name}}}
}

func (w *world) cycle(t *testing.T, o org.Org, quarter string) Cycle {
	t.Helper()
	c, err := w.svc.OpenCycle(ctx, auth.System(), CycleInput{OrgID: o.ID, Quarter: quarter})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *world) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantErr(t *testing.T, what string, err error, kind errs.Kind, text string) {
	t.Helper()
	if !errs.Is(err, kind) || !strings.Contains(err.Error(), text) {
		t.Fatalf("%s: got %v, want %s containing %q", what, err, kind, text)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func each(t *testing.T, fn func(t *testing.T, w *world)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newWorld(t, db)) }, migrations...)
}

func same(v int64) DimValues { return DimValues{v, v, v, v, v} }
