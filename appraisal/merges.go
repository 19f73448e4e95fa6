package appraisal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// MergeInput names the organisation above the small units (the district) and the quarter
// whose small pools it grades merged.
type MergeInput struct {
	OrgID   int64  `json:"org_id"`
	Quarter string `json:"quarter"`
}

// MergedUnit is one unit's part of a merged pool.
type MergedUnit struct {
	CycleID int64  `json:"cycle_id"`
	OrgID   int64  `json:"org_id"`
	OrgName string `json:"org_name"`
	Size    int    `json:"size"` // the unit's appraisees in the pool, graded or not
}

// MergedEntry is one person of a merged pool: the inputs of the grading (as the unit's
// computation gave them) and the outcome.
type MergedEntry struct {
	PersonID  int64  `json:"person_id"`
	Name      string `json:"name"`
	CycleID   int64  `json:"cycle_id"`
	OrgName   string `json:"org_name"`
	Composite int64  `json:"composite"`
	Ji        int64  `json:"ji"`
	De        int64  `json:"de"`
	Missing   bool   `json:"missing"`
	Rank      int    `json:"rank"`
	BandGrade Grade  `json:"band_grade"`
	Grade     Grade  `json:"grade"`
	Status    Status `json:"status"`
}

// MergedPool is a grading of the same pool of several small units as one.
type MergedPool struct {
	ID        int64         `json:"id"`
	OrgID     int64         `json:"org_id"`
	OrgName   string        `json:"org_name"`
	Quarter   string        `json:"quarter"`
	Pool      string        `json:"pool"`
	Label     string        `json:"label"`
	PolicyID  int64         `json:"policy_id"`
	Units     []MergedUnit  `json:"units"`
	Size      int           `json:"size"`  // graded people of all the units
	Slots     int           `json:"slots"` // 好 places, on the merged size
	Counts    map[Grade]int `json:"counts"`
	Tie       []TiePerson   `json:"tie"`
	TieSlots  int           `json:"tie_slots"`
	Spread    int64         `json:"spread"`
	Entries   []MergedEntry `json:"entries"` // best first, the ungraded last
	CreatedBy string        `json:"created_by"`
	CreatedAt string        `json:"created_at"`
}

// PoolMerge is what a unit's pool summary says of the merged pool it was graded in.
type PoolMerge struct {
	ID      int64    `json:"id"`
	OrgName string   `json:"org_name"` // who graded it
	Units   []string `json:"units"`    // every unit of the merged pool
	Size    int      `json:"size"`
	Slots   int      `json:"slots"`
}

// UnitNames lists the merged pool's units for pages.
func (m PoolMerge) UnitNames() string { return strings.Join(m.Units, "、") }

// MergePools grades, for a quarter, every small pool of the units below an organisation
// (the district) together with the same pool of the others: a unit's pool is small when the
// policy in force for it merges small units and it has fewer appraisees than the minimum.
// Every such unit must be at step 5; each is computed, its small pools graded merged, and
// computed again so that its results are the merged grading's.
func (s *Service) MergePools(ctx context.Context, p *auth.Principal, in MergeInput) ([]MergedPool, error) {
	var out []MergedPool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := allowedOrg(ctx, tx, p, PermManage, in.OrgID, "合并评定小单位")
		if err != nil {
			return err
		}
		q, err := ParseQuarter(in.Quarter)
		if err != nil {
			return err
		}
		if out, err = mergeAll(ctx, tx, p, o, q, ""); err != nil {
			return err
		}
		if len(out) == 0 {
			return errs.Conflict("%s下%s没有需要合并评定的小单位评定池", o.name, q.Label())
		}
		pools := map[string]any{}
		for _, m := range out {
			pools[m.Pool] = map[string]any{"merge_id": m.ID, "units": len(m.Units), "size": m.Size, "slots": m.Slots,
				"counts": m.Counts, "tie": len(m.Tie)}
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.merge", EntityType: "org", EntityID: o.id, OrgID: o.id,
			Summary: map[string]any{"quarter": q.String(), "pools": pools}})
	})
	return out, err
}

// MergedPools lists the merged gradings in force of an organisation's quarter.
func (s *Service) MergedPools(ctx context.Context, p *auth.Principal, orgID int64, quarter string) ([]MergedPool, error) {
	var out []MergedPool
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermView, orgID)
		if err != nil {
			return err
		}
		q, err := ParseQuarter(quarter)
		if err != nil {
			return err
		}
		for _, pool := range []string{PoolLeader, PoolStaff} {
			m, err := latestMergeOf(ctx, tx, o.id, q.String(), pool)
			if err != nil {
				return err
			}
			if m != nil {
				out = append(out, *m)
			}
		}
		return nil
	})
	return out, err
}

// MergeTieInput is the district's decision of a tie at a merged pool's edge: the
// organisation, quarter and pool of the merged grading (MergeID, when given, must be the one
// in force), who of the tied gets 好, and why.
type MergeTieInput struct {
	OrgID   int64   `json:"org_id"`
	Quarter string  `json:"quarter"`
	Pool    string  `json:"pool"`
	MergeID int64   `json:"merge_id,omitempty"`
	Winners []int64 `json:"winners"`
	Reason  string  `json:"reason"`
}

// DecideMergedTie records the district's decision of a merged pool's tie at the quota's edge
// and grades the pool again.
func (s *Service) DecideMergedTie(ctx context.Context, p *auth.Principal, in MergeTieInput) (MergedPool, error) {
	var out MergedPool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := allowedOrg(ctx, tx, p, PermManage, in.OrgID, "决定合并评定的并列")
		if err != nil {
			return err
		}
		q, err := ParseQuarter(in.Quarter)
		if err != nil {
			return err
		}
		if in.Pool != PoolLeader && in.Pool != PoolStaff {
			return errs.Invalid("pool", "评定池应为 leader 或 staff")
		}
		orgID, quarter, pool := o.id, q.String(), in.Pool
		latest, err := latestMergeOf(ctx, tx, orgID, quarter, pool)
		if err != nil {
			return err
		}
		if latest == nil {
			return errs.Conflict("%s%s的%s评定池没有合并评定", o.name, q.Label(), PoolLabel(pool))
		}
		mergeID := latest.ID
		if in.MergeID != 0 && in.MergeID != mergeID {
			return errs.Conflict("该合并评定已被重新评定，请刷新后重试")
		}
		// Lock the members first, so that the grading read next is the latest.
		for _, u := range latest.Units {
			if err := lockResults(ctx, tx, u.CycleID); err != nil {
				return err
			}
		}
		if latest, err = latestMergeOf(ctx, tx, orgID, quarter, pool); err != nil {
			return err
		}
		if latest.ID != mergeID {
			return errs.Conflict("该合并评定已被重新评定，请刷新后重试")
		}
		if len(latest.Tie) == 0 {
			return errs.Conflict("该合并评定池没有待决定的并列")
		}
		reason, err := text("reason", "决定理由", in.Reason, 500, true)
		if err != nil {
			return err
		}
		tiedCycle := map[int64]int64{}
		for _, e := range latest.Entries {
			if e.Status == StatusTiePending {
				tiedCycle[e.PersonID] = e.CycleID
			}
		}
		winners := map[int64]bool{}
		for _, w := range in.Winners {
			if _, ok := tiedCycle[w]; !ok {
				return errs.Invalid("winners", "只能从并列人员中选定")
			}
			winners[w] = true
		}
		if len(winners) != latest.TieSlots {
			return errs.Invalid("winners", "并列人员中应有 %d 人评为好，已选 %d 人", latest.TieSlots, len(winners))
		}
		now := store.FormatTime(tx.Now())
		for _, e := range latest.Entries {
			// Decisions of an earlier tie in the pool no longer apply.
			if _, err := tx.Exec(ctx, `DELETE FROM ap_tie_decisions WHERE cycle_id = ? AND person_id = ?`, e.CycleID, e.PersonID); err != nil {
				return err
			}
		}
		for _, e := range latest.Entries {
			if e.Status != StatusTiePending {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ap_tie_decisions (cycle_id, person_id, wins, reason, decided_by, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, e.CycleID, e.PersonID, winners[e.PersonID], reason, p.Username, now); err != nil {
				return err
			}
		}
		ms, err := mergeAll(ctx, tx, p, o, q, pool)
		if err != nil {
			return err
		}
		if len(ms) != 1 {
			return errs.Conflict("%s评定池已不需要合并评定，请刷新后重试", PoolLabel(pool))
		}
		out = ms[0]
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.merge_tie_decide", EntityType: "org", EntityID: o.id, OrgID: o.id,
			Summary: map[string]any{"quarter": quarter, "pool": pool, "merge_id": mergeID, "new_merge_id": out.ID, "tie": latest.Tie,
				"winners": in.Winners, "reason": reason}})
	})
	return out, err
}

// mergeMember is a unit's cycle with a small pool.
type mergeMember struct {
	c     cycleRef
	eff   EffectivePolicy
	sizes map[string]int
}

// mergeAll grades merged every small pool (or only the one named) of the units below o in
// quarter q; it returns the new gradings, none when no unit has a small pool.
func mergeAll(ctx context.Context, tx *store.Tx, p *auth.Principal, o orgRef, q Quarter, only string) ([]MergedPool, error) {
	lo, hi := store.PathRange(o.path)
	cond, args := p.Scope(PermManage).Where("o.path", "")
	rows, err := tx.Query(ctx, `SELECT c.id, c.org_id, o.name, o.path FROM ap_cycles c JOIN orgs o ON o.id = c.org_id
		WHERE c.quarter = ? AND o.path >= ? AND o.path < ? AND o.id <> ? AND `+cond+` ORDER BY c.id`,
		append([]any{q.String(), lo, hi, o.id}, args...)...)
	if err != nil {
		return nil, err
	}
	var cycles []cycleRef
	for rows.Next() {
		c := cycleRef{quarter: q}
		if err := rows.Scan(&c.id, &c.orgID, &c.orgName, &c.path); err != nil {
			rows.Close()
			return nil, err
		}
		cycles = append(cycles, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var members []mergeMember
	for _, c := range cycles {
		eff, err := resolvePolicy(ctx, tx, orgRef{id: c.orgID, name: c.orgName, path: c.path}, q.Start(), true)
		if err != nil {
			return nil, err
		}
		if !eff.Policy.MergeSmallUnits {
			continue
		}
		sizes, err := poolSizes(ctx, tx, c.id)
		if err != nil {
			return nil, err
		}
		m := mergeMember{c: c, eff: eff, sizes: map[string]int{}}
		for pool, n := range sizes {
			if n > 0 && int64(n) < eff.Policy.MinPoolSize && (only == "" || pool == only) {
				m.sizes[pool] = n
			}
		}
		if len(m.sizes) > 0 {
			members = append(members, m)
		}
	}
	if len(members) == 0 {
		return nil, nil
	}
	// Lock every member as its own computation does (results, then the step), in cycle order.
	for i := range members {
		m := &members[i]
		if err := lockResults(ctx, tx, m.c.id); err != nil {
			return nil, err
		}
		if err := m.c.open(ctx, tx, StepHR, "合并评定"); err != nil {
			if e, ok := errors.AsType[*errs.Error](err); ok {
				return nil, errs.Conflict("%s：%s", m.c.orgName, e.Message)
			}
			return nil, err
		}
		if err := tx.QueryRow(ctx, `SELECT step FROM ap_cycles WHERE id = ?`, m.c.id).Scan(&m.c.step); err != nil {
			return nil, err
		}
		if m.c.step < StepHR {
			return nil, errs.Conflict("%s尚在第%d步“%s”，小单位须都进入第5步“%s”方可合并评定",
				m.c.orgName, m.c.step, StepName(m.c.step), StepName(StepHR))
		}
	}
	for _, m := range members {
		if _, err := compute(ctx, tx, m.c); err != nil {
			return nil, err
		}
	}
	var out []MergedPool
	for _, pool := range []string{PoolLeader, PoolStaff} {
		var in []mergeMember
		for _, m := range members {
			if m.sizes[pool] > 0 {
				in = append(in, m)
			}
		}
		if len(in) == 0 {
			continue
		}
		for _, m := range in[1:] {
			if m.eff.PolicyID != in[0].eff.PolicyID || m.eff.Source != in[0].eff.Source {
				return nil, errs.Conflict("%s与%s适用的考核政策不同，不能合并评定", m.c.orgName, in[0].c.orgName)
			}
		}
		mp, err := gradeMerged(ctx, tx, p, o, q, pool, in)
		if err != nil {
			return nil, err
		}
		out = append(out, mp)
	}
	// Each member computed again takes its small pools' grades from the merged gradings.
	for _, m := range members {
		if _, err := compute(ctx, tx, m.c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// gradeMerged grades one pool of the members together and stores the grading.
func gradeMerged(ctx context.Context, tx *store.Tx, p *auth.Principal, o orgRef, q Quarter, pool string, in []mergeMember) (MergedPool, error) {
	pol := in[0].eff.Policy
	mp := MergedPool{OrgID: o.id, OrgName: o.name, Quarter: q.String(), Pool: pool, Label: PoolLabel(pool), PolicyID: in[0].eff.PolicyID,
		Counts: map[Grade]int{}, Tie: []TiePerson{}, CreatedBy: p.Username, CreatedAt: store.FormatTime(tx.Now())}
	var entries []*PoolEntry
	info := map[int64]MergedEntry{}
	decisions := map[int64]bool{}
	for _, m := range in {
		mp.Units = append(mp.Units, MergedUnit{CycleID: m.c.id, OrgID: m.c.orgID, OrgName: m.c.orgName, Size: m.sizes[pool]})
		rows, err := tx.Query(ctx, `SELECT r.person_id, pe.name, r.breakdown FROM ap_results r JOIN people pe ON pe.id = r.person_id
			WHERE r.cycle_id = ? AND r.pool = ? ORDER BY r.person_id`, m.c.id, pool)
		if err != nil {
			return mp, err
		}
		for rows.Next() {
			e := &PoolEntry{}
			var name, raw string
			if err := rows.Scan(&e.PersonID, &name, &raw); err != nil {
				rows.Close()
				return mp, err
			}
			if err := json.Unmarshal([]byte(raw), &e.Breakdown); err != nil {
				rows.Close()
				return mp, fmt.Errorf("appraisal: breakdown of %d in cycle %d: %w", e.PersonID, m.c.id, err)
			}
			entries = append(entries, e)
			info[e.PersonID] = MergedEntry{PersonID: e.PersonID, Name: name, CycleID: m.c.id, OrgName: m.c.orgName,
				Composite: e.Breakdown.Composite, Ji: e.Breakdown.Dimensions[DimJi], De: e.Breakdown.Dimensions[DimDe], Missing: e.Breakdown.Missing}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return mp, err
		}
		d, err := tieDecisions(ctx, tx, m.c.id)
		if err != nil {
			return mp, err
		}
		for id, won := range d {
			decisions[id] = won
		}
	}
	g := GradePool(pol, entries, decisions)
	mp.Size, mp.Slots, mp.TieSlots, mp.Spread = g.Size, g.Slots, g.TieSlots, g.Spread
	for i, gr := range Grades() {
		mp.Counts[gr] = g.Counts[i]
	}
	for _, id := range g.Tie {
		mp.Tie = append(mp.Tie, TiePerson{PersonID: id, Name: info[id].Name})
	}
	for _, oc := range g.Outcomes {
		e := info[oc.PersonID]
		e.Rank, e.BandGrade, e.Grade, e.Status = oc.Rank, oc.BandGrade, oc.Grade, oc.Status
		mp.Entries = append(mp.Entries, e)
	}
	data, err := json.Marshal(mp)
	if err != nil {
		return mp, err
	}
	if mp.ID, err = tx.Insert(ctx, `INSERT INTO ap_pool_merges (org_id, quarter, pool, policy_id, grading, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, o.id, mp.Quarter, pool, mp.PolicyID, string(data), p.Username, mp.CreatedAt); err != nil {
		return mp, err
	}
	var vals []string
	var args []any
	for _, u := range mp.Units {
		vals = append(vals, "(?, ?)")
		args = append(args, mp.ID, u.CycleID)
	}
	_, err = tx.Exec(ctx, `INSERT INTO ap_pool_merge_members (merge_id, cycle_id) VALUES `+strings.Join(vals, ", "), args...)
	return mp, err
}

// poolSizes counts a cycle's appraisees by pool.
func poolSizes(ctx context.Context, q querier, cycleID int64) (map[string]int, error) {
	rows, err := q.Query(ctx, `SELECT pool, COUNT(*) FROM ap_appraisees WHERE cycle_id = ? GROUP BY pool`, cycleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var pool string
		var n int
		if err := rows.Scan(&pool, &n); err != nil {
			return nil, err
		}
		out[pool] = n
	}
	return out, rows.Err()
}

func readMerge(id int64, raw string) (*MergedPool, error) {
	var m MergedPool
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("appraisal: merged grading %d: %w", id, err)
	}
	m.ID = id
	return &m, nil
}

// latestMergeOf is the merged grading in force of an organisation's quarter and pool, if any.
func latestMergeOf(ctx context.Context, q querier, orgID int64, quarter, pool string) (*MergedPool, error) {
	var id int64
	var raw string
	err := q.QueryRow(ctx, `SELECT id, grading FROM ap_pool_merges WHERE org_id = ? AND quarter = ? AND pool = ?
		ORDER BY id DESC LIMIT 1`, orgID, quarter, pool).Scan(&id, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return readMerge(id, raw)
}

// cycleMerge is the merged grading in force that holds a cycle's pool, if any: the latest of
// its organisation, quarter and pool, when it names the cycle.
func cycleMerge(ctx context.Context, q querier, cycleID int64, pool string) (*MergedPool, error) {
	var id int64
	var raw string
	err := q.QueryRow(ctx, `SELECT m.id, m.grading FROM ap_pool_merges m JOIN ap_pool_merge_members mm ON mm.merge_id = m.id
		WHERE mm.cycle_id = ? AND m.pool = ? AND NOT EXISTS (SELECT 1 FROM ap_pool_merges n
			WHERE n.org_id = m.org_id AND n.quarter = m.quarter AND n.pool = m.pool AND n.id > m.id)
		ORDER BY m.id DESC LIMIT 1`, cycleID, pool).Scan(&id, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return readMerge(id, raw)
}

// outcomesFor returns the merged grading's outcomes of a cycle's pool when its entries are
// still those the grading was made from (same people, composite, 绩 and 德), else false.
func (m *MergedPool) outcomesFor(cycleID int64, entries []*PoolEntry) ([]Outcome, bool) {
	var out []Outcome
	byID := map[int64]*PoolEntry{}
	for _, e := range entries {
		byID[e.PersonID] = e
	}
	for _, me := range m.Entries {
		if me.CycleID != cycleID {
			continue
		}
		e, ok := byID[me.PersonID]
		if !ok || e.Breakdown.Composite != me.Composite || e.Breakdown.Dimensions[DimJi] != me.Ji ||
			e.Breakdown.Dimensions[DimDe] != me.De || e.Breakdown.Missing != me.Missing {
			return nil, false
		}
		out = append(out, Outcome{PersonID: me.PersonID, Rank: me.Rank, BandGrade: me.BandGrade, Grade: me.Grade, Status: me.Status})
	}
	return out, len(out) == len(entries)
}

// summary is what a unit's pool summary says of the grading.
func (m *MergedPool) summary() *PoolMerge {
	pm := &PoolMerge{ID: m.ID, OrgName: m.OrgName, Size: m.Size, Slots: m.Slots}
	for _, u := range m.Units {
		pm.Units = append(pm.Units, u.OrgName)
	}
	slices.Sort(pm.Units)
	return pm
}
