package passbook

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Order states: placed (待领取) until staff hand the reward over (核销) or it is cancelled.
const (
	OrderPlaced    = "placed"
	OrderFulfilled = "fulfilled"
	OrderCancelled = "cancelled"
)

// maxOrderQuantity bounds one order; a community's prizes are towels and rice, not pallets.
const maxOrderQuantity = 99

// Order is a redemption in the points store.
type Order struct {
	ID             int64      `json:"id"`
	OrgID          int64      `json:"org_id"`
	OrgName        string     `json:"org_name"`
	PassbookID     int64      `json:"passbook_id"`
	PassbookNumber string     `json:"passbook_number"`
	PersonName     string     `json:"person_name"`
	RewardID       int64      `json:"reward_id"`
	RewardName     string     `json:"reward_name"`
	Quantity       int64      `json:"quantity"`
	UnitPriceFen   int64      `json:"unit_price_fen"`
	TotalFen       int64      `json:"total_fen"`
	State          string     `json:"state"`
	PickupCode     string     `json:"pickup_code,omitempty"` // shown only to the member and to whoever placed it
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	ClosedBy       string     `json:"closed_by,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	TxID           int64      `json:"tx_id"`
	CancelTxID     int64      `json:"cancel_tx_id,omitempty"`
	orgPath        string
	personID       int64
	createdByID    int64
	code           string
}

// OrderInput places an order: quantity of a reward, paid from a passbook's deposit.
type OrderInput struct {
	PassbookID int64 `json:"passbook_id"`
	RewardID   int64 `json:"reward_id"`
	Quantity   int64 `json:"quantity"`
}

// OrderFilter selects orders for a list.
type OrderFilter struct {
	PassbookID int64
	OrgID      int64  // the members' community, or any organisation above it
	State      string // placed | fulfilled | cancelled; "" = all
	From, To   string // placed on or after / on or before, YYYY-MM-DD in Asia/Shanghai
	Limit      int
	Cursor     int64 // newest first: the next page holds ids below the cursor
}

// memo is the order's line in the passbook: 兑换 毛巾×2.
func (o Order) memo() string { return fmt.Sprintf("%s×%d", o.RewardName, o.Quantity) }

// reveal shows the pickup code to those who may hold it: the member, whoever placed the order
// for them, and the operator. Staff who hand rewards over never see it, so a reward can only
// be collected with the code the member brings.
func (o *Order) reveal(p *auth.Principal) {
	if p.IsSystem() || (p.PersonID != 0 && p.PersonID == o.personID) || (p.UserID != 0 && p.UserID == o.createdByID) {
		o.PickupCode = o.code
	}
}

// fulfillableBy reports whether p may hand over the order's reward: staff who fulfil orders in
// the members' community.
func (o Order) fulfillableBy(p *auth.Principal) bool {
	return o.State == OrderPlaced && p.Scope(PermFulfil).Covers(o.orgPath)
}

// cancellableBy reports whether p may cancel the order: the member it belongs to, or staff
// who may hand it over.
func (o Order) cancellableBy(p *auth.Principal) bool {
	own := o.personID != 0 && p.Scope(PermRedeem).PersonID == o.personID
	return o.State == OrderPlaced && (own || p.Scope(PermFulfil).Covers(o.orgPath))
}

const orderColumns = `od.id, od.org_id, o.name, o.path, od.passbook_id, pb.number, pb.person_id, pe.name,
	od.reward_id, r.name, od.quantity, od.unit_price_fen, od.total_fen, od.state, od.pickup_code,
	COALESCE(od.created_by, 0), od.created_by_name, od.created_at, od.closed_at, od.closed_by_name, od.reason,
	od.tx_id, COALESCE(od.cancel_tx_id, 0)`

const orderFrom = ` FROM pb_orders od
	JOIN orgs o ON o.id = od.org_id
	JOIN pb_passbooks pb ON pb.id = od.passbook_id
	JOIN people pe ON pe.id = pb.person_id
	JOIN pb_rewards r ON r.id = od.reward_id`

func scanOrder(row interface{ Scan(...any) error }) (Order, error) {
	var o Order
	var created string
	var closed sql.NullString
	err := row.Scan(&o.ID, &o.OrgID, &o.OrgName, &o.orgPath, &o.PassbookID, &o.PassbookNumber, &o.personID, &o.PersonName,
		&o.RewardID, &o.RewardName, &o.Quantity, &o.UnitPriceFen, &o.TotalFen, &o.State, &o.code,
		&o.createdByID, &o.CreatedBy, &created, &closed, &o.ClosedBy, &o.Reason, &o.TxID, &o.CancelTxID)
	if err != nil {
		return o, err
	}
	if o.CreatedAt, err = store.ParseTime(created); err != nil {
		return o, err
	}
	if closed.Valid {
		t, err := store.ParseTime(closed.String)
		if err != nil {
			return o, err
		}
		o.ClosedAt = &t
	}
	return o, nil
}

// loadOrder reads an order of a passbook p may view: a member's own, or any in staff's subtree.
func loadOrder(ctx context.Context, q querier, p *auth.Principal, id int64) (Order, error) {
	cond, args := p.Scope(PermView).Where("o.path", "pb.person_id")
	o, err := scanOrder(q.QueryRow(ctx, `SELECT `+orderColumns+orderFrom+` WHERE od.id = ? AND `+cond,
		append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return o, errs.NotFound("订单不存在")
	}
	if err != nil {
		return o, err
	}
	o.reveal(p)
	return o, nil
}

// GetOrder returns an order p may view.
func (s *Service) GetOrder(ctx context.Context, p *auth.Principal, id int64) (Order, error) {
	return loadOrder(ctx, s.db, p, id)
}

// ListOrders lists the orders p may view, newest first, a page at a time.
func (s *Service) ListOrders(ctx context.Context, p *auth.Principal, f OrderFilter) ([]Order, int64, error) {
	cond, args := p.Scope(PermView).Where("o.path", "pb.person_id")
	where := []string{cond}
	switch f.State {
	case "":
	case OrderPlaced, OrderFulfilled, OrderCancelled:
		where, args = append(where, "od.state = ?"), append(args, f.State)
	default:
		return nil, 0, errs.Invalid("state", "订单状态应为 placed、fulfilled 或 cancelled")
	}
	if f.PassbookID != 0 {
		// A passbook out of reach is not found, as the passbook itself is.
		if _, err := loadPassbook(ctx, s.db, p, PermView, f.PassbookID); err != nil {
			return nil, 0, err
		}
		where, args = append(where, "od.passbook_id = ?"), append(args, f.PassbookID)
	}
	if f.OrgID != 0 {
		o, err := visibleOrg(ctx, s.db, p, PermView, f.OrgID)
		if err != nil {
			return nil, 0, err
		}
		lo, hi := store.PathRange(o.path)
		where, args = append(where, "o.path >= ? AND o.path < ?"), append(args, lo, hi)
	}
	for _, bound := range []struct {
		field, date, op string
		days            int
	}{{"from", f.From, ">=", 0}, {"to", f.To, "<", 1}} {
		if bound.date == "" {
			continue
		}
		day, err := time.ParseInLocation(store.DateLayout, bound.date, store.Shanghai)
		if err != nil {
			return nil, 0, errs.Invalid(bound.field, "日期格式应为 YYYY-MM-DD")
		}
		where = append(where, "od.created_at "+bound.op+" ?")
		args = append(args, store.FormatTime(day.AddDate(0, 0, bound.days)))
	}
	if f.Cursor > 0 {
		where, args = append(where, "od.id < ?"), append(args, f.Cursor)
	}
	limit := boundedLimit(f.Limit)
	rows, err := s.db.Query(ctx, `SELECT `+orderColumns+orderFrom+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY od.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, 0, err
		}
		o.reveal(p)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// PlaceOrder redeems quantity of a reward from a passbook p may redeem with (a member's own;
// staff on behalf of members in their subtree). In one transaction it takes the stock, books
// any deposit already past its expiry, debits the deposit (the lot expiring first is spent
// first), and writes the order with a fresh pickup code. It never oversells and never takes a
// deposit below zero; either refusal is a conflict and nothing is written. A retried request
// with the same idempotency key returns the original order.
func (s *Service) PlaceOrder(ctx context.Context, p *auth.Principal, key IdempotencyKey, in OrderInput) (Order, error) {
	if in.Quantity < 1 || in.Quantity > maxOrderQuantity {
		return Order{}, errs.Invalid("quantity", "兑换数量应在 1 到 %d 之间", maxOrderQuantity)
	}
	var out Order
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		prior, hash, err := recall(ctx, tx, p.UserID, key, "order", in)
		if err != nil {
			return err
		}
		if prior != 0 {
			out, err = loadOrder(ctx, tx, p, prior)
			return err
		}
		b, err := loadPassbook(ctx, tx, p, PermRedeem, in.PassbookID)
		if err != nil {
			return err
		}
		rw, err := redeemableReward(ctx, tx, b, in.RewardID)
		if err != nil {
			return err
		}
		id, expired, err := placeOrder(ctx, tx, p.Actor(), b, rw, in.Quantity)
		if err != nil {
			return err
		}
		if err := remember(ctx, tx, p.UserID, key, hash, "order", id); err != nil {
			return err
		}
		if out, err = loadOrder(ctx, tx, auth.System(), id); err != nil {
			return err
		}
		summary := map[string]any{"passbook": b.Number, "person": b.PersonName, "reward": rw.Name,
			"quantity": in.Quantity, "total_fen": out.TotalFen}
		if expired > 0 {
			summary["expired_fen"] = expired
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.order", EntityType: "pb_order",
			EntityID: id, OrgID: b.OrgID, Summary: summary})
	})
	return out, err
}

// redeemableReward loads a reward a passbook may redeem: live and stocked at or above the
// passbook's community. Any other reward is not found, so other communities' shelves stay
// invisible.
func redeemableReward(ctx context.Context, tx *store.Tx, b Passbook, rewardID int64) (Reward, error) {
	rw, err := scanReward(tx.QueryRow(ctx, `SELECT `+rewardColumns+rewardFrom+` WHERE r.id = ?`, rewardID))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !strings.HasPrefix(b.orgPath, rw.orgPath)) {
		return rw, errs.NotFound("奖品不存在")
	}
	if err == nil && rw.Archived {
		err = errs.Conflict("「%s」已下架，不能兑换", rw.Name)
	}
	return rw, err
}

// placeOrder does the writes of an order in the order that keeps PostgreSQL free of deadlocks:
// the reward's stock row first, then the passbook's accounts (expireDue locks them), then the
// community's, as a cancellation does. It returns the order id and the deposit that expired on
// the way.
func placeOrder(ctx context.Context, tx *store.Tx, actor audit.Actor, b Passbook, rw Reward, quantity int64) (int64, int64, error) {
	stockAfter, err := shiftStock(ctx, tx, rw.ID, -quantity)
	if err != nil {
		return 0, 0, err
	}
	today := store.LocalDate(tx.Now())
	exp, err := expireDue(ctx, tx, b.ID, today)
	if err != nil {
		return 0, 0, err
	}
	o := Order{RewardName: rw.Name, Quantity: quantity, UnitPriceFen: rw.PriceFen, TotalFen: rw.PriceFen * quantity}
	txID, err := redeem(ctx, tx, actor, b, o.TotalFen, today, "兑换 "+o.memo())
	if err != nil {
		return 0, 0, err
	}
	code, err := newPickupCode(ctx, tx, b.OrgID)
	if err != nil {
		return 0, 0, err
	}
	id, err := tx.Insert(ctx, `INSERT INTO pb_orders (org_id, passbook_id, reward_id, quantity, unit_price_fen, total_fen,
		state, pickup_code, tx_id, created_by, created_by_name, created_at) VALUES (?, ?, ?, ?, ?, ?, 'placed', ?, ?, ?, ?, ?)`,
		b.OrgID, b.ID, rw.ID, quantity, o.UnitPriceFen, o.TotalFen, code, txID, nullID(actor.UserID), actor.Name,
		store.FormatTime(tx.Now()))
	if tx.DB().Dialect.IsUniqueViolation(err) {
		// Two orders of the community drew the same code at the same moment on PostgreSQL.
		return 0, 0, errs.Conflict("取货码重复，请重新兑换")
	}
	if err != nil {
		return 0, 0, err
	}
	return id, exp.fen, logStockMove(ctx, tx, actor, rw.ID, -quantity, stockAfter, "兑换出库", id)
}

// newPickupCode draws a random six-digit code that no other order of the community waiting
// to be collected has, so that a code typed at the counter finds one order. The unique index
// pb_orders_pickup backs the check against two transactions drawing the same code at once.
func newPickupCode(ctx context.Context, tx *store.Tx, orgID int64) (string, error) {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", err
		}
		code := fmt.Sprintf("%06d", n.Int64())
		var taken int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pb_orders WHERE pickup_code = ? AND org_id = ? AND state = 'placed'`,
			code, orgID).Scan(&taken); err != nil {
			return "", err
		}
		if taken == 0 {
			return code, nil
		}
	}
}

// readPickupCode reads what staff typed or scanned: the six digits, or the address the member's
// QR code carries (…/passbook/pickup?code=123456).
func readPickupCode(text string) (string, error) {
	text = strings.TrimSpace(text)
	if u, err := url.Parse(text); err == nil && u.Query().Has("code") {
		text = u.Query().Get("code")
	}
	if len(text) != 6 || strings.Trim(text, "0123456789") != "" {
		return "", errs.Invalid("code", "取货码应为6位数字")
	}
	return text, nil
}

// FulfilOrder hands over the reward of an order (核销) when the code the member brings matches.
func (s *Service) FulfilOrder(ctx context.Context, p *auth.Principal, id int64, code string) (Order, error) {
	code, err := readPickupCode(code)
	if err != nil {
		return Order{}, err
	}
	var out Order
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := loadOrder(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if o.State != OrderPlaced {
			return orderNotPlaced(o.State, "核销")
		}
		if !o.fulfillableBy(p) {
			return errs.Forbidden("没有权限核销此订单")
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(o.code)) != 1 {
			return errs.Invalid("code", "取货码不正确")
		}
		out, err = fulfilPlaced(ctx, tx, p, o)
		return err
	})
	return out, err
}

// PickupByCode finds the order waiting to be collected in p's subtree that carries the code
// and hands its reward over.
func (s *Service) PickupByCode(ctx context.Context, p *auth.Principal, code string) (Order, error) {
	code, err := readPickupCode(code)
	if err != nil {
		return Order{}, err
	}
	var out Order
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		cond, args := p.Scope(PermFulfil).Where("o.path", "")
		rows, err := tx.Query(ctx, `SELECT od.id FROM pb_orders od JOIN orgs o ON o.id = od.org_id
			WHERE od.state = 'placed' AND od.pickup_code = ? AND `+cond+` LIMIT 2`, append([]any{code}, args...)...)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		switch len(ids) {
		case 0:
			return errs.NotFound("没有找到使用该取货码的待领取订单")
		case 2:
			return errs.Conflict("多个待领取订单使用该取货码，请在订单列表中按订单核销")
		}
		o, err := loadOrder(ctx, tx, auth.System(), ids[0])
		if err != nil {
			return err
		}
		out, err = fulfilPlaced(ctx, tx, p, o)
		return err
	})
	return out, err
}

// fulfilPlaced closes a placed order as collected.
func fulfilPlaced(ctx context.Context, tx *store.Tx, p *auth.Principal, o Order) (Order, error) {
	if err := closeOrder(ctx, tx, p.Actor(), &o, OrderFulfilled, ""); err != nil {
		return o, err
	}
	o.reveal(p)
	return o, audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.order_fulfil", EntityType: "pb_order",
		EntityID: o.ID, OrgID: o.OrgID, Summary: map[string]any{"passbook": o.PassbookNumber, "person": o.PersonName,
			"reward": o.RewardName, "quantity": o.Quantity}})
}

// closeOrder moves a placed order to its final state. The state test is part of the UPDATE, so
// of a cancellation and a pick-up racing for one order exactly one wins; the other is told
// what became of it.
func closeOrder(ctx context.Context, tx *store.Tx, actor audit.Actor, o *Order, state, reason string) error {
	now := tx.Now()
	res, err := tx.Exec(ctx, `UPDATE pb_orders SET state = ?, closed_at = ?, closed_by_name = ?, reason = ?
		WHERE id = ? AND state = 'placed'`, state, store.FormatTime(now), actor.Name, reason, o.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = tx.QueryRow(ctx, `SELECT state FROM pb_orders WHERE id = ?`, o.ID).Scan(&o.State)
		}
		if err != nil {
			return err
		}
		action := "核销"
		if state == OrderCancelled {
			action = "取消"
		}
		return orderNotPlaced(o.State, action)
	}
	o.State, o.ClosedAt, o.ClosedBy, o.Reason = state, &now, actor.Name, reason
	return nil
}

// orderNotPlaced refuses an action on an order that is no longer waiting to be collected.
func orderNotPlaced(state, action string) error {
	if state == OrderFulfilled {
		return errs.Conflict("订单已领取，不能%s", action)
	}
	return errs.Conflict("订单已取消，不能%s", action)
}

// CancelOrder cancels an order not yet collected, at the member's own request or by staff who
// hand rewards over: the deposit goes back into the lots it came from (expiry dates and all),
// the stock goes back on the shelf, and the order records why.
func (s *Service) CancelOrder(ctx context.Context, p *auth.Principal, id int64, reason string) (Order, error) {
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > 200 {
		return Order{}, errs.Invalid("reason", "取消原因不能超过200个字")
	}
	var out Order
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := loadOrder(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if o.State != OrderPlaced {
			return orderNotPlaced(o.State, "取消")
		}
		if !o.cancellableBy(p) {
			return errs.Forbidden("没有权限取消此订单")
		}
		if err := cancelPlaced(ctx, tx, p.Actor(), &o, reason); err != nil {
			return err
		}
		out = o
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.order_cancel", EntityType: "pb_order",
			EntityID: o.ID, OrgID: o.OrgID, Summary: map[string]any{"passbook": o.PassbookNumber, "reward": o.RewardName,
				"quantity": o.Quantity, "total_fen": o.TotalFen, "reason": reason}})
	})
	return out, err
}

// cancelPlaced closes the order first (which settles any race with a pick-up), then takes the rows
// in the order placeOrder takes them: stock, then deposit, then the community's accounts.
func cancelPlaced(ctx context.Context, tx *store.Tx, actor audit.Actor, o *Order, reason string) error {
	if err := closeOrder(ctx, tx, actor, o, OrderCancelled, reason); err != nil {
		return err
	}
	if _, err := moveStock(ctx, tx, actor, o.RewardID, o.Quantity, "取消订单退回", o.ID); err != nil {
		return err
	}
	revID, err := reverse(ctx, tx, actor, o.TxID, store.LocalDate(tx.Now()), "取消兑换 "+o.memo())
	if err != nil {
		return err
	}
	o.CancelTxID = revID
	_, err = tx.Exec(ctx, `UPDATE pb_orders SET cancel_tx_id = ? WHERE id = ?`, revID, o.ID)
	return err
}
