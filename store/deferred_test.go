package store_test

import (
	"context"
	"testing"

	"grassroots/store"
	"grassroots/store/storetest"
)

func TestDeferredStatements(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		count := func(t *testing.T, where string) int {
			t.Helper()
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM things WHERE `+where).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		t.Run("run in order before what reads them, and commit", func(t *testing.T) {
			err := db.Write(ctx, func(tx *store.Tx) error {
				for i, name := range []string{"d1", "d2", "d3"} {
					if err := tx.Defer(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, name, i); err != nil {
						return err
					}
				}
				if err := tx.Defer(ctx, `UPDATE things SET n = n + 10 WHERE name = ?`, "d1"); err != nil {
					return err
				}
				res, err := tx.Exec(ctx, `UPDATE things SET tag = 'seen' WHERE name LIKE 'd%'`)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil || n != 3 {
					t.Errorf("an Exec after deferred inserts affected %d rows (%v), want 3", n, err)
				}
				if got, err := tx.DB().Dialect.TrySerialize(ctx, tx, 42); err != nil || !got {
					t.Errorf("a lock after a deferred statement: %v %v", got, err)
				}
				tx.Defer(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "d4", 4)
				var n int
				if err := tx.QueryRow(ctx, `SELECT n FROM things WHERE name = ?`, "d1").Scan(&n); err != nil || n != 10 {
					t.Errorf("d1 read in the transaction: %d, %v; want 10", n, err)
				}
				return tx.Defer(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "d5", 5)
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := count(t, `name LIKE 'd%'`); n != 5 {
				t.Fatalf("%d rows committed, want 5", n)
			}
		})

		t.Run("a failure rolls everything back", func(t *testing.T) {
			err := db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "e1", 1); err != nil {
					return err
				}
				tx.Defer(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "e2", 2)
				return tx.Defer(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "d1", 3) // taken
			})
			if err == nil || !db.Dialect.IsUniqueViolation(err) {
				t.Fatalf("a deferred duplicate: %v, want a unique violation", err)
			}
			if n := count(t, `name LIKE 'e%'`); n != 0 {
				t.Fatalf("%d rows of a failed transaction committed", n)
			}

			// The failure surfaces where the statement runs: at Defer on SQLite, at the next Exec
			// on PostgreSQL.
			err = db.Write(ctx, func(tx *store.Tx) error {
				if err := tx.Defer(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "d2", 3); err != nil { // taken
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "e3", 3); err != nil {
					return err
				}
				t.Error("an Exec after a failing deferred statement succeeded")
				return nil
			})
			if !db.Dialect.IsUniqueViolation(err) {
				t.Fatalf("the Exec after a deferred duplicate: %v", err)
			}
			if n := count(t, `name LIKE 'e%'`); n != 0 {
				t.Fatalf("%d rows of a failed transaction committed", n)
			}
		})
	}, testSchema)
}

// Serialize queues its lock for the next statement: from then on the lock is held, and a
// second transaction cannot take it.
func TestDeferredLocksAreHeldFromTheNextStatement(t *testing.T) {
	ctx := context.Background()
	db := storetest.Postgres(t, testSchema)
	for _, shared := range []bool{false, true} {
		err := db.Write(ctx, func(tx *store.Tx) error {
			take := db.Dialect.Serialize
			if shared {
				take = db.Dialect.SerializeShared
			}
			if err := take(ctx, tx, 7); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE things SET n = n WHERE name = ?`, "none"); err != nil {
				return err
			}
			return db.Write(ctx, func(other *store.Tx) error {
				got, err := db.Dialect.TrySerialize(ctx, other, 7)
				if err == nil && got {
					t.Errorf("shared %v: a second transaction took the lock the first holds", shared)
				}
				return err
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
