package store_test

import (
	"context"
	"testing"

	"grassroots/store"
	"grassroots/store/storetest"
)

// BenchmarkWriteTx is a use case's shape: a write transaction of a dozen small statements.
// The baseline is the same statements' work done as one bare UPDATE in its own transaction.
func BenchmarkWriteTx(b *testing.B) {
	run := func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO things (name, n) VALUES ('counter', 0)`)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		b.Run("use-case", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				err := db.Write(ctx, func(tx *store.Tx) error {
					for j := 0; j < 4; j++ {
						var n int64
						if err := tx.QueryRow(ctx, `SELECT n FROM things WHERE name = ?`, "counter").Scan(&n); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, `UPDATE things SET n = ? WHERE name = ?`, n+1, "counter"); err != nil {
							return err
						}
						if _, err := tx.Insert(ctx, `INSERT INTO notes (body) VALUES (?)`, "note"); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("baseline", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := db.Write(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, `UPDATE things SET n = n + 1 WHERE name = 'counter'`)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("sqlite", func(b *testing.B) { run(b, storetest.SQLite(b, testSchema)) })
	b.Run("postgres", func(b *testing.B) { run(b, storetest.Postgres(b, testSchema)) })
}
