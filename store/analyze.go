package store

import (
	"context"
	"log/slog"
)

// RefreshStatistics does at once for the tables a bulk write has just grown what autovacuum
// does some time later, or never where it is off: on PostgreSQL it analyses each table that
// grew by more than a tenth of the rows its statistics last counted, or that was never
// analysed. grown is the rows added to each table. Without statistics PostgreSQL guesses a
// table's rows, and a generic plan built on the guess (a bulk file's cap check scanning every
// posted claim through an index on their state) made each file slower than the last: 31, 33,
// 155 and 214 s for four of 100,000 rows. SQLite's planner uses no statistics until ANALYZE
// is run, so there is nothing to refresh.
//
// The write has committed when this runs, so a failure is logged and not returned.
func (db *DB) RefreshStatistics(ctx context.Context, grown map[string]int) {
	if !db.IsPostgres() {
		return
	}
	for table, rows := range grown {
		if err := db.analyzeIfGrown(ctx, table, rows); err != nil {
			slog.Warn("refreshing planner statistics failed", "table", table, "err", err)
		}
	}
}

func (db *DB) analyzeIfGrown(ctx context.Context, table string, rows int) error {
	// A name that is not a table's finds no row, so only a table's name reaches ANALYZE.
	var counted float64 // -1 until the table is first analysed
	if err := db.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)`, table).Scan(&counted); err != nil {
		return err
	}
	if counted >= 0 && float64(rows) <= counted/10 {
		return nil
	}
	_, err := db.writer.ExecContext(ctx, "ANALYZE "+table)
	return err
}
