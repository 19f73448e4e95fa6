package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
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
	// Serialize makes the transaction wait until no other holds the named lock, and hold it
	// until it ends. On PostgreSQL the lock is taken with the transaction's next statement (see
	// Tx.Defer); SQLite's single writer already serialises every write.
	Serialize(ctx context.Context, tx *Tx, lock int64) error
	// TrySerialize takes the named lock if it is free, holding it until the transaction ends,
	// and reports whether it did.
	TrySerialize(ctx context.Context, tx *Tx, lock int64) (bool, error)
	// SerializeShared makes the transaction wait while another holds the named lock through
	// Serialize, and keeps it from doing so until the transaction ends; any number may share
	// it. Taken, like Serialize's, with the next statement.
	SerializeShared(ctx context.Context, tx *Tx, lock int64) error
	// NextID draws the next id of a table whose id the database generates, for a row that
	// must know its id before it is written.
	NextID(ctx context.Context, tx *Tx, table string) (int64, error)
	// NextIDSQL is NextID as an SQL expression, for a query that reads something else in the
	// same statement; table is a name from the code, never from input.
	NextIDSQL(table string) string
	// ReserveIDs draws n ids of a table whose ids the database generates, in increasing order,
	// for rows a bulk load writes with their ids because other rows refer to them.
	ReserveIDs(ctx context.Context, tx *Tx, table string, n int) ([]int64, error)
	// CopyRows inserts many rows in one go: COPY on PostgreSQL, one prepared INSERT stepped per
	// row on SQLite.
	CopyRows(ctx context.Context, tx *Tx, table string, columns []string, rows [][]any) error
	// CopyFunc is CopyRows for rows made one at a time, so that a load of millions never holds
	// them all: fill writes row i's values into row, which is reused.
	CopyFunc(ctx context.Context, tx *Tx, table string, columns []string, n int, fill func(i int, row []any)) error
	// UpsertFunc is CopyFunc for rows that may already exist: a row whose conflict columns
	// match an existing one updates it by set (an ON CONFLICT … DO UPDATE SET clause, where
	// excluded names the new row) instead. No two rows may share the conflict columns.
	UpsertFunc(ctx context.Context, tx *Tx, table string, columns []string, conflict, set string, n int, fill func(i int, row []any)) error
	// Least and Greatest are SQL expressions for the lesser and the greater of two values:
	// SQLite's scalar MIN(a, b) and MAX(a, b), PostgreSQL's LEAST and GREATEST. a and b are SQL
	// from the code, never from input.
	Least(a, b string) string
	Greatest(a, b string) string
	beginWrite() string
	beginRead() string
}

type sqliteDialect struct{}

func (sqliteDialect) Name() string               { return "sqlite" }
func (sqliteDialect) Rebind(query string) string { return query }
func (sqliteDialect) beginWrite() string         { return "BEGIN IMMEDIATE" }
func (sqliteDialect) beginRead() string          { return "BEGIN" }

func (sqliteDialect) Least(a, b string) string    { return "MIN(" + a + ", " + b + ")" }
func (sqliteDialect) Greatest(a, b string) string { return "MAX(" + a + ", " + b + ")" }

func (sqliteDialect) IsUniqueViolation(err error) bool {
	return errors.Is(err, sqlite3.CONSTRAINT_UNIQUE) || errors.Is(err, sqlite3.CONSTRAINT_PRIMARYKEY)
}

func (sqliteDialect) Serialize(context.Context, *Tx, int64) error { return nil }

func (sqliteDialect) TrySerialize(context.Context, *Tx, int64) (bool, error) { return true, nil }

func (sqliteDialect) SerializeShared(context.Context, *Tx, int64) error { return nil }

// NextID on SQLite: the single writer makes MAX + 1 safe.
func (d sqliteDialect) NextID(ctx context.Context, tx *Tx, table string) (int64, error) {
	ids, err := d.ReserveIDs(ctx, tx, table, 1)
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

func (sqliteDialect) NextIDSQL(table string) string {
	return "(SELECT COALESCE(MAX(id), 0) + 1 FROM " + table + ")"
}

// ReserveIDs on SQLite: the single writer makes the ids above MAX safe.
func (sqliteDialect) ReserveIDs(ctx context.Context, tx *Tx, table string, n int) ([]int64, error) {
	var last int64
	if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM "+table).Scan(&last); err != nil {
		return nil, err
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = last + 1 + int64(i)
	}
	return ids, nil
}

func (d sqliteDialect) CopyRows(ctx context.Context, tx *Tx, table string, columns []string, rows [][]any) error {
	return d.CopyFunc(ctx, tx, table, columns, len(rows), func(i int, row []any) { copy(row, rows[i]) })
}

func (sqliteDialect) CopyFunc(ctx context.Context, tx *Tx, table string, columns []string, n int, fill func(i int, row []any)) error {
	return insertEach(ctx, tx, table, columns, "", n, fill)
}

func (sqliteDialect) UpsertFunc(ctx context.Context, tx *Tx, table string, columns []string, conflict, set string, n int, fill func(i int, row []any)) error {
	return insertEach(ctx, tx, table, columns, " ON CONFLICT ("+conflict+") DO UPDATE SET "+set, n, fill)
}

// rowsPerInsert is how many rows one INSERT of insertEach carries: SQLite spends about as much
// starting and finishing a statement as writing a row, so a statement of many rows costs half
// as much per row as a statement per row.
const rowsPerInsert = 64

// insertEach inserts n rows into table with prepared INSERTs of rowsPerInsert rows each and
// one of a single row for the rest; suffix follows the VALUES.
func insertEach(ctx context.Context, tx *Tx, table string, columns []string, suffix string, n int, fill func(i int, row []any)) error {
	if n == 0 {
		return nil
	}
	query := func(rows int) string {
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
		return fmt.Sprintf("INSERT INTO %s (%s) VALUES %s%s", table, strings.Join(columns, ", "),
			strings.TrimSuffix(strings.Repeat(one+", ", rows), ", "), suffix)
	}
	return tx.Raw(func(dc any) error {
		conn := dc.(sqlitedriver.Conn).Raw()
		many, _, err := conn.Prepare(query(rowsPerInsert))
		if err != nil {
			return err
		}
		defer many.Close()
		single, _, err := conn.Prepare(query(1))
		if err != nil {
			return err
		}
		defer single.Close()
		row := make([]any, len(columns))
		for i := 0; i < n; {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			stmt, rows := many, rowsPerInsert
			if n-i < rowsPerInsert {
				stmt, rows = single, 1
			}
			for r := range rows { // every parameter is bound anew: no ClearBindings
				fill(i+r, row)
				if err := bindAll(stmt, r*len(columns), row); err != nil {
					return err
				}
			}
			if err := stmt.Exec(); err != nil {
				return fmt.Errorf("store: insert into %s: %w", table, err)
			}
			i += rows
		}
		return nil
	})
}

// bindAll binds row's values to the parameters after the first skip.
func bindAll(stmt *sqlite3.Stmt, skip int, row []any) error {
	for i, v := range row {
		i += skip
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

// postgresDialect salts its advisory lock keys with the schema: the keys are shared by the
// whole database, and two installations (or tests) in two schemas must not queue on each other.
type postgresDialect struct {
	lockSalt int64
}

// lockSalt is a key salt drawn from a schema name.
func lockSalt(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte(schema))
	return int64(h.Sum64())
}

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

func (postgresDialect) Least(a, b string) string    { return "LEAST(" + a + ", " + b + ")" }
func (postgresDialect) Greatest(a, b string) string { return "GREATEST(" + a + ", " + b + ")" }

func (postgresDialect) IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func (d postgresDialect) Serialize(ctx context.Context, tx *Tx, lock int64) error {
	if tx.locks[lock] {
		return nil
	}
	// Taken with the transaction's next statement: nothing reads or writes in between.
	tx.pending = append(tx.pending, deferred{"SELECT pg_advisory_xact_lock($1)", []any{lock ^ d.lockSalt}})
	tx.holds(lock, true)
	return nil
}

func (d postgresDialect) TrySerialize(ctx context.Context, tx *Tx, lock int64) (bool, error) {
	if tx.locks[lock] {
		return true, nil
	}
	var got bool
	const try = "SELECT pg_try_advisory_xact_lock($1)"
	var err error
	if len(tx.pending) == 0 {
		err = tx.conn.QueryRowContext(ctx, try, lock^d.lockSalt).Scan(&got)
	} else {
		err = tx.send(ctx, func(b *pgx.Batch) {
			b.Queue(try, lock^d.lockSalt).QueryRow(func(row pgx.Row) error { return row.Scan(&got) })
		})
	}
	if got {
		tx.holds(lock, true)
	}
	return got, err
}

func (d postgresDialect) SerializeShared(ctx context.Context, tx *Tx, lock int64) error {
	if _, held := tx.locks[lock]; held {
		return nil
	}
	tx.pending = append(tx.pending, deferred{"SELECT pg_advisory_xact_lock_shared($1)", []any{lock ^ d.lockSalt}})
	tx.holds(lock, false)
	return nil
}

// holds records a lock the transaction now holds until it ends.
func (tx *Tx) holds(lock int64, alone bool) {
	if tx.locks == nil {
		tx.locks = map[int64]bool{}
	}
	tx.locks[lock] = tx.locks[lock] || alone
}

func (postgresDialect) NextID(ctx context.Context, tx *Tx, table string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, "SELECT nextval(pg_get_serial_sequence(?, 'id'))", table).Scan(&id)
	return id, err
}

func (postgresDialect) NextIDSQL(table string) string {
	return "nextval(pg_get_serial_sequence('" + table + "', 'id'))"
}

// ReserveIDs on PostgreSQL draws from the table's identity sequence, which other sessions share:
// the ids are unique and increasing but need not be consecutive. COPY writes them as given.
func (postgresDialect) ReserveIDs(ctx context.Context, tx *Tx, table string, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, "SELECT nextval(pg_get_serial_sequence(?, 'id')) FROM generate_series(1, ?)", table, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, rows.Err()
}

func (postgresDialect) CopyRows(ctx context.Context, tx *Tx, table string, columns []string, rows [][]any) error {
	return copyFrom(ctx, tx, table, columns, pgx.CopyFromRows(rows))
}

func (postgresDialect) CopyFunc(ctx context.Context, tx *Tx, table string, columns []string, n int, fill func(i int, row []any)) error {
	row, i := make([]any, len(columns)), 0
	return copyFrom(ctx, tx, table, columns, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		fill(i, row)
		i++
		return row, nil
	}))
}

// UpsertFunc on PostgreSQL copies the rows into a scratch table shaped like table, then moves
// them with one INSERT … SELECT … ON CONFLICT.
func (d postgresDialect) UpsertFunc(ctx context.Context, tx *Tx, table string, columns []string, conflict, set string, n int, fill func(i int, row []any)) error {
	if n == 0 {
		return nil
	}
	scratch := "upsert_" + table
	cols := strings.Join(columns, ", ")
	create := fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT %s FROM %s WITH NO DATA", scratch, cols, table)
	if _, err := tx.execPG(ctx, create); err != nil {
		return fmt.Errorf("store: upsert into %s: %w", table, err)
	}
	if err := d.CopyFunc(ctx, tx, scratch, columns, n, fill); err != nil {
		return err
	}
	for _, q := range []string{
		fmt.Sprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s ON CONFLICT (%s) DO UPDATE SET %s", table, cols, cols, scratch, conflict, set),
		"DROP TABLE " + scratch,
	} {
		if _, err := tx.execPG(ctx, q); err != nil {
			return fmt.Errorf("store: upsert into %s: %w", table, err)
		}
	}
	return nil
}

func copyFrom(ctx context.Context, tx *Tx, table string, columns []string, src pgx.CopyFromSource) error {
	return tx.Raw(func(dc any) error {
		_, err := dc.(*pgx.Conn).CopyFrom(ctx, pgx.Identifier{table}, columns, src)
		if err != nil {
			return fmt.Errorf("store: copy into %s: %w", table, err)
		}
		return nil
	})
}
