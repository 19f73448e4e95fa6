package passbook

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/errs"
	"grassroots/store"
)

// Asset is what an account holds.
type Asset string

const (
	Points Asset = "points" // 荣誉积分
	Fen    Asset = "fen"    // 存款, in fen
)

// Account kinds. A passbook has honor and deposit; a community has the other four.
const (
	accHonor       = "honor"
	accDeposit     = "deposit"
	accIssuePoints = "issue_points"
	accIssueFen    = "issue_fen"
	accRedeemed    = "redeemed"
	accExpired     = "expired"
)

// Transaction kinds.
const (
	TxEarn     = "earn"
	TxDeduct   = "deduct"
	TxRedeem   = "redeem"
	TxExpire   = "expire"
	TxReversal = "reversal"
)

// leg is one entry of a transaction before it is written.
type leg struct {
	account int64
	asset   Asset
	amount  int64
	// community legs move a community's issuing, redemption or expiry account. Those balances
	// are the sums of their entries, not kept on the account: every posting of a community
	// would otherwise update the same row and wait on every other one.
	community bool
}

// passbookLeg moves a passbook's own account, whose running balance is kept.
func passbookLeg(account int64, asset Asset, amount int64) leg {
	return leg{account, asset, amount, false}
}

// communityLeg moves a community account.
func communityLeg(account int64, asset Asset, amount int64) leg {
	return leg{account, asset, amount, true}
}

// booking is a transaction to write.
type booking struct {
	orgID, passbookID int64
	kind              string
	memo              string // 摘要, printed in the passbook
	date              string // business date, YYYY-MM-DD in Asia/Shanghai
	rankDate          string // the date whose ranking periods the points count in; "" = date
	claimID           int64
	reversesID        int64
	legs              []leg
}

var errInsufficientDeposit = errs.Conflict("存款余额不足")

// ledgerGate is the lock every posting shares and a bulk posting (PostApproved) holds alone:
// the bulk path works out running balances from those it read at its start, so nothing else
// may move a balance until it commits. Postings take it before they read what they decide on.
const ledgerGate = 0x70625f6c6764 << 16 // "pb_lgd"

func shareLedger(ctx context.Context, tx *store.Tx) error {
	return tx.DB().Dialect.SerializeShared(ctx, tx, ledgerGate)
}

// book writes one balanced transaction inside tx: the legs must sum to zero per asset; each
// account's balance moves by its leg in the same statement that checks a deposit stays at or
// above zero; each entry records the balance after it; honour legs of passbooks move the
// ranking totals of the business date's periods. It returns the transaction id.
func book(ctx context.Context, tx *store.Tx, actor audit.Actor, b booking) (int64, error) {
	sums := map[Asset]int64{}
	for _, l := range b.legs {
		sums[l.asset] += l.amount
	}
	for asset, sum := range sums {
		if sum != 0 {
			return 0, fmt.Errorf("passbook: unbalanced %s transaction: %s sums to %d", b.kind, asset, sum)
		}
	}
	if err := shareLedger(ctx, tx); err != nil {
		return 0, err
	}
	id, err := tx.Insert(ctx, `INSERT INTO pb_transactions
		(org_id, passbook_id, kind, memo, business_date, claim_id, reverses_id, actor_id, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.orgID, nullID(b.passbookID), b.kind, b.memo, b.date, nullID(b.claimID),
		nullID(b.reversesID), nullID(actor.UserID), actor.Name, store.FormatTime(tx.Now()))
	if err != nil {
		if tx.DB().Dialect.IsUniqueViolation(err) {
			return 0, errs.Conflict("该笔交易已冲正，不能重复冲正")
		}
		return 0, err
	}
	// Passbook legs move their balances first, in one statement that checks every deposit;
	// then every entry goes in with one INSERT and the ranking totals move with one upsert.
	after, err := moveBalances(ctx, tx, b.legs)
	if err != nil {
		return 0, err
	}
	var entries []any
	for _, l := range b.legs {
		if l.amount == 0 {
			continue
		}
		var balance any // a community account's running balance is not kept
		if !l.community {
			moved := after[l.account]
			balance = moved.balance
			if moved.kind == accHonor {
				rankDate := b.rankDate
				if rankDate == "" {
					rankDate = b.date
				}
				if err := addPoints(ctx, tx, b.passbookID, b.orgID, rankDate, l.amount); err != nil {
					return 0, err
				}
			}
		}
		entries = append(entries, id, l.account, string(l.asset), l.amount, balance)
	}
	if len(entries) > 0 {
		if err := tx.Defer(ctx, `INSERT INTO pb_entries (tx_id, account_id, asset, amount, balance_after) VALUES `+
			valueRows(len(entries)/5, 5), entries...); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// movedAccount is a passbook account after its leg moved it.
type movedAccount struct {
	balance int64
	kind    string
}

// moveBalances moves the running balance of every passbook account among legs by its leg,
// refusing to take a deposit below zero, and returns the accounts as they are after it. A
// refused deposit is errInsufficientDeposit, and the caller's transaction must not commit.
//
// The honour account moves before the deposit account, one row at a time: on PostgreSQL
// these updates take the rows' locks, and every path that touches a passbook takes its honour
// row first (see lockPassbookAccounts), so that two of them queue rather than deadlock. One
// UPDATE of both rows locked them in whatever order the plan read them, and deadlocked with
// redemptions.
func moveBalances(ctx context.Context, tx *store.Tx, legs []leg) (map[int64]movedAccount, error) {
	var moves []leg
	for _, l := range legs {
		if l.community || l.amount == 0 {
			continue
		}
		for _, m := range moves {
			if m.account == l.account {
				return nil, fmt.Errorf("passbook: account %d moved twice in one transaction", l.account)
			}
		}
		moves = append(moves, l)
	}
	honourFirst := func(l leg) int {
		if l.asset == Points {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(moves, func(a, b leg) int { return cmp.Compare(honourFirst(a), honourFirst(b)) })
	after := make(map[int64]movedAccount, len(moves))
	for _, l := range moves {
		var m movedAccount
		err := tx.QueryRow(ctx, `UPDATE pb_accounts SET balance = balance + ?
			WHERE id = ? AND (kind <> 'deposit' OR balance + ? >= 0) RETURNING balance, kind`, l.amount, l.account, l.amount).
			Scan(&m.balance, &m.kind)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errInsufficientDeposit
		}
		if err != nil {
			return nil, err
		}
		after[l.account] = m
	}
	return after, nil
}

// valueRows is the VALUES list of a multi-row INSERT: rows groups of width placeholders.
func valueRows(rows, width int) string {
	one := "(?" + strings.Repeat(", ?", width-1) + ")"
	return one + strings.Repeat(", "+one, rows-1)
}

// Periods lists the ranking periods a business date counts in: all time, its year, quarter and
// month, e.g. all, 2026, 2026Q4, 2026-11.
func Periods(date string) []string {
	d, err := time.Parse(store.DateLayout, date)
	if err != nil {
		return []string{"all"}
	}
	y := strconv.Itoa(d.Year())
	return []string{"all", y, fmt.Sprintf("%sQ%d", y, (int(d.Month())+2)/3), d.Format("2006-01")}
}

// addPoints moves a passbook's ranking totals of every period a date counts in, in one upsert.
func addPoints(ctx context.Context, tx *store.Tx, passbookID, orgID int64, date string, points int64) error {
	periods := Periods(date)
	args := make([]any, 0, 4*len(periods))
	for _, period := range periods {
		args = append(args, period, passbookID, orgID, points)
	}
	return tx.Defer(ctx, `INSERT INTO pb_points_totals (period, passbook_id, org_id, points) VALUES `+valueRows(len(periods), 4)+`
		ON CONFLICT (period, passbook_id) DO UPDATE SET points = pb_points_totals.points + excluded.points`, args...)
}

// orgAccounts are a community's four ledger accounts.
type orgAccounts struct {
	issuePoints, issueFen, redeemed, expired int64
}

// ensureOrgAccounts returns a community's accounts, opening them the first time it needs them.
// Every posting calls it, so it reads first and writes only when some are missing.
func ensureOrgAccounts(ctx context.Context, tx *store.Tx, orgID int64) (orgAccounts, error) {
	a, found, err := readOrgAccounts(ctx, tx, orgID)
	if err != nil || found == 4 {
		return a, err
	}
	kinds := []struct {
		kind  string
		asset Asset
	}{{accIssuePoints, Points}, {accIssueFen, Fen}, {accRedeemed, Fen}, {accExpired, Fen}}
	for _, k := range kinds {
		if _, err := tx.Exec(ctx, `INSERT INTO pb_accounts (org_id, kind, asset, balance) VALUES (?, ?, ?, 0)
			ON CONFLICT (org_id, kind) WHERE passbook_id IS NULL DO NOTHING`, orgID, k.kind, string(k.asset)); err != nil {
			return orgAccounts{}, err
		}
	}
	a, _, err = readOrgAccounts(ctx, tx, orgID)
	return a, err
}

func readOrgAccounts(ctx context.Context, tx *store.Tx, orgID int64) (orgAccounts, int, error) {
	rows, err := tx.Query(ctx, `SELECT id, kind FROM pb_accounts WHERE org_id = ? AND passbook_id IS NULL`, orgID)
	if err != nil {
		return orgAccounts{}, 0, err
	}
	defer rows.Close()
	var a orgAccounts
	found := 0
	for rows.Next() {
		var id int64
		var kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return a, 0, err
		}
		found++
		switch kind {
		case accIssuePoints:
			a.issuePoints = id
		case accIssueFen:
			a.issueFen = id
		case accRedeemed:
			a.redeemed = id
		case accExpired:
			a.expired = id
		}
	}
	return a, found, rows.Err()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
