package passbook

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// CategoryDeduction is the category of negative items (扣分事项); every other category earns.
const CategoryDeduction = "扣分事项"

// Categories of the catalog (积分事项清单), in the order pages list them.
var Categories = []string{"疫情防控", "人居环境提升", "矛盾纠纷化解", "维护社会稳定", "志愿服务", "组织生活", CategoryDeduction}

// Units an item counts in.
const (
	UnitOccasion = "occasion" // 次
	UnitHour     = "hour"     // 小时
)

// Bounds on what an item may say: a claim's points are points × quantity, so both are kept far
// from overflow, and a cap is a yearly number of points.
const (
	maxItemPoints   = 1000
	maxQuantity     = 1000
	maxCap          = 1000000
	maxItemClasses  = 20
	catalogPageSize = 200
)

// catalogLock serialises item creation on PostgreSQL, so that two organisations on one line of
// the tree cannot take the same code at once.
const catalogLock = 0x70625f6974656d // "pb_item"

// ItemTerms are what one version of an item says; changing any of them writes a new version.
type ItemTerms struct {
	Name             string   `json:"name"`
	Category         string   `json:"category"`
	Points           int64    `json:"points"`        // per unit; negative for 扣分事项
	Unit             string   `json:"unit"`          // occasion | hour
	MaxPerClaim      int64    `json:"max_per_claim"` // units one claim may hold
	CapDay           int64    `json:"cap_day"`       // points per member and day; 0 = no cap
	CapMonth         int64    `json:"cap_month"`     // points per member and calendar month
	CapYear          int64    `json:"cap_year"`      // points per member and calendar year
	EvidenceRequired bool     `json:"evidence_required"`
	Classes          []string `json:"classes"`    // passbook classes it applies to; empty = all
	ValidFrom        string   `json:"valid_from"` // YYYY-MM-DD; empty = today
	ValidTo          string   `json:"valid_to"`   // YYYY-MM-DD; empty = open-ended
}

// ItemInput creates an item: the organisation that owns it, its code and its first terms.
type ItemInput struct {
	OrgID int64  `json:"org_id"`
	Code  string `json:"code"`
	ItemTerms
}

// ItemVersion is one immutable version of an item.
type ItemVersion struct {
	VersionID int64 `json:"version_id"`
	Version   int64 `json:"version"`
	ItemTerms
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"`
}

// Item is a catalog entry with its current version (and, from GetItem, every version).
type Item struct {
	ID        int64  `json:"id"`
	OrgID     int64  `json:"org_id"`
	OrgName   string `json:"org_name"`
	Code      string `json:"code"`
	Archived  bool   `json:"archived"`
	Inherited bool   `json:"inherited"` // owned by an organisation above the one listed
	ItemVersion
	CreatedAt time.Time     `json:"created_at"`
	Versions  []ItemVersion `json:"versions,omitempty"`
	orgPath   string
}

// Deduction reports whether the item takes points away.
func (t ItemTerms) Deduction() bool { return t.Points < 0 }

// UnitLabel is the unit as members read it.
func (t ItemTerms) UnitLabel() string {
	if t.Unit == UnitHour {
		return "小时"
	}
	return "次"
}

var codePattern = regexp.MustCompile(`^[A-Z0-9._-]{1,20}$`)

// normaliseCode upper-cases a code, so that a1 typed in Excel is the item A1.
func normaliseCode(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if !codePattern.MatchString(s) {
		return "", errs.Invalid("code", "事项编码应为1到20位字母、数字或 - _ .")
	}
	return s, nil
}

// normalise trims the terms, fills the defaults and checks them, reporting every bad field at
// once so a form can mark them all.
func (t *ItemTerms) normalise(today string) error {
	var problems []error
	bad := func(err error) { problems = append(problems, err) }
	var err error
	if t.Name, err = requiredText("name", "事项名称", t.Name, 50); err != nil {
		bad(err)
	}
	if err := t.checkPoints(); err != nil {
		bad(err)
	}
	if t.Unit != UnitOccasion && t.Unit != UnitHour {
		bad(errs.Invalid("unit", "计量单位应为“次”或“小时”"))
	}
	if t.MaxPerClaim < 1 || t.MaxPerClaim > maxQuantity {
		bad(errs.Invalid("max_per_claim", "每次申报的最大数量应在 1 到 %d 之间", maxQuantity))
	}
	for _, c := range []struct {
		field string
		v     int64
	}{{"cap_day", t.CapDay}, {"cap_month", t.CapMonth}, {"cap_year", t.CapYear}} {
		if c.v < 0 || c.v > maxCap {
			bad(errs.Invalid(c.field, "上限应在 0 到 %d 分之间（0 表示不限）", maxCap))
		}
	}
	if t.Classes, err = normaliseClasses(t.Classes); err != nil {
		bad(err)
	}
	if err := t.checkDates(today); err != nil {
		bad(err)
	}
	return errors.Join(problems...)
}

func (t *ItemTerms) checkPoints() error {
	switch {
	case !slices.Contains(Categories, t.Category):
		return errs.Invalid("category", "请选择事项类别")
	case t.Points == 0 || t.Points < -maxItemPoints || t.Points > maxItemPoints:
		return errs.Invalid("points", "分值应在 -%d 到 %d 之间且不为0", maxItemPoints, maxItemPoints)
	case t.Category == CategoryDeduction && t.Points > 0:
		return errs.Invalid("points", "扣分事项的分值应为负数")
	case t.Category != CategoryDeduction && t.Points < 0:
		return errs.Invalid("points", "加分事项的分值应为正数；扣分请选择“扣分事项”类别")
	}
	return nil
}

func (t *ItemTerms) checkDates(today string) error {
	t.ValidFrom, t.ValidTo = strings.TrimSpace(t.ValidFrom), strings.TrimSpace(t.ValidTo)
	if t.ValidFrom == "" {
		t.ValidFrom = today
	}
	if !validDate(t.ValidFrom) {
		return errs.Invalid("valid_from", "生效日期格式应为 YYYY-MM-DD")
	}
	switch {
	case t.ValidTo == "":
	case !validDate(t.ValidTo):
		return errs.Invalid("valid_to", "失效日期格式应为 YYYY-MM-DD")
	case t.ValidTo < t.ValidFrom:
		return errs.Invalid("valid_to", "失效日期不能早于生效日期")
	}
	return nil
}

// normaliseClasses trims and de-duplicates the classes an item applies to. They are stored
// comma-separated, so a class may not contain a comma.
func normaliseClasses(in []string) ([]string, error) {
	out := []string{}
	for _, c := range in {
		c = strings.TrimSpace(c)
		switch {
		case c == "" || slices.Contains(out, c):
			continue
		case strings.ContainsAny(c, ",，") || utf8.RuneCountInString(c) > 30:
			return nil, errs.Invalid("classes", "存折类别不能含逗号，且不超过30个字")
		}
		out = append(out, c)
	}
	if len(out) > maxItemClasses {
		return nil, errs.Invalid("classes", "适用的存折类别不能超过%d个", maxItemClasses)
	}
	return out, nil
}

// SplitClasses reads classes typed in one box, separated by 、, commas or spaces.
func SplitClasses(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return r == '、' || r == ',' || r == '，' || r == ';' || r == '；' || r == ' '
	})
}

func validDate(s string) bool {
	_, err := time.Parse(store.DateLayout, s)
	return err == nil
}

// same reports whether two sets of terms say the same, so that saving an unchanged form does
// not write a version.
func (t ItemTerms) same(u ItemTerms) bool {
	type fields struct {
		name, category, unit, from, to string
		points, max, day, month, year  int64
		evidence                       bool
	}
	key := func(t ItemTerms) fields {
		return fields{t.Name, t.Category, t.Unit, t.ValidFrom, t.ValidTo,
			t.Points, t.MaxPerClaim, t.CapDay, t.CapMonth, t.CapYear, t.EvidenceRequired}
	}
	return key(t) == key(u) && slices.Equal(t.Classes, u.Classes)
}

// AppliesTo reports whether an item is for passbooks of class.
func (t ItemTerms) AppliesTo(class string) bool {
	return len(t.Classes) == 0 || slices.Contains(t.Classes, class)
}

const itemColumns = `i.id, i.org_id, o.name, o.path, i.code, i.archived_at, i.created_at,
	v.id, v.version, v.name, v.category, v.points, v.unit, v.max_per_claim, v.cap_day, v.cap_month, v.cap_year,
	v.evidence_required, v.classes, v.valid_from, v.valid_to, v.created_at, v.created_by`

const itemFrom = ` FROM pb_items i JOIN orgs o ON o.id = i.org_id
	JOIN pb_item_versions v ON v.item_id = i.id AND v.version = i.current_version`

func scanItem(row interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var archived sql.NullString
	err := row.Scan(&it.ID, &it.OrgID, &it.OrgName, &it.orgPath, &it.Code, &archived, storedTime(&it.CreatedAt),
		&it.VersionID, &it.Version, &it.Name, &it.Category, &it.Points, &it.Unit, &it.MaxPerClaim,
		&it.CapDay, &it.CapMonth, &it.CapYear, &it.EvidenceRequired, it.classesText(), &it.ValidFrom,
		nullString(&it.ValidTo), storedTime(&it.ChangedAt), &it.ChangedBy)
	it.Archived = archived.Valid
	return it, err
}

// versionColumns are one version's columns, for the history and for claims.
const versionColumns = `v.id, v.version, v.name, v.category, v.points, v.unit, v.max_per_claim, v.cap_day,
	v.cap_month, v.cap_year, v.evidence_required, v.classes, v.valid_from, v.valid_to, v.created_at, v.created_by`

func scanVersion(row interface{ Scan(...any) error }) (ItemVersion, error) {
	var v ItemVersion
	err := row.Scan(&v.VersionID, &v.Version, &v.Name, &v.Category, &v.Points, &v.Unit, &v.MaxPerClaim,
		&v.CapDay, &v.CapMonth, &v.CapYear, &v.EvidenceRequired, v.classesText(), &v.ValidFrom,
		nullString(&v.ValidTo), storedTime(&v.ChangedAt), &v.ChangedBy)
	return v, err
}

// classesText scans the stored comma-separated classes into Classes.
func (t *ItemTerms) classesText() sql.Scanner { return classScanner{t} }

type classScanner struct{ t *ItemTerms }

func (c classScanner) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	c.t.Classes = []string{}
	if s.String != "" {
		c.t.Classes = strings.Split(s.String, ",")
	}
	return nil
}

// nullString scans a nullable text column into a string, NULL as "".
func nullString(dst *string) sql.Scanner { return stringScanner{dst} }

type stringScanner struct{ dst *string }

func (s stringScanner) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil {
		return err
	}
	*s.dst = ns.String
	return nil
}

// storedTime scans an instant written by store.FormatTime.
func storedTime(dst *time.Time) sql.Scanner { return timeScanner{dst} }

type timeScanner struct{ dst *time.Time }

func (s timeScanner) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil || !ns.Valid {
		return err
	}
	t, err := store.ParseTime(ns.String)
	*s.dst = t
	return err
}

// itemVisible is the condition under which the caller sees an item with perm: it belongs to
// their subtree, or to an organisation above one they work in (items are inherited), or to an
// organisation above a passbook of their own.
func itemVisible(p *auth.Principal, perm auth.Permission) (string, []any) {
	sc := p.Scope(perm)
	cond, args := sc.Where("o.path", "")
	parts := []string{cond}
	var above []any
	for _, path := range sc.Paths {
		for _, id := range ancestorIDs(path) {
			above = append(above, id)
		}
	}
	if len(above) > 0 {
		parts = append(parts, "i.org_id IN ("+placeholders(len(above))+")")
		args = append(args, above...)
	}
	if sc.PersonID != 0 {
		parts = append(parts, `EXISTS (SELECT 1 FROM pb_passbooks vb JOIN orgs vo ON vo.id = vb.org_id
			WHERE vb.person_id = ? AND substr(vo.path, 1, length(o.path)) = o.path)`)
		args = append(args, sc.PersonID)
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// loadItem reads an item the caller sees with perm, with its current version.
func loadItem(ctx context.Context, q querier, p *auth.Principal, perm auth.Permission, id int64) (Item, error) {
	cond, args := itemVisible(p, perm)
	it, err := scanItem(q.QueryRow(ctx, `SELECT `+itemColumns+itemFrom+` WHERE i.id = ? AND `+cond,
		append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return it, errs.NotFound("积分事项不存在")
	}
	return it, err
}

// GetItem returns an item with its version history, newest first.
func (s *Service) GetItem(ctx context.Context, p *auth.Principal, id int64) (Item, error) {
	var it Item
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if it, err = loadItem(ctx, tx, p, PermView, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+versionColumns+` FROM pb_item_versions v WHERE v.item_id = ? ORDER BY v.version DESC`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVersion(rows)
			if err != nil {
				return err
			}
			it.Versions = append(it.Versions, v)
		}
		return rows.Err()
	})
	return it, err
}

// ItemFilter selects the catalog that applies at an organisation.
type ItemFilter struct {
	OrgID int64
	All   bool // include archived and expired items
	// Limit and Cursor (an item id) page through the catalog.
	Limit  int
	Cursor int64
}

// ListItems returns the catalog that applies at an organisation the caller sees: its own items
// and those of every organisation above it, each at its current version, in the order they
// were created.
func (s *Service) ListItems(ctx context.Context, p *auth.Principal, f ItemFilter) ([]Item, int64, error) {
	if f.OrgID == 0 {
		return nil, 0, errs.Invalid("org_id", "请选择组织")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = catalogPageSize
	}
	var items []Item
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermView, f.OrgID)
		if err != nil {
			return err
		}
		where, args := catalogAt(o.path)
		if !f.All {
			where += ` AND i.archived_at IS NULL AND (v.valid_to IS NULL OR v.valid_to >= ?)`
			args = append(args, store.LocalDate(tx.Now()))
		}
		items, err = queryItems(ctx, tx, where+` AND i.id > ? ORDER BY i.id LIMIT ?`, append(args, f.Cursor, limit+1)...)
		for i := range items {
			items[i].Inherited = items[i].OrgID != o.id
		}
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].ID
	}
	return items, next, nil
}

// ClaimableItems lists the items a passbook's holder may claim today: live, valid today and
// meant for the passbook's class, wherever in the catalog above its community they come from.
func (s *Service) ClaimableItems(ctx context.Context, p *auth.Principal, passbookID int64) ([]Item, error) {
	var items []Item
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		b, err := loadPassbook(ctx, tx, p, PermClaim, passbookID)
		if err != nil {
			return err
		}
		today := store.LocalDate(tx.Now())
		where, args := catalogAt(b.orgPath)
		where += ` AND i.archived_at IS NULL AND v.valid_from <= ? AND (v.valid_to IS NULL OR v.valid_to >= ?)
			AND (v.classes = '' OR ',' || v.classes || ',' LIKE ? ESCAPE '\')`
		args = append(args, today, today, store.LikeContains(","+b.Class+","))
		items, err = queryItems(ctx, tx, where+` ORDER BY i.id LIMIT 500`, args...)
		return err
	})
	return items, err
}

// catalogAt is the condition for the items that apply at an organisation: those owned by it or
// by any organisation above it.
func catalogAt(orgPath string) (string, []any) {
	ids := ancestorIDs(orgPath)
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return `i.org_id IN (` + placeholders(len(ids)) + `)`, args
}

func queryItems(ctx context.Context, q querier, where string, args ...any) ([]Item, error) {
	rows, err := q.Query(ctx, `SELECT `+itemColumns+itemFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
