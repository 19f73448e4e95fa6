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

// Activity states. An open activity takes signups until it ends and attendance until it is
// confirmed; confirming files the attendees' claims; a cancelled activity takes nothing more.
const (
	ActivityOpen      = "open"
	ActivityConfirmed = "confirmed"
	ActivityCancelled = "cancelled"
)

// Where an activity stands on the clock.
const (
	PhaseUpcoming = "upcoming" // not started: it may be changed, signups may be withdrawn
	PhaseOngoing  = "ongoing"
	PhaseEnded    = "ended" // attendance may be confirmed
)

// Bounds on an activity. A claim carries one work date, so an activity lasts at most a day;
// longer ones are published day by day.
const (
	maxActivityTitle       = 50
	maxActivityPlace       = 100
	maxActivityDescription = 2000
	maxActivityLength      = 24 * time.Hour
	maxCapacity            = 10000
	activityPageLimit      = 50
)

// activityLock is the base of the per-activity advisory locks: every change to one activity,
// its signups and its attendance is serialised on PostgreSQL, so that capacity is never
// exceeded and nothing is confirmed twice. SQLite's single writer does this already.
const activityLock = 0x70625f616374 << 16 // "pb_act"

// ActivityTerms are what an organiser says about an activity.
type ActivityTerms struct {
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Place       string    `json:"place"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Capacity    int64     `json:"capacity"` // places; 0 = no limit
	ItemID      int64     `json:"item_id"`  // the catalog item attendance earns
}

// ActivityInput publishes an activity of an organisation.
type ActivityInput struct {
	OrgID int64 `json:"org_id"`
	ActivityTerms
}

// Activity is a published activity with the item it earns at its current version, as the
// caller sees it: staff of its organisation with every signup, members with their own.
type Activity struct {
	ID      int64  `json:"id"`
	OrgID   int64  `json:"org_id"`
	OrgName string `json:"org_name"`
	ActivityTerms
	ItemCode      string    `json:"item_code"`
	ItemName      string    `json:"item_name"`
	Category      string    `json:"category"`
	Unit          string    `json:"unit"`
	UnitPoints    int64     `json:"unit_points"`
	MaxPerClaim   int64     `json:"max_per_claim"`
	State         string    `json:"state"`
	Phase         string    `json:"phase"`
	SignedUp      int64     `json:"signed_up"`
	Joined        bool      `json:"joined"` // the caller has signed up
	CreatedByName string    `json:"created_by_name"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	Signups       []Signup  `json:"signups,omitempty"`
	MySignup      *Signup   `json:"my_signup,omitempty"`
	orgPath       string
}

// PlacesLeft is how many may still sign up, when the activity has a capacity.
func (a Activity) PlacesLeft() int64 { return max(a.Capacity-a.SignedUp, 0) }

// Full reports whether every place is taken.
func (a Activity) Full() bool { return a.Capacity > 0 && a.SignedUp >= a.Capacity }

// Joinable reports whether the caller may still sign up.
func (a Activity) Joinable() bool {
	return a.State == ActivityOpen && a.Phase != PhaseEnded && !a.Joined && !a.Full()
}

// Withdrawable reports whether the caller may still withdraw their signup.
func (a Activity) Withdrawable() bool {
	return a.Joined && a.State == ActivityOpen && a.Phase == PhaseUpcoming
}

// Date is the activity's day in Asia/Shanghai, the work date of the claims it files.
func (a Activity) Date() string { return store.LocalDate(a.StartsAt) }

// When is the activity's time as members read it, e.g. 2026-03-25 09:00–11:00.
func (a Activity) When() string {
	from, to := a.StartsAt.In(store.Shanghai), a.EndsAt.In(store.Shanghai)
	if from.Format(store.DateLayout) == to.Format(store.DateLayout) {
		return from.Format("2006-01-02 15:04") + "–" + to.Format("15:04")
	}
	return from.Format("2006-01-02 15:04") + " 至 " + to.Format("2006-01-02 15:04")
}

// UnitLabel is the item's unit as members read it.
func (a Activity) UnitLabel() string { return ItemTerms{Unit: a.Unit}.UnitLabel() }

// Earns is what attending from start to end earns under the item's current version.
func (a Activity) Earns() int64 {
	return a.UnitPoints * a.quantity(ItemTerms{Unit: a.Unit, MaxPerClaim: a.MaxPerClaim}, a.StartsAt, a.EndsAt)
}

// quantity is how many units of the item an attendance from in to out earns: one occasion,
// or the whole hours spent at the activity, counted within its scheduled time so that coming
// early or staying late earns nothing extra, at least one and at most what one claim holds.
func (a Activity) quantity(it ItemTerms, in, out time.Time) int64 {
	if it.Unit != UnitHour {
		return 1
	}
	from, to := latest(in, a.StartsAt), earliest(out, a.EndsAt)
	return min(max(int64(to.Sub(from)/time.Hour), 1), it.MaxPerClaim)
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func phaseAt(a Activity, now time.Time) string {
	switch {
	case now.Before(a.StartsAt):
		return PhaseUpcoming
	case now.Before(a.EndsAt):
		return PhaseOngoing
	}
	return PhaseEnded
}

// normalise trims the terms and checks them against now, reporting every bad field at once.
func (t *ActivityTerms) normalise(now time.Time) error {
	var problems []error
	bad := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	var err error
	t.Title, err = requiredText("title", "活动名称", t.Title, maxActivityTitle)
	bad(err)
	t.Place, err = requiredText("place", "活动地点", t.Place, maxActivityPlace)
	bad(err)
	t.Description, err = optionalText("description", "活动介绍", t.Description, maxActivityDescription)
	bad(err)
	switch {
	case t.StartsAt.IsZero():
		bad(errs.Invalid("starts_at", "请填写开始时间"))
	case !t.StartsAt.After(now):
		bad(errs.Invalid("starts_at", "开始时间应晚于现在"))
	case !t.EndsAt.After(t.StartsAt):
		bad(errs.Invalid("ends_at", "结束时间应晚于开始时间"))
	case t.EndsAt.Sub(t.StartsAt) > maxActivityLength:
		bad(errs.Invalid("ends_at", "一次活动不能超过24小时；多日活动请按天分别发布"))
	}
	if t.Capacity < 0 || t.Capacity > maxCapacity {
		bad(errs.Invalid("capacity", "名额应在 0 到 %d 之间（0 表示不限）", maxCapacity))
	}
	if t.ItemID <= 0 {
		bad(errs.Invalid("item_id", "请选择参加活动可得的积分事项"))
	}
	t.StartsAt, t.EndsAt = t.StartsAt.UTC(), t.EndsAt.UTC()
	return errors.Join(problems...)
}

// changes lists the terms that differ, old and new, for the audit record.
func (t ActivityTerms) changes(u ActivityTerms) map[string]any {
	out := map[string]any{}
	add := func(name string, old, new any) {
		if old != new {
			out[name] = []any{old, new}
		}
	}
	add("title", t.Title, u.Title)
	add("description", t.Description, u.Description)
	add("place", t.Place, u.Place)
	add("starts_at", store.FormatTime(t.StartsAt), store.FormatTime(u.StartsAt))
	add("ends_at", store.FormatTime(t.EndsAt), store.FormatTime(u.EndsAt))
	add("capacity", t.Capacity, u.Capacity)
	add("item_id", t.ItemID, u.ItemID)
	return out
}

// unfitForActivity is why an item cannot be earned by an activity on date, or "".
func (it Item) unfitForActivity(date string) string {
	switch {
	case it.Archived:
		return fmt.Sprintf("积分事项“%s”已停用", it.Name)
	case it.Deduction():
		return "扣分事项不能用于活动"
	case date < it.ValidFrom || (it.ValidTo != "" && date > it.ValidTo):
		return fmt.Sprintf("活动日期不在积分事项“%s”的有效期内（%s 至 %s）", it.Name, it.ValidFrom, orOpen(it.ValidTo))
	}
	return ""
}

// activityItem finds the item an activity of the organisation at orgPath earns on date: one of
// the catalog that applies there, live, earning and valid that day.
func activityItem(ctx context.Context, q querier, orgPath string, itemID int64, date string) (Item, error) {
	line, args := catalogAt(orgPath)
	it, err := scanItem(q.QueryRow(ctx, `SELECT `+itemColumns+itemFrom+` WHERE i.id = ? AND `+line,
		append([]any{itemID}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return it, errs.Invalid("item_id", "积分事项不存在或不适用于该组织")
	}
	if err != nil {
		return it, err
	}
	if why := it.unfitForActivity(date); why != "" {
		return it, errs.Invalid("item_id", "%s", why)
	}
	return it, nil
}

const activityColumns = `a.id, a.org_id, o.name, o.path, a.title, a.description, a.place, a.starts_at, a.ends_at,
	a.capacity, a.item_id, i.code, v.name, v.category, v.unit, v.points, v.max_per_claim, a.state,
	a.created_by_name, a.created_at, a.updated_at, (SELECT COUNT(*) FROM pb_signups n WHERE n.activity_id = a.id)`

const activityFrom = ` FROM pb_activities a JOIN orgs o ON o.id = a.org_id
	JOIN pb_items i ON i.id = a.item_id
	JOIN pb_item_versions v ON v.item_id = i.id AND v.version = i.current_version`

// activitySelect is the SELECT of activities with whether p has signed up to each; a WHERE
// clause follows, its arguments after the ones returned.
func activitySelect(p *auth.Principal) (string, []any) {
	return `SELECT ` + activityColumns + `, CASE WHEN EXISTS (SELECT 1 FROM pb_signups js
		JOIN pb_passbooks jb ON jb.id = js.passbook_id WHERE js.activity_id = a.id AND jb.person_id = ?) THEN 1 ELSE 0 END` +
		activityFrom, []any{p.PersonID}
}

func scanActivity(row interface{ Scan(...any) error }, now time.Time) (Activity, error) {
	var a Activity
	err := row.Scan(&a.ID, &a.OrgID, &a.OrgName, &a.orgPath, &a.Title, &a.Description, &a.Place,
		storedTime(&a.StartsAt), storedTime(&a.EndsAt), &a.Capacity, &a.ItemID, &a.ItemCode, &a.ItemName,
		&a.Category, &a.Unit, &a.UnitPoints, &a.MaxPerClaim, &a.State, &a.CreatedByName,
		storedTime(&a.CreatedAt), storedTime(&a.UpdatedAt), &a.SignedUp, &a.Joined)
	a.Phase = phaseAt(a, now)
	return a, err
}

// activityVisible is the condition under which the caller sees an activity: in or above an
// organisation they hold the view permission on (a community's staff see the county's
// activities their members may join), or in or above the community of a passbook of their own.
func activityVisible(p *auth.Principal) (string, []any) {
	sc := p.Scope(PermView)
	cond, args := sc.Where("o.path", "")
	parts := []string{cond}
	var above []any
	for _, path := range sc.Paths {
		for _, id := range ancestorIDs(path) {
			above = append(above, id)
		}
	}
	if len(above) > 0 {
		parts = append(parts, "a.org_id IN ("+placeholders(len(above))+")")
		args = append(args, above...)
	}
	if sc.PersonID != 0 {
		parts = append(parts, `EXISTS (SELECT 1 FROM pb_passbooks vb JOIN orgs vo ON vo.id = vb.org_id
			WHERE vb.person_id = ? AND vb.state <> 'closed' AND substr(vo.path, 1, length(o.path)) = o.path)`)
		args = append(args, sc.PersonID)
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// loadActivity reads an activity the caller sees; anything else is not found.
func loadActivity(ctx context.Context, q querier, p *auth.Principal, id int64, now time.Time) (Activity, error) {
	query, args := activitySelect(p)
	cond, condArgs := activityVisible(p)
	args = append(append(args, id), condArgs...)
	a, err := scanActivity(q.QueryRow(ctx, query+` WHERE a.id = ? AND `+cond, args...), now)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errs.NotFound("活动不存在")
	}
	return a, err
}

// lockedActivity takes the activity's lock and reads it for a change.
func lockedActivity(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64) (Activity, error) {
	if err := tx.DB().Dialect.Serialize(ctx, tx, activityLock^id); err != nil {
		return Activity{}, err
	}
	return loadActivity(ctx, tx, p, id, tx.Now())
}

// managedActivity takes the activity's lock and reads it for a change by its organisers.
func managedActivity(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64) (Activity, error) {
	a, err := lockedActivity(ctx, tx, p, id)
	if err != nil {
		return a, err
	}
	return a, a.managedBy(p)
}

// managedBy refuses those who see the activity only because their members may join it.
func (a Activity) managedBy(p *auth.Principal) error {
	if !p.Scope(PermManage).Covers(a.orgPath) {
		return errs.Forbidden("该活动由“%s”发布，只能由其管理人员办理", a.OrgName)
	}
	return nil
}

// closed is the refusal of anything but viewing for an activity that is no longer open.
func (a Activity) closed() error {
	if a.State == ActivityCancelled {
		return errs.Conflict("活动已取消")
	}
	return errs.Conflict("活动已结束并确认到场")
}

// CreateActivity publishes an activity of an organisation the caller manages, earning an item
// of the catalog that applies there.
func (s *Service) CreateActivity(ctx context.Context, p *auth.Principal, in ActivityInput) (Activity, error) {
	if in.OrgID <= 0 {
		return Activity{}, errs.Invalid("org_id", "请选择发布活动的组织")
	}
	var out Activity
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := in.normalise(tx.Now()); err != nil {
			return err
		}
		o, err := visibleOrg(ctx, tx, p, PermManage, in.OrgID)
		if err != nil {
			return err
		}
		it, err := activityItem(ctx, tx, o.path, in.ItemID, store.LocalDate(in.StartsAt))
		if err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		id, err := tx.Insert(ctx, `INSERT INTO pb_activities (org_id, title, description, place, starts_at, ends_at,
			capacity, item_id, state, created_by_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.id, in.Title, in.Description, in.Place, store.FormatTime(in.StartsAt), store.FormatTime(in.EndsAt),
			in.Capacity, in.ItemID, ActivityOpen, p.Actor().Name, now, now)
		if err != nil {
			return err
		}
		if out, err = loadActivity(ctx, tx, auth.System(), id, tx.Now()); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.activity_create", EntityType: "pb_activity",
			EntityID: id, OrgID: o.id, Summary: map[string]any{"title": in.Title, "starts_at": store.FormatTime(in.StartsAt),
				"ends_at": store.FormatTime(in.EndsAt), "place": in.Place, "capacity": in.Capacity, "item": it.Code}})
	})
	return out, err
}

// UpdateActivity changes an open activity before it starts. Its places cannot drop below the
// signups it already has.
func (s *Service) UpdateActivity(ctx context.Context, p *auth.Principal, id int64, terms ActivityTerms) (Activity, error) {
	var out Activity
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := managedActivity(ctx, tx, p, id)
		switch {
		case err != nil:
			return err
		case a.State != ActivityOpen:
			return a.closed()
		case a.Phase != PhaseUpcoming:
			return errs.Conflict("活动已开始，不能再修改")
		}
		if err := terms.normalise(tx.Now()); err != nil {
			return err
		}
		if terms.Capacity > 0 && terms.Capacity < a.SignedUp {
			return errs.Invalid("capacity", "已有%d人报名，名额不能少于%d", a.SignedUp, a.SignedUp)
		}
		if _, err := activityItem(ctx, tx, a.orgPath, terms.ItemID, store.LocalDate(terms.StartsAt)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_activities SET title = ?, description = ?, place = ?, starts_at = ?, ends_at = ?,
			capacity = ?, item_id = ?, updated_at = ? WHERE id = ?`, terms.Title, terms.Description, terms.Place,
			store.FormatTime(terms.StartsAt), store.FormatTime(terms.EndsAt), terms.Capacity, terms.ItemID,
			store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		if out, err = loadActivity(ctx, tx, p, id, tx.Now()); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.activity_update", EntityType: "pb_activity",
			EntityID: id, OrgID: a.OrgID, Summary: a.ActivityTerms.changes(terms)})
	})
	return out, err
}

// CancelActivity calls off an open activity: it takes no more signups, scans or attendance
// and files no claims. Nobody is notified; members see it as cancelled in their signups.
func (s *Service) CancelActivity(ctx context.Context, p *auth.Principal, id int64, reason string) (Activity, error) {
	reason, err := optionalText("reason", "取消原因", reason, maxReason)
	if err != nil {
		return Activity{}, err
	}
	var out Activity
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := managedActivity(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if a.State != ActivityOpen {
			return a.closed()
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_activities SET state = ?, updated_at = ? WHERE id = ?`,
			ActivityCancelled, store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		a.State, a.UpdatedAt = ActivityCancelled, tx.Now()
		out = a
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.activity_cancel", EntityType: "pb_activity",
			EntityID: id, OrgID: a.OrgID, Summary: map[string]any{"title": a.Title, "signups": a.SignedUp, "reason": reason}})
	})
	return out, err
}

// Which activities a list shows.
const (
	WhenUpcoming = "upcoming" // not yet ended, soonest first
	WhenPast     = "past"     // ended, latest first
)

// ActivityFilter selects activities for a list.
type ActivityFilter struct {
	OrgID  int64  // subtree; 0 = everything the caller sees
	When   string // WhenUpcoming, WhenPast, or "" for both, latest first
	Mine   bool   // only those the caller signed up for
	Limit  int
	Cursor int64 // the id of the last activity of the previous page
}

// ListActivities lists the activities the caller sees. Members see the open activities they
// may join and, of the others, only those they signed up for: cancelled ones among them, as
// the only news of a cancellation, and past ones as their record.
func (s *Service) ListActivities(ctx context.Context, p *auth.Principal, f ActivityFilter) ([]Activity, int64, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = activityPageLimit
	}
	var out []Activity
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		where, args, err := activityWhere(ctx, tx, p, f)
		if err != nil {
			return err
		}
		order, after := "DESC", "<"
		if f.When == WhenUpcoming {
			order, after = "ASC", ">"
		}
		if f.Cursor > 0 {
			where = append(where, "(a.starts_at, a.id) "+after+" (SELECT starts_at, id FROM pb_activities WHERE id = ?)")
			args = append(args, f.Cursor)
		}
		query, selectArgs := activitySelect(p)
		rows, err := tx.Query(ctx, query+` WHERE `+strings.Join(where, " AND ")+` ORDER BY a.starts_at `+order+
			`, a.id `+order+` LIMIT ?`, append(append(selectArgs, args...), limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanActivity(rows, tx.Now())
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// activityWhere turns a filter into SQL conditions inside the caller's sight.
func activityWhere(ctx context.Context, tx *store.Tx, p *auth.Principal, f ActivityFilter) ([]string, []any, error) {
	cond, args := activityVisible(p)
	where := []string{cond}
	add := func(c string, a ...any) { where, args = append(where, c), append(args, a...) }
	if f.OrgID != 0 {
		o, err := visibleOrg(ctx, tx, p, PermView, f.OrgID)
		if err != nil {
			return nil, nil, err
		}
		lo, hi := store.PathRange(o.path)
		add("o.path >= ? AND o.path < ?", lo, hi)
	}
	now := store.FormatTime(tx.Now())
	switch f.When {
	case "":
	case WhenUpcoming:
		add("a.ends_at > ?", now)
	case WhenPast:
		add("a.ends_at <= ?", now)
	default:
		return nil, nil, errs.Invalid("when", "when 应为 upcoming 或 past")
	}
	mine := f.Mine || (!staff(p) && f.When != WhenUpcoming)
	switch {
	case mine:
		add(`EXISTS (SELECT 1 FROM pb_signups ms JOIN pb_passbooks mb ON mb.id = ms.passbook_id
			WHERE ms.activity_id = a.id AND mb.person_id = ?)`, p.PersonID)
	case !staff(p):
		add("a.state = ?", ActivityOpen)
	}
	return where, args, nil
}

// GetActivity returns an activity the caller sees: to staff of its organisation with every
// signup and what confirming would file for each, to a member with their own signup.
func (s *Service) GetActivity(ctx context.Context, p *auth.Principal, id int64) (Activity, error) {
	var a Activity
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if a, err = loadActivity(ctx, tx, p, id, tx.Now()); err != nil {
			return err
		}
		it, err := currentItem(ctx, tx, a)
		if err != nil {
			return err
		}
		if p.Scope(PermView).Covers(a.orgPath) {
			if a.Signups, err = signups(ctx, tx, a, it, ""); err != nil {
				return err
			}
		}
		if p.PersonID == 0 {
			return nil
		}
		mine, err := signups(ctx, tx, a, it, "AND pb.person_id = ?", p.PersonID)
		if len(mine) > 0 {
			a.MySignup = &mine[0]
		}
		return err
	})
	return a, err
}
