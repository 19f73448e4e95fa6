package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ncruces/go-sqlite3"
	sqlitedriver "github.com/ncruces/go-sqlite3/driver"
)

// Dialect is every difference between SQLite and PostgreSQL the services need. Nothing outside
// this file asks which database it is talking to, except schema files, which exist per dialect.
type Dialect interface {
	Name() string
	// Rebind rewrites ? placeholders into the dialect's own.
	Rebind(query string) string
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation(err error) bool
	// Serialize blocks until no other transaction holds the named lock, and holds it until the
	// transaction ends. SQLite's single writer already serialises every write.
	Serialize(ctx context.Context, tx *Tx, lock int64) error
	// TrySerialize takes the named lock if it is free, holding it until the transaction ends,
	// and reports whether it did.
	TrySerialize(ctx context.Context, tx *Tx, lock int64) (bool, error)
	// NextID draws the next id of a table whose id the database generates, for a row that
	// must know its id before it is written.
	NextID(ctx context.Context, tx *Tx, table string) (int64, error)
	// CopyRows inserts many rows in one go: COPY on PostgreSQL, one prepared INSERT stepped per
	// row on SQLite.
	CopyRows(ctx context.Context, tx *Tx, table string, columns []string, rows [][]any) error
	beginWrite() string
	beginRead() string
}

type sqliteDialect struct{}

func (sqliteDialect) Name() string               { return "sqlite" }
func (sqliteDialect) Rebind(query string) string { return query }
func (sqliteDialect) beginWrite() string         { return "BEGIN IMMEDIATE" }
func (sqliteDialect) beginRead() string          { return "BEGIN" }

func (sqliteDialect) IsUniqueViolation(err error) bool {
	return errors.Is(err, sqlite3.CONSTRAINT_UNIQUE) || errors.Is(err, sqlite3.CONSTRAINT_PRIMARYKEY)
}

func (sqliteDialect) Serialize(context.Context, *Tx, int64) error { return nil }

func (sqliteDialect) TrySerialize(context.Context, *Tx, int64) (bool, error) { return true, nil }

// NextID on SQLite: the single writer makes MAX + 1 safe.
func (sqliteDialect) NextID(ctx context.Context, tx *Tx, table string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM "+table).Scan(&id)
	return id, err
}

func (sqliteDialect) CopyRows(ctx context.Context, tx *Tx, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	query := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(columns, ", "),
		strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", "))
	return tx.Raw(func(dc any) error {
		conn := dc.(sqlitedriver.Conn).Raw()
		stmt, _, err := conn.Prepare(query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, row := range rows {
			if err := bindAll(stmt, row); err != nil {
				return err
			}
			if err := stmt.Exec(); err != nil {
				return fmt.Errorf("store: insert into %s: %w", table, err)
			}
		}
		return nil
	})
}

func bindAll(stmt *sqlite3.Stmt, row []any) error {
	if err := stmt.ClearBindings(); err != nil {
		return err
	}
	for i, v := range row {
		var err error
		switch v := v.(type) {
		case nil:
			err = stmt.BindNull(i + 1)
		case int64:
			err = stmt.BindInt64(i+1, v)
		case int:
			err = stmt.BindInt64(i+1, int64(v))
		case string:
			err = stmt.BindText(i+1, v)
		case bool:
			err = stmt.BindBool(i+1, v)
		case []byte:
			err = stmt.BindBlob(i+1, v)
		case float64:
			err = stmt.BindFloat(i+1, v)
		default:
			return fmt.Errorf("store: cannot bind %T", v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type postgresDialect struct{}

func (postgresDialect) Name() string       { return "postgres" }
func (postgresDialect) beginWrite() string { return "BEGIN" }
func (postgresDialect) beginRead() string {
	return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
}

var rebound sync.Map // query → rewritten query; queries are a fixed set, so this stays small

func (postgresDialect) Rebind(query string) string {
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	q := rebindDollar(query)
	rebound.Store(query, q)
	return q
}

// rebindDollar turns ? into $1, $2 … outside string literals and quoted identifiers.
func rebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (postgresDialect) IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func (postgresDialect) Serialize(ctx context.Context, tx *Tx, lock int64) error {
	_, err := tx.conn.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lock)
	return err
}

func (postgresDialect) TrySerialize(ctx context.Context, tx *Tx, lock int64) (bool, error) {
	var got bool
	err := tx.conn.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock($1)", lock).Scan(&got)
	return got, err
}

func (postgresDialect) NextID(ctx context.Context, tx *Tx, table string) (int64, error) {
	var id int64
	err := tx.conn.QueryRowContext(ctx, "SELECT nextval(pg_get_serial_sequence($1, 'id'))", table).Scan(&id)
	return id, err
}

func (postgresDialect) CopyRows(ctx context.Context, tx *Tx, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.Raw(func(dc any) error {
		_, err := dc.(*pgx.Conn).CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		if err != nil {
			return fmt.Errorf("store: copy into %s: %w", table, err)
		}
		return nil
	})
}
