package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migrations is one package's schema: numbered SQL files under schema/sqlite and
// schema/postgres (001_name.sql, 002_name.sql …), embedded by the package that owns them.
type Migrations struct {
	Package string
	FS      fs.FS
}

type migration struct {
	version int
	name    string
	sql     string
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	package TEXT NOT NULL,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	applied_at TEXT NOT NULL,
	PRIMARY KEY (package, version))`

// migrationLock keeps two servers starting at once on one PostgreSQL from migrating twice.
const migrationLock = 0x6772617373 // "grass"

// Migrate applies every migration not yet applied, package by package in the order given
// (a package's tables may refer to an earlier package's), each file in its own transaction.
func (db *DB) Migrate(ctx context.Context, sets ...Migrations) error {
	if err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.conn.ExecContext(ctx, migrationsTable)
		return err
	}); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	for _, set := range sets {
		list, err := db.readMigrations(set)
		if err != nil {
			return err
		}
		for _, m := range list {
			if err := db.apply(ctx, set.Package, m); err != nil {
				return err
			}
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, pkg string, m migration) error {
	return db.Write(ctx, func(tx *Tx) error {
		if err := db.Dialect.Serialize(ctx, tx, migrationLock); err != nil {
			return err
		}
		var n int
		err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE package = ? AND version = ?`,
			pkg, m.version).Scan(&n)
		if err != nil || n > 0 {
			return err
		}
		// Schema files hold several statements; they are run without arguments, which both
		// drivers accept as a script.
		if _, err := tx.conn.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("store: migration %s/%03d_%s: %w", pkg, m.version, m.name, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (package, version, name, applied_at) VALUES (?, ?, ?, ?)`,
			pkg, m.version, m.name, FormatTime(tx.Now()))
		return err
	})
}

func (db *DB) readMigrations(set Migrations) ([]migration, error) {
	dir := path.Join("schema", db.Dialect.Name())
	entries, err := fs.ReadDir(set.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: %s has no %s schema: %w", set.Package, dir, err)
	}
	var list []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("store: %s/%s: migration files are named NNN_name.sql", set.Package, e.Name())
		}
		body, err := fs.ReadFile(set.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		list = append(list, migration{version: version, name: name, sql: string(body)})
	}
	slices.SortFunc(list, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(list); i++ {
		if list[i].version == list[i-1].version {
			return nil, fmt.Errorf("store: %s has two migrations numbered %d", set.Package, list[i].version)
		}
	}
	return list, nil
}

// Pending counts the migrations of sets not yet applied; /readyz wants none.
func (db *DB) Pending(ctx context.Context, sets ...Migrations) (int, error) {
	applied := map[string]bool{}
	rows, err := db.Query(ctx, `SELECT package, version FROM schema_migrations`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var pkg string
		var v int
		if err := rows.Scan(&pkg, &v); err != nil {
			return 0, err
		}
		applied[pkg+"/"+strconv.Itoa(v)] = true
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	pending := 0
	for _, set := range sets {
		list, err := db.readMigrations(set)
		if err != nil {
			return 0, err
		}
		for _, m := range list {
			if !applied[set.Package+"/"+strconv.Itoa(m.version)] {
				pending++
			}
		}
	}
	return pending, nil
}
