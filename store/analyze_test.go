package store_test

import (
	"context"
	"testing"

	"grassroots/store"
	"grassroots/store/storetest"
)

func TestRefreshStatisticsAnalysesGrownTables(t *testing.T) {
	ctx := context.Background()
	db := storetest.Postgres(t, testSchema)
	add := func(n int) {
		t.Helper()
		err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO notes (body) SELECT 'n' || g FROM generate_series(1, ?::int) g`, n)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	counted := func() float64 {
		t.Helper()
		var n float64
		if err := db.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = to_regclass('notes')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	add(1000)
	if n := counted(); n >= 0 {
		t.Fatalf("notes counted %v rows before any ANALYZE", n)
	}
	db.RefreshStatistics(ctx, map[string]int{"notes": 1000})
	if n := counted(); n != 1000 {
		t.Fatalf("a never analysed table: statistics count %v rows, want 1000", n)
	}
	add(50)
	db.RefreshStatistics(ctx, map[string]int{"notes": 50})
	if n := counted(); n != 1000 {
		t.Fatalf("grown by a twentieth: statistics count %v rows, want the old 1000", n)
	}
	add(200)
	db.RefreshStatistics(ctx, map[string]int{"notes": 200})
	if n := counted(); n != 1250 {
		t.Fatalf("grown by a fifth: statistics count %v rows, want 1250", n)
	}
}
