package passbook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/store"
	"grassroots/store/storetest"
)

// benchDatabases opens each database a benchmark runs on: SQLite always, PostgreSQL when
// GRASSROOTS_TEST_POSTGRES is set.
var benchDatabases = []struct {
	name string
	open func(testing.TB, ...store.Migrations) *store.DB
}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}}

// BenchmarkPlaceOrder places single orders through the service, one after another. The
// baseline is a bare write transaction of one UPDATE on the same database, the floor any use
// case pays; compare ns/op of the two.
func BenchmarkPlaceOrder(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			w := newStoreWorld(b, d.open(b, migrations...), storeSettings, 1)
			m := w.members[0]
			w.fund(b, m.pb, 1_000_000, "2026-03-01")
			towel := w.reward(b, w.c1, "毛巾", 1, maxStock)
			b.Run("order", func(b *testing.B) {
				for b.Loop() {
					if _, err := w.svc.PlaceOrder(ctx, m.p, "", OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("baseline", func(b *testing.B) {
				for b.Loop() {
					err := w.db.Write(ctx, func(tx *store.Tx) error {
						_, err := tx.Exec(ctx, `UPDATE pb_rewards SET updated_at = updated_at WHERE id = ?`, towel.ID)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkPlaceOrderHTTP places orders over HTTP from 64 members at once, each signed in on
// their own session, through the whole server (sessions, permissions, JSON, idempotency keys).
// It reports orders per second and the 99th percentile latency; the baseline is the same load
// on /healthz.
func BenchmarkPlaceOrderHTTP(b *testing.B) {
	const clients = 64
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			s := newStoreSite(b, d.open(b, migrations...), clients)
			towel := s.reward(b, s.c1, "毛巾", 1, maxStock)
			transport := &http.Transport{MaxIdleConnsPerHost: clients}
			sessions := make([]*siteClient, clients)
			for i, m := range s.members {
				s.fund(b, m.pb, 100_000, "2026-03-01")
				sessions[i] = s.account(b, "member"+strconv.Itoa(i), auth.RoleMember, s.c1, m.pb.PersonID)
				sessions[i].http.Transport = transport
			}
			b.Run("order", func(b *testing.B) {
				var key atomic.Int64
				loadStore(b, clients, func(i int) *http.Request {
					m := s.members[i]
					body, _ := json.Marshal(OrderInput{PassbookID: m.pb.ID, RewardID: towel.ID, Quantity: 1})
					req, _ := http.NewRequest("POST", s.ts.URL+"/api/v1/passbook/orders", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(key.Add(1), 10))
					return req
				}, sessions, http.StatusCreated)
			})
			b.Run("baseline", func(b *testing.B) {
				loadStore(b, clients, func(int) *http.Request {
					req, _ := http.NewRequest("GET", s.ts.URL+"/healthz", nil)
					return req
				}, sessions, http.StatusOK)
			})
		})
	}
}

// loadStore sends b.N requests from concurrent clients, each request built for its client, and
// reports throughput and p99 latency.
func loadStore(b *testing.B, clients int, request func(client int) *http.Request, sessions []*siteClient, status int) {
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for {
				n := next.Add(1) - 1
				if n >= int64(b.N) {
					return
				}
				began := time.Now()
				res, err := sessions[c].http.Do(request(c))
				if err != nil {
					b.Error(err)
					return
				}
				res.Body.Close()
				latencies[n] = time.Since(began)
				if res.StatusCode != status {
					b.Errorf("status %d, want %d", res.StatusCode, status)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[(len(latencies)*99)/100].Microseconds())/1000, "p99_ms")
}
