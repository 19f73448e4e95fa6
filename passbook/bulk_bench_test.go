package passbook

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/store"
	"grassroots/store/storetest"
)

// BenchmarkPostApproved posts a file of approved claims over the rankings' synthetic
// prefecture: 100,000 rows over 10,000 passbooks, or with GRASSROOTS_BENCH_BIG=1 a million rows
// over 100,000 passbooks (the issue's target: ≤ 30 s on SQLite). Rows come in random order of
// passbook and date over 2026: 90 % hours of 志愿服务, 9.9 % capped patrols, 0.1 % deductions.
//
//	go test ./passbook/ -run '^$' -bench PostApproved -benchtime 1x
//	GRASSROOTS_BENCH_BIG=1 GRASSROOTS_TEST_POSTGRES=… go test ./passbook/ -run '^$' -bench PostApproved -benchtime 1x -timeout 1h
//
// The baseline, measured in the same process on a second copy of the same world: the same
// entry rows written and committed with the same driver's batched insert (CopyFunc: COPY on
// PostgreSQL, prepared multi-row INSERTs on SQLite) into pb_entries; the transactions they
// refer to go in first, untimed. The ratio is baseline time / posting time: the target is at
// least 0.5.
func BenchmarkPostApproved(b *testing.B) {
	rows := 100_000
	if os.Getenv("GRASSROOTS_BENCH_BIG") == "1" {
		rows = 1_000_000
	}
	b.Run("sqlite", func(b *testing.B) {
		benchPostApproved(b, func() *store.DB { return storetest.SQLite(b, migrations...) }, rows)
	})
	if os.Getenv(storetest.EnvPostgres) != "" {
		b.Run("postgres", func(b *testing.B) {
			benchPostApproved(b, func() *store.DB { return storetest.Postgres(b, migrations...) }, rows)
		})
	}
}

// benchPostApproved builds the world twice: once for the baseline, once for the posting.
func benchPostApproved(b *testing.B, open func() *store.DB, rows int) {
	baseline := rawEntriesBaseline(b, open(), rows)
	db := open()
	w := buildBenchWorld(b, db, rows/10)
	svc := NewService(db)
	sys := auth.System()
	benchCatalog(b, svc)
	file := benchApprovedFile(rows, w.passbooks, 0)

	honor, deposit := benchBalances(b, db)
	var res BulkResult
	for b.Loop() {
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		f, err := ReadApproved(bytes.NewReader(file), "approved.csv", int64(len(file)))
		if err != nil {
			b.Fatal(err)
		}
		read := time.Since(start)
		res, err = svc.PostApproved(ctx, sys, f)
		if err != nil {
			b.Fatalf("%v %v", err, res.Problems)
		}
		posting := time.Since(start) - read
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if res.Posted != rows {
			b.Fatalf("posted %d of %d", res.Posted, rows)
		}
		b.ReportMetric(read.Seconds(), "read-s")
		b.ReportMetric(posting.Seconds(), "post-s")
		b.ReportMetric(float64(rows)/posting.Seconds(), "claims/s")
		b.ReportMetric(baseline.Seconds(), "raw-entries-s")
		b.ReportMetric(baseline.Seconds()/posting.Seconds(), "ratio")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "alloc-MB")
	}
	// The world's opening balances have no entries behind them, so Verify would not pass;
	// check what the posting did instead: every transaction balances and the balances moved by
	// what it reports.
	var unbalanced int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT tx_id FROM pb_entries GROUP BY tx_id, asset HAVING SUM(amount) <> 0) u`).Scan(&unbalanced); err != nil || unbalanced > 0 {
		b.Fatalf("%d unbalanced transactions, %v", unbalanced, err)
	}
	if h, d := benchBalances(b, db); h-honor != res.Points || d-deposit != res.Fen {
		b.Fatalf("balances moved by %d points and %d fen, the posting says %d and %d", h-honor, d-deposit, res.Points, res.Fen)
	}
}

// benchCatalog gives the world's prefecture deposits expiring at the end of the year and three
// items: hours of 志愿服务, capped patrols and a deduction.
func benchCatalog(b *testing.B, svc *Service) {
	sys := auth.System()
	set := DefaultSettings
	set.DepositExpiry = "year_end"
	if _, err := svc.SetSettings(ctx, sys, 1, set); err != nil {
		b.Fatal(err)
	}
	hours := ItemTerms{Name: "志愿服务", Category: "志愿服务", Points: 2, Unit: UnitHour, MaxPerClaim: 4, ValidFrom: "2026-01-01"}
	patrol := ItemTerms{Name: "治安巡逻", Category: "维护社会稳定", Points: 1, Unit: UnitOccasion, MaxPerClaim: 1, CapMonth: 20, ValidFrom: "2026-01-01"}
	litter := ItemTerms{Name: "乱扔垃圾", Category: CategoryDeduction, Points: -1, Unit: UnitOccasion, MaxPerClaim: 1, ValidFrom: "2026-01-01"}
	for code, terms := range map[string]ItemTerms{"V01": hours, "P01": patrol, "K01": litter} {
		if _, err := svc.CreateItem(ctx, sys, ItemInput{OrgID: 1, Code: code, ItemTerms: terms}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBalances(b *testing.B, db *store.DB) (honor, deposit int64) {
	err := db.QueryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN kind = 'honor' THEN balance END), 0),
		COALESCE(SUM(CASE WHEN kind = 'deposit' THEN balance END), 0) FROM pb_accounts`).Scan(&honor, &deposit)
	if err != nil {
		b.Fatal(err)
	}
	return honor, deposit
}

// benchApprovedFile is a CSV of n approved claims over the passbooks P00000001… in random order,
// a different file for each seed.
func benchApprovedFile(n, passbooks int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(3+seed, 5))
	var buf bytes.Buffer
	buf.WriteString("存折号,身份证号,事项编码,日期,数量,备注\n")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range n {
		date := start.AddDate(0, 0, rng.IntN(330)).Format(store.DateLayout)
		code, quantity := "V01", 1+rng.IntN(4)
		switch r := rng.IntN(1000); {
		case r == 0:
			code, quantity = "K01", 1
		case r < 100:
			code, quantity = "P01", 1
		}
		fmt.Fprintf(&buf, "P%08d,,%s,%s,%d,\n", 1+rng.IntN(passbooks), code, date, quantity)
	}
	return buf.Bytes()
}

func rawEntriesBaseline(b *testing.B, db *store.DB, n int) time.Duration {
	w := buildBenchWorld(b, db, n/10)
	community := map[int64]orgAccounts{}
	err := db.Write(ctx, func(tx *store.Tx) error {
		for _, c := range w.communities {
			acc, err := ensureOrgAccounts(ctx, tx, c.id)
			if err != nil {
				return err
			}
			community[c.id] = acc
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	orgOf := func(pb int64) int64 { return w.communities[(int(pb)-1)*len(w.communities)/w.passbooks].id }
	passbookOf := func(i int) int64 { return int64(i*w.passbooks/n) + 1 } // by passbook, as the posting writes
	var txIDs []int64
	err = db.Write(ctx, func(tx *store.Tx) error {
		dialect := tx.DB().Dialect
		var err error
		txIDs, err = dialect.ReserveIDs(ctx, tx, "pb_transactions", n)
		if err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		err = dialect.CopyFunc(ctx, tx, "pb_transactions", []string{"id", "org_id", "passbook_id", "kind", "memo", "business_date", "actor", "created_at"},
			n, func(i int, v []any) {
				pb := passbookOf(i)
				v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] = txIDs[i], orgOf(pb), pb, TxEarn, "志愿服务 2小时", "2026-06-01", "系统", now
			})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	err = db.Write(ctx, func(tx *store.Tx) error {
		return tx.DB().Dialect.CopyFunc(ctx, tx, "pb_entries", []string{"tx_id", "account_id", "asset", "amount", "balance_after"},
			4*n, func(i int, v []any) {
				pb := passbookOf(i / 4)
				acc := community[orgOf(pb)]
				v[0] = txIDs[i/4]
				switch i % 4 {
				case 0:
					v[1], v[2], v[3], v[4] = 2*pb-1, string(Points), int64(4), int64(i)
				case 1:
					v[1], v[2], v[3], v[4] = acc.issuePoints, string(Points), int64(-4), nil
				case 2:
					v[1], v[2], v[3], v[4] = 2*pb, string(Fen), int64(400), int64(100*i)
				case 3:
					v[1], v[2], v[3], v[4] = acc.issueFen, string(Fen), int64(-400), nil
				}
			})
	})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}
