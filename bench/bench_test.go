package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"grassroots/auth"
)

// TestSmallProvince runs the small scale end to end, so CI proves the generator and the driver
// work: the world is as big as the scale says, every workload was exercised without an error,
// and the last line printed is the summary of the ratios. It runs on PostgreSQL too when
// GRASSROOTS_TEST_POSTGRES holds a DSN (in a fresh schema, dropped afterwards).
func TestSmallProvince(t *testing.T) {
	auth.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	dbs := map[string]string{"sqlite": filepath.Join(t.TempDir(), "small.db")}
	if dsn := os.Getenv("GRASSROOTS_TEST_POSTGRES"); dsn != "" {
		dbs["postgres"] = dsn
	}
	for name, dsn := range dbs {
		t.Run(name, func(t *testing.T) {
			jsonPath := filepath.Join(t.TempDir(), "small.json")
			var out bytes.Buffer
			// The request count bounds the load, not the clock: on a machine busy with the other
			// packages' tests a 30-second phase could end before every workload had its turn.
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			rep, err := run(ctx, config{scale: "small", db: dsn, clients: 8, requests: 400, duration: 3 * time.Minute,
				seed: 1, jsonPath: jsonPath, then: true, thenThink: 5 * time.Millisecond}, &out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "summary small/") || !strings.Contains(last, "x raw SQL") ||
				!strings.Contains(last, "|| then small/sqlite, 8 clients thinking 5 ms:") && !strings.Contains(last, "|| then small/postgres, 8 clients thinking 5 ms:") {
				t.Errorf("last line: %q", last)
			}
			var world struct{ members, passbooks, postings, orgs int }
			sc := scales["small"]
			if rep.RawRows == 0 || rep.GenRatio <= 0 {
				t.Errorf("no raw-SQL baseline: %+v", rep)
			}
			for _, s := range rep.Generation {
				switch s.Name {
				case "orgs":
					world.orgs = s.Rows
				case "passbooks":
					world.passbooks = s.Rows
				case "postings":
					world.postings = s.Rows
				}
			}
			if world.orgs != 1+2+4+8+40 || world.passbooks != sc.members || world.postings != sc.postings {
				t.Errorf("world = %+v", world)
			}
			seen := map[string]bool{}
			for _, r := range rep.Load {
				seen[r.Name] = r.Requests > 0
				if r.Errors > 0 {
					t.Errorf("%s: %d errors, the first: %s", r.Name, r.Errors, r.FirstError)
				}
				if r.Requests > 0 && (r.P99ms <= 0 || r.P99Ratio <= 0) {
					t.Errorf("%s: no latency or ratio: %+v", r.Name, r)
				}
			}
			for _, name := range []string{"balance", "rank", "claim", "claims_list", "review_post", "redeem", "township_ranking", "report_page", "statement", "import"} {
				if !seen[name] {
					t.Errorf("workload %s was not exercised", name)
				}
			}
			// The second phase, with clients pausing between requests, on the same world.
			if th := rep.Then; th == nil || th.ThinkMS != 5 || th.Mixed.Requests < 400 || th.Mixed.Errors > 0 || len(th.Memory.Timeline) < 2 {
				t.Errorf("second phase: mixed %+v, think %v ms, %d memory samples", th.Mixed, th.ThinkMS, len(th.Memory.Timeline))
				for _, r := range th.Load {
					if r.Errors > 0 {
						t.Errorf("second phase %s: %d errors, the first: %s", r.Name, r.Errors, r.FirstError)
					}
				}
			}
			if rep.Bare.Requests != 400 || rep.Bare.Errors > 0 || rep.Memory.PeakRSSMB <= 0 {
				t.Errorf("bare %+v, memory %+v", rep.Bare, rep.Memory)
			}
			data, err := os.ReadFile(jsonPath)
			if err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(data, &back); err != nil || back.Summary != rep.Summary {
				t.Errorf("JSON report: %v, summary %q", err, back.Summary)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"} {
		if err := loopback(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "https://example.com"} {
		if err := loopback(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}
