package org

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/errs"
	"grassroots/store"
)

// Kind is what sort of organisation a node of the tree is. Kinds are stored by key; the
// Chinese label is for display and for Excel, where users write the label.
type Kind string

const (
	KindProvince           Kind = "province"
	KindPrefecture         Kind = "prefecture"
	KindCounty             Kind = "county"
	KindTownship           Kind = "township"
	KindVillage            Kind = "village"
	KindPartyCommittee     Kind = "party_committee"
	KindPartyGeneralBranch Kind = "party_general_branch"
	KindPartyBranch        Kind = "party_branch"
	KindGovUnit            Kind = "gov_unit"
	KindDepartment         Kind = "department"
	KindEnterprise         Kind = "enterprise"
	KindCooperative        Kind = "cooperative"
	KindAlliance           Kind = "alliance"
)

var kindLabels = []struct {
	kind  Kind
	label string
}{
	{KindProvince, "省"},
	{KindPrefecture, "市(州)"},
	{KindCounty, "县(市、区)"},
	{KindTownship, "乡镇(街道)"},
	{KindVillage, "村(社区)"},
	{KindPartyCommittee, "党委"},
	{KindPartyGeneralBranch, "党总支"},
	{KindPartyBranch, "党支部"},
	{KindGovUnit, "机关单位"},
	{KindDepartment, "内设机构"},
	{KindEnterprise, "企业"},
	{KindCooperative, "合作社"},
	{KindAlliance, "商圈党建联盟"},
}

// Kinds lists every organisation kind in the order forms and filters show them.
func Kinds() []Kind {
	out := make([]Kind, len(kindLabels))
	for i, k := range kindLabels {
		out[i] = k.kind
	}
	return out
}

// Label is the kind's Chinese name, or the key itself for an unknown kind.
func (k Kind) Label() string {
	for _, kl := range kindLabels {
		if kl.kind == k {
			return kl.label
		}
	}
	return string(k)
}

// ParseKind accepts a kind by key or by Chinese label (as typed in a spreadsheet).
func ParseKind(s string) (Kind, error) {
	s = strings.TrimSpace(s)
	for _, kl := range kindLabels {
		if string(kl.kind) == s || kl.label == s {
			return kl.kind, nil
		}
	}
	if s == "" {
		return "", errs.Invalid("kind", "请选择组织类型")
	}
	return "", errs.Invalid("kind", "未知的组织类型：%s", s)
}

// Political statuses (政治面貌). They, genders and categories are stored as these names: they
// are the national terms users read and type, so there is nothing to translate.
const (
	StatusPartyMember     = "中共党员"
	StatusProbationary    = "中共预备党员"
	StatusLeagueMember    = "共青团员"
	StatusDemocraticParty = "民主党派"
	StatusMasses          = "群众"
)

// Genders, as 身份证号 encode them.
const (
	GenderMale   = "男"
	GenderFemale = "女"
)

// Person categories: one person may be in several.
const (
	CategoryEmployed       = "在职"
	CategoryRetired        = "离退休"
	CategoryCivilServant   = "公务员"
	CategoryLeadingCadre   = "领导干部"
	CategoryVillageCadre   = "村(社区)干部"
	CategoryEnterpriseLink = "企业联系人"
	CategoryVolunteer      = "志愿者"
)

var (
	politicalStatuses = []string{StatusPartyMember, StatusProbationary, StatusLeagueMember, StatusDemocraticParty, StatusMasses}
	categories        = []string{CategoryEmployed, CategoryRetired, CategoryCivilServant, CategoryLeadingCadre,
		CategoryVillageCadre, CategoryEnterpriseLink, CategoryVolunteer}
)

// PoliticalStatuses lists the political statuses in display order.
func PoliticalStatuses() []string { return slices.Clone(politicalStatuses) }

// Categories lists the person categories in display order.
func Categories() []string { return slices.Clone(categories) }

// IsPartyMember reports whether a political status counts as a member of the Communist Party
// of China: full and probationary members both do.
func IsPartyMember(status string) bool {
	return status == StatusPartyMember || status == StatusProbationary
}

// IDNumber is what a valid 身份证号 says about its holder.
type IDNumber struct {
	Number    string    // normalised: 18 characters, check digit X upper-case
	BirthDate time.Time // midnight UTC of the birth date the number encodes
	Gender    string    // 男 or 女
}

// idWeights are the ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for the 17 body digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckDigits = "10X98765432"

// ValidateIDNumber checks a resident identity card number (GB 11643-1999): 17 digits and a
// MOD 11-2 check digit, with a real birth date between 1900 and today (Asia/Shanghai).
// Spreadsheet habits are forgiven: surrounding spaces, full-width digits, a lower-case x.
func ValidateIDNumber(s string, now time.Time) (IDNumber, error) {
	s = normaliseIDNumber(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return IDNumber{}, errs.Invalid("id_number", "请填写身份证号")
	case n != 18:
		return IDNumber{}, errs.Invalid("id_number", "身份证号应为18位，实为%d位", n)
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return IDNumber{}, errs.Invalid("id_number", "身份证号第%d位应为数字", i+1)
		}
	}
	if c := s[17]; (c < '0' || c > '9') && c != 'X' {
		return IDNumber{}, errs.Invalid("id_number", "身份证号第18位应为数字或X")
	}
	birth, err := idBirthDate(s[6:14], now)
	if err != nil {
		return IDNumber{}, err
	}
	if want := idCheckDigit(s); s[17] != want {
		return IDNumber{}, errs.Invalid("id_number", "身份证号校验位错误，应为%c", want)
	}
	gender := GenderFemale
	if (s[16]-'0')%2 == 1 {
		gender = GenderMale
	}
	return IDNumber{Number: s, BirthDate: birth, Gender: gender}, nil
}

// normaliseIDNumber trims, narrows full-width digits and X, and upper-cases x. Anything else is
// left for the validator to name.
func normaliseIDNumber(s string) string {
	s = strings.TrimSpace(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == 'x' || r == 'Ｘ' || r == 'ｘ':
			return 'X'
		}
		return r
	}, s)
}

func idCheckDigit(s string) byte {
	sum := 0
	for i, w := range idWeights {
		sum += int(s[i]-'0') * w
	}
	return idCheckDigits[sum%11]
}

func idBirthDate(digits string, now time.Time) (time.Time, error) {
	birth, err := time.Parse("20060102", digits)
	if err != nil {
		return time.Time{}, errs.Invalid("id_number", "身份证号中的出生日期%s无效", digits)
	}
	if birth.Year() < 1900 {
		return time.Time{}, errs.Invalid("id_number", "身份证号中的出生日期%s早于1900年", digits)
	}
	if birth.Format(store.DateLayout) > store.LocalDate(now) {
		return time.Time{}, errs.Invalid("id_number", "身份证号中的出生日期%s晚于今天", digits)
	}
	return birth, nil
}

var mobilePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// NormaliseMobile checks a mainland mobile number; empty is allowed. Spaces, hyphens and a
// +86 prefix, as people write numbers, are removed.
func NormaliseMobile(s string) (string, error) {
	s = strings.NewReplacer(" ", "", "-", "", "\u00a0", "").Replace(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "+86")
	if s == "" || mobilePattern.MatchString(s) {
		return s, nil
	}
	return "", errs.Invalid("mobile", "手机号应为11位中国大陆手机号码")
}

var divisionCodePattern = regexp.MustCompile(`^[0-9]{12}$`)

// NormaliseDivisionCode checks a 12-digit statistical division code (统计用区划代码); empty
// is allowed, since units, branches and enterprises have none.
func NormaliseDivisionCode(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || divisionCodePattern.MatchString(s) {
		return s, nil
	}
	return "", errs.Invalid("division_code", "区划代码应为12位数字")
}

// MaskIDNumber hides the birth date and sequence of an ID number: 532528********001X.
func MaskIDNumber(s string) string { return mask(s, 6, 4) }

// MaskMobile hides the middle of a mobile number: 138****5678.
func MaskMobile(s string) string { return mask(s, 3, 4) }

// mask keeps head and tail characters and stars the rest; a value too short to keep anything
// private is starred whole.
func mask(s string, head, tail int) string {
	r := []rune(s)
	if len(r) <= head+tail {
		return strings.Repeat("*", len(r))
	}
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}
