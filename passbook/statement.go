package passbook

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"grassroots/auth"
	"grassroots/store"
)

// Line is one line of a passbook statement: a transaction as the member's paper passbook
// shows it (日期, 摘要, 存入, 支取, 余额, 经办人), with the honour points beside.
type Line struct {
	TxID         int64     `json:"tx_id"`
	Date         string    `json:"date"`
	Memo         string    `json:"memo"`
	Kind         string    `json:"kind"`
	Points       int64     `json:"points"`        // change of honour points
	HonorBalance int64     `json:"honor_balance"` // honour points after it
	DepositIn    int64     `json:"deposit_in"`    // 存入, fen
	DepositOut   int64     `json:"deposit_out"`   // 支取, fen
	Balance      int64     `json:"balance"`       // deposit after it, fen
	Actor        string    `json:"actor"`         // 经办人
	ReversedBy   int64     `json:"reversed_by,omitempty"`
	Reverses     int64     `json:"reverses,omitempty"`
	At           time.Time `json:"at"`
}

// Statement returns a passbook's lines after the transaction id after, oldest first, at most
// limit of them, and the cursor of the next page (0 at the end).
func (s *Service) Statement(ctx context.Context, p *auth.Principal, passbookID, after int64, limit int) ([]Line, int64, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var lines []Line
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		b, err := loadPassbook(ctx, tx, p, PermView, passbookID)
		if err != nil {
			return err
		}
		lines, err = statementLines(ctx, tx, b, after, limit+1)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(lines) > limit {
		lines = lines[:limit]
		next = lines[limit-1].TxID
	}
	return lines, next, nil
}

// statementLines reads up to n lines after a transaction id. Each line's balances are those
// after it; a transaction that moved only one of the two accounts carries the other forward.
func statementLines(ctx context.Context, tx *store.Tx, b Passbook, after int64, n int) ([]Line, error) {
	honor, err := balanceAt(ctx, tx, b.honorAcc, after)
	if err != nil {
		return nil, err
	}
	deposit, err := balanceAt(ctx, tx, b.depositAcc, after)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT t.id, t.business_date, t.memo, t.kind, t.actor, t.created_at,
			COALESCE(t.reverses_id, 0), COALESCE(r.id, 0),
			COALESCE(SUM(CASE WHEN e.account_id = ? THEN e.amount END), 0),
			COALESCE(SUM(CASE WHEN e.account_id = ? THEN e.amount END), 0)
		FROM pb_transactions t
		JOIN pb_entries e ON e.tx_id = t.id AND e.account_id IN (?, ?)
		LEFT JOIN pb_transactions r ON r.reverses_id = t.id
		WHERE t.passbook_id = ? AND t.id > ?
		GROUP BY t.id, t.business_date, t.memo, t.kind, t.actor, t.created_at, t.reverses_id, r.id
		ORDER BY t.id LIMIT ?`,
		b.honorAcc, b.depositAcc, b.honorAcc, b.depositAcc, b.ID, after, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Line
	for rows.Next() {
		var l Line
		var at string
		var fen int64
		if err := rows.Scan(&l.TxID, &l.Date, &l.Memo, &l.Kind, &l.Actor, &at, &l.Reverses, &l.ReversedBy, &l.Points, &fen); err != nil {
			return nil, err
		}
		if l.At, err = store.ParseTime(at); err != nil {
			return nil, err
		}
		honor += l.Points
		deposit += fen
		l.HonorBalance, l.Balance = honor, deposit
		if fen > 0 {
			l.DepositIn = fen
		} else {
			l.DepositOut = -fen
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// balanceAt is an account's balance after the transaction id after (0 = before any).
func balanceAt(ctx context.Context, tx *store.Tx, account, after int64) (int64, error) {
	var bal int64
	err := tx.QueryRow(ctx, `SELECT balance_after FROM pb_entries WHERE account_id = ? AND tx_id <= ? ORDER BY id DESC LIMIT 1`,
		account, after).Scan(&bal)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return bal, err
}

// Latest returns a passbook's last n lines, newest first, for a member's phone.
func (s *Service) Latest(ctx context.Context, p *auth.Principal, passbookID int64, n int) ([]Line, error) {
	var lines []Line
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		b, err := loadPassbook(ctx, tx, p, PermView, passbookID)
		if err != nil {
			return err
		}
		var after int64
		err = tx.QueryRow(ctx, `SELECT id FROM pb_transactions WHERE passbook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?`, b.ID, n).Scan(&after)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		lines, err = statementLines(ctx, tx, b, after, n)
		return err
	})
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	return lines, err
}
