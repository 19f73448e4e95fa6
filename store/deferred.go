package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// deferred is a statement Defer queued on PostgreSQL, its placeholders already rebound.
type deferred struct {
	query string
	args  []any
}

// Defer runs a statement whose outcome the use case does not read (a history line, ledger
// entries, an audit record) at the latest moment that keeps its order among the others. On
// PostgreSQL it is queued and goes to the server with the transaction's next statement or its
// commit, in one round trip with an Exec, a lock or the commit: the last nine statements of
// an approval that posts (totals, entries, lot, claim, history line, audit lock, chain head,
// audit record, commit) took nine round trips and take four. Serialize and SerializeShared
// queue their locks the same way. SQLite, in process, has no round trips to save and runs it at once.
//
// A queued statement that fails fails the call that sent it, or the commit; the transaction
// then rolls back, as for any failed statement. A Query or QueryRow sends what is queued
// first, and one that follows a failed send fails too.
func (tx *Tx) Defer(ctx context.Context, query string, args ...any) error {
	if !tx.db.IsPostgres() {
		_, err := tx.Exec(ctx, query, args...)
		return err
	}
	tx.pending = append(tx.pending, deferred{tx.db.Dialect.Rebind(query), args})
	return nil
}

// send runs the queued statements and then last, if any, in one batch on the transaction's
// connection. The first failure is kept for the commit, which must not go ahead: a
// PostgreSQL transaction with a failed statement is aborted and its COMMIT only rolls back.
func (tx *Tx) send(ctx context.Context, last func(b *pgx.Batch)) error {
	if tx.failed != nil {
		return tx.failed
	}
	b := &pgx.Batch{}
	for _, d := range tx.pending {
		b.Queue(d.query, d.args...)
	}
	tx.pending = nil
	if last != nil {
		last(b)
	}
	err := tx.raw.Raw(func(dc any) error {
		return dc.(interface{ Conn() *pgx.Conn }).Conn().SendBatch(ctx, b).Close()
	})
	if err != nil {
		tx.failed = err
	}
	return err
}

// flush sends what Defer queued, if anything.
func (tx *Tx) flush(ctx context.Context) error {
	if len(tx.pending) == 0 {
		return tx.failed
	}
	return tx.send(ctx, nil)
}

// execPG runs a statement on PostgreSQL, in one batch with what Defer queued.
func (tx *Tx) execPG(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if len(tx.pending) == 0 && tx.failed == nil {
		return tx.conn.ExecContext(ctx, query, args...)
	}
	var tag pgconn.CommandTag
	err := tx.send(ctx, func(b *pgx.Batch) {
		b.Queue(query, args...).Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	})
	if err != nil {
		return nil, err
	}
	return tagResult(tag), nil
}

// tagResult is the sql.Result of a statement sent in a batch.
type tagResult pgconn.CommandTag

func (r tagResult) LastInsertId() (int64, error) {
	return 0, errors.New("store: no LastInsertId on PostgreSQL; use Insert")
}

func (r tagResult) RowsAffected() (int64, error) { return pgconn.CommandTag(r).RowsAffected(), nil }

// commit ends the transaction, sending what Defer queued in the same round trip.
func (tx *Tx) commit(ctx context.Context) error {
	if len(tx.pending) == 0 && tx.failed == nil {
		_, err := tx.conn.ExecContext(ctx, "COMMIT")
		return err
	}
	if err := tx.send(ctx, func(b *pgx.Batch) { b.Queue("COMMIT") }); err != nil {
		return fmt.Errorf("a deferred statement: %w", err)
	}
	return nil
}
