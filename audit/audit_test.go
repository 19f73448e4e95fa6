package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/store"
	"grassroots/store/storetest"
)

func appendN(t *testing.T, db *store.DB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		err := db.Write(ctx, func(tx *store.Tx) error {
			return audit.Append(ctx, tx, audit.Actor{UserID: 7, Name: "admin", IP: "10.0.0.1"}, audit.Event{
				Action: "person.update", EntityType: "person", EntityID: int64(i),
				Summary: map[string]any{"name": []string{"旧名", fmt.Sprintf("新名%d", i)}},
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// behindTheBack runs SQL with the append-only triggers out of the way, as an attacker with
// database access would.
func behindTheBack(t *testing.T, db *store.DB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		var pre, post []string
		if db.IsPostgres() {
			pre = []string{"ALTER TABLE audit_log DISABLE TRIGGER USER"}
			post = []string{"ALTER TABLE audit_log ENABLE TRIGGER USER"}
		} else {
			pre = []string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"}
		}
		for _, s := range append(append(pre, stmts...), post...) {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func wantBroken(t *testing.T, db *store.DB, id int64) {
	t.Helper()
	_, err := audit.Verify(context.Background(), db)
	var b *audit.Broken
	if !errors.As(err, &b) {
		t.Fatalf("Verify = %v, want a broken chain at record %d", err, id)
	}
	if b.ID != id {
		t.Fatalf("Verify names record %d (%s), want %d", b.ID, b.Reason, id)
	}
}

func TestChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		appendN(t, db, 5)

		n, err := audit.Verify(ctx, db)
		if err != nil || n != 5 {
			t.Fatalf("Verify intact chain = %d, %v; want 5, nil", n, err)
		}

		for _, stmt := range []string{"UPDATE audit_log SET actor = 'mallory' WHERE id = 2", "DELETE FROM audit_log WHERE id = 2"} {
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, stmt)
				return err
			})
			if err == nil {
				t.Fatalf("%q was allowed on the audit table", stmt)
			}
		}

		recs, next, err := audit.List(ctx, db, audit.Filter{AllOrgs: true, Limit: 2})
		if err != nil || len(recs) != 2 || recs[0].ID != 5 || next != 4 {
			t.Fatalf("List page 1 = %d records starting %v, next %d, %v", len(recs), recs, next, err)
		}
		recs, _, err = audit.List(ctx, db, audit.Filter{AllOrgs: true, EntityID: 3})
		if err != nil || len(recs) != 1 || string(recs[0].Summary) != `{"name":["旧名","新名3"]}` {
			t.Fatalf("List by entity = %+v, %v", recs, err)
		}
	}, audit.Migrations)
}

func TestTamperingIsDetected(t *testing.T) {
	cases := []struct {
		name  string
		stmts []string
		bad   int64
	}{
		{"altered summary", []string{`UPDATE audit_log SET summary = '{"name":["旧名","篡改"]}' WHERE id = 3`}, 3},
		{"altered actor and rehashed", []string{`UPDATE audit_log SET actor = 'mallory', hash = 'x' WHERE id = 2`}, 2},
		{"deleted record", []string{`DELETE FROM audit_log WHERE id = 3`}, 4},
		{"reordered records", []string{
			`UPDATE audit_log SET id = 100 WHERE id = 2`,
			`UPDATE audit_log SET id = 2 WHERE id = 3`,
			`UPDATE audit_log SET id = 3 WHERE id = 100`,
		}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				appendN(t, db, 5)
				behindTheBack(t, db, c.stmts...)
				wantBroken(t, db, c.bad)
			}, audit.Migrations)
		})
	}
}

// TestConcurrentWritersSpreadOverChains: writers that overlap on PostgreSQL take different
// chains instead of queueing on one, and every chain still verifies.
func TestConcurrentWritersSpreadOverChains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 160)
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					errs <- db.Write(ctx, func(tx *store.Tx) error {
						err := audit.Append(ctx, tx, audit.System, audit.Event{Action: "test.write", EntityType: "thing", EntityID: int64(w*100 + i)})
						time.Sleep(2 * time.Millisecond) // hold the chain as a real use case would
						return err
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		n, err := audit.Verify(ctx, db)
		if err != nil || n != 160 {
			t.Fatalf("Verify = %d, %v; want 160 records, intact", n, err)
		}
		var used int
		db.QueryRow(ctx, `SELECT COUNT(DISTINCT chain) FROM audit_log`).Scan(&used)
		if db.IsPostgres() && used < 2 {
			t.Fatalf("16 overlapping writers used %d chain(s)", used)
		}
		if !db.IsPostgres() && used != 1 {
			t.Fatalf("SQLite's single writer used %d chains", used)
		}
	}, audit.Migrations)
}
