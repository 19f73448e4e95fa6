package web

import (
	"net/http"
	"net/url"

	"grassroots/auth"
	"grassroots/errs"
)

// registerShell adds the foundation's own pages and API.
func (s *Server) registerShell() {
	s.Public("GET /login", "登录页", s.loginPage)
	s.Public("POST /login", "登录", s.loginSubmit)
	s.Page("POST /logout", "", s.logoutSubmit)
	s.Page("GET /password", "", s.passwordPage)
	s.Page("POST /password", "", s.passwordSubmit)

	s.Public("POST /api/v1/login", "登录", s.apiLogin)
	s.API("POST /api/v1/logout", "", s.apiLogout)
	s.API("GET /api/v1/me", "", s.apiMe)
	s.API("POST /api/v1/password", "", s.apiPassword)
	s.Document(apiDocs, "openapi/session.json")

	s.registerHome()
	s.registerOrgs()
	s.registerPeople()
	s.registerImport()
	s.registerUsers()
	s.registerAudit()
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	v := View{Title: "登录", Form: url.Values{"next": {r.URL.Query().Get("next")}}}
	if err := s.Render(w, r, http.StatusOK, s.layout, "login", v); err != nil {
		s.log.Error("render login", "err", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	sess, err := s.cfg.Auth.Login(r.Context(), username, password, clientIP(r), r.UserAgent())
	if err != nil {
		s.logIfInternal(r, err)
		v := View{Title: "登录", Form: url.Values{"username": {username}, "next": {r.PostFormValue("next")}}}
		FormErrors(&v, err)
		if rerr := s.Render(w, r, StatusFor(err), s.layout, "login", v); rerr != nil {
			s.log.Error("render login", "err", rerr.Error())
		}
		return
	}
	s.setSessionCookie(w, sess.Token)
	next := safeNext(r.PostFormValue("next"))
	if sess.MustChangePassword {
		next = "/password"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.cfg.Auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.Render(w, r, http.StatusOK, s.layout, "password", View{Title: "修改密码"})
}

func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	oldPw, newPw := r.PostFormValue("old_password"), r.PostFormValue("new_password")
	err := error(nil)
	if newPw != r.PostFormValue("confirm_password") {
		err = errs.Invalid("confirm_password", "两次输入的新密码不一致")
	} else {
		err = s.cfg.Auth.ChangePassword(r.Context(), p, oldPw, newPw)
	}
	if err != nil {
		v := View{Title: "修改密码", P: p}
		if !FormErrors(&v, err) {
			return err
		}
		return s.Render(w, r, StatusFor(err), s.layout, "password", v)
	}
	return Redirect(w, r, "/", "密码已修改")
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type meBody struct {
	ID                 int64             `json:"id"`
	Username           string            `json:"username"`
	PersonID           int64             `json:"person_id,omitempty"`
	MustChangePassword bool              `json:"must_change_password"`
	Grants             []grantBody       `json:"grants"`
	Permissions        []auth.Permission `json:"permissions"`
}

type grantBody struct {
	Role     auth.RoleKey `json:"role"`
	RoleName string       `json:"role_name"`
	OrgID    int64        `json:"org_id"`
	OrgName  string       `json:"org_name"`
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := DecodeJSON(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	sess, err := s.cfg.Auth.Login(r.Context(), req.Username, req.Password, clientIP(r), r.UserAgent())
	if err != nil {
		s.logIfInternal(r, err)
		writeError(w, r, err)
		return
	}
	s.setSessionCookie(w, sess.Token)
	p, err := s.cfg.Auth.Authenticate(r.Context(), sess.Token, clientIP(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, me(p))
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.cfg.Auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	WriteJSON(w, http.StatusOK, me(p))
	return nil
}

func me(p *auth.Principal) meBody {
	b := meBody{ID: p.UserID, Username: p.Username, PersonID: p.PersonID, MustChangePassword: p.MustChangePassword, Grants: []grantBody{}}
	for _, g := range p.Grants {
		b.Grants = append(b.Grants, grantBody{Role: g.Role.Key, RoleName: g.Role.Name, OrgID: g.OrgID, OrgName: g.OrgName})
	}
	for _, info := range auth.Permissions() {
		if p.Can(info.Key) {
			b.Permissions = append(b.Permissions, info.Key)
		}
	}
	return b
}

type passwordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

func (s *Server) apiPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req passwordRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.cfg.Auth.ChangePassword(r.Context(), p, req.OldPassword, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
