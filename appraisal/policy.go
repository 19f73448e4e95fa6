package appraisal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// PolicyInput sets an organisation's policy from a date. Setting it again for the same date
// replaces it, as long as that date has not come.
type PolicyInput struct {
	OrgID         int64  `json:"org_id"`
	EffectiveFrom string `json:"effective_from"`
	Policy        Policy `json:"policy"`
}

// PolicyVersion is a stored policy.
type PolicyVersion struct {
	ID            int64     `json:"id"`
	OrgID         int64     `json:"org_id"`
	OrgName       string    `json:"org_name"`
	EffectiveFrom string    `json:"effective_from"`
	Policy        Policy    `json:"policy"`
	CreatedBy     string    `json:"created_by"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Where a policy in force comes from.
const (
	SourceDefault   = "default"   // nobody above has set one: DefaultPolicy
	SourceInherited = "inherited" // the nearest organisation above that has set one (the district)
	SourceOwn       = "own"       // the organisation's own, where the district allows it
)

// EffectivePolicy is the policy in force for an organisation on a date and where it comes from.
type EffectivePolicy struct {
	Policy        Policy `json:"policy"`
	Source        string `json:"source"`
	PolicyID      int64  `json:"policy_id"` // 0 for the defaults
	SourceOrgID   int64  `json:"source_org_id"`
	SourceOrgName string `json:"source_org_name"`
	EffectiveFrom string `json:"effective_from"`
	// District is the policy of the organisation above (the defaults when none): what an
	// organisation's own policy may not loosen.
	District Policy `json:"-"`
}

// SetPolicy sets a district's policy, or a unit's own where the district in force on that
// date allows it, from a date.
func (s *Service) SetPolicy(ctx context.Context, p *auth.Principal, in PolicyInput) (PolicyVersion, error) {
	var out PolicyVersion
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := allowedOrg(ctx, tx, p, PermPolicy, in.OrgID, "制定考核政策")
		if err != nil {
			return err
		}
		from, err := validDate("effective_from", "生效日期", in.EffectiveFrom)
		if err != nil {
			return err
		}
		in.Policy.withWorkflowDefaults()
		if err := in.Policy.Validate(); err != nil {
			return err
		}
		above, err := resolvePolicy(ctx, tx, o, from, false)
		if err != nil {
			return err
		}
		if above.Source != SourceDefault {
			if !above.Policy.AllowUnitOverride {
				return errs.Forbidden("“%s”的考核政策不允许下级单位自定政策", above.SourceOrgName)
			}
			if err := in.Policy.ValidateOverride(above.Policy); err != nil {
				return err
			}
		}
		terms, err := json.Marshal(in.Policy)
		if err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		var id int64
		var old string
		err = tx.QueryRow(ctx, `SELECT id, terms FROM ap_policies WHERE org_id = ? AND effective_from = ?`, o.id, from).Scan(&id, &old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id, err = tx.Insert(ctx, `INSERT INTO ap_policies (org_id, effective_from, terms, created_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`, o.id, from, string(terms), p.Username, now, now)
		case err != nil:
		case from <= store.LocalDate(tx.Now()):
			return errs.Conflict("该政策已于%s生效，不能修改；请另定新的生效日期", from)
		default:
			_, err = tx.Exec(ctx, `UPDATE ap_policies SET terms = ?, created_by = ?, updated_at = ? WHERE id = ?`, string(terms), p.Username, now, id)
		}
		if err != nil {
			return err
		}
		out = PolicyVersion{ID: id, OrgID: o.id, OrgName: o.name, EffectiveFrom: from, Policy: in.Policy, CreatedBy: p.Username, UpdatedAt: tx.Now()}
		summary := map[string]any{"effective_from": from, "policy": in.Policy}
		if old != "" {
			summary["replaced"] = json.RawMessage(old)
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.policy", EntityType: "appraisal_policy",
			EntityID: id, OrgID: o.id, Summary: summary})
	})
	return out, err
}

// ListPolicies lists the policies an organisation has set, latest date first.
func (s *Service) ListPolicies(ctx context.Context, p *auth.Principal, orgID int64) ([]PolicyVersion, error) {
	var out []PolicyVersion
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermView, orgID)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, effective_from, terms, created_by, updated_at FROM ap_policies
			WHERE org_id = ? ORDER BY effective_from DESC, id DESC`, o.id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v := PolicyVersion{OrgID: o.id, OrgName: o.name}
			var terms, updated string
			if err := rows.Scan(&v.ID, &v.EffectiveFrom, &terms, &v.CreatedBy, &updated); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(terms), &v.Policy); err != nil {
				return fmt.Errorf("appraisal: policy %d: %w", v.ID, err)
			}
			v.Policy.withWorkflowDefaults()
			if v.UpdatedAt, err = store.ParseTime(updated); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// PolicyFor is the policy in force for an organisation in a quarter (on its first day).
func (s *Service) PolicyFor(ctx context.Context, p *auth.Principal, orgID int64, quarter string) (EffectivePolicy, error) {
	var out EffectivePolicy
	q, err := ParseQuarter(quarter)
	if err != nil {
		return out, err
	}
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermView, orgID)
		if err != nil {
			return err
		}
		out, err = resolvePolicy(ctx, tx, o, q.Start(), true)
		return err
	})
	return out, err
}

// resolvePolicy finds the policy in force for an organisation on a date: the latest one in
// force of the nearest organisation above that has one (the district), or the defaults;
// replaced by the organisation's own when own is asked for and the district allows it.
func resolvePolicy(ctx context.Context, q querier, o orgRef, date string, own bool) (EffectivePolicy, error) {
	ids := ancestorIDs(o.path)
	latest := map[int64]EffectivePolicy{}
	rows, err := q.Query(ctx, `SELECT p.id, p.org_id, g.name, p.effective_from, p.terms FROM ap_policies p
		JOIN orgs g ON g.id = p.org_id
		WHERE p.org_id IN (`+placeholders(len(ids))+`) AND p.effective_from <= ?
		ORDER BY p.effective_from DESC, p.id DESC`, append(int64Args(ids), date)...)
	if err != nil {
		return EffectivePolicy{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var e EffectivePolicy
		var terms string
		if err := rows.Scan(&e.PolicyID, &e.SourceOrgID, &e.SourceOrgName, &e.EffectiveFrom, &terms); err != nil {
			return e, err
		}
		if _, seen := latest[e.SourceOrgID]; seen {
			continue
		}
		if err := json.Unmarshal([]byte(terms), &e.Policy); err != nil {
			return e, fmt.Errorf("appraisal: policy %d: %w", e.PolicyID, err)
		}
		e.Policy.withWorkflowDefaults()
		latest[e.SourceOrgID] = e
	}
	if err := rows.Err(); err != nil {
		return EffectivePolicy{}, err
	}
	out := EffectivePolicy{Policy: DefaultPolicy, Source: SourceDefault}
	for i := len(ids) - 2; i >= 0; i-- {
		if e, ok := latest[ids[i]]; ok {
			out, out.Source = e, SourceInherited
			break
		}
	}
	out.District = out.Policy
	if mine, ok := latest[o.id]; own && ok && (out.Source == SourceDefault || out.Policy.AllowUnitOverride) {
		mine.Source, mine.District = SourceOwn, out.Policy
		return mine, nil
	}
	return out, nil
}
