package passbook

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Claim states; see the package documentation for how a claim moves between them.
const (
	ClaimSubmitted  = "submitted"  // 待审核
	ClaimReviewed   = "reviewed"   // 初审通过，待复核
	ClaimPublicized = "publicized" // 公示中
	ClaimPosted     = "posted"     // 已入账
	ClaimRejected   = "rejected"   // 未通过
	ClaimRefused    = "refused"    // 未入账 (over a cap, passbook frozen …)
	ClaimCancelled  = "cancelled"  // 已撤回
)

// ClaimStates lists the states in the order a claim passes them, for filters.
var ClaimStates = []string{ClaimSubmitted, ClaimReviewed, ClaimPublicized, ClaimPosted, ClaimRejected, ClaimRefused, ClaimCancelled}

// Where a claim came from.
const (
	SourceSelf     = "self"     // the member on their phone
	SourceProxy    = "proxy"    // 代录: staff for a member without a smartphone
	SourceBatch    = "batch"    // an Excel sheet from a paper-based community
	SourceActivity = "activity" // confirmed attendance of an activity
)

// Evidence limits: a phone photo is a few MB; three tell the story.
const (
	MaxPhotoBytes  = 5 << 20
	maxPhotos      = 3
	maxNote        = 500
	maxReason      = 200
	claimPageLimit = 50
)

// Claim is a member's application for points, with where it stands.
type Claim struct {
	ID              int64        `json:"id"`
	OrgID           int64        `json:"org_id"`
	OrgName         string       `json:"org_name"`
	PassbookID      int64        `json:"passbook_id"`
	PassbookNumber  string       `json:"passbook_number"`
	PersonID        int64        `json:"person_id"`
	PersonName      string       `json:"person_name"`
	ItemID          int64        `json:"item_id"`
	ItemCode        string       `json:"item_code"`
	ItemVersionID   int64        `json:"item_version_id"`
	ItemVersion     int64        `json:"item_version"`
	ItemName        string       `json:"item_name"`
	Category        string       `json:"category"`
	Unit            string       `json:"unit"`
	UnitPoints      int64        `json:"unit_points"` // points per unit under the claim's version
	WorkDate        string       `json:"work_date"`
	Quantity        int64        `json:"quantity"`
	Points          int64        `json:"points"`
	Note            string       `json:"note"`
	Source          string       `json:"source"`
	State           string       `json:"state"`
	SubmittedByName string       `json:"submitted_by_name"`
	PublicityEndsOn string       `json:"publicity_ends_on,omitempty"` // last day of 公示
	TxID            int64        `json:"tx_id,omitempty"`
	Reason          string       `json:"reason,omitempty"`  // why it was rejected, refused or objected to
	Warning         string       `json:"warning,omitempty"` // a cap it may exceed, while pending
	Evidence        []int64      `json:"evidence,omitempty"`
	History         []ClaimEvent `json:"history,omitempty"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`

	orgPath                   string
	submittedBy               int64
	reviewedBy, reviewed2By   int64
	capDay, capMonth, capYear int64
}

// ClaimEvent is one change of a claim's state, as its history shows it.
type ClaimEvent struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	From   string    `json:"from"` // "" for the submission
	To     string    `json:"to"`
	Reason string    `json:"reason,omitempty"`
}

// Pending reports whether the claim is still on its way to the ledger.
func (c Claim) Pending() bool {
	return c.State == ClaimSubmitted || c.State == ClaimReviewed || c.State == ClaimPublicized
}

// Claimant reports whether p made the claim: it is p's own passbook, or p submitted it. Nobody
// reviews a claim they made.
func (c Claim) Claimant(p *auth.Principal) bool {
	return (p.PersonID != 0 && c.PersonID == p.PersonID) || (p.UserID != 0 && c.submittedBy == p.UserID)
}

// UnitLabel is the claim's unit as members read it.
func (c Claim) UnitLabel() string { return ItemTerms{Unit: c.Unit}.UnitLabel() }

// ClaimInput is a claim as a member or staff enters it.
type ClaimInput struct {
	PassbookID int64  `json:"passbook_id"`
	ItemID     int64  `json:"item_id"`
	WorkDate   string `json:"work_date"` // YYYY-MM-DD in Asia/Shanghai; empty = today
	Quantity   int64  `json:"quantity"`  // occasions or hours
	Note       string `json:"note"`
}

// Check trims the input and checks what can be checked without the database, reporting every
// bad field at once.
func (in *ClaimInput) Check() error {
	in.WorkDate, in.Note = strings.TrimSpace(in.WorkDate), strings.TrimSpace(in.Note)
	var problems []error
	if in.PassbookID <= 0 {
		problems = append(problems, errs.Invalid("passbook_id", "请选择存折"))
	}
	if in.ItemID <= 0 {
		problems = append(problems, errs.Invalid("item_id", "请选择积分事项"))
	}
	if in.WorkDate != "" && !validDate(in.WorkDate) {
		problems = append(problems, errs.Invalid("work_date", "日期格式应为 YYYY-MM-DD"))
	}
	if err := checkQuantity(in.Quantity); err != nil {
		problems = append(problems, err)
	}
	if !utf8.ValidString(in.Note) || utf8.RuneCountInString(in.Note) > maxNote {
		problems = append(problems, errs.Invalid("note", "备注不能超过%d个字", maxNote))
	}
	return errors.Join(problems...)
}

func checkQuantity(q int64) error {
	switch {
	case q <= 0:
		return errs.Invalid("quantity", "数量应大于0")
	case q > maxQuantity:
		return errs.Invalid("quantity", "数量不能超过%d", maxQuantity)
	}
	return nil
}

// Photo is a piece of evidence: a JPEG or PNG image.
type Photo struct {
	ContentType string
	Data        []byte
}

// CheckPhotos refuses anything but up to three JPEG or PNG images of at most 5 MB each, and
// sets each photo's type from its content rather than trusting the upload's label.
func CheckPhotos(photos []Photo) error {
	if len(photos) > maxPhotos {
		return errs.Invalid("evidence", "最多上传%d张照片", maxPhotos)
	}
	for i := range photos {
		if len(photos[i].Data) > MaxPhotoBytes {
			return errs.Invalid("evidence", "每张照片不能超过5MB")
		}
		switch t := http.DetectContentType(photos[i].Data); t {
		case "image/jpeg", "image/png":
			photos[i].ContentType = t
		default:
			return errs.Invalid("evidence", "照片应为 JPG 或 PNG 格式")
		}
	}
	return nil
}

// claimFingerprint is what an idempotency key vouches for: the input and the photos' hashes.
func claimFingerprint(in ClaimInput, photos []Photo) any {
	sums := make([]string, len(photos))
	for i, ph := range photos {
		sum := sha256.Sum256(ph.Data)
		sums[i] = hex.EncodeToString(sum[:])
	}
	return struct {
		ClaimInput
		Photos []string `json:"photos"`
	}{in, sums}
}

// SubmitClaim files a claim for a passbook the caller may claim for: their own (source self) or
// one in their care (代录, source proxy). It reports whether the claim is new: a retried request
// with the same idempotency key and body gets the original claim back, with another body a
// conflict. A claim that may exceed a cap is accepted with a warning; the cap is enforced when
// it is posted.
func (s *Service) SubmitClaim(ctx context.Context, p *auth.Principal, in ClaimInput, photos []Photo, key IdempotencyKey) (Claim, bool, error) {
	if err := in.Check(); err != nil {
		return Claim{}, false, err
	}
	if err := CheckPhotos(photos); err != nil {
		return Claim{}, false, err
	}
	var out Claim
	created := false
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		prior, hash, err := recall(ctx, tx, p.UserID, key, "claim", claimFingerprint(in, photos))
		if err != nil {
			return err
		}
		if prior != 0 {
			out, err = claimWithWarning(ctx, tx, prior)
			return err
		}
		b, err := loadPassbook(ctx, tx, p, PermClaim, in.PassbookID)
		if err != nil {
			return err
		}
		it, err := claimItem(ctx, tx, b, "i.id = ?", in.ItemID)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Invalid("item_id", "积分事项不存在或不适用于该存折所在社区")
		}
		if err != nil {
			return err
		}
		if in.WorkDate == "" {
			in.WorkDate = store.LocalDate(tx.Now())
		}
		if err := admit(b, it, in, len(photos), store.LocalDate(tx.Now())); err != nil {
			return err
		}
		source := SourceProxy
		if b.PersonID == p.PersonID {
			source = SourceSelf
		}
		if out, err = insertClaim(ctx, tx, p.Actor(), b, it, in, source); err != nil {
			return err
		}
		if err := insertPhotos(ctx, tx, out.ID, photos); err != nil {
			return err
		}
		if err := remember(ctx, tx, p.UserID, key, hash, "claim", out.ID); err != nil {
			return err
		}
		created = true
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.claim", EntityType: "pb_claim",
			EntityID: out.ID, OrgID: b.OrgID, Summary: map[string]any{"passbook": b.Number, "item": it.Code,
				"version": it.Version, "date": in.WorkDate, "quantity": in.Quantity, "points": out.Points,
				"source": source, "photos": len(photos)}})
	})
	return out, created, err
}

// claimItem finds the current version of an item that applies at the passbook's community, by
// id or code.
func claimItem(ctx context.Context, q querier, b Passbook, cond string, key any) (Item, error) {
	line, args := catalogAt(b.orgPath)
	return scanItem(q.QueryRow(ctx, `SELECT `+itemColumns+itemFrom+` WHERE `+cond+` AND `+line,
		append([]any{key}, args...)...))
}

// admit checks a claim against its passbook and item; every refusal leaves nothing written.
func admit(b Passbook, it Item, in ClaimInput, photos int, today string) error {
	if b.State != StateActive {
		return errs.Conflict("存折已冻结或销户，不能申报积分")
	}
	var problems []error
	bad := func(field, format string, args ...any) {
		problems = append(problems, errs.Invalid(field, format, args...))
	}
	switch {
	case it.Archived:
		bad("item_id", "积分事项“%s”已停用", it.Name)
	case !it.AppliesTo(b.Class):
		bad("item_id", "积分事项“%s”不适用于“%s”类存折", it.Name, b.Class)
	}
	switch {
	case in.WorkDate > today:
		bad("work_date", "日期不能晚于今天")
	case in.WorkDate < b.OpenedOn:
		bad("work_date", "日期不能早于存折开户日期（%s）", b.OpenedOn)
	case in.WorkDate < it.ValidFrom || (it.ValidTo != "" && in.WorkDate > it.ValidTo):
		bad("work_date", "所填日期不在积分事项“%s”的有效期内（%s 至 %s）", it.Name, it.ValidFrom, orOpen(it.ValidTo))
	}
	if in.Quantity > it.MaxPerClaim {
		bad("quantity", "积分事项“%s”每次最多申报%d%s", it.Name, it.MaxPerClaim, it.UnitLabel())
	}
	if it.EvidenceRequired && photos == 0 {
		bad("evidence", "积分事项“%s”需要上传照片作为证明", it.Name)
	}
	return errors.Join(problems...)
}

func orOpen(date string) string {
	if date == "" {
		return "长期"
	}
	return date
}

// insertClaim writes a submitted claim under the item's current version, with the submission
// as the first line of its history; the history carries the cap warning, if any. Every way in
// (phone, 代录, batch, activity attendance) files its claims through it.
func insertClaim(ctx context.Context, tx *store.Tx, actor audit.Actor, b Passbook, it Item, in ClaimInput, source string) (Claim, error) {
	now := store.FormatTime(tx.Now())
	id, err := tx.Insert(ctx, `INSERT INTO pb_claims (org_id, passbook_id, item_version_id, work_date, quantity, points,
		note, source, state, submitted_by, submitted_by_name, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.OrgID, b.ID, it.VersionID, in.WorkDate, in.Quantity, it.Points*in.Quantity, in.Note, source,
		ClaimSubmitted, nullID(actor.UserID), actor.Name, now, now)
	if err != nil {
		return Claim{}, err
	}
	c, err := claimWithWarning(ctx, tx, id)
	if err != nil {
		return c, err
	}
	return c, addEvent(ctx, tx, id, actor, "", ClaimSubmitted, c.Warning)
}

func insertPhotos(ctx context.Context, tx *store.Tx, claimID int64, photos []Photo) error {
	for _, ph := range photos {
		if _, err := tx.Exec(ctx, `INSERT INTO pb_claim_evidence (claim_id, content_type, data, created_at) VALUES (?, ?, ?, ?)`,
			claimID, ph.ContentType, ph.Data, store.FormatTime(tx.Now())); err != nil {
			return err
		}
	}
	return nil
}

func addEvent(ctx context.Context, tx *store.Tx, claimID int64, actor audit.Actor, from, to, reason string) error {
	return tx.Defer(ctx, `INSERT INTO pb_claim_events (claim_id, at, actor_id, actor, from_state, to_state, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, claimID, store.FormatTime(tx.Now()), nullID(actor.UserID), actor.Name, from, to, reason)
}

const claimColumns = `c.id, c.org_id, o.name, o.path, c.passbook_id, pb.number, pb.person_id, pe.name,
	i.id, i.code, v.id, v.version, v.name, v.category, v.unit, v.points, v.cap_day, v.cap_month, v.cap_year,
	c.work_date, c.quantity, c.points, c.note, c.source, c.state, c.submitted_by, c.submitted_by_name,
	c.reviewed_by, c.reviewed2_by, c.publicity_ends_on, c.tx_id, c.reason, c.created_at, c.updated_at`

const claimFrom = ` FROM pb_claims c
	JOIN orgs o ON o.id = c.org_id
	JOIN pb_passbooks pb ON pb.id = c.passbook_id
	JOIN people pe ON pe.id = pb.person_id
	JOIN pb_item_versions v ON v.id = c.item_version_id
	JOIN pb_items i ON i.id = v.item_id`

func scanClaim(row interface{ Scan(...any) error }) (Claim, error) {
	var c Claim
	var submittedBy, reviewedBy, reviewed2By, txID sql.NullInt64
	err := row.Scan(&c.ID, &c.OrgID, &c.OrgName, &c.orgPath, &c.PassbookID, &c.PassbookNumber, &c.PersonID, &c.PersonName,
		&c.ItemID, &c.ItemCode, &c.ItemVersionID, &c.ItemVersion, &c.ItemName, &c.Category, &c.Unit, &c.UnitPoints,
		&c.capDay, &c.capMonth, &c.capYear, &c.WorkDate, &c.Quantity, &c.Points, &c.Note, &c.Source, &c.State,
		&submittedBy, &c.SubmittedByName, &reviewedBy, &reviewed2By, nullString(&c.PublicityEndsOn), &txID, &c.Reason,
		storedTime(&c.CreatedAt), storedTime(&c.UpdatedAt))
	c.submittedBy, c.reviewedBy, c.reviewed2By, c.TxID = submittedBy.Int64, reviewedBy.Int64, reviewed2By.Int64, txID.Int64
	return c, err
}

// claimScope is the condition under which the caller reaches a claim with perm: in a subtree
// they hold it on, or on their own passbook with a self-only role.
func claimScope(p *auth.Principal, perm auth.Permission) (string, []any) {
	return p.Scope(perm).Where("o.path", "pb.person_id")
}

// loadClaim reads one claim under a scope condition; outside it the claim is not found.
func loadClaim(ctx context.Context, q querier, id int64, cond string, args []any) (Claim, error) {
	c, err := scanClaim(q.QueryRow(ctx, `SELECT `+claimColumns+claimFrom+` WHERE c.id = ? AND `+cond,
		append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("申报不存在")
	}
	return c, err
}

// claimWithWarning reads a claim the caller already reached, with its cap warning.
func claimWithWarning(ctx context.Context, q querier, id int64) (Claim, error) {
	c, err := loadClaim(ctx, q, id, "(1 = 1)", nil)
	if err != nil {
		return c, err
	}
	return c, fillWarning(ctx, q, &c)
}

// lockClaimPassbook serialises, on PostgreSQL, every change to the claims of one passbook: two
// reviewers approving at once, an objection racing the posting, two instances posting claims
// whose caps share a period. SQLite's single writer does this already.
func lockClaimPassbook(ctx context.Context, tx *store.Tx, claimID int64) error {
	var passbookID int64
	err := tx.QueryRow(ctx, `SELECT passbook_id FROM pb_claims WHERE id = ?`, claimID).Scan(&passbookID)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFound("申报不存在")
	}
	if err != nil {
		return err
	}
	if err := tx.DB().Dialect.Serialize(ctx, tx, postingLock^passbookID); err != nil {
		return err
	}
	return shareLedger(ctx, tx)
}

// postingLock is the base of the per-passbook advisory locks of claim changes.
const postingLock = 0x70625f636c6d << 16 // "pb_clm"
