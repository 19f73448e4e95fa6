package org

import (
	"context"
	"slices"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Person is someone in the tree: a Party member, a cadre, a retiree, an enterprise contact.
// IDNumber and Mobile are in full only for callers who maintain the person (to edit them);
// everyone else, and every list, gets them masked.
type Person struct {
	ID              int64        `json:"id"`
	OrgID           int64        `json:"org_id"`
	OrgName         string       `json:"org_name"`
	OrgPath         string       `json:"org_path"`
	Name            string       `json:"name"`
	Gender          string       `json:"gender"`
	IDNumber        string       `json:"id_number"`
	BirthDate       string       `json:"birth_date"`
	Mobile          string       `json:"mobile"`
	PoliticalStatus string       `json:"political_status"`
	PartyJoinedOn   string       `json:"party_joined_on"`
	Categories      []string     `json:"categories"`
	Memberships     []Membership `json:"memberships,omitempty"` // GetPerson only
	Archived        bool         `json:"archived"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
}

// Masked is the person with the 身份证号 and mobile number partly hidden.
func (pe Person) Masked() Person {
	pe.IDNumber = MaskIDNumber(pe.IDNumber)
	pe.Mobile = MaskMobile(pe.Mobile)
	return pe
}

// CreatePerson adds a person to an organisation the caller maintains people in.
func (s *Service) CreatePerson(ctx context.Context, p *auth.Principal, in PersonInput) (Person, error) {
	var out Person
	err := s.write(ctx, func(tx *store.Tx) error {
		v, err := in.Validate(tx.Now())
		if err != nil {
			return err
		}
		if _, err := homeOrg(ctx, tx, p, v.OrgID); err != nil {
			return err
		}
		if err := checkIDNumber(ctx, tx, p, v.IDNumber, 0); err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		id, err := tx.Insert(ctx, `INSERT INTO people (org_id, name, gender, id_number, birth_date, mobile,
			political_status, party_joined_on, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.OrgID, v.Name, v.Gender, v.IDNumber, v.BirthDate, v.Mobile, v.PoliticalStatus,
			nullable(v.PartyJoinedOn), now, now)
		if err != nil {
			return err
		}
		if err := insertCategories(ctx, tx, id, v.Categories); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "person.create", EntityType: "person", EntityID: id, OrgID: v.OrgID, Summary: createSummary(v),
		}); err != nil {
			return err
		}
		out, err = loadPerson(ctx, tx, id)
		return err
	})
	return out, uniqueConflict(s.db, err, "身份证号已存在")
}

// createSummary is what the audit log keeps of a new person: personal numbers masked, since
// auditors need to know what changed, not the numbers themselves.
func createSummary(v ValidPerson) map[string]any {
	return map[string]any{"name": v.Name, "org_id": v.OrgID, "gender": v.Gender,
		"id_number": MaskIDNumber(v.IDNumber), "mobile": MaskMobile(v.Mobile),
		"political_status": v.PoliticalStatus, "party_joined_on": v.PartyJoinedOn, "categories": v.Categories}
}

// homeOrg loads the organisation a person is to belong to and checks that the caller maintains
// people there and that it is live.
func homeOrg(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64) (Org, error) {
	o, err := loadOrg(ctx, tx, id)
	if err == nil {
		err = allowAt(p, auth.PeopleManage, o.Path)
	}
	switch {
	case errs.Is(err, errs.KindNotFound):
		return o, errs.Invalid("org_id", "所属组织不存在")
	case err == nil && o.Archived:
		return o, errs.Invalid("org_id", "所属组织已归档")
	}
	return o, err
}

// checkIDNumber refuses a 身份证号 another person (archived or not) already has, naming that
// person only when the caller may see them.
func checkIDNumber(ctx context.Context, tx *store.Tx, p *auth.Principal, number string, self int64) error {
	rows, err := tx.Query(ctx, `SELECT `+personColumns+` FROM people pe JOIN orgs o ON o.id = pe.org_id
		WHERE pe.id_number = ? AND pe.id <> ?`, number, self)
	if err != nil {
		return err
	}
	found, err := scanPeople(rows)
	if err != nil || len(found) == 0 {
		return err
	}
	other := found[0]
	e := errs.Conflict("身份证号已存在")
	switch {
	case !p.Scope(auth.PeopleView).CoversPerson(other.ID, other.OrgPath):
	case other.Archived:
		e = errs.Conflict("身份证号已存在：%s（%s，已归档）", other.Name, other.OrgName)
	default:
		e = errs.Conflict("身份证号已存在：%s（%s）", other.Name, other.OrgName)
	}
	e.Field = "id_number"
	return e
}

// manageablePerson loads a person for a write: missing if the caller cannot see them,
// forbidden if they can but may not maintain them, refused if not in the wanted archived state.
func manageablePerson(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64, archived bool) (Person, error) {
	pe, err := loadPerson(ctx, tx, id)
	switch {
	case err != nil:
		return pe, err
	case !p.Scope(auth.PeopleView).CoversPerson(pe.ID, pe.OrgPath) && !p.Scope(auth.PeopleManage).CoversPerson(pe.ID, pe.OrgPath):
		return pe, errs.NotFound("人员不存在")
	case !p.Scope(auth.PeopleManage).CoversPerson(pe.ID, pe.OrgPath):
		return pe, errs.Forbidden("无权维护该人员信息")
	case pe.Archived && !archived:
		return pe, errs.Conflict("人员已归档，请先恢复")
	case !pe.Archived && archived:
		return pe, errs.Conflict("人员未归档")
	}
	return pe, nil
}

// UpdatePerson replaces a live person's fields with in; moving them to another organisation
// needs people.manage there too. An update that changes nothing writes nothing.
func (s *Service) UpdatePerson(ctx context.Context, p *auth.Principal, id int64, in PersonInput) (Person, error) {
	var out Person
	err := s.write(ctx, func(tx *store.Tx) error {
		old, err := manageablePerson(ctx, tx, p, id, false)
		if err != nil {
			return err
		}
		v, err := in.Validate(tx.Now())
		if err != nil {
			return err
		}
		c := personChanges(old, v)
		if len(c) == 0 {
			out = old
			return nil
		}
		if err := s.checkPersonUpdate(ctx, tx, p, old, v); err != nil {
			return err
		}
		if err := updatePerson(ctx, tx, id, v, !slices.Equal(old.Categories, v.Categories)); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "person.update", EntityType: "person", EntityID: id, OrgID: v.OrgID, Summary: c,
		}); err != nil {
			return err
		}
		out, err = loadPerson(ctx, tx, id)
		return err
	})
	return out, uniqueConflict(s.db, err, "身份证号已存在")
}

func (s *Service) checkPersonUpdate(ctx context.Context, tx *store.Tx, p *auth.Principal, old Person, v ValidPerson) error {
	if v.OrgID != old.OrgID {
		if _, err := homeOrg(ctx, tx, p, v.OrgID); err != nil {
			return err
		}
	}
	if v.IDNumber != old.IDNumber {
		return checkIDNumber(ctx, tx, p, v.IDNumber, old.ID)
	}
	return nil
}

// personChanges is the audit summary of an update, personal numbers masked.
func personChanges(old Person, v ValidPerson) changes {
	c := changes{}
	note(c, "org_id", old.OrgID, v.OrgID)
	note(c, "name", old.Name, v.Name)
	note(c, "gender", old.Gender, v.Gender)
	if old.IDNumber != v.IDNumber {
		c["id_number"] = [2]any{MaskIDNumber(old.IDNumber), MaskIDNumber(v.IDNumber)}
	}
	note(c, "birth_date", old.BirthDate, v.BirthDate)
	if old.Mobile != v.Mobile {
		c["mobile"] = [2]any{MaskMobile(old.Mobile), MaskMobile(v.Mobile)}
	}
	note(c, "political_status", old.PoliticalStatus, v.PoliticalStatus)
	note(c, "party_joined_on", old.PartyJoinedOn, v.PartyJoinedOn)
	if !slices.Equal(old.Categories, v.Categories) {
		c["categories"] = [2]any{old.Categories, v.Categories}
	}
	return c
}

// ArchivePerson retires a person who has left (moved away, died, left the Party's care): their
// record and history stay, and the posts they still held end today.
func (s *Service) ArchivePerson(ctx context.Context, p *auth.Principal, id int64) (Person, error) {
	return s.setPersonArchived(ctx, p, id, true)
}

// RestorePerson brings an archived person back into their organisation, which must be live.
func (s *Service) RestorePerson(ctx context.Context, p *auth.Principal, id int64) (Person, error) {
	return s.setPersonArchived(ctx, p, id, false)
}

func (s *Service) setPersonArchived(ctx context.Context, p *auth.Principal, id int64, archive bool) (Person, error) {
	var out Person
	err := s.write(ctx, func(tx *store.Tx) error {
		pe, err := manageablePerson(ctx, tx, p, id, !archive)
		if err != nil {
			return err
		}
		summary := map[string]any{"archived": [2]bool{!archive, archive}}
		var at any
		if archive {
			at = store.FormatTime(tx.Now())
			if summary["ended_memberships"], err = endPostsOf(ctx, tx, id); err != nil {
				return err
			}
		} else if _, err := homeOrg(ctx, tx, p, pe.OrgID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE people SET archived_at = ?, updated_at = ? WHERE id = ?`,
			at, store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		action := "person.restore"
		if archive {
			action = "person.archive"
		}
		if err := audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: action, EntityType: "person", EntityID: id, OrgID: pe.OrgID, Summary: summary,
		}); err != nil {
			return err
		}
		out, err = loadPerson(ctx, tx, id)
		return err
	})
	return out, err
}

// GetPerson loads a person the caller may see, with categories and posts, personal numbers
// masked unless the caller maintains the person. A member whose role is self-only sees their
// own record and nobody else's.
func (s *Service) GetPerson(ctx context.Context, p *auth.Principal, id int64) (Person, error) {
	var out Person
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		cond, args := p.Scope(auth.PeopleView).Where("o.path", "pe.id")
		rows, err := tx.Query(ctx, `SELECT `+personColumns+` FROM people pe JOIN orgs o ON o.id = pe.org_id
			WHERE pe.id = ? AND `+cond, append([]any{id}, args...)...)
		if err != nil {
			return err
		}
		found, err := scanPeople(rows)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return errs.NotFound("人员不存在")
		}
		if err := fillCategories(ctx, tx, found); err != nil {
			return err
		}
		out = found[0]
		if !p.Scope(auth.PeopleManage).CoversPerson(out.ID, out.OrgPath) {
			out = out.Masked()
		}
		out.Memberships, err = membershipsOf(ctx, tx, id)
		return err
	})
	return out, err
}

// FindPersonByIDNumber finds the person with a typed 身份证号 among those the caller reaches
// with perm, e.g. users.manage when opening an account for them. Numbers are masked unless the
// caller maintains the person.
func (s *Service) FindPersonByIDNumber(ctx context.Context, p *auth.Principal, perm auth.Permission, text string) (Person, error) {
	number, err := ValidateIDNumber(text, s.db.Now())
	if err != nil {
		return Person{}, err
	}
	cond, args := p.Scope(perm).Where("o.path", "pe.id")
	rows, err := s.db.Query(ctx, `SELECT `+personColumns+` FROM people pe JOIN orgs o ON o.id = pe.org_id
		WHERE pe.id_number = ? AND `+cond, append([]any{number.Number}, args...)...)
	if err != nil {
		return Person{}, err
	}
	found, err := scanPeople(rows)
	if err != nil {
		return Person{}, err
	}
	if len(found) == 0 {
		return Person{}, errs.Invalid("id_number", "您的权限范围内没有身份证号为 %s 的人员", MaskIDNumber(number.Number))
	}
	if !p.Scope(auth.PeopleManage).CoversPerson(found[0].ID, found[0].OrgPath) {
		return found[0].Masked(), nil
	}
	return found[0], nil
}
