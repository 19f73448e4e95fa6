package passbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/store"
)

// expiryLock is the base of the per-passbook advisory lock taken while its expiry is booked.
const expiryLock int64 = 0x7062_6578 << 24 // "pbex"

// lotExpiry is what expireDue booked for one passbook.
type lotExpiry struct {
	txID, orgID int64
	lots        int
	fen         int64
}

// ExpireDeposits books, for every passbook, the expiry of deposit lots whose last day
// (expires_on) is before the Asia/Shanghai date of asOf: one "expire" transaction per passbook
// moving what is left of those lots to its community's expiry account, with the lots it took
// recorded so that a reversal puts them back. The settings decided each lot's expiry when it
// was earned; this only applies it. It is safe to run again and from several instances at
// once: a lot with nothing left is skipped, so a second run finds nothing to do.
func (s *Service) ExpireDeposits(ctx context.Context, asOf time.Time) (expiredLots int, fen int64, err error) {
	today := store.LocalDate(asOf)
	var failed int
	var first error
	for after := int64(0); ; {
		ids, err := duePassbooks(ctx, s.db, today, after)
		if err != nil || len(ids) == 0 {
			return expiredLots, fen, errors.Join(err, failures(failed, first))
		}
		for _, id := range ids {
			e, err := s.expirePassbook(ctx, id, today)
			if err != nil {
				if ctx.Err() != nil {
					return expiredLots, fen, ctx.Err()
				}
				// One passbook's trouble must not keep every later passbook's deposit alive.
				if failed++; first == nil {
					first = fmt.Errorf("passbook %d: %w", id, err)
				}
				continue
			}
			expiredLots, fen = expiredLots+e.lots, fen+e.fen
		}
		after = ids[len(ids)-1]
	}
}

func failures(n int, first error) error {
	if n == 0 {
		return nil
	}
	return fmt.Errorf("passbook: expiry failed for %d passbooks, first %w", n, first)
}

// duePassbooks lists, a batch at a time, passbooks holding deposit past its expiry.
func duePassbooks(ctx context.Context, db *store.DB, today string, after int64) ([]int64, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT passbook_id FROM pb_deposit_lots
		WHERE remaining > 0 AND expires_on < ? AND passbook_id > ? ORDER BY passbook_id LIMIT 500`, today, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// expirePassbook books one passbook's expiry in its own transaction, audited as the system's.
func (s *Service) expirePassbook(ctx context.Context, passbookID int64, today string) (lotExpiry, error) {
	var e lotExpiry
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if e, err = expireDue(ctx, tx, passbookID, today); err != nil || e.fen == 0 {
			return err
		}
		return audit.Append(ctx, tx, audit.System, audit.Event{Action: "passbook.expire", EntityType: "pb_transaction",
			EntityID: e.txID, OrgID: e.orgID, Summary: map[string]any{"passbook_id": passbookID, "lots": e.lots, "fen": e.fen}})
	})
	return e, err
}

// dueLot is what is left of a lot past its expiry.
type dueLot struct{ id, remaining int64 }

// expireDue books, inside tx, the expiry of a passbook's lots that ended before today, and
// reports nothing booked when there are none. It takes the passbook's advisory lock on
// PostgreSQL, so that expiry runs of several instances queue instead of racing, and then locks
// the passbook's accounts (lockPassbookAccounts). SQLite's single writer does both already.
func expireDue(ctx context.Context, tx *store.Tx, passbookID int64, today string) (lotExpiry, error) {
	e := lotExpiry{}
	if err := tx.DB().Dialect.Serialize(ctx, tx, expiryLock^passbookID); err != nil {
		return e, err
	}
	depositAcc, orgID, err := lockPassbookAccounts(ctx, tx, passbookID)
	if err != nil {
		return e, err
	}
	e.orgID = orgID
	lots, err := dueLots(ctx, tx, passbookID, today)
	if err != nil || len(lots) == 0 {
		return e, err
	}
	for _, l := range lots {
		e.fen += l.remaining
	}
	acc, err := ensureOrgAccounts(ctx, tx, e.orgID)
	if err != nil {
		return e, err
	}
	e.txID, err = book(ctx, tx, audit.System, booking{orgID: e.orgID, passbookID: passbookID, kind: TxExpire,
		memo: "存款到期", date: today, legs: []leg{passbookLeg(depositAcc, Fen, -e.fen), communityLeg(acc.expired, Fen, e.fen)}})
	if err != nil {
		return e, err
	}
	for _, l := range lots {
		if err := useLot(ctx, tx, e.txID, l.id, l.remaining); err != nil {
			return e, err
		}
	}
	e.lots = len(lots)
	return e, nil
}

// lockPassbookAccounts takes the row locks of a passbook's honour account and then its
// deposit account on PostgreSQL, by updating each to itself, and returns the deposit account
// and the community. The deposit row keeps the lots still: every change to them happens in a
// transaction that has already updated it. The honour row comes first because earnings,
// deductions and their reversals take it first and then the community's accounts before the
// deposit; holding it makes them queue behind this transaction instead of deadlocking with it,
// which they would when this transaction, holding the deposit, waits for a community account
// they updated (ensureOrgAccounts waits for such updates to commit).
func lockPassbookAccounts(ctx context.Context, tx *store.Tx, passbookID int64) (depositAcc, orgID int64, err error) {
	if err := shareLedger(ctx, tx); err != nil {
		return 0, 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE pb_accounts SET balance = balance WHERE passbook_id = ? AND kind = 'honor'`, passbookID); err != nil {
		return 0, 0, err
	}
	err = tx.QueryRow(ctx, `UPDATE pb_accounts SET balance = balance WHERE passbook_id = ? AND kind = 'deposit'
		RETURNING id, org_id`, passbookID).Scan(&depositAcc, &orgID)
	return depositAcc, orgID, err
}

func dueLots(ctx context.Context, tx *store.Tx, passbookID int64, today string) ([]dueLot, error) {
	rows, err := tx.Query(ctx, `SELECT id, remaining FROM pb_deposit_lots
		WHERE passbook_id = ? AND remaining > 0 AND expires_on < ? ORDER BY expires_on, id`, passbookID, today)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lots []dueLot
	for rows.Next() {
		var l dueLot
		if err := rows.Scan(&l.id, &l.remaining); err != nil {
			return nil, err
		}
		lots = append(lots, l)
	}
	return lots, rows.Err()
}

// DepositOutlook is what a member may spend today and what of it expires first.
type DepositOutlook struct {
	SpendableFen int64  `json:"spendable_fen"`
	ExpiringFen  int64  `json:"expiring_fen"` // the part that expires first
	ExpiresOn    string `json:"expires_on"`   // its last day; "" when nothing expires
}

// SpendableDeposit returns a passbook's deposit as the store sees it: lots past their last day
// do not count even before the daily expiry has booked them.
func (s *Service) SpendableDeposit(ctx context.Context, p *auth.Principal, passbookID int64) (DepositOutlook, error) {
	var d DepositOutlook
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		b, err := loadPassbook(ctx, tx, p, PermView, passbookID)
		if err != nil {
			return err
		}
		today := store.LocalDate(tx.Now())
		if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(remaining), 0) FROM pb_deposit_lots
			WHERE passbook_id = ? AND remaining > 0 AND (expires_on IS NULL OR expires_on >= ?)`, b.ID, today).Scan(&d.SpendableFen); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT expires_on, SUM(remaining) FROM pb_deposit_lots
			WHERE passbook_id = ? AND remaining > 0 AND expires_on >= ?
			GROUP BY expires_on ORDER BY expires_on LIMIT 1`, b.ID, today).Scan(&d.ExpiresOn, &d.ExpiringFen)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return d, err
}
