package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/demo"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
)

// The world of the authorisation matrix: the demo county, one account per built-in role, all
// granted on 元城镇社区 (the own scope), and in each scope a record of every kind a route can
// name:
//
//	元城镇 (parent: the township above the own community)
//	├─ 元城镇社区 (own: the member's own records; neighbour: another member's)
//	└─ 南门社区 (sibling)
//
// Every name and number below is unique to its scope, so that a response can be searched for
// records it must not show.

// scope is where a route's record lies, seen from the accounts of the matrix.
type scope string

const (
	scopeNone      scope = "-"         // the route names no record
	scopeOwn       scope = "own"       // the own community; for a member, their own record
	scopeNeighbour scope = "neighbour" // the own community, another member's record
	scopeSibling   scope = "sibling"   // the community next door
	scopeParent    scope = "parent"    // the township above the own community
)

var recordScopes = []scope{scopeOwn, scopeNeighbour, scopeSibling, scopeParent}

// fixture is one scope's records: placeholder → value, for the paths, queries and bodies of the
// route table ({id} takes the value of the route's target kind).
type fixture map[string]string

func (f fixture) id(key string) int64 {
	n, _ := strconv.ParseInt(f[key], 10, 64)
	return n
}

// matrixPassword is every matrix account's password; it satisfies the password policy.
const matrixPassword = "Yuanyang#2026"

type world struct {
	t        *testing.T
	ctx      context.Context
	a        *app
	handler  http.Handler
	routes   []routeInfo
	sys      *auth.Principal
	offset   atomic.Int64 // added to the clock, for sessions that have gone idle
	orgs     map[scope]org.Org
	fx       map[scope]fixture
	sessions map[auth.RoleKey]string // session cookie of each matrix account
	revoked  string                  // an API token of the unit administrator, revoked
	// markers are texts that only a record of that scope carries: a response showing one to an
	// account of the own community has leaked it.
	markers map[scope][]marker
	seq     int
	// common are placeholders with the same value in every scope.
	common fixture
	// sharedKeys are the fixtures the neighbour's scope shares with the own.
	sharedKeys map[string]bool
	// report is the {file} of /people/import/report/{file}: no report of the caller's (that
	// another account's report is not found is web's TestImportPeoplePageAndAPI).
	report string
}

type routeInfo struct {
	method, path string
	kind         int
	perm         auth.Permission
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, ctx: ctx, sys: auth.System(), orgs: map[scope]org.Org{}, fx: map[scope]fixture{},
		sessions: map[auth.RoleKey]string{}, markers: map[scope][]marker{},
		common: fixture{}, sharedKeys: map[string]bool{}, report: "JZNOREPORT.xlsx"}
	db.Now = func() time.Time { return time.Now().Add(time.Duration(w.offset.Load())) }
	w.a = newApp(db)
	if _, seeded, err := demo.SeedIfEmpty(ctx, db, matrixPassword); err != nil || !seeded {
		t.Fatalf("demo world: seeded %v, %v", seeded, err)
	}
	srv := w.a.server(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, r := range srv.Routes() {
		w.routes = append(w.routes, routeInfo{r.Method, r.Path, int(r.Kind), r.Perm})
	}
	w.handler = srv.Handler()

	for s, path := range map[scope]string{scopeOwn: "元阳县/元城镇/元城镇社区", scopeSibling: "元阳县/元城镇/南门社区", scopeParent: "元阳县/元城镇"} {
		o, err := w.a.org.FindOrgByPath(ctx, w.sys, path)
		w.must(err)
		w.orgs[s] = o
	}
	w.orgs[scopeNeighbour] = w.orgs[scopeOwn]
	for _, s := range recordScopes {
		w.fx[s] = fixture{"org": strconv.FormatInt(w.orgs[s].ID, 10), "orgcode": w.orgs[s].DivisionCode}
	}
	w.common["ownorg"] = w.fx[scopeOwn]["org"]
	w.common["owncode"] = w.orgs[scopeOwn].DivisionCode
	w.common["newid"] = idNumber(999)
	w.common["year"] = strconv.Itoa(time.Now().In(store.Shanghai).Year())
	next := time.Now().AddDate(0, 0, 7).Truncate(time.Hour)
	w.common["nextweek"] = next.Format(time.RFC3339)
	w.common["nextweekend"] = next.Add(2 * time.Hour).Format(time.RFC3339)
	w.mark(scopeSibling, w.orgs[scopeSibling].Name)
	for _, build := range fixtureBuilders {
		build(w)
	}
	w.accounts()
	return w
}

// fixtureBuilders fill the scopes' fixtures, in order. A room with routes that name records of
// its own (appraisal's cycles, say) adds a builder that puts one in each scope under a new key.
var fixtureBuilders = []func(w *world){buildOrgs, buildPeople, buildPassbook, buildAppraisal, buildAccounts}

// renewers put a new record in place of one an allowed request used up (see entry.spends).
var renewers = map[string]func(w *world, s scope){
	"suborg": func(w *world, s scope) { w.suborg(s) },
	"spare":  func(w *world, s scope) { w.spare(s) },
	"claim": func(w *world, s scope) {
		c := w.claim(s)
		w.set(s, "claim", c.ID)
		var photoID int64
		w.must(w.a.db.QueryRow(w.ctx, `SELECT id FROM pb_claim_evidence WHERE claim_id = ?`, c.ID).Scan(&photoID))
		w.set(s, "photo", photoID)
	},
	"pubclaim": func(w *world, s scope) {
		c, err := w.a.passbook.Approve(w.ctx, w.sys, w.claim(s).ID, "")
		w.must(err)
		w.set(s, "pubclaim", c.ID)
	},
	"order": func(w *world, s scope) { w.order(s) },
	"item": func(w *world, s scope) {
		w.item(s)
		w.shared("item")
	},
	"activity": func(w *world, s scope) {
		w.activity(s)
		w.shared("activity", "qrtoken")
	},
	"token": func(w *world, s scope) { w.token(s) },
	"apitem": func(w *world, s scope) {
		w.apitem(s)
		if s == scopeOwn {
			w.shared("apitem")
		}
	},
	"grant": func(w *world, s scope) {
		w.must(w.a.auth.AddGrant(w.ctx, w.sys, w.fx[s].id("user"), auth.GrantInput{Role: auth.RoleReviewer, OrgID: w.orgs[s].ID}))
	},
}

// renew replaces the record key of scope s, and the neighbour's too where they share it.
func (w *world) renew(key string, s scope) {
	w.t.Helper()
	fn, ok := renewers[key]
	if !ok {
		w.t.Fatalf("no renewer for %q", key)
	}
	if s == scopeNone || s == scopeNeighbour && w.sharedKeys[key] {
		s = scopeOwn
	}
	fn(w, s)
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) set(s scope, key string, id int64) { w.fx[s][key] = strconv.FormatInt(id, 10) }

// marker is a text only one scope's records carry; name says it is a person's name, which the
// 公示 board shows the whole community.
type marker struct {
	text string
	name bool
}

// mark records a text only scope s shows.
func (w *world) mark(s scope, text string) { w.markers[s] = append(w.markers[s], marker{text: text}) }

// markName records a person's name only scope s shows.
func (w *world) markName(s scope, name string) {
	w.markers[s] = append(w.markers[s], marker{text: name, name: true})
}

// shared copies keys of the own scope into the neighbour's: records of the community, not of a
// person (its catalog, its store, its accounts).
func (w *world) shared(keys ...string) {
	for _, k := range keys {
		w.fx[scopeNeighbour][k] = w.fx[scopeOwn][k]
		w.sharedKeys[k] = true
	}
}

var scopeNames = map[scope]string{scopeOwn: "本人", scopeNeighbour: "邻居", scopeSibling: "南门", scopeParent: "镇上"}

// idNumber is a valid 身份证号 of someone born in 1958 in 元阳县, distinct for each n.
func idNumber(n int) string {
	body := fmt.Sprintf("532528195801%02d%03d", 1+n/50, 100+2*(n%50)+1)
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * weights[i]
	}
	return body + string("10X98765432"[sum%11])
}

func (w *world) person(o org.Org, name string) org.Person {
	w.t.Helper()
	w.seq++
	p, err := w.a.org.CreatePerson(w.ctx, w.sys, org.PersonInput{OrgID: o.ID, Name: name, IDNumber: idNumber(w.seq),
		PoliticalStatus: "中共党员", PartyJoinedOn: "1985-07-01", Categories: []string{"离退休"}})
	w.must(err)
	return p
}

// buildOrgs puts a childless organisation in each scope, for the routes that archive and
// move one.
func buildOrgs(w *world) {
	for _, s := range []scope{scopeOwn, scopeSibling, scopeParent} {
		w.suborg(s)
		if s != scopeOwn {
			w.mark(s, w.fx[s]["suborgname"])
		}
	}
}

func (w *world) suborg(s scope) {
	w.seq++
	name := fmt.Sprintf("矩阵小组%s%d", scopeNames[s], w.seq)
	o, err := w.a.org.CreateOrg(w.ctx, w.sys, org.OrgInput{ParentID: w.orgs[s].ID, Name: name, Kind: org.KindDepartment})
	w.must(err)
	w.set(s, "suborg", o.ID)
	w.fx[s]["suborgname"] = name
	if s == scopeOwn {
		w.shared("suborg", "suborgname")
	}
}

// spare is a person of scope s whom a route may archive or open a passbook for.
func (w *world) spare(s scope) {
	w.set(s, "spare", w.person(w.orgs[s], "矩阵备用"+scopeNames[s]).ID)
}

// buildPeople puts a person with a post in each scope.
func buildPeople(w *world) {
	for _, s := range recordScopes {
		name := "矩阵" + scopeNames[s]
		p := w.person(w.orgs[s], name)
		m, err := w.a.org.AddMembership(w.ctx, w.sys, org.MembershipInput{PersonID: p.ID, OrgID: w.orgs[s].ID, Position: "组织委员", StartedOn: "2020-01-01"})
		w.must(err)
		w.set(s, "person", p.ID)
		w.set(s, "membership", m.ID)
		w.spare(s)
		if s != scopeOwn {
			w.markName(s, name)
			w.markName(s, "矩阵备用"+scopeNames[s])
		}
	}
}

// buildPassbook gives each scope's person a passbook with a posted earning, a claim waiting for
// review (with a photo), a claim in 公示 and a placed order; each organisation an item, a
// reward and an activity of its own.
func buildPassbook(w *world) {
	ctx, pb, sys := w.ctx, w.a.passbook, w.sys
	town := w.orgs[scopeParent].ID
	settings := passbook.DefaultSettings
	settings.PublicityDays = 0 // the first approvals post at once
	_, err := pb.SetSettings(ctx, sys, town, settings)
	w.must(err)
	for _, s := range []scope{scopeOwn, scopeSibling, scopeParent} {
		w.item(s)
		name := "矩阵奖品" + scopeNames[s]
		rw, err := pb.CreateReward(ctx, sys, passbook.RewardInput{OrgID: w.orgs[s].ID, Name: name, PriceFen: 100, Stock: 500, Photo: tinyPNG()})
		w.must(err)
		w.set(s, "reward", rw.ID)
		w.fx[s]["rewardname"] = name
		w.activity(s)
	}
	w.shared("item", "reward", "rewardname", "activity", "qrtoken")
	for i, s := range recordScopes {
		number := fmt.Sprintf("JZ-%d-%04d", i, 7000+i)
		b, err := pb.OpenPassbook(ctx, sys, passbook.OpenInput{PersonID: w.fx[s].id("person"), OrgID: w.orgs[s].ID, Number: number, Class: "离退休党员"})
		w.must(err)
		w.set(s, "passbook", b.ID)
		w.fx[s]["number"] = number
		if s != scopeOwn {
			w.mark(s, number)
		}
		c, err := pb.Approve(ctx, sys, w.claim(s).ID, "")
		w.must(err)
		if c.TxID == 0 {
			w.t.Fatalf("%s: the first claim did not post: %s %s", s, c.State, c.Reason)
		}
		w.set(s, "tx", c.TxID)
		w.order(s)
	}
	settings.PublicityDays = 5
	_, err = pb.SetSettings(ctx, sys, town, settings)
	w.must(err)
	for _, s := range recordScopes {
		renewers["pubclaim"](w, s)
		renewers["claim"](w, s)
	}
}

// item adds a catalog item to the organisation of scope s.
func (w *world) item(s scope) {
	w.seq++
	it, err := w.a.passbook.CreateItem(w.ctx, w.sys, passbook.ItemInput{OrgID: w.orgs[s].ID, Code: fmt.Sprintf("JZ%02d", w.seq),
		ItemTerms: passbook.ItemTerms{Name: "矩阵事项" + scopeNames[s], Category: "志愿服务", Points: 50, Unit: "occasion", MaxPerClaim: 1}})
	w.must(err)
	w.set(s, "item", it.ID)
}

// activity publishes an activity of the organisation of scope s starting in half an hour, so
// that its check-in code {qrtoken} is already valid.
func (w *world) activity(s scope) {
	start := time.Now().Add(30 * time.Minute).Truncate(time.Minute)
	a, err := w.a.passbook.CreateActivity(w.ctx, w.sys, passbook.ActivityInput{OrgID: w.orgs[s].ID, ActivityTerms: passbook.ActivityTerms{
		Title: "矩阵活动" + scopeNames[s], Place: "活动室", Capacity: 30, ItemID: w.fx[s].id("item"), StartsAt: start, EndsAt: start.Add(2 * time.Hour)}})
	w.must(err)
	w.set(s, "activity", a.ID)
	code, err := w.a.passbook.QRToken(w.ctx, w.sys, a.ID, passbook.ScanIn)
	w.must(err)
	w.fx[s]["qrtoken"] = code.Token
}

// claim files a claim with a photo on the passbook of scope s.
func (w *world) claim(s scope) passbook.Claim {
	w.t.Helper()
	c, _, err := w.a.passbook.SubmitClaim(w.ctx, w.sys, passbook.ClaimInput{PassbookID: w.fx[s].id("passbook"), ItemID: w.fx[s].id("item"), Quantity: 1},
		[]passbook.Photo{{Data: tinyPNG()}}, "")
	w.must(err)
	return c
}

// order places an order on the passbook of scope s, with its pickup code as {code}.
func (w *world) order(s scope) {
	o, err := w.a.passbook.PlaceOrder(w.ctx, w.sys, "", passbook.OrderInput{PassbookID: w.fx[s].id("passbook"), RewardID: w.fx[s].id("reward"), Quantity: 1})
	w.must(err)
	w.set(s, "order", o.ID)
	w.fx[s]["code"] = o.PickupCode
}

// buildAccounts gives each organisation an account (a reviewer there) with an API token, the
// records of the account routes.
func buildAccounts(w *world) {
	for _, s := range []scope{scopeOwn, scopeSibling, scopeParent} {
		name := "jz_" + string(s)
		u, _, err := w.a.auth.CreateUser(w.ctx, w.sys, auth.NewUser{Username: name, DisplayName: "矩阵账号" + scopeNames[s],
			Password: matrixPassword, Grants: []auth.GrantInput{{Role: auth.RoleReviewer, OrgID: w.orgs[s].ID}}})
		w.must(err)
		w.set(s, "user", u.ID)
		w.token(s)
		if s != scopeOwn {
			w.mark(s, name)
		}
	}
	w.shared("user")
}

// token gives the account of scope s a new API token.
func (w *world) token(s scope) {
	_, tok, err := w.a.auth.CreateTokenForUser(w.ctx, w.sys, "jz_"+string(s), "矩阵令牌")
	w.must(err)
	w.set(s, "token", tok.ID)
	if s == scopeOwn {
		w.shared("token")
	}
}

// accounts opens an account for every built-in role, all on the own community: a self-only
// role (the member) for the own scope's person, staff each for a person of their own.
func (w *world) accounts() {
	for i, role := range auth.Roles() {
		personID := w.fx[scopeOwn].id("person")
		if !role.SelfOnly {
			personID = w.person(w.orgs[scopeOwn], "矩阵职员"+string([]rune("甲乙丙丁戊己庚辛壬癸")[i])).ID
		}
		name := "jz_" + string(role.Key)
		_, _, err := w.a.auth.CreateUser(w.ctx, w.sys, auth.NewUser{Username: name, DisplayName: name, PersonID: personID,
			Password: matrixPassword, Grants: []auth.GrantInput{{Role: role.Key, OrgID: w.orgs[scopeOwn].ID}}})
		w.must(err)
		w.sessions[role.Key] = w.login(name)
	}
	secret, tok, err := w.a.auth.CreateTokenForUser(w.ctx, w.sys, "jz_"+string(auth.RoleUnitAdmin), "吊销的令牌")
	w.must(err)
	w.must(w.a.auth.RevokeToken(w.ctx, w.sys, tok.ID))
	w.revoked = secret
}

func (w *world) login(username string) string {
	w.t.Helper()
	s, err := w.a.auth.Login(w.ctx, username, matrixPassword, "192.0.2.1", "matrix")
	w.must(err)
	return s.Token
}

// idleSession is a session of username last used longer ago than the idle timeout.
func (w *world) idleSession(username string) string {
	w.offset.Store(int64(-auth.IdleTimeout - time.Minute))
	defer w.offset.Store(0)
	return w.login(username)
}

// auditLength is the length of the audit chain: a refused write must leave it as it was.
func (w *world) auditLength() int {
	var n int
	w.must(w.a.db.QueryRow(w.ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n))
	return n
}

func tinyPNG() []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2)))
	return buf.Bytes()
}
