package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
	"grassroots/store/storetest"
)

// envAsCommand makes the test binary run as the grassroots command with its own arguments, so
// that the crash test can start the real server in a process of its own and kill it.
const envAsCommand = "GRASSROOTS_TEST_AS_COMMAND"

// envCrashKills sets how many times the crash test kills the loaded server (default 20).
const envCrashKills = "GRASSROOTS_CRASH_KILLS"

// runAsChild runs the command when the test binary was started as grassroots, as main does.
func runAsChild() (int, bool) {
	if os.Getenv(envAsCommand) == "" {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr), true
}

// TestCrashSafety starts the real server, drives postings (claims filed and approved, with no
// 公示) and redemptions over HTTP from several clients with API tokens, and kills the server
// with SIGKILL at random moments, under load and while it starts, restarting it each time.
// Requests that were in flight when it died are retried with their Idempotency-Key on the last
// start. Then every acknowledged request must be in the database, nothing else may be, every
// transaction must be whole, the balances must be exactly what the acknowledged requests make
// them, and `passbook verify` and `audit verify` must pass. On SQLite, and on PostgreSQL (in a
// fresh schema) when GRASSROOTS_TEST_POSTGRES is set; the database itself is never killed.
func TestCrashSafety(t *testing.T) {
	kills := 20
	if s := os.Getenv(envCrashKills); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", envCrashKills, s)
		}
		kills = n
	}
	t.Run("sqlite", func(t *testing.T) { crashTest(t, filepath.Join(t.TempDir(), "crash.db"), kills) })
	if os.Getenv(storetest.EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { crashTest(t, storetest.PostgresDSN(t), kills) })
	}
}

// crashWorld is a community with funded passbooks, an item, a reward and two API tokens: a
// clerk who files claims (代录) and places orders for members, and a reviewer who approves.
type crashWorld struct {
	dsn       string
	today     string
	clerk     string // API tokens
	reviewer  string
	item      int64
	reward    int64
	passbooks []int64
}

const (
	crashMembers    = 8
	crashFundPoints = 200 // each passbook's opening balance, from one claim: 20000 fen
	crashItemPoints = 5   // each posting: 5 points, 500 fen
	crashPriceFen   = 300
	crashStock      = 1_000_000
	crashSetupPosts = crashMembers // the funding claims
)

func newCrashWorld(t *testing.T, dsn string) crashWorld {
	t.Helper()
	ctx := context.Background()
	a, err := open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	sys := auth.System()
	w := crashWorld{dsn: dsn, today: store.LocalDate(time.Now())}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	county, err := a.org.CreateOrg(ctx, sys, org.OrgInput{Name: "元阳县", Kind: org.KindCounty})
	must(err)
	community, err := a.org.CreateOrg(ctx, sys, org.OrgInput{ParentID: county.ID, Name: "元城镇社区", Kind: org.KindVillage})
	must(err)
	_, err = a.passbook.SetSettings(ctx, sys, county.ID, passbook.Settings{FenPerPoint: 100, PublicityDays: 0, DepositExpiry: "none"})
	must(err)
	item := func(code, name string, points int64) int64 {
		it, err := a.passbook.CreateItem(ctx, sys, passbook.ItemInput{OrgID: community.ID, Code: code, ItemTerms: passbook.ItemTerms{
			Name: name, Category: "志愿服务", Points: points, Unit: passbook.UnitOccasion, MaxPerClaim: 1, ValidFrom: "2020-01-01"}})
		must(err)
		return it.ID
	}
	w.item = item("C01", "志愿服务", crashItemPoints)
	fund := item("F01", "期初积分", crashFundPoints)
	for i := range crashMembers {
		person, err := a.org.CreatePerson(ctx, sys, org.PersonInput{OrgID: community.ID, Name: fmt.Sprintf("党员%02d", i+1),
			IDNumber: crashIDNumber(i), PoliticalStatus: "中共党员", PartyJoinedOn: "1980-07-01", Categories: []string{"离退休"}})
		must(err)
		b, err := a.passbook.OpenPassbook(ctx, sys, passbook.OpenInput{PersonID: person.ID, Class: "离退休党员"})
		must(err)
		c, _, err := a.passbook.SubmitClaim(ctx, sys, passbook.ClaimInput{PassbookID: b.ID, ItemID: fund, WorkDate: w.today, Quantity: 1}, nil, "")
		must(err)
		_, err = a.passbook.Approve(ctx, sys, c.ID, "")
		must(err)
		w.passbooks = append(w.passbooks, b.ID)
	}
	rw, err := a.passbook.CreateReward(ctx, sys, passbook.RewardInput{OrgID: community.ID, Name: "毛巾", PriceFen: crashPriceFen, Stock: crashStock})
	must(err)
	w.reward = rw.ID
	for _, u := range []struct {
		name  string
		role  auth.RoleKey
		token *string
	}{{"daili", auth.RoleUnitAdmin, &w.clerk}, {"shenhe", auth.RoleReviewer, &w.reviewer}} {
		_, _, err := a.auth.CreateUser(ctx, sys, auth.NewUser{Username: u.name, DisplayName: u.name, Password: "Crash-Test-2026!",
			Grants: []auth.GrantInput{{Role: u.role, OrgID: community.ID}}})
		must(err)
		*u.token, _, err = a.auth.CreateTokenForUser(ctx, sys, u.name, "崩溃测试")
		must(err)
	}
	return w
}

// crashIDNumber is a valid 身份证号 (GB 11643 checksum), numbered n.
func crashIDNumber(n int) string {
	body := fmt.Sprintf("53252819500101%03d", 200+n)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range body {
		sum += int(c-'0') * weights[i]
	}
	return body + string("10X98765432"[sum%11])
}

// server is one run of the grassroots server in a child process.
type server struct {
	cmd    *exec.Cmd
	url    chan string // the address, once it listens
	exited chan error  // the process's end
}

// startServer starts `grassroots serve` on the database, appending its log to logs.
func startServer(t *testing.T, dsn string, logs io.Writer) *server {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{url: make(chan string, 1), exited: make(chan error, 1)}
	s.cmd = exec.Command(self, "serve", "--db", dsn, "--addr", "127.0.0.1:0")
	s.cmd.Env = append(os.Environ(), envAsCommand+"=1", "GRASSROOTS_ADMIN_PASSWORD=Crash-Admin-2026!")
	s.cmd.Stdout = &lineWatcher{prefix: "grassroots 已启动：", found: s.url}
	s.cmd.Stderr = logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() { s.cmd.Process.Kill() })
	return s
}

// ready waits until the server listens and returns its address.
func (s *server) ready(t *testing.T) string {
	t.Helper()
	select {
	case u := <-s.url:
		return u
	case err := <-s.exited:
		t.Fatalf("the server exited before it listened: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the server did not start")
	}
	return ""
}

// kill ends the server with SIGKILL; it must still have been running.
func (s *server) kill(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.exited:
		t.Fatalf("the server died by itself: %v", err)
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-s.exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the server ended with %v after SIGKILL", err)
	}
}

// lineWatcher passes on the rest of the first line of output that starts with prefix.
type lineWatcher struct {
	prefix string
	found  chan string
	buf    []byte
	done   bool
}

func (l *lineWatcher) Write(p []byte) (int, error) {
	if l.done {
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(l.buf[:i])
		l.buf = l.buf[i+1:]
		if rest, ok := strings.CutPrefix(line, l.prefix); ok {
			l.found <- rest
			l.done = true
			return len(p), nil
		}
	}
}

// ledgerLog is what the clients were told, and what they sent without hearing back.
type ledgerLog struct {
	mu          sync.Mutex
	claims      map[int64]int64 // acknowledged claim → passbook
	posted      map[int64]bool  // claims acknowledged as posted
	orders      map[int64]order // acknowledged orders
	lostClaims  []request       // sent, no answer: the server died
	lostOrders  []request
	acked       int // success answers while the server was being killed
	refused     int // orders refused for the deposit (409)
	lostApprove int
	failures    []string
}

type order struct {
	passbook, quantity, totalFen, txID int64
}

// request is a write sent with an Idempotency-Key.
type request struct {
	key  string
	body any
}

func (l *ledgerLog) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) < 20 {
		l.failures = append(l.failures, fmt.Sprintf(format, args...))
	}
}

// client calls the JSON API with a token.
type client struct {
	http *http.Client
	base string
}

// call sends body as JSON and decodes a 2xx answer into out. A transport error (the server
// died) comes back as err, any answer as its status.
func (c client) call(method, path, token, key string, body, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	if res.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, data, fmt.Errorf("decode %s: %w", data, err)
		}
	}
	return res.StatusCode, data, nil
}

type claimAnswer struct {
	ID         int64  `json:"id"`
	PassbookID int64  `json:"passbook_id"`
	State      string `json:"state"`
	TxID       int64  `json:"tx_id"`
}

type orderAnswer struct {
	ID         int64 `json:"id"`
	PassbookID int64 `json:"passbook_id"`
	Quantity   int64 `json:"quantity"`
	TotalFen   int64 `json:"total_fen"`
	TxID       int64 `json:"tx_id"`
}

// posting files a claim for a member and approves it, which posts it.
func (w crashWorld) posting(c client, l *ledgerLog, key string, pb int64) {
	body := passbook.ClaimInput{PassbookID: pb, ItemID: w.item, WorkDate: w.today, Quantity: 1, Note: key}
	var claim claimAnswer
	status, data, err := c.call("POST", "/api/v1/passbook/claims", w.clerk, key, body, &claim)
	if err != nil && status == 0 {
		l.mu.Lock()
		l.lostClaims = append(l.lostClaims, request{key, body})
		l.mu.Unlock()
		return
	}
	if err != nil || (status != http.StatusCreated && status != http.StatusOK) || claim.PassbookID != pb {
		l.fail("claim %s: %d %s %v", key, status, data, err)
		return
	}
	l.mu.Lock()
	l.claims[claim.ID] = pb
	l.acked++
	l.mu.Unlock()
	w.approve(c, l, claim.ID, false)
}

// approve approves a filed claim. After a crash (resolving), a claim that is already posted was
// approved by a request whose answer was lost.
func (w crashWorld) approve(c client, l *ledgerLog, id int64, resolving bool) {
	var claim claimAnswer
	status, data, err := c.call("POST", "/api/v1/passbook/claims/"+strconv.FormatInt(id, 10)+"/approve", w.reviewer, "", nil, &claim)
	switch {
	case err != nil && status == 0:
		return // the claim stays unposted in the log and is resolved after the last start
	case resolving && status == http.StatusConflict:
		status, data, err = c.call("GET", "/api/v1/passbook/claims/"+strconv.FormatInt(id, 10), w.reviewer, "", nil, &claim)
		if err != nil || status != http.StatusOK || claim.State != passbook.ClaimPosted {
			l.fail("claim %d, refused approval: %d %s %v", id, status, data, err)
			return
		}
		l.mu.Lock()
		l.lostApprove++
		l.mu.Unlock()
	case err != nil || status != http.StatusOK || claim.State != passbook.ClaimPosted || claim.TxID == 0:
		l.fail("approve claim %d: %d %s %v", id, status, data, err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.posted[id] = true
	if !resolving {
		l.acked++
	}
}

// redeem places an order for a member; a refusal for the deposit is an answer too.
func (w crashWorld) redeem(c client, l *ledgerLog, r request, resolving bool) {
	var o orderAnswer
	status, data, err := c.call("POST", "/api/v1/passbook/orders", w.clerk, r.key, r.body, &o)
	in := r.body.(passbook.OrderInput)
	switch {
	case err != nil && status == 0 && !resolving:
		l.mu.Lock()
		l.lostOrders = append(l.lostOrders, r)
		l.mu.Unlock()
	case status == http.StatusConflict && strings.Contains(string(data), "存款余额不足"):
		l.mu.Lock()
		l.refused++
		l.mu.Unlock()
	case err != nil || status != http.StatusCreated || o.PassbookID != in.PassbookID || o.Quantity != in.Quantity ||
		o.TotalFen != in.Quantity*crashPriceFen || o.TxID == 0:
		l.fail("order %s: %d %s %v", r.key, status, data, err)
	default:
		l.mu.Lock()
		l.orders[o.ID] = order{o.PassbookID, o.Quantity, o.TotalFen, o.TxID}
		if !resolving {
			l.acked++
		}
		l.mu.Unlock()
	}
}

// load runs workers against the server at base until stop is set.
func (w crashWorld) load(base string, l *ledgerLog, cycle, workers int, stop *atomic.Bool, seed uint64) *sync.WaitGroup {
	transport := &http.Transport{MaxIdleConnsPerHost: workers}
	c := client{http: &http.Client{Transport: transport, Timeout: time.Minute}, base: base}
	var wg sync.WaitGroup
	for worker := range workers {
		rng := rand.New(rand.NewPCG(seed, uint64(cycle*100+worker)))
		wg.Go(func() {
			defer transport.CloseIdleConnections()
			for n := 0; !stop.Load(); n++ {
				key := fmt.Sprintf("c%d-w%d-%d", cycle, worker, n)
				pb := w.passbooks[rng.IntN(len(w.passbooks))]
				if rng.IntN(2) == 0 {
					w.posting(c, l, key, pb)
				} else {
					w.redeem(c, l, request{key, passbook.OrderInput{PassbookID: pb, RewardID: w.reward, Quantity: 1 + rng.Int64N(3)}}, false)
				}
			}
		})
	}
	return &wg
}

func crashTest(t *testing.T, dsn string, kills int) {
	began := time.Now()
	w := newCrashWorld(t, dsn)
	logs, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(logs.Name())
			if len(data) > 4000 {
				data = data[len(data)-4000:]
			}
			t.Logf("server log (end):\n%s", data)
		}
	})
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	l := &ledgerLog{claims: map[int64]int64{}, posted: map[int64]bool{}, orders: map[int64]order{}}
	const workers = 4
	killed, startupKills := 0, 0
	for cycle := 0; killed < kills; cycle++ {
		s := startServer(t, w.dsn, logs)
		if cycle%5 == 4 {
			// Now and then the server dies while it starts: migrations, the administrator's grant.
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
			s.kill(t)
			startupKills++
			continue
		}
		base := s.ready(t)
		var stop atomic.Bool
		wg := w.load(base, l, cycle, workers, &stop, seed)
		time.Sleep(time.Duration(20+rng.IntN(480)) * time.Millisecond)
		stop.Store(true) // no new requests; those under way meet the kill
		s.kill(t)
		wg.Wait()
		killed++
		if len(l.failures) > 0 {
			t.Fatalf("after %d kills:\n%s", killed, strings.Join(l.failures, "\n"))
		}
	}

	// What of the requests that died with the server had been written?
	lostClaims, lostOrders := len(l.lostClaims), len(l.lostOrders)
	committed := 0
	db, err := store.Open(context.Background(), w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(append([]request{}, l.lostClaims...), l.lostOrders...) {
		var n int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM pb_idempotency WHERE key = ?`, r.key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		committed += n
	}
	db.Close()

	// The last start: retry what was lost, with the same keys and bodies, and approve every
	// claim not known to be posted.
	s := startServer(t, w.dsn, logs)
	c := client{http: &http.Client{Timeout: time.Minute}, base: s.ready(t)}
	for _, r := range l.lostClaims {
		var claim claimAnswer
		status, data, err := c.call("POST", "/api/v1/passbook/claims", w.clerk, r.key, r.body, &claim)
		if err != nil || (status != http.StatusCreated && status != http.StatusOK) {
			t.Fatalf("retrying claim %s: %d %s %v", r.key, status, data, err)
		}
		l.claims[claim.ID] = r.body.(passbook.ClaimInput).PassbookID
	}
	for id := range l.claims {
		if !l.posted[id] {
			w.approve(c, l, id, true)
		}
	}
	for _, r := range l.lostOrders {
		w.redeem(c, l, r, true)
	}
	if len(l.failures) > 0 {
		t.Fatalf("resolving the lost requests:\n%s", strings.Join(l.failures, "\n"))
	}
	s.kill(t)

	w.wantLedger(t, l)
	for _, args := range [][]string{{"passbook", "verify"}, {"audit", "verify"}} {
		self, _ := os.Executable()
		cmd := exec.Command(self, append(args, "--db", w.dsn)...)
		cmd.Env = append(os.Environ(), envAsCommand+"=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("grassroots %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Logf("%d kills under load and %d while starting; %d requests acknowledged (%d claims, %d postings, %d orders, %d orders refused for the deposit); "+
		"%d claims and %d orders in flight at a kill, %d of them had been written, %d approvals written with the answer lost; %s",
		killed, startupKills, l.acked, len(l.claims), len(l.posted), len(l.orders), l.refused, lostClaims, lostOrders, committed, l.lostApprove,
		time.Since(began).Round(time.Millisecond))
}

// wantLedger checks the database against what the clients were told: exactly the acknowledged
// claims and orders, each whole, and balances that follow from them.
func (w crashWorld) wantLedger(t *testing.T, l *ledgerLog) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}

	// Exactly the acknowledged claims, all posted, each by its own earning.
	rows, err := db.Query(ctx, `SELECT c.id, c.passbook_id, c.state, COALESCE(c.tx_id, 0) FROM pb_claims c
		JOIN pb_item_versions v ON v.id = c.item_version_id WHERE v.item_id = ?`, w.item)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[int64]bool{}
	for rows.Next() {
		var id, pb, txID int64
		var state string
		if err := rows.Scan(&id, &pb, &state, &txID); err != nil {
			t.Fatal(err)
		}
		claims[id] = true
		if want, ok := l.claims[id]; !ok || want != pb || state != passbook.ClaimPosted || txID == 0 {
			t.Errorf("claim %d (passbook %d) is %s with tx %d; acknowledged: %v", id, pb, state, txID, ok)
		}
	}
	rows.Close()
	if len(claims) != len(l.claims) || len(l.posted) != len(l.claims) {
		t.Fatalf("%d claims stored, %d acknowledged, %d acknowledged as posted", len(claims), len(l.claims), len(l.posted))
	}

	// Exactly the acknowledged orders, each with its debit and its stock move.
	rows, err = db.Query(ctx, `SELECT id, passbook_id, quantity, total_fen, tx_id FROM pb_orders`)
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for rows.Next() {
		var id int64
		var o order
		if err := rows.Scan(&id, &o.passbook, &o.quantity, &o.totalFen, &o.txID); err != nil {
			t.Fatal(err)
		}
		stored++
		if want, ok := l.orders[id]; !ok || want != o {
			t.Errorf("order %d %+v; acknowledged %+v (%v)", id, o, want, ok)
		}
	}
	rows.Close()
	if stored != len(l.orders) {
		t.Fatalf("%d orders stored, %d acknowledged", stored, len(l.orders))
	}

	// No transaction is half-written.
	for _, c := range []struct{ what, query string }{
		{"transactions without entries", `SELECT COUNT(*) FROM pb_transactions t WHERE NOT EXISTS (SELECT 1 FROM pb_entries e WHERE e.tx_id = t.id)`},
		{"unbalanced transactions", `SELECT COUNT(*) FROM (SELECT tx_id FROM pb_entries GROUP BY tx_id, asset HAVING SUM(amount) <> 0) x`},
		{"redemptions without exactly one order", `SELECT COUNT(*) FROM pb_transactions t WHERE t.kind = 'redeem'
			AND (SELECT COUNT(*) FROM pb_orders o WHERE o.tx_id = t.id) <> 1`},
		{"orders without their deposit debit", `SELECT COUNT(*) FROM pb_orders o WHERE NOT EXISTS (SELECT 1 FROM pb_entries e
			JOIN pb_accounts a ON a.id = e.account_id AND a.kind = 'deposit' WHERE e.tx_id = o.tx_id AND e.amount = -o.total_fen)`},
		{"orders without their stock move", `SELECT COUNT(*) FROM pb_orders o WHERE NOT EXISTS (SELECT 1 FROM pb_stock_moves m
			WHERE m.order_id = o.id AND m.delta = -o.quantity)`},
		{"earnings not held by a posted claim", `SELECT COUNT(*) FROM pb_transactions t WHERE t.kind = 'earn'
			AND NOT EXISTS (SELECT 1 FROM pb_claims c WHERE c.id = t.claim_id AND c.tx_id = t.id AND c.state = 'posted')`},
		{"posted claims without their earning", `SELECT COUNT(*) FROM pb_claims c WHERE c.state = 'posted'
			AND NOT EXISTS (SELECT 1 FROM pb_transactions t WHERE t.id = c.tx_id AND t.claim_id = c.id AND t.kind = 'earn')`},
		{"deposit entries below zero", `SELECT COUNT(*) FROM pb_entries e JOIN pb_accounts a ON a.id = e.account_id
			WHERE a.kind = 'deposit' AND e.balance_after < 0`},
		{"rewards whose stock is not the sum of their moves", `SELECT COUNT(*) FROM pb_rewards r
			WHERE r.stock <> (SELECT COALESCE(SUM(m.delta), 0) FROM pb_stock_moves m WHERE m.reward_id = r.id)`},
	} {
		if n := count(c.query); n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}

	// Each passbook holds exactly what its acknowledged postings and orders make it.
	honor, deposit := map[int64]int64{}, map[int64]int64{}
	for _, pb := range w.passbooks {
		honor[pb], deposit[pb] = crashFundPoints, crashFundPoints*100
	}
	var sold int64
	for id := range l.posted {
		honor[l.claims[id]] += crashItemPoints
		deposit[l.claims[id]] += crashItemPoints * 100
	}
	for _, o := range l.orders {
		deposit[o.passbook] -= o.totalFen
		sold += o.quantity
	}
	for _, pb := range w.passbooks {
		var h, d int64
		if err := db.QueryRow(ctx, `SELECT h.balance, d.balance FROM pb_accounts h JOIN pb_accounts d ON d.passbook_id = h.passbook_id
			WHERE h.passbook_id = ? AND h.kind = 'honor' AND d.kind = 'deposit'`, pb).Scan(&h, &d); err != nil {
			t.Fatal(err)
		}
		if h != honor[pb] || d != deposit[pb] {
			t.Errorf("passbook %d: %d points, %d fen; the acknowledged requests make %d and %d", pb, h, d, honor[pb], deposit[pb])
		}
	}
	if n := count(`SELECT stock FROM pb_rewards WHERE id = ?`, w.reward); int64(n) != crashStock-sold {
		t.Errorf("stock %d after %d sold", n, sold)
	}

	// One audit record for each acknowledged write.
	for action, want := range map[string]int{
		"passbook.claim":         len(l.claims) + crashSetupPosts,
		"passbook.claim_approve": len(l.posted) + crashSetupPosts,
		"passbook.order":         len(l.orders),
	} {
		if n := count(`SELECT COUNT(*) FROM audit_log WHERE action = ?`, action); n != want {
			t.Errorf("%d audit records of %s; want %d", n, action, want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// TestCrashDuringBulkPosting kills `grassroots passbook post` at random moments while it books
// a file of approved claims in one transaction: each run either booked the whole file or
// nothing, and the verifiers pass. The first run is left to finish, to time the others' kills.
func TestCrashDuringBulkPosting(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { bulkCrashTest(t, filepath.Join(t.TempDir(), "bulk.db")) })
	if os.Getenv(storetest.EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { bulkCrashTest(t, storetest.PostgresDSN(t)) })
	}
}

func bulkCrashTest(t *testing.T, dsn string) {
	const kills = 5
	rows := 5000
	if raceEnabled {
		rows = 1000
	}
	w := newCrashWorld(t, dsn)
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	numbers := make([]string, len(w.passbooks))
	for i, id := range w.passbooks {
		if err := db.QueryRow(ctx, `SELECT number FROM pb_passbooks WHERE id = ?`, id).Scan(&numbers[i]); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	// Each run posts records of its own (the note names the run): the same records twice are
	// refused as already booked.
	write := func(run int) string {
		var file bytes.Buffer
		file.WriteString("存折号,身份证号,事项编码,日期,数量,备注\n")
		for i := range rows {
			fmt.Fprintf(&file, "%s,,C01,%s,1,第%d次第%d行\n", numbers[i%len(numbers)], w.today, run, i+1)
		}
		path := filepath.Join(t.TempDir(), fmt.Sprintf("approved-%d.csv", run))
		if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string) *exec.Cmd {
		cmd := exec.Command(self, "passbook", "post", "--db", dsn, path)
		cmd.Env = append(os.Environ(), envAsCommand+"=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
		return cmd
	}
	first := write(0)
	began := time.Now()
	if out, err := post(first).CombinedOutput(); err != nil {
		t.Fatalf("passbook post: %v\n%s", err, out)
	}
	full := time.Since(began)
	if out, err := post(first).CombinedOutput(); err == nil || !strings.Contains(string(out), "已经入账过") {
		t.Fatalf("posting the same file again: %v\n%s", err, out)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	killed := 0
	for run := range kills {
		cmd := post(write(run + 1))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Past the first third of a whole run the process is mostly inside its transaction.
		time.Sleep(full/3 + time.Duration(rng.Int64N(int64(full*2/3))))
		cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err != nil {
			killed++
		}
	}
	db, err = store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var batch, postings int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM pb_claims WHERE source = 'batch'`).Scan(&batch); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM pb_transactions t JOIN pb_claims c ON c.id = t.claim_id
		WHERE c.source = 'batch' AND c.state = 'posted' AND c.tx_id = t.id`).Scan(&postings); err != nil {
		t.Fatal(err)
	}
	runs := batch / rows
	if batch%rows != 0 || postings != batch || runs < 1 || runs > 1+kills {
		t.Fatalf("%d batch claims (%d posted) after 1 whole run and %d killed: not a whole number of files of %d", batch, postings, killed, rows)
	}
	for _, args := range [][]string{{"passbook", "verify"}, {"audit", "verify"}} {
		cmd := exec.Command(self, append(args, "--db", dsn)...)
		cmd.Env = append(os.Environ(), envAsCommand+"=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("grassroots %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Logf("a file of %d rows posts in %v; %d runs killed, %d files booked whole, none in part", rows, full.Round(time.Millisecond), killed, runs)
}
