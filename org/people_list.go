package org

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// PeopleFilter selects people for a list. Every condition narrows the caller's scope.
type PeopleFilter struct {
	OrgID           int64  // the organisation's whole subtree; 0: the whole scope
	Category        string // one of Categories()
	PoliticalStatus string // one of PoliticalStatuses()
	Query           string // part of the name
	IncludeArchived bool
	Limit           int   // page size: default 50, at most 200
	Cursor          int64 // the next cursor of the previous page; 0 for the first
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// ListPeople returns a page of the people the caller may see, in id order, categories filled,
// 身份证号 and mobile numbers masked, and the cursor of the next page (0 after the last). The
// page is one query with the scope and every filter in its WHERE clause, plus one query for
// the page's categories.
func (s *Service) ListPeople(ctx context.Context, p *auth.Principal, f PeopleFilter) ([]Person, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	var page []Person
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		w, err := peopleWhere(ctx, tx, p, f)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+personColumns+` FROM people pe JOIN orgs o ON o.id = pe.org_id
			WHERE pe.id IN (`+w.pageIDs()+`) ORDER BY pe.id`, append(w.args, limit+1)...)
		if err != nil {
			return err
		}
		if page, err = scanPeople(rows); err != nil {
			return err
		}
		for i := range page {
			page[i] = page[i].Masked()
		}
		return fillCategories(ctx, tx, page)
	})
	if err != nil || len(page) <= limit {
		return page, 0, err
	}
	return page[:limit], page[limit-1].ID, nil
}

// peopleCond is a people filter rendered as SQL over people pe joined to their home
// organisation o.
type peopleCond struct {
	cond string
	args []any
	// wholeTree: the scope and the filter cover every organisation there is, so that no
	// organisation condition was needed.
	wholeTree bool
}

// personID is how a query names pe.id where it sorts by it or joins on it. Over the whole
// tree that is plain pe.id: walking the primary key and stopping after a page is best. Within
// a subtree that walk can be a disaster: people are imported organisation by organisation, so
// a township's ids may all sit at the far end of the table, and PostgreSQL, assuming them
// spread evenly, would walk there; SQLite, grouping categories, would walk all of
// person_categories. "pe.id + 0" is served by no index, so both databases start from the
// subtree's organisations (orgs_path), take their live people's ids from people_org, and do
// work in proportion to the subtree, wherever its ids lie.
func (c peopleCond) personID() string {
	if c.wholeTree {
		return "pe.id"
	}
	return "pe.id + 0"
}

// pageIDs selects the ids of a page (its one argument, after the condition's, is the page
// size) from indexes alone; the page's rows are then read for just those ids.
func (c peopleCond) pageIDs() string {
	return `SELECT pe.id FROM ` + c.people() + ` WHERE ` + c.cond + ` ORDER BY ` + c.personID() + ` LIMIT ?`
}

// people is the FROM clause: the people and, unless they are everyone's, their organisations.
func (c peopleCond) people() string {
	if c.wholeTree {
		return "people pe"
	}
	return "people pe JOIN orgs o ON o.id = pe.org_id"
}

// peopleWhere renders the caller's scope and the filter.
func peopleWhere(ctx context.Context, q querier, p *auth.Principal, f PeopleFilter) (peopleCond, error) {
	var c peopleCond
	if err := c.place(ctx, q, p, f.OrgID); err != nil {
		return c, err
	}
	if !f.IncludeArchived {
		c.add("pe.archived_at IS NULL")
	}
	if cat := strings.TrimSpace(f.Category); cat != "" {
		if !slices.Contains(categories, cat) {
			return c, errs.Invalid("category", "未知的人员类别：%s", cat)
		}
		c.add("EXISTS (SELECT 1 FROM person_categories pc WHERE pc.person_id = pe.id AND pc.category = ?)", cat)
	}
	if st := strings.TrimSpace(f.PoliticalStatus); st != "" {
		if !slices.Contains(politicalStatuses, st) {
			return c, errs.Invalid("political_status", "未知的政治面貌：%s", st)
		}
		c.add("pe.political_status = ?", st)
	}
	if name := strings.TrimSpace(f.Query); name != "" {
		c.add(`pe.name LIKE ? ESCAPE '\'`, store.LikeContains(name))
	}
	if f.Cursor > 0 {
		c.add("pe.id > ?", f.Cursor)
	}
	if c.cond == "" {
		c.cond = "(1 = 1)"
	}
	return c, nil
}

func (c *peopleCond) add(cond string, args ...any) {
	if c.cond != "" {
		c.cond += " AND "
	}
	c.cond += cond
	c.args = append(c.args, args...)
}

// place confines the list to the caller's scope and, when orgID is not 0, to that
// organisation's subtree; or finds that together they are the whole tree, which needs no
// condition at all.
func (c *peopleCond) place(ctx context.Context, q querier, p *auth.Principal, orgID int64) error {
	scope := p.Scope(auth.PeopleView)
	var err error
	switch {
	case orgID != 0:
		var path string
		if path, err = visibleOrgPath(ctx, q, p, orgID); err != nil {
			return err
		}
		if scope.Covers(path) {
			c.wholeTree, err = rootsAmong(ctx, q, []string{path})
		}
		if !c.wholeTree {
			lo, hi := store.PathRange(path)
			c.add("o.path >= ? AND o.path < ?", lo, hi)
		}
	case scope.All:
		c.wholeTree = true
	default:
		c.wholeTree, err = rootsAmong(ctx, q, scope.Paths)
	}
	if err == nil && !c.wholeTree {
		cond, args := scope.Where("o.path", "pe.id")
		c.add(cond, args...)
	}
	return err
}

// rootsAmong reports whether every root of the tree is among paths, so that their subtrees
// are the whole tree and a condition on organisations would select everything.
func rootsAmong(ctx context.Context, q querier, paths []string) (bool, error) {
	rows, err := q.Query(ctx, `SELECT path FROM orgs WHERE parent_id IS NULL`)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var root string
		if err := rows.Scan(&root); err != nil {
			return false, err
		}
		if !slices.Contains(paths, root) {
			return false, nil
		}
	}
	return true, rows.Err()
}

// visibleOrgPath is the path of an organisation the caller may see, as an organisation or
// through the people in it.
func visibleOrgPath(ctx context.Context, q querier, p *auth.Principal, orgID int64) (string, error) {
	var path string
	err := q.QueryRow(ctx, `SELECT path FROM orgs WHERE id = ?`, orgID).Scan(&path)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", errs.NotFound("组织不存在")
	case err != nil:
		return "", err
	case !p.Scope(auth.OrgView).Covers(path) && !p.Scope(auth.PeopleView).Covers(path):
		return "", errs.NotFound("组织不存在")
	}
	return path, nil
}

// Count is one bar of a chart: a category, a kind.
type Count struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Count int    `json:"count"`
}

// Stats are the home dashboard's numbers for the caller's scope, or an organisation's subtree
// within it. Archived people and organisations are not counted.
type Stats struct {
	People       int     `json:"people"`
	PartyMembers int     `json:"party_members"` // 中共党员 and 中共预备党员
	ByCategory   []Count `json:"by_category"`   // every category, in order, zeros included
	OrgsByKind   []Count `json:"orgs_by_kind"`  // every kind, in order, zeros included
}

// Stats counts people, Party members, people by category and organisations by kind, each in
// one aggregate query in one snapshot.
func (s *Service) Stats(ctx context.Context, p *auth.Principal, orgID int64) (Stats, error) {
	var st Stats
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		w, err := peopleWhere(ctx, tx, p, PeopleFilter{OrgID: orgID})
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN pe.political_status IN (?, ?) THEN 1 ELSE 0 END), 0)
			FROM `+w.people()+` WHERE `+w.cond, append([]any{StatusPartyMember, StatusProbationary}, w.args...)...).
			Scan(&st.People, &st.PartyMembers)
		if err != nil {
			return err
		}
		byCat, err := countBy(ctx, tx, `SELECT pc.category, COUNT(*) FROM `+w.people()+`
			JOIN person_categories pc ON pc.person_id = `+w.personID()+` WHERE `+w.cond+` GROUP BY pc.category`, w.args)
		if err != nil {
			return err
		}
		st.ByCategory = counts(categories, byCat, func(c string) string { return c })
		byKind, err := s.orgsByKind(ctx, tx, p, orgID)
		st.OrgsByKind = counts(kindKeys(), byKind, func(k string) string { return Kind(k).Label() })
		return err
	})
	return st, err
}

func (s *Service) orgsByKind(ctx context.Context, tx *store.Tx, p *auth.Principal, orgID int64) (map[string]int, error) {
	cond, args := p.Scope(auth.OrgView).Where("o.path", "")
	if orgID != 0 {
		path, err := visibleOrgPath(ctx, tx, p, orgID)
		if err != nil {
			return nil, err
		}
		lo, hi := store.PathRange(path)
		cond += " AND o.path >= ? AND o.path < ?"
		args = append(args, lo, hi)
	}
	return countBy(ctx, tx, `SELECT o.kind, COUNT(*) FROM orgs o WHERE `+cond+` AND o.archived_at IS NULL
		GROUP BY o.kind`, args)
}

func countBy(ctx context.Context, tx *store.Tx, query string, args []any) (map[string]int, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var key string
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			return nil, err
		}
		out[key] = n
	}
	return out, rows.Err()
}

// counts lays grouped counts out in the order of keys, zeros included.
func counts(keys []string, n map[string]int, label func(string) string) []Count {
	out := make([]Count, len(keys))
	for i, k := range keys {
		out[i] = Count{Key: k, Label: label(k), Count: n[k]}
	}
	return out
}

func kindKeys() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, string(k))
	}
	return out
}
