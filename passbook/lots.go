package passbook

import (
	"context"
	"database/sql"
	"errors"

	"grassroots/store"
)

// addLot records deposit earned by a transaction, expiring on expiresOn ("" = never).
func addLot(ctx context.Context, tx *store.Tx, passbookID, txID, amount int64, expiresOn string) error {
	if amount <= 0 {
		return nil
	}
	var exp any
	if expiresOn != "" {
		exp = expiresOn
	}
	return tx.Defer(ctx, `INSERT INTO pb_deposit_lots (passbook_id, tx_id, amount, remaining, expires_on)
		VALUES (?, ?, ?, ?, ?)`, passbookID, txID, amount, amount, exp)
}

// drawLots takes amount from a passbook's open lots, the one expiring first first (lots that
// never expire last), and records what it took for the transaction's reversal. The caller
// has already checked the deposit covers amount: the lots always sum to the deposit.
func drawLots(ctx context.Context, tx *store.Tx, passbookID, txID, amount int64) error {
	rows, err := tx.Query(ctx, `SELECT id, remaining FROM pb_deposit_lots
		WHERE passbook_id = ? AND remaining > 0
		ORDER BY CASE WHEN expires_on IS NULL THEN 1 ELSE 0 END, expires_on, id`, passbookID)
	if err != nil {
		return err
	}
	type take struct{ lot, n int64 }
	var takes []take
	for left := amount; left > 0 && rows.Next(); {
		var id, remaining int64
		if err := rows.Scan(&id, &remaining); err != nil {
			rows.Close()
			return err
		}
		n := min(left, remaining)
		takes = append(takes, take{id, n})
		left -= n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range takes {
		if err := useLot(ctx, tx, txID, t.lot, t.n); err != nil {
			return err
		}
	}
	return nil
}

func useLot(ctx context.Context, tx *store.Tx, txID, lotID, n int64) error {
	if _, err := tx.Exec(ctx, `UPDATE pb_deposit_lots SET remaining = remaining - ? WHERE id = ?`, n, lotID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO pb_lot_uses (tx_id, lot_id, amount) VALUES (?, ?, ?)`, txID, lotID, n)
	return err
}

// restoreLots gives back to each lot what an earlier transaction took from it; the reversal
// of a redemption or an expiry puts the deposit back where it came from, expiry date and all.
func restoreLots(ctx context.Context, tx *store.Tx, origTxID int64) error {
	_, err := tx.Exec(ctx, `UPDATE pb_deposit_lots SET remaining = remaining +
		(SELECT u.amount FROM pb_lot_uses u WHERE u.tx_id = ? AND u.lot_id = pb_deposit_lots.id)
		WHERE id IN (SELECT lot_id FROM pb_lot_uses WHERE tx_id = ?)`, origTxID, origTxID)
	return err
}

// takeBackLot removes the deposit an earning added, first from what is left of its own lot and
// then from the others, those expiring first first; used when an earning is reversed. An
// earning of a bulk posting may share a lot another transaction of it opened, and then has
// none of its own.
func takeBackLot(ctx context.Context, tx *store.Tx, passbookID, origTxID, reversalTxID, amount int64) error {
	var lotID, remaining int64
	err := tx.QueryRow(ctx, `SELECT id, remaining FROM pb_deposit_lots WHERE passbook_id = ? AND tx_id = ? AND remaining > 0`,
		passbookID, origTxID).Scan(&lotID, &remaining)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	own := min(remaining, amount)
	if own > 0 {
		if err := useLot(ctx, tx, reversalTxID, lotID, own); err != nil {
			return err
		}
	}
	if amount-own > 0 {
		return drawLots(ctx, tx, passbookID, reversalTxID, amount-own)
	}
	return nil
}
