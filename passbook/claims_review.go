package passbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// column is one more column a change of state sets.
type column struct {
	name  string
	value any
}

// move changes a claim's state in tx and writes the change into its history. The update
// insists on the state the claim was read in, so a change nobody serialised fails loudly
// instead of being applied twice.
func (c *Claim) move(ctx context.Context, tx *store.Tx, actor audit.Actor, to, reason string, sets ...column) error {
	query := `UPDATE pb_claims SET state = ?, updated_at = ?`
	args := []any{to, store.FormatTime(tx.Now())}
	for _, s := range sets {
		query += ", " + s.name + " = ?"
		args = append(args, s.value)
	}
	res, err := tx.Exec(ctx, query+` WHERE id = ? AND state = ?`, append(args, c.ID, c.State)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("passbook: claim %d left state %s meanwhile (%d rows, %v)", c.ID, c.State, n, err)
	}
	if err := addEvent(ctx, tx, c.ID, actor, c.State, to, reason); err != nil {
		return err
	}
	c.State = to
	c.UpdatedAt, _ = store.ParseTime(args[1].(string)) // as a reload would read it
	for _, s := range sets {
		c.set(s)
	}
	return nil
}

// set keeps the claim in step with a column move wrote, so that the use case can answer with
// it without reading it again.
func (c *Claim) set(col column) {
	id, _ := col.value.(int64) // nil, for a column cleared, is 0
	text, _ := col.value.(string)
	switch col.name {
	case "reason":
		c.Reason = text
	case "tx_id":
		c.TxID = id
	case "reviewed_by":
		c.reviewedBy = id
	case "reviewed2_by":
		c.reviewed2By = id
	case "publicity_ends_on":
		c.PublicityEndsOn = text
	default:
		panic("passbook: claim column " + col.name + " is not kept in step")
	}
}

// stateName is a claim state as users read it.
func stateName(state string) string {
	switch state {
	case ClaimSubmitted:
		return "待审核"
	case ClaimReviewed:
		return "待复核"
	case ClaimPublicized:
		return "公示中"
	case ClaimPosted:
		return "已入账"
	case ClaimRejected:
		return "未通过"
	case ClaimRefused:
		return "未入账"
	case ClaimCancelled:
		return "已撤回"
	}
	return state
}

func wrongState(c Claim, doing string) error {
	return errs.Conflict("该申报当前为“%s”，不能%s", stateName(c.State), doing)
}

// reviewedClaim locks the claim's passbook and loads the claim for a reviewer: not found outside
// their review scope, forbidden when they made it.
func reviewedClaim(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64) (Claim, error) {
	if err := lockClaimPassbook(ctx, tx, id); err != nil {
		return Claim{}, err
	}
	cond, args := p.Scope(PermReview).Where("o.path", "")
	c, err := loadClaim(ctx, tx, id, cond, args)
	if err != nil {
		return c, err
	}
	if c.Claimant(p) {
		return c, errs.Forbidden("不能审核本人的申报或本人代录的申报")
	}
	return c, nil
}

func optionalText(field, noun, s string, max int) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return requiredText(field, noun, s, max)
}

// Approve approves a claim. With a second review required, the first approval makes it
// reviewed and a different reviewer's approval is final. The final approval starts the 公示
// until publicity_ends_on, the approval day plus the organisation's 公示 days, or, with no 公示,
// posts the claim at once: then a cap may refuse it, and the claim comes back refused with
// the reason.
func (s *Service) Approve(ctx context.Context, p *auth.Principal, id int64, comment string) (Claim, error) {
	comment, err := optionalText("reason", "审核意见", comment, maxReason)
	if err != nil {
		return Claim{}, err
	}
	var out Claim
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := reviewedClaim(ctx, tx, p, id)
		if err != nil {
			return err
		}
		set, err := settingsAt(ctx, tx, c.orgPath)
		if err != nil {
			return err
		}
		switch {
		case c.State == ClaimSubmitted && set.SecondReview:
			err = c.move(ctx, tx, p.Actor(), ClaimReviewed, comment, column{"reviewed_by", nullID(p.UserID)}, column{"reason", ""})
		case c.State == ClaimSubmitted:
			err = finalApproval(ctx, tx, p, &c, set, comment, column{"reviewed_by", nullID(p.UserID)})
		case c.State == ClaimReviewed && p.UserID != 0 && c.reviewedBy == p.UserID:
			return errs.Forbidden("复核须由另一位审核人完成")
		case c.State == ClaimReviewed:
			err = finalApproval(ctx, tx, p, &c, set, comment, column{"reviewed2_by", nullID(p.UserID)})
		default:
			return wrongState(c, "审核")
		}
		if err != nil {
			return err
		}
		out = c
		if err := fillWarning(ctx, tx, &out); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.claim_approve", EntityType: "pb_claim",
			EntityID: id, OrgID: c.OrgID, Summary: map[string]any{"passbook": c.PassbookNumber, "points": c.Points,
				"state": out.State, "comment": comment, "reason": out.Reason}})
	})
	return out, err
}

// finalApproval publicises the claim, or posts it when the organisation has no 公示.
func finalApproval(ctx context.Context, tx *store.Tx, p *auth.Principal, c *Claim, set Settings, comment string, reviewer column) error {
	if set.PublicityDays == 0 {
		return post(ctx, tx, p.Actor(), c, set, joinNote("审核通过，入账", comment), reviewer)
	}
	ends := publicityEnd(tx.Now(), set.PublicityDays)
	return c.move(ctx, tx, p.Actor(), ClaimPublicized, joinNote("审核通过，公示至"+ends, comment),
		reviewer, column{"publicity_ends_on", ends}, column{"reason", ""})
}

// publicityEnd is the last day of a 公示 of days that starts with an approval at now: the
// approval day (Asia/Shanghai) plus days. The claim is posted on the day after it.
func publicityEnd(now time.Time, days int) string {
	return now.In(store.Shanghai).AddDate(0, 0, days).Format(store.DateLayout)
}

func joinNote(what, comment string) string {
	if comment == "" {
		return what
	}
	return what + "：" + comment
}

// Reject turns a claim down, with the reason the member will read.
func (s *Service) Reject(ctx context.Context, p *auth.Principal, id int64, reason string) (Claim, error) {
	reason, err := requiredText("reason", "不通过的原因", reason, maxReason)
	if err != nil {
		return Claim{}, err
	}
	var out Claim
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := reviewedClaim(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if c.State != ClaimSubmitted && c.State != ClaimReviewed {
			return wrongState(c, "审核")
		}
		if err := c.move(ctx, tx, p.Actor(), ClaimRejected, reason, column{"reason", reason}); err != nil {
			return err
		}
		out = c
		out.Reason = reason
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.claim_reject", EntityType: "pb_claim",
			EntityID: id, OrgID: c.OrgID, Summary: map[string]any{"passbook": c.PassbookNumber, "points": c.Points, "reason": reason}})
	})
	return out, err
}

// communityScope is the condition under which the caller reaches a claim on the 公示 board with
// perm: staff in their subtree, members in the community their own passbook is in.
func communityScope(p *auth.Principal, perm auth.Permission) (string, []any) {
	sc := p.Scope(perm)
	cond, args := sc.Where("o.path", "")
	if sc.PersonID == 0 {
		return cond, args
	}
	return "(" + cond + ` OR c.org_id IN (SELECT org_id FROM pb_passbooks WHERE person_id = ? AND state <> 'closed'))`,
		append(args, sc.PersonID)
}

// Object raises an objection (异议) to a claim on the 公示 board of the caller's community. The
// claim goes back to review, its 公示 ends, and the objection stays in its history.
func (s *Service) Object(ctx context.Context, p *auth.Principal, id int64, reason string) (Claim, error) {
	reason, err := requiredText("reason", "异议理由", reason, maxReason)
	if err != nil {
		return Claim{}, err
	}
	var out Claim
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := lockClaimPassbook(ctx, tx, id); err != nil {
			return err
		}
		cond, args := communityScope(p, PermObject)
		c, err := loadClaim(ctx, tx, id, cond, args)
		if err != nil {
			return err
		}
		switch {
		case c.State != ClaimPublicized:
			return errs.Conflict("该申报不在公示期，不能提出异议")
		case c.PublicityEndsOn < store.LocalDate(tx.Now()):
			return errs.Conflict("公示期已结束，不能再提出异议")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pb_objections (claim_id, person_id, user_id, reason, created_at) VALUES (?, ?, ?, ?, ?)`,
			id, nullID(p.PersonID), nullID(p.UserID), reason, store.FormatTime(tx.Now())); err != nil {
			return err
		}
		note := "异议：" + reason
		if err := c.move(ctx, tx, p.Actor(), ClaimSubmitted, note, column{"reviewed_by", nil}, column{"reviewed2_by", nil},
			column{"publicity_ends_on", nil}, column{"reason", note}); err != nil {
			return err
		}
		if out, err = claimWithWarning(ctx, tx, id); err != nil {
			return err
		}
		// A member objecting from the board to a neighbour's claim, which they may not open,
		// learns no more of it than the board shows.
		cond, args = claimScope(p, PermView)
		if _, err := loadClaim(ctx, tx, id, cond, args); errs.Is(err, errs.KindNotFound) {
			out = out.onBoard()
		} else if err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.claim_object", EntityType: "pb_claim",
			EntityID: id, OrgID: c.OrgID, Summary: map[string]any{"passbook": c.PassbookNumber, "reason": reason}})
	})
	return out, err
}

// onBoard is the claim as the 公示 board shows it to the community, with its state and the
// reason it is in: what an objector who may not see the claim itself learns of it.
func (c Claim) onBoard() Claim {
	return Claim{ID: c.ID, OrgID: c.OrgID, OrgName: c.OrgName, PersonName: c.PersonName, ItemName: c.ItemName,
		Category: c.Category, Unit: c.Unit, UnitPoints: c.UnitPoints, WorkDate: c.WorkDate, Quantity: c.Quantity,
		Points: c.Points, State: c.State, PublicityEndsOn: c.PublicityEndsOn, Reason: c.Reason,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, orgPath: c.orgPath}
}

// Cancel withdraws a claim its claimant made, as long as no reviewer has approved it.
func (s *Service) Cancel(ctx context.Context, p *auth.Principal, id int64) (Claim, error) {
	var out Claim
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := lockClaimPassbook(ctx, tx, id); err != nil {
			return err
		}
		cond, args := claimScope(p, PermClaim)
		c, err := loadClaim(ctx, tx, id, cond, args)
		switch {
		case err != nil:
			return err
		case !c.Claimant(p) && !p.IsSystem():
			return errs.Forbidden("只能撤回本人的申报或本人代录的申报")
		case c.State != ClaimSubmitted:
			return wrongState(c, "撤回")
		}
		if err := c.move(ctx, tx, p.Actor(), ClaimCancelled, "申报人撤回"); err != nil {
			return err
		}
		out = c
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.claim_cancel", EntityType: "pb_claim",
			EntityID: id, OrgID: c.OrgID, Summary: map[string]any{"passbook": c.PassbookNumber, "points": c.Points}})
	})
	return out, err
}

// boardOrg is the path of an organisation whose 公示 board p may read: one in p's PermView
// scope, or the community of one of p's own open passbooks. Any other is not found, whether
// or not it exists.
func boardOrg(ctx context.Context, q querier, p *auth.Principal, orgID int64) (string, error) {
	o, err := visibleOrg(ctx, q, p, PermView, orgID)
	if err == nil || !errs.Is(err, errs.KindNotFound) || p.Scope(PermView).PersonID == 0 {
		return o.path, err
	}
	var path string
	err = q.QueryRow(ctx, `SELECT o.path FROM pb_passbooks pb JOIN orgs o ON o.id = pb.org_id
		WHERE pb.person_id = ? AND pb.org_id = ? AND pb.state <> 'closed' LIMIT 1`, p.Scope(PermView).PersonID, orgID).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errOrgNotVisible
	}
	return path, err
}

// PublicClaim is a claim as the 公示 board shows it to the community.
type PublicClaim struct {
	ID              int64  `json:"id"`
	OrgName         string `json:"org_name"`
	PersonName      string `json:"person_name"`
	ItemName        string `json:"item_name"`
	Category        string `json:"category"`
	WorkDate        string `json:"work_date"`
	Quantity        int64  `json:"quantity"`
	Unit            string `json:"unit"`
	Points          int64  `json:"points"`
	PublicityEndsOn string `json:"publicity_ends_on"`
}

// UnitLabel is the unit as members read it.
func (c PublicClaim) UnitLabel() string { return ItemTerms{Unit: c.Unit}.UnitLabel() }

// Publicity lists the claims in 公示 that the caller may see: a member those of the community
// their passbook is in, staff those in their subtree (or the organisation orgID within it).
func (s *Service) Publicity(ctx context.Context, p *auth.Principal, orgID int64, limit int, cursor int64) ([]PublicClaim, int64, error) {
	if limit <= 0 || limit > 200 {
		limit = claimPageLimit
	}
	cond, args := communityScope(p, PermView)
	where := cond + ` AND c.state = ? AND c.id > ?`
	args = append(args, ClaimPublicized, cursor)
	if orgID != 0 {
		path, err := boardOrg(ctx, s.db, p, orgID)
		if err != nil {
			return nil, 0, err
		}
		lo, hi := store.PathRange(path)
		where, args = where+` AND o.path >= ? AND o.path < ?`, append(args, lo, hi)
	}
	rows, err := s.db.Query(ctx, `SELECT c.id, o.name, pe.name, v.name, v.category, c.work_date, c.quantity, v.unit,
		c.points, c.publicity_ends_on`+claimFrom+` WHERE `+where+` ORDER BY c.id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []PublicClaim
	for rows.Next() {
		var c PublicClaim
		if err := rows.Scan(&c.ID, &c.OrgName, &c.PersonName, &c.ItemName, &c.Category, &c.WorkDate, &c.Quantity,
			&c.Unit, &c.Points, &c.PublicityEndsOn); err != nil {
			return nil, 0, err
		}
		out = append(out, c)
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
