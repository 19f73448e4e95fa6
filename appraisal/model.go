package appraisal

import (
	"cmp"
	"slices"
)

// This file is the arithmetic of routine appraisal: a person's composite score from the
// three parties' ratings, the target task list and the list entries (Score); the 争先赛 bonus
// within a pool (AwardContest); grades within a pool by bands and the 好 quota (GradePool);
// uniform-scoring detection; and the annual proposal. No I/O: the service feeds it rows.

// Rating is one rater's scores of one person, 0–100 per dimension.
type Rating struct {
	Party  Party
	Rater  string // who rated, for leader and HR ratings; "" for anonymous mass ratings
	Scores DimValues
}

// TaskScore is one assessed target task: its dimension, weight and score in hundredths.
type TaskScore struct {
	Dim    Dim
	Weight int64
	Score  int64
}

// Adjustment is a confirmed list entry that counts in a result.
type Adjustment struct {
	EntryID  int64  `json:"entry_id"`
	Negative bool   `json:"negative"` // a negative-list hit; otherwise an add/deduct entry
	Label    string `json:"label"`
	// Points in hundredths: signed for add/deduct entries; for a negative-list hit that
	// deducts, the amount deducted (positive).
	Points      int64       `json:"points"`
	Consequence Consequence `json:"consequence,omitempty"`
}

// PartyScore is one party's part of a breakdown.
type PartyScore struct {
	Party   Party     `json:"party"`
	Weight  int64     `json:"weight"`
	Count   int       `json:"count"`   // ratings received
	Trimmed bool      `json:"trimmed"` // highest and lowest dropped per dimension
	Used    bool      `json:"used"`    // counted: weight above 0 and at least one rating
	Average DimValues `json:"average"` // per dimension, hundredths
	Score   int64     `json:"score"`   // Σ dimension weight × average / 100, for reading
}

// Bonus is a 争先赛 bonus earned on one dimension.
type Bonus struct {
	Dim    Dim   `json:"dimension"`
	Points int64 `json:"points"`
}

// Breakdown is how a composite score came from its inputs, step by step; each number is
// rounded to the hundredth and computed from the numbers before it.
type Breakdown struct {
	Parties []PartyScore `json:"parties"`
	// PartyWeightUsed is the sum of the weights of the parties counted; the parties' per
	// dimension averages are weighted by their weights over this sum (rescaling).
	PartyWeightUsed int64        `json:"party_weight_used"`
	Rated           DimValues    `json:"rated"`       // three-party score per dimension
	Target          DimValues    `json:"target"`      // target task list score per dimension
	TargetDims      []Dim        `json:"target_dims"` // dimensions with assessed tasks
	TargetPct       int64        `json:"target_pct"`
	Dimensions      DimValues    `json:"dimensions"` // score per dimension
	Weights         DimValues    `json:"weights"`    // dimension weights
	Base            int64        `json:"base"`       // Σ weight × dimension score / 100
	Adjustments     []Adjustment `json:"adjustments"`
	AdjustTotal     int64        `json:"adjust_total"` // add/deduct list, signed
	Bonuses         []Bonus      `json:"bonuses"`
	BonusTotal      int64        `json:"bonus_total"`
	Deducted        int64        `json:"deducted"`  // negative-list deductions
	Composite       int64        `json:"composite"` // base + adjustments + bonuses − deductions
	Capped          bool         `json:"capped"`    // a negative-list hit caps the grade at 一般
	Failed          bool         `json:"failed"`    // a negative-list hit sets 较差
	Missing         bool         `json:"missing"`   // no party has rated: no score, no grade
}

func (b *Breakdown) hasTarget(d Dim) bool { return slices.Contains(b.TargetDims, d) }

// tally is one party's ratings of one person folded per dimension: how many, and each
// dimension's sum, lowest and highest score. It is all an average needs, trimmed or not:
// dropping the highest and the lowest rating of a dimension takes its max and min off the sum.
// RateByLink keeps each ratee's mass tally in the database as ratings arrive (ap_mass_tallies),
// which cycleRatings reads; Score folds a list.
type tally struct {
	count         int64
	sum, min, max DimValues
}

// tallies are one person's tallies by party.
type tallies [partyCount]tally

// add folds one rating's scores into the tally.
func (t *tally) add(scores DimValues) {
	t.merge(tally{count: 1, sum: scores, min: scores, max: scores})
}

// merge folds another tally of the same person and party into t.
func (t *tally) merge(o tally) {
	if o.count == 0 {
		return
	}
	if t.count == 0 {
		*t = o
		return
	}
	t.count += o.count
	for d := range dimCount {
		t.sum[d] += o.sum[d]
		t.min[d] = min(t.min[d], o.min[d])
		t.max[d] = max(t.max[d], o.max[d])
	}
}

// tallyRatings folds a person's ratings by party.
func tallyRatings(ratings []Rating) tallies {
	var t tallies
	for _, r := range ratings {
		t[r.Party].add(r.Scores)
	}
	return t
}

// Score computes a person's breakdown before the pool's 争先赛.
func Score(p Policy, ratings []Rating, tasks []TaskScore, adj []Adjustment) Breakdown {
	return scoreTallies(p, tallyRatings(ratings), tasks, adj)
}

// scoreTallies is Score from the person's ratings folded by party.
func scoreTallies(p Policy, t tallies, tasks []TaskScore, adj []Adjustment) Breakdown {
	b := Breakdown{Weights: p.DimensionWeights, TargetPct: p.TargetPct, TargetDims: []Dim{}, Bonuses: []Bonus{},
		Adjustments: append([]Adjustment{}, adj...)}
	for _, pa := range Parties() {
		b.Parties = append(b.Parties, partyScore(p, pa, t[pa]))
	}
	for _, ps := range b.Parties {
		if ps.Used {
			b.PartyWeightUsed += ps.Weight
		}
	}
	b.applyAdjustments()
	if b.PartyWeightUsed == 0 {
		b.Missing = true
		return b
	}
	for _, d := range Dims() {
		var sum int64
		for _, ps := range b.Parties {
			if ps.Used {
				sum += ps.Weight * ps.Average[d]
			}
		}
		b.Rated[d] = divRound(sum, b.PartyWeightUsed)
		b.Dimensions[d] = b.Rated[d]
	}
	for _, d := range Dims() {
		if !d.Quantitative() {
			continue
		}
		var sum, weights int64
		for _, t := range tasks {
			if t.Dim == d && t.Weight > 0 {
				sum += t.Weight * t.Score
				weights += t.Weight
			}
		}
		if weights == 0 {
			continue
		}
		b.Target[d] = divRound(sum, weights)
		b.TargetDims = append(b.TargetDims, d)
		b.Dimensions[d] = divRound(p.TargetPct*b.Target[d]+(100-p.TargetPct)*b.Rated[d], 100)
	}
	var base int64
	for _, d := range Dims() {
		base += p.DimensionWeights[d] * b.Dimensions[d]
	}
	b.Base = divRound(base, 100)
	b.total()
	return b
}

// partyScore averages one party's ratings per dimension, trimming the mass ratings when the
// policy says so: the highest and the lowest rating of each dimension are dropped (TrimMin is
// at least 3, so one is left).
func partyScore(p Policy, pa Party, t tally) PartyScore {
	ps := PartyScore{Party: pa, Weight: p.PartyWeights[pa], Count: int(t.count)}
	if ps.Count == 0 {
		return ps
	}
	ps.Used = ps.Weight > 0
	ps.Trimmed = pa == PartyMass && p.TrimMass && t.count >= p.TrimMin
	n := t.count
	if ps.Trimmed {
		n -= 2
	}
	for _, d := range Dims() {
		sum := t.sum[d]
		if ps.Trimmed {
			sum -= t.min[d] + t.max[d]
		}
		ps.Average[d] = divRound(sum*hundred, n)
	}
	var s int64
	for _, d := range Dims() {
		s += p.DimensionWeights[d] * ps.Average[d]
	}
	ps.Score = divRound(s, 100)
	return ps
}

func (b *Breakdown) applyAdjustments() {
	for _, a := range b.Adjustments {
		switch {
		case !a.Negative:
			b.AdjustTotal += a.Points
		case a.Consequence == ConsequenceDeduct:
			b.Deducted += a.Points
		case a.Consequence == ConsequenceCap:
			b.Capped = true
		case a.Consequence == ConsequenceFail:
			b.Failed = true
		}
	}
}

// total is the composite: the base, the add/deduct list and the bonuses, then the
// negative-list deductions last.
func (b *Breakdown) total() {
	b.Composite = b.Base + b.AdjustTotal + b.BonusTotal - b.Deducted
}

// Scored is the composite before the 争先赛: what the person's own inputs give, whatever
// pool they are graded in.
func (b *Breakdown) Scored() int64 { return b.Composite - b.BonusTotal }

// setBonuses replaces the 争先赛 bonuses, as a pool other than the unit's own awarded them.
func (b *Breakdown) setBonuses(bs []Bonus) {
	b.Bonuses, b.BonusTotal = append([]Bonus{}, bs...), 0
	for _, x := range bs {
		b.BonusTotal += x.Points
	}
	b.total()
}

// PoolEntry is one person of a pool to grade.
type PoolEntry struct {
	PersonID  int64
	Breakdown Breakdown
}

// ordering sorts a pool best first: composite, then 绩, then 德; the person id only keeps
// the order stable and never decides anything.
func ordering(a, b *PoolEntry) int {
	if c := cmp.Compare(b.Breakdown.Composite, a.Breakdown.Composite); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Breakdown.Dimensions[DimJi], a.Breakdown.Dimensions[DimJi]); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Breakdown.Dimensions[DimDe], a.Breakdown.Dimensions[DimDe]); c != 0 {
		return c
	}
	return cmp.Compare(a.PersonID, b.PersonID)
}

// tied reports whether two entries are equal on everything that may break a tie.
func tied(a, b *PoolEntry) bool {
	return a.Breakdown.Composite == b.Breakdown.Composite &&
		a.Breakdown.Dimensions[DimJi] == b.Breakdown.Dimensions[DimJi] &&
		a.Breakdown.Dimensions[DimDe] == b.Breakdown.Dimensions[DimDe]
}

// AwardContest runs the 争先赛 over a pool: on each of 能, 勤 and 绩, among those with
// assessed tasks on it, the top ContestTopPct percent (rounded down) by dimension score earn
// ContestBonus. A tie across the boundary earns nothing for those tied, so the share holds.
func AwardContest(p Policy, pool []*PoolEntry) {
	if p.ContestTopPct == 0 || p.ContestBonus == 0 {
		return
	}
	for _, d := range []Dim{DimNeng, DimQin, DimJi} {
		var in []*PoolEntry
		for _, e := range pool {
			if !e.Breakdown.Missing && e.Breakdown.hasTarget(d) {
				in = append(in, e)
			}
		}
		k := len(in) * int(p.ContestTopPct) / 100
		if k == 0 {
			continue
		}
		slices.SortStableFunc(in, func(a, b *PoolEntry) int {
			return cmp.Compare(b.Breakdown.Dimensions[d], a.Breakdown.Dimensions[d])
		})
		for i := range k {
			if k < len(in) && in[i].Breakdown.Dimensions[d] == in[k].Breakdown.Dimensions[d] {
				break
			}
			b := &in[i].Breakdown
			b.Bonuses = append(b.Bonuses, Bonus{Dim: d, Points: p.ContestBonus})
			b.BonusTotal += p.ContestBonus
			b.total()
		}
	}
}

// Status says why a person has the grade they have, beyond the bands.
type Status string

const (
	StatusBand       Status = ""            // the bands alone
	StatusQuota      Status = "quota"       // 好 by the bands, but past the quota: 较好
	StatusTiePending Status = "tie_pending" // tied at the quota's edge: HR must decide
	StatusTieWon     Status = "tie_won"     // HR decided the tie: 好
	StatusTieLost    Status = "tie_lost"    // HR decided the tie: 较好
	StatusCapped     Status = "capped"      // a negative-list hit capped the grade at 一般
	StatusFailed     Status = "failed"      // a negative-list hit set 较差
	StatusMissing    Status = "missing"     // no ratings: not graded
	StatusReviewed   Status = "reviewed"    // changed on review (复核), with HR's recorded reason
	StatusMergeStale Status = "merge_stale" // a merged pool's scores changed since its grading: held
)

// label explains the status of a grade in a pool, merged or a unit's own: a tie of a merged
// pool is the district's to decide, not the unit's HR office's.
func (s Status) label(merged bool) string {
	if merged {
		switch s {
		case StatusTiePending:
			return "与他人得分及绩、德分均相同，超出名额，待区级决定"
		case StatusTieWon:
			return "并列经区级决定评为好"
		case StatusTieLost:
			return "并列经区级决定评为较好"
		}
	}
	return s.Label()
}

// Label explains the status in Chinese.
func (s Status) Label() string {
	switch s {
	case StatusQuota:
		return "超出“好”等次名额，评为较好"
	case StatusTiePending:
		return "与他人得分及绩、德分均相同，超出名额，待组织人事部门决定"
	case StatusTieWon:
		return "并列经组织人事部门决定评为好"
	case StatusTieLost:
		return "并列经组织人事部门决定评为较好"
	case StatusCapped:
		return "触及负面清单，最高评为一般"
	case StatusFailed:
		return "触及负面清单，直接评为较差"
	case StatusMissing:
		return "尚无评价，不评定等次"
	case StatusReviewed:
		return "经复核改定"
	case StatusMergeStale:
		return "合并评定后评分已有变化，等次暂缓，待区级重新合并评定"
	}
	return ""
}

// Outcome is one person's grade in a pool.
type Outcome struct {
	PersonID  int64  `json:"person_id"`
	Rank      int    `json:"rank"`       // 1-based; equal composite, 绩 and 德 share a rank
	BandGrade Grade  `json:"band_grade"` // what the bands alone give
	Grade     Grade  `json:"grade"`      // "" while a tie waits for HR or when not graded
	Status    Status `json:"status"`
}

// Grading is a pool's grades and what HR needs to see about them.
type Grading struct {
	Size     int       `json:"size"`  // people graded
	Slots    int       `json:"slots"` // 好 places
	Counts   []int     `json:"counts"`
	Tie      []int64   `json:"tie"`       // people tied at the quota's edge, awaiting HR
	TieSlots int       `json:"tie_slots"` // 好 places left for them
	Spread   int64     `json:"spread"`    // highest − lowest composite
	Uniform  bool      `json:"uniform"`   // spread within the policy's UnitSpread
	Outcomes []Outcome `json:"outcomes"`  // best first
}

// GradePool grades a pool: every person by the bands, negative-list caps and 较差 applied,
// then at most GoodSlots of them 好, best first by composite, 绩 and 德; those past the quota
// are 较好. People tied on all three across the quota's edge are left to HR, unless decisions
// (person → gets 好) name exactly that group and fill exactly the places left.
func GradePool(p Policy, pool []*PoolEntry, decisions map[int64]bool) Grading {
	var graded, missing []*PoolEntry
	for _, e := range pool {
		if e.Breakdown.Missing {
			missing = append(missing, e)
		} else {
			graded = append(graded, e)
		}
	}
	slices.SortFunc(graded, ordering)
	g := Grading{Size: len(graded), Slots: p.GoodSlots(len(graded)), Counts: make([]int, 4), Tie: []int64{}}
	outcomes := make([]Outcome, len(graded))
	var good []int // indexes into graded of those the bands make 好
	for i, e := range graded {
		o := Outcome{PersonID: e.PersonID, Rank: i + 1, BandGrade: p.bandGrade(e.Breakdown.Composite)}
		if i > 0 && tied(graded[i-1], e) {
			o.Rank = outcomes[i-1].Rank
		}
		o.Grade = o.BandGrade
		switch {
		case e.Breakdown.Failed:
			o.Grade, o.Status = GradePoor, StatusFailed
		case e.Breakdown.Capped && o.Grade.rank() < GradePass.rank():
			o.Grade, o.Status = GradePass, StatusCapped
		}
		if o.Grade == GradeGood {
			good = append(good, i)
		}
		outcomes[i] = o
	}
	if k := g.Slots; len(good) > k {
		// good is in pool order; the first k keep 好 unless the k-th and the next are tied.
		start := k // first index of good past the quota
		if k > 0 && tied(graded[good[k-1]], graded[good[k]]) {
			start = k - 1
			for start > 0 && tied(graded[good[start-1]], graded[good[k]]) {
				start--
			}
			end := k
			for end+1 < len(good) && tied(graded[good[end+1]], graded[good[k]]) {
				end++
			}
			group := good[start : end+1]
			places := k - start
			if decided(graded, group, places, decisions) {
				for _, i := range group {
					if decisions[graded[i].PersonID] {
						outcomes[i].Status = StatusTieWon
					} else {
						outcomes[i].Grade, outcomes[i].Status = GradeFair, StatusTieLost
					}
				}
			} else {
				for _, i := range group {
					outcomes[i].Grade, outcomes[i].Status = "", StatusTiePending
					g.Tie = append(g.Tie, graded[i].PersonID)
				}
				g.TieSlots = places
			}
			start = end + 1
		}
		for _, i := range good[start:] {
			outcomes[i].Grade, outcomes[i].Status = GradeFair, StatusQuota
		}
	}
	for _, o := range outcomes {
		if r := o.Grade.rank(); r < 4 {
			g.Counts[r]++
		}
	}
	for _, e := range missing {
		outcomes = append(outcomes, Outcome{PersonID: e.PersonID, Status: StatusMissing})
	}
	g.Outcomes = outcomes
	if len(graded) > 0 {
		lo, hi := graded[0].Breakdown.Composite, graded[0].Breakdown.Composite
		for _, e := range graded {
			lo, hi = min(lo, e.Breakdown.Composite), max(hi, e.Breakdown.Composite)
		}
		g.Spread = hi - lo
		g.Uniform = int64(len(graded)) >= p.UniformMinRatees && g.Spread <= p.UnitSpread
	}
	return g
}

// decided reports whether decisions settle a tie group: they name every member and no one
// else of the pool's graded, and give 好 to exactly the places left.
func decided(graded []*PoolEntry, group []int, places int, decisions map[int64]bool) bool {
	if len(decisions) != len(group) {
		return false
	}
	wins := 0
	for _, i := range group {
		won, ok := decisions[graded[i].PersonID]
		if !ok {
			return false
		}
		if won {
			wins++
		}
	}
	return wins == places
}

// RaterTotals are the totals one identified rater gave, one per person rated: Σ dimension
// weight × score, in hundredths.
type RaterTotals struct {
	Party  Party   `json:"party"`
	Rater  string  `json:"rater"`
	Totals []int64 `json:"-"`
}

// UniformRater is a rater flagged for giving everyone (nearly) the same score.
type UniformRater struct {
	Party  Party  `json:"party"`
	Rater  string `json:"rater"`
	Rated  int    `json:"rated"`
	Spread int64  `json:"spread"` // highest − lowest total, hundredths
}

// RaterTotal is what one rating amounts to with the policy's dimension weights, in hundredths.
func RaterTotal(p Policy, scores DimValues) int64 {
	var t int64
	for _, d := range Dims() {
		t += p.DimensionWeights[d] * scores[d]
	}
	return t
}

// UniformRaters flags raters who rated at least UniformMinRatees people with totals within
// UniformSpread of each other.
func UniformRaters(p Policy, raters []RaterTotals) []UniformRater {
	out := []UniformRater{}
	for _, r := range raters {
		if int64(len(r.Totals)) < p.UniformMinRatees {
			continue
		}
		lo, hi := slices.Min(r.Totals), slices.Max(r.Totals)
		if hi-lo <= p.UniformSpread {
			out = append(out, UniformRater{Party: r.Party, Rater: r.Rater, Rated: len(r.Totals), Spread: hi - lo})
		}
	}
	return out
}

// Annual outcomes of the quarter grades.
const (
	AnnualExcellent = "优秀"
)

// AnnualCandidate reports whether a year of quarter grades qualifies for 优秀 under the rule:
// 好 in at least GoodSharePct of the quarters graded, and no 一般 or 较差.
func AnnualCandidate(rule AnnualRule, quarters []Grade) bool {
	if len(quarters) == 0 {
		return false
	}
	good := 0
	for _, g := range quarters {
		switch g {
		case GradeGood:
			good++
		case GradePass, GradePoor:
			return false
		}
	}
	return int64(good)*100 >= rule.GoodSharePct*int64(len(quarters))
}

// AnnualQuota is how many of a pool of n may be 优秀: the share rounded down, but at least
// one in any pool that is not empty, as the quarter's 好 quota ("rounded down, at least 1");
// approved is the district's approval of the higher share.
func AnnualQuota(rule AnnualRule, n int, approved bool) int {
	if n <= 0 {
		return 0
	}
	pct := rule.ExcellentQuotaPct
	if approved {
		pct = rule.ExcellentQuotaApprovedPct
	}
	return max(int(int64(n)*pct/100), 1)
}
