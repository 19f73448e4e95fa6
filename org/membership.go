package org

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Membership is a post a person holds, or held, in an organisation: 党支部书记 of a branch,
// 主管领导 of an enterprise they are linked with, 组织人事干部 of a unit.
type Membership struct {
	ID        int64  `json:"id"`
	PersonID  int64  `json:"person_id"`
	OrgID     int64  `json:"org_id"`
	OrgName   string `json:"org_name"`
	Position  string `json:"position"`
	StartedOn string `json:"started_on"`
	EndedOn   string `json:"ended_on"` // empty while the post is held
}

// MembershipInput is a new post. StartedOn defaults to today.
type MembershipInput struct {
	PersonID  int64  `json:"person_id"`
	OrgID     int64  `json:"org_id"`
	Position  string `json:"position"`
	StartedOn string `json:"started_on"`
}

// Positions suggests common posts for the position field; any other text is allowed.
func Positions() []string {
	return []string{"党委书记", "党委副书记", "党总支书记", "党支部书记", "党支部副书记", "组织委员", "宣传委员",
		"纪检委员", "村(社区)党组织书记", "村(居)委会主任", "主管领导", "挂钩联系领导", "组织人事干部", "首席税收服务员"}
}

const maxPosition = 50

// AddMembership gives a person a post in an organisation. It needs people.manage over the
// person's home organisation and sight of the organisation of the post, which must be live.
func (s *Service) AddMembership(ctx context.Context, p *auth.Principal, in MembershipInput) (Membership, error) {
	var out Membership
	err := s.write(ctx, func(tx *store.Tx) error {
		m, err := validMembership(in, store.LocalDate(tx.Now()))
		if err != nil {
			return err
		}
		pe, err := manageablePerson(ctx, tx, p, m.PersonID, false)
		if err != nil {
			return err
		}
		target, err := postOrg(ctx, tx, p, m.OrgID)
		if err != nil {
			return err
		}
		if err := checkPostFree(ctx, tx, m); err != nil {
			return err
		}
		m.ID, err = tx.Insert(ctx, `INSERT INTO memberships (person_id, org_id, position, started_on, created_at)
			VALUES (?, ?, ?, ?, ?)`, m.PersonID, m.OrgID, m.Position, m.StartedOn, store.FormatTime(tx.Now()))
		if err != nil {
			return err
		}
		m.OrgName = target.Name
		out = m
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "person.membership_add", EntityType: "person", EntityID: pe.ID, OrgID: pe.OrgID,
			Summary: map[string]any{"membership_id": m.ID, "org_id": m.OrgID, "org_name": target.Name,
				"position": m.Position, "started_on": m.StartedOn},
		})
	})
	return out, err
}

// postOrg loads the organisation of a new post: live, and visible to the caller.
func postOrg(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64) (Org, error) {
	o, err := loadOrg(ctx, tx, id)
	switch {
	case errs.Is(err, errs.KindNotFound):
		return o, errs.Invalid("org_id", "任职组织不存在")
	case err != nil:
		return o, err
	case !p.Scope(auth.OrgView).Covers(o.Path):
		return o, errs.Invalid("org_id", "任职组织不存在")
	case o.Archived:
		return o, errs.Invalid("org_id", "任职组织已归档")
	}
	return o, nil
}

func validMembership(in MembershipInput, today string) (Membership, error) {
	m := Membership{PersonID: in.PersonID, OrgID: in.OrgID, StartedOn: today}
	var ps Problems
	if in.OrgID <= 0 {
		ps.add(errs.Invalid("org_id", "请选择任职组织"))
	}
	var err error
	m.Position, err = cleanText("position", "职务", in.Position, maxPosition)
	ps.add(err)
	if s := strings.TrimSpace(in.StartedOn); s != "" {
		if d, ok := parseDate(s); ok {
			m.StartedOn = d.Format(store.DateLayout)
		} else {
			ps.add(errs.Invalid("started_on", "任职日期格式应为YYYY-MM-DD"))
		}
	}
	return m, ps.orNil()
}

// checkPostFree refuses a second, concurrent holding of the same post by the same person.
func checkPostFree(ctx context.Context, tx *store.Tx, m Membership) error {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM memberships
		WHERE person_id = ? AND org_id = ? AND position = ? AND ended_on IS NULL`,
		m.PersonID, m.OrgID, m.Position).Scan(&n)
	if err == nil && n > 0 {
		err = errs.Conflict("该人员已在该组织担任%s", m.Position)
	}
	return err
}

// EndMembership ends a post on endedOn (YYYY-MM-DD; empty: today). It needs people.manage over
// the person's home organisation.
func (s *Service) EndMembership(ctx context.Context, p *auth.Principal, id int64, endedOn string) (Membership, error) {
	var out Membership
	err := s.write(ctx, func(tx *store.Tx) error {
		m, err := loadMembership(ctx, tx, id)
		if err != nil {
			return err
		}
		pe, err := manageablePerson(ctx, tx, p, m.PersonID, false)
		if errs.Is(err, errs.KindNotFound) {
			return errs.NotFound("任职记录不存在")
		}
		if err != nil {
			return err
		}
		if m.EndedOn != "" {
			return errs.Conflict("该任职已于%s结束", m.EndedOn)
		}
		if m.EndedOn, err = validEndDate(endedOn, m.StartedOn, store.LocalDate(tx.Now())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET ended_on = ? WHERE id = ?`, m.EndedOn, id); err != nil {
			return err
		}
		out = m
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "person.membership_end", EntityType: "person", EntityID: pe.ID, OrgID: pe.OrgID,
			Summary: map[string]any{"membership_id": id, "org_id": m.OrgID, "position": m.Position,
				"ended_on": m.EndedOn},
		})
	})
	return out, err
}

func validEndDate(s, started, today string) (string, error) {
	if s = strings.TrimSpace(s); s == "" {
		s = today
	}
	d, ok := parseDate(s)
	if !ok {
		return "", errs.Invalid("ended_on", "离任日期格式应为YYYY-MM-DD")
	}
	if s = d.Format(store.DateLayout); s < started {
		return "", errs.Invalid("ended_on", "离任日期早于任职日期%s", started)
	}
	return s, nil
}

const membershipColumns = `m.id, m.person_id, m.org_id, o.name, m.position, m.started_on, COALESCE(m.ended_on, '')`

func loadMembership(ctx context.Context, tx *store.Tx, id int64) (Membership, error) {
	var m Membership
	err := tx.QueryRow(ctx, `SELECT `+membershipColumns+` FROM memberships m JOIN orgs o ON o.id = m.org_id
		WHERE m.id = ?`, id).Scan(&m.ID, &m.PersonID, &m.OrgID, &m.OrgName, &m.Position, &m.StartedOn, &m.EndedOn)
	if errors.Is(err, sql.ErrNoRows) {
		return m, errs.NotFound("任职记录不存在")
	}
	return m, err
}

// membershipsOf lists a person's posts, current ones first, then by start date.
func membershipsOf(ctx context.Context, q querier, personID int64) ([]Membership, error) {
	rows, err := q.Query(ctx, `SELECT `+membershipColumns+` FROM memberships m JOIN orgs o ON o.id = m.org_id
		WHERE m.person_id = ? ORDER BY m.ended_on IS NOT NULL, m.started_on DESC, m.id DESC`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		var m Membership
		if err := rows.Scan(&m.ID, &m.PersonID, &m.OrgID, &m.OrgName, &m.Position, &m.StartedOn, &m.EndedOn); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// endPostsOf ends every post a person still holds, today (or on its start, for a post not yet
// begun), and says how many there were.
func endPostsOf(ctx context.Context, tx *store.Tx, personID int64) (int64, error) {
	today := store.LocalDate(tx.Now())
	res, err := tx.Exec(ctx, `UPDATE memberships SET ended_on = CASE WHEN started_on > ? THEN started_on ELSE ? END
		WHERE person_id = ? AND ended_on IS NULL`, today, today, personID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
