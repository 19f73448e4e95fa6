package appraisal

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"grassroots/errs"
)

// Dim is one of the five dimensions of appraisal, 德能勤绩廉, in that order.
type Dim int

const (
	DimDe   Dim = iota // 德
	DimNeng            // 能
	DimQin             // 勤
	DimJi              // 绩
	DimLian            // 廉
	dimCount
)

var dimKeys = [dimCount]string{"de", "neng", "qin", "ji", "lian"}
var dimLabels = [dimCount]string{"德", "能", "勤", "绩", "廉"}

// Dims lists the dimensions in order.
func Dims() []Dim { return []Dim{DimDe, DimNeng, DimQin, DimJi, DimLian} }

// Key is the dimension's key in JSON and storage ("de", "neng" …).
func (d Dim) Key() string { return dimKeys[d] }

// Label is the dimension's Chinese name.
func (d Dim) Label() string { return dimLabels[d] }

// ParseDim reads a dimension by key or Chinese name.
func ParseDim(s string) (Dim, bool) {
	s = strings.TrimSpace(s)
	for i := range dimCount {
		if dimKeys[i] == s || dimLabels[i] == s {
			return i, true
		}
	}
	return 0, false
}

// Quantitative reports whether the dimension is measured by target task lists (能、勤、绩);
// 德 and 廉 are judged against negative lists.
func (d Dim) Quantitative() bool { return d == DimNeng || d == DimQin || d == DimJi }

// DimValues holds one integer per dimension; in JSON an object keyed by dimension.
type DimValues [dimCount]int64

// MarshalJSON writes {"de":…, "neng":…, "qin":…, "ji":…, "lian":…}.
func (v DimValues) MarshalJSON() ([]byte, error) {
	return v.appendJSON(make([]byte, 0, 64)), nil
}

// UnmarshalJSON reads an object keyed by dimension (key or Chinese name). Every dimension
// must be there, so that a forgotten score is refused rather than taken for 0.
func (v *DimValues) UnmarshalJSON(data []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*v = DimValues{}
	var seen [dimCount]bool
	for k, n := range m {
		d, ok := ParseDim(k)
		if !ok {
			return fmt.Errorf("未知的考核维度：%s", k)
		}
		if seen[d] {
			// "de" and "德" both: which one counts must not be left to map order.
			return fmt.Errorf("“%s”一项填写了两次", d.Label())
		}
		v[d], seen[d] = n, true
	}
	for _, d := range Dims() {
		if !seen[d] {
			return fmt.Errorf("缺少“%s”一项", d.Label())
		}
	}
	return nil
}

// Sum adds the values up.
func (v DimValues) Sum() int64 {
	var s int64
	for _, n := range v {
		s += n
	}
	return s
}

// Party is one of the three parties of the comprehensive evaluation.
type Party int

const (
	PartyMass   Party = iota // 干部群众
	PartyLeader              // 主管领导
	PartyHR                  // 组织人事部门
	partyCount
)

var partyKeys = [partyCount]string{"mass", "leader", "hr"}
var partyLabels = [partyCount]string{"干部群众", "主管领导", "组织人事部门"}

// Parties lists the parties in order.
func Parties() []Party { return []Party{PartyMass, PartyLeader, PartyHR} }

// Key is the party's key in JSON and storage.
func (p Party) Key() string { return partyKeys[p] }

// Label is the party's Chinese name.
func (p Party) Label() string { return partyLabels[p] }

// ParseParty reads a party by key or Chinese name.
func ParseParty(s string) (Party, bool) {
	s = strings.TrimSpace(s)
	for i := range partyCount {
		if partyKeys[i] == s || partyLabels[i] == s {
			return i, true
		}
	}
	return 0, false
}

// PartyValues holds one integer per party; in JSON an object keyed by party.
type PartyValues [partyCount]int64

// MarshalJSON writes {"mass":…, "leader":…, "hr":…}.
func (v PartyValues) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"mass":%d,"leader":%d,"hr":%d}`, v[0], v[1], v[2])), nil
}

// UnmarshalJSON reads an object keyed by party; an unknown key is refused, a missing one is 0.
func (v *PartyValues) UnmarshalJSON(data []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*v = PartyValues{}
	var seen [partyCount]bool
	for k, n := range m {
		p, ok := ParseParty(k)
		if !ok {
			return fmt.Errorf("未知的评价方：%s", k)
		}
		if seen[p] {
			return fmt.Errorf("“%s”一项填写了两次", p.Label())
		}
		v[p], seen[p] = n, true
	}
	return nil
}

// Grade is a quarter's grade, stored and shown by its Chinese name.
type Grade string

const (
	GradeGood Grade = "好"
	GradeFair Grade = "较好"
	GradePass Grade = "一般"
	GradePoor Grade = "较差"
)

// rank orders grades from best (0) to worst (3); an empty grade ranks after all.
func (g Grade) rank() int {
	switch g {
	case GradeGood:
		return 0
	case GradeFair:
		return 1
	case GradePass:
		return 2
	case GradePoor:
		return 3
	}
	return 4
}

// Grades lists the quarter grades from best to worst.
func Grades() []Grade { return []Grade{GradeGood, GradeFair, GradePass, GradePoor} }

// Scores are kept in hundredths of a point (9125 is 91.25 分) so that every step is integer
// arithmetic; rounding is half away from zero, to the hundredth, at each step a result page
// shows, so a reader can redo each step from the numbers on the page.
const hundred = 100

// divRound divides a by b (b > 0) rounding half away from zero.
func divRound(a, b int64) int64 {
	if a >= 0 {
		return (2*a + b) / (2 * b)
	}
	return -((-2*a + b) / (2 * b))
}

// FormatScore shows a score in hundredths as points with two decimals: 9125 → "91.25".
func FormatScore(h int64) string {
	sign := ""
	if h < 0 {
		sign, h = "-", -h
	}
	return fmt.Sprintf("%s%d.%02d", sign, h/hundred, h%hundred)
}

// Quarter is a calendar quarter such as 2026Q3.
type Quarter struct {
	Year int
	Q    int
}

var quarterPattern = regexp.MustCompile(`^([0-9]{4})[Qq]([1-4])$`)

// ParseQuarter reads "2026Q3".
func ParseQuarter(s string) (Quarter, error) {
	m := quarterPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Quarter{}, errs.Invalid("quarter", "季度应写作如 2026Q3")
	}
	y, _ := strconv.Atoi(m[1])
	q, _ := strconv.Atoi(m[2])
	if y < 2000 || y > 2100 {
		return Quarter{}, errs.Invalid("quarter", "季度年份应在 2000 到 2100 之间")
	}
	return Quarter{Year: y, Q: q}, nil
}

func (q Quarter) String() string { return fmt.Sprintf("%dQ%d", q.Year, q.Q) }

// Start is the first day of the quarter, YYYY-MM-DD.
func (q Quarter) Start() string { return fmt.Sprintf("%d-%02d-01", q.Year, 3*q.Q-2) }

// Label is the quarter as people write it: 2026年第三季度.
func (q Quarter) Label() string {
	return fmt.Sprintf("%d年第%s季度", q.Year, []string{"一", "二", "三", "四"}[q.Q-1])
}

// Consequence is what a negative-list item does to a result.
type Consequence string

const (
	ConsequenceDeduct Consequence = "deduct" // deduct its points from the composite score
	ConsequenceCap    Consequence = "cap"    // the grade is at best 一般
	ConsequenceFail   Consequence = "fail"   // the grade is 较差 whatever the score
)

// Label is the consequence in Chinese.
func (c Consequence) Label() string {
	switch c {
	case ConsequenceDeduct:
		return "扣分"
	case ConsequenceCap:
		return "最高评为一般"
	case ConsequenceFail:
		return "直接评为较差"
	}
	return string(c)
}

// problems gathers every invalid field of an input so that a form can mark them all.
type problems []error

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, errs.Invalid(field, format, args...))
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return errors.Join(ps...)
}

// MarshalJSON writes the dimension's key.
func (d Dim) MarshalJSON() ([]byte, error) { return json.Marshal(d.Key()) }

// UnmarshalJSON reads a dimension by key or Chinese name.
func (d *Dim) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, ok := ParseDim(s)
	if !ok {
		return fmt.Errorf("未知的考核维度：%s", s)
	}
	*d = v
	return nil
}

// MarshalJSON writes the party's key.
func (p Party) MarshalJSON() ([]byte, error) { return json.Marshal(p.Key()) }

// UnmarshalJSON reads a party by key or Chinese name.
func (p *Party) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, ok := ParseParty(s)
	if !ok {
		return fmt.Errorf("未知的评价方：%s", s)
	}
	*p = v
	return nil
}
