// Package storetest opens throwaway databases for tests: a SQLite file in a temporary
// directory always, and a fresh schema on the PostgreSQL that GRASSROOTS_TEST_POSTGRES names
// when it is set.
package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"grassroots/store"
)

// EnvPostgres names the environment variable holding the test PostgreSQL DSN.
const EnvPostgres = "GRASSROOTS_TEST_POSTGRES"

// Each runs fn once per available database, as subtests named sqlite and postgres, with the
// given migrations applied.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB), sets ...store.Migrations) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, sets...)) })
	if os.Getenv(EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t, sets...)) })
	}
}

// SQLite opens a migrated SQLite database in a temporary directory.
func SQLite(t testing.TB, sets ...store.Migrations) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db, sets)
	return db
}

// Postgres opens a migrated database in a new schema of the test PostgreSQL, dropped when the
// test ends; the test is skipped when no PostgreSQL is configured.
func Postgres(t testing.TB, sets ...store.Migrations) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db, sets)
	return db
}

// PostgresDSN creates a new, empty schema on the test PostgreSQL and returns a DSN whose
// connections work in it, for tests that hand the database to another process; the schema is
// dropped when the test ends, and the test is skipped when no PostgreSQL is configured.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		t.Skip(EnvPostgres + " not set")
	}
	ctx := context.Background()
	admin, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("t_%d_%d", time.Now().UnixNano(), rand.IntN(1e6))
	if err := admin.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "CREATE SCHEMA "+schema)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := store.Open(context.Background(), dsn)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			return err
		})
	})
	return WithSearchPath(dsn, schema)
}

// WithSearchPath returns dsn with every connection's search_path set to schema.
func WithSearchPath(dsn, schema string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func migrate(t testing.TB, db *store.DB, sets []store.Migrations) {
	t.Helper()
	if err := db.Migrate(context.Background(), sets...); err != nil {
		t.Fatal(err)
	}
}
