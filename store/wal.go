package store

import (
	"context"
	"fmt"
	"os"
	"time"
)

// SQLite's write-ahead log is checkpointed into the database every 1,000 pages (passive, the
// default), but it only starts over from its beginning when a writer finds every frame copied
// and no reader still on one. Under steady load some read transaction is always open on an
// older snapshot, so that moment never comes and the log grows without end: gigabytes in a
// ten-minute soak, its index (the -shm file, 32 KB per 4,096 pages) mapped into every
// connection's memory and searched by every page read, so memory grew and reads slowed.
// keepWALShort bounds it: when the log passes WALLimit, it takes the write connection and
// checkpoints with TRUNCATE, which copies what is left, waits briefly for the readers still
// on the log to finish (new ones read the database file meanwhile), and empties it.

// WALLimit is the size of SQLite's write-ahead log past which it is checkpointed and
// emptied; WALCheckInterval is how often its size is looked at.
var (
	WALLimit         int64 = 64 << 20
	WALCheckInterval       = time.Second
)

// walBusyWait is how long a checkpoint waits for readers still on the log, holding the write
// connection meanwhile; when they are not done by then it gives up and tries on the next tick.
const walBusyWait = 200 * time.Millisecond

// walMaxBackoff is the longest keepWALShort waits between attempts while readers keep the log
// (a long export, say), so that it does not hold up writers every second meanwhile.
const walMaxBackoff = 30 * time.Second

// keepWALShort checks the log's size every WALCheckInterval until stop closes, and after a
// checkpoint readers kept from finishing waits twice as long each time, up to walMaxBackoff.
func (db *DB) keepWALShort(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	wait := WALCheckInterval
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		if fi, err := os.Stat(db.dsn + "-wal"); err != nil || fi.Size() < WALLimit {
			wait = WALCheckInterval
		} else {
			var held *heldConn
			select {
			case held = <-db.sqliteWriter:
			case <-stop:
				return
			}
			if ok, err := db.truncateWAL(held); ok && err == nil {
				wait = WALCheckInterval
			} else {
				wait = min(2*wait, walMaxBackoff)
			}
			db.sqliteWriter <- held
		}
		timer.Reset(wait)
	}
}

// truncateWAL checkpoints the log with TRUNCATE on the write connection, waiting at most
// walBusyWait for readers. It reports whether the log was emptied.
func (db *DB) truncateWAL(held *heldConn) (bool, error) {
	ctx := context.Background()
	if _, err := held.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", walBusyWait.Milliseconds())); err != nil {
		return false, err
	}
	defer held.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds()))
	var busy, log, done int64
	if err := held.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &done); err != nil {
		return false, err
	}
	return busy == 0, nil
}

// CheckpointWAL empties SQLite's write-ahead log now, as keepWALShort does when it is long,
// and reports whether it could (readers may hold it); on PostgreSQL it does nothing.
func (db *DB) CheckpointWAL(ctx context.Context) (bool, error) {
	if db.sqliteWriter == nil {
		return true, nil
	}
	var held *heldConn
	select {
	case held = <-db.sqliteWriter:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { db.sqliteWriter <- held }()
	return db.truncateWAL(held)
}
