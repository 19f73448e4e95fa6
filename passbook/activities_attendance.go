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

// Signup is a passbook's place at an activity with its attendance and, before confirmation,
// what confirming would file for it: a quantity of the item and its points, or why nothing.
type Signup struct {
	PassbookID     int64      `json:"passbook_id"`
	PassbookNumber string     `json:"passbook_number"`
	PersonName     string     `json:"person_name"`
	SignedUpAt     time.Time  `json:"signed_up_at"`
	CheckedInAt    *time.Time `json:"checked_in_at,omitempty"`
	CheckedOutAt   *time.Time `json:"checked_out_at,omitempty"`
	ClaimID        int64      `json:"claim_id,omitempty"`
	Quantity       int64      `json:"quantity,omitempty"`
	Points         int64      `json:"points,omitempty"`
	NoClaim        string     `json:"no_claim,omitempty"`
	state, class   string     // of the passbook, for assess
	openedOn       string
}

// InClock and OutClock are the check-in and check-out times of day, or "".
func (s Signup) InClock() string  { return clock(s.CheckedInAt) }
func (s Signup) OutClock() string { return clock(s.CheckedOutAt) }

func clock(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(store.Shanghai).Format("15:04")
}

// assess fills in what confirming the attendance would file for a signup under the item.
func (a Activity) assess(it Item, s *Signup) {
	switch {
	case s.CheckedInAt == nil:
		s.NoClaim = "未签到"
	case s.CheckedOutAt == nil:
		s.NoClaim = "未签退（工作人员可登记到场）"
	case s.state != StateActive:
		s.NoClaim = "存折已冻结或销户"
	case !it.AppliesTo(s.class):
		s.NoClaim = fmt.Sprintf("积分事项不适用于“%s”类存折", s.class)
	case a.Date() < s.openedOn:
		s.NoClaim = "活动日期早于存折开户日期"
	default:
		s.Quantity = a.quantity(it.ItemTerms, *s.CheckedInAt, *s.CheckedOutAt)
		s.Points = s.Quantity * it.Points
	}
}

// signups reads an activity's signups, in the order they came, narrowed by extra, each assessed
// under the item.
func signups(ctx context.Context, q querier, a Activity, it Item, extra string, args ...any) ([]Signup, error) {
	rows, err := q.Query(ctx, `SELECT s.passbook_id, pb.number, pe.name, pb.state, pb.class, pb.opened_on,
			s.signed_up_at, s.checked_in_at, s.checked_out_at, s.claim_id
		FROM pb_signups s JOIN pb_passbooks pb ON pb.id = s.passbook_id JOIN people pe ON pe.id = pb.person_id
		WHERE s.activity_id = ? `+extra+` ORDER BY s.signed_up_at, s.passbook_id`, append([]any{a.ID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Signup
	for rows.Next() {
		var s Signup
		var claimID sql.NullInt64
		if err := rows.Scan(&s.PassbookID, &s.PassbookNumber, &s.PersonName, &s.state, &s.class, &s.openedOn,
			storedTime(&s.SignedUpAt), optionalTime(&s.CheckedInAt), optionalTime(&s.CheckedOutAt), &claimID); err != nil {
			return nil, err
		}
		s.ClaimID = claimID.Int64
		a.assess(it, &s)
		out = append(out, s)
	}
	return out, rows.Err()
}

// signupOf reads one passbook's signup, or nil when it has none.
func signupOf(ctx context.Context, q querier, a Activity, it Item, passbookID int64) (*Signup, error) {
	list, err := signups(ctx, q, a, it, "AND s.passbook_id = ?", passbookID)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// optionalTime scans a nullable instant written by store.FormatTime, NULL as nil.
func optionalTime(dst **time.Time) sql.Scanner { return optionalTimeScanner{dst} }

type optionalTimeScanner struct{ dst **time.Time }

func (s optionalTimeScanner) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil || !ns.Valid {
		*s.dst = nil
		return err
	}
	t, err := store.ParseTime(ns.String)
	*s.dst = &t
	return err
}

// ownPassbook is the caller's passbook an activity is for: their own, in a community at or
// below the activity's organisation, an active one before a frozen one.
func ownPassbook(ctx context.Context, q querier, p *auth.Principal, a Activity) (Passbook, error) {
	if p.PersonID == 0 {
		return Passbook{}, errs.Forbidden("您的账号没有关联党员信息，不能报名活动")
	}
	cond, args := p.Scope(PermClaim).Where("o.path", "pb.person_id")
	lo, hi := store.PathRange(a.orgPath)
	b, err := scanPassbook(q.QueryRow(ctx, `SELECT `+passbookColumns+passbookFrom+` WHERE pb.person_id = ?
		AND pb.state <> 'closed' AND o.path >= ? AND o.path < ? AND `+cond+`
		ORDER BY CASE WHEN pb.state = 'active' THEN 0 ELSE 1 END, pb.id LIMIT 1`,
		append([]any{p.PersonID, lo, hi}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return b, errs.Forbidden("您在“%s”没有红色存折，不能参加此活动；请联系社区开立", a.OrgName)
	}
	return b, err
}

// join signs a passbook up to an activity, if it may earn the activity's item and a place is
// left. The caller holds the activity's lock, so the count cannot change before the insert.
func join(ctx context.Context, tx *store.Tx, a Activity, b Passbook, it Item) error {
	switch {
	case b.State != StateActive:
		return errs.Conflict("存折已冻结或销户，不能报名活动")
	case !it.AppliesTo(b.Class):
		return errs.Conflict("该活动的积分事项不适用于“%s”类存折", b.Class)
	}
	var taken int64
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pb_signups WHERE activity_id = ?`, a.ID).Scan(&taken); err != nil {
		return err
	}
	if a.Capacity > 0 && taken >= a.Capacity {
		return errs.Conflict("名额已满（共%d个名额）", a.Capacity)
	}
	_, err := tx.Exec(ctx, `INSERT INTO pb_signups (activity_id, passbook_id, signed_up_at) VALUES (?, ?, ?)`,
		a.ID, b.ID, store.FormatTime(tx.Now()))
	return err
}

// currentItem is the activity's item at its current version, which claims are filed under.
func currentItem(ctx context.Context, tx *store.Tx, a Activity) (Item, error) {
	return loadItem(ctx, tx, auth.System(), PermView, a.ItemID)
}

// SignUp signs the caller up to an activity of their community or one above it, until it
// ends. It reports whether the signup is new: signing up twice keeps the first.
func (s *Service) SignUp(ctx context.Context, p *auth.Principal, id int64) (Signup, bool, error) {
	var out Signup
	created := false
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := lockedActivity(ctx, tx, p, id)
		switch {
		case err != nil:
			return err
		case a.State != ActivityOpen:
			return a.closed()
		case a.Phase == PhaseEnded:
			return errs.Conflict("活动已结束，不能报名")
		}
		b, err := ownPassbook(ctx, tx, p, a)
		if err != nil {
			return err
		}
		it, err := currentItem(ctx, tx, a)
		if err != nil {
			return err
		}
		if mine, err := signupOf(ctx, tx, a, it, b.ID); err != nil || mine != nil {
			if mine != nil {
				out = *mine
			}
			return err
		}
		if err := join(ctx, tx, a, b, it); err != nil {
			return err
		}
		mine, err := signupOf(ctx, tx, a, it, b.ID)
		if err != nil {
			return err
		}
		out, created = *mine, true
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.activity_signup", EntityType: "pb_activity",
			EntityID: a.ID, OrgID: a.OrgID, Summary: map[string]any{"passbook": b.Number, "title": a.Title}})
	})
	return out, created, err
}

// CancelSignUp withdraws the caller's signup before the activity starts, freeing the place;
// once they have checked in (codes are shown from an hour before) they are there.
func (s *Service) CancelSignUp(ctx context.Context, p *auth.Principal, id int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := lockedActivity(ctx, tx, p, id)
		switch {
		case err != nil:
			return err
		case a.State != ActivityOpen:
			return a.closed()
		case a.Phase != PhaseUpcoming:
			return errs.Conflict("活动已开始，不能取消报名")
		}
		b, err := ownPassbook(ctx, tx, p, a)
		if err != nil {
			return err
		}
		var checkedIn sql.NullString
		err = tx.QueryRow(ctx, `SELECT checked_in_at FROM pb_signups WHERE activity_id = ? AND passbook_id = ?`, a.ID, b.ID).Scan(&checkedIn)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return errs.NotFound("您没有报名该活动")
		case err != nil:
			return err
		case checkedIn.Valid:
			return errs.Conflict("您已签到，不能取消报名")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM pb_signups WHERE activity_id = ? AND passbook_id = ?`, a.ID, b.ID); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.activity_signup_cancel", EntityType: "pb_activity",
			EntityID: a.ID, OrgID: a.OrgID, Summary: map[string]any{"passbook": b.Number, "title": a.Title}})
	})
}

// ScanResult is what scanning an organiser's QR code recorded.
type ScanResult struct {
	ActivityID int64     `json:"activity_id"`
	Title      string    `json:"title"`
	PersonName string    `json:"person_name"`
	Kind       string    `json:"kind"`      // in | out
	At         time.Time `json:"at"`        // when the check-in or check-out was recorded
	Again      bool      `json:"again"`     // an earlier scan recorded it already, at At
	SignedUp   bool      `json:"signed_up"` // the scan signed the member up on the spot
}

// Scan records the caller's check-in or check-out with a token from the organiser's QR code.
// activityID, when not 0, is the activity the scanned link names; a token of another activity
// is refused like a forged one. A member who has not signed up is signed up by checking in,
// if a place is left. Scanning again records nothing new and reports the first time.
func (s *Service) Scan(ctx context.Context, p *auth.Principal, token string, activityID int64) (ScanResult, error) {
	var out ScanResult
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := verifiedToken(ctx, tx, token)
		if err != nil {
			return err
		}
		if activityID != 0 && c.activityID != activityID {
			return errBadToken
		}
		a, err := lockedActivity(ctx, tx, p, c.activityID)
		if err != nil {
			return err
		}
		if a.State != ActivityOpen {
			return a.closed()
		}
		b, err := ownPassbook(ctx, tx, p, a)
		if err != nil {
			return err
		}
		it, err := currentItem(ctx, tx, a)
		if err != nil {
			return err
		}
		out = ScanResult{ActivityID: a.ID, Title: a.Title, PersonName: b.PersonName, Kind: c.kind, At: tx.Now()}
		if c.kind == ScanIn {
			err = checkIn(ctx, tx, a, b, it, &out)
		} else {
			err = checkOut(ctx, tx, a, b, it, &out)
		}
		if err != nil || out.Again {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.activity_scan", EntityType: "pb_activity",
			EntityID: a.ID, OrgID: a.OrgID, Summary: map[string]any{"passbook": b.Number, "kind": c.kind, "signed_up": out.SignedUp}})
	})
	return out, err
}

// checkIn records arrival. Codes are shown until an hour after the end for late check-outs, but
// arriving after the end is no attendance.
func checkIn(ctx context.Context, tx *store.Tx, a Activity, b Passbook, it Item, out *ScanResult) error {
	mine, err := signupOf(ctx, tx, a, it, b.ID)
	switch {
	case err != nil:
		return err
	case mine != nil && mine.CheckedInAt != nil:
		out.At, out.Again = *mine.CheckedInAt, true
		return nil
	case a.Phase == PhaseEnded:
		return errs.Conflict("活动已结束，不能再签到")
	case mine == nil:
		if err := join(ctx, tx, a, b, it); err != nil {
			return err
		}
		out.SignedUp = true
	}
	return setAttendance(ctx, tx, a, b.ID, "checked_in_at = ?", store.FormatTime(tx.Now()))
}

func checkOut(ctx context.Context, tx *store.Tx, a Activity, b Passbook, it Item, out *ScanResult) error {
	mine, err := signupOf(ctx, tx, a, it, b.ID)
	switch {
	case err != nil:
		return err
	case mine == nil || mine.CheckedInAt == nil:
		return errs.Conflict("您还没有签到，请先扫描签到二维码")
	case mine.CheckedOutAt != nil:
		out.At, out.Again = *mine.CheckedOutAt, true
		return nil
	case a.Phase == PhaseUpcoming:
		return errs.Conflict("活动开始后才能签退")
	}
	return setAttendance(ctx, tx, a, b.ID, "checked_out_at = ?", store.FormatTime(tx.Now()))
}

func setAttendance(ctx context.Context, tx *store.Tx, a Activity, passbookID int64, set string, args ...any) error {
	_, err := tx.Exec(ctx, `UPDATE pb_signups SET `+set+` WHERE activity_id = ? AND passbook_id = ?`,
		append(args, a.ID, passbookID)...)
	return err
}

// AttendanceInput is staff marking a member's attendance by hand: by passbook id or printed
// number, present (for the whole activity, unless a scan recorded a time) or not.
type AttendanceInput struct {
	PassbookID int64  `json:"passbook_id"`
	Number     string `json:"number"`
	Present    bool   `json:"present"`
}

// MarkAttendance lets the organisers record attendance for members without a phone, or correct
// it, once the activity has started and until it is confirmed. Marking present keeps any
// scanned time and fills the rest from the schedule; a member not signed up is signed up if
// a place is left. Marking absent clears both times and keeps the signup.
func (s *Service) MarkAttendance(ctx context.Context, p *auth.Principal, id int64, in AttendanceInput) (Signup, error) {
	var out Signup
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := managedActivity(ctx, tx, p, id)
		switch {
		case err != nil:
			return err
		case a.State != ActivityOpen:
			return a.closed()
		case a.Phase == PhaseUpcoming:
			return errs.Conflict("活动开始后才能登记到场")
		}
		b, err := attendeePassbook(ctx, tx, p, a, in)
		if err != nil {
			return err
		}
		it, err := currentItem(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := mark(ctx, tx, a, b, it, in.Present); err != nil {
			return err
		}
		mine, err := signupOf(ctx, tx, a, it, b.ID)
		if err != nil {
			return err
		}
		out = *mine
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.activity_attendance", EntityType: "pb_activity",
			EntityID: a.ID, OrgID: a.OrgID, Summary: map[string]any{"passbook": b.Number, "present": in.Present}})
	})
	return out, err
}

func mark(ctx context.Context, tx *store.Tx, a Activity, b Passbook, it Item, present bool) error {
	mine, err := signupOf(ctx, tx, a, it, b.ID)
	switch {
	case err != nil:
		return err
	case !present && mine == nil:
		return errs.NotFound("%s没有报名此活动", b.PersonName)
	case !present:
		return setAttendance(ctx, tx, a, b.ID, "checked_in_at = NULL, checked_out_at = NULL")
	case mine == nil:
		if err := join(ctx, tx, a, b, it); err != nil {
			return err
		}
	}
	return setAttendance(ctx, tx, a, b.ID, "checked_in_at = COALESCE(checked_in_at, ?), checked_out_at = COALESCE(checked_out_at, ?)",
		store.FormatTime(a.StartsAt), store.FormatTime(a.EndsAt))
}

// attendeePassbook finds the passbook staff mark, by id or printed number: one in their care,
// in a community at or below the activity's organisation.
func attendeePassbook(ctx context.Context, tx *store.Tx, p *auth.Principal, a Activity, in AttendanceInput) (Passbook, error) {
	if number := strings.TrimSpace(in.Number); in.PassbookID == 0 && number != "" {
		err := tx.QueryRow(ctx, `SELECT id FROM pb_passbooks WHERE number = ?`, number).Scan(&in.PassbookID)
		if errors.Is(err, sql.ErrNoRows) {
			return Passbook{}, errs.Invalid("number", "没有存折号为 %s 的存折", number)
		}
		if err != nil {
			return Passbook{}, err
		}
	}
	if in.PassbookID <= 0 {
		return Passbook{}, errs.Invalid("number", "请填写存折号")
	}
	b, err := loadPassbook(ctx, tx, p, PermManage, in.PassbookID)
	if err != nil {
		return b, err
	}
	if !strings.HasPrefix(b.orgPath, a.orgPath) {
		return b, errs.Invalid("number", "%s的存折不在“%s”，不能参加此活动", b.PersonName, a.OrgName)
	}
	return b, nil
}

// ConfirmAttendance closes an activity after it has ended, once: for every attendee (checked
// in, and checked out or marked present) it files a claim of the activity's item for the
// activity's date, through review and 公示 like any other, submitted by the organiser who
// confirms, so that they cannot approve it themselves.
func (s *Service) ConfirmAttendance(ctx context.Context, p *auth.Principal, id int64) (Activity, error) {
	var out Activity
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := managedActivity(ctx, tx, p, id)
		switch {
		case err != nil:
			return err
		case a.State == ActivityConfirmed:
			return errs.Conflict("活动到场情况已确认，不能重复确认")
		case a.State != ActivityOpen:
			return a.closed()
		case a.Phase != PhaseEnded:
			return errs.Conflict("活动结束后才能确认到场")
		}
		it, err := currentItem(ctx, tx, a)
		if err != nil {
			return err
		}
		if why := it.unfitForActivity(a.Date()); why != "" {
			return errs.Conflict("不能生成申报：%s", why)
		}
		if a.Signups, err = signups(ctx, tx, a, it, ""); err != nil {
			return err
		}
		claims, points, err := fileAttendance(ctx, tx, p.Actor(), a, it)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_activities SET state = ?, updated_at = ? WHERE id = ?`,
			ActivityConfirmed, store.FormatTime(tx.Now()), a.ID); err != nil {
			return err
		}
		a.State, a.UpdatedAt = ActivityConfirmed, tx.Now()
		out = a
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.activity_confirm", EntityType: "pb_activity",
			EntityID: a.ID, OrgID: a.OrgID, Summary: map[string]any{"title": a.Title, "signups": len(a.Signups),
				"claims": claims, "points": points}})
	})
	return out, err
}

// fileAttendance files the claims of an activity's attendees, linking each claim and signup,
// and returns the claims' ids and their points.
func fileAttendance(ctx context.Context, tx *store.Tx, actor audit.Actor, a Activity, it Item) ([]int64, int64, error) {
	claims := []int64{}
	var points int64
	for i := range a.Signups {
		sg := &a.Signups[i]
		if sg.Quantity == 0 {
			continue
		}
		b, err := passbookForPosting(ctx, tx, sg.PassbookID)
		if err != nil {
			return nil, 0, err
		}
		c, err := insertClaim(ctx, tx, actor, b, it, ClaimInput{PassbookID: b.ID, ItemID: it.ID, WorkDate: a.Date(),
			Quantity: sg.Quantity, Note: "参加活动：" + a.Title}, SourceActivity)
		if err != nil {
			return nil, 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_claims SET activity_id = ? WHERE id = ?`, a.ID, c.ID); err != nil {
			return nil, 0, err
		}
		if err := setAttendance(ctx, tx, a, b.ID, "claim_id = ?", c.ID); err != nil {
			return nil, 0, err
		}
		sg.ClaimID = c.ID
		claims, points = append(claims, c.ID), points+c.Points
	}
	return claims, points, nil
}
