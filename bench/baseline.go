package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"grassroots/store"
)

// worldTables are the tables the generator fills, parents before children.
var worldTables = []string{"orgs", "people", "person_categories", "pb_settings", "pb_items", "pb_item_versions",
	"pb_passbooks", "pb_accounts", "pb_rewards", "pb_stock_moves", "pb_transactions", "pb_claims", "pb_claim_events",
	"pb_entries", "pb_deposit_lots", "pb_lot_uses", "pb_points_totals", "audit_log"}

// rawCopy is the generator's baseline: the very rows it wrote, read back table by table and
// inserted into an empty database of the same schema with plain SQL (the dialect's COPY on
// PostgreSQL, one prepared multi-row INSERT stepped per row on SQLite), each table in one
// transaction. Only the inserting and committing is timed, not the reading.
func rawCopy(ctx context.Context, src, dst *store.DB) (time.Duration, int, error) {
	var total time.Duration
	rows := 0
	for _, table := range worldTables {
		d, n, err := copyTable(ctx, src, dst, table)
		if err != nil {
			return 0, 0, fmt.Errorf("raw copy of %s: %w", table, err)
		}
		total += d
		rows += n
	}
	return total, rows, nil
}

func copyTable(ctx context.Context, src, dst *store.DB, table string) (time.Duration, int, error) {
	const batch = 20_000
	var reading time.Duration
	n := 0
	start := time.Now()
	err := dst.Write(ctx, func(tx *store.Tx) error {
		began := time.Now()
		rows, err := src.Query(ctx, "SELECT * FROM "+table)
		if err != nil {
			return err
		}
		defer rows.Close()
		columns, err := rows.Columns()
		if err != nil {
			return err
		}
		for i, c := range columns {
			columns[i] = strings.ToLower(c)
		}
		buf := make([][]any, 0, batch)
		reading += time.Since(began)
		for {
			began := time.Now()
			more := rows.Next()
			if more {
				v := make([]any, len(columns))
				ptrs := make([]any, len(columns))
				for i := range v {
					ptrs[i] = &v[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					return err
				}
				for i, x := range v {
					if b, ok := x.([]byte); ok {
						v[i] = string(b)
					}
				}
				buf = append(buf, v)
			}
			reading += time.Since(began)
			if len(buf) == batch || !more && len(buf) > 0 {
				if err := tx.DB().Dialect.CopyRows(ctx, tx, table, columns, buf); err != nil {
					return err
				}
				n += len(buf)
				buf = buf[:0]
			}
			if !more {
				return rows.Err()
			}
		}
	})
	return time.Since(start) - reading, n, err
}
