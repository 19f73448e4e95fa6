package passbook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"grassroots/audit"
	"grassroots/store"
)

// capPeriods name the periods a cap counts in, as messages say them: the day, the calendar
// month and the calendar year of the claim's work date.
var capPeriods = [3]struct{ this, per string }{{"当日", "每日"}, {"本月", "每月"}, {"本年", "每年"}}

// capUsage is what a passbook has of one item in the periods of a date, in points (deductions
// counted by their size): posted, and still pending.
type capUsage struct {
	posted, pending [3]int64
}

// usage sums the passbook's claims of the item in the day, month and year of date, leaving out
// the claim itself.
func usage(ctx context.Context, q querier, c *Claim) (capUsage, error) {
	var u capUsage
	year, month := c.WorkDate[:4], c.WorkDate[:7]
	rows, err := q.Query(ctx, `SELECT CASE WHEN c.state = 'posted' THEN 1 ELSE 0 END,
			COALESCE(SUM(CASE WHEN c.work_date = ? THEN ABS(c.points) ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN c.work_date >= ? AND c.work_date <= ? THEN ABS(c.points) ELSE 0 END), 0),
			COALESCE(SUM(ABS(c.points)), 0)
		FROM pb_claims c JOIN pb_item_versions v ON v.id = c.item_version_id
		WHERE c.passbook_id = ? AND v.item_id = ? AND c.id <> ? AND c.work_date >= ? AND c.work_date <= ?
			AND c.state IN (?, ?, ?, ?)
		GROUP BY 1`,
		c.WorkDate, month+"-01", month+"-31", c.PassbookID, c.ItemID, c.ID, year+"-01-01", year+"-12-31",
		ClaimPosted, ClaimSubmitted, ClaimReviewed, ClaimPublicized)
	if err != nil {
		return u, err
	}
	defer rows.Close()
	for rows.Next() {
		var posted int
		var sums [3]int64
		if err := rows.Scan(&posted, &sums[0], &sums[1], &sums[2]); err != nil {
			return u, err
		}
		if posted == 1 {
			u.posted = sums
		} else {
			u.pending = sums
		}
	}
	return u, rows.Err()
}

func (c *Claim) caps() [3]int64 { return [3]int64{c.capDay, c.capMonth, c.capYear} }

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// capWords are the verbs of cap messages: points earned, or taken away by a deduction.
func capWords(points int64) (most, got string) {
	if points < 0 {
		return "最多扣", "已扣"
	}
	return "最多", "已得"
}

// fillWarning sets the warning of a pending claim that, with what is posted and pending of the
// same item, would pass a cap. Posting will refuse it if the posted claims alone leave no room.
func fillWarning(ctx context.Context, q querier, c *Claim) error {
	if !c.Pending() || c.caps() == [3]int64{} {
		return nil
	}
	u, err := usage(ctx, q, c)
	if err != nil {
		return err
	}
	most, got := capWords(c.Points)
	for i, limit := range c.caps() {
		if limit > 0 && u.posted[i]+u.pending[i]+abs(c.Points) > limit {
			p := capPeriods[i]
			c.Warning = fmt.Sprintf("可能超过%s上限（%s%s%d分，%s%s%d分，另有%d分待入账），超出上限的申报将不能入账",
				p.this, p.per, most, limit, p.this, got, u.posted[i], u.pending[i])
			return nil
		}
	}
	return nil
}

// refusal is why a claim cannot be posted now, or "" when it can: its passbook no longer takes
// postings, or the posted claims of the same item leave no room under a cap for the period of
// its work date.
func refusal(ctx context.Context, q querier, b Passbook, c *Claim) (string, error) {
	if b.State != StateActive {
		return "存折已冻结或销户，不能入账", nil
	}
	if c.caps() == [3]int64{} {
		return "", nil
	}
	u, err := usage(ctx, q, c)
	if err != nil {
		return "", err
	}
	return overCap(c.Points, c.caps(), u.posted), nil
}

// overCap is why a claim of points cannot be posted when posted is what the same passbook
// already has of the item in the day, month and year of its date, or "" when every cap
// leaves room. A deduction counts by its size.
func overCap(points int64, caps, posted [3]int64) string {
	most, got := capWords(points)
	for i, limit := range caps {
		if limit > 0 && posted[i]+abs(points) > limit {
			p := capPeriods[i]
			return fmt.Sprintf("超过%s上限（%s%s%d分，%s%s%d分）", p.this, p.per, most, limit, p.this, got, posted[i])
		}
	}
	return ""
}

// post books an approved claim to the ledger, or refuses it with the reason, in tx: earned
// points through earn, deductions through deduct, on the claim's work date with the item's
// name and quantity as the 摘要. The caller holds the passbook's lock.
func post(ctx context.Context, tx *store.Tx, actor audit.Actor, c *Claim, set Settings, note string, sets ...column) error {
	b, err := passbookForPosting(ctx, tx, c.PassbookID)
	if err != nil {
		return err
	}
	why, err := refusal(ctx, tx, b, c)
	if err != nil {
		return err
	}
	if why != "" {
		return c.move(ctx, tx, actor, ClaimRefused, why, append(sets, column{"reason", why})...)
	}
	memo := memoOf(c.ItemName, c.Quantity, c.UnitLabel())
	var txID int64
	if c.Points >= 0 {
		txID, err = earn(ctx, tx, actor, b, set, c.Points, c.WorkDate, memo, c.ID)
	} else {
		txID, err = deduct(ctx, tx, actor, b, set, -c.Points, c.WorkDate, memo, c.ID)
	}
	if err != nil {
		return err
	}
	c.TxID = txID
	return c.move(ctx, tx, actor, ClaimPosted, note, append(sets, column{"tx_id", txID}, column{"reason", ""})...)
}

func passbookForPosting(ctx context.Context, tx *store.Tx, id int64) (Passbook, error) {
	return scanPassbook(tx.QueryRow(ctx, `SELECT `+passbookColumns+passbookFrom+` WHERE pb.id = ?`, id))
}

// dueBatch is how many due claims one query of PostDue reads.
const dueBatch = 500

// PostDue posts every publicised claim whose 公示 ended before now's date (Asia/Shanghai), each
// in its own transaction, so that a claim refused for a cap or one that fails does not hold up
// the others. It is safe to call from several goroutines or servers at once: each claim is
// posted under its passbook's lock and only if it is still publicised. It returns how many
// claims were posted and refused, and every failure joined.
func (s *Service) PostDue(ctx context.Context, now time.Time) (posted, refused int, err error) {
	today := store.LocalDate(now)
	var failures []error
	var cursor int64
	for {
		ids, err := dueClaims(ctx, s.db, today, cursor)
		if err != nil {
			return posted, refused, errors.Join(append(failures, err)...)
		}
		for _, id := range ids {
			state, err := s.postDue(ctx, id, today)
			switch {
			case ctx.Err() != nil:
				return posted, refused, errors.Join(append(failures, ctx.Err())...)
			case err != nil:
				failures = append(failures, fmt.Errorf("passbook: post claim %d: %w", id, err))
			case state == ClaimPosted:
				posted++
			case state == ClaimRefused:
				refused++
			}
		}
		if len(ids) < dueBatch {
			return posted, refused, errors.Join(failures...)
		}
		cursor = ids[len(ids)-1]
	}
}

func dueClaims(ctx context.Context, db *store.DB, today string, after int64) ([]int64, error) {
	// The state is written out, not bound, so that the planner can use the partial index of
	// claims in 公示.
	rows, err := db.Query(ctx, `SELECT id FROM pb_claims WHERE state = 'publicized' AND publicity_ends_on < ? AND id > ? ORDER BY id LIMIT ?`,
		today, after, dueBatch)
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

// postDue posts one claim whose 公示 is over, unless an objection or another poster got there
// first; it returns the state the claim ended in.
func (s *Service) postDue(ctx context.Context, id int64, today string) (string, error) {
	var state string
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := lockClaimPassbook(ctx, tx, id); err != nil {
			return err
		}
		c, err := loadClaim(ctx, tx, id, "(1 = 1)", nil)
		if err != nil || c.State != ClaimPublicized || c.PublicityEndsOn >= today {
			return err
		}
		set, err := settingsAt(ctx, tx, c.orgPath)
		if err != nil {
			return err
		}
		if err := post(ctx, tx, audit.System, &c, set, "公示期满无异议"); err != nil {
			return err
		}
		state = c.State
		action := "passbook.claim_post"
		if state == ClaimRefused {
			action = "passbook.claim_refuse"
		}
		return audit.Append(ctx, tx, audit.System, audit.Event{Action: action, EntityType: "pb_claim", EntityID: id,
			OrgID: c.OrgID, Summary: map[string]any{"passbook": c.PassbookNumber, "points": c.Points, "tx": c.TxID, "reason": c.Reason}})
	})
	return state, err
}
