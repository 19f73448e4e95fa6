package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
	"grassroots/xlsx"
)

const benchPassword = "Bench-2026-load"

// account is a signed-in user of the load: a member with their passbook, or a township's
// reviewer with that township's pending claims.
type account struct {
	token    string
	passbook int64 // members
	reward   int64 // members: a reward of their township's store
	township int64 // staff
	county   int64 // staff
	pending  chan int64
}

// loadPrep is what the load needs beyond the world: accounts with tokens, claims waiting for
// review, and members with deposit to redeem.
type loadPrep struct {
	members, staff []*account
	importer       *account
	importOrg      string // the county the import goes to, as a path
}

// prepare creates members' and reviewers' accounts and tokens through auth, tops up the
// members' deposit with one approved file, and files the claims the reviewers will review.
func prepare(ctx context.Context, db *store.DB, w *world, clients, pending int, rng *rand.Rand) (*loadPrep, error) {
	users, books := auth.NewService(db), passbook.NewService(db)
	sys := auth.System()
	lp := &loadPrep{}
	token := func(username string, in auth.NewUser) (string, error) {
		in.Username, in.Password = username, benchPassword
		if _, _, err := users.CreateUser(ctx, sys, in); err != nil {
			return "", err
		}
		t, _, err := users.CreateTokenForUser(ctx, sys, username, "load")
		return t, err
	}
	members := min(clients, len(w.passbook))
	var topUp bytes.Buffer
	topUp.WriteString("存折号,身份证号,事项编码,日期,数量,备注\n")
	yesterday := time.Now().In(store.Shanghai).AddDate(0, 0, -1).Format(store.DateLayout)
	for i := range members {
		m := i * len(w.passbook) / members
		v := w.villageOf[m]
		t, err := token(fmt.Sprintf("member%d", i), auth.NewUser{PersonID: w.person[m],
			Grants: []auth.GrantInput{{Role: auth.RoleMember, OrgID: w.levels[3][v].ID}}})
		if err != nil {
			return nil, fmt.Errorf("member account %d: %w", i, err)
		}
		lp.members = append(lp.members, &account{token: t, passbook: w.passbook[m], reward: w.reward[w.township[v]]})
		for range 25 {
			fmt.Fprintf(&topUp, "%s,,V01,%s,4,\n", passbookNumber(m), yesterday)
		}
	}
	if err := postFile(ctx, books, topUp.Bytes()); err != nil {
		return nil, fmt.Errorf("top-up: %w", err)
	}
	staff := max(1, min(clients/4, len(w.levels[2])))
	for i := range staff {
		ti := i * len(w.levels[2]) / staff
		t, err := token(fmt.Sprintf("reviewer%d", i), auth.NewUser{DisplayName: fmt.Sprintf("审核员%d", i),
			Grants: []auth.GrantInput{{Role: auth.RoleReviewer, OrgID: w.levels[2][ti].ID}}})
		if err != nil {
			return nil, fmt.Errorf("reviewer account %d: %w", i, err)
		}
		lp.staff = append(lp.staff, &account{token: t, township: w.levels[2][ti].ID, county: w.levels[2][ti].ParentID,
			pending: make(chan int64, pending/staff+1)})
	}
	county := w.levels[1][0]
	t, err := token("importer", auth.NewUser{DisplayName: "组织部", Grants: []auth.GrantInput{{Role: auth.RoleOrgAdmin, OrgID: county.ID}}})
	if err != nil {
		return nil, err
	}
	lp.importer = &account{token: t, county: county.ID}
	lp.importOrg = strings.Join([]string{w.root.Name, w.levels[0][0].Name, county.Name}, "/")

	// Claims waiting for review, filed the ordinary way in the reviewers' townships, each by a
	// member of one of the township's villages.
	byTownship := map[int64][]int{}
	for m, v := range w.villageOf {
		t := w.levels[2][w.township[v]].ID
		if len(byTownship[t]) < 50 {
			byTownship[t] = append(byTownship[t], m)
		}
	}
	clerk := &auth.Principal{UserID: 1 << 40, Username: "bench", Grants: []auth.Grant{{Role: mustRole(auth.RoleOrgAdmin), OrgID: w.root.ID, OrgPath: w.root.Path}}}
	for k := range pending {
		s := lp.staff[k%len(lp.staff)]
		ms := byTownship[s.township]
		if len(ms) == 0 {
			continue
		}
		m := ms[rng.IntN(len(ms))]
		c, _, err := books.SubmitClaim(ctx, clerk, passbook.ClaimInput{PassbookID: w.passbook[m], ItemID: w.item,
			WorkDate: yesterday, Quantity: 1}, nil, "")
		if err != nil {
			return nil, fmt.Errorf("pending claim %d: %w", k, err)
		}
		s.pending <- c.ID
	}
	return lp, nil
}

func mustRole(k auth.RoleKey) auth.Role {
	r, ok := auth.LookupRole(k)
	if !ok {
		panic(k)
	}
	return r
}

// workload is one kind of request of the mixed load.
type workload struct {
	name   string
	weight int
	write  bool // compared with the bare write, else with the bare read
	status int
	// request builds the request for a client; nil when it has nothing to do (no claim left).
	request func(c *client) *http.Request
}

type client struct {
	id     int
	rng    *rand.Rand
	member *account
	staff  *account
	base   string
	seq    int
}

func authed(req *http.Request, a *account) *http.Request {
	req.Header.Set("Authorization", "Bearer "+a.token)
	return req
}

func get(c *client, a *account, path string) *http.Request {
	req, _ := http.NewRequest("GET", c.base+path, nil)
	return authed(req, a)
}

func postJSON(c *client, a *account, path string, body any) *http.Request {
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	return authed(req, a)
}

func workloads(w *world) []workload {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	today := func() string { return time.Now().In(store.Shanghai).Format(store.DateLayout) }
	return []workload{
		{name: "balance", weight: 25, status: 200, request: func(c *client) *http.Request {
			return get(c, c.member, "/api/v1/passbook/passbooks/"+id(c.member.passbook))
		}},
		{name: "rank", weight: 20, status: 200, request: func(c *client) *http.Request {
			return get(c, c.member, "/api/v1/passbook/passbooks/"+id(c.member.passbook)+"/rank")
		}},
		{name: "claim", weight: 8, write: true, status: 201, request: func(c *client) *http.Request {
			return postJSON(c, c.member, "/api/v1/passbook/claims", passbook.ClaimInput{PassbookID: c.member.passbook,
				ItemID: w.item, WorkDate: today(), Quantity: 1, Note: "负载测试"})
		}},
		{name: "claims_list", weight: 12, status: 200, request: func(c *client) *http.Request {
			return get(c, c.staff, "/api/v1/passbook/claims?state=submitted&limit=50&org_id="+id(c.staff.township))
		}},
		{name: "review_post", weight: 10, write: true, status: 200, request: func(c *client) *http.Request {
			select {
			case claim := <-c.staff.pending:
				req, _ := http.NewRequest("POST", c.base+"/api/v1/passbook/claims/"+id(claim)+"/approve", nil)
				return authed(req, c.staff)
			default:
				return nil
			}
		}},
		{name: "redeem", weight: 8, write: true, status: 201, request: func(c *client) *http.Request {
			req := postJSON(c, c.member, "/api/v1/passbook/orders", passbook.OrderInput{PassbookID: c.member.passbook,
				RewardID: c.member.reward, Quantity: 1})
			c.seq++
			req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d-%d-%d", c.id, c.seq, time.Now().UnixNano()))
			return req
		}},
		{name: "township_ranking", weight: 7, status: 200, request: func(c *client) *http.Request {
			return get(c, c.staff, "/api/v1/passbook/rankings?limit=50&org_id="+id(c.staff.township))
		}},
		{name: "report_page", weight: 5, status: 200, request: func(c *client) *http.Request {
			return get(c, c.staff, "/passbook/reports?org_id="+id(c.staff.township))
		}},
		{name: "statement", weight: 5, status: 200, request: func(c *client) *http.Request {
			return get(c, c.member, "/api/v1/passbook/passbooks/"+id(c.member.passbook)+"/entries?limit=20")
		}},
	}
}

// tally is the measurements of one workload.
type tally struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	firstErr  string
}

func (t *tally) add(d time.Duration, err string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.latencies = append(t.latencies, d)
	if err != "" {
		t.errors++
		if t.firstErr == "" {
			t.firstErr = err
		}
	}
}

// Result is one workload's figures.
type Result struct {
	Name       string  `json:"name"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	PerSecond  float64 `json:"per_second"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	Baseline   string  `json:"baseline,omitempty"`
	P50Ratio   float64 `json:"p50_ratio,omitempty"`
	P99Ratio   float64 `json:"p99_ratio,omitempty"`
}

func (t *tally) result(name string, elapsed time.Duration) Result {
	slices.Sort(t.latencies)
	r := Result{Name: name, Requests: len(t.latencies), Errors: t.errors, FirstError: t.firstErr}
	if len(t.latencies) == 0 {
		return r
	}
	q := func(f float64) float64 {
		return float64(t.latencies[min(len(t.latencies)-1, int(f*float64(len(t.latencies))))].Microseconds()) / 1000
	}
	r.PerSecond = float64(len(t.latencies)) / elapsed.Seconds()
	r.P50ms, r.P95ms, r.P99ms = q(0.50), q(0.95), q(0.99)
	return r
}

// drive runs clients against base until requests are spent or the time is up, each request a
// workload drawn by weight; import, when set, uploads people workbooks meanwhile.
//
// Each client sends its next request when the previous one is answered, after a pause drawn
// from an exponential distribution of mean think (none when think is 0: the server is then
// saturated, and latency is clients ÷ throughput by Little's law). answered counts the
// requests answered so far.
func drive(ctx context.Context, base string, lp *loadPrep, wls []workload, clients, requests int, d time.Duration, seed uint64,
	think time.Duration, answered *atomic.Int64, importFile func(n int) []byte) (map[string]*tally, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tallies := map[string]*tally{}
	total := 0
	for _, wl := range wls {
		tallies[wl.name] = &tally{}
		total += wl.weight
	}
	transport := &http.Transport{MaxIdleConnsPerHost: clients + 2, MaxConnsPerHost: clients + 2,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer transport.CloseIdleConnections()
	httpc := &http.Client{Transport: transport, Timeout: 60 * time.Second}
	do := func(req *http.Request, want int) (time.Duration, string) {
		began := time.Now()
		if req.Context() == context.Background() {
			req = req.WithContext(ctx)
		}
		res, err := httpc.Do(req)
		if err != nil {
			if req.Context().Err() != nil {
				return 0, "cancelled"
			}
			return time.Since(began), err.Error()
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(began)
		if res.StatusCode != want {
			return took, fmt.Sprintf("%d %s", res.StatusCode, bytes.TrimSpace(body[:min(len(body), 200)]))
		}
		return took, ""
	}
	var next atomic.Int64
	var wg, imports sync.WaitGroup
	start := time.Now()
	importCtx, stopImport := context.WithCancel(ctx)
	defer stopImport()
	if importFile != nil && lp.importer != nil {
		tallies["import"] = &tally{}
		imports.Go(func() {
			for n := 0; importCtx.Err() == nil; n++ {
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				part, _ := mw.CreateFormFile("file", "people.xlsx")
				part.Write(importFile(n))
				mw.Close()
				req, _ := http.NewRequestWithContext(importCtx, "POST", base+"/api/v1/people/import", &body)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				took, err := do(authed(req, lp.importer), 200)
				if err == "cancelled" {
					return
				}
				tallies["import"].add(took, err)
			}
		})
	}
	for i := range clients {
		c := &client{id: i, rng: rand.New(rand.NewPCG(seed, uint64(i))), base: base,
			member: lp.members[i%len(lp.members)], staff: lp.staff[i%len(lp.staff)]}
		pause := func() bool {
			if think <= 0 {
				return true
			}
			t := time.NewTimer(time.Duration(c.rng.ExpFloat64() * float64(think)))
			defer t.Stop()
			select {
			case <-ctx.Done():
				return false
			case <-t.C:
				return true
			}
		}
		wg.Go(func() {
			// The clients start spread out, as users who arrived at different times.
			for pause() && ctx.Err() == nil && next.Add(1) <= int64(requests) {
				pick := c.rng.IntN(total)
				var wl workload
				for _, wl = range wls {
					if pick -= wl.weight; pick < 0 {
						break
					}
				}
				req := wl.request(c)
				if req == nil {
					wl = wls[3] // nothing left to review: list the queue instead
					req = wl.request(c)
				}
				took, err := do(req, wl.status)
				if err == "cancelled" {
					return
				}
				tallies[wl.name].add(took, err)
				answered.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopImport() // the import stops with the last client; an upload cut short is not counted
	imports.Wait()
	return tallies, elapsed
}

// peopleWorkbook makes import files of rows new people of the importer's county, each file's
// numbered after the last one's (whatever n its caller counts), so that every upload is new.
func peopleWorkbook(orgPath string, rows, offset int) func(n int) []byte {
	var made atomic.Int64
	return func(int) []byte {
		n := int(made.Add(1) - 1)
		var buf bytes.Buffer
		xw, err := xlsx.NewWriter(&buf, org.PeopleSheet, org.PeopleColumns())
		if err != nil {
			panic(err)
		}
		for i := range rows {
			id, _ := idNumber(offset + n*rows + i)
			if err := xw.WriteRow(fmt.Sprintf("新居民%d", n*rows+i), "", id, "", "群众", "", "", orgPath); err != nil {
				panic(err)
			}
		}
		if err := xw.Close(); err != nil {
			panic(err)
		}
		return buf.Bytes()
	}
}

// rssOf reads VmRSS of a process from /proc, in bytes; 0 when it cannot.
func rssOf(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
