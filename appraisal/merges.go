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
	PersonID int64  `json:"person_id"`
	Name     string `json:"name"`
	CycleID  int64  `json:"cycle_id"`
	OrgName  string `json:"org_name"`
	// Scored, Dimensions and TargetDims are the person's inputs as the unit's computation
	// gave them, before the 争先赛: the merged grading was made from them, and stands while
	// they stay the same.
	Scored     int64     `json:"scored"`
	Dimensions DimValues `json:"dimensions"`
	TargetDims []Dim     `json:"target_dims"`
	// Bonuses are the 争先赛 bonuses earned in the merged pool; Composite is Scored with them.
	Bonuses   []Bonus `json:"bonuses"`
	Composite int64   `json:"composite"`
	Ji        int64   `json:"ji"`
	De        int64   `json:"de"`
	Missing   bool    `json:"missing"`
	Rank      int     `json:"rank"`
	BandGrade Grade   `json:"band_grade"`
	Grade     Grade   `json:"grade"`
	Status    Status  `json:"status"`
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
	// Stale: since the grading, the scores of StaleUnits changed (a rating, an entry, a
	// reopened quarter computed again). Its grades are held in every unit of it, and none
	// can confirm step 5, until the district grades the pool again.
	Stale      bool     `json:"stale"`
	StaleUnits []string `json:"stale_units"`
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
		var returned []cycleRef
		if out, returned, err = mergeAll(ctx, tx, p, o, q, ""); err != nil {
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
		summary := map[string]any{"quarter": q.String(), "pools": pools}
		if len(returned) > 0 {
			back := map[string]int64{}
			for _, c := range returned {
				back[c.orgName] = c.id
			}
			summary["returned_to_step_5"] = back
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.merge", EntityType: "org", EntityID: o.id, OrgID: o.id,
			Summary: summary})
	})
	return out, err
}

// orgQuarter loads an organisation the caller sees and reads a quarter, for the reads of a
// district's merged pools.
func orgQuarter(ctx context.Context, q querier, p *auth.Principal, orgID int64, quarter string) (orgRef, Quarter, error) {
	o, err := visibleOrg(ctx, q, p, PermView, orgID)
	if err != nil {
		return o, Quarter{}, err
	}
	qt, err := ParseQuarter(quarter)
	return o, qt, err
}

// MergedPools lists the merged gradings in force of an organisation's quarter.
func (s *Service) MergedPools(ctx context.Context, p *auth.Principal, orgID int64, quarter string) ([]MergedPool, error) {
	var out []MergedPool
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		o, q, err := orgQuarter(ctx, tx, p, orgID, quarter)
		if err != nil {
			return err
		}
		for _, pool := range []string{PoolLeader, PoolStaff} {
			m, err := mergeInForce(ctx, tx, o.id, q.String(), pool)
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

// SmallPool is a unit's pool that the policy in force merges with the same pool of the
// other small units, and where it stands.
type SmallPool struct {
	CycleID  int64  `json:"cycle_id"`
	OrgID    int64  `json:"org_id"`
	OrgName  string `json:"org_name"`
	Pool     string `json:"pool"`
	Label    string `json:"label"`
	Size     int    `json:"size"`
	Step     int    `json:"step"`
	StepName string `json:"step_name"`
	MergeID  int64  `json:"merge_id"` // the merged grading in force that holds it; 0 when none
	Stale    bool   `json:"stale"`    // that grading no longer holds: the scores changed since
}

// SmallPools lists the small pools of the units below an organisation in a quarter, unit by
// unit, with each unit's step and the merged grading that holds the pool.
func (s *Service) SmallPools(ctx context.Context, p *auth.Principal, orgID int64, quarter string) ([]SmallPool, error) {
	var out []SmallPool
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		o, q, err := orgQuarter(ctx, tx, p, orgID, quarter)
		if err != nil {
			return err
		}
		members, err := smallMembers(ctx, tx, p, PermView, o, q, "")
		if err != nil {
			return err
		}
		latest := map[string]*MergedPool{}
		for _, m := range members {
			for _, pool := range []string{PoolLeader, PoolStaff} {
				n := m.sizes[pool]
				if n == 0 {
					continue
				}
				if _, ok := latest[pool]; !ok {
					if latest[pool], err = mergeInForce(ctx, tx, o.id, q.String(), pool); err != nil {
						return err
					}
				}
				sp := SmallPool{CycleID: m.c.id, OrgID: m.c.orgID, OrgName: m.c.orgName, Pool: pool, Label: PoolLabel(pool), Size: n,
					Step: m.c.step, StepName: StepName(m.c.step)}
				if l := latest[pool]; l != nil && slices.ContainsFunc(l.Units, func(u MergedUnit) bool { return u.CycleID == m.c.id }) {
					sp.MergeID, sp.Stale = l.ID, l.Stale
				}
				out = append(out, sp)
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
		if latest, err = mergeInForce(ctx, tx, orgID, quarter, pool); err != nil {
			return err
		}
		if latest.ID != mergeID {
			return errs.Conflict("该合并评定已被重新评定，请刷新后重试")
		}
		if latest.Stale {
			return errs.Conflict("合并评定后%s的评分已有变化，该合并评定已失效：请先重新合并评定，再决定并列", latest.StaleUnitNames())
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
		ms, _, err := mergeAll(ctx, tx, p, o, q, pool)
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

// smallMembers lists the cycles below o in quarter q that the caller sees with perm and that
// have a small pool (only the one named, when only is not empty), in cycle order, with their
// steps.
func smallMembers(ctx context.Context, q querier, p *auth.Principal, perm auth.Permission, o orgRef, qt Quarter, only string) ([]mergeMember, error) {
	lo, hi := store.PathRange(o.path)
	cond, args := p.Scope(perm).Where("o.path", "")
	rows, err := q.Query(ctx, `SELECT c.id, c.org_id, o.name, o.path, c.step FROM ap_cycles c JOIN orgs o ON o.id = c.org_id
		WHERE c.quarter = ? AND o.path >= ? AND o.path < ? AND o.id <> ? AND `+cond+` ORDER BY c.id`,
		append([]any{qt.String(), lo, hi, o.id}, args...)...)
	if err != nil {
		return nil, err
	}
	var cycles []cycleRef
	for rows.Next() {
		c := cycleRef{quarter: qt}
		if err := rows.Scan(&c.id, &c.orgID, &c.orgName, &c.path, &c.step); err != nil {
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
		eff, err := resolvePolicy(ctx, q, orgRef{id: c.orgID, name: c.orgName, path: c.path}, qt.Start(), true)
		if err != nil {
			return nil, err
		}
		if !eff.Policy.MergeSmallUnits {
			continue
		}
		sizes, err := poolSizes(ctx, q, c.id)
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
	return members, nil
}

// mergePlan is one pool of the small units to grade merged.
type mergePlan struct {
	pool   string
	in     []mergeMember
	latest *MergedPool // the grading in force, if any
}

// mergeAll grades merged every small pool (or only the one named) of the units below o in
// quarter q; it returns the new gradings, none when no unit has a small pool.
//
// Every member of a pool to grade must be at step 5. A member that has confirmed step 5 on
// a grading that has since gone stale (another member's scores changed) is the one
// exception: the grading it confirmed no longer holds, so grading again returns it to step 5
// (its results unpublished, the return recorded as a reopening with the reason) and its HR
// confirms again. A filed member is never changed here: the district reopens it first. A
// pool whose grading in force is not stale is left as it is once any member has confirmed.
func mergeAll(ctx context.Context, tx *store.Tx, p *auth.Principal, o orgRef, q Quarter, only string) ([]MergedPool, []cycleRef, error) {
	members, err := smallMembers(ctx, tx, p, PermManage, o, q, only)
	if err != nil || len(members) == 0 {
		return nil, nil, err
	}
	// Lock every member as its own computation does (results, then the step), in cycle order;
	// the step alone, since a member may go back to step 5.
	for i := range members {
		m := &members[i]
		if err := lockResults(ctx, tx, m.c.id); err != nil {
			return nil, nil, err
		}
		if err := tx.DB().Dialect.Serialize(ctx, tx, cycleGate^m.c.id); err != nil {
			return nil, nil, err
		}
		if err := tx.QueryRow(ctx, `SELECT step FROM ap_cycles WHERE id = ?`, m.c.id).Scan(&m.c.step); err != nil {
			return nil, nil, err
		}
	}
	// Members still at step 5 are computed first, so that a change of their scores shows.
	for _, m := range members {
		if m.c.step == StepHR {
			if _, err := compute(ctx, tx, m.c); err != nil {
				return nil, nil, err
			}
		}
	}
	var plans []mergePlan
	var kept *cycleRef // a confirmed member of a pool left as it is
	back := map[int64]string{}
	for _, pool := range []string{PoolLeader, PoolStaff} {
		pl := mergePlan{pool: pool}
		for _, m := range members {
			if m.sizes[pool] > 0 {
				pl.in = append(pl.in, m)
			}
		}
		if len(pl.in) == 0 {
			continue
		}
		if pl.latest, err = latestMergeOf(ctx, tx, o.id, q.String(), pool); err != nil {
			return nil, nil, err
		}
		var past []mergeMember
		for _, m := range pl.in {
			if m.c.step > StepHR {
				past = append(past, m)
			}
		}
		if len(past) > 0 {
			var changed []string
			if pl.latest != nil {
				if changed, err = staleUnits(ctx, tx, pl.latest, pl.in, 0); err != nil {
					return nil, nil, err
				}
			}
			if len(changed) == 0 {
				if kept == nil {
					kept = &past[0].c
				}
				continue
			}
			for _, m := range past {
				if m.c.step >= StepFiled {
					return nil, nil, errs.Conflict("%s评定池的合并评定因%s评分变化已失效，但%s本季度考核已备案：须先批准重新开启该单位至第5步，方可重新合并评定",
						PoolLabel(pool), strings.Join(changed, "、"), m.c.orgName)
				}
				back[m.c.id] = fmt.Sprintf("%s评定池的合并评定因%s评分变化已失效，%s重新合并评定，结果退回第5步重新确认", PoolLabel(pool), strings.Join(changed, "、"), o.name)
			}
		}
		plans = append(plans, pl)
	}
	if len(plans) == 0 {
		if kept != nil {
			msg := "不能再合并评定"
			if e, ok := errors.AsType[*errs.Error](lockError(kept.step, StepHR, "合并评定")); ok {
				msg = e.Message
			}
			return nil, nil, errs.Conflict("%s：%s", kept.orgName, msg)
		}
		return nil, nil, nil
	}
	var returned []cycleRef
	for i := range members {
		m := &members[i]
		inPlan := false
		for _, pl := range plans {
			inPlan = inPlan || m.sizes[pl.pool] > 0
		}
		switch reason, ok := back[m.c.id]; {
		case ok:
			if err := backToHR(ctx, tx, p, m.c, reason); err != nil {
				return nil, nil, err
			}
			m.c.step = StepHR
			returned = append(returned, m.c)
			if _, err := compute(ctx, tx, m.c); err != nil {
				return nil, nil, err
			}
		case inPlan && m.c.step < StepHR:
			return nil, nil, errs.Conflict("%s尚在第%d步“%s”，小单位须都进入第5步“%s”方可合并评定",
				m.c.orgName, m.c.step, StepName(m.c.step), StepName(StepHR))
		}
	}
	var out []MergedPool
	for _, pl := range plans {
		var in []mergeMember
		for _, m := range members { // with their steps as they now are
			if m.sizes[pl.pool] > 0 {
				in = append(in, m)
			}
		}
		for _, m := range in[1:] {
			if m.eff.PolicyID != in[0].eff.PolicyID || m.eff.Source != in[0].eff.Source {
				return nil, nil, errs.Conflict("%s与%s适用的考核政策不同，不能合并评定", m.c.orgName, in[0].c.orgName)
			}
		}
		mp, err := gradeMerged(ctx, tx, p, o, q, pl.pool, in)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, mp)
	}
	// Each member at step 5 computed again takes its small pools' grades (and 争先赛 bonuses)
	// from the merged gradings.
	for _, m := range members {
		if m.c.step == StepHR {
			if _, err := compute(ctx, tx, m.c); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, returned, nil
}

// backToHR returns a cycle that confirmed step 5 on a merged grading since gone stale to
// step 5: its results are no longer published, steps 5 on are open again, and the return is
// on record with the reopenings.
func backToHR(ctx context.Context, tx *store.Tx, p *auth.Principal, c cycleRef, reason string) error {
	if _, err := tx.Exec(ctx, `UPDATE ap_cycles SET step = ?, published_at = NULL, review_until = NULL WHERE id = ?`, StepHR, c.id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE ap_cycle_steps SET closed_at = NULL, closed_by = '' WHERE cycle_id = ? AND step >= ?`, c.id, StepHR); err != nil {
		return err
	}
	_, err := tx.Insert(ctx, `INSERT INTO ap_reopens (cycle_id, org_id, to_step, reason, approved_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.id, c.orgID, StepHR, reason, p.Username, store.FormatTime(tx.Now()))
	return err
}

// sameInputs reports whether a person's breakdown is still what a merged grading was made
// from: the score before the 争先赛, the dimension scores it is run on and the dimensions
// with assessed tasks.
func (me MergedEntry) sameInputs(b Breakdown) bool {
	return me.Scored == b.Scored() && me.Dimensions == b.Dimensions && me.Missing == b.Missing &&
		slices.Equal(me.TargetDims, b.TargetDims)
}

// staleUnits names the units of a merged grading whose people or scores in the pool, as
// their results stand, are no longer those it was made from (but for the cycle skip); in,
// when given, are the units with the small pool now, and a unit that joined or left counts
// as changed too.
func staleUnits(ctx context.Context, q querier, m *MergedPool, in []mergeMember, skip int64) ([]string, error) {
	var out []string
	graded := map[int64]bool{}
	for _, u := range m.Units {
		graded[u.CycleID] = true
		if u.CycleID == skip {
			continue
		}
		entries, err := poolResults(ctx, q, u.CycleID, m.Pool)
		if err != nil {
			return nil, err
		}
		n := 0
		same := true
		for _, me := range m.Entries {
			if me.CycleID != u.CycleID {
				continue
			}
			n++
			b, ok := entries[me.PersonID]
			same = same && ok && me.sameInputs(b)
		}
		if !same || n != len(entries) {
			out = append(out, u.OrgName)
		}
	}
	for _, mm := range in {
		if !graded[mm.c.id] {
			out = append(out, mm.c.orgName)
		}
	}
	if in != nil {
		for _, u := range m.Units {
			if !slices.ContainsFunc(in, func(mm mergeMember) bool { return mm.c.id == u.CycleID }) && !slices.Contains(out, u.OrgName) {
				out = append(out, u.OrgName)
			}
		}
	}
	return out, nil
}

// poolResults are the breakdowns of a cycle's pool as last computed, by person.
func poolResults(ctx context.Context, q querier, cycleID int64, pool string) (map[int64]Breakdown, error) {
	rows, err := q.Query(ctx, `SELECT person_id, breakdown FROM ap_results WHERE cycle_id = ? AND pool = ?`, cycleID, pool)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]Breakdown{}
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		var b Breakdown
		if err := json.Unmarshal([]byte(raw), &b); err != nil {
			return nil, fmt.Errorf("appraisal: breakdown of %d in cycle %d: %w", id, cycleID, err)
		}
		out[id] = b
	}
	return out, rows.Err()
}

// gradeMerged grades one pool of the members together and stores the grading: the 争先赛
// is run over the merged pool (the top share of all its people on each dimension), then the
// pool is graded on the composites it gives.
func gradeMerged(ctx context.Context, tx *store.Tx, p *auth.Principal, o orgRef, q Quarter, pool string, in []mergeMember) (MergedPool, error) {
	pol := in[0].eff.Policy
	mp := MergedPool{OrgID: o.id, OrgName: o.name, Quarter: q.String(), Pool: pool, Label: PoolLabel(pool), PolicyID: in[0].eff.PolicyID,
		Counts: map[Grade]int{}, Tie: []TiePerson{}, CreatedBy: p.Username, CreatedAt: store.FormatTime(tx.Now()), StaleUnits: []string{}}
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
			// The unit's own 争先赛 gives way to the merged pool's.
			e.Breakdown.setBonuses(nil)
			entries = append(entries, e)
			info[e.PersonID] = MergedEntry{PersonID: e.PersonID, Name: name, CycleID: m.c.id, OrgName: m.c.orgName,
				Scored: e.Breakdown.Composite, Dimensions: e.Breakdown.Dimensions, TargetDims: e.Breakdown.TargetDims,
				Ji: e.Breakdown.Dimensions[DimJi], De: e.Breakdown.Dimensions[DimDe], Missing: e.Breakdown.Missing}
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
	AwardContest(pol, entries)
	byID := map[int64]*PoolEntry{}
	for _, e := range entries {
		byID[e.PersonID] = e
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
		b := byID[oc.PersonID].Breakdown
		e.Bonuses, e.Composite = b.Bonuses, b.Composite
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

// mergedKey reports whether a result's pool key is a merged pool's (m<id>:<pool>).
func mergedKey(poolKey string) bool { return strings.HasPrefix(poolKey, "m") }

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

// mergeInForce is latestMergeOf with whether it is stale, and why.
func mergeInForce(ctx context.Context, q querier, orgID int64, quarter, pool string) (*MergedPool, error) {
	m, err := latestMergeOf(ctx, q, orgID, quarter, pool)
	if err != nil || m == nil {
		return m, err
	}
	if m.StaleUnits, err = staleUnits(ctx, q, m, nil, 0); err != nil {
		return nil, err
	}
	m.Stale = len(m.StaleUnits) > 0
	return m, nil
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

// applyTo gives a cycle's pool the merged grading's outcomes and 争先赛 bonuses when its
// entries are still those the grading was made from; else it changes nothing and is false.
func (m *MergedPool) applyTo(cycleID int64, entries []*PoolEntry) ([]Outcome, bool) {
	var out []Outcome
	byID := map[int64]*PoolEntry{}
	for _, e := range entries {
		byID[e.PersonID] = e
	}
	var mine []MergedEntry
	for _, me := range m.Entries {
		if me.CycleID != cycleID {
			continue
		}
		if e, ok := byID[me.PersonID]; !ok || !me.sameInputs(e.Breakdown) {
			return nil, false
		}
		mine = append(mine, me)
	}
	if len(mine) != len(entries) {
		return nil, false
	}
	for _, me := range mine {
		byID[me.PersonID].Breakdown.setBonuses(me.Bonuses)
		out = append(out, Outcome{PersonID: me.PersonID, Rank: me.Rank, BandGrade: me.BandGrade, Grade: me.Grade, Status: me.Status})
	}
	return out, true
}

// markStaleMerges flags, as a cycle's summary is read, the pools taken from a merged grading
// that has gone stale since the summary was computed (another unit's scores changed after
// it), so that the unit is told why its grades no longer hold, confirmed or not.
func markStaleMerges(ctx context.Context, q querier, cycleID int64, sum *Summary) error {
	for i := range sum.Pools {
		ps := &sum.Pools[i]
		if ps.Merge == nil || ps.MergeStale {
			continue
		}
		m, err := cycleMerge(ctx, q, cycleID, ps.Pool)
		if err != nil {
			return err
		}
		if m == nil || m.ID != ps.Merge.ID {
			continue // graded again since: the unit computes again to take it
		}
		if ps.StaleUnits, err = staleUnits(ctx, q, m, nil, 0); err != nil {
			return err
		}
		ps.MergeStale = len(ps.StaleUnits) > 0
	}
	return nil
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
