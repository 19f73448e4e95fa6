package appraisal

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"grassroots/errs"
)

func TestDivRoundIsHalfAwayFromZero(t *testing.T) {
	for _, c := range []struct{ a, b, want int64 }{
		{5, 2, 3}, {4, 2, 2}, {7, 3, 2}, {8, 3, 3}, {-5, 2, -3}, {-7, 3, -2}, {0, 9, 0}, {655000, 70, 9357}, {149, 100, 1}, {150, 100, 2},
	} {
		if got := divRound(c.a, c.b); got != c.want {
			t.Errorf("divRound(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	for h, want := range map[int64]string{9125: "91.25", 9100: "91.00", 5: "0.05", -150: "-1.50", 0: "0.00"} {
		if got := FormatScore(h); got != want {
			t.Errorf("FormatScore(%d) = %q, want %q", h, got, want)
		}
	}
}

func TestQuarters(t *testing.T) {
	q, err := ParseQuarter(" 2026q3 ")
	if err != nil || q.String() != "2026Q3" || q.Start() != "2026-07-01" || q.Label() != "2026年第三季度" {
		t.Fatalf("ParseQuarter = %v %q %q %v", q, q.Start(), q.Label(), err)
	}
	for _, bad := range []string{"2026Q5", "2026-3", "", "1999Q1"} {
		if _, err := ParseQuarter(bad); !errs.Is(err, errs.KindInvalid) {
			t.Errorf("ParseQuarter(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestPolicyValidation(t *testing.T) {
	if err := DefaultPolicy.Validate(); err != nil {
		t.Fatalf("the default policy is invalid: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(*Policy)
		field string
		text  string
	}{
		{"dimension weights sum to 99", func(p *Policy) { p.DimensionWeights[DimJi] = 39 }, "dimension_weights", "德能勤绩廉权重之和应为100，现为99"},
		{"party weights sum to 110", func(p *Policy) { p.PartyWeights[PartyHR] = 30 }, "party_weights", "三方评价权重之和应为100，现为110"},
		{"negative weight", func(p *Policy) { p.DimensionWeights[DimDe] = -10; p.DimensionWeights[DimJi] = 60 }, "dimension_weights", "德的权重应在 0 到 100 之间"},
		{"bands out of order", func(p *Policy) { p.Bands.Fair = 95 }, "bands", "0 < 一般 < 较好 < 好 ≤ 100"},
		{"quota over 100", func(p *Policy) { p.GoodQuotaPct = 140 }, "good_quota_pct", "“好”等次比例应在 0 到 100 之间"},
		{"trim needs three", func(p *Policy) { p.TrimMin = 2 }, "trim_min", "3 到 1000"},
		{"approved annual share below the plain one", func(p *Policy) { p.Annual.ExcellentQuotaApprovedPct = 15 }, "annual.excellent_quota_approved_pct", "不低于一般比例"},
	}
	for _, c := range cases {
		p := DefaultPolicy
		c.edit(&p)
		err := p.Validate()
		if !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want field %s with %q", c.name, err, c.field, c.text)
		}
	}
	// A party may be left out entirely.
	p := DefaultPolicy
	p.PartyWeights = PartyValues{0, 70, 30}
	if err := p.Validate(); err != nil {
		t.Errorf("leaving the mass rating out: %v", err)
	}
	// Every problem is reported at once.
	p = DefaultPolicy
	p.DimensionWeights[DimJi], p.PartyWeights[PartyMass], p.Bands.Good = 0, 0, 101
	if n := strings.Count(p.Validate().Error(), "invalid:"); n != 3 {
		t.Errorf("three bad fields reported as %d: %v", n, p.Validate())
	}
}

func TestUnitOverrideMayNotLoosenTheDistrict(t *testing.T) {
	unit := DefaultPolicy
	unit.DimensionWeights = DimValues{10, 10, 20, 50, 10}
	if err := unit.ValidateOverride(DefaultPolicy); err != nil {
		t.Fatalf("other weights are the unit's own business: %v", err)
	}
	unit.GoodQuotaPct, unit.AllowUnitOverride = 50, true
	err := unit.ValidateOverride(DefaultPolicy)
	if err == nil || !strings.Contains(err.Error(), "不得高于区级规定的40%") || !strings.Contains(err.Error(), "不能再授权") {
		t.Fatalf("override = %v", err)
	}
}

func TestPolicyJSONUsesKeys(t *testing.T) {
	data, _ := json.Marshal(DefaultPolicy)
	for _, want := range []string{`"dimension_weights":{"de":10,"neng":20,"qin":20,"ji":40,"lian":10}`, `"party_weights":{"mass":30,"leader":50,"hr":20}`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("policy JSON lacks %s: %s", want, data)
		}
	}
	var p Policy
	if err := json.Unmarshal(data, &p); err != nil || !reflect.DeepEqual(p, DefaultPolicy) {
		t.Fatalf("round trip: %+v %v", p, err)
	}
	if err := json.Unmarshal([]byte(`{"dimension_weights":{"de":10,"zhi":90}}`), &p); err == nil || !strings.Contains(err.Error(), "未知的考核维度：zhi") {
		t.Fatalf("unknown dimension: %v", err)
	}
	// A score left out is refused, not taken for 0; Chinese names are keys too.
	var sc DimValues
	if err := json.Unmarshal([]byte(`{"de":90,"neng":90,"qin":90,"ji":90}`), &sc); err == nil || !strings.Contains(err.Error(), "缺少“廉”一项") {
		t.Fatalf("missing 廉: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"德":1,"能":2,"勤":3,"绩":4,"廉":5}`), &sc); err != nil || sc != (DimValues{1, 2, 3, 4, 5}) {
		t.Fatalf("Chinese keys: %v %v", sc, err)
	}
}

func r(pa Party, rater string, de, neng, qin, ji, lian int64) Rating {
	return Rating{Party: pa, Rater: rater, Scores: DimValues{de, neng, qin, ji, lian}}
}

// threeParties is a person rated by two colleagues, the supervising leader and HR.
var threeParties = []Rating{
	r(PartyMass, "", 90, 80, 80, 90, 100),
	r(PartyMass, "", 80, 80, 90, 90, 100),
	r(PartyLeader, "leader", 95, 90, 90, 95, 100),
	r(PartyHR, "hr", 90, 90, 90, 90, 90),
}

func TestScoreWeighsPartiesAndDimensions(t *testing.T) {
	cases := []struct {
		name      string
		policy    func(*Policy)
		ratings   []Rating
		tasks     []TaskScore
		adj       []Adjustment
		rated     DimValues
		dims      DimValues
		base      int64
		composite int64
		used      int64
	}{
		{
			name: "all three parties", ratings: threeParties,
			// 德 = (30×85 + 50×95 + 20×90) / 100 = 91.00 …
			rated: DimValues{9100, 8700, 8850, 9250, 9800}, dims: DimValues{9100, 8700, 8850, 9250, 9800},
			// (10×91 + 20×87 + 20×88.5 + 40×92.5 + 10×98) / 100 = 91.00
			base: 9100, composite: 9100, used: 100,
		},
		{
			name: "no mass rating: the leader and HR are rescaled over 70", ratings: threeParties[2:],
			// 德 = (50×95 + 20×90) / 70 = 93.571… → 93.57; 绩 = (50×95 + 20×90)/70 too.
			rated: DimValues{9357, 9000, 9000, 9357, 9714}, dims: DimValues{9357, 9000, 9000, 9357, 9714},
			// (10×93.57 + 20×90 + 20×90 + 40×93.57 + 10×97.14)/100 = 92.499 → 92.50
			base: 9250, composite: 9250, used: 70,
		},
		{
			name: "a party weighted 0 is left out although it rated", ratings: threeParties,
			policy: func(p *Policy) { p.PartyWeights = PartyValues{0, 80, 20} },
			// 德 = (80×95 + 20×90)/100 = 94
			rated: DimValues{9400, 9000, 9000, 9400, 9800}, dims: DimValues{9400, 9000, 9000, 9400, 9800},
			// (10×94 + 20×90 + 20×90 + 40×94 + 10×98)/100 = 92.80
			base: 9280, composite: 9280, used: 100,
		},
		{
			name: "targets make half of 能 and 绩", ratings: threeParties[2:3],
			tasks: []TaskScore{{DimNeng, 2, 10000}, {DimNeng, 1, 7000}, {DimJi, 1, 8000}, {DimDe, 5, 0}},
			// only the leader: rated = the leader's scores. 能 target = (2×100 + 1×70)/3 = 90 → (90+90)/2 = 90;
			// 绩 target 80 → (80 + 95)/2 = 87.5. 德 has no target list and ignores the task.
			rated: DimValues{9500, 9000, 9000, 9500, 10000}, dims: DimValues{9500, 9000, 9000, 8750, 10000},
			// (10×95 + 20×90 + 20×90 + 40×87.5 + 10×100)/100 = 90.50
			base: 9050, composite: 9050, used: 50,
		},
		{
			name: "adjustments and negative-list deductions", ratings: threeParties,
			adj: []Adjustment{{Points: 200, Label: "市级表彰"}, {Points: -300, Label: "有效投诉"},
				{Negative: true, Consequence: ConsequenceDeduct, Points: 500, Label: "迟到早退"}},
			rated: DimValues{9100, 8700, 8850, 9250, 9800}, dims: DimValues{9100, 8700, 8850, 9250, 9800},
			// 91 + 2 − 3 − 5 = 85
			base: 9100, composite: 8500, used: 100,
		},
	}
	for _, c := range cases {
		p := DefaultPolicy
		if c.policy != nil {
			c.policy(&p)
		}
		b := Score(p, c.ratings, c.tasks, c.adj)
		if b.Rated != c.rated || b.Dimensions != c.dims || b.Base != c.base || b.Composite != c.composite || b.PartyWeightUsed != c.used || b.Missing {
			t.Errorf("%s:\n rated %v dims %v base %d composite %d used %d missing %v\nwant rated %v dims %v base %d composite %d used %d",
				c.name, b.Rated, b.Dimensions, b.Base, b.Composite, b.PartyWeightUsed, b.Missing, c.rated, c.dims, c.base, c.composite, c.used)
		}
	}
}

func TestScoreTrimsMassRatings(t *testing.T) {
	var mass []Rating
	for _, de := range []int64{60, 90, 90, 90, 100} {
		mass = append(mass, r(PartyMass, "", de, 80, 80, 80, 80))
	}
	b := Score(DefaultPolicy, mass, nil, nil)
	if !b.Parties[PartyMass].Trimmed || b.Parties[PartyMass].Average[DimDe] != 9000 || b.Parties[PartyMass].Count != 5 {
		t.Fatalf("trimmed mass party = %+v; want 德 90.00 from 90, 90, 90", b.Parties[PartyMass])
	}
	p := DefaultPolicy
	p.TrimMin = 6
	if b := Score(p, mass, nil, nil); b.Parties[PartyMass].Trimmed || b.Parties[PartyMass].Average[DimDe] != 8600 {
		t.Fatalf("five ratings under a minimum of six = %+v; want 德 86.00 untrimmed", b.Parties[PartyMass])
	}
	// Leaders are never trimmed.
	leaders := []Rating{r(PartyLeader, "a", 60, 80, 80, 80, 80), r(PartyLeader, "b", 90, 80, 80, 80, 80), r(PartyLeader, "c", 90, 80, 80, 80, 80),
		r(PartyLeader, "d", 90, 80, 80, 80, 80), r(PartyLeader, "e", 100, 80, 80, 80, 80)}
	if b := Score(DefaultPolicy, leaders, nil, nil); b.Parties[PartyLeader].Trimmed || b.Parties[PartyLeader].Average[DimDe] != 8600 {
		t.Fatalf("leader ratings = %+v", b.Parties[PartyLeader])
	}
}

func TestScoreWithoutRatingsIsMissing(t *testing.T) {
	b := Score(DefaultPolicy, nil, []TaskScore{{DimJi, 1, 9000}}, []Adjustment{{Negative: true, Consequence: ConsequenceFail}})
	if !b.Missing || !b.Failed || b.Composite != 0 {
		t.Fatalf("breakdown = %+v", b)
	}
}

// pool builds entries with the given composites; ji and de default to the composite.
func pool(scores ...int64) []*PoolEntry {
	var out []*PoolEntry
	for i, s := range scores {
		b := Breakdown{Composite: s}
		b.Dimensions[DimJi], b.Dimensions[DimDe] = s, s
		out = append(out, &PoolEntry{PersonID: int64(i + 1), Breakdown: b})
	}
	return out
}

func grades(g Grading) map[int64]Grade {
	out := map[int64]Grade{}
	for _, o := range g.Outcomes {
		out[o.PersonID] = o.Grade
	}
	return out
}

func TestGradePoolBandsAndQuota(t *testing.T) {
	// Five people all above 90: 40% of 5 is 2 places of 好; the rest are 较好 by quota.
	g := GradePool(DefaultPolicy, pool(9500, 9900, 9100, 9300, 9000), nil)
	want := map[int64]Grade{1: GradeGood, 2: GradeGood, 3: GradeFair, 4: GradeFair, 5: GradeFair}
	if got := grades(g); !equalGrades(got, want) || g.Slots != 2 || g.Counts[0] != 2 || g.Counts[1] != 3 {
		t.Fatalf("grades = %v slots %d counts %v; want %v", got, g.Slots, g.Counts, want)
	}
	if g.Outcomes[0].PersonID != 2 || g.Outcomes[0].Rank != 1 || g.Outcomes[2].Status != StatusQuota {
		t.Fatalf("order = %+v", g.Outcomes)
	}
	// Bands: 89.99 is 较好, 79.99 一般, 59.99 较差.
	g = GradePool(DefaultPolicy, pool(9000, 8999, 7999, 5999, 6000, 8000), nil)
	want = map[int64]Grade{1: GradeGood, 2: GradeFair, 3: GradePass, 4: GradePoor, 5: GradePass, 6: GradeFair}
	if got := grades(g); !equalGrades(got, want) {
		t.Fatalf("bands = %v, want %v", got, want)
	}
	// A pool of two still has one place (at least one).
	if g := GradePool(DefaultPolicy, pool(9500, 9600), nil); g.Slots != 1 || grades(g)[2] != GradeGood || grades(g)[1] != GradeFair {
		t.Fatalf("pool of two = %+v", g)
	}
}

func equalGrades(a, b map[int64]Grade) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestNegativeListOverridesAnyScore(t *testing.T) {
	p := pool(9900, 9800, 9700, 9600, 9500)
	p[0].Breakdown.Failed = true // the best score, but a 较差 hit
	p[1].Breakdown.Capped = true // capped at 一般
	g := GradePool(DefaultPolicy, p, nil)
	got := grades(g)
	// The 好 places go to the next best: 3 and 4.
	want := map[int64]Grade{1: GradePoor, 2: GradePass, 3: GradeGood, 4: GradeGood, 5: GradeFair}
	if !equalGrades(got, want) {
		t.Fatalf("grades = %v, want %v", got, want)
	}
	// A cap does not lift a lower grade.
	p = pool(5000)
	p[0].Breakdown.Capped = true
	if g := GradePool(DefaultPolicy, p, nil); g.Outcomes[0].Grade != GradePoor || g.Outcomes[0].Status != StatusBand {
		t.Fatalf("capped 50 = %+v", g.Outcomes[0])
	}
}

func TestTiesAtTheQuotaEdge(t *testing.T) {
	// Five people, two places. 2 and 3 tie on the composite; 绩 breaks it.
	p := pool(9600, 9500, 9500, 9100, 9000)
	p[2].Breakdown.Dimensions[DimJi] = 9600
	g := GradePool(DefaultPolicy, p, nil)
	if got := grades(g); got[1] != GradeGood || got[3] != GradeGood || got[2] != GradeFair || len(g.Tie) != 0 {
		t.Fatalf("绩 tie-break = %v, tie %v", got, g.Tie)
	}
	// Equal 绩: 德 breaks it.
	p = pool(9600, 9500, 9500, 9100, 9000)
	p[1].Breakdown.Dimensions[DimDe] = 9900
	if got := grades(GradePool(DefaultPolicy, p, nil)); got[2] != GradeGood || got[3] != GradeFair {
		t.Fatalf("德 tie-break = %v", got)
	}
	// Equal on everything: HR must decide between 2 and 3 for one place.
	p = pool(9600, 9500, 9500, 9100, 9000)
	g = GradePool(DefaultPolicy, p, nil)
	got := grades(g)
	if got[1] != GradeGood || got[2] != "" || got[3] != "" || g.TieSlots != 1 || len(g.Tie) != 2 || g.Counts[0] != 1 {
		t.Fatalf("full tie = %v, tie %v slots %d counts %v", got, g.Tie, g.TieSlots, g.Counts)
	}
	if g.Outcomes[1].Rank != 2 || g.Outcomes[2].Rank != 2 || g.Outcomes[3].Rank != 4 || g.Outcomes[1].Status != StatusTiePending {
		t.Fatalf("tied ranks = %+v", g.Outcomes)
	}
	// HR's decision settles it.
	g = GradePool(DefaultPolicy, p, map[int64]bool{2: false, 3: true})
	if got := grades(g); got[3] != GradeGood || got[2] != GradeFair || len(g.Tie) != 0 || g.Counts[0] != 2 {
		t.Fatalf("decided = %v", got)
	}
	// A decision that gives both the place, or leaves one out, does not.
	for _, d := range []map[int64]bool{{2: true, 3: true}, {3: true}, {2: false, 3: true, 4: false}} {
		if g := GradePool(DefaultPolicy, p, d); len(g.Tie) != 2 {
			t.Errorf("decision %v settled the tie: %v", d, grades(g))
		}
	}
}

// TestQuotaHoldsForAnyInput is the property: in any pool, at most the quota is 好, nobody is
// 好 whom the bands do not make 好, no 较差 hit is above 较差 and no capped person above 一般.
func TestQuotaHoldsForAnyInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2026))
	for range 3000 {
		p := DefaultPolicy
		p.GoodQuotaPct = rng.Int64N(101)
		p.GoodQuotaMin = rng.Int64N(3)
		n := rng.IntN(30)
		var entries []*PoolEntry
		for i := range n {
			b := Breakdown{Composite: 8500 + rng.Int64N(15)*100, Failed: rng.IntN(10) == 0, Capped: rng.IntN(10) == 0, Missing: rng.IntN(15) == 0}
			b.Dimensions[DimJi], b.Dimensions[DimDe] = 9000+rng.Int64N(3)*100, 9000+rng.Int64N(2)*100
			entries = append(entries, &PoolEntry{PersonID: int64(i + 1), Breakdown: b})
		}
		decisions := map[int64]bool{}
		if rng.IntN(2) == 0 {
			for i := range n {
				if rng.IntN(3) == 0 {
					decisions[int64(i+1)] = rng.IntN(2) == 0
				}
			}
		}
		g := GradePool(p, entries, decisions)
		byID := map[int64]*PoolEntry{}
		for _, e := range entries {
			byID[e.PersonID] = e
		}
		good := 0
		for _, o := range g.Outcomes {
			b := byID[o.PersonID].Breakdown
			switch {
			case b.Missing && (o.Grade != "" || o.Status != StatusMissing):
				t.Fatalf("missing person graded: %+v", o)
			case b.Failed && !b.Missing && o.Grade != GradePoor:
				t.Fatalf("较差 hit graded %s", o.Grade)
			case b.Capped && !b.Failed && o.Grade.rank() < GradePass.rank():
				t.Fatalf("capped person graded %s", o.Grade)
			case o.Grade == GradeGood && (b.Composite < p.Bands.Good*100 || b.Failed || b.Capped):
				t.Fatalf("好 without the band: %+v %+v", o, b)
			}
			if o.Grade == GradeGood {
				good++
			}
		}
		if good > g.Slots || good != g.Counts[0] || g.Slots > g.Size {
			t.Fatalf("pool of %d with %d%%/min %d: %d 好 for %d places", g.Size, p.GoodQuotaPct, p.GoodQuotaMin, good, g.Slots)
		}
		if len(g.Tie) > 0 && good+g.TieSlots != g.Slots {
			t.Fatalf("pending tie leaves %d places but %d of %d are taken", g.TieSlots, good, g.Slots)
		}
	}
}

func TestContestBonus(t *testing.T) {
	p := DefaultPolicy // top 20%, 2 分
	entries := pool(9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000)
	for i, e := range entries {
		e.Breakdown.Base = 9000
		e.Breakdown.TargetDims = []Dim{DimJi}
		e.Breakdown.Dimensions[DimJi] = 9000 + int64(i)*10 // 10 is best
	}
	entries[0].Breakdown.TargetDims = nil // no tasks on 绩: not in the contest
	AwardContest(p, entries)
	// Nine in the contest: 20% of 9 is 1 place.
	for i, e := range entries {
		want := int64(9000)
		if i == 9 {
			want = 9200
		}
		if e.Breakdown.Composite != want {
			t.Errorf("person %d composite %d, want %d (bonuses %v)", i+1, e.Breakdown.Composite, want, e.Breakdown.Bonuses)
		}
	}
	// Ten in the contest with the top two tied with the third: nobody crosses the boundary.
	entries = pool(9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000)
	for _, e := range entries {
		e.Breakdown.Base, e.Breakdown.TargetDims = 9000, []Dim{DimNeng}
	}
	for _, i := range []int{0, 1, 2} {
		entries[i].Breakdown.Dimensions[DimNeng] = 9900
	}
	AwardContest(p, entries)
	for _, e := range entries {
		if e.Breakdown.BonusTotal != 0 {
			t.Fatalf("tie across the contest boundary earned a bonus: %+v", e.Breakdown)
		}
	}
}

func TestUniformRaters(t *testing.T) {
	p := DefaultPolicy // spread 2 分 over at least 3 people
	flat := RaterTotal(p, DimValues{90, 90, 90, 90, 90})
	if flat != 9000 {
		t.Fatalf("RaterTotal = %d", flat)
	}
	raters := []RaterTotals{
		{Party: PartyLeader, Rater: "张局长", Totals: []int64{9000, 9100, 9200}},        // spread 2.00: flagged
		{Party: PartyHR, Rater: "人事科", Totals: []int64{9000, 9100, 9201}},            // 2.01: not
		{Party: PartyLeader, Rater: "李副局长", Totals: []int64{9000, 9000}},             // two people: too few to judge
		{Party: PartyLeader, Rater: "王副局长", Totals: []int64{6000, 9500, 8000, 8700}}, // varied
	}
	got := UniformRaters(p, raters)
	if len(got) != 1 || got[0].Rater != "张局长" || got[0].Spread != 200 || got[0].Rated != 3 {
		t.Fatalf("uniform raters = %+v", got)
	}
	// A pool whose composites lie within 1 分 is flagged.
	if g := GradePool(p, pool(9000, 9050, 9100), nil); !g.Uniform || g.Spread != 100 {
		t.Fatalf("pool spread = %+v", g)
	}
	if g := GradePool(p, pool(9000, 9050, 9101), nil); g.Uniform {
		t.Fatalf("pool spread 1.01 flagged")
	}
}

func TestAnnualRule(t *testing.T) {
	rule := DefaultPolicy.Annual
	for _, c := range []struct {
		q    []Grade
		want bool
	}{
		{[]Grade{GradeGood, GradeGood, GradeFair, GradeFair}, true},
		{[]Grade{GradeGood, GradeFair, GradeFair, GradeFair}, false},
		{[]Grade{GradeGood, GradeGood, GradeGood, GradePass}, false},
		{[]Grade{GradeGood, GradeGood, GradeGood, GradePoor}, false},
		{[]Grade{GradeGood}, true},
		{nil, false},
	} {
		if got := AnnualCandidate(rule, c.q); got != c.want {
			t.Errorf("AnnualCandidate(%v) = %v", c.q, got)
		}
	}
	for _, c := range []struct {
		n        int
		approved bool
		want     int
	}{{10, false, 2}, {10, true, 2}, {20, false, 4}, {20, true, 5}, {0, false, 0}, {0, true, 0},
		// Rounded down but at least one, as the quarter's quota: a pool of 3 or 4 has one place.
		{4, false, 1}, {3, false, 1}, {3, true, 1}, {1, false, 1}} {
		if got := AnnualQuota(rule, c.n, c.approved); got != c.want {
			t.Errorf("AnnualQuota(%d, %v) = %d, want %d", c.n, c.approved, got, c.want)
		}
	}
}
