package main

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"grassroots/appraisal"
	"grassroots/auth"
	"grassroots/passbook"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/web"
)

// TestAuthorisationMatrix sends every page and JSON route, as each built-in role granted on one
// community (元城镇社区), at a record of each scope: the caller's own (for a member: their own
// record; for staff: one of their community), a neighbour's (another member of the same
// community), the sibling community's (南门社区) and the parent township's (元城镇); and once
// more with no session, with a session gone idle and with a revoked API token. The answer
// expected for each case follows from the route's entry in authzRoutes: what permission it
// needs and which kind of record it acts on. Refused writes must leave the audit chain as it
// was, and no answer to an account of the own community may show a record of the sibling
// community or of the township (nor, to a member, another member's).
func TestAuthorisationMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		start := time.Now()
		w := newWorld(t, db)
		t.Logf("world built in %v", time.Since(start).Round(time.Millisecond))
		if !checkRouteTable(t, w.routes) {
			return
		}
		start = time.Now()
		routes, public, cases := 0, 0, 0
		only := os.Getenv("GRASSROOTS_AUTHZ_ROUTE") // e.g. "/passbook/orders": run just those routes
		for _, r := range w.routes {
			e := authzRoutes[r.method+" "+r.path]
			if e.public {
				public++
			}
			if e.public || !strings.Contains(r.method+" "+r.path, only) {
				continue
			}
			routes++
			cases += w.runRoute(t, r, e)
		}
		t.Logf("%d cases over %d routes (%d public routes need no session) in %v", cases, routes,
			public, time.Since(start).Round(time.Millisecond))
		t.Logf("%d cases of the public appraisal rating links", w.checkRateLinks(t))
	}, migrations...)
}

// target is the kind of record a route acts on: named by {id} in its path, by org_id in its
// query, or by an id in its body.
type target string

const (
	onNone       target = ""
	onOrg        target = "suborg"     // an organisation, as the tree shows it (org.view)
	onPlace      target = "org"        // an organisation the route works in, with its own permission
	onCommunity  target = "community"  // a community: staff in it, members of it through their passbook
	onPerson     target = "person"     // a person
	onSpare      target = "spare"      // a person the route may archive or open a passbook for
	onUser       target = "user"       // an account (users.manage)
	onToken      target = "token"      // an API token of such an account
	onPassbook   target = "passbook"   // a passbook
	onTx         target = "tx"         // a posted transaction of a passbook
	onClaim      target = "claim"      // a claim waiting for review
	onPubClaim   target = "pubclaim"   // a claim in 公示, which the whole community may see and object to
	onOrder      target = "order"      // a placed order
	onItem       target = "item"       // a catalog item
	onReward     target = "reward"     // a reward of the points store
	onActivity   target = "activity"   // an activity
	onMembership target = "membership" // a post a person holds
	onCycle      target = "cycle"      // an appraisal cycle: a unit's quarter
	onApItem     target = "apitem"     // an item of an organisation's appraisal lists (负面清单)
	onApEntry    target = "apentry"    // a confirmed appraisal list entry on a person
	onTask       target = "task"       // a person's target task in a cycle
	onRect       target = "aprect"     // a rectification order (督促整改) to an organisation
)

// reach says who sees a record of a kind, seen from an account granted on the own community.
type reach struct {
	view      auth.Permission // the permission it is seen with ("" for onPlace: the route's own)
	personal  bool            // a member sees their own; staff their community's
	community bool            // a member sees every one of their community (公示)
	members   bool            // a member sees their community's (and, if inherited, those above)
	inherited bool            // seen, not changed, below the organisation that made it
}

var reaches = map[target]reach{
	onOrg:        {view: auth.OrgView},
	onPlace:      {},
	onCommunity:  {view: passbook.PermView, members: true},
	onPerson:     {view: auth.PeopleView, personal: true},
	onSpare:      {view: auth.PeopleView, personal: true},
	onMembership: {view: auth.PeopleView, personal: true},
	onUser:       {view: auth.UsersManage},
	onToken:      {view: auth.UsersManage},
	onPassbook:   {view: passbook.PermView, personal: true},
	onTx:         {view: passbook.PermView, personal: true},
	onClaim:      {view: passbook.PermView, personal: true},
	onPubClaim:   {view: passbook.PermView, personal: true, community: true},
	onOrder:      {view: passbook.PermView, personal: true},
	onItem:       {view: passbook.PermView, members: true, inherited: true},
	onReward:     {view: passbook.PermView, members: true, inherited: true},
	onActivity:   {view: passbook.PermView, members: true, inherited: true},
	onCycle:      {view: appraisal.PermView},
	onApItem:     {view: appraisal.PermView, inherited: true}, // the lists above a unit apply in it
	onApEntry:    {view: appraisal.PermView},
	onTask:       {view: appraisal.PermSelf, personal: true}, // a person reports on their own
	onRect:       {view: appraisal.PermView},
}

// entry is what a route needs. Placeholders {key} in the query and body take the values of the
// case's scope (fixtures in authz_world_test.go: org, orgcode, suborg, person, spare, passbook,
// tx, claim, pubclaim, order, code, item, reward, activity, qrtoken, user, token …); {id} in
// the path takes the value of the route's target.
type entry struct {
	public bool            // needs no session; outside the matrix
	perm   auth.Permission // as registered; "" = any signed-in account
	on     target          // the record it acts on; onNone: only the caller's own scope
	query  string          // query string
	body   string          // JSON for the API, form fields for pages
	// ok is the answer to an allowed request. 0 means 200 for a GET and, for a write, any
	// answer past the gate: not 401, 403 or 404, and not a server error (a write's answer
	// may depend on what an earlier case did, such as 201 and then 409 for a duplicate).
	ok int
	// deny is the answer when the record is out of reach: 0 means 404, so that ids cannot be
	// probed. Routes that take the record from the body may answer 400, as for a missing one.
	deny int
	// staffRefused: only a member may do this to their own record (withdraw their claim, sign
	// up for an activity); staff who see the record are refused with 403.
	staffRefused bool
	// membersRefused: members hold the permission but the route is for staff only (403).
	membersRefused bool
	// except overrides the derived answer for "role/scope" cases, each with its reason.
	except map[string]int
	// spends names the fixture an allowed request uses up (a claim approved, an order
	// cancelled); a new one takes its place after each allowed case.
	spends string
	// public within the community: members see other members' names here by design (公示).
	shows bool
	// fresh: the request ends its session (logout); each case signs in anew.
	fresh bool
	// seenWith is the permission the record is seen with on this route, where it is not the
	// kind's (a passbook's shelf in the store is for those who may redeem for it).
	seenWith auth.Permission
	// manage: a GET of a form that changes the record, refused (403) where it is only seen.
	manage bool
	// pathID is the fixture {id} takes where it is not the target's: the person of
	// /people/{id}/memberships/{mid}, the passbook a transaction is reversed from.
	pathID string
	// upload names the file field of a multipart form, which is sent with a small PNG.
	upload string
}

// ownCycle: a member reaches their community's cycle as one of its appraisees.
func ownCycle(status int) map[string]int { return map[string]int{"member/own": status} }

// joinAbove: members join activities of the organisations above their community too.
var joinAbove = map[string]int{"member/parent": pass}

// authzRoutes is every route of the server, by its pattern. A route added without an entry
// fails TestAuthorisationMatrix, which prints the line to add; an entry without a route, or
// with another permission than the route is registered with, fails it too.
//
// Most entries say only the permission and the kind of record: the answers follow from them
// (see expect). A room with a new kind of record (appraisal's cycles, say) adds a target
// constant and a reaches entry above, a fixtureBuilders function putting a record of the kind in
// each scope (authz_world_test.go), and its routes here.
//
// Each route is sent one body in every case. Where the route checks authorisation before the
// body's values, the body stops right after the gate (an invalid value, a wrong pickup code),
// so that allowed cases write nothing; elsewhere it is a body that would succeed, so that the
// refusals prove they wrote nothing, and the record it uses up is renewed (spends).
var authzRoutes = map[string]entry{
	// Platform and sign-in: no session needed.
	"GET /healthz":                 {public: true},
	"GET /readyz":                  {public: true},
	"GET /metrics":                 {public: true},
	"GET /static/{hash}/{name...}": {public: true},
	"GET /api/v1/openapi.json":     {public: true},
	"GET /login":                   {public: true},
	"POST /login":                  {public: true},
	"POST /api/v1/login":           {public: true},

	// The shell: any signed-in account, for itself.
	"GET /{$}":                   {},
	"POST /logout":               {fresh: true, ok: http.StatusSeeOther},
	"POST /api/v1/logout":        {fresh: true, ok: http.StatusNoContent},
	"GET /password":              {},
	"POST /password":             {body: "old_password=wrong-Password1&new_password=Another#2026&confirm_password=Another#2026", ok: http.StatusBadRequest},
	"POST /api/v1/password":      {body: `{"old_password":"wrong-Password1","new_password":"Another#2026"}`, ok: http.StatusBadRequest},
	"GET /api/v1/me":             {},
	"GET /api/v1/stats":          {perm: auth.PeopleView, on: onPlace, query: "org_id={org}"},
	"GET /tokens":                {},
	"POST /tokens":               {body: "name=", ok: http.StatusBadRequest},
	"POST /tokens/{id}/revoke":   {on: onToken, ok: http.StatusSeeOther, spends: "token"},
	"GET /api/v1/tokens":         {},
	"POST /api/v1/tokens":        {body: `{"name":""}`, ok: http.StatusBadRequest},
	"DELETE /api/v1/tokens/{id}": {on: onToken, ok: http.StatusNoContent, spends: "token"},

	// The organisation tree. {suborg} is a childless organisation in each scope.
	"GET /orgs":                      {perm: auth.OrgView},
	"GET /orgs/{id}":                 {perm: auth.OrgView, on: onOrg},
	"GET /orgs/{id}/children":        {perm: auth.OrgView, on: onOrg},
	"POST /orgs":                     {perm: auth.OrgManage, on: onPlace, body: "parent_id={org}&name=矩阵新建组织&kind=department"},
	"POST /orgs/{id}":                {perm: auth.OrgManage, on: onOrg, body: "name={suborgname}&kind=department", ok: http.StatusSeeOther},
	"POST /orgs/{id}/move":           {perm: auth.OrgManage, on: onOrg, body: "new_parent=", ok: http.StatusBadRequest},
	"POST /orgs/{id}/archive":        {perm: auth.OrgManage, on: onOrg, ok: http.StatusSeeOther, spends: "suborg"},
	"POST /orgs/{id}/restore":        {perm: auth.OrgManage, on: onOrg, ok: http.StatusConflict}, // the suborg is live
	"GET /api/v1/orgs":               {perm: auth.OrgView, on: onOrg, query: "parent_id={suborg}"},
	"POST /api/v1/orgs":              {perm: auth.OrgManage, on: onPlace, body: `{"parent_id":{org},"name":"矩阵新建组织","kind":"department"}`, deny: http.StatusBadRequest}, // an organisation named in the body out of reach is a field error, as a missing one
	"GET /api/v1/orgs/{id}":          {perm: auth.OrgView, on: onOrg},
	"PATCH /api/v1/orgs/{id}":        {perm: auth.OrgManage, on: onOrg, body: `{"name":"{suborgname}","kind":"department"}`, ok: http.StatusOK},
	"POST /api/v1/orgs/{id}/move":    {perm: auth.OrgManage, on: onOrg, body: `{"parent_id":{suborg}}`, ok: http.StatusBadRequest},
	"POST /api/v1/orgs/{id}/archive": {perm: auth.OrgManage, on: onOrg, ok: http.StatusOK, spends: "suborg"},
	"POST /api/v1/orgs/{id}/restore": {perm: auth.OrgManage, on: onOrg, ok: http.StatusConflict}, // the suborg is live
	"GET /api/v1/orgs/{id}/history":  {perm: auth.OrgView, on: onOrg},

	// People.
	"GET /people":                                    {perm: auth.PeopleView},
	"GET /people/new":                                {perm: auth.PeopleManage},
	"POST /people":                                   {perm: auth.PeopleManage, on: onPlace, body: "org_id={org}&name=矩阵新人&id_number={newid}&political_status=群众", deny: http.StatusBadRequest}, // an organisation named in the body out of reach is a field error, as a missing one
	"GET /people/{id}":                               {perm: auth.PeopleView, on: onPerson},
	"POST /people/{id}":                              {perm: auth.PeopleManage, on: onPerson, body: "name=", ok: http.StatusBadRequest},
	"POST /people/{id}/archive":                      {perm: auth.PeopleManage, on: onSpare, ok: http.StatusSeeOther, spends: "spare"},
	"POST /people/{id}/memberships":                  {perm: auth.PeopleManage, on: onPerson, body: "membership_org=&position=宣传委员", ok: http.StatusBadRequest},
	"POST /people/{id}/memberships/{mid}/end":        {perm: auth.PeopleManage, on: onMembership, pathID: "person", body: "ended_on=bogus", ok: http.StatusBadRequest},
	"GET /api/v1/people":                             {perm: auth.PeopleView, on: onPlace, query: "org_id={org}"},
	"POST /api/v1/people":                            {perm: auth.PeopleManage, on: onPlace, body: `{"org_id":{org},"name":"矩阵新人","id_number":"{newid}","political_status":"群众"}`, deny: http.StatusBadRequest}, // an organisation named in the body out of reach is a field error, as a missing one
	"GET /api/v1/people/{id}":                        {perm: auth.PeopleView, on: onPerson},
	"PATCH /api/v1/people/{id}":                      {perm: auth.PeopleManage, on: onPerson, body: `{}`, ok: http.StatusBadRequest},
	"POST /api/v1/people/{id}/archive":               {perm: auth.PeopleManage, on: onSpare, ok: http.StatusOK, spends: "spare"},
	"POST /api/v1/people/{id}/memberships":           {perm: auth.PeopleManage, on: onPerson, body: `{"org_id":{org},"position":"宣传委员"}`},
	"POST /api/v1/people/{id}/memberships/{mid}/end": {perm: auth.PeopleManage, on: onMembership, pathID: "person", body: `{"ended_on":"bogus"}`, ok: http.StatusBadRequest},
	"GET /people/import":                             {perm: auth.PeopleImport},
	"GET /people/import/template.xlsx":               {perm: auth.PeopleImport},
	"POST /people/import":                            {perm: auth.PeopleImport, ok: http.StatusBadRequest},
	"GET /people/import/report/{file}":               {perm: auth.PeopleImport, ok: http.StatusNotFound}, // no report of the caller's
	"GET /people/export.xlsx":                        {perm: auth.PeopleExport},
	"POST /api/v1/people/import":                     {perm: auth.PeopleImport, ok: http.StatusBadRequest},
	"GET /api/v1/people/export":                      {perm: auth.PeopleExport, on: onPlace, query: "org_id={org}"},
	"GET /api/v1/people/template":                    {perm: auth.PeopleImport},

	// Accounts. {user} is a reviewer of each scope's organisation, {token} an API token of theirs.
	"GET /users":                             {perm: auth.UsersManage},
	"GET /users/new":                         {perm: auth.UsersManage},
	"POST /users":                            {perm: auth.UsersManage, on: onPlace, body: "username=jz_new_page&display_name=x&password=Yuanyang#2026&role=reviewer&org={orgcode}", deny: http.StatusBadRequest}, // an organisation named in the body out of reach is a field error, as a missing one
	"GET /users/{id}":                        {perm: auth.UsersManage, on: onUser},
	"POST /users/{id}/grants":                {perm: auth.UsersManage, on: onUser, body: "role=reviewer&org={orgcode}", ok: http.StatusConflict},
	"POST /users/{id}/grants/remove":         {perm: auth.UsersManage, on: onUser, body: "role=reviewer&org_id={org}", ok: http.StatusSeeOther, spends: "grant"},
	"POST /users/{id}/password-reset":        {perm: auth.UsersManage, on: onUser},
	"POST /users/{id}/disable":               {perm: auth.UsersManage, on: onUser, ok: http.StatusSeeOther},
	"POST /users/{id}/enable":                {perm: auth.UsersManage, on: onUser, ok: http.StatusSeeOther},
	"POST /users/{id}/unlock":                {perm: auth.UsersManage, on: onUser, ok: http.StatusSeeOther},
	"GET /roles":                             {perm: auth.UsersManage},
	"GET /api/v1/users":                      {perm: auth.UsersManage},
	"POST /api/v1/users":                     {perm: auth.UsersManage, on: onPlace, body: `{"username":"jz_new_api","display_name":"矩阵新账号","password":"Yuanyang#2026","grants":[{"role":"reviewer","org_id":{org}}]}`},
	"GET /api/v1/users/{id}":                 {perm: auth.UsersManage, on: onUser},
	"POST /api/v1/users/{id}/grants":         {perm: auth.UsersManage, on: onUser, body: `{"role":"reviewer","org_id":{org}}`, ok: http.StatusConflict},
	"DELETE /api/v1/users/{id}/grants":       {perm: auth.UsersManage, on: onUser, body: `{"role":"reviewer","org_id":{org}}`, ok: http.StatusNoContent, spends: "grant"},
	"POST /api/v1/users/{id}/password-reset": {perm: auth.UsersManage, on: onUser},
	"POST /api/v1/users/{id}/disable":        {perm: auth.UsersManage, on: onUser},
	"POST /api/v1/users/{id}/enable":         {perm: auth.UsersManage, on: onUser},
	"POST /api/v1/users/{id}/unlock":         {perm: auth.UsersManage, on: onUser},
	"GET /api/v1/roles":                      {perm: auth.UsersManage},

	// The audit log.
	"GET /audit":         {perm: auth.AuditView},
	"POST /audit/verify": {perm: auth.AuditView},
	"GET /api/v1/audit":  {perm: auth.AuditView},

	// Red Passbook: passbooks, settings, corrections.
	"GET /passbook":                                   {perm: passbook.PermView, except: map[string]int{"member/-": http.StatusSeeOther}}, // members go to their own
	"GET /passbook/me":                                {perm: passbook.PermView},
	"GET /passbook/passbooks/{id}":                    {perm: passbook.PermView, on: onPassbook},
	"GET /passbook/open":                              {perm: passbook.PermManage},
	"POST /passbook/passbooks":                        {perm: passbook.PermManage, on: onSpare, body: "person_id={spare}&class=离退休党员&org={owncode}", deny: http.StatusBadRequest}, // a person out of reach is a field error, as a missing one; opened in the own community
	"POST /passbook/passbooks/{id}/state":             {perm: passbook.PermManage, on: onPassbook, body: "state=active", ok: http.StatusSeeOther},
	"GET /passbook/settings":                          {perm: passbook.PermManage, on: onPlace, query: "org_id={org}"},
	"POST /passbook/settings":                         {perm: passbook.PermManage, on: onPlace, body: "org_id={org}&fen_per_point=100&publicity_days=5&deposit_expiry=none&rankings_public=1", ok: http.StatusSeeOther},
	"POST /passbook/passbooks/{id}/reverse":           {perm: passbook.PermCorrect, on: onTx, pathID: "passbook", body: "tx={tx}&reason=矩阵冲正"}, // 409 when allowed: the deposit it earned is partly spent
	"GET /api/v1/passbook/passbooks":                  {perm: passbook.PermView, on: onPlace, query: "org_id={org}"},
	"POST /api/v1/passbook/passbooks":                 {perm: passbook.PermManage, on: onSpare, body: `{"person_id":{spare},"org_id":{ownorg},"class":"离退休党员"}`, deny: http.StatusBadRequest}, // a person out of reach is a field error, as a missing one; opened in the own community
	"GET /api/v1/passbook/passbooks/{id}":             {perm: passbook.PermView, on: onPassbook},
	"POST /api/v1/passbook/passbooks/{id}/state":      {perm: passbook.PermManage, on: onPassbook, body: `{"state":"active"}`, ok: http.StatusOK},
	"GET /api/v1/passbook/passbooks/{id}/entries":     {perm: passbook.PermView, on: onPassbook},
	"GET /api/v1/passbook/settings":                   {perm: passbook.PermView, on: onPlace, query: "org_id={org}"},
	"PUT /api/v1/passbook/settings":                   {perm: passbook.PermManage, on: onPlace, query: "org_id={org}", body: `{"fen_per_point":100,"publicity_days":5,"deposit_expiry":"none","rankings_public":true}`, ok: http.StatusOK},
	"POST /api/v1/passbook/transactions/{id}/reverse": {perm: passbook.PermCorrect, on: onTx, body: `{"reason":"矩阵冲正"}`}, // 409 when allowed: the deposit it earned is partly spent

	// Catalog and claims.
	"GET /passbook/items":                        {perm: passbook.PermView, except: map[string]int{"member/-": http.StatusSeeOther}}, // members go to the claim form
	"GET /passbook/items/new":                    {perm: passbook.PermManage},
	"POST /passbook/items":                       {perm: passbook.PermManage, on: onPlace, body: "org_id={org}&code=JZ99&name=矩阵新事项&category=志愿服务&points=1&unit=occasion&max_per_claim=1"},
	"GET /passbook/items/{id}":                   {perm: passbook.PermView, on: onItem},
	"POST /passbook/items/{id}":                  {perm: passbook.PermManage, on: onItem, body: "name=&points=1", ok: http.StatusBadRequest},
	"POST /passbook/items/{id}/archive":          {perm: passbook.PermManage, on: onItem, ok: http.StatusSeeOther, spends: "item"},
	"GET /passbook/claims":                       {perm: passbook.PermView},
	"GET /passbook/claims/new":                   {perm: passbook.PermClaim, on: onPassbook, query: "passbook_id={passbook}"},
	"POST /passbook/claims":                      {perm: passbook.PermClaim, on: onPassbook, body: "passbook_id={passbook}&item_id={item}&quantity=1"},
	"GET /passbook/claims/{id}":                  {perm: passbook.PermView, on: onClaim},
	"GET /passbook/claims/{id}/evidence/{photo}": {perm: passbook.PermView, on: onClaim},
	"POST /passbook/claims/{id}/approve":         {perm: passbook.PermReview, on: onClaim, ok: http.StatusSeeOther, spends: "claim"},
	"POST /passbook/claims/{id}/reject":          {perm: passbook.PermReview, on: onClaim, body: "reason=矩阵退回", ok: http.StatusSeeOther, spends: "claim"},
	"POST /passbook/claims/{id}/object":          {perm: passbook.PermObject, on: onPubClaim, body: "reason=矩阵异议", ok: http.StatusSeeOther, spends: "pubclaim", shows: true}, // members object to any claim on their board
	"POST /passbook/claims/{id}/cancel":          {perm: passbook.PermClaim, on: onClaim, staffRefused: true, ok: http.StatusSeeOther, spends: "claim"},                      // only the claimant withdraws
	"GET /passbook/review":                       {perm: passbook.PermReview},
	"GET /passbook/publicity":                    {perm: passbook.PermView, shows: true},           // 公示 names the community's members
	"GET /passbook/batch":                        {perm: passbook.PermClaim, membersRefused: true}, // batches are entered by staff
	"GET /passbook/batch/template":               {perm: passbook.PermClaim, membersRefused: true},
	"POST /passbook/batch":                       {perm: passbook.PermClaim, membersRefused: true, ok: http.StatusBadRequest},
	"GET /api/v1/passbook/items":                 {perm: passbook.PermView, on: onPlace, query: "org_id={org}"},
	"POST /api/v1/passbook/items":                {perm: passbook.PermManage, on: onPlace, body: `{"org_id":{org},"code":"JZ98","name":"矩阵新事项","category":"志愿服务","points":1,"unit":"occasion","max_per_claim":1}`},
	"GET /api/v1/passbook/items/{id}":            {perm: passbook.PermView, on: onItem},
	"PUT /api/v1/passbook/items/{id}":            {perm: passbook.PermManage, on: onItem, body: `{}`, ok: http.StatusBadRequest},
	"POST /api/v1/passbook/items/{id}/archive":   {perm: passbook.PermManage, on: onItem, ok: http.StatusOK, spends: "item"},
	"GET /api/v1/passbook/claims":                {perm: passbook.PermView, on: onPassbook, query: "passbook_id={passbook}"},
	"POST /api/v1/passbook/claims":               {perm: passbook.PermClaim, on: onPassbook, body: `{"passbook_id":{passbook},"item_id":{item},"quantity":1}`, ok: http.StatusCreated},
	"POST /api/v1/passbook/claims/batch":         {perm: passbook.PermClaim, membersRefused: true, ok: http.StatusBadRequest},
	"GET /api/v1/passbook/claims/{id}":           {perm: passbook.PermView, on: onClaim},
	"POST /api/v1/passbook/claims/{id}/approve":  {perm: passbook.PermReview, on: onClaim, ok: http.StatusOK, spends: "claim"},
	"POST /api/v1/passbook/claims/{id}/reject":   {perm: passbook.PermReview, on: onClaim, body: `{"reason":"矩阵退回"}`, ok: http.StatusOK, spends: "claim"},
	"POST /api/v1/passbook/claims/{id}/object":   {perm: passbook.PermObject, on: onPubClaim, body: `{"reason":"矩阵异议"}`, ok: http.StatusOK, spends: "pubclaim", shows: true}, // members object to any claim on their board
	"POST /api/v1/passbook/claims/{id}/cancel":   {perm: passbook.PermClaim, on: onClaim, staffRefused: true, ok: http.StatusOK, spends: "claim"},                            // only the claimant withdraws
	"GET /api/v1/passbook/publicity":             {perm: passbook.PermView, on: onCommunity, query: "org_id={org}", shows: true},                                             // 公示 names the community's members

	// The points store.
	"GET /passbook/store":                      {perm: passbook.PermView, on: onPassbook, seenWith: passbook.PermRedeem, query: "passbook_id={passbook}"}, // a shelf is for those who may redeem for the passbook
	"GET /passbook/store/confirm":              {perm: passbook.PermRedeem, on: onPassbook, query: "passbook_id={passbook}&reward_id={reward}&quantity=1"},
	"POST /passbook/orders":                    {perm: passbook.PermRedeem, on: onPassbook, body: "passbook_id={passbook}&reward_id={reward}&quantity=1", ok: http.StatusSeeOther},
	"GET /passbook/orders":                     {perm: passbook.PermView},
	"GET /passbook/orders/{id}":                {perm: passbook.PermView, on: onOrder},
	"POST /passbook/orders/{id}/fulfil":        {perm: passbook.PermFulfil, on: onOrder, body: "code=000000", ok: http.StatusBadRequest},
	"POST /passbook/orders/{id}/cancel":        {perm: passbook.PermView, on: onOrder, ok: http.StatusSeeOther, spends: "order"},
	"GET /passbook/pickup":                     {perm: passbook.PermFulfil},
	"POST /passbook/pickup":                    {perm: passbook.PermFulfil, on: onOrder, body: "code={code}", ok: http.StatusOK, spends: "order"},
	"GET /passbook/rewards":                    {perm: passbook.PermManage},
	"GET /passbook/rewards/new":                {perm: passbook.PermManage},
	"POST /passbook/rewards":                   {perm: passbook.PermManage, on: onPlace, body: "name=矩阵新奖品&price=1&stock=1&org={orgcode}", upload: "photo", ok: http.StatusSeeOther, deny: http.StatusBadRequest}, // an organisation named in the body out of reach is a field error, as a missing one
	"GET /passbook/rewards/{id}":               {perm: passbook.PermManage, on: onReward, manage: true},
	"POST /passbook/rewards/{id}":              {perm: passbook.PermManage, on: onReward, body: "name={rewardname}&price=1", ok: http.StatusSeeOther},
	"POST /passbook/rewards/{id}/photo":        {perm: passbook.PermManage, on: onReward, upload: "photo", ok: http.StatusSeeOther},
	"POST /passbook/rewards/{id}/stock":        {perm: passbook.PermManage, on: onReward, body: "delta=1&reason=矩阵入库", ok: http.StatusSeeOther},
	"GET /passbook/rewards/{id}/photo":         {perm: passbook.PermView, on: onReward},
	"GET /api/v1/passbook/rewards":             {perm: passbook.PermView, on: onPassbook, seenWith: passbook.PermRedeem, query: "passbook_id={passbook}"},                                                        // the rewards a passbook may buy: for those who may redeem for it
	"POST /api/v1/passbook/rewards":            {perm: passbook.PermManage, on: onPlace, body: `{"org_id":{org},"name":"矩阵新奖品","price_fen":100,"stock":1}`, ok: http.StatusCreated, deny: http.StatusBadRequest}, // an organisation named in the body out of reach is a field error, as a missing one
	"GET /api/v1/passbook/rewards/{id}":        {perm: passbook.PermView, on: onReward},
	"PUT /api/v1/passbook/rewards/{id}":        {perm: passbook.PermManage, on: onReward, body: `{"name":"{rewardname}","price_fen":100}`, ok: http.StatusOK},
	"POST /api/v1/passbook/rewards/{id}/stock": {perm: passbook.PermManage, on: onReward, body: `{"delta":1,"reason":"矩阵入库"}`, ok: http.StatusOK},
	"GET /api/v1/passbook/orders":              {perm: passbook.PermView, on: onPassbook, query: "passbook_id={passbook}"},
	"POST /api/v1/passbook/orders":             {perm: passbook.PermRedeem, on: onPassbook, body: `{"passbook_id":{passbook},"reward_id":{reward},"quantity":1}`, ok: http.StatusCreated},
	"GET /api/v1/passbook/orders/{id}":         {perm: passbook.PermView, on: onOrder},
	"POST /api/v1/passbook/orders/{id}/fulfil": {perm: passbook.PermFulfil, on: onOrder, body: `{"code":"000000"}`, ok: http.StatusBadRequest},
	"POST /api/v1/passbook/orders/{id}/cancel": {perm: passbook.PermView, on: onOrder, ok: http.StatusOK, spends: "order"},
	"POST /api/v1/passbook/orders/pickup":      {perm: passbook.PermFulfil, on: onOrder, body: `{"code":"{code}"}`, ok: http.StatusOK, spends: "order"},

	// Rankings, commendation, printing and reports.
	"GET /passbook/rankings":                             {perm: passbook.PermView, on: onCommunity, query: "org_id={org}", shows: true}, // members see their community's ranking
	"GET /passbook/commendation":                         {perm: passbook.PermView, on: onPlace, query: "org_id={org}&rule=top&value=3"},
	"GET /passbook/commendation.xlsx":                    {perm: passbook.PermView, on: onPlace, query: "org_id={org}&rule=top&value=3"},
	"GET /passbook/passbooks/{id}/print":                 {perm: passbook.PermView, on: onPassbook},
	"POST /passbook/passbooks/{id}/printed":              {perm: passbook.PermManage, on: onPassbook, body: "through_tx_id=x", ok: http.StatusBadRequest},
	"GET /passbook/passbooks/{id}/statement.xlsx":        {perm: passbook.PermView, on: onPassbook},
	"GET /passbook/reports":                              {perm: passbook.PermView, on: onPlace, query: "org_id={org}"},
	"GET /api/v1/passbook/rankings":                      {perm: passbook.PermView, on: onCommunity, query: "org_id={org}", shows: true}, // members see their community's ranking
	"GET /api/v1/passbook/passbooks/{id}/rank":           {perm: passbook.PermView, on: onPassbook},
	"GET /api/v1/passbook/commendation":                  {perm: passbook.PermView, on: onPlace, query: "org_id={org}&rule=top&value=3"},
	"GET /api/v1/passbook/passbooks/{id}/print":          {perm: passbook.PermView, on: onPassbook},
	"POST /api/v1/passbook/passbooks/{id}/printed":       {perm: passbook.PermManage, on: onPassbook, body: `{"through_tx_id":0}`, ok: http.StatusBadRequest},
	"GET /api/v1/passbook/passbooks/{id}/statement.xlsx": {perm: passbook.PermView, on: onPassbook},
	"GET /api/v1/passbook/reports":                       {perm: passbook.PermView, on: onPlace, query: "org_id={org}&year={year}"},

	// Activities.
	"GET /passbook/activities":                         {perm: passbook.PermView},
	"GET /passbook/activities/new":                     {perm: passbook.PermManage},
	"POST /passbook/activities":                        {perm: passbook.PermManage, on: onPlace, body: "org_id={org}&title=&item_id={item}", ok: http.StatusBadRequest},
	"GET /passbook/activities/{id}":                    {perm: passbook.PermView, on: onActivity},
	"GET /passbook/activities/{id}/edit":               {perm: passbook.PermManage, on: onActivity, manage: true},
	"POST /passbook/activities/{id}":                   {perm: passbook.PermManage, on: onActivity, body: "title=&item_id={item}", ok: http.StatusBadRequest},
	"POST /passbook/activities/{id}/cancel":            {perm: passbook.PermManage, on: onActivity, body: "reason=矩阵取消", ok: http.StatusSeeOther, spends: "activity"},
	"POST /passbook/activities/{id}/signup":            {perm: passbook.PermClaim, on: onActivity, staffRefused: true, except: joinAbove, ok: http.StatusSeeOther},
	"POST /passbook/activities/{id}/signup/cancel":     {perm: passbook.PermClaim, on: onActivity, staffRefused: true, except: joinAbove, ok: http.StatusSeeOther},
	"GET /passbook/activities/{id}/checkin":            {perm: passbook.PermManage, on: onActivity, manage: true},
	"GET /passbook/activities/{id}/checkin/code":       {perm: passbook.PermManage, on: onActivity, manage: true},
	"GET /passbook/activities/{id}/scan":               {perm: passbook.PermClaim, on: onActivity, query: "t={qrtoken}", staffRefused: true, except: joinAbove},
	"POST /passbook/activities/{id}/attendance":        {perm: passbook.PermManage, on: onActivity, body: "passbook_id={passbook}&present=1", ok: http.StatusConflict}, // not started yet
	"POST /passbook/activities/{id}/confirm":           {perm: passbook.PermManage, on: onActivity},
	"GET /api/v1/passbook/activities":                  {perm: passbook.PermView, on: onPlace, query: "org_id={org}"},
	"POST /api/v1/passbook/activities":                 {perm: passbook.PermManage, on: onPlace, body: `{"org_id":{org},"title":"矩阵新活动","place":"活动室","item_id":{item},"starts_at":"{nextweek}","ends_at":"{nextweekend}"}`, ok: http.StatusCreated},
	"GET /api/v1/passbook/activities/{id}":             {perm: passbook.PermView, on: onActivity},
	"PUT /api/v1/passbook/activities/{id}":             {perm: passbook.PermManage, on: onActivity, body: `{"title":"","item_id":{item}}`, ok: http.StatusBadRequest},
	"POST /api/v1/passbook/activities/{id}/cancel":     {perm: passbook.PermManage, on: onActivity, body: `{"reason":"矩阵取消"}`, ok: http.StatusOK, spends: "activity"},
	"POST /api/v1/passbook/activities/{id}/signup":     {perm: passbook.PermClaim, on: onActivity, staffRefused: true, except: joinAbove},
	"DELETE /api/v1/passbook/activities/{id}/signup":   {perm: passbook.PermClaim, on: onActivity, staffRefused: true, except: joinAbove, ok: http.StatusNoContent},
	"GET /api/v1/passbook/activities/{id}/qr":          {perm: passbook.PermManage, on: onActivity, query: "kind=in", manage: true},
	"POST /api/v1/passbook/activities/scan":            {perm: passbook.PermClaim, on: onActivity, body: `{"token":"{qrtoken}"}`, staffRefused: true, except: joinAbove},
	"POST /api/v1/passbook/activities/{id}/attendance": {perm: passbook.PermManage, on: onActivity, body: `{"passbook_id":{passbook},"present":true}`, ok: http.StatusConflict}, // not started yet
	"POST /api/v1/passbook/activities/{id}/confirm":    {perm: passbook.PermManage, on: onActivity},
	// Routine appraisal. {cycle} is a cycle of each scope's organisation, {apitem} an item of its
	// negative list, {apentry} a confirmed entry on its person, {task} its person's target task
	// (the member's own in the own scope). Writes stop right after the gate (an invalid value, an
	// entry already reviewed, a tie not pending) except archiving an item, which spends it.
	// The anonymous rating links are public: TestAuthorisationAppraisalLinks.
	"GET /api/v1/appraisal/policies":                              {perm: appraisal.PermView, on: onPlace, query: "org_id={org}"},
	"PUT /api/v1/appraisal/policies":                              {perm: appraisal.PermPolicy, on: onPlace, body: `{"org_id":{org},"effective_from":"bogus"}`, ok: http.StatusBadRequest},
	"GET /api/v1/appraisal/policies/effective":                    {perm: appraisal.PermView, on: onPlace, query: "org_id={org}&quarter={quarter}"},
	"GET /api/v1/appraisal/items":                                 {perm: appraisal.PermView, on: onPlace, query: "org_id={org}"},
	"POST /api/v1/appraisal/items":                                {perm: appraisal.PermManage, on: onPlace, body: `{"org_id":{org},"list":"bogus","name":"矩阵新清单"}`, ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/items/{id}/archive":                   {perm: appraisal.PermManage, on: onApItem, ok: http.StatusOK, spends: "apitem"},
	"GET /api/v1/appraisal/entries":                               {perm: appraisal.PermView, on: onCycle, query: "cycle_id={cycle}"},
	"POST /api/v1/appraisal/entries":                              {perm: appraisal.PermEnter, on: onCycle, body: `{"cycle_id":{cycle},"person_id":{person},"item_id":{apitem},"occurred_on":"bogus","evidence":"矩阵"}`, ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/entries/{id}/confirm":                 {perm: appraisal.PermReview, on: onApEntry, ok: http.StatusConflict}, // already confirmed
	"POST /api/v1/appraisal/entries/{id}/reject":                  {perm: appraisal.PermReview, on: onApEntry, body: `{"note":"矩阵驳回"}`, ok: http.StatusConflict},
	"POST /api/v1/appraisal/entries/{id}/reverse":                 {perm: appraisal.PermReview, on: onApEntry, body: `{"reason":""}`, ok: http.StatusBadRequest},
	"GET /api/v1/appraisal/cycles":                                {perm: appraisal.PermView, on: onPlace, query: "org_id={org}"},
	"POST /api/v1/appraisal/cycles":                               {perm: appraisal.PermManage, on: onPlace, body: `{"org_id":{org},"quarter":"bogus"}`, ok: http.StatusBadRequest},
	"GET /api/v1/appraisal/cycles/{id}":                           {perm: appraisal.PermView, on: onCycle},
	"PUT /api/v1/appraisal/cycles/{id}/appraisees":                {perm: appraisal.PermManage, on: onCycle, body: `{"person_id":{person},"pool":"bogus"}`, ok: http.StatusBadRequest},
	"DELETE /api/v1/appraisal/cycles/{id}/appraisees/{person_id}": {perm: appraisal.PermManage, on: onCycle, ok: http.StatusConflict}, // they have a task and an entry
	// A member lists their own tasks of their community's cycle; staff all of it.
	"GET /api/v1/appraisal/tasks":              {perm: appraisal.PermSelf, on: onCycle, query: "cycle_id={cycle}", except: map[string]int{"member/own": http.StatusOK}},
	"POST /api/v1/appraisal/tasks":             {perm: appraisal.PermManage, on: onCycle, body: `{"cycle_id":{cycle},"person_id":{person},"dimension":"bogus","title":"矩阵新任务","standard":"x","weight":1,"base_score":90}`, ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/tasks/{id}/report": {perm: appraisal.PermSelf, on: onTask, body: `{"completion":""}`, ok: http.StatusBadRequest, staffRefused: true},
	"POST /api/v1/appraisal/tasks/{id}/assess": {perm: appraisal.PermRate, on: onTask, body: `{"met":false,"score":-1}`, ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/cycles/{id}/links": {perm: appraisal.PermManage, on: onCycle, body: `{"count":0}`, ok: http.StatusBadRequest},
	"GET /api/v1/appraisal/cycles/{id}/links":  {perm: appraisal.PermManage, on: onCycle},
	"GET /api/v1/appraisal/rate/{token}":       {public: true},
	"POST /api/v1/appraisal/rate/{token}":      {public: true},
	// Rating as the HR office needs appraisal.manage, which a reviewer (a leader) lacks.
	"POST /api/v1/appraisal/ratings":             {perm: appraisal.PermView, on: onCycle, body: `{"cycle_id":{cycle},"person_id":{person},"party":"hr","scores":{"de":101,"neng":90,"qin":90,"ji":90,"lian":90}}`, ok: http.StatusBadRequest, except: map[string]int{"reviewer/own": http.StatusForbidden}},
	"GET /api/v1/appraisal/ratings":              {perm: appraisal.PermManage, on: onCycle, query: "cycle_id={cycle}"},
	"POST /api/v1/appraisal/cycles/{id}/compute": {perm: appraisal.PermManage, on: onCycle},
	"GET /api/v1/appraisal/cycles/{id}/results":  {perm: appraisal.PermView, on: onCycle},
	"POST /api/v1/appraisal/cycles/{id}/ties":    {perm: appraisal.PermManage, on: onCycle, body: `{"pool":"staff","winners":[],"reason":"矩阵"}`, ok: http.StatusConflict}, // no tie pending
	// The seven steps. Bodies stop right after the gate (a step out of range, an empty text);
	// a member acts on their own cycle as its appraisee, staff on their community's.
	"GET /api/v1/appraisal/cycles/{id}/progress":        {perm: appraisal.PermView, on: onCycle},
	"POST /api/v1/appraisal/cycles/{id}/steps":          {perm: appraisal.PermManage, on: onCycle, body: `{"step":9}`, ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/cycles/{id}/reopen":         {perm: appraisal.PermManage, on: onCycle, body: `{"step":0,"reason":""}`, ok: http.StatusBadRequest},
	"GET /api/v1/appraisal/cycles/{id}/filings":         {perm: appraisal.PermView, on: onCycle},
	"GET /api/v1/appraisal/cycles/{id}/self-summaries":  {perm: appraisal.PermSelf, on: onCycle, except: ownCycle(http.StatusOK)},
	"PUT /api/v1/appraisal/cycles/{id}/self-summary":    {perm: appraisal.PermSelf, on: onCycle, body: `{"body":""}`, ok: http.StatusBadRequest, except: ownCycle(http.StatusBadRequest)},
	"GET /api/v1/appraisal/cycles/{id}/feedback":        {perm: appraisal.PermSelf, on: onCycle, except: ownCycle(http.StatusOK)},
	"POST /api/v1/appraisal/cycles/{id}/reviews":        {perm: appraisal.PermSelf, on: onCycle, body: `{"reason":""}`, ok: http.StatusBadRequest, except: ownCycle(http.StatusBadRequest)},
	"GET /api/v1/appraisal/cycles/{id}/reviews":         {perm: appraisal.PermView, on: onCycle},
	"POST /api/v1/appraisal/cycles/{id}/reviews/answer": {perm: appraisal.PermManage, on: onCycle, body: `{"person_id":{person},"answer":""}`, ok: http.StatusBadRequest},
	"POST /appraisal/cycles/{id}/steps":                 {perm: appraisal.PermManage, on: onCycle, body: "step=9", ok: http.StatusBadRequest},
	// District oversight and 督促整改. The own community's accounts are not above it: issuing an
	// order stops at the body (400) before the rule that only the organisation above issues,
	// answering at the body too, and closing an open order is refused as not yet answered (409).
	"GET /api/v1/appraisal/oversight":                   {perm: appraisal.PermView, on: onPlace, query: "org_id={org}&quarter={quarter}"},
	"GET /appraisal/oversight":                          {perm: appraisal.PermView, on: onPlace, query: "org_id={org}&quarter={quarter}"},
	"GET /api/v1/appraisal/rectifications":              {perm: appraisal.PermView, on: onPlace, query: "org_id={org}"},
	"POST /api/v1/appraisal/rectifications":             {perm: appraisal.PermManage, on: onPlace, body: `{"org_id":{org},"issue":"","due_on":"bogus"}`, ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/rectifications/{id}/answer": {perm: appraisal.PermManage, on: onRect, body: `{"answer":""}`, ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/rectifications/{id}/close":  {perm: appraisal.PermManage, on: onRect, ok: http.StatusConflict},
	// Merged pools of small units: listing a quarter's, merging (a bogus quarter stops at the
	// body) and deciding a merged tie (none graded: 409).
	"GET /api/v1/appraisal/merges":        {perm: appraisal.PermView, on: onPlace, query: "org_id={org}&quarter={quarter}"},
	"POST /api/v1/appraisal/merges":       {perm: appraisal.PermManage, on: onPlace, body: `{"org_id":{org},"quarter":"bogus"}`, ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/merges/ties":  {perm: appraisal.PermManage, on: onPlace, body: `{"org_id":{org},"quarter":"{quarter}","pool":"leader","winners":[],"reason":"矩阵"}`, ok: http.StatusConflict},
	"GET /appraisal/merges":               {perm: appraisal.PermView, on: onPlace, query: "org_id={org}&quarter={quarter}"},
	"POST /appraisal/merges":              {perm: appraisal.PermManage, on: onPlace, body: "org_id={org}&quarter=bogus", ok: http.StatusBadRequest},
	"POST /appraisal/merges/ties":         {perm: appraisal.PermManage, on: onPlace, body: "org_id={org}&quarter={quarter}&pool=leader&reason=矩阵", ok: http.StatusConflict},
	"GET /appraisal":                      {perm: appraisal.PermView},
	"POST /appraisal/cycles":              {perm: appraisal.PermManage, on: onPlace, body: "org={orgcode}&quarter=bogus", ok: http.StatusBadRequest, deny: http.StatusBadRequest}, // an organisation named in the form out of reach is a field error
	"GET /appraisal/cycles/{id}":          {perm: appraisal.PermView, on: onCycle},
	"POST /appraisal/cycles/{id}/compute": {perm: appraisal.PermManage, on: onCycle},
	"POST /appraisal/cycles/{id}/ties":    {perm: appraisal.PermManage, on: onCycle, body: "pool=staff&reason=矩阵", ok: http.StatusConflict},
	"POST /appraisal/cycles/{id}/links":   {perm: appraisal.PermManage, on: onCycle, body: "count=0", ok: http.StatusBadRequest},
	// The forms of the quarter: the appraisee's own page, task lists, rating forms, 复核 answers, 督促整改.
	"GET /appraisal/mine":                        {perm: appraisal.PermSelf},
	"GET /appraisal/mine/{id}":                   {perm: appraisal.PermSelf, on: onCycle, ok: http.StatusSeeOther, except: ownCycle(http.StatusOK)}, // staff who see the cycle go to its page
	"POST /appraisal/mine/{id}/summary":          {perm: appraisal.PermSelf, on: onCycle, body: "body=", ok: http.StatusBadRequest, except: ownCycle(http.StatusBadRequest)},
	"POST /appraisal/mine/{id}/review":           {perm: appraisal.PermSelf, on: onCycle, body: "reason=", ok: http.StatusBadRequest, except: ownCycle(http.StatusBadRequest)},
	"POST /appraisal/tasks/{id}/report":          {perm: appraisal.PermSelf, on: onTask, body: "completion=", ok: http.StatusBadRequest, staffRefused: true},
	"GET /appraisal/cycles/{id}/tasks":           {perm: appraisal.PermView, on: onCycle},
	"POST /appraisal/cycles/{id}/tasks":          {perm: appraisal.PermManage, on: onCycle, body: "person_id={person}&dimension=bogus&title=矩阵新任务&standard=x&weight=1&base_score=90", ok: http.StatusBadRequest},
	"POST /appraisal/tasks/{id}/assess":          {perm: appraisal.PermRate, on: onTask, body: "met=0&score=-1", ok: http.StatusBadRequest},
	"GET /appraisal/cycles/{id}/rate":            {perm: appraisal.PermView, on: onCycle, query: "party=leader"},
	"POST /appraisal/cycles/{id}/rate":           {perm: appraisal.PermView, on: onCycle, body: "party=hr&person_id={person}&de=101&neng=90&qin=90&ji=90&lian=90", ok: http.StatusBadRequest, except: map[string]int{"reviewer/own": http.StatusForbidden}},
	"POST /appraisal/cycles/{id}/reviews/answer": {perm: appraisal.PermManage, on: onCycle, body: "person_id={person}&answer=", ok: http.StatusBadRequest},
	"GET /appraisal/rectifications":              {perm: appraisal.PermView, on: onPlace, query: "org_id={org}"},
	"POST /appraisal/rectifications":             {perm: appraisal.PermManage, on: onPlace, body: "org_id={org}&issue=&due_on=bogus", ok: http.StatusBadRequest},
	"POST /appraisal/rectifications/{id}/answer": {perm: appraisal.PermManage, on: onRect, body: "answer=", ok: http.StatusBadRequest},
	"POST /appraisal/rectifications/{id}/close":  {perm: appraisal.PermManage, on: onRect, ok: http.StatusConflict},
	// Results in use: a person's year, a unit's year, the export, the imports (a PNG is refused).
	"GET /appraisal/people/{id}":                      {perm: appraisal.PermSelf, on: onPerson, seenWith: appraisal.PermView, except: map[string]int{"member/own": http.StatusOK}},
	"GET /api/v1/appraisal/people/{id}/history":       {perm: appraisal.PermSelf, on: onPerson, seenWith: appraisal.PermView, except: map[string]int{"member/own": http.StatusOK}},
	"GET /appraisal/units/{id}":                       {perm: appraisal.PermView, on: onPlace},
	"GET /api/v1/appraisal/units/{id}/year":           {perm: appraisal.PermView, on: onPlace},
	"GET /appraisal/units/{id}/results.xlsx":          {perm: appraisal.PermView, on: onPlace},
	"GET /api/v1/appraisal/units/{id}/results.xlsx":   {perm: appraisal.PermView, on: onPlace},
	"GET /appraisal/cycles/{id}/import":               {perm: appraisal.PermManage, on: onCycle},
	"GET /appraisal/cycles/{id}/roster.xlsx":          {perm: appraisal.PermManage, on: onCycle},
	"GET /appraisal/cycles/{id}/tasks.xlsx":           {perm: appraisal.PermManage, on: onCycle},
	"POST /appraisal/cycles/{id}/import/roster":       {perm: appraisal.PermManage, on: onCycle, upload: "file", ok: http.StatusBadRequest},
	"POST /appraisal/cycles/{id}/import/tasks":        {perm: appraisal.PermManage, on: onCycle, upload: "file", ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/cycles/{id}/roster":       {perm: appraisal.PermManage, on: onCycle, upload: "file", ok: http.StatusBadRequest},
	"POST /api/v1/appraisal/cycles/{id}/tasks/import": {perm: appraisal.PermManage, on: onCycle, upload: "file", ok: http.StatusBadRequest},
	"GET /appraisal/rate/{token}":                     {public: true},
	"POST /appraisal/rate/{token}":                    {public: true},
}

// checkRouteTable fails the test for a route without an entry, an entry without a route, and
// an entry whose permission is not the one the route is registered with.
func checkRouteTable(t *testing.T, routes []routeInfo) bool {
	t.Helper()
	ok := true
	seen := map[string]bool{}
	for _, r := range routes {
		key := r.method + " " + r.path
		seen[key] = true
		e, found := authzRoutes[key]
		kind := [...]string{"public", "page", "API"}[r.kind]
		switch {
		case !found:
			ok = false
			on := "onNone"
			if strings.Contains(r.path, "{") {
				on = "on…"
			}
			body := ""
			if r.method != http.MethodGet {
				body = ", body: …"
			}
			t.Errorf("%s (%s route, permission %q) has no entry in authzRoutes in cmd/grassroots/authz_matrix_test.go. Add one:\n"+
				"\t%q: {perm: %s, on: %s%s},\n"+
				"where on is the kind of record its {id}, org_id or body names (onNone: it works only in the caller's own scope) "+
				"and body the JSON or form fields it is sent, with {placeholders} of the scope's records. A new kind of record "+
				"needs a target constant and a reaches entry here and a fixtureBuilders function in authz_world_test.go that "+
				"puts one in each scope.", key, kind, r.perm, key, permExpr(r.perm), on, body)
		case e.public != (r.kind == int(web.KindPublic)):
			ok = false
			t.Errorf("%s is a %s route but its entry says public: %v", key, kind, e.public)
		case e.perm != r.perm:
			ok = false
			t.Errorf("%s is registered with permission %q but its entry says %q: which is right?", key, r.perm, e.perm)
		}
		if _, known := reaches[e.on]; found && e.on != onNone && !known {
			ok = false
			t.Errorf("%s acts on %q, which has no reaches entry", key, e.on)
		}
		if _, known := renewers[e.spends]; e.spends != "" && !known {
			ok = false
			t.Errorf("%s spends %q, which has no renewers entry", key, e.spends)
		}
	}
	for key := range authzRoutes {
		if !seen[key] {
			ok = false
			t.Errorf("authzRoutes has an entry for %s, which the server does not register: remove it", key)
		}
	}
	return ok
}

func permExpr(p auth.Permission) string {
	if p == "" {
		return `""`
	}
	return fmt.Sprintf("%q", p)
}

// roleHas reports whether the built-in role holds perm.
func roleHas(role auth.Role, perm auth.Permission) bool {
	return perm == "" || slices.Contains(role.Permissions, perm)
}

// scopesOf are the scopes a route's cases run at.
func scopesOf(e entry) []scope {
	switch {
	case e.on == onNone:
		return []scope{scopeNone}
	case reaches[e.on].personal:
		return recordScopes
	}
	return []scope{scopeOwn, scopeSibling, scopeParent}
}

// sees reports whether an account with role on the own community sees a record of kind on
// at scope s through route e.
func sees(role auth.Role, e entry, s scope) bool {
	r := reaches[e.on]
	view := cmp.Or(e.seenWith, r.view, e.perm)
	if !roleHas(role, view) {
		return false
	}
	if role.SelfOnly {
		switch s {
		case scopeOwn:
			return r.personal || r.community || r.members
		case scopeNeighbour:
			return r.community
		case scopeParent:
			return r.inherited && r.members
		}
		return false
	}
	switch s {
	case scopeOwn, scopeNeighbour:
		return true
	case scopeParent:
		return r.inherited
	}
	return false
}

// pass is the answer meaning "past the gate": any status but 401, 403, 404 and server errors.
const pass = -1

// expect is the answer a case should get, and whether it is a refusal.
func (e entry) expect(method string, role auth.Role, s scope) (int, bool) {
	if status, ok := e.except[string(role.Key)+"/"+string(s)]; ok {
		return status, status == http.StatusForbidden || status == http.StatusNotFound
	}
	ok := e.ok
	if ok == 0 {
		ok = pass
		if method == http.MethodGet {
			ok = http.StatusOK
		}
	}
	switch {
	case !roleHas(role, e.perm):
		return http.StatusForbidden, true
	case e.membersRefused && role.SelfOnly:
		return http.StatusForbidden, true
	case e.on == onNone:
		return ok, false
	case !sees(role, e, s):
		if e.deny != 0 {
			return e.deny, true
		}
		return http.StatusNotFound, true
	case (method != http.MethodGet || e.manage) && s == scopeParent && reaches[e.on].inherited:
		return http.StatusForbidden, true // seen from below, changed only where it was made
	case e.staffRefused && !role.SelfOnly:
		return http.StatusForbidden, true
	}
	return ok, false
}

func matches(want, got int) bool {
	if want == pass {
		return got != http.StatusUnauthorized && got != http.StatusForbidden && got != http.StatusNotFound && got < 500
	}
	return got == want
}

func statusText(status int) string {
	if status == pass {
		return "past the gate"
	}
	return fmt.Sprint(status)
}

// credential is how a case signs in.
type credential struct {
	cookie string // session token
	bearer string // API token
}

// runRoute runs a route's cases and returns how many there were.
func (w *world) runRoute(t *testing.T, r routeInfo, e entry) int {
	n := 0
	key := r.method + " " + r.path
	write := r.method != http.MethodGet
	// Refusals first, with a body that would do something if let through: the audit chain
	// proves it did not. Then the allowed cases, each with a fresh record if it spends one.
	type job struct {
		role    auth.Role
		s       scope
		want    int
		refused bool
	}
	var refused, allowed []job
	for _, role := range auth.Roles() {
		for _, s := range scopesOf(e) {
			j := job{role: role, s: s}
			j.want, j.refused = e.expect(r.method, role, s)
			if j.refused {
				refused = append(refused, j)
			} else {
				allowed = append(allowed, j)
			}
		}
	}
	for _, j := range append(refused, allowed...) {
		n++
		label := fmt.Sprintf("%s as %s at %s", key, j.role.Key, j.s)
		cred := credential{cookie: w.sessions[j.role.Key]}
		if e.fresh {
			cred.cookie = w.login("jz_" + string(j.role.Key))
		}
		before := w.auditLength()
		res := w.send(r, e, j.s, cred)
		if !matches(j.want, res.status) {
			t.Errorf("%s: %d, want %s: %s", label, res.status, statusText(j.want), snippet(res.body))
		}
		if write && j.refused {
			if after := w.auditLength(); after != before {
				t.Errorf("%s was refused with %d but the audit chain grew by %d", label, res.status, after-before)
			}
		}
		w.checkLeaks(t, label, e, j.role, res.body)
		if e.spends != "" && !j.refused && res.status < 400 {
			w.renew(e.spends, j.s)
		}
	}
	// Without a valid credential every route sends the browser to sign in (pages) or answers
	// 401 (API), whatever the record.
	s := scopesOf(e)[0]
	for _, c := range []struct {
		name string
		cred credential
	}{
		{"no session", credential{}},
		{"an idle session", credential{cookie: w.idleSession("jz_" + string(auth.RoleAdmin))}},
		{"a revoked API token", credential{bearer: w.revoked}},
	} {
		n++
		before := w.auditLength()
		res := w.send(r, e, s, c.cred)
		if r.kind == int(web.KindAPI) {
			if res.status != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d, want 401: %s", key, c.name, res.status, snippet(res.body))
			}
		} else if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
			t.Errorf("%s with %s: %d to %q, want 303 to /login", key, c.name, res.status, res.location)
		}
		if after := w.auditLength(); after != before {
			t.Errorf("%s with %s: the audit chain grew by %d", key, c.name, after-before)
		}
	}
	return n
}

type answer struct {
	status   int
	location string
	body     string
}

// send makes the request of route r at scope s, through the whole handler with its middleware.
func (w *world) send(r routeInfo, e entry, s scope, cred credential) answer {
	fx := w.fx[s]
	if s == scopeNone {
		fx = w.fx[scopeOwn]
	}
	fill := func(text string) string {
		if e.on != onNone {
			text = strings.ReplaceAll(text, "{id}", fx[cmp.Or(e.pathID, string(e.on))])
		}
		text = strings.ReplaceAll(text, "{mid}", fx["membership"])
		text = strings.ReplaceAll(text, "{photo}", fx["photo"])
		text = strings.ReplaceAll(text, "{file}", w.report)
		text = strings.ReplaceAll(text, "{name...}", "x")
		for k, v := range fx {
			text = strings.ReplaceAll(text, "{"+k+"}", v)
		}
		for k, v := range w.common {
			text = strings.ReplaceAll(text, "{"+k+"}", v)
		}
		return text
	}
	target := fill(strings.TrimSuffix(r.path, "{$}"))
	if e.query != "" {
		target += "?" + encode(fill(e.query))
	}
	for _, text := range []string{target, fill(e.body)} {
		if p := unfilled.FindString(text); p != "" {
			w.t.Fatalf("%s %s at %s: no fixture fills %s; add it in a fixtureBuilders function (authz_world_test.go)",
				r.method, r.path, s, p)
		}
	}
	var body io.Reader
	var ctype string
	switch {
	case e.upload != "":
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if e.body != "" {
			for _, kv := range strings.Split(fill(e.body), "&") {
				k, v, _ := strings.Cut(kv, "=")
				mw.WriteField(k, v)
			}
		}
		part, _ := mw.CreateFormFile(e.upload, "photo.png")
		part.Write(tinyPNG())
		mw.Close()
		body, ctype = &buf, mw.FormDataContentType()
	case e.body != "" && r.kind == int(web.KindAPI):
		body, ctype = strings.NewReader(fill(e.body)), "application/json"
	case e.body != "":
		body, ctype = strings.NewReader(encode(fill(e.body))), "application/x-www-form-urlencoded"
	}
	req := httptest.NewRequest(r.method, target, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if cred.cookie != "" {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: cred.cookie})
	}
	if cred.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+cred.bearer)
	}
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	return answer{status: rec.Code, location: rec.Header().Get("Location"), body: rec.Body.String()}
}

// unfilled finds a placeholder left in a filled path, query or body.
var unfilled = regexp.MustCompile(`\{[a-z][a-z_.]*\}`)

// encode turns "a=b&c=d", written with plain values, into a query or form body.
func encode(text string) string {
	v := url.Values{}
	for _, kv := range strings.Split(text, "&") {
		k, val, _ := strings.Cut(kv, "=")
		v.Add(k, val)
	}
	return v.Encode()
}

// checkLeaks fails a case whose answer shows a record the account may not see.
func (w *world) checkLeaks(t *testing.T, label string, e entry, role auth.Role, body string) {
	t.Helper()
	scopes := []scope{scopeSibling, scopeParent}
	if role.SelfOnly {
		scopes = append(scopes, scopeNeighbour)
	}
	for _, s := range scopes {
		for _, m := range w.markers[s] {
			if m.name && e.shows && s == scopeNeighbour {
				continue // the 公示 board names the community's members
			}
			if strings.Contains(body, m.text) {
				t.Errorf("%s: the answer shows %q of the %s scope", label, m.text, s)
			}
		}
	}
}

func snippet(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if i := strings.Index(body, `"error"`); i >= 0 {
		body = body[i:]
	} else if i := strings.Index(body, `class="error"`); i >= 0 {
		body = body[i:]
	} else if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return body
}
