package org

import (
	"context"
	"fmt"

	"grassroots/errs"
	"grassroots/store"
)

var bulkPeopleColumns = []string{"org_id", "name", "gender", "id_number", "birth_date", "mobile",
	"political_status", "party_joined_on", "created_at", "updated_at"}

// InsertPeopleBulk loads validated people, then their categories, with the dialect's bulk
// path (COPY on PostgreSQL, one prepared INSERT stepped per row on SQLite), inside the
// caller's write transaction. It is the Excel import's last step and trusts the import for
// what a single CreatePerson checks: people.manage over each row's organisation, 身份证号
// unique within the batch and against the table (the unique index refuses a duplicate anyway,
// failing the whole batch), and one audit record for the import. It does check, holding the
// package's write lock, that no organisation was archived meanwhile.
//
// The database assigns the ids, as for any insert. Categories need them, so they are read back
// as the rows above the largest id seen before the load, matched by 身份证号: identity values
// only grow (the people sequence is not cached per session, PostgreSQL's default), so every
// new row is above that mark.
func InsertPeopleBulk(ctx context.Context, tx *store.Tx, rows []ValidPerson) error {
	if len(rows) == 0 {
		return nil
	}
	if err := tx.DB().Dialect.Serialize(ctx, tx, writeLock); err != nil {
		return err
	}
	if err := refuseArchivedOrgs(ctx, tx, rows); err != nil {
		return err
	}
	var mark int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM people`).Scan(&mark); err != nil {
		return err
	}
	now := store.FormatTime(tx.Now())
	data := make([][]any, len(rows))
	withCategories := 0
	for i, v := range rows {
		data[i] = []any{v.OrgID, v.Name, v.Gender, v.IDNumber, v.BirthDate, v.Mobile, v.PoliticalStatus,
			nullable(v.PartyJoinedOn), now, now}
		withCategories += min(len(v.Categories), 1)
	}
	dialect := tx.DB().Dialect
	if err := dialect.CopyRows(ctx, tx, "people", bulkPeopleColumns, data); err != nil {
		return err
	}
	if withCategories == 0 {
		return nil
	}
	ids, err := newPeopleIDs(ctx, tx, mark)
	if err != nil {
		return err
	}
	var cats [][]any
	for _, v := range rows {
		id, ok := ids[v.IDNumber]
		if !ok {
			return fmt.Errorf("org: bulk insert: row %s not found above id %d", MaskIDNumber(v.IDNumber), mark)
		}
		for _, c := range v.Categories {
			cats = append(cats, []any{id, c})
		}
	}
	return dialect.CopyRows(ctx, tx, "person_categories", []string{"person_id", "category"}, cats)
}

// refuseArchivedOrgs checks, under the write lock, that no row goes to an organisation
// archived since the import looked; a missing organisation the foreign key refuses.
func refuseArchivedOrgs(ctx context.Context, tx *store.Tx, rows []ValidPerson) error {
	archived, err := tx.Query(ctx, `SELECT id, name FROM orgs WHERE archived_at IS NOT NULL`)
	if err != nil {
		return err
	}
	defer archived.Close()
	names := map[int64]string{}
	for archived.Next() {
		var id int64
		var name string
		if err := archived.Scan(&id, &name); err != nil {
			return err
		}
		names[id] = name
	}
	if err := archived.Err(); err != nil {
		return err
	}
	for _, v := range rows {
		if name, ok := names[v.OrgID]; ok {
			return errs.Conflict("组织“%s”已归档，不能导入人员", name)
		}
	}
	return nil
}

// newPeopleIDs maps 身份证号 to id for the people above mark.
func newPeopleIDs(ctx context.Context, tx *store.Tx, mark int64) (map[string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id, id_number FROM people WHERE id > ?`, mark)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]int64{}
	for rows.Next() {
		var id int64
		var number string
		if err := rows.Scan(&id, &number); err != nil {
			return nil, err
		}
		ids[number] = id
	}
	return ids, rows.Err()
}
