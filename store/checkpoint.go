package store

import (
	"context"
	"database/sql"
	"sync"

	"github.com/ncruces/go-sqlite3"
)

// SQLite's WAL grows with every commit until a checkpoint copies it back into the database
// file. Left to itself SQLite checkpoints inside the commit that takes the WAL past 1,000
// pages, with the write lock held and two fsyncs, so every few dozen commits one writer — and
// every writer queued behind it — waits several milliseconds. Here the writer's commits only
// signal a checkpointer on a connection of its own, which checkpoints passively beside the
// writer as often as SQLite would have. Durability is unchanged: with synchronous=full every
// commit still syncs the WAL, and with normal the WAL is synced by each checkpoint as before.
const (
	// checkpointPages is the size of the WAL, in pages, at which the checkpointer runs:
	// SQLite's own default.
	checkpointPages = 1000
	// inlineCheckpointPages is the size at which the writer checkpoints itself, as SQLite
	// would have, in case the checkpointer cannot keep up.
	inlineCheckpointPages = 16 * checkpointPages
)

// checkpointer runs passive checkpoints on its own connection when the writer asks.
type checkpointer struct {
	db   *sql.DB
	wake chan struct{} // never closed: a commit may still ask after stop
	quit chan struct{}
	done sync.WaitGroup
	stop func() error // once: the database may be closed twice
}

// startCheckpointer opens the checkpointer's connection to the database base names.
func startCheckpointer(base string) (*checkpointer, error) {
	db, err := sql.Open("sqlite3", base)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, wake: make(chan struct{}, 1), quit: make(chan struct{})}
	c.done.Go(c.run)
	c.stop = sync.OnceValue(func() error {
		close(c.quit)
		c.done.Wait()
		return c.db.Close()
	})
	return c, nil
}

func (c *checkpointer) run() {
	for {
		select {
		case <-c.quit:
			return
		case <-c.wake:
			// A failed checkpoint leaves the WAL to the next one.
			c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// request asks for a checkpoint without waiting; one already asked for covers it.
func (c *checkpointer) request() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// walCommitted is the write connection's WAL hook, called after each commit with the pages
// the WAL now holds. It must not fail: an error would be reported for a commit that happened.
func (db *DB) walCommitted(conn *sqlite3.Conn, schema string, pages int) error {
	switch {
	case pages < checkpointPages:
	case pages >= inlineCheckpointPages || db.checkpointer == nil:
		conn.WALCheckpoint(schema, sqlite3.CHECKPOINT_PASSIVE) // a failure leaves it to the next commit
	default:
		db.checkpointer.request()
	}
	return nil
}
