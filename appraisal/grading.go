package appraisal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Summary is what HR and the district see of a cycle's last computation: the policy used,
// each pool's size, quota, grade counts, pending tie and spread, and the flagged raters.
type Summary struct {
	PolicySource  string         `json:"policy_source"`
	PolicyID      int64          `json:"policy_id"`
	PolicyOrg     string         `json:"policy_org"`
	EffectiveFrom string         `json:"effective_from"`
	Policy        Policy         `json:"policy"`
	Pools         []PoolSummary  `json:"pools"`
	UniformRaters []UniformRater `json:"uniform_raters"`
	Missing       int            `json:"missing"` // appraisees nobody has rated
}

// PoolSummary is one pool's grading.
type PoolSummary struct {
	Pool     string        `json:"pool"`
	Label    string        `json:"label"`
	Size     int           `json:"size"`
	Slots    int           `json:"slots"`
	Counts   map[Grade]int `json:"counts"`
	Tie      []TiePerson   `json:"tie"`
	TieSlots int           `json:"tie_slots"`
	Spread   int64         `json:"spread"`
	Uniform  bool          `json:"uniform"`
	// Small: the pool has fewer than MinPoolSize people while the policy merges small units.
	// Such a pool is graded with the same pool of the district's other small units
	// (MergePools); until then it is graded on its own and its results cannot be confirmed.
	Small bool `json:"small"`
	// Merge is the merged grading the pool's grades come from; Size, Slots and TieSlots are
	// then the merged pool's, Counts and Tie the unit's own people.
	Merge *PoolMerge `json:"merge,omitempty"`
	// MergeStale: the scores of StaleUnits (this unit's or another's of the merged pool)
	// changed after the merged grading Merge. The pool's grades are held (no grade, status
	// merge_stale) and cannot be confirmed until the district grades the pool again.
	MergeStale bool     `json:"merge_stale"`
	StaleUnits []string `json:"stale_units,omitempty"`
}

// StaleUnitNames lists the units whose scores changed after the merged grading, for pages.
func (ps PoolSummary) StaleUnitNames() string { return strings.Join(ps.StaleUnits, "、") }

// TiePerson is someone in a tie HR must decide.
type TiePerson struct {
	PersonID int64  `json:"person_id"`
	Name     string `json:"name"`
}

// Flagged reports whether anything in the summary needs HR's or the district's attention.
func (s *Summary) Flagged() bool {
	if len(s.UniformRaters) > 0 {
		return true
	}
	for _, p := range s.Pools {
		if p.Uniform || len(p.Tie) > 0 {
			return true
		}
	}
	return false
}

// Result is one person's result with how it came about.
type Result struct {
	PersonID    int64     `json:"person_id"`
	Name        string    `json:"name"`
	Pool        string    `json:"pool"`
	PoolLabel   string    `json:"pool_label"`
	Composite   int64     `json:"composite"` // hundredths
	Score       string    `json:"score"`     // the composite as shown, e.g. "91.25"
	Rank        int       `json:"rank"`
	BandGrade   Grade     `json:"band_grade"`
	Grade       Grade     `json:"grade"`
	Status      Status    `json:"status"`
	StatusLabel string    `json:"status_label"`
	TieReason   string    `json:"tie_reason,omitempty"`
	Merged      bool      `json:"merged"` // graded in a merged pool of small units: Rank is its rank there
	Breakdown   Breakdown `json:"breakdown"`
}

// ComputeResults scores every appraisee of a cycle and grades each pool, replacing the
// previous results. It can run as often as inputs change.
func (s *Service) ComputeResults(ctx context.Context, p *auth.Principal, cycleID int64) (Summary, error) {
	var out Summary
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		if err := lockResults(ctx, tx, c.id); err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepHR, "重新计算考核结果"); err != nil {
			return err
		}
		if out, err = compute(ctx, tx, c); err != nil {
			return err
		}
		counts := map[string]map[Grade]int{}
		for _, pool := range out.Pools {
			counts[pool.Pool] = pool.Counts
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.compute", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"quarter": c.quarter.String(), "counts": counts,
				"policy_id": out.PolicyID, "uniform_raters": len(out.UniformRaters), "missing": out.Missing}})
	})
	return out, err
}

// lockResults serialises, on PostgreSQL, every grading of one cycle: computations replace the
// cycle's results by deleting and inserting them, and two at once would otherwise insert the
// same rows twice (the second fails on the primary key) or let the one that read older inputs
// commit last. SQLite's single writer does this already.
func lockResults(ctx context.Context, tx *store.Tx, cycleID int64) error {
	return tx.DB().Dialect.Serialize(ctx, tx, resultsLock^cycleID)
}

// resultsLock is the base of the per-cycle advisory locks of grading.
const resultsLock = 0x61705f726573 << 16 // "ap_res"

// compute does the work of ComputeResults inside tx; the caller holds lockResults.
func compute(ctx context.Context, tx *store.Tx, c cycleRef) (Summary, error) {
	eff, err := resolvePolicy(ctx, tx, orgRef{id: c.orgID, name: c.orgName, path: c.path}, c.quarter.Start(), true)
	if err != nil {
		return Summary{}, err
	}
	pol := eff.Policy
	sum := Summary{PolicySource: eff.Source, PolicyID: eff.PolicyID, PolicyOrg: eff.SourceOrgName, EffectiveFrom: eff.EffectiveFrom,
		Policy: pol, Pools: []PoolSummary{}}
	people, err := appraisees(ctx, tx, c.id)
	if err != nil {
		return sum, err
	}
	ratings, raters, err := cycleRatings(ctx, tx, pol, c.id)
	if err != nil {
		return sum, err
	}
	tasks, err := assessedTasks(ctx, tx, c.id)
	if err != nil {
		return sum, err
	}
	adjustments, err := countingEntries(ctx, tx, c.id)
	if err != nil {
		return sum, err
	}
	decisions, err := tieDecisions(ctx, tx, c.id)
	if err != nil {
		return sum, err
	}
	reviewed, err := changedOnReview(ctx, tx, c.id)
	if err != nil {
		return sum, err
	}
	names := map[int64]string{}
	for _, a := range people {
		names[a.PersonID] = a.Name
	}
	if _, err := tx.Exec(ctx, `DELETE FROM ap_results WHERE cycle_id = ?`, c.id); err != nil {
		return sum, err
	}
	now := store.FormatTime(tx.Now())
	var rows [][]any
	var buf []byte // one breakdown's JSON at a time
	for _, pool := range []string{PoolLeader, PoolStaff} {
		var entries []*PoolEntry
		poolDecisions := map[int64]bool{}
		for _, a := range people {
			if a.Pool != pool {
				continue
			}
			b := scoreTallies(pol, ratings[a.PersonID], tasks[a.PersonID], adjustments[a.PersonID])
			entries = append(entries, &PoolEntry{PersonID: a.PersonID, Breakdown: b})
			if b.Missing {
				sum.Missing++
			}
			if won, ok := decisions[a.PersonID]; ok {
				poolDecisions[a.PersonID] = won
			}
		}
		if len(entries) == 0 {
			continue
		}
		AwardContest(pol, entries)
		g := GradePool(pol, entries, poolDecisions)
		ps := PoolSummary{Pool: pool, Label: PoolLabel(pool), Size: g.Size, Slots: g.Slots, Counts: map[Grade]int{},
			Tie: []TiePerson{}, TieSlots: g.TieSlots, Spread: g.Spread, Uniform: g.Uniform,
			Small: pol.MergeSmallUnits && int64(len(entries)) < pol.MinPoolSize}
		poolKey := fmt.Sprintf("c%d:%s", c.id, pool)
		if ps.Small {
			// A small pool takes its grades and 争先赛 bonuses from the merged grading in force,
			// as long as the people and scores of every unit of it are still those the grading
			// was made from; otherwise its grades are held until the district grades again.
			m, err := cycleMerge(ctx, tx, c.id, pool)
			if err != nil {
				return sum, err
			}
			if m != nil {
				ps.Merge = m.summary()
				outcomes, ok := m.applyTo(c.id, entries)
				if !ok || m.PolicyID != eff.PolicyID {
					ps.StaleUnits = []string{c.orgName}
				}
				// This cycle's results are being replaced; the others' are as they stand.
				others, err := staleUnits(ctx, tx, m, nil, c.id)
				if err != nil {
					return sum, err
				}
				ps.StaleUnits = append(ps.StaleUnits, others...)
				g.Tie, g.Counts = nil, make([]int, 4)
				if len(ps.StaleUnits) == 0 {
					g.Outcomes = outcomes
					for _, o := range outcomes {
						if r := o.Grade.rank(); r < 4 {
							g.Counts[r]++
						}
						if o.Status == StatusTiePending {
							g.Tie = append(g.Tie, o.PersonID)
						}
					}
					ps.Size, ps.Slots, ps.TieSlots = m.Size, m.Slots, m.TieSlots
					poolKey = fmt.Sprintf("m%d:%s", m.ID, pool)
				} else {
					// Held: no grade and no 争先赛 bonus until the merged pool is graded again.
					ps.MergeStale, ps.TieSlots = true, 0
					for _, e := range entries {
						e.Breakdown.setBonuses(nil)
					}
					for i, o := range g.Outcomes {
						if o.Status != StatusMissing {
							g.Outcomes[i].Grade, g.Outcomes[i].Status = "", StatusMergeStale
						}
					}
				}
			}
		}
		for i, gr := range Grades() {
			ps.Counts[gr] = g.Counts[i]
		}
		for _, id := range g.Tie {
			ps.Tie = append(ps.Tie, TiePerson{PersonID: id, Name: names[id]})
		}
		sum.Pools = append(sum.Pools, ps)
		byID := map[int64]*PoolEntry{}
		for _, e := range entries {
			byID[e.PersonID] = e
		}
		for _, o := range g.Outcomes {
			b := byID[o.PersonID].Breakdown
			// A grade changed on review (复核) stands when the quarter is computed again after
			// a reopening: it is HR's recorded decision, not an input of the score.
			if grade, ok := reviewed[o.PersonID]; ok && o.Grade != "" && grade != o.Grade {
				ps.Counts[o.Grade]--
				ps.Counts[grade]++
				o.Grade, o.Status = grade, StatusReviewed
			}
			if buf, err = b.appendJSON(buf[:0]); err != nil {
				return sum, err
			}
			rows = append(rows, []any{c.id, o.PersonID, c.orgID, pool, poolKey, b.Composite, int64(o.Rank),
				string(o.BandGrade), string(o.Grade), string(o.Status), string(buf), now})
		}
	}
	if err := tx.DB().Dialect.CopyRows(ctx, tx, "ap_results", []string{"cycle_id", "person_id", "org_id", "pool", "pool_key",
		"composite", "rank", "band_grade", "grade", "status", "breakdown", "computed_at"}, rows); err != nil {
		return sum, err
	}
	sum.UniformRaters = UniformRaters(pol, raters)
	data, err := json.Marshal(sum)
	if err != nil {
		return sum, err
	}
	_, err = tx.Exec(ctx, `UPDATE ap_cycles SET summary = ?, computed_at = ? WHERE id = ?`, string(data), now, c.id)
	return sum, err
}

// changedOnReview is the grades a cycle's answered reviews changed, by person.
func changedOnReview(ctx context.Context, q querier, cycleID int64) (map[int64]Grade, error) {
	rows, err := q.Query(ctx, `SELECT person_id, new_grade FROM ap_reviews WHERE cycle_id = ? AND state = ?`, cycleID, ReviewChanged)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]Grade{}
	for rows.Next() {
		var id int64
		var g Grade
		if err := rows.Scan(&id, &g); err != nil {
			return nil, err
		}
		out[id] = g
	}
	return out, rows.Err()
}

func tieDecisions(ctx context.Context, q querier, cycleID int64) (map[int64]bool, error) {
	rows, err := q.Query(ctx, `SELECT person_id, wins FROM ap_tie_decisions WHERE cycle_id = ?`, cycleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		var wins bool
		if err := rows.Scan(&id, &wins); err != nil {
			return nil, err
		}
		out[id] = wins
	}
	return out, rows.Err()
}

// ResultFilter narrows a cycle's results.
type ResultFilter struct {
	CycleID  int64
	Pool     string
	PersonID int64
}

// Results lists a cycle's results, pool by pool, best first.
func (s *Service) Results(ctx context.Context, p *auth.Principal, f ResultFilter) ([]Result, error) {
	var out []Result
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermView, f.CycleID)
		if err != nil {
			return err
		}
		cond, args := p.Scope(PermView).Where("o.path", "")
		cond += " AND r.cycle_id = ?"
		args = append(args, c.id)
		if f.Pool != "" {
			if f.Pool != PoolLeader && f.Pool != PoolStaff {
				return errs.Invalid("pool", "评定池应为 leader 或 staff")
			}
			cond += " AND r.pool = ?"
			args = append(args, f.Pool)
		}
		if f.PersonID != 0 {
			cond += " AND r.person_id = ?"
			args = append(args, f.PersonID)
		}
		rows, err := tx.Query(ctx, `SELECT r.person_id, pe.name, r.pool, r.composite, r.rank, r.band_grade, r.grade, r.status,
				r.breakdown, COALESCE(d.reason, ''), r.pool_key
			FROM ap_results r JOIN orgs o ON o.id = r.org_id JOIN people pe ON pe.id = r.person_id
			LEFT JOIN ap_tie_decisions d ON d.cycle_id = r.cycle_id AND d.person_id = r.person_id
			WHERE `+cond+` ORDER BY r.pool, r.rank = 0, r.rank, r.person_id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r Result
			var breakdown, reason, poolKey string
			if err := rows.Scan(&r.PersonID, &r.Name, &r.Pool, &r.Composite, &r.Rank, &r.BandGrade, &r.Grade, &r.Status,
				&breakdown, &reason, &poolKey); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(breakdown), &r.Breakdown); err != nil {
				return fmt.Errorf("appraisal: breakdown of %d in cycle %d: %w", r.PersonID, c.id, err)
			}
			r.Merged = mergedKey(poolKey)
			r.PoolLabel, r.Score, r.StatusLabel = PoolLabel(r.Pool), FormatScore(r.Composite), r.Status.label(r.Merged)
			if r.Status == StatusTieWon || r.Status == StatusTieLost {
				r.TieReason = reason
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// TieInput is HR's decision of a tie at the quota's edge: who of the tied gets 好, and why.
type TieInput struct {
	Pool    string  `json:"pool"`
	Winners []int64 `json:"winners"`
	Reason  string  `json:"reason"`
}

// DecideTie records HR's decision of a pool's pending tie and grades the cycle again.
func (s *Service) DecideTie(ctx context.Context, p *auth.Principal, cycleID int64, in TieInput) (Summary, error) {
	var out Summary
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		if err := lockResults(ctx, tx, c.id); err != nil { // the summary read next must be the latest
			return err
		}
		if err := c.open(ctx, tx, StepHR, "决定并列等次"); err != nil {
			return err
		}
		var raw string
		if err := tx.QueryRow(ctx, `SELECT summary FROM ap_cycles WHERE id = ?`, c.id).Scan(&raw); err != nil {
			return err
		}
		var sum Summary
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &sum); err != nil {
				return err
			}
		}
		i := slices.IndexFunc(sum.Pools, func(ps PoolSummary) bool { return ps.Pool == in.Pool })
		if i < 0 || len(sum.Pools[i].Tie) == 0 {
			return errs.Conflict("该评定池没有待决定的并列")
		}
		pool := sum.Pools[i]
		if pool.Merge != nil {
			return errs.Conflict("%s评定池已与%s合并评定，并列由%s决定", pool.Label, pool.Merge.UnitNames(), pool.Merge.OrgName)
		}
		reason, err := text("reason", "决定理由", in.Reason, 500, true)
		if err != nil {
			return err
		}
		tied := map[int64]bool{}
		for _, t := range pool.Tie {
			tied[t.PersonID] = true
		}
		winners := map[int64]bool{}
		for _, w := range in.Winners {
			if !tied[w] {
				return errs.Invalid("winners", "只能从并列人员中选定")
			}
			winners[w] = true
		}
		if len(winners) != pool.TieSlots {
			return errs.Invalid("winners", "并列人员中应有 %d 人评为好，已选 %d 人", pool.TieSlots, len(winners))
		}
		now := store.FormatTime(tx.Now())
		for _, t := range pool.Tie {
			if _, err := tx.Exec(ctx, `DELETE FROM ap_tie_decisions WHERE cycle_id = ? AND person_id = ?`, c.id, t.PersonID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ap_tie_decisions (cycle_id, person_id, wins, reason, decided_by, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, c.id, t.PersonID, winners[t.PersonID], reason, p.Username, now); err != nil {
				return err
			}
		}
		// Decisions of an earlier tie in the pool no longer apply.
		if _, err := tx.Exec(ctx, `DELETE FROM ap_tie_decisions WHERE cycle_id = ? AND person_id IN
			(SELECT person_id FROM ap_appraisees WHERE cycle_id = ? AND pool = ?) AND created_at <> ?`, c.id, c.id, in.Pool, now); err != nil {
			return err
		}
		if out, err = compute(ctx, tx, c); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.tie_decide", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"pool": in.Pool, "tie": pool.Tie, "winners": in.Winners, "reason": reason}})
	})
	return out, err
}

// Count is how many of the pool have grade g (for pages).
func (ps PoolSummary) Count(g string) int { return ps.Counts[Grade(g)] }

// SpreadText is the pool's spread as shown.
func (ps PoolSummary) SpreadText() string { return FormatScore(ps.Spread) }

// SpreadText is the rater's spread as shown.
func (u UniformRater) SpreadText() string { return FormatScore(u.Spread) }

// DimText is the score of dimension i (0 德 … 4 廉) as shown.
func (r Result) DimText(i int) string {
	if i < 0 || i >= int(dimCount) {
		return ""
	}
	return FormatScore(r.Breakdown.Dimensions[i])
}

// AdjustText is everything added to or taken from the base score, as shown: the add/deduct
// list, the 争先赛 bonuses and the negative-list deductions.
func (r Result) AdjustText() string {
	b := r.Breakdown
	n := b.AdjustTotal + b.BonusTotal - b.Deducted
	if n > 0 {
		return "+" + FormatScore(n)
	}
	return FormatScore(n)
}
