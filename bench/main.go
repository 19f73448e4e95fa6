// Command bench builds a synthetic province through the services' bulk paths and drives a mixed
// load against the real server, every figure beside a baseline measured in the same run.
//
//	go run ./bench -scale small
//	go run ./bench -scale medium -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -clients 200 -json medium.json
//
// Traffic goes only to loopback: the in-process server, or -url when it names 127.0.0.1,
// ::1 or localhost.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"grassroots/appraisal"
	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
	"grassroots/web"
)

var migrations = []store.Migrations{audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations, appraisal.Migrations}

type config struct {
	scale     string
	db        string // SQLite file, or a PostgreSQL DSN (a fresh schema is made in it)
	url       string // a running server on loopback; empty: start one in-process
	pid       int    // that server's process, for its memory
	clients   int
	requests  int
	bareReqs  int // requests of the bare baseline phase
	duration  time.Duration
	seed      uint64
	jsonPath  string
	keep      bool // keep the PostgreSQL schemas
	noRaw     bool // skip the generator's raw-SQL baseline
	cpuProf   string
	serve     string        // a grassroots binary to start as the server, in a process of its own
	addr      string        // its listen address
	think     time.Duration // mean pause of a client between requests (exponential); 0: none
	then      bool          // run a second phase, with thenThink
	thenThink time.Duration // the second phase's think time
	every     time.Duration // interval of the memory timeline
	warmup    time.Duration // the start of the load left out of the memory flatness
}

func main() {
	var c config
	flag.StringVar(&c.scale, "scale", "small", "small | medium | province")
	flag.StringVar(&c.db, "db", "", "SQLite file (default: a temporary one) or PostgreSQL DSN (a fresh schema is created)")
	flag.StringVar(&c.url, "url", "", "drive a running server on loopback instead of one in-process (it must use -db)")
	flag.IntVar(&c.pid, "pid", 0, "the process id of the -url server, to report its memory")
	flag.IntVar(&c.clients, "clients", 0, "concurrent clients (default: 16 small, 200 otherwise)")
	flag.IntVar(&c.requests, "requests", 0, "requests of the mixed load phase (default: 50 per client)")
	flag.IntVar(&c.bareReqs, "bare-requests", 0, "requests of the bare baseline phase (default: as -requests, at most 100 per client)")
	flag.DurationVar(&c.duration, "duration", 2*time.Minute, "time limit of each load phase")
	seed := flag.Uint64("seed", 1, "seed of the world and the load")
	flag.StringVar(&c.jsonPath, "json", "", "write the results as JSON to this file")
	flag.BoolVar(&c.keep, "keep", false, "keep the PostgreSQL schemas after the run")
	flag.BoolVar(&c.noRaw, "no-raw", false, "skip the raw-SQL baseline of the generator")
	flag.StringVar(&c.cpuProf, "cpuprofile", "", "write a CPU profile of the mixed load phase (in-process server and driver) to this file")
	flag.StringVar(&c.serve, "serve", "", "start this grassroots binary as the server (`serve --db … --addr …`) in a process of its own, after generating")
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8095", "listen address of the -serve server (loopback)")
	flag.DurationVar(&c.think, "think", 0, "mean think time of a client between requests, drawn exponentially (0: back to back, saturation)")
	flag.DurationVar(&c.thenThink, "then-think", -1, "after the first phase, run a second one on the same world and server with this think time (0: back to back)")
	flag.DurationVar(&c.every, "sample", 30*time.Second, "interval of the memory timeline printed during the load")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Minute, "start of the mixed load left out of the memory flatness figure")
	flag.Parse()
	c.seed = *seed
	c.then = c.thenThink >= 0
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Report is everything a run measured.
type Report struct {
	Scale      string    `json:"scale"`
	Database   string    `json:"database"`
	Clients    int       `json:"clients"`
	ThinkMS    float64   `json:"think_ms"`
	Generation []step    `json:"generation"`
	GenSeconds float64   `json:"generation_seconds"`
	RawSeconds float64   `json:"raw_sql_seconds,omitempty"`
	RawRows    int       `json:"raw_sql_rows,omitempty"`
	GenRatio   float64   `json:"generation_ratio,omitempty"`
	Load       []Result  `json:"load"`
	Baseline   []Result  `json:"baseline"`
	Mixed      rateFigs  `json:"mixed"`
	Bare       rateFigs  `json:"bare"`
	Memory     memFigs   `json:"memory"`
	Summary    string    `json:"summary"`
	At         time.Time `json:"at"`
	Then       *Report   `json:"then,omitempty"` // a second phase with another think time
}

type rateFigs struct {
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

type memFigs struct {
	Process     string      `json:"process"`
	PeakRSSMB   float64     `json:"peak_rss_mb"`
	EndRSSMB    float64     `json:"end_rss_mb"`
	PeakHeapMB  float64     `json:"peak_heap_mb,omitempty"`
	BeforeRSSMB float64     `json:"before_rss_mb"`
	Steady      *steady     `json:"steady,omitempty"` // flatness after the warm-up
	Timeline    []memSample `json:"timeline"`
}

func run(ctx context.Context, c config, out io.Writer) (*Report, error) {
	sc, ok := scales[c.scale]
	if !ok {
		return nil, fmt.Errorf("unknown scale %q: small, medium or province", c.scale)
	}
	if c.clients <= 0 {
		c.clients = 200
		if sc.name == "small" {
			c.clients = 16
		}
	}
	if c.requests <= 0 {
		c.requests = 50 * c.clients
	}
	if c.bareReqs <= 0 {
		c.bareReqs = min(c.requests, 100*c.clients)
	}
	if c.every <= 0 {
		c.every = 30 * time.Second
	}
	if c.url != "" {
		if err := loopback(c.url); err != nil {
			return nil, err
		}
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	db, dsn, cleanup, err := openFresh(ctx, c, "world")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep := &Report{Scale: sc.name, Database: db.Dialect.Name(), Clients: c.clients, At: time.Now().UTC()}

	logf("generating the %s province on %s", sc.name, db.Dialect.Name())
	start := time.Now()
	w, err := generate(ctx, db, sc, c.seed, logf)
	if err != nil {
		return nil, err
	}
	gen := time.Since(start)
	rep.Generation, rep.GenSeconds = w.steps, gen.Seconds()
	logf("generated in %s", gen.Round(time.Millisecond))
	if db.IsPostgres() {
		if err := vacuum(ctx, dsn); err != nil {
			return nil, err
		}
	}

	if !c.noRaw {
		raw, _, cleanRaw, err := openFresh(ctx, c, "raw")
		if err != nil {
			return nil, err
		}
		d, n, err := rawCopy(ctx, db, raw)
		raw.Close()
		cleanRaw()
		if err != nil {
			return nil, err
		}
		rep.RawSeconds, rep.RawRows, rep.GenRatio = d.Seconds(), n, gen.Seconds()/d.Seconds()
		logf("baseline: the same %d rows inserted with raw SQL in %s", n, d.Round(time.Millisecond))
	}

	rng := rand.New(rand.NewPCG(c.seed, 77))
	// Claims to review: the review share of the requests, and some to spare; for a phase bounded
	// by time, no more than it could use at 1,500 requests a second (each is filed through the
	// service beforehand, and a quarter of a million take minutes).
	expected := min(c.requests, int(1500*c.duration.Seconds()))
	if c.then {
		expected *= 2
	}
	reviews := expected * 10 / 100 * 12 / 10
	lp, err := prepare(ctx, db, w, c.clients, reviews, rng)
	if err != nil {
		return nil, err
	}
	logf("load accounts: %d members, %d reviewers, %d claims waiting for review", len(lp.members), len(lp.staff), reviews)

	bare, err := bareServer(ctx, db)
	if err != nil {
		return nil, err
	}
	defer bare.close()
	base, pid, heap := c.url, c.pid, func() int64 { return -1 }
	switch {
	case c.serve != "":
		logPath := filepath.Join(os.TempDir(), fmt.Sprintf("grassroots-bench-serve-%d.log", os.Getpid()))
		srv, spid, err := serveProcess(ctx, c.serve, dsn, c.addr, logPath)
		if err != nil {
			return nil, err
		}
		defer srv.close()
		base, pid, heap = srv.url, spid, scrapedHeap(srv.url)
		rep.Memory.Process = fmt.Sprintf("server process of its own (%s serve, pid %d)", c.serve, pid)
	case base == "":
		srv, err := startServer(db)
		if err != nil {
			return nil, err
		}
		defer srv.close()
		base, pid, heap = srv.url, os.Getpid(), inProcessHeap
		rep.Memory.Process = "in-process: server and load driver together"
	default:
		heap = scrapedHeap(base)
		rep.Memory.Process = fmt.Sprintf("server process %d", pid)
	}
	debug.FreeOSMemory() // the generator's garbage is not the server's
	rep.Memory.BeforeRSSMB = mb(rssOf(pid))

	ph := phase{c: c, think: c.think, base: base, pid: pid, heap: heap, dsn: dsn, db: db, lp: lp, w: w, bare: bare, logf: logf,
		workbook: peopleWorkbook(lp.importOrg, 200, int(float64(sc.members)*peoplePerMember)+10)}
	if err := ph.run(ctx, rep); err != nil {
		return nil, err
	}
	rep.Summary = summary(rep)
	printReport(out, rep)
	if c.then {
		// A second phase on the same server and world (as the first left it), with another think time.
		then := &Report{Scale: rep.Scale, Database: rep.Database, Clients: rep.Clients, At: time.Now().UTC()}
		then.Memory.Process = rep.Memory.Process
		then.Memory.BeforeRSSMB = mb(rssOf(pid))
		ph.think, ph.c.cpuProf = c.thenThink, ""
		if err := ph.run(ctx, then); err != nil {
			return nil, err
		}
		then.Summary = summary(then)
		fmt.Fprintln(out)
		printReport(out, then)
		rep.Then = then
		rep.Summary += " || then " + strings.TrimPrefix(then.Summary, "summary ")
	}
	if c.jsonPath != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(c.jsonPath, append(data, '\n'), 0o644); err != nil {
			return rep, err
		}
	}
	fmt.Fprintln(out, rep.Summary)
	return rep, nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func rates(t map[string]*tally, elapsed time.Duration) rateFigs {
	var f rateFigs
	for _, x := range t {
		f.Requests += len(x.latencies)
		f.Errors += x.errors
	}
	f.Seconds = elapsed.Seconds()
	f.PerSecond = float64(f.Requests) / elapsed.Seconds()
	return f
}

// phase is one mixed load and its bare baseline, on a server already running.
type phase struct {
	c     config
	think time.Duration
	base  string
	pid   int
	heap  func() int64
	dsn   string
	db    *store.DB
	lp    *loadPrep
	w     *world
	bare  *httpServer
	logf  func(string, ...any)
	// workbook makes the import's uploads, new people in each, across phases.
	workbook func(n int) []byte
}

// run drives the mixed load and then the bare baseline, and fills rep's load, baseline, rates
// and memory.
func (ph *phase) run(ctx context.Context, rep *Report) error {
	base, pid, heap, dsn, db, lp, w, bare, logf := ph.base, ph.pid, ph.heap, ph.dsn, ph.db, ph.lp, ph.w, ph.bare, ph.logf
	rep.ThinkMS = float64(ph.think.Microseconds()) / 1000
	wls := workloads(w)
	think := "back to back (no think time)"
	if ph.think > 0 {
		think = fmt.Sprintf("each pausing %s on average between requests (exponential)", ph.think)
	}
	logf("mixed load: %d clients %s, %d requests, at most %s, a people import running meanwhile", ph.c.clients, think, ph.c.requests, ph.c.duration)
	wal := ""
	if !db.IsPostgres() {
		wal = strings.TrimPrefix(dsn, "sqlite:") + "-wal"
	}
	var answered atomic.Int64
	mem := sampleMemory(pid, heap, wal, &answered, ph.c.every, logf)
	if ph.c.cpuProf != "" {
		f, err := os.Create(ph.c.cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	tallies, elapsed := drive(ctx, base, lp, wls, ph.c.clients, ph.c.requests, ph.c.duration, ph.c.seed, ph.think, &answered,
		ph.workbook)
	mem.finish()
	if ph.c.cpuProf != "" {
		pprof.StopCPUProfile()
	}
	rep.Memory.PeakRSSMB, rep.Memory.EndRSSMB, rep.Memory.PeakHeapMB = mb(mem.peakRSS), mb(mem.lastRSS), mb(mem.peakHeap)
	rep.Memory.Timeline, rep.Memory.Steady = mem.samples, mem.steady(ph.c.warmup)

	logf("bare baseline: the same clients and requests on a bare handler doing one single-row read or write")
	readW, writeW := 0, 0
	for _, wl := range wls {
		if wl.write {
			writeW += wl.weight
		} else {
			readW += wl.weight
		}
	}
	bareTallies, bareElapsed := drive(ctx, bare.url, lp, bareWorkloads(readW, writeW, w), ph.c.clients, ph.c.bareReqs, ph.c.duration, ph.c.seed,
		ph.think, new(atomic.Int64), nil)
	bareRead := bareTallies["bare_read"].result("bare_read", bareElapsed)
	bareWrite := bareTallies["bare_write"].result("bare_write", bareElapsed)
	rep.Baseline = []Result{bareRead, bareWrite}
	rep.Bare = rates(bareTallies, bareElapsed)
	rep.Mixed = rates(tallies, elapsed)

	names := []string{}
	for _, wl := range wls {
		names = append(names, wl.name)
	}
	if _, ok := tallies["import"]; ok {
		names = append(names, "import")
	}
	writes := map[string]bool{"import": true}
	for _, wl := range wls {
		writes[wl.name] = wl.write
	}
	for _, name := range names {
		r := tallies[name].result(name, elapsed)
		b := bareRead
		if writes[name] {
			b = bareWrite
		}
		r.Baseline = b.Name
		if b.P50ms > 0 && r.Requests > 0 {
			r.P50Ratio, r.P99Ratio = r.P50ms/b.P50ms, r.P99ms/b.P99ms
		}
		rep.Load = append(rep.Load, r)
	}
	return nil
}

// summary is the last line: every ratio against its baseline.
func summary(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "summary %s/%s, %d clients", rep.Scale, rep.Database, rep.Clients)
	if rep.ThinkMS > 0 {
		fmt.Fprintf(&b, " thinking %.0f ms", rep.ThinkMS)
	}
	b.WriteString(":")
	if rep.RawSeconds > 0 {
		fmt.Fprintf(&b, " generator %.1fx raw SQL (%.1fs vs %.1fs);", rep.GenRatio, rep.GenSeconds, rep.RawSeconds)
	}
	fmt.Fprintf(&b, " throughput %.0f vs bare %.0f req/s (%.2fx);", rep.Mixed.PerSecond, rep.Bare.PerSecond, rep.Mixed.PerSecond/rep.Bare.PerSecond)
	fmt.Fprintf(&b, " p99 vs bare:")
	for _, r := range rep.Load {
		fmt.Fprintf(&b, " %s %.1fx", r.Name, r.P99Ratio)
	}
	fmt.Fprintf(&b, "; errors %d; peak RSS %.0f MB", rep.Mixed.Errors, rep.Memory.PeakRSSMB)
	if st := rep.Memory.Steady; st != nil {
		fmt.Fprintf(&b, ", after %.0fs warm-up %.0f–%.0f MB (spread %.1f%%)", st.WarmupSeconds, st.MinMB, st.MaxMB, 100*st.Spread)
	}
	return b.String()
}

func printReport(out io.Writer, rep *Report) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(rep.Generation) > 0 { // a second phase has none of its own
		fmt.Fprintln(tw, "generation\trows\tseconds\t")
		for _, s := range rep.Generation {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t\n", s.Name, s.Rows, s.Seconds)
		}
		fmt.Fprintf(tw, "total\t\t%.2f\t\n", rep.GenSeconds)
		if rep.RawSeconds > 0 {
			fmt.Fprintf(tw, "raw SQL baseline\t%d\t%.2f\t\n", rep.RawRows, rep.RawSeconds)
		}
		tw.Flush()
		fmt.Fprintln(out)
	}
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\trequests\terrors\treq/s\tp50 ms\tp95 ms\tp99 ms\tbaseline\tp50 ×\tp99 ×\t")
	for _, r := range append(append([]Result{}, rep.Load...), rep.Baseline...) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%.1f\t%.1f\t\n", r.Name, r.Requests, r.Errors, r.PerSecond,
			r.P50ms, r.P95ms, r.P99ms, r.Baseline, r.P50Ratio, r.P99Ratio)
	}
	tw.Flush()
	for _, r := range rep.Load {
		if r.FirstError != "" {
			fmt.Fprintf(out, "first error of %s: %s\n", r.Name, r.FirstError)
		}
	}
	fmt.Fprintf(out, "\nmixed %d requests in %.1fs (%.0f/s), %d errors; bare %d in %.1fs (%.0f/s)\n", rep.Mixed.Requests,
		rep.Mixed.Seconds, rep.Mixed.PerSecond, rep.Mixed.Errors, rep.Bare.Requests, rep.Bare.Seconds, rep.Bare.PerSecond)
	fmt.Fprintf(out, "memory (%s): RSS %.0f MB before, peak %.0f MB, end %.0f MB; peak Go heap %.0f MB\n", rep.Memory.Process,
		rep.Memory.BeforeRSSMB, rep.Memory.PeakRSSMB, rep.Memory.EndRSSMB, rep.Memory.PeakHeapMB)
	if st := rep.Memory.Steady; st != nil {
		fmt.Fprintf(out, "memory after the first %.0fs (warm-up), %d samples: first %.0f MB, lowest %.0f, highest %.0f, last %.0f; spread %.1f%%\n",
			st.WarmupSeconds, st.Samples, st.FirstMB, st.MinMB, st.MaxMB, st.LastMB, 100*st.Spread)
	}
}

// loopback refuses any -url that is not this machine.
func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %s is not loopback: the load driver only drives this machine", raw)
}

// openFresh opens an empty, migrated database for role ("world" or "raw"): on PostgreSQL a new
// schema in the DSN's database, on SQLite a new file (beside -db, or in a temporary directory).
func openFresh(ctx context.Context, c config, role string) (*store.DB, string, func(), error) {
	dsn, drop := c.db, func() {}
	if strings.HasPrefix(c.db, "postgres://") || strings.HasPrefix(c.db, "postgresql://") {
		schema := fmt.Sprintf("bench_%s_%s_%d", c.scale, role, time.Now().UnixNano())
		conn, err := pgx.Connect(ctx, c.db)
		if err != nil {
			return nil, "", nil, err
		}
		_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
		conn.Close(ctx)
		if err != nil {
			return nil, "", nil, err
		}
		dsn = withSearchPath(c.db, schema)
		if !c.keep {
			drop = func() {
				conn, err := pgx.Connect(context.Background(), c.db)
				if err == nil {
					conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
					conn.Close(context.Background())
				}
			}
		}
	} else {
		dir := ""
		if c.db == "" {
			d, err := os.MkdirTemp("", "grassroots-bench-")
			if err != nil {
				return nil, "", nil, err
			}
			dir, dsn = d, filepath.Join(d, "world.db")
			drop = func() { os.RemoveAll(d) }
		}
		if role != "world" {
			if dir == "" {
				dir = filepath.Dir(dsn)
			}
			dsn = filepath.Join(dir, fmt.Sprintf("bench-%s-%d.db", role, time.Now().UnixNano()))
			prev := drop
			drop = func() {
				for _, suffix := range []string{"", "-wal", "-shm"} {
					os.Remove(dsn + suffix)
				}
				prev()
			}
		} else if c.db != "" {
			if _, err := os.Stat(c.db); err == nil {
				return nil, "", nil, fmt.Errorf("%s exists: the generator writes a new file", c.db)
			}
		}
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	if err := db.Migrate(ctx, migrations...); err != nil {
		db.Close()
		drop()
		return nil, "", nil, err
	}
	return db, dsn, func() { db.Close(); drop() }, nil
}

func withSearchPath(dsn, schema string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// vacuum does what autovacuum does to freshly loaded tables within minutes: statistics for the
// planner and the visibility map. VACUUM cannot run in a transaction: a connection of its own.
func vacuum(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// The world's tables only: the database may hold other schemas.
	_, err = conn.Exec(ctx, "VACUUM ANALYZE "+strings.Join(worldTables, ", "))
	return err
}

type httpServer struct {
	url   string
	close func()
}

// startServer serves the platform as `grassroots serve` does (newApp, server) on a loopback
// port: every room registered, the same timeouts.
func startServer(db *store.DB) (*httpServer, error) {
	orgs := org.NewService(db)
	srv := web.New(web.Config{DB: db, Auth: auth.NewService(db), Org: orgs, Migrations: migrations,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	passbook.Register(srv, passbook.NewService(db), orgs)
	appraisal.Register(srv, appraisal.NewService(db), orgs)
	return serveOn(srv.Handler())
}

func serveOn(h http.Handler) (*httpServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	go hs.Serve(ln)
	return &httpServer{url: "http://" + ln.Addr().String(), close: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}}, nil
}

// bareServer is the HTTP baseline: a handler with no authentication, no service and no audit,
// doing one single-row read by key, or one single-row insert in its own write transaction,
// on the same database.
func bareServer(ctx context.Context, db *store.DB) (*httpServer, error) {
	err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_bare (n BIGINT NOT NULL, note TEXT NOT NULL, at TEXT NOT NULL)`)
		return err
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bare/read", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
		var balance int64
		err := db.QueryRow(r.Context(), `SELECT balance FROM pb_accounts WHERE id = ?`, id).Scan(&balance)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		web.WriteJSON(w, 200, map[string]int64{"balance": balance})
	})
	mux.HandleFunc("POST /bare/write", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ N int64 }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			http.Error(w, err.Error(), 400)
			return
		}
		err := db.Write(r.Context(), func(tx *store.Tx) error {
			_, err := tx.Exec(r.Context(), `INSERT INTO bench_bare (n, note, at) VALUES (?, ?, ?)`, in.N, "负载测试", store.FormatTime(tx.Now()))
			return err
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		web.WriteJSON(w, 201, map[string]int64{"n": in.N})
	})
	return serveOn(mux)
}

func bareWorkloads(readW, writeW int, w *world) []workload {
	return []workload{
		{name: "bare_read", weight: readW, status: 200, request: func(c *client) *http.Request {
			return get(c, c.member, "/bare/read?id="+strconv.Itoa(1+c.rng.IntN(2*len(w.passbook))))
		}},
		{name: "bare_write", weight: writeW, write: true, status: 201, request: func(c *client) *http.Request {
			return postJSON(c, c.member, "/bare/write", map[string]int{"n": c.id})
		}},
	}
}
