package org

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"grassroots/errs"
	"grassroots/store"
)

// querier is what a transaction and the database share, so that one read helper serves inside
// a write and on the read pool.
type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

const orgColumns = `o.id, COALESCE(o.parent_id, 0), o.name, o.kind, COALESCE(o.division_code, ''),
	o.sort_order, o.path, o.depth, o.archived_at, o.created_at`

// orgCounts adds the live children and live people of each row: two index lookups a row, for
// short lists. Long lists (a subtree) select zeros in their place and count in Go.
const (
	orgCounts = `, (SELECT COUNT(*) FROM orgs c WHERE c.parent_id = o.id AND c.archived_at IS NULL),
	(SELECT COUNT(*) FROM people cp WHERE cp.org_id = o.id AND cp.archived_at IS NULL)`
	orgNoCounts = `, 0, 0`
)

func scanOrg(row interface{ Scan(...any) error }) (Org, error) {
	var o Org
	var archived sql.NullString
	var kind, created string // a plain string scans without reflection; subtrees scan thousands
	err := row.Scan(&o.ID, &o.ParentID, &o.Name, &kind, &o.DivisionCode, &o.SortOrder, &o.Path,
		&o.Depth, &archived, &created, &o.ChildCount, &o.PeopleCount)
	if err != nil {
		return o, err
	}
	o.Kind = Kind(kind)
	o.KindLabel = o.Kind.Label()
	if o.CreatedAt, err = store.ParseTime(created); err != nil {
		return o, err
	}
	if archived.Valid {
		o.Archived = true
		at, err := store.ParseTime(archived.String)
		if err != nil {
			return o, err
		}
		o.ArchivedAt = &at
	}
	return o, nil
}

// queryOrgs reads rows of orgColumns plus two counts. A subtree may be tens of thousands of
// rows, and growing one slice by append would copy it over and over; rows go into chunks of
// doubling size instead, copied once into the result.
func queryOrgs(ctx context.Context, q querier, query string, args ...any) ([]Org, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var full [][]Org
	chunk := make([]Org, 0, 16)
	n := 0
	for rows.Next() {
		if len(chunk) == cap(chunk) {
			full = append(full, chunk)
			chunk = make([]Org, 0, 2*cap(chunk))
		}
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		chunk = append(chunk, o)
		n++
	}
	if len(full) == 0 {
		return chunk, rows.Err()
	}
	out := make([]Org, 0, n)
	for _, c := range append(full, chunk) {
		out = append(out, c...)
	}
	return out, rows.Err()
}

// loadOrg reads one organisation by id without regard to scope: writers check the scope
// themselves, to tell forbidden from missing.
func loadOrg(ctx context.Context, q querier, id int64) (Org, error) {
	o, err := scanOrg(q.QueryRow(ctx, `SELECT `+orgColumns+orgCounts+` FROM orgs o WHERE o.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, errs.NotFound("组织不存在")
	}
	return o, err
}

// checkSiblingName refuses a name already used by a live sibling other than self.
func checkSiblingName(ctx context.Context, tx *store.Tx, parentID int64, name string, self int64) error {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM orgs
		WHERE COALESCE(parent_id, 0) = ? AND name = ? AND archived_at IS NULL AND id <> ?`,
		parentID, name, self).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return errs.Conflict("同级组织中已有同名组织")
	}
	return nil
}

// checkDivisionCode refuses a code already used by a live organisation other than self, naming
// it only when the caller may see it.
func checkDivisionCode(ctx context.Context, tx *store.Tx, code string, self int64, visible func(path string) bool) error {
	if code == "" {
		return nil
	}
	var name, path string
	err := tx.QueryRow(ctx, `SELECT name, path FROM orgs
		WHERE division_code = ? AND archived_at IS NULL AND id <> ?`, code, self).Scan(&name, &path)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case visible(path):
		return errs.Conflict("区划代码%s已被“%s”使用", code, name)
	}
	return errs.Conflict("区划代码%s已被其他组织使用", code)
}

// uniqueConflict turns a unique-index failure that slipped past the checks (two writers at
// once on PostgreSQL) into a conflict the user can act on.
func uniqueConflict(db *store.DB, err error, msg string) error {
	if err != nil && db.Dialect.IsUniqueViolation(err) {
		return &errs.Error{Kind: errs.KindConflict, Message: msg, Cause: err}
	}
	return err
}

const personColumns = `pe.id, pe.org_id, o.name, o.path, pe.name, pe.gender, pe.id_number, pe.birth_date,
	pe.mobile, pe.political_status, COALESCE(pe.party_joined_on, ''), pe.archived_at IS NOT NULL,
	pe.created_at, pe.updated_at`

// scanPeople reads rows of personColumns and closes them.
func scanPeople(rows *sql.Rows) ([]Person, error) {
	defer rows.Close()
	var out []Person
	for rows.Next() {
		var pe Person
		var created, updated string
		err := rows.Scan(&pe.ID, &pe.OrgID, &pe.OrgName, &pe.OrgPath, &pe.Name, &pe.Gender, &pe.IDNumber,
			&pe.BirthDate, &pe.Mobile, &pe.PoliticalStatus, &pe.PartyJoinedOn, &pe.Archived, &created, &updated)
		if err != nil {
			return nil, err
		}
		if pe.CreatedAt, err = store.ParseTime(created); err != nil {
			return nil, err
		}
		if pe.UpdatedAt, err = store.ParseTime(updated); err != nil {
			return nil, err
		}
		pe.Categories = []string{}
		out = append(out, pe)
	}
	return out, rows.Err()
}

// loadPerson reads one person with categories, without regard to scope: writers check the
// scope themselves, to tell forbidden from missing.
func loadPerson(ctx context.Context, tx *store.Tx, id int64) (Person, error) {
	rows, err := tx.Query(ctx, `SELECT `+personColumns+` FROM people pe JOIN orgs o ON o.id = pe.org_id
		WHERE pe.id = ?`, id)
	if err != nil {
		return Person{}, err
	}
	found, err := scanPeople(rows)
	if err != nil {
		return Person{}, err
	}
	if len(found) == 0 {
		return Person{}, errs.NotFound("人员不存在")
	}
	err = fillCategories(ctx, tx, found)
	return found[0], err
}

// fillCategories loads the categories of a page of people in one query and puts them in the
// order of Categories().
func fillCategories(ctx context.Context, q querier, people []Person) error {
	if len(people) == 0 {
		return nil
	}
	index := make(map[int64]int, len(people))
	ids := make([]any, len(people))
	for i, pe := range people {
		index[pe.ID] = i
		ids[i] = pe.ID
	}
	rows, err := q.Query(ctx, `SELECT person_id, category FROM person_categories
		WHERE person_id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c string
		if err := rows.Scan(&id, &c); err != nil {
			return err
		}
		pe := &people[index[id]]
		pe.Categories = append(pe.Categories, c)
	}
	for i := range people {
		slices.SortFunc(people[i].Categories, func(a, b string) int {
			return slices.Index(categories, a) - slices.Index(categories, b)
		})
	}
	return rows.Err()
}

func insertCategories(ctx context.Context, tx *store.Tx, personID int64, cats []string) error {
	for _, c := range cats {
		if _, err := tx.Exec(ctx, `INSERT INTO person_categories (person_id, category) VALUES (?, ?)`, personID, c); err != nil {
			return err
		}
	}
	return nil
}

// updatePerson writes every field of v; categories are replaced only when they changed.
func updatePerson(ctx context.Context, tx *store.Tx, id int64, v ValidPerson, categoriesChanged bool) error {
	_, err := tx.Exec(ctx, `UPDATE people SET org_id = ?, name = ?, gender = ?, id_number = ?, birth_date = ?,
		mobile = ?, political_status = ?, party_joined_on = ?, updated_at = ? WHERE id = ?`,
		v.OrgID, v.Name, v.Gender, v.IDNumber, v.BirthDate, v.Mobile, v.PoliticalStatus,
		nullable(v.PartyJoinedOn), store.FormatTime(tx.Now()), id)
	if err != nil || !categoriesChanged {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM person_categories WHERE person_id = ?`, id); err != nil {
		return err
	}
	return insertCategories(ctx, tx, id, v.Categories)
}
