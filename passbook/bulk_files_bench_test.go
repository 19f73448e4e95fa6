package passbook

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/store"
	"grassroots/store/storetest"
)

// BenchmarkPostApprovedFiles posts four files of approved claims one after another into the
// same world, as a county or a province generator does month after month: 100,000 claims a
// file over 10,000 passbooks, or with GRASSROOTS_BENCH_BIG=1 over 100,000. Each file should
// take about as long as the one before; on PostgreSQL the third and fourth once took 6–9×
// the first, when a statement's generic plan went bad as the tables grew.
//
//	GRASSROOTS_BENCH_BIG=1 GRASSROOTS_TEST_POSTGRES=… go test ./passbook/ -run '^$' -bench PostApprovedFiles -benchtime 1x -timeout 1h
func BenchmarkPostApprovedFiles(b *testing.B) {
	passbooks := 10_000
	if os.Getenv("GRASSROOTS_BENCH_BIG") == "1" {
		passbooks = 100_000
	}
	b.Run("sqlite", func(b *testing.B) {
		benchPostApprovedFiles(b, storetest.SQLite(b, migrations...), passbooks)
	})
	if os.Getenv(storetest.EnvPostgres) != "" {
		b.Run("postgres", func(b *testing.B) {
			benchPostApprovedFiles(b, storetest.Postgres(b, migrations...), passbooks)
		})
	}
}

func benchPostApprovedFiles(b *testing.B, db *store.DB, passbooks int) {
	const files, rows = 4, 100_000
	w := buildBenchWorld(b, db, passbooks)
	svc := NewService(db)
	benchCatalog(b, svc)
	sys := auth.System()
	for b.Loop() {
		var first time.Duration
		for k := range files {
			file := benchApprovedFile(rows, w.passbooks, uint64(k))
			start := time.Now()
			f, err := ReadApproved(bytes.NewReader(file), fmt.Sprintf("approved-%d.csv", k), int64(len(file)))
			if err != nil {
				b.Fatal(err)
			}
			res, err := svc.PostApproved(ctx, sys, f)
			if err != nil {
				b.Fatalf("file %d: %v %v", k+1, err, res.Problems)
			}
			if res.Posted != rows {
				b.Fatalf("file %d: posted %d of %d", k+1, res.Posted, rows)
			}
			took := time.Since(start)
			if k == 0 {
				first = took
			}
			b.ReportMetric(took.Seconds(), fmt.Sprintf("file%d-s", k+1))
			if k == files-1 {
				b.ReportMetric(took.Seconds()/first.Seconds(), "last/first")
			}
		}
	}
}
