package appraisal

import (
	"time"

	"grassroots/store"
)

// Policy is what a district decides about routine appraisal, in force from a date; a unit may
// set its own where the district allows. Every number here is configuration: the values in
// DefaultPolicy are the seed's (西山区) and nothing in the code depends on them.
type Policy struct {
	// DimensionWeights weigh 德能勤绩廉 in the composite score; they sum to 100.
	DimensionWeights DimValues `json:"dimension_weights"`
	// PartyWeights weigh 干部群众, 主管领导 and 组织人事部门; they sum to 100. A party with
	// weight 0, or with no rating for a person, is left out and the others are rescaled.
	PartyWeights PartyValues `json:"party_weights"`
	// Bands are the lowest scores (in points) of 好, 较好 and 一般; below 一般 is 较差.
	Bands Bands `json:"bands"`
	// GoodQuotaPct is the most of a pool that may be graded 好, in percent, rounded down but
	// at least GoodQuotaMin.
	GoodQuotaPct int64 `json:"good_quota_pct"`
	GoodQuotaMin int64 `json:"good_quota_min"`
	// TargetPct is the share, in percent, of the target task list score in a 能/勤/绩
	// dimension score where the person has assessed tasks in it; the rest is the parties'.
	TargetPct int64 `json:"target_pct"`
	// ContestTopPct and ContestBonus are the 争先赛: on each of 能/勤/绩, the top percent of a
	// pool by dimension score (among those with assessed tasks) earn a bonus, in hundredths.
	ContestTopPct int64 `json:"contest_top_pct"`
	ContestBonus  int64 `json:"contest_bonus"`
	// TrimMass drops the highest and lowest 干部群众 rating of each dimension when a person
	// has at least TrimMin of them.
	TrimMass bool  `json:"trim_mass"`
	TrimMin  int64 `json:"trim_min"`
	// MergeSmallUnits grades a unit's pool that has fewer than MinPoolSize people together
	// with the same pool of the district's other small units in that quarter.
	MergeSmallUnits bool  `json:"merge_small_units"`
	MinPoolSize     int64 `json:"min_pool_size"`
	// UniformSpread flags a rater whose totals over at least UniformMinRatees people lie within
	// this many hundredths; UnitSpread flags a pool whose composite scores do.
	UniformSpread    int64 `json:"uniform_spread"`
	UniformMinRatees int64 `json:"uniform_min_ratees"`
	UnitSpread       int64 `json:"unit_spread"`
	// Annual is the rule for the year's grade from the quarters'.
	Annual AnnualRule `json:"annual"`
	// AllowUnitOverride lets units under the district set their own policy.
	AllowUnitOverride bool `json:"allow_unit_override"`
	// StepDays are the deadlines of the seven steps of a quarter, in days after its last day
	// (negative: before it), in order; they are fixed on each cycle when it opens.
	StepDays [StepCount]int64 `json:"step_days"`
	// ReviewDays is how many working days after the results are published (step 5 closed) an
	// appraisee may ask for a review (复核).
	ReviewDays int64 `json:"review_days"`
	// Holidays are dates (YYYY-MM-DD) that are not working days, besides Saturdays and Sundays.
	Holidays []string `json:"holidays,omitempty"`
}

// withWorkflowDefaults fills the workflow terms of a policy set before they existed.
func (p *Policy) withWorkflowDefaults() {
	if p.StepDays == ([StepCount]int64{}) {
		p.StepDays = DefaultPolicy.StepDays
	}
	if p.ReviewDays == 0 {
		p.ReviewDays = DefaultPolicy.ReviewDays
	}
}

// Bands are the lowest scores, in whole points, of the upper three grades.
type Bands struct {
	Good int64 `json:"good"` // 好
	Fair int64 `json:"fair"` // 较好
	Pass int64 `json:"pass"` // 一般
}

// AnnualRule derives the year's 优秀 from the quarters' grades.
type AnnualRule struct {
	// GoodSharePct: 优秀 needs 好 in at least this share of the quarters, and no 一般 or 较差.
	GoodSharePct int64 `json:"good_share_pct"`
	// ExcellentQuotaPct is the most of a pool that may be 优秀; with the district's approval
	// it may rise to ExcellentQuotaApprovedPct.
	ExcellentQuotaPct         int64 `json:"excellent_quota_pct"`
	ExcellentQuotaApprovedPct int64 `json:"excellent_quota_approved_pct"`
}

// DefaultPolicy is the policy where no district has set one: 西山区's numbers.
var DefaultPolicy = Policy{
	DimensionWeights: DimValues{10, 20, 20, 40, 10},
	PartyWeights:     PartyValues{30, 50, 20},
	Bands:            Bands{Good: 90, Fair: 80, Pass: 60},
	GoodQuotaPct:     40,
	GoodQuotaMin:     1,
	TargetPct:        50,
	ContestTopPct:    20,
	ContestBonus:     200,
	TrimMass:         true,
	TrimMin:          5,
	MergeSmallUnits:  false,
	MinPoolSize:      5,
	UniformSpread:    200,
	UniformMinRatees: 3,
	UnitSpread:       100,
	Annual:           AnnualRule{GoodSharePct: 50, ExcellentQuotaPct: 20, ExcellentQuotaApprovedPct: 25},
	// Targets within the quarter's first fortnight; the rest in the five weeks after it.
	StepDays:   [StepCount]int64{-76, 5, 10, 15, 20, 30, 35},
	ReviewDays: 5,
}

// Validate checks a policy, reporting every bad field at once.
func (p Policy) Validate() error {
	var ps problems
	pct := func(field, name string, v int64) {
		if v < 0 || v > 100 {
			ps.add(field, "%s应在 0 到 100 之间", name)
		}
	}
	for _, d := range Dims() {
		if w := p.DimensionWeights[d]; w < 0 || w > 100 {
			ps.add("dimension_weights", "%s的权重应在 0 到 100 之间", d.Label())
		}
	}
	if s := p.DimensionWeights.Sum(); s != 100 {
		ps.add("dimension_weights", "德能勤绩廉权重之和应为100，现为%d", s)
	}
	var parties int64
	for _, pa := range Parties() {
		if w := p.PartyWeights[pa]; w < 0 || w > 100 {
			ps.add("party_weights", "%s的权重应在 0 到 100 之间", pa.Label())
		}
		parties += p.PartyWeights[pa]
	}
	if parties != 100 {
		ps.add("party_weights", "三方评价权重之和应为100，现为%d", parties)
	}
	if b := p.Bands; !(0 < b.Pass && b.Pass < b.Fair && b.Fair < b.Good && b.Good <= 100) {
		ps.add("bands", "等次分数线应满足 0 < 一般 < 较好 < 好 ≤ 100")
	}
	pct("good_quota_pct", "“好”等次比例", p.GoodQuotaPct)
	if p.GoodQuotaMin < 0 || p.GoodQuotaMin > 10 {
		ps.add("good_quota_min", "“好”等次最少名额应在 0 到 10 之间")
	}
	pct("target_pct", "目标任务得分占比", p.TargetPct)
	pct("contest_top_pct", "争先赛比例", p.ContestTopPct)
	if p.ContestBonus < 0 || p.ContestBonus > 2000 {
		ps.add("contest_bonus", "争先赛加分应在 0 到 20 分之间")
	}
	if p.TrimMin < 3 || p.TrimMin > 1000 {
		ps.add("trim_min", "去掉最高最低分所需的最少测评份数应在 3 到 1000 之间")
	}
	if p.MinPoolSize < 1 || p.MinPoolSize > 1000 {
		ps.add("min_pool_size", "最小评定池人数应在 1 到 1000 之间")
	}
	if p.UniformSpread < 0 || p.UniformSpread > 10000 {
		ps.add("uniform_spread", "评分趋同阈值应在 0 到 100 分之间")
	}
	if p.UniformMinRatees < 2 || p.UniformMinRatees > 1000 {
		ps.add("uniform_min_ratees", "评分趋同检测的最少被评人数应在 2 到 1000 之间")
	}
	if p.UnitSpread < 0 || p.UnitSpread > 10000 {
		ps.add("unit_spread", "单位得分趋同阈值应在 0 到 100 分之间")
	}
	a := p.Annual
	if a.GoodSharePct < 1 || a.GoodSharePct > 100 {
		ps.add("annual.good_share_pct", "年度优秀所需“好”等次季度占比应在 1 到 100 之间")
	}
	pct("annual.excellent_quota_pct", "年度优秀比例", a.ExcellentQuotaPct)
	if a.ExcellentQuotaApprovedPct < a.ExcellentQuotaPct || a.ExcellentQuotaApprovedPct > 100 {
		ps.add("annual.excellent_quota_approved_pct", "经批准的年度优秀比例应不低于一般比例且不超过100")
	}
	for i := range StepCount {
		if d := p.StepDays[i]; d < -92 || d > 92 {
			ps.add("step_days", "第%d步的期限应在季度末前后 92 天之内", i+1)
		} else if i > 0 && d < p.StepDays[i-1] {
			ps.add("step_days", "第%d步的期限不能早于第%d步", i+1, i)
		}
	}
	if p.ReviewDays < 1 || p.ReviewDays > 30 {
		ps.add("review_days", "申请复核的期限应在 1 到 30 个工作日之间")
	}
	if len(p.Holidays) > 100 {
		ps.add("holidays", "节假日最多 100 天")
	}
	for _, h := range p.Holidays {
		if _, err := time.Parse(store.DateLayout, h); err != nil || len(h) != 10 {
			ps.add("holidays", "节假日“%s”应为 YYYY-MM-DD 格式的日期", h)
		}
	}
	return ps.err()
}

// ValidateOverride checks a unit's own policy against its district's: a unit may not grade
// more people 好 or 优秀 than the district allows, nor pass the right to override on.
func (p Policy) ValidateOverride(district Policy) error {
	var ps problems
	if p.GoodQuotaPct > district.GoodQuotaPct {
		ps.add("good_quota_pct", "单位的“好”等次比例不得高于区级规定的%d%%", district.GoodQuotaPct)
	}
	if p.GoodQuotaMin > district.GoodQuotaMin {
		ps.add("good_quota_min", "单位的“好”等次最少名额不得多于区级规定的%d名", district.GoodQuotaMin)
	}
	if p.Annual.ExcellentQuotaPct > district.Annual.ExcellentQuotaPct {
		ps.add("annual.excellent_quota_pct", "单位的年度优秀比例不得高于区级规定的%d%%", district.Annual.ExcellentQuotaPct)
	}
	if p.Annual.ExcellentQuotaApprovedPct > district.Annual.ExcellentQuotaApprovedPct {
		ps.add("annual.excellent_quota_approved_pct", "单位经批准的年度优秀比例不得高于区级规定的%d%%", district.Annual.ExcellentQuotaApprovedPct)
	}
	if p.AllowUnitOverride {
		ps.add("allow_unit_override", "单位政策不能再授权下级自定政策")
	}
	return ps.err()
}

// GoodSlots is how many of a pool of n may be graded 好.
func (p Policy) GoodSlots(n int) int {
	if n <= 0 {
		return 0
	}
	k := int(int64(n) * p.GoodQuotaPct / 100)
	k = max(k, int(p.GoodQuotaMin))
	return min(k, n)
}

// bandGrade is the grade a composite score (hundredths) earns by the bands alone.
func (p Policy) bandGrade(composite int64) Grade {
	switch {
	case composite >= p.Bands.Good*hundred:
		return GradeGood
	case composite >= p.Bands.Fair*hundred:
		return GradeFair
	case composite >= p.Bands.Pass*hundred:
		return GradePass
	}
	return GradePoor
}
