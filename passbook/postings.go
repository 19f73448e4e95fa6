package passbook

import (
	"context"
	"database/sql"
	"errors"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// earn books points earned on date: honour and deposit rise (deposit by the settings' rate, in
// a lot with the settings' expiry), the community's issuing accounts fall.
func earn(ctx context.Context, tx *store.Tx, actor audit.Actor, b Passbook, set Settings, points int64, date, memo string, claimID int64) (int64, error) {
	if b.State != StateActive {
		return 0, errs.Conflict("存折已冻结或销户，不能入账")
	}
	acc, err := ensureOrgAccounts(ctx, tx, b.OrgID)
	if err != nil {
		return 0, err
	}
	fen := points * set.FenPerPoint
	id, err := book(ctx, tx, actor, booking{
		orgID: b.OrgID, passbookID: b.ID, kind: TxEarn, memo: memo, date: date, claimID: claimID,
		legs: []leg{passbookLeg(b.honorAcc, Points, points), communityLeg(acc.issuePoints, Points, -points),
			passbookLeg(b.depositAcc, Fen, fen), communityLeg(acc.issueFen, Fen, -fen)},
	})
	if err != nil {
		return 0, err
	}
	return id, addLot(ctx, tx, b.ID, id, fen, set.expiresOn(date))
}

// deduct books a deduction of points (given as a positive number): honour falls; when the
// settings say so the deposit falls too, by the same rate but never below zero.
func deduct(ctx context.Context, tx *store.Tx, actor audit.Actor, b Passbook, set Settings, points int64, date, memo string, claimID int64) (int64, error) {
	acc, err := ensureOrgAccounts(ctx, tx, b.OrgID)
	if err != nil {
		return 0, err
	}
	legs := []leg{passbookLeg(b.honorAcc, Points, -points), communityLeg(acc.issuePoints, Points, points)}
	var fen int64
	if set.DeductionsReduceDeposit {
		var deposit int64
		if err := tx.QueryRow(ctx, `SELECT balance FROM pb_accounts WHERE id = ?`, b.depositAcc).Scan(&deposit); err != nil {
			return 0, err
		}
		fen = min(points*set.FenPerPoint, deposit)
		legs = append(legs, passbookLeg(b.depositAcc, Fen, -fen), communityLeg(acc.issueFen, Fen, fen))
	}
	id, err := book(ctx, tx, actor, booking{orgID: b.OrgID, passbookID: b.ID, kind: TxDeduct, memo: memo, date: date, claimID: claimID, legs: legs})
	if err != nil || fen == 0 {
		return id, err
	}
	return id, drawLots(ctx, tx, b.ID, id, fen)
}

// redeem debits a passbook's deposit for an order; it refuses rather than go below zero. The
// order, written after it, points to the transaction.
func redeem(ctx context.Context, tx *store.Tx, actor audit.Actor, b Passbook, fen int64, date, memo string) (int64, error) {
	if b.State != StateActive {
		return 0, errs.Conflict("存折已冻结或销户，不能兑换")
	}
	acc, err := ensureOrgAccounts(ctx, tx, b.OrgID)
	if err != nil {
		return 0, err
	}
	id, err := book(ctx, tx, actor, booking{
		orgID: b.OrgID, passbookID: b.ID, kind: TxRedeem, memo: memo, date: date,
		legs: []leg{passbookLeg(b.depositAcc, Fen, -fen), communityLeg(acc.redeemed, Fen, fen)},
	})
	if err != nil {
		return 0, err
	}
	return id, drawLots(ctx, tx, b.ID, id, fen)
}

// reverse books the exact opposite of a transaction, linked to it. A transaction is reversed
// at most once (the unique reverses_id refuses a second), a reversal is never itself reversed,
// and an earning whose deposit has been spent cannot be reversed.
func reverse(ctx context.Context, tx *store.Tx, actor audit.Actor, txID int64, date, memo string) (int64, error) {
	var orig booking
	var passbookID, claimID sql.NullInt64
	err := tx.QueryRow(ctx, `SELECT org_id, passbook_id, kind, business_date, claim_id FROM pb_transactions WHERE id = ?`, txID).
		Scan(&orig.orgID, &passbookID, &orig.kind, &orig.date, &claimID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.NotFound("交易不存在")
	}
	if err != nil {
		return 0, err
	}
	if orig.kind == TxReversal {
		return 0, errs.Conflict("冲正交易不能再冲正")
	}
	var done int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pb_transactions WHERE reverses_id = ?`, txID).Scan(&done); err != nil {
		return 0, err
	}
	if done > 0 {
		return 0, errs.Conflict("该笔交易已冲正，不能重复冲正")
	}
	rows, err := tx.Query(ctx, `SELECT e.account_id, e.asset, e.amount, a.passbook_id IS NULL
		FROM pb_entries e JOIN pb_accounts a ON a.id = e.account_id WHERE e.tx_id = ? ORDER BY e.id`, txID)
	if err != nil {
		return 0, err
	}
	var legs []leg
	var depositDelta int64
	for rows.Next() {
		var l leg
		var asset string
		if err := rows.Scan(&l.account, &asset, &l.amount, &l.community); err != nil {
			rows.Close()
			return 0, err
		}
		l.asset, l.amount = Asset(asset), -l.amount
		legs = append(legs, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	// The points leave the ranking periods they were counted in, not the day of the correction.
	b := booking{orgID: orig.orgID, passbookID: passbookID.Int64, kind: TxReversal, memo: memo, date: date, rankDate: orig.date,
		claimID: claimID.Int64, reversesID: txID, legs: legs}
	if passbookID.Valid {
		var depositAcc int64
		if err := tx.QueryRow(ctx, `SELECT id FROM pb_accounts WHERE passbook_id = ? AND kind = 'deposit'`, passbookID.Int64).Scan(&depositAcc); err != nil {
			return 0, err
		}
		for _, l := range legs {
			if l.account == depositAcc {
				depositDelta += l.amount
			}
		}
	}
	id, err := book(ctx, tx, actor, b)
	if errors.Is(err, errInsufficientDeposit) {
		return 0, errs.Conflict("该笔积分折算的存款已被使用，余额不足，不能冲正")
	}
	if err != nil {
		return 0, err
	}
	switch {
	case depositDelta < 0 && orig.kind == TxEarn:
		err = takeBackLot(ctx, tx, passbookID.Int64, txID, id, -depositDelta)
	case depositDelta > 0:
		err = restoreLots(ctx, tx, txID)
	}
	return id, err
}

// Reverse corrects a transaction of a passbook the caller may correct, with the reason as the
// reversal's 摘要.
func (s *Service) Reverse(ctx context.Context, p *auth.Principal, txID int64, reason string) (int64, error) {
	reason, err := requiredText("reason", "冲正原因", reason, 200)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		var passbookID sql.NullInt64
		err := tx.QueryRow(ctx, `SELECT passbook_id FROM pb_transactions WHERE id = ?`, txID).Scan(&passbookID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !passbookID.Valid) {
			return errs.NotFound("交易不存在")
		}
		if err != nil {
			return err
		}
		b, err := loadPassbook(ctx, tx, p, PermCorrect, passbookID.Int64)
		if err != nil {
			return errs.NotFound("交易不存在")
		}
		// An order's debit is undone by cancelling the order, which also restores the stock.
		var orders int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pb_orders WHERE tx_id = ?`, txID).Scan(&orders); err != nil {
			return err
		}
		if orders > 0 {
			return errs.Conflict("这是兑换订单的扣款，请通过取消订单退回存款和库存")
		}
		if id, err = reverse(ctx, tx, p.Actor(), txID, store.LocalDate(tx.Now()), "冲正："+reason); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.reverse", EntityType: "pb_transaction",
			EntityID: txID, OrgID: b.OrgID, Summary: map[string]any{"reversal": id, "passbook": b.Number, "reason": reason}})
	})
	return id, err
}
