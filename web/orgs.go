package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
)

func (s *Server) registerOrgs() {
	s.Menu(NavItem{Key: "orgs", Label: "组织架构", Href: "/orgs", Perm: auth.OrgView, Order: 20})
	s.Page("GET /orgs", auth.OrgView, s.orgsPage)
	s.Page("GET /orgs/{id}", auth.OrgView, s.orgPage)
	s.Page("GET /orgs/{id}/children", auth.OrgView, s.orgChildren)
	s.Page("POST /orgs", auth.OrgManage, s.orgCreate)
	s.Page("POST /orgs/{id}", auth.OrgManage, s.orgUpdate)
	s.Page("POST /orgs/{id}/move", auth.OrgManage, s.orgMove)
	s.Page("POST /orgs/{id}/archive", auth.OrgManage, s.orgArchive)
	s.Page("POST /orgs/{id}/restore", auth.OrgManage, s.orgRestore)

	o := s.cfg.Org
	s.API("GET /api/v1/orgs", auth.OrgView, s.apiOrgs)
	s.API("POST /api/v1/orgs", auth.OrgManage, Body(http.StatusCreated, o.CreateOrg))
	s.API("GET /api/v1/orgs/{id}", auth.OrgView, ByID(o.GetOrg))
	s.API("PATCH /api/v1/orgs/{id}", auth.OrgManage, BodyByID(http.StatusOK, o.UpdateOrg))
	s.API("POST /api/v1/orgs/{id}/move", auth.OrgManage, BodyByID(http.StatusOK, s.apiOrgMove))
	s.API("POST /api/v1/orgs/{id}/archive", auth.OrgManage, ByID(o.ArchiveOrg))
	s.API("POST /api/v1/orgs/{id}/restore", auth.OrgManage, ByID(o.RestoreOrg))
	s.API("GET /api/v1/orgs/{id}/history", auth.OrgView, s.apiOrgHistory)
	s.Document(apiDocs, "openapi/orgs.json")
}

// treeNode is an organisation with the children already loaded for the first levels of the tree.
type treeNode struct {
	org.Org
	Children []treeNode
	Loaded   bool
}

type orgsView struct {
	Roots []treeNode
	Kinds []org.Kind
}

// orgsPage shows the tree: the caller's top nodes with two levels open; deeper levels load
// when expanded.
func (s *Server) orgsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	archived := r.URL.Query().Get("archived") == "1"
	roots, err := s.treeLevel(r, p, 0, 2, archived)
	if err != nil {
		return err
	}
	return s.Render(w, r, http.StatusOK, s.layout, "orgs", View{Title: "组织架构", Active: "orgs",
		Data: orgsView{Roots: roots, Kinds: org.Kinds()}, Form: r.URL.Query()})
}

func (s *Server) treeLevel(r *http.Request, p *auth.Principal, parentID int64, depth int, archived bool) ([]treeNode, error) {
	kids, err := s.cfg.Org.Children(r.Context(), p, parentID, archived)
	if err != nil {
		return nil, err
	}
	nodes := make([]treeNode, len(kids))
	for i, k := range kids {
		nodes[i] = treeNode{Org: k}
		if depth > 1 && k.ChildCount > 0 {
			if nodes[i].Children, err = s.treeLevel(r, p, k.ID, depth-1, archived); err != nil {
				return nil, err
			}
			nodes[i].Loaded = true
		}
	}
	return nodes, nil
}

func (s *Server) orgChildren(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	nodes, err := s.treeLevel(r, p, id, 1, r.URL.Query().Get("archived") == "1")
	if err != nil {
		return err
	}
	return s.RenderBlock(w, s.layout, "orgs", "subtree", nodes)
}

type orgView struct {
	Org       org.Org
	Ancestors []org.Org
	Children  []org.Org
	History   []audit.Record
	Kinds     []org.Kind
	ChildKind org.Kind // preselected in the new-child form
}

// usualChild is the kind a new child of an organisation most often has.
var usualChild = map[org.Kind]org.Kind{
	org.KindProvince: org.KindPrefecture, org.KindPrefecture: org.KindCounty, org.KindCounty: org.KindTownship,
	org.KindTownship: org.KindVillage, org.KindVillage: org.KindPartyBranch, org.KindPartyCommittee: org.KindPartyBranch,
	org.KindPartyGeneralBranch: org.KindPartyBranch, org.KindGovUnit: org.KindDepartment,
	org.KindEnterprise: org.KindPartyBranch, org.KindCooperative: org.KindPartyBranch, org.KindAlliance: org.KindEnterprise,
}

func (s *Server) orgPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.renderOrg(w, r, p, http.StatusOK, View{})
}

// renderOrg shows an organisation's page; a refused form comes back with its errors in v.
func (s *Server) renderOrg(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v View) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	o, err := s.cfg.Org.GetOrg(ctx, p, id)
	if err != nil {
		return err
	}
	data := orgView{Org: o, Kinds: org.Kinds(), ChildKind: usualChild[o.Kind]}
	if data.Ancestors, err = s.cfg.Org.Ancestors(ctx, p, id); err != nil {
		return err
	}
	if data.Children, err = s.cfg.Org.Children(ctx, p, id, true); err != nil {
		return err
	}
	if data.History, _, err = s.cfg.Org.History(ctx, p, id, 0, 20); err != nil {
		return err
	}
	v.Title, v.Active, v.Data = o.Name, "orgs", data
	return s.Render(w, r, status, s.layout, "org", v)
}

func orgInputFromForm(r *http.Request) (org.OrgInput, error) {
	in := org.OrgInput{
		Name:         r.PostFormValue("name"),
		Kind:         org.Kind(r.PostFormValue("kind")),
		DivisionCode: r.PostFormValue("division_code"),
	}
	var err error
	if v := strings.TrimSpace(r.PostFormValue("parent_id")); v != "" {
		if in.ParentID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return in, errs.Invalid("parent_id", "上级组织编号无效")
		}
	}
	if v := strings.TrimSpace(r.PostFormValue("sort_order")); v != "" {
		if in.SortOrder, err = strconv.Atoi(v); err != nil {
			return in, errs.Invalid("sort_order", "排序号应为整数")
		}
	}
	return in, nil
}

// FormFailed re-renders the page a form came from with the service's complaint next to the
// fields, or passes an internal error up.
func FormFailed(r *http.Request, err error, again func(status int, v View) error) error {
	v := View{Form: r.PostForm}
	if !FormErrors(&v, err) {
		return err
	}
	return again(StatusFor(err), v)
}

func (s *Server) orgCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	in, err := orgInputFromForm(r)
	if err == nil {
		var o org.Org
		if o, err = s.cfg.Org.CreateOrg(r.Context(), p, in); err == nil {
			return Redirect(w, r, "/orgs/"+strconv.FormatInt(o.ID, 10), "已新建组织："+o.Name)
		}
	}
	if in.ParentID == 0 {
		return err
	}
	r.SetPathValue("id", strconv.FormatInt(in.ParentID, 10))
	return FormFailed(r, err, func(status int, v View) error { return s.renderOrg(w, r, p, status, v) })
}

func (s *Server) orgUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	in, err := orgInputFromForm(r)
	if err == nil {
		if _, err = s.cfg.Org.UpdateOrg(r.Context(), p, id, in); err == nil {
			return Redirect(w, r, r.URL.Path, "已保存")
		}
	}
	return FormFailed(r, err, func(status int, v View) error { return s.renderOrg(w, r, p, status, v) })
}

func (s *Server) orgMove(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	target := strings.TrimSpace(r.PostFormValue("new_parent"))
	var parent org.Org
	if target == "" {
		err = errs.Invalid("new_parent", "请填写新的上级组织")
	} else if parent, err = s.cfg.Org.ResolveOrg(r.Context(), p, target); err == nil {
		if _, err = s.cfg.Org.MoveOrg(r.Context(), p, id, parent.ID); err == nil {
			return Redirect(w, r, "/orgs/"+strconv.FormatInt(id, 10), "已移动到："+parent.Name)
		}
	}
	if k := errs.KindOf(err); k == errs.KindInvalid || k == errs.KindNotFound {
		err = atField(err, "new_parent")
	}
	return FormFailed(r, err, func(status int, v View) error { return s.renderOrg(w, r, p, status, v) })
}

func (s *Server) orgArchive(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.orgSetArchived(w, r, p, true)
}

func (s *Server) orgRestore(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.orgSetArchived(w, r, p, false)
}

func (s *Server) orgSetArchived(w http.ResponseWriter, r *http.Request, p *auth.Principal, archive bool) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	msg := "已恢复"
	if archive {
		_, err = s.cfg.Org.ArchiveOrg(r.Context(), p, id)
		msg = "已归档"
	} else {
		_, err = s.cfg.Org.RestoreOrg(r.Context(), p, id)
	}
	if err != nil {
		return FormFailed(r, err, func(status int, v View) error { return s.renderOrg(w, r, p, status, v) })
	}
	return Redirect(w, r, "/orgs/"+strconv.FormatInt(id, 10), msg)
}

// API

func (s *Server) apiOrgs(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	parent, err := QueryID(r, "parent_id")
	if err != nil {
		return err
	}
	kids, err := s.cfg.Org.Children(r.Context(), p, parent, r.URL.Query().Get("archived") == "1")
	if err != nil {
		return err
	}
	WriteList(w, kids, 0)
	return nil
}

type moveRequest struct {
	ParentID int64 `json:"parent_id"`
}

func (s *Server) apiOrgMove(ctx context.Context, p *auth.Principal, id int64, req moveRequest) (org.Org, error) {
	return s.cfg.Org.MoveOrg(ctx, p, id, req.ParentID)
}

func (s *Server) apiOrgHistory(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	limit, cursor, err := Paging(r)
	if err != nil {
		return err
	}
	recs, next, err := s.cfg.Org.History(r.Context(), p, id, cursor, limit)
	if err != nil {
		return err
	}
	WriteList(w, recs, next)
	return nil
}
