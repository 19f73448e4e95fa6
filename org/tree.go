package org

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Org is one node of the organisation tree.
type Org struct {
	ID           int64      `json:"id"`
	ParentID     int64      `json:"parent_id"` // 0 for a root
	Name         string     `json:"name"`
	Kind         Kind       `json:"kind"`
	KindLabel    string     `json:"kind_label"`
	DivisionCode string     `json:"division_code"`
	SortOrder    int        `json:"sort_order"`
	Path         string     `json:"path"` // materialised ids from the root: "/1/5/23/"
	Depth        int        `json:"depth"`
	Archived     bool       `json:"archived"`
	ArchivedAt   *time.Time `json:"archived_at,omitempty"`
	ChildCount   int        `json:"child_count"` // live children
	// PeopleCount is the live people whose home organisation this is (not its subtree). It is
	// filled by GetOrg, Children and Ancestors; Subtree leaves it 0 to stay one index range.
	PeopleCount int       `json:"people_count"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateOrg adds an organisation under in.ParentID, or a root when it is 0.
func (s *Service) CreateOrg(ctx context.Context, p *auth.Principal, in OrgInput) (Org, error) {
	in, err := in.normalise()
	if err != nil {
		return Org{}, err
	}
	var out Org
	err = s.write(ctx, func(tx *store.Tx) error {
		parent, err := placeUnder(ctx, tx, p, in.ParentID)
		if err != nil {
			return err
		}
		if err := checkUnique(ctx, tx, p, in, 0); err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		id, err := tx.Insert(ctx, `INSERT INTO orgs
			(parent_id, name, kind, division_code, sort_order, path, depth, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, '', ?, ?, ?)`,
			nullable(in.ParentID), in.Name, string(in.Kind), nullable(in.DivisionCode), in.SortOrder,
			parent.Depth+1, now, now)
		if err != nil {
			return err
		}
		// The path holds the id, which exists only once the row does.
		path := parent.Path + strconv.FormatInt(id, 10) + "/"
		if _, err := tx.Exec(ctx, `UPDATE orgs SET path = ? WHERE id = ?`, path, id); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "org.create", EntityType: "org", EntityID: id, OrgID: id,
			Summary: map[string]any{"name": in.Name, "kind": in.Kind, "parent_id": in.ParentID,
				"division_code": in.DivisionCode, "path": path},
		}); err != nil {
			return err
		}
		out, err = loadOrg(ctx, tx, id)
		return err
	})
	return out, uniqueConflict(s.db, err, "组织名称或区划代码与现有组织重复")
}

// placeUnder loads the live organisation a node is to be placed under (id 0: the top, a
// pseudo-node with path "/" and depth 0) and checks that the caller may manage it: placing a
// node changes its parent's list of children.
func placeUnder(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64) (Org, error) {
	if id == 0 {
		return Org{Path: "/"}, allowAt(p, auth.OrgManage, "")
	}
	parent, err := loadOrg(ctx, tx, id)
	if err == nil {
		err = allowAt(p, auth.OrgManage, parent.Path)
	}
	if errs.Is(err, errs.KindNotFound) {
		return parent, errs.Invalid("parent_id", "上级组织不存在")
	}
	if err == nil && parent.Archived {
		err = errs.Invalid("parent_id", "上级组织已归档")
	}
	return parent, err
}

// checkUnique refuses a live sibling of the same name and a division code in use elsewhere.
func checkUnique(ctx context.Context, tx *store.Tx, p *auth.Principal, in OrgInput, self int64) error {
	if err := checkSiblingName(ctx, tx, in.ParentID, in.Name, self); err != nil {
		return err
	}
	return checkDivisionCode(ctx, tx, in.DivisionCode, self, p.Scope(auth.OrgView).Covers)
}

// UpdateOrg changes the name, kind, division code and sort order of a live organisation; its
// place in the tree changes only through MoveOrg. An update that changes nothing writes nothing.
func (s *Service) UpdateOrg(ctx context.Context, p *auth.Principal, id int64, in OrgInput) (Org, error) {
	in, err := in.normalise()
	if err != nil {
		return Org{}, err
	}
	var out Org
	err = s.write(ctx, func(tx *store.Tx) error {
		old, err := manageableOrg(ctx, tx, p, id, access{perm: auth.OrgManage})
		if err != nil {
			return err
		}
		if in.ParentID != 0 && in.ParentID != old.ParentID {
			return errs.Invalid("parent_id", "调整上级组织请使用“移动”")
		}
		in.ParentID = old.ParentID
		c := changes{}
		note(c, "name", old.Name, in.Name)
		note(c, "kind", old.Kind, in.Kind)
		note(c, "division_code", old.DivisionCode, in.DivisionCode)
		note(c, "sort_order", old.SortOrder, in.SortOrder)
		if len(c) == 0 {
			out = old
			return nil
		}
		if err := checkUnique(ctx, tx, p, in, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE orgs SET name = ?, kind = ?, division_code = ?, sort_order = ?,
			updated_at = ? WHERE id = ?`, in.Name, string(in.Kind), nullable(in.DivisionCode), in.SortOrder,
			store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "org.update", EntityType: "org", EntityID: id, OrgID: id, Summary: c,
		}); err != nil {
			return err
		}
		out, err = loadOrg(ctx, tx, id)
		return err
	})
	return out, uniqueConflict(s.db, err, "组织名称或区划代码与现有组织重复")
}

// access says what a write needs of the organisation it loads.
type access struct {
	perm auth.Permission
	// atParent checks perm over the node's parent rather than the node itself: moving,
	// archiving and restoring change the parent's list of children.
	atParent bool
	// archived is the state the node must be in.
	archived bool
}

// manageableOrg loads an organisation for a write and checks the caller's permission and the
// node's archived state.
func manageableOrg(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64, a access) (Org, error) {
	o, err := loadOrg(ctx, tx, id)
	if err != nil {
		return o, err
	}
	if !p.Scope(auth.OrgView).Covers(o.Path) && !p.Scope(a.perm).Covers(o.Path) {
		return o, errs.NotFound("组织不存在")
	}
	where := o.Path
	if a.atParent {
		where = parentPath(o.Path)
	}
	if !may(p, a.perm, where) {
		return o, errs.Forbidden("无权在该组织执行此操作")
	}
	switch {
	case o.Archived && !a.archived:
		return o, errs.Conflict("组织已归档，请先恢复")
	case !o.Archived && a.archived:
		return o, errs.Conflict("组织未归档")
	}
	return o, nil
}

// MoveOrg puts an organisation and its whole subtree under newParentID (0: make it a root).
// It needs org.manage over both the old and the new parent.
func (s *Service) MoveOrg(ctx context.Context, p *auth.Principal, id, newParentID int64) (Org, error) {
	var out Org
	err := s.write(ctx, func(tx *store.Tx) error {
		o, err := manageableOrg(ctx, tx, p, id, access{perm: auth.OrgManage, atParent: true})
		if err != nil {
			return err
		}
		if newParentID == o.ParentID {
			out = o
			return nil
		}
		parent, err := placeUnder(ctx, tx, p, newParentID)
		if err != nil {
			return err
		}
		if strings.HasPrefix(parent.Path, o.Path) {
			return errs.Invalid("parent_id", "不能移动到自身或其下级组织之下")
		}
		if err := checkSiblingName(ctx, tx, newParentID, o.Name, id); err != nil {
			return err
		}
		newPath, descendants, err := moveSubtree(ctx, tx, o, parent, newParentID)
		if err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "org.move", EntityType: "org", EntityID: id, OrgID: id,
			Summary: map[string]any{"parent_id": [2]int64{o.ParentID, newParentID},
				"path": [2]string{o.Path, newPath}, "descendants": descendants},
		}); err != nil {
			return err
		}
		out, err = loadOrg(ctx, tx, id)
		return err
	})
	return out, uniqueConflict(s.db, err, "同级组织中已有同名组织")
}

// moveSubtree rewrites the path and depth of the node and every descendant in one statement,
// replacing the old path prefix with the new one, then repoints the node's parent. It returns
// the node's new path and how many descendants moved with it.
func moveSubtree(ctx context.Context, tx *store.Tx, o, parent Org, newParentID int64) (string, int64, error) {
	newPath := parent.Path + strconv.FormatInt(o.ID, 10) + "/"
	lo, hi := store.PathRange(o.Path)
	now := store.FormatTime(tx.Now())
	res, err := tx.Exec(ctx, `UPDATE orgs SET path = ? || substr(path, ?), depth = depth + ?, updated_at = ?
		WHERE path >= ? AND path < ?`, newPath, len(o.Path)+1, parent.Depth+1-o.Depth, now, lo, hi)
	if err != nil {
		return "", 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", 0, err
	}
	_, err = tx.Exec(ctx, `UPDATE orgs SET parent_id = ? WHERE id = ?`, nullable(newParentID), o.ID)
	return newPath, n - 1, err
}

// ArchiveOrg retires an organisation that has no live children and no live people left; it
// keeps its place, its history and its people's history.
func (s *Service) ArchiveOrg(ctx context.Context, p *auth.Principal, id int64) (Org, error) {
	var out Org
	err := s.write(ctx, func(tx *store.Tx) error {
		o, err := manageableOrg(ctx, tx, p, id, access{perm: auth.OrgManage, atParent: true})
		if err != nil {
			return err
		}
		if o.ChildCount > 0 || o.PeopleCount > 0 {
			return errs.Conflict("请先迁移或归档下级组织和人员")
		}
		out, err = setArchived(ctx, tx, p, o, true)
		return err
	})
	return out, err
}

// RestoreOrg brings an archived organisation back, under a live parent, provided its name and
// division code are still free there.
func (s *Service) RestoreOrg(ctx context.Context, p *auth.Principal, id int64) (Org, error) {
	var out Org
	err := s.write(ctx, func(tx *store.Tx) error {
		o, err := manageableOrg(ctx, tx, p, id, access{perm: auth.OrgManage, atParent: true, archived: true})
		if err != nil {
			return err
		}
		if o.ParentID != 0 {
			parent, err := loadOrg(ctx, tx, o.ParentID)
			if err != nil {
				return err
			}
			if parent.Archived {
				return errs.Invalid("parent_id", "上级组织已归档，请先恢复上级组织")
			}
		}
		in := OrgInput{ParentID: o.ParentID, Name: o.Name, DivisionCode: o.DivisionCode}
		if err := checkUnique(ctx, tx, p, in, id); err != nil {
			return err
		}
		out, err = setArchived(ctx, tx, p, o, false)
		return err
	})
	return out, uniqueConflict(s.db, err, "组织名称或区划代码与现有组织重复")
}

// setArchived archives or restores the node, with its audit record, and reloads it.
func setArchived(ctx context.Context, tx *store.Tx, p *auth.Principal, o Org, archive bool) (Org, error) {
	var at any // NULL: live
	action := "org.restore"
	if archive {
		at, action = store.FormatTime(tx.Now()), "org.archive"
	}
	if _, err := tx.Exec(ctx, `UPDATE orgs SET archived_at = ?, updated_at = ? WHERE id = ?`,
		at, store.FormatTime(tx.Now()), o.ID); err != nil {
		return Org{}, err
	}
	if err := audit.Append(ctx, tx, p.Actor(), audit.Event{
		Action: action, EntityType: "org", EntityID: o.ID, OrgID: o.ID,
		Summary: map[string]any{"archived": [2]bool{o.Archived, archive}},
	}); err != nil {
		return Org{}, err
	}
	return loadOrg(ctx, tx, o.ID)
}

// GetOrg loads one organisation the caller may see.
func (s *Service) GetOrg(ctx context.Context, p *auth.Principal, id int64) (Org, error) {
	return getOrg(ctx, s.db, p, id)
}

func getOrg(ctx context.Context, q querier, p *auth.Principal, id int64) (Org, error) {
	scope, args := p.Scope(auth.OrgView).Where("o.path", "")
	orgs, err := queryOrgs(ctx, q, `SELECT `+orgColumns+orgCounts+` FROM orgs o WHERE o.id = ? AND `+scope,
		append([]any{id}, args...)...)
	if err != nil {
		return Org{}, err
	}
	if len(orgs) == 0 {
		return Org{}, errs.NotFound("组织不存在")
	}
	return orgs[0], nil
}

// Children lists the children of parentID in display order (sort order, then name). With
// parentID 0 it lists the caller's top-most visible organisations: the roots of the tree for a
// caller who sees everything, otherwise the organisations their grants are on.
func (s *Service) Children(ctx context.Context, p *auth.Principal, parentID int64, includeArchived bool) ([]Org, error) {
	scope := p.Scope(auth.OrgView)
	cond, args := scope.Where("o.path", "")
	switch {
	case parentID != 0:
		if _, err := s.GetOrg(ctx, p, parentID); err != nil {
			return nil, err
		}
		cond += " AND o.parent_id = ?"
		args = append(args, parentID)
	case scope.All:
		cond += " AND o.parent_id IS NULL"
	case len(scope.Paths) == 0:
		return nil, nil
	default:
		cond += " AND o.path IN (" + placeholders(len(scope.Paths)) + ")"
		for _, path := range scope.Paths {
			args = append(args, path)
		}
	}
	if !includeArchived {
		cond += " AND o.archived_at IS NULL"
	}
	return queryOrgs(ctx, s.db, `SELECT `+orgColumns+orgCounts+` FROM orgs o WHERE `+cond+`
		ORDER BY o.sort_order, o.name, o.id`, args...)
}

// Subtree lists an organisation and its live descendants, depth first, siblings in display
// order. ChildCount is filled; PeopleCount is not.
func (s *Service) Subtree(ctx context.Context, p *auth.Principal, id int64) ([]Org, error) {
	cond, args := p.Scope(auth.OrgView).Where("o.path", "")
	nodes, err := queryOrgs(ctx, s.db, subtreeQuery(cond), append([]any{id}, args...)...)
	if err != nil {
		return nil, err
	}
	out := depthFirst(nodes, id)
	if out == nil {
		return nil, errs.NotFound("组织不存在")
	}
	return out, nil
}

// subtreeQuery selects a root (by id, the first argument) and its live descendants within the
// scope condition cond. One statement, no transaction: the subtree is the path range from
// r.path up to r.path || '~' ('~' sorts after the digits and slashes paths are made of). The
// root is in the result only if the caller may see it.
func subtreeQuery(cond string) string {
	return `SELECT ` + orgColumns + orgNoCounts + `
		FROM orgs r JOIN orgs o ON o.path >= r.path AND o.path < r.path || '~'
		WHERE r.id = ? AND (o.archived_at IS NULL OR o.id = r.id) AND ` + cond
}

// depthFirst orders the nodes of a subtree for display: each node followed by its children in
// sort order, then name. It counts children on the way.
func depthFirst(nodes []Org, rootID int64) []Org {
	children := make(map[int64][]int, len(nodes))
	root := -1
	for i, n := range nodes {
		if n.ID == rootID {
			root = i
			continue
		}
		children[n.ParentID] = append(children[n.ParentID], i)
	}
	if root < 0 {
		return nil
	}
	out := make([]Org, 0, len(nodes))
	var visit func(i int)
	visit = func(i int) {
		kids := children[nodes[i].ID]
		slices.SortFunc(kids, func(a, b int) int {
			x, y := nodes[a], nodes[b]
			return cmp.Or(cmp.Compare(x.SortOrder, y.SortOrder), strings.Compare(x.Name, y.Name), cmp.Compare(x.ID, y.ID))
		})
		n := nodes[i]
		n.ChildCount = len(kids)
		out = append(out, n)
		for _, k := range kids {
			visit(k)
		}
	}
	visit(root)
	return out
}

// Ancestors is the breadcrumb of an organisation: the ancestors the caller may see, from the
// top down, ending with the organisation itself.
func (s *Service) Ancestors(ctx context.Context, p *auth.Principal, id int64) ([]Org, error) {
	var out []Org
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		o, err := getOrg(ctx, tx, p, id)
		if err != nil {
			return err
		}
		ids := pathIDs(o.Path)
		cond, args := p.Scope(auth.OrgView).Where("o.path", "")
		idArgs := make([]any, len(ids))
		for i, id := range ids {
			idArgs[i] = id
		}
		out, err = queryOrgs(ctx, tx, `SELECT `+orgColumns+orgCounts+` FROM orgs o
			WHERE o.id IN (`+placeholders(len(ids))+`) AND `+cond+` ORDER BY o.depth`,
			append(idArgs, args...)...)
		return err
	})
	return out, err
}

// History lists the audit records of an organisation, newest first, a page at a time: before
// is the cursor (0 for the first page) and the returned cursor is 0 after the last page.
func (s *Service) History(ctx context.Context, p *auth.Principal, id int64, before int64, limit int) ([]audit.Record, int64, error) {
	if _, err := s.GetOrg(ctx, p, id); err != nil {
		return nil, 0, err
	}
	scope := p.Scope(auth.OrgView)
	return audit.List(ctx, s.db, audit.Filter{
		AllOrgs: scope.All, OrgPaths: scope.Paths, EntityType: "org", EntityID: id,
		Before: before, Limit: limit,
	})
}
