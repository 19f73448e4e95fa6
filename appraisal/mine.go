package appraisal

import (
	"context"

	"grassroots/auth"
	"grassroots/errs"
)

// MyCycle is a quarter the caller is appraised in, as their own page lists it.
type MyCycle struct {
	CycleID      int64  `json:"cycle_id"`
	OrgName      string `json:"org_name"`
	Quarter      string `json:"quarter"`
	QuarterLabel string `json:"quarter_label"`
	Pool         string `json:"pool"`
	PoolLabel    string `json:"pool_label"`
	Step         int    `json:"step"`
	StepName     string `json:"step_name"`
	Filed        bool   `json:"filed"`
	Deadline     string `json:"deadline"` // of the step under way
	Grade        Grade  `json:"grade"`    // once the results are published; "" before, or while held
}

// Appraised reports whether the caller has been appraised in any quarter, for the menu: a
// member who is no civil servant is not offered 我的考核. A failed read offers it; the page
// itself answers for what it shows.
func (s *Service) Appraised(ctx context.Context, p *auth.Principal) bool {
	if p.PersonID == 0 {
		return false
	}
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM ap_appraisees WHERE person_id = ? LIMIT 1) x`, p.PersonID).Scan(&n)
	return err != nil || n > 0
}

// MyCycles lists the quarters the caller is appraised in, latest first. An account without a
// person is appraised nowhere.
func (s *Service) MyCycles(ctx context.Context, p *auth.Principal) ([]MyCycle, error) {
	out := []MyCycle{}
	if p.PersonID == 0 {
		return out, nil
	}
	cond, args := p.Scope(PermSelf).Where("o.path", "a.person_id")
	rows, err := s.db.Query(ctx, `SELECT c.id, o.name, c.quarter, c.step, a.pool, COALESCE(st.deadline, ''),
			CASE WHEN c.published_at IS NULL THEN '' ELSE COALESCE(r.grade, '') END FROM ap_appraisees a
		JOIN ap_cycles c ON c.id = a.cycle_id JOIN orgs o ON o.id = c.org_id
		LEFT JOIN ap_cycle_steps st ON st.cycle_id = c.id AND st.step = c.step
		LEFT JOIN ap_results r ON r.cycle_id = c.id AND r.person_id = a.person_id
		WHERE a.person_id = ? AND `+cond+` ORDER BY c.quarter DESC, c.id DESC`, append([]any{p.PersonID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m MyCycle
		if err := rows.Scan(&m.CycleID, &m.OrgName, &m.Quarter, &m.Step, &m.Pool, &m.Deadline, &m.Grade); err != nil {
			return nil, err
		}
		if q, err := ParseQuarter(m.Quarter); err == nil {
			m.QuarterLabel = q.Label()
		}
		m.PoolLabel, m.StepName, m.Filed = PoolLabel(m.Pool), StepName(m.Step), m.Step >= StepFiled
		out = append(out, m)
	}
	return out, rows.Err()
}

// MyRatings are the caller's own ratings of a cycle's appraisees as a party (leader or hr),
// by person, so that a rating form shows what they gave before.
func (s *Service) MyRatings(ctx context.Context, p *auth.Principal, cycleID int64, party Party) (map[int64]DimValues, error) {
	perm := PermRate
	switch party {
	case PartyHR:
		perm = PermManage
	case PartyLeader:
	default:
		return nil, errs.Invalid("party", "评价方应为 leader（主管领导）或 hr（组织人事部门）")
	}
	out := map[int64]DimValues{}
	c, err := loadCycle(ctx, s.db, p, perm, cycleID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT ratee_id, de, neng, qin, ji, lian FROM ap_ratings
		WHERE cycle_id = ? AND party = ? AND rater_user_id = ?`, c.id, party.Key(), p.UserID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v DimValues
		if err := rows.Scan(&id, &v[DimDe], &v[DimNeng], &v[DimQin], &v[DimJi], &v[DimLian]); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}
