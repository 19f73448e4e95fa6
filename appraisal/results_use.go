package appraisal

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Results in use (结果运用): a person's quarters of a year and the annual proposal derived
// from them, and a unit's year, pool by pool. Only published results count (step 5 closed):
// what HR has not confirmed is not yet a result anyone may use.

// QuarterGrade is one published quarter of a person.
type QuarterGrade struct {
	CycleID      int64     `json:"cycle_id"`
	Quarter      string    `json:"quarter"`
	QuarterLabel string    `json:"quarter_label"`
	OrgName      string    `json:"org_name"`
	Pool         string    `json:"pool"`
	PoolLabel    string    `json:"pool_label"`
	Composite    int64     `json:"composite"`
	Score        string    `json:"score"`
	Rank         int       `json:"rank"`
	Grade        Grade     `json:"grade"`
	Status       Status    `json:"status"`
	StatusLabel  string    `json:"status_label"`
	Filed        bool      `json:"filed"`
	Merged       bool      `json:"merged"` // graded in a merged pool of small units: Rank is its rank there
	Breakdown    Breakdown `json:"breakdown"`
}

// AnnualProposal is what the quarters of a year propose for the annual appraisal: whether the
// person qualifies for 优秀 under the policy's annual rule, and why.
type AnnualProposal struct {
	Year      int        `json:"year"`
	Quarters  int        `json:"quarters"` // quarters with a grade
	Good      int        `json:"good"`     // of them 好
	Low       int        `json:"low"`      // of them 一般 or 较差
	Candidate bool       `json:"candidate"`
	Rule      AnnualRule `json:"rule"`
	Text      string     `json:"text"`
}

// propose derives the annual proposal from a year's quarter grades.
func propose(year int, rule AnnualRule, grades []Grade) AnnualProposal {
	a := AnnualProposal{Year: year, Rule: rule, Candidate: AnnualCandidate(rule, grades)}
	for _, g := range grades {
		a.Quarters++
		switch g {
		case GradeGood:
			a.Good++
		case GradePass, GradePoor:
			a.Low++
		}
	}
	switch {
	case a.Quarters == 0:
		a.Text = "本年度尚无公示的季度考核结果"
	case a.Candidate:
		a.Text = fmt.Sprintf("符合年度“优秀”推荐条件：%d 个季度中 %d 个为“好”，无“一般”“较差”；须在评定池年度优秀名额（%d%%）内确定", a.Quarters, a.Good, rule.ExcellentQuotaPct)
	case a.Low > 0:
		a.Text = fmt.Sprintf("不符合年度“优秀”推荐条件：%d 个季度为“一般”或“较差”", a.Low)
	default:
		a.Text = fmt.Sprintf("不符合年度“优秀”推荐条件：“好”等次 %d 个季度，未达到 %d%%", a.Good, rule.GoodSharePct)
	}
	if a.Quarters > 0 && a.Quarters < 4 {
		a.Text += fmt.Sprintf("（已公示 %d 个季度，全年结果以四个季度为准）", a.Quarters)
	}
	return a
}

// History is a person's year.
type History struct {
	PersonID int64          `json:"person_id"`
	Name     string         `json:"name"`
	Year     int            `json:"year"`
	Quarters []QuarterGrade `json:"quarters"`
	Annual   AnnualProposal `json:"annual"`
}

// yearRange is the quarters of a year as stored text: "2026Q1" … "2026Q4".
func yearRange(year int) (string, string, error) {
	if year < 2000 || year > 2100 {
		return "", "", errs.Invalid("year", "年份应在 2000 到 2100 之间")
	}
	return fmt.Sprintf("%dQ1", year), fmt.Sprintf("%dQ4", year), nil
}

const quarterColumns = `SELECT c.id, c.quarter, c.step, o.id, o.name, o.path, r.person_id, pe.name, pe.id_number, r.pool, r.composite, r.rank,
		r.grade, r.status, r.breakdown, r.pool_key
	FROM ap_results r JOIN ap_cycles c ON c.id = r.cycle_id JOIN orgs o ON o.id = c.org_id JOIN people pe ON pe.id = r.person_id`

// personQuarter is a row of quarterColumns.
type personQuarter struct {
	QuarterGrade
	orgID    int64
	path     string
	personID int64
	name     string
	idNumber string
}

func scanQuarters(rows *sql.Rows) ([]personQuarter, error) {
	defer rows.Close()
	var out []personQuarter
	for rows.Next() {
		var q personQuarter
		var step int
		var breakdown, poolKey string
		if err := rows.Scan(&q.CycleID, &q.Quarter, &step, &q.orgID, &q.OrgName, &q.path, &q.personID, &q.name, &q.idNumber, &q.Pool,
			&q.Composite, &q.Rank, &q.Grade, &q.Status, &breakdown, &poolKey); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(breakdown), &q.Breakdown); err != nil {
			return nil, fmt.Errorf("appraisal: breakdown of %d in cycle %d: %w", q.personID, q.CycleID, err)
		}
		qq, _ := ParseQuarter(q.Quarter)
		q.QuarterLabel, q.PoolLabel, q.Score = qq.Label(), PoolLabel(q.Pool), FormatScore(q.Composite)
		q.Filed, q.Merged = step >= StepFiled, mergedKey(poolKey)
		q.StatusLabel = q.Status.label(q.Merged)
		out = append(out, q)
	}
	return out, rows.Err()
}

// annualRule is the annual rule in force for a unit at the start of the year's last quarter.
func annualRule(ctx context.Context, q querier, o orgRef, year int) (AnnualRule, error) {
	eff, err := resolvePolicy(ctx, q, o, Quarter{Year: year, Q: 4}.Start(), true)
	return eff.Policy.Annual, err
}

// History is a person's published quarters of a year and the annual proposal: staff see the
// people of their sight, a person their own.
func (s *Service) History(ctx context.Context, p *auth.Principal, personID int64, year int) (History, error) {
	out := History{PersonID: personID, Year: year, Quarters: []QuarterGrade{}}
	lo, hi, err := yearRange(year)
	if err != nil {
		return out, err
	}
	view, args := p.Scope(PermView).Where("o.path", "")
	self, selfArgs := p.Scope(PermSelf).Where("o.path", "pe.id")
	cond, condArgs := "("+view+" OR "+self+")", append(args, selfArgs...)
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		err := tx.QueryRow(ctx, `SELECT pe.name FROM people pe JOIN orgs o ON o.id = pe.org_id WHERE pe.id = ? AND `+cond,
			append([]any{personID}, condArgs...)...).Scan(&out.Name)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("人员不存在或不在您的管理范围内")
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, quarterColumns+` WHERE r.person_id = ? AND c.quarter >= ? AND c.quarter <= ? AND c.step > ? AND `+cond+`
			ORDER BY c.quarter, c.id`, append([]any{personID, lo, hi, StepHR}, condArgs...)...)
		if err != nil {
			return err
		}
		qs, err := scanQuarters(rows)
		if err != nil {
			return err
		}
		var grades []Grade
		rule := DefaultPolicy.Annual
		for _, q := range qs {
			out.Quarters = append(out.Quarters, q.QuarterGrade)
			if q.Grade != "" {
				grades = append(grades, q.Grade)
			}
		}
		if len(qs) > 0 {
			last := qs[len(qs)-1]
			if rule, err = annualRule(ctx, tx, orgRef{id: last.orgID, name: last.OrgName, path: last.path}, year); err != nil {
				return err
			}
		}
		out.Annual = propose(year, rule, grades)
		return nil
	})
	return out, err
}

// PersonYear is one person's row in a unit's year.
type PersonYear struct {
	PersonID int64           `json:"person_id"`
	Name     string          `json:"name"`
	IDNumber string          `json:"-"`
	Grades   [4]Grade        `json:"grades"` // by quarter; "" where not published or not graded
	Quarters []personQuarter `json:"-"`
	Annual   AnnualProposal  `json:"annual"`
	// Proposed: a candidate within the pool's annual 优秀 quota, best first by 好 quarters and
	// then the year's summed composite scores.
	Proposed bool  `json:"proposed"`
	Total    int64 `json:"total"` // Σ composite of the graded quarters, hundredths
}

// PoolYear is one pool of a unit's year.
type PoolYear struct {
	Pool       string       `json:"pool"`
	Label      string       `json:"label"`
	Counts     [4][4]int    `json:"counts"` // [quarter][grade] in the order of Grades()
	People     []PersonYear `json:"people"`
	Candidates int          `json:"candidates"`
	Quota      int          `json:"quota"`          // annual 优秀 places, ExcellentQuotaPct of the pool
	QuotaRaise int          `json:"quota_approved"` // with the district's approval
}

// UnitYear is a unit's year of published results.
type UnitYear struct {
	OrgID   int64      `json:"org_id"`
	OrgName string     `json:"org_name"`
	Year    int        `json:"year"`
	Rule    AnnualRule `json:"rule"`
	Cycles  [4]int64   `json:"cycles"` // the cycle of each quarter, 0 where none is published
	Pools   []PoolYear `json:"pools"`
}

// UnitYear reads a unit's published quarters of a year, pool by pool, with each person's
// grades and annual proposal.
func (s *Service) UnitYear(ctx context.Context, p *auth.Principal, orgID int64, year int) (UnitYear, error) {
	var out UnitYear
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = unitYear(ctx, tx, p, orgID, year)
		return err
	})
	return out, err
}

func unitYear(ctx context.Context, q querier, p *auth.Principal, orgID int64, year int) (UnitYear, error) {
	out := UnitYear{OrgID: orgID, Year: year, Pools: []PoolYear{}}
	lo, hi, err := yearRange(year)
	if err != nil {
		return out, err
	}
	o, err := visibleOrg(ctx, q, p, PermView, orgID)
	if err != nil {
		return out, err
	}
	out.OrgName = o.name
	if out.Rule, err = annualRule(ctx, q, o, year); err != nil {
		return out, err
	}
	cond, args := p.Scope(PermView).Where("o.path", "")
	rows, err := q.Query(ctx, quarterColumns+` WHERE c.org_id = ? AND c.quarter >= ? AND c.quarter <= ? AND c.step > ? AND `+cond+`
		ORDER BY r.pool, c.quarter, r.rank = 0, r.rank, r.person_id`, append([]any{o.id, lo, hi, StepHR}, args...)...)
	if err != nil {
		return out, err
	}
	qs, err := scanQuarters(rows)
	if err != nil {
		return out, err
	}
	pools := map[string]*PoolYear{}
	people := map[string]map[int64]*PersonYear{}
	for _, pq := range qs {
		qq, _ := ParseQuarter(pq.Quarter)
		out.Cycles[qq.Q-1] = pq.CycleID
		py := pools[pq.Pool]
		if py == nil {
			py = &PoolYear{Pool: pq.Pool, Label: PoolLabel(pq.Pool)}
			pools[pq.Pool], people[pq.Pool] = py, map[int64]*PersonYear{}
		}
		if i := slices.Index(Grades(), pq.Grade); i >= 0 {
			py.Counts[qq.Q-1][i]++
		}
		person := people[pq.Pool][pq.personID]
		if person == nil {
			person = &PersonYear{PersonID: pq.personID, Name: pq.name, IDNumber: pq.idNumber}
			people[pq.Pool][pq.personID] = person
		}
		person.Grades[qq.Q-1] = pq.Grade
		person.Quarters = append(person.Quarters, pq)
		if pq.Grade != "" {
			person.Total += pq.Composite
		}
	}
	for _, pool := range []string{PoolLeader, PoolStaff} {
		py := pools[pool]
		if py == nil {
			continue
		}
		for _, person := range people[pool] {
			var grades []Grade
			for _, g := range person.Grades {
				if g != "" {
					grades = append(grades, g)
				}
			}
			person.Annual = propose(year, out.Rule, grades)
			if person.Annual.Candidate {
				py.Candidates++
			}
			py.People = append(py.People, *person)
		}
		slices.SortFunc(py.People, func(a, b PersonYear) int {
			return cmp.Or(-cmp.Compare(a.Annual.Good, b.Annual.Good), -cmp.Compare(a.Total, b.Total), cmp.Compare(a.PersonID, b.PersonID))
		})
		py.Quota = AnnualQuota(out.Rule, len(py.People), false)
		py.QuotaRaise = AnnualQuota(out.Rule, len(py.People), true)
		left := py.Quota
		for i := range py.People {
			if py.People[i].Annual.Candidate && left > 0 {
				py.People[i].Proposed = true
				left--
			}
		}
		out.Pools = append(out.Pools, *py)
	}
	return out, nil
}
