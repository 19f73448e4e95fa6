package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "grassroots_session"

type principalKey struct{}

// authenticate finds the caller from the session cookie or a bearer token. It returns nil and
// no error when the request carries neither.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	ip := clientIP(r)
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, errs.Unauthenticated("Authorization 头应为 Bearer 令牌")
		}
		return s.cfg.Auth.AuthenticateToken(r.Context(), strings.TrimSpace(token), ip)
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	return s.cfg.Auth.Authenticate(r.Context(), c.Value, ip)
}

// mayProceed applies the checks every signed-in route shares: a user with a generated password
// must change it first, and the route's permission must be held somewhere.
func mayProceed(r *http.Request, p *auth.Principal, perm auth.Permission) error {
	if p.MustChangePassword && !passwordChangeRoute(r) {
		return errs.Forbidden("请先修改初始密码")
	}
	if perm != "" && !p.Can(perm) {
		return errs.Forbidden("没有权限执行此操作")
	}
	return nil
}

func passwordChangeRoute(r *http.Request) bool {
	switch r.Pattern {
	case "GET /password", "POST /password", "POST /api/v1/password", "POST /logout", "POST /api/v1/logout", "GET /api/v1/me":
		return true
	}
	return false
}

func (s *Server) api(perm auth.Permission, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err == nil && p == nil {
			err = errs.Unauthenticated("请先登录")
		}
		if err == nil {
			err = mayProceed(r, p, perm)
		}
		if err == nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			err = h(w, r, p)
		}
		if err != nil {
			s.logIfInternal(r, err)
			writeError(w, r, err)
		}
	})
}

func (s *Server) page(perm auth.Permission, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if p == nil {
			if err != nil {
				s.clearSessionCookie(w)
			}
			s.toLogin(w, r)
			return
		}
		if p.MustChangePassword && !passwordChangeRoute(r) {
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		if err = mayProceed(r, p, perm); err == nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			err = h(w, r, p)
		}
		if err != nil {
			s.logIfInternal(r, err)
			s.renderError(w, r, p, err)
		}
	})
}

// toLogin sends the browser to the login page, remembering where it was going. An htmx request
// gets a header telling htmx to do a full redirect instead of swapping the login page in.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies,
	})
}

func (s *Server) logIfInternal(r *http.Request, err error) {
	if errs.KindOf(err) == errs.KindInternal {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err.Error())
	}
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
