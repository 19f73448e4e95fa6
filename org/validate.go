package org

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/errs"
	"grassroots/store"
)

// Problems is every field error found in one input, in form order. errors.As finds the first
// as an *errs.Error, so a caller that shows one message needs nothing special; the Excel import
// lists them all for the row.
type Problems []*errs.Error

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap exposes each field error to errors.As and errors.Is.
func (ps Problems) Unwrap() []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// Messages are the user-facing messages, one per field at fault.
func (ps Problems) Messages() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Message
	}
	return out
}

// add records err, if any.
func (ps *Problems) add(err error) {
	if err != nil {
		*ps = append(*ps, errs.As(err))
	}
}

func (ps Problems) orNil() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// OrgInput is what a user enters for an organisation. UpdateOrg takes everything but ParentID,
// which only MoveOrg changes.
type OrgInput struct {
	ParentID     int64  `json:"parent_id"`
	Name         string `json:"name"`
	Kind         Kind   `json:"kind"`
	DivisionCode string `json:"division_code"`
	SortOrder    int    `json:"sort_order"`
}

const maxOrgName = 100

// normalise trims and checks the fields; Kind may be given as its Chinese label.
func (in OrgInput) normalise() (OrgInput, error) {
	var ps Problems
	var err error
	if in.Name, err = cleanText("name", "组织名称", in.Name, maxOrgName); err == nil && strings.ContainsAny(in.Name, "/／") {
		// A slash would make the name unreadable in an organisation path such as 元阳县/元城镇.
		err = errs.Invalid("name", "组织名称不能含有“/”")
	}
	ps.add(err)
	in.Kind, err = ParseKind(string(in.Kind))
	ps.add(err)
	in.DivisionCode, err = NormaliseDivisionCode(in.DivisionCode)
	ps.add(err)
	return in, ps.orNil()
}

// PersonInput is what a user enters for a person, in a form or a spreadsheet row. Gender and
// BirthDate may be left empty: the 身份证号 supplies them.
type PersonInput struct {
	OrgID           int64    `json:"org_id"`
	Name            string   `json:"name"`
	Gender          string   `json:"gender"`
	IDNumber        string   `json:"id_number"`
	BirthDate       string   `json:"birth_date"`
	Mobile          string   `json:"mobile"`
	PoliticalStatus string   `json:"political_status"`
	PartyJoinedOn   string   `json:"party_joined_on"`
	Categories      []string `json:"categories"`
}

// ValidPerson is a PersonInput that passed Validate: trimmed, normalised, dates as YYYY-MM-DD,
// gender and birth date filled from the 身份证号, categories known, deduplicated and in the
// order of Categories().
type ValidPerson struct {
	OrgID           int64
	Name            string
	Gender          string
	IDNumber        string
	BirthDate       string
	Mobile          string
	PoliticalStatus string
	PartyJoinedOn   string // empty when unknown
	Categories      []string
}

const maxPersonName = 50

// partyAge is the age from which one may join the Party (党章第一条: 年满十八岁).
const partyAge = 18

// Validate checks every field against the rules and returns the normalised person, or
// Problems listing each field at fault. now is the day "today" is measured against. It does no
// I/O: whether the organisation exists and the number is unique is for the service to check.
func (in PersonInput) Validate(now time.Time) (ValidPerson, error) {
	var v ValidPerson
	var ps Problems
	var err error
	if v.OrgID = in.OrgID; v.OrgID <= 0 {
		ps.add(errs.Invalid("org_id", "请选择所属组织"))
	}
	v.Name, err = cleanText("name", "姓名", in.Name, maxPersonName)
	ps.add(err)
	id, idErr := ValidateIDNumber(in.IDNumber, now)
	ps.add(idErr)
	ps.add(validGender(in.Gender, id, idErr, &v))
	ps.add(validBirthDate(in.BirthDate, id, idErr, &v))
	v.Mobile, err = NormaliseMobile(in.Mobile)
	ps.add(err)
	v.PoliticalStatus = strings.TrimSpace(in.PoliticalStatus)
	switch {
	case v.PoliticalStatus == "":
		ps.add(errs.Invalid("political_status", "请选择政治面貌"))
	case !slices.Contains(politicalStatuses, v.PoliticalStatus):
		ps.add(errs.Invalid("political_status", "未知的政治面貌：%s", v.PoliticalStatus))
	}
	v.PartyJoinedOn, err = validPartyJoinedOn(in.PartyJoinedOn, v.PoliticalStatus, id, now)
	ps.add(err)
	v.Categories, err = validCategories(in.Categories)
	ps.add(err)
	v.IDNumber = id.Number
	return v, ps.orNil()
}

// validGender fills v.Gender from the stated gender or, failing that, the number.
func validGender(stated string, id IDNumber, idErr error, v *ValidPerson) error {
	stated = strings.TrimSpace(stated)
	switch {
	case stated != "" && stated != GenderMale && stated != GenderFemale:
		return errs.Invalid("gender", "性别应为男或女")
	case idErr == nil && stated != "" && stated != id.Gender:
		return errs.Invalid("gender", "性别与身份证号不符")
	case stated == "":
		// Derived from the number; when the number is wrong, its own error says so.
		v.Gender = id.Gender
	default:
		v.Gender = stated
	}
	return nil
}

// validBirthDate fills v.BirthDate from the stated date or, failing that, the number.
func validBirthDate(stated string, id IDNumber, idErr error, v *ValidPerson) error {
	stated = strings.TrimSpace(stated)
	if stated == "" {
		if idErr == nil {
			v.BirthDate = id.BirthDate.Format(store.DateLayout)
		}
		return nil
	}
	d, ok := parseDate(stated)
	switch {
	case !ok:
		return errs.Invalid("birth_date", "出生日期格式应为YYYY-MM-DD")
	case idErr == nil && !d.Equal(id.BirthDate):
		return errs.Invalid("birth_date", "出生日期与身份证号不符")
	}
	v.BirthDate = d.Format(store.DateLayout)
	return nil
}

func validPartyJoinedOn(s, status string, id IDNumber, now time.Time) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	d, ok := parseDate(s)
	switch {
	case !ok:
		return "", errs.Invalid("party_joined_on", "入党日期格式应为YYYY-MM-DD")
	case status != "" && !IsPartyMember(status):
		return "", errs.Invalid("party_joined_on", "政治面貌为%s时不应填写入党日期", status)
	case d.Format(store.DateLayout) > store.LocalDate(now):
		return "", errs.Invalid("party_joined_on", "入党日期晚于今天")
	case !id.BirthDate.IsZero() && d.Before(id.BirthDate.AddDate(partyAge, 0, 0)):
		return "", errs.Invalid("party_joined_on", "入党日期早于年满%d周岁之日", partyAge)
	}
	return d.Format(store.DateLayout), nil
}

// validCategories checks each category and returns them deduplicated in canonical order.
func validCategories(in []string) ([]string, error) {
	seen := map[string]bool{}
	for _, c := range in {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !slices.Contains(categories, c) {
			return nil, errs.Invalid("categories", "未知的人员类别：%s", c)
		}
		seen[c] = true
	}
	var out []string
	for _, c := range categories {
		if seen[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// cleanText trims a required text field (a name, a position) and checks it is present,
// printable and not too long; noun names it in the message.
func cleanText(field, noun, s string, limit int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errs.Invalid(field, "请填写%s", noun)
	case utf8.RuneCountInString(s) > limit:
		return "", errs.Invalid(field, "%s不能超过%d个字", noun, limit)
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == utf8.RuneError }):
		return "", errs.Invalid(field, "%s含有不可见字符", noun)
	}
	return s, nil
}

// dateLayouts are the ways people write a date in forms and spreadsheets.
var dateLayouts = []string{"2006-1-2", "2006/1/2", "2006.1.2", "20060102", "2006年1月2日"}

// parseDate reads a business date in any of dateLayouts.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
