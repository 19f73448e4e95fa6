package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
)

func (s *Server) registerUsers() {
	a := s.cfg.Auth
	disable := func(ctx context.Context, p *auth.Principal, id int64) error { return a.SetDisabled(ctx, p, id, true) }
	enable := func(ctx context.Context, p *auth.Principal, id int64) error { return a.SetDisabled(ctx, p, id, false) }
	s.Menu(NavItem{Key: "users", Label: "账号", Href: "/users", Perm: auth.UsersManage, Order: 60})
	s.Page("GET /users", auth.UsersManage, s.usersPage)
	s.Page("GET /users/new", auth.UsersManage, s.userNewPage)
	s.Page("POST /users", auth.UsersManage, s.userCreate)
	s.Page("GET /users/{id}", auth.UsersManage, s.userPage)
	s.Page("POST /users/{id}/grants", auth.UsersManage, s.grantAdd)
	s.Page("POST /users/{id}/grants/remove", auth.UsersManage, s.grantRemove)
	s.Page("POST /users/{id}/password-reset", auth.UsersManage, s.userPasswordReset)
	s.Page("POST /users/{id}/disable", auth.UsersManage, s.userChange(disable, "已停用账号"))
	s.Page("POST /users/{id}/enable", auth.UsersManage, s.userChange(enable, "已启用账号"))
	s.Page("POST /users/{id}/unlock", auth.UsersManage, s.userChange(a.Unlock, "已解除锁定"))
	s.Page("GET /roles", auth.UsersManage, s.rolesPage)

	s.API("GET /api/v1/users", auth.UsersManage, s.apiUsers)
	s.API("POST /api/v1/users", auth.UsersManage, Body(http.StatusCreated, s.apiUserCreate))
	s.API("GET /api/v1/users/{id}", auth.UsersManage, ByID(a.GetUser))
	s.API("POST /api/v1/users/{id}/grants", auth.UsersManage, BodyByID(http.StatusOK, s.apiGrantAdd))
	s.API("DELETE /api/v1/users/{id}/grants", auth.UsersManage, s.apiGrantRemove)
	s.API("POST /api/v1/users/{id}/password-reset", auth.UsersManage, ByID(s.apiPasswordReset))
	s.API("POST /api/v1/users/{id}/disable", auth.UsersManage, s.apiUserChange(disable))
	s.API("POST /api/v1/users/{id}/enable", auth.UsersManage, s.apiUserChange(enable))
	s.API("POST /api/v1/users/{id}/unlock", auth.UsersManage, s.apiUserChange(a.Unlock))
	s.API("GET /api/v1/roles", auth.UsersManage, s.apiRoles)
	s.Document(apiDocs, "openapi/users.json")

	s.registerTokens()
}

// accountChange is a change to an account that needs nothing but its id: disable, enable, unlock.
type accountChange func(ctx context.Context, p *auth.Principal, id int64) error

func userURL(id int64) string { return "/users/" + strconv.FormatInt(id, 10) }

// nextPage is the list at path with the current filters and the cursor of the next page.
func nextPage(r *http.Request, path string, cursor int64) string {
	q := r.URL.Query()
	q.Set("cursor", strconv.FormatInt(cursor, 10))
	return path + "?" + q.Encode()
}

type usersView struct {
	Users []auth.User
	Next  string
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v := View{Title: "账号", Active: "users", Form: r.URL.Query()}
	var data usersView
	f, err := userFilter(r)
	if err == nil {
		var next int64
		if data.Users, next, err = s.cfg.Auth.ListUsers(r.Context(), p, f); err == nil && next != 0 {
			data.Next = nextPage(r, "/users", next)
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
	return s.Render(w, r, status, s.layout, "users", v)
}

func userFilter(r *http.Request) (auth.UserFilter, error) {
	f := auth.UserFilter{Query: r.URL.Query().Get("q")}
	var err error
	f.Limit, f.Cursor, err = Paging(r)
	return f, err
}

type userNewView struct {
	Person *org.Person // the person the account is for, when the page was opened from them
	Roles  []auth.Role
}

func (s *Server) userNewPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.renderUserNew(w, r, p, http.StatusOK, View{Form: r.URL.Query()})
}

func (s *Server) renderUserNew(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v View) error {
	data := userNewView{Roles: auth.Roles()}
	if text := v.Form.Get("person_id"); text != "" {
		id, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return errs.NotFound("人员不存在")
		}
		pe, err := s.cfg.Org.GetPerson(r.Context(), p, id)
		if err != nil {
			return err
		}
		data.Person = &pe
	}
	v.Title, v.Active, v.Data = "新建账号", "users", data
	return s.Render(w, r, status, s.layout, "user_new", v)
}

// userCreate shows a generated password once, on the page it answers with; a password the
// operator typed is theirs to hand over, so the browser simply goes to the new account.
func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	in, err := s.newUserFromForm(r, p)
	if err == nil {
		var u auth.User
		var generated string
		if u, generated, err = s.cfg.Auth.CreateUser(r.Context(), p, in); err == nil {
			if generated == "" {
				return Redirect(w, r, userURL(u.ID), "已新建账号："+u.Username)
			}
			return s.renderUser(w, r, p, u.ID, http.StatusOK, View{Flash: "已新建账号：" + u.Username}, generated)
		}
	}
	v := View{Form: r.PostForm}
	if !FormErrors(&v, orgFieldAsForm(err)) {
		return err
	}
	return s.renderUserNew(w, r, p, StatusFor(err), v)
}

func (s *Server) newUserFromForm(r *http.Request, p *auth.Principal) (auth.NewUser, error) {
	if err := r.ParseForm(); err != nil {
		return auth.NewUser{}, errs.Invalid("", "表单内容有误")
	}
	f := r.PostForm
	in := auth.NewUser{Username: f.Get("username"), DisplayName: f.Get("display_name"), Password: f.Get("password")}
	var err error
	if id := strings.TrimSpace(f.Get("person_id")); id != "" {
		if in.PersonID, err = strconv.ParseInt(id, 10, 64); err != nil {
			return in, errs.Invalid("id_number", "人员编号无效")
		}
	} else if number := strings.TrimSpace(f.Get("id_number")); number != "" {
		pe, err := s.cfg.Org.FindPersonByIDNumber(r.Context(), p, auth.UsersManage, number)
		if err != nil {
			return in, err
		}
		in.PersonID = pe.ID
	}
	// The role may be left empty for an account that only belongs to a person.
	if f.Get("role") != "" {
		g, err := s.grantFromForm(r, p)
		if err != nil {
			return in, err
		}
		in.Grants = []auth.GrantInput{g}
	}
	return in, nil
}

// grantFromForm reads a role and the organisation, typed as a path or a division code.
func (s *Server) grantFromForm(r *http.Request, p *auth.Principal) (auth.GrantInput, error) {
	g := auth.GrantInput{Role: auth.RoleKey(r.PostFormValue("role"))}
	if g.Role == "" {
		return g, errs.Invalid("role", "请选择角色")
	}
	text := strings.TrimSpace(r.PostFormValue("org"))
	if text == "" {
		return g, errs.Invalid("org", "请填写授权的组织")
	}
	o, err := s.cfg.Org.ResolveOrg(r.Context(), p, text)
	if err != nil {
		if e := errs.As(err); e.Kind != errs.KindInternal {
			err = &errs.Error{Kind: errs.KindInvalid, Field: "org", Message: e.Message}
		}
		return g, err
	}
	g.OrgID = o.ID
	return g, nil
}

type userView struct {
	User   auth.User
	Tokens []auth.APIToken
	Roles  []auth.Role
	Secret string // a password generated by this request, shown this once
}

func (s *Server) userPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderUser(w, r, p, id, http.StatusOK, View{}, "")
}

// renderUser shows an account's page; a refused form comes back with its errors in v.
func (s *Server) renderUser(w http.ResponseWriter, r *http.Request, p *auth.Principal, id int64, status int, v View, secret string) error {
	u, err := s.cfg.Auth.GetUser(r.Context(), p, id)
	if err != nil {
		return err
	}
	data := userView{User: u, Roles: auth.Roles(), Secret: secret}
	if data.Tokens, err = s.cfg.Auth.ListTokensOf(r.Context(), p, id); err != nil {
		return err
	}
	v.Title, v.Active, v.Data = u.Username, "users", data
	return s.Render(w, r, status, s.layout, "user", v)
}

// userChange is the page handler of a change to account {id}: back to its page with flash.
func (s *Server) userChange(change accountChange, flash string) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		id, err := PathID(r, "id")
		if err != nil {
			return err
		}
		if err := change(r.Context(), p, id); err != nil {
			return FormFailed(r, err, func(status int, v View) error { return s.renderUser(w, r, p, id, status, v, "") })
		}
		return Redirect(w, r, userURL(id), flash)
	}
}

func (s *Server) userPasswordReset(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	password, err := s.cfg.Auth.ResetPassword(r.Context(), p, id)
	if err != nil {
		return FormFailed(r, err, func(status int, v View) error { return s.renderUser(w, r, p, id, status, v, "") })
	}
	return s.renderUser(w, r, p, id, http.StatusOK, View{Flash: "已重置密码"}, password)
}

func (s *Server) grantAdd(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	g, err := s.grantFromForm(r, p)
	if err == nil {
		err = s.cfg.Auth.AddGrant(r.Context(), p, id, g)
	}
	if err != nil {
		return FormFailed(r, orgFieldAsForm(err), func(status int, v View) error { return s.renderUser(w, r, p, id, status, v, "") })
	}
	return Redirect(w, r, userURL(id), "已授权")
}

// grantRemove may take away the last grant that put the account in the caller's charge; the
// caller then goes back to the list, since the account's page would be not found.
func (s *Server) grantRemove(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	g := auth.GrantInput{Role: auth.RoleKey(r.PostFormValue("role"))}
	if g.OrgID, err = strconv.ParseInt(r.PostFormValue("org_id"), 10, 64); err != nil {
		return errs.Invalid("org_id", "组织编号无效")
	}
	if err := s.cfg.Auth.RemoveGrant(r.Context(), p, id, g); err != nil {
		return FormFailed(r, err, func(status int, v View) error { return s.renderUser(w, r, p, id, status, v, "") })
	}
	if _, err := s.cfg.Auth.GetUser(r.Context(), p, id); errs.Is(err, errs.KindNotFound) {
		return Redirect(w, r, "/users", "已取消授权；该账号已不在您的管理范围内")
	} else if err != nil {
		return err
	}
	return Redirect(w, r, userURL(id), "已取消授权")
}

// roleView is a built-in role as the roles page and API show it.
type roleView struct {
	Key         auth.RoleKey     `json:"key"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	SelfOnly    bool             `json:"self_only"`
	Permissions []permissionView `json:"permissions"`
}

type permissionView struct {
	Key  auth.Permission `json:"key"`
	Name string          `json:"name"`
}

func roleViews() []roleView {
	names := map[auth.Permission]string{}
	for _, info := range auth.Permissions() {
		names[info.Key] = info.Name
	}
	var out []roleView
	for _, role := range auth.Roles() {
		rv := roleView{Key: role.Key, Name: role.Name, Description: role.Description, SelfOnly: role.SelfOnly,
			Permissions: []permissionView{}}
		for _, perm := range role.Permissions {
			rv.Permissions = append(rv.Permissions, permissionView{Key: perm, Name: names[perm]})
		}
		out = append(out, rv)
	}
	return out
}

func (s *Server) rolesPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.Render(w, r, http.StatusOK, s.layout, "roles", View{Title: "角色与权限", Active: "users", Data: roleViews()})
}

// API

type grantRequest struct {
	Role  auth.RoleKey `json:"role"`
	OrgID int64        `json:"org_id"`
}

type newUserRequest struct {
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
	PersonID    int64          `json:"person_id"`
	Password    string         `json:"password"`
	Grants      []grantRequest `json:"grants"`
}

// createdUser is a new account with its generated password, present only when one was generated.
type createdUser struct {
	auth.User
	Password string `json:"password,omitempty"`
}

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := userFilter(r)
	if err != nil {
		return err
	}
	users, next, err := s.cfg.Auth.ListUsers(r.Context(), p, f)
	if err != nil {
		return err
	}
	WriteList(w, users, next)
	return nil
}

func (s *Server) apiUserCreate(ctx context.Context, p *auth.Principal, req newUserRequest) (createdUser, error) {
	in := auth.NewUser{Username: req.Username, DisplayName: req.DisplayName, PersonID: req.PersonID, Password: req.Password}
	for _, g := range req.Grants {
		in.Grants = append(in.Grants, auth.GrantInput(g))
	}
	u, generated, err := s.cfg.Auth.CreateUser(ctx, p, in)
	return createdUser{User: u, Password: generated}, err
}

func (s *Server) apiGrantAdd(ctx context.Context, p *auth.Principal, id int64, req grantRequest) (auth.User, error) {
	return s.userAfter(ctx, p, id, s.cfg.Auth.AddGrant(ctx, p, id, auth.GrantInput(req)))
}

// userAfter is account id as a change to it left it, or the change's error.
func (s *Server) userAfter(ctx context.Context, p *auth.Principal, id int64, err error) (auth.User, error) {
	if err != nil {
		return auth.User{}, err
	}
	return s.cfg.Auth.GetUser(ctx, p, id)
}

// apiGrantRemove answers 204: the account may have left the caller's charge with the grant.
func (s *Server) apiGrantRemove(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	var req grantRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.cfg.Auth.RemoveGrant(r.Context(), p, id, auth.GrantInput(req)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiPasswordReset(ctx context.Context, p *auth.Principal, id int64) (map[string]string, error) {
	password, err := s.cfg.Auth.ResetPassword(ctx, p, id)
	return map[string]string{"password": password}, err
}

// apiUserChange is the API handler of a change to account {id}; it answers with the account.
func (s *Server) apiUserChange(change accountChange) HandlerFunc {
	return ByID(func(ctx context.Context, p *auth.Principal, id int64) (auth.User, error) {
		return s.userAfter(ctx, p, id, change(ctx, p, id))
	})
}

func (s *Server) apiRoles(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	WriteList(w, roleViews(), 0)
	return nil
}
