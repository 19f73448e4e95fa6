// Package store is the database handle every package shares: SQLite (the embedded default) or
// PostgreSQL behind one API, write and read transactions, an injected clock, and the migration
// runner. SQL is written once with ? placeholders; the dialect rewrites it for PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	sqlitedriver "github.com/ncruces/go-sqlite3/driver"
)

// DB is an open database: one writer and a pool of readers on SQLite, one pool on PostgreSQL.
type DB struct {
	Dialect Dialect
	// Now is the clock every transaction reads; tests replace it.
	Now    func() time.Time
	writer *sql.DB
	reader *sql.DB
	dsn    string
	// sqliteWriter is SQLite's one write connection, held for the life of the DB with its
	// prepared statements; a channel of one, so that writers queue first come, first served.
	sqliteWriter chan *heldConn
	// readStmts are SQLite's read statements, prepared on the read pool: database/sql keeps
	// each prepared on every connection that has run it.
	readStmts statements
	// checkpointer is SQLite's WAL checkpointer, which runs beside the writer.
	checkpointer *checkpointer
	// stopWAL ends keepWALShort, which closes walDone when it has (SQLite only).
	stopWAL chan struct{}
	walDone chan struct{}
	walOnce sync.Once // Close may be called more than once
}

// statements is a bounded cache of prepared statements by query.
type statements struct {
	mu        sync.RWMutex
	m         map[string]*sql.Stmt
	preparing map[string]bool // queries being prepared in the background
	closed    bool            // no more background preparing: the DB is closing
	// background counts the preparing goroutines, which Close waits for: one may be opening a
	// connection, and so files beside the database, after the pool has closed.
	background sync.WaitGroup
}

// get returns the statement for query prepared by prepare, preparing it on first use, or nil
// when the cache is full and the query is new. The lock is not held while preparing, which
// may wait for a connection.
func (c *statements) get(query string, prepare func(string) (*sql.Stmt, error)) (*sql.Stmt, error) {
	c.mu.RLock()
	st, ok := c.m[query]
	full := len(c.m) >= maxCachedStatements
	c.mu.RUnlock()
	if ok || full {
		return st, nil
	}
	st, err := prepare(query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := c.m[query]; ok { // prepared meanwhile by another caller
		st.Close()
		return had, nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

// cached returns the statement for query if it is prepared already.
func (c *statements) cached(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// claim reports whether the caller is the one to prepare query in the background: nobody is
// yet and the cache has room.
func (c *statements) claim(query string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.preparing[query] || len(c.m)+len(c.preparing) >= maxCachedStatements {
		return false
	}
	if c.preparing == nil {
		c.preparing = map[string]bool{}
	}
	c.preparing[query] = true
	c.background.Add(1)
	return true
}

func (c *statements) release(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.preparing, query)
	c.background.Done()
}

// stop refuses further background preparing and waits for what is under way.
func (c *statements) stop() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.background.Wait()
}

// heldConn is a connection kept out of the pool with a cache of statements prepared on it:
// preparing costs SQLite more than running most statements does.
type heldConn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

// maxCachedStatements bounds the cache; queries built with variable IN lists would otherwise
// grow it without end. Past the bound, statements run uncached.
const maxCachedStatements = 512

// stmt returns the cached statement for query, preparing it on first use, or nil when the
// cache is full and the query is new.
func (h *heldConn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := h.stmts[query]; ok {
		return st, nil
	}
	if len(h.stmts) >= maxCachedStatements {
		return nil, nil
	}
	st, err := h.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	h.stmts[query] = st
	return st, nil
}

// Open opens the database a DSN names: postgres://… or postgresql://… for PostgreSQL,
// sqlite:PATH or a plain file path for SQLite.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	path, sync, err := sqliteOptions(path)
	if err != nil {
		return nil, err
	}
	pragmas := fmt.Sprintf("_pragma=busy_timeout(%d)&", busyTimeout.Milliseconds()) + "_pragma=journal_mode(wal)&_pragma=foreign_keys(on)&_pragma=synchronous(" + sync + ")"
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	writer, err := sql.Open("sqlite3", base+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	// One writer: SQLite allows one at a time anyway, and queueing in Go beats spinning on
	// SQLITE_BUSY.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	// Readers get a 16 MB page cache each (the default is 2 MB): rankings over a million
	// passbooks walk index pages that no longer fit the default and would be read again.
	reader, err := sql.Open("sqlite3", base+"&_pragma=query_only(on)&_pragma=cache_size(-16384)")
	if err != nil {
		writer.Close()
		return nil, err
	}
	// Memory: every SQLite connection runs in a WebAssembly memory of its own, which grows to its
	// high-water mark and is never given back while the connection lives: a reader holds about
	// 18 MB once its page cache is full (16 MB, the schema, cached statements), the writer about
	// 4 MB. With the write-ahead log kept short (wal.go), SQLite's share of the process is
	// bounded by readers × 18 MB + 4 MB: 76 MB on two cores (BENCHMARKS.md, issue 5).
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	db := &DB{Dialect: sqliteDialect{}, Now: time.Now, writer: writer, reader: reader, dsn: path,
		sqliteWriter: make(chan *heldConn, 1)}
	// Opening the writer first creates the file and switches it to WAL before readers arrive.
	held, err := db.holdWriter(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.sqliteWriter <- held
	if db.checkpointer, err = startCheckpointer(base); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.stopWAL, db.walDone = make(chan struct{}), make(chan struct{})
	go db.keepWALShort(db.stopWAL, db.walDone)
	return db, nil
}

// holdWriter takes SQLite's write connection out of the pool, with its commits handing the
// WAL to the checkpointer rather than checkpointing inline.
func (db *DB) holdWriter(ctx context.Context) (*heldConn, error) {
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		return nil, err
	}
	err = conn.Raw(func(dc any) error {
		dc.(sqlitedriver.Conn).Raw().WALHook(db.walCommitted)
		return nil
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &heldConn{conn: conn, stmts: map[string]*sql.Stmt{}}, nil
}

// busyTimeout is how long a SQLite connection waits for a lock another holds.
const busyTimeout = 10 * time.Second

// sqliteOptions splits a SQLite DSN into the file path and its one option, synchronous:
// normal (the default) survives a crash of the process and may lose the last commits to a
// power cut; full (path?synchronous=full) survives that too, at an fsync per commit.
func sqliteOptions(dsn string) (path, sync string, err error) {
	path, query, _ := strings.Cut(dsn, "?")
	if path == "" {
		return "", "", errors.New("store: empty SQLite path")
	}
	opts, err := url.ParseQuery(query)
	if err != nil {
		return "", "", fmt.Errorf("store: SQLite options %q: %w", query, err)
	}
	sync = "normal"
	for key, values := range opts {
		switch v := values[len(values)-1]; {
		case key == "synchronous" && (v == "normal" || v == "full"):
			sync = v
		default:
			return "", "", fmt.Errorf("store: unknown SQLite option %s=%s (only synchronous=normal|full)", key, v)
		}
	}
	return path, sync, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse PostgreSQL DSN: %w", err)
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(max(8, 4*runtime.GOMAXPROCS(0)))
	pool.SetMaxIdleConns(max(8, 4*runtime.GOMAXPROCS(0)))
	pool.SetConnMaxIdleTime(5 * time.Minute)
	var schema string
	if err := pool.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	db := &DB{Dialect: postgresDialect{lockSalt: lockSalt(schema)}, Now: time.Now, writer: pool, reader: pool, dsn: dsn}
	return db, nil
}

// Close closes every connection.
func (db *DB) Close() error {
	var err error
	if db.stopWAL != nil {
		db.walOnce.Do(func() { close(db.stopWAL) })
		<-db.walDone
	}
	if db.checkpointer != nil {
		err = db.checkpointer.stop()
	}
	if db.sqliteWriter != nil {
		select {
		case h := <-db.sqliteWriter:
			err = h.conn.Close()
		default: // a write is still running; closing the pool below ends it
		}
	}
	err = errors.Join(err, db.writer.Close())
	if db.reader != db.writer {
		err = errors.Join(err, db.reader.Close())
	}
	db.readStmts.stop()
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.reader.PingContext(ctx) }

// IsPostgres reports whether the database is PostgreSQL.
func (db *DB) IsPostgres() bool { return db.Dialect.Name() == "postgres" }

// Query runs a read outside any transaction, on the read pool.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, err := db.readStmt(ctx, query); err != nil || st != nil {
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, args...)
	}
	return db.reader.QueryContext(ctx, db.Dialect.Rebind(query), args...)
}

// QueryRow runs a single-row read outside any transaction, on the read pool.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, err := db.readStmt(ctx, query); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader.QueryRowContext(ctx, db.Dialect.Rebind(query), args...)
}

// readStmt is SQLite's cached read statement for query; nil on PostgreSQL, whose driver
// caches its own, and when the cache is full.
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if db.sqliteWriter == nil {
		return nil, nil
	}
	return db.readStmts.get(query, func(q string) (*sql.Stmt, error) { return db.reader.PrepareContext(ctx, q) })
}

// readStmtInTx is readStmt for a read transaction, which holds one of the read pool's
// connections: preparing on the pool could wait for a connection that every transaction in
// flight holds. A statement not cached yet runs uncached this once, and is prepared for the
// next time in the background, when a connection is free.
func (db *DB) readStmtInTx(query string) *sql.Stmt {
	if db.sqliteWriter == nil {
		return nil
	}
	if st := db.readStmts.cached(query); st != nil {
		return st
	}
	if db.readStmts.claim(query) {
		go func() {
			defer db.readStmts.release(query)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			db.readStmts.get(query, func(q string) (*sql.Stmt, error) { return db.reader.PrepareContext(ctx, q) })
		}()
	}
	return nil
}

// Tx is a transaction. Its Now is the clock reading taken when it began, so every row written
// in one use case carries the same time.
type Tx struct {
	db   *DB
	conn conn      // raw, or read on SQLite
	raw  *sql.Conn // the connection a write (and any PostgreSQL) transaction runs on
	read *sql.Tx   // a SQLite read transaction, database/sql's own so cached statements bind to it
	held *heldConn // SQLite's write connection with its statement cache; nil otherwise
	now  time.Time
	// locks are the advisory locks the transaction holds on PostgreSQL, true when alone: a
	// lock held is not asked for again.
	locks map[int64]bool
	// pending are the statements Defer queued on PostgreSQL; failed is the first error in
	// sending them, after which the transaction can only roll back.
	pending []deferred
	failed  error
}

// conn is what a transaction runs statements on.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Now is the time the transaction began, in UTC.
func (tx *Tx) Now() time.Time { return tx.now }

// DB is the database the transaction belongs to.
func (tx *Tx) DB() *DB { return tx.db }

// Exec runs a statement.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.cached(ctx, query)
	if err != nil || st != nil {
		if err != nil {
			return nil, err
		}
		return st.ExecContext(ctx, args...)
	}
	if tx.db.IsPostgres() {
		return tx.execPG(ctx, tx.db.Dialect.Rebind(query), args...)
	}
	return tx.conn.ExecContext(ctx, tx.db.Dialect.Rebind(query), args...)
}

// Query runs a query.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := tx.cached(ctx, query)
	if err != nil || st != nil {
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, args...)
	}
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	return tx.conn.QueryContext(ctx, tx.db.Dialect.Rebind(query), args...)
}

// QueryRow runs a single-row query.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, err := tx.cached(ctx, query); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	// Uncached, or a query that does not prepare: sql.Row then carries the same error. After
	// a failed send of deferred statements PostgreSQL refuses the query, the transaction being
	// aborted, and the commit reports the cause.
	tx.flush(ctx)
	return tx.conn.QueryRowContext(ctx, tx.db.Dialect.Rebind(query), args...)
}

// cached is the prepared statement for query on SQLite's write connection or in a SQLite read
// transaction, or nil where statements are not cached (PostgreSQL, whose driver caches its
// own, or a full cache).
func (tx *Tx) cached(ctx context.Context, query string) (*sql.Stmt, error) {
	switch {
	case tx.held != nil:
		return tx.held.stmt(ctx, query)
	case tx.read != nil:
		if st := tx.db.readStmtInTx(query); st != nil {
			return tx.read.StmtContext(ctx, st), nil
		}
	}
	return nil, nil
}

// Insert runs an INSERT and returns the id the database gave the new row. The statement must
// not have a RETURNING clause of its own.
func (tx *Tx) Insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// Write runs fn in a write transaction: BEGIN IMMEDIATE on SQLite (so the write lock is taken
// up front and never upgraded), READ COMMITTED on PostgreSQL. fn's error rolls everything back.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	if db.sqliteWriter == nil {
		return db.run(ctx, db.writer, db.Dialect.beginWrite(), fn)
	}
	var held *heldConn
	select {
	case held = <-db.sqliteWriter:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { db.sqliteWriter <- held }()
	tx := &Tx{db: db, conn: held.conn, raw: held.conn, held: held, now: db.Now().UTC()}
	err := tx.inTransaction(ctx, db.Dialect.beginWrite(), fn)
	if errors.Is(err, driver.ErrBadConn) {
		// The connection could not roll back and was discarded; open a fresh one in its place.
		if h, cerr := db.holdWriter(context.WithoutCancel(ctx)); cerr == nil {
			held = h
		}
	}
	return err
}

// Read runs fn in a read-only transaction that sees one snapshot of the database.
func (db *DB) Read(ctx context.Context, fn func(tx *Tx) error) error {
	if db.sqliteWriter != nil {
		return db.readSQLite(ctx, fn)
	}
	return db.run(ctx, db.reader, db.Dialect.beginRead(), fn)
}

// readSQLite runs fn in a database/sql transaction on the read pool, so that the statements it
// runs are prepared once per connection rather than parsed on every call.
func (db *DB) readSQLite(ctx context.Context, fn func(tx *Tx) error) (err error) {
	read, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			read.Rollback()
			panic(p)
		}
		if err != nil {
			read.Rollback()
		}
	}()
	if err := fn(&Tx{db: db, conn: read, read: read, now: db.Now().UTC()}); err != nil {
		return err
	}
	return read.Commit()
}

func (db *DB) run(ctx context.Context, pool *sql.DB, begin string, fn func(tx *Tx) error) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: get connection: %w", err)
	}
	defer conn.Close()
	tx := &Tx{db: db, conn: conn, raw: conn, now: db.Now().UTC()}
	return tx.inTransaction(ctx, begin, fn)
}

// inTransaction begins, runs fn and commits, or rolls back when fn fails or panics. A
// connection that cannot roll back is marked bad (the error wraps driver.ErrBadConn) so it is
// never reused with a transaction still open.
func (tx *Tx) inTransaction(ctx context.Context, begin string, fn func(tx *Tx) error) (err error) {
	if _, err := tx.conn.ExecContext(ctx, begin); err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			// A panic in fn: roll back before the connection is used again.
			tx.rollback()
		}
	}()
	if err = fn(tx); err != nil {
		done = true
		if tx.failed != nil && !errors.Is(err, tx.failed) {
			err = fmt.Errorf("%w (after a deferred statement failed: %w)", err, tx.failed)
		}
		return errors.Join(err, tx.rollback())
	}
	done = true
	if err = tx.commit(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("store: commit: %w", errors.Join(err, tx.rollback()))
	}
	return nil
}

// rollback ends the transaction. It returns nil when it could, and when it could not it
// discards the connection and returns driver.ErrBadConn.
func (tx *Tx) rollback() error {
	tx.pending = nil
	if _, err := tx.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		tx.raw.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("store: rollback: %w: %w", err, driver.ErrBadConn)
	}
	return nil
}

// Raw gives fn the driver's own connection inside the transaction: *pgx.Conn on PostgreSQL,
// *sqlite3.Conn on SQLite. Bulk loads use it.
func (tx *Tx) Raw(fn func(driverConn any) error) error {
	if tx.raw == nil {
		return errors.New("store: no raw connection in a read transaction")
	}
	if err := tx.flush(context.Background()); err != nil {
		return err
	}
	return tx.raw.Raw(func(dc any) error {
		if c, ok := dc.(*stdlib.Conn); ok {
			return fn(c.Conn())
		}
		return fn(dc)
	})
}

// Backup writes a consistent copy of a SQLite database to path while others keep writing: VACUUM
// INTO reads one snapshot. PostgreSQL deployments use pg_dump.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.IsPostgres() {
		return errors.New("store: back up PostgreSQL with pg_dump")
	}
	// VACUUM cannot run inside a transaction, so it takes the write connection directly.
	held := <-db.sqliteWriter
	defer func() { db.sqliteWriter <- held }()
	_, err := held.conn.ExecContext(ctx, "VACUUM INTO ?", path)
	return err
}
