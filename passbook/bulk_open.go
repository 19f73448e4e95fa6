package passbook

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// maxBulkOpen bounds one OpenPassbooks call: a county's members at most, so that the one
// transaction stays within memory.
const maxBulkOpen = 2_000_000

// OpenPassbooks opens many passbooks in one transaction, as OpenPassbook opens one: each
// person live and kept by the caller (passbook.manage), each community in the caller's manage
// scope, a number assigned when not given (the community's prefix and the next sequence
// numbers), both accounts opened at zero, the communities' own accounts made. Rows go in with
// the dialect's bulk path (COPY on PostgreSQL, one prepared insert on SQLite); one audit
// record covers the batch. A person or number already taken refuses the whole batch.
// It returns the number of passbooks opened.
func (s *Service) OpenPassbooks(ctx context.Context, p *auth.Principal, in []OpenInput) (int, error) {
	if len(in) == 0 {
		return 0, errs.Invalid("passbooks", "没有要开户的存折")
	}
	if len(in) > maxBulkOpen {
		return 0, errs.Invalid("passbooks", "一次最多开户 %d 本存折", maxBulkOpen)
	}
	rows := make([]OpenInput, len(in))
	for i, r := range in {
		r.Number, r.Class = strings.TrimSpace(r.Number), strings.TrimSpace(r.Class)
		switch {
		case r.Class == "":
			return 0, errs.Invalid("class", "第 %d 本：请填写存折类别，如 离退休党员", i+1)
		case utf8.RuneCountInString(r.Class) > 30 || utf8.RuneCountInString(r.Number) > 30:
			return 0, errs.Invalid("number", "第 %d 本：存折号和类别不能超过30个字", i+1)
		case r.OpenedOn != "":
			if _, err := time.Parse(store.DateLayout, r.OpenedOn); err != nil {
				return 0, errs.Invalid("opened_on", "第 %d 本：开户日期格式应为 YYYY-MM-DD", i+1)
			}
		}
		rows[i] = r
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		persons, err := bulkPersons(ctx, tx, rows)
		if err != nil {
			return err
		}
		orgs := map[int64]orgRef{}
		today := store.LocalDate(tx.Now())
		for i := range rows {
			r := &rows[i]
			pe, ok := persons[r.PersonID]
			if !ok || !p.Scope(PermManage).CoversPerson(r.PersonID, pe.path) {
				return errs.Invalid("person_id", "第 %d 本：人员不存在或已归档", i+1)
			}
			if r.OrgID == 0 {
				r.OrgID = pe.org
			}
			if _, ok := orgs[r.OrgID]; !ok {
				o, err := visibleOrg(ctx, tx, p, PermManage, r.OrgID)
				if err != nil {
					return err
				}
				orgs[r.OrgID] = o
			}
			if r.OpenedOn == "" {
				r.OpenedOn = today
			}
		}
		if err := assignNumbers(ctx, tx, rows, orgs); err != nil {
			return err
		}
		return insertPassbooks(ctx, tx, p, rows, orgs)
	})
	if err != nil {
		return 0, err
	}
	// A bulk posting looks passbooks up by number with their accounts: planned on guesses
	// about a million passbooks, each lookup read every account.
	s.db.RefreshStatistics(ctx, map[string]int{"pb_passbooks": len(rows), "pb_accounts": 2 * len(rows)})
	return len(rows), nil
}

type bulkPerson struct {
	org  int64
	path string
}

// bulkPersons reads the live people the rows name, with their organisation's path, a few
// hundred ids a query.
func bulkPersons(ctx context.Context, tx *store.Tx, rows []OpenInput) (map[int64]bulkPerson, error) {
	const chunk = 500
	out := make(map[int64]bulkPerson, len(rows))
	for lo := 0; lo < len(rows); lo += chunk {
		hi := min(lo+chunk, len(rows))
		args := make([]any, 0, hi-lo)
		for _, r := range rows[lo:hi] {
			args = append(args, r.PersonID)
		}
		q, err := tx.Query(ctx, `SELECT pe.id, pe.org_id, o.path FROM people pe JOIN orgs o ON o.id = pe.org_id
			WHERE pe.archived_at IS NULL AND pe.id IN (`+placeholders(len(args))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for q.Next() {
			var id int64
			var b bulkPerson
			if err := q.Scan(&id, &b.org, &b.path); err != nil {
				q.Close()
				return nil, err
			}
			out[id] = b
		}
		q.Close()
		if err := q.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// assignNumbers gives every row without a number the next of its community's sequence, as
// nextNumber would one at a time: the prefix, then the count of its passbooks so far plus one.
func assignNumbers(ctx context.Context, tx *store.Tx, rows []OpenInput, orgs map[int64]orgRef) error {
	next := map[int64]int{}
	prefix := map[int64]string{}
	for i := range rows {
		r := &rows[i]
		if r.Number != "" {
			continue
		}
		if _, ok := prefix[r.OrgID]; !ok {
			var code sql.NullString
			var n int
			if err := tx.QueryRow(ctx, `SELECT division_code, (SELECT COUNT(*) FROM pb_passbooks WHERE org_id = ?) FROM orgs WHERE id = ?`,
				r.OrgID, r.OrgID).Scan(&code, &n); err != nil {
				return err
			}
			prefix[r.OrgID] = fmt.Sprintf("P%d-", r.OrgID)
			if code.Valid && code.String != "" {
				prefix[r.OrgID] = code.String + "-"
			}
			next[r.OrgID] = n
		}
		next[r.OrgID]++
		r.Number = fmt.Sprintf("%s%04d", prefix[r.OrgID], next[r.OrgID])
	}
	return nil
}

// insertPassbooks writes the passbooks and their accounts with ids drawn beforehand, then the
// communities' accounts and the batch's audit record.
func insertPassbooks(ctx context.Context, tx *store.Tx, p *auth.Principal, rows []OpenInput, orgs map[int64]orgRef) error {
	dialect, n := tx.DB().Dialect, len(rows)
	ids, err := dialect.ReserveIDs(ctx, tx, "pb_passbooks", n)
	if err != nil {
		return err
	}
	now := store.FormatTime(tx.Now())
	err = dialect.CopyFunc(ctx, tx, "pb_passbooks", []string{"id", "org_id", "person_id", "number", "class", "state",
		"opened_on", "created_at", "updated_at"}, n, func(i int, v []any) {
		r := rows[i]
		v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8] = ids[i], r.OrgID, r.PersonID, r.Number, r.Class, StateActive, r.OpenedOn, now, now
	})
	if dialect.IsUniqueViolation(err) {
		return errs.Conflict("存折号已被使用，或有人在该组织已有存折")
	}
	if err != nil {
		return err
	}
	accIDs, err := dialect.ReserveIDs(ctx, tx, "pb_accounts", 2*n)
	if err != nil {
		return err
	}
	err = dialect.CopyFunc(ctx, tx, "pb_accounts", []string{"id", "org_id", "passbook_id", "kind", "asset", "balance"},
		2*n, func(i int, v []any) {
			r := rows[i/2]
			v[0], v[1], v[2], v[5] = accIDs[i], r.OrgID, ids[i/2], int64(0)
			if i%2 == 0 {
				v[3], v[4] = accHonor, string(Points)
			} else {
				v[3], v[4] = accDeposit, string(Fen)
			}
		})
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(orgs))
	for id, o := range orgs {
		if _, err := ensureOrgAccounts(ctx, tx, id); err != nil {
			return err
		}
		paths = append(paths, o.path)
	}
	return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.open_bulk", EntityType: "passbook",
		EntityID: ids[0], OrgID: commonAncestor(paths), Summary: map[string]any{"opened": n, "communities": len(orgs),
			"first_id": ids[0], "last_id": ids[n-1]}})
}
