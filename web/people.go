package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
)

func (s *Server) registerPeople() {
	s.Menu(NavItem{Key: "people", Label: "人员", Href: "/people", Perm: auth.PeopleView, Order: 30})
	s.Page("GET /people", auth.PeopleView, s.peoplePage)
	s.Page("GET /people/new", auth.PeopleManage, s.personNewPage)
	s.Page("POST /people", auth.PeopleManage, s.personCreate)
	s.Page("GET /people/{id}", auth.PeopleView, s.personPage)
	s.Page("POST /people/{id}", auth.PeopleManage, s.personUpdate)
	s.Page("POST /people/{id}/archive", auth.PeopleManage, s.personArchive)
	s.Page("POST /people/{id}/memberships", auth.PeopleManage, s.membershipAdd)
	s.Page("POST /people/{id}/memberships/{mid}/end", auth.PeopleManage, s.membershipEnd)

	o := s.cfg.Org
	s.API("GET /api/v1/people", auth.PeopleView, s.apiPeople)
	s.API("POST /api/v1/people", auth.PeopleManage, Body(http.StatusCreated, o.CreatePerson))
	s.API("GET /api/v1/people/{id}", auth.PeopleView, ByID(o.GetPerson))
	s.API("PATCH /api/v1/people/{id}", auth.PeopleManage, BodyByID(http.StatusOK, o.UpdatePerson))
	s.API("POST /api/v1/people/{id}/archive", auth.PeopleManage, ByID(o.ArchivePerson))
	s.API("POST /api/v1/people/{id}/memberships", auth.PeopleManage, BodyByID(http.StatusCreated, s.apiMembershipAdd))
	s.API("POST /api/v1/people/{id}/memberships/{mid}/end", auth.PeopleManage, s.apiMembershipEnd)
	s.Document(apiDocs, "openapi/people.json")
}

// peopleFilter reads the list filters from the query string. The organisation may be given as
// an id (links from the tree) or typed as a path or division code.
func (s *Server) peopleFilter(r *http.Request, p *auth.Principal) (org.PeopleFilter, error) {
	q := r.URL.Query()
	f := org.PeopleFilter{
		Category:        q.Get("category"),
		PoliticalStatus: q.Get("political_status"),
		Query:           strings.TrimSpace(q.Get("q")),
		IncludeArchived: q.Get("archived") == "1",
	}
	var err error
	if f.Limit, f.Cursor, err = Paging(r); err != nil {
		return f, err
	}
	if f.OrgID, err = QueryID(r, "org_id"); err != nil {
		return f, err
	}
	if text := strings.TrimSpace(q.Get("org")); text != "" && f.OrgID == 0 {
		o, err := s.cfg.Org.ResolveOrg(r.Context(), p, text)
		if err != nil {
			return f, atField(err, "org")
		}
		f.OrgID = o.ID
	}
	return f, nil
}

type peopleView struct {
	People     []org.Person
	Org        *org.Org
	Next       string
	Categories []string
	Statuses   []string
}

func (s *Server) peoplePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v := View{Title: "人员", Active: "people", Form: r.URL.Query()}
	data := peopleView{Categories: org.Categories(), Statuses: org.PoliticalStatuses()}
	f, err := s.peopleFilter(r, p)
	if err == nil {
		var next int64
		if data.People, next, err = s.cfg.Org.ListPeople(r.Context(), p, f); err == nil && next != 0 {
			q := r.URL.Query()
			q.Set("cursor", strconv.FormatInt(next, 10))
			data.Next = "/people?" + q.Encode()
		}
	}
	if err == nil && f.OrgID != 0 {
		var o org.Org
		if o, err = s.cfg.Org.GetOrg(r.Context(), p, f.OrgID); err == nil {
			data.Org = &o
		}
	}
	status := http.StatusOK
	if err != nil {
		if !FormErrors(&v, err) {
			return err
		}
		status = StatusFor(err)
	}
	v.Data = data
	return s.Render(w, r, status, s.layout, "people", v)
}

type personView struct {
	Person     org.Person
	History    []audit.Record
	Categories []string
	Statuses   []string
	Kinds      []org.Kind
	New        bool
}

func (s *Server) personNewPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v := View{Title: "新增人员", Active: "people", Form: r.URL.Query()}
	return s.renderPersonForm(w, r, http.StatusOK, v)
}

func (s *Server) renderPersonForm(w http.ResponseWriter, r *http.Request, status int, v View) error {
	v.Data = personView{New: true, Categories: org.Categories(), Statuses: org.PoliticalStatuses()}
	return s.Render(w, r, status, s.layout, "person_new", v)
}

// personInputFromForm reads the person form. The organisation may be typed as a path or a
// division code, or come as an id from the page.
func (s *Server) personInputFromForm(r *http.Request, p *auth.Principal) (org.PersonInput, error) {
	if err := r.ParseForm(); err != nil {
		return org.PersonInput{}, errs.Invalid("", "表单内容有误")
	}
	f := r.PostForm
	in := org.PersonInput{
		Name: f.Get("name"), Gender: f.Get("gender"), IDNumber: f.Get("id_number"),
		Mobile: f.Get("mobile"), PoliticalStatus: f.Get("political_status"),
		PartyJoinedOn: f.Get("party_joined_on"), Categories: f["categories"],
	}
	// A typed organisation wins over the id the page carried, so the edit form can move a person.
	if text := strings.TrimSpace(f.Get("org")); text != "" {
		o, err := s.cfg.Org.ResolveOrg(r.Context(), p, text)
		if err != nil {
			return in, atField(err, "org")
		}
		in.OrgID = o.ID
	} else if id := strings.TrimSpace(f.Get("org_id")); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return in, errs.Invalid("org", "所属组织无效")
		}
		in.OrgID = n
	}
	return in, nil
}

func (s *Server) personCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	in, err := s.personInputFromForm(r, p)
	if err == nil {
		var pe org.Person
		if pe, err = s.cfg.Org.CreatePerson(r.Context(), p, in); err == nil {
			return Redirect(w, r, "/people/"+strconv.FormatInt(pe.ID, 10), "已新增："+pe.Name)
		}
	}
	v := View{Title: "新增人员", Active: "people", Form: r.PostForm}
	if !FormErrors(&v, orgFieldAsForm(err)) {
		return err
	}
	return s.renderPersonForm(w, r, StatusFor(err), v)
}

// orgFieldAsForm shows an error about org_id next to the form's organisation box.
func orgFieldAsForm(err error) error {
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range multi.Unwrap() {
			out = append(out, orgFieldAsForm(e))
		}
		return org.Problems(asErrs(out))
	}
	if e := errs.As(err); e.Field == "org_id" {
		return &errs.Error{Kind: e.Kind, Field: "org", Message: e.Message, Cause: e.Cause}
	}
	return err
}

func asErrs(list []error) []*errs.Error {
	out := make([]*errs.Error, len(list))
	for i, e := range list {
		out[i] = errs.As(e)
	}
	return out
}

func (s *Server) personPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.renderPerson(w, r, p, http.StatusOK, View{})
}

func (s *Server) renderPerson(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v View) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	pe, err := s.cfg.Org.GetPerson(r.Context(), p, id)
	if err != nil {
		return err
	}
	data := personView{Person: pe, Categories: org.Categories(), Statuses: org.PoliticalStatuses()}
	if p.Can(auth.AuditView) {
		recs, _, err := audit.List(r.Context(), s.cfg.DB, audit.Filter{
			EntityType: "person", EntityID: id, OrgPaths: p.Scope(auth.AuditView).Paths,
			AllOrgs: p.Scope(auth.AuditView).All, Limit: 20,
		})
		if err != nil {
			return err
		}
		data.History = recs
	}
	v.Title, v.Active, v.Data = pe.Name, "people", data
	if v.Form == nil {
		v.Form = personForm(pe)
	}
	return s.Render(w, r, status, s.layout, "person", v)
}

// personForm fills the edit form with the stored values.
func personForm(pe org.Person) url.Values {
	return url.Values{
		"name": {pe.Name}, "gender": {pe.Gender}, "id_number": {pe.IDNumber}, "mobile": {pe.Mobile},
		"political_status": {pe.PoliticalStatus}, "party_joined_on": {pe.PartyJoinedOn},
		"org_id": {strconv.FormatInt(pe.OrgID, 10)}, "categories": pe.Categories,
	}
}

func (s *Server) personUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	in, err := s.personInputFromForm(r, p)
	if err == nil {
		if _, err = s.cfg.Org.UpdatePerson(r.Context(), p, id, in); err == nil {
			return Redirect(w, r, r.URL.Path, "已保存")
		}
	}
	v := View{Form: r.PostForm}
	if !FormErrors(&v, orgFieldAsForm(err)) {
		return err
	}
	return s.renderPerson(w, r, p, StatusFor(err), v)
}

func (s *Server) personArchive(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.cfg.Org.ArchivePerson(r.Context(), p, id); err != nil {
		return FormFailed(r, err, func(status int, v View) error { return s.renderPerson(w, r, p, status, v) })
	}
	return Redirect(w, r, r.URL.Path[:strings.LastIndex(r.URL.Path, "/")], "已归档")
}

func (s *Server) membershipAdd(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	in := org.MembershipInput{PersonID: id, Position: r.PostFormValue("position"), StartedOn: r.PostFormValue("started_on")}
	o, err := s.cfg.Org.ResolveOrg(r.Context(), p, strings.TrimSpace(r.PostFormValue("membership_org")))
	if err == nil {
		in.OrgID = o.ID
		_, err = s.cfg.Org.AddMembership(r.Context(), p, in)
	}
	if err != nil {
		if f := errs.As(err).Field; f == "" || f == "org_id" {
			err = atField(err, "membership_org")
		}
		return FormFailed(r, err, func(status int, v View) error { return s.renderPerson(w, r, p, status, v) })
	}
	return Redirect(w, r, "/people/"+strconv.FormatInt(id, 10), "已添加任职")
}

func (s *Server) membershipEnd(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	mid, err := PathID(r, "mid")
	if err != nil {
		return err
	}
	if _, err := s.cfg.Org.EndMembership(r.Context(), p, mid, r.PostFormValue("ended_on")); err != nil {
		return FormFailed(r, err, func(status int, v View) error { return s.renderPerson(w, r, p, status, v) })
	}
	return Redirect(w, r, "/people/"+strconv.FormatInt(id, 10), "已结束任职")
}

// API

func (s *Server) apiPeople(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := s.peopleFilter(r, p)
	if err != nil {
		return err
	}
	list, next, err := s.cfg.Org.ListPeople(r.Context(), p, f)
	if err != nil {
		return err
	}
	WriteList(w, list, next)
	return nil
}

// apiMembershipAdd adds a membership to the person in the path, whatever person the body names.
func (s *Server) apiMembershipAdd(ctx context.Context, p *auth.Principal, id int64, in org.MembershipInput) (org.Membership, error) {
	in.PersonID = id
	return s.cfg.Org.AddMembership(ctx, p, in)
}

type endMembershipRequest struct {
	EndedOn string `json:"ended_on"`
}

func (s *Server) apiMembershipEnd(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if _, err := PathID(r, "id"); err != nil {
		return err
	}
	mid, err := PathID(r, "mid")
	if err != nil {
		return err
	}
	var req endMembershipRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	m, err := s.cfg.Org.EndMembership(r.Context(), p, mid, req.EndedOn)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, m)
	return nil
}
