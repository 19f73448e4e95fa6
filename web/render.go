package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
)

//go:embed all:templates
var shellTemplates embed.FS

// Templates are one room's pages, each parsed together with the shared layout.
type Templates struct {
	pages map[string]*template.Template
}

// View is what a page template receives. Handlers fill the first fields; Render adds the
// caller and the navigation.
type View struct {
	Title  string
	Active string // key of the highlighted navigation item
	Data   any
	Flash  string
	Error  string            // a message for the whole form
	Fields map[string]string // field name → message
	Form   url.Values        // what the user typed, to refill a refused form
	P      *auth.Principal
	Nav    []NavItem
}

// NavItem is one entry of the main navigation.
type NavItem struct {
	Key   string
	Label string
	Href  string
	Perm  auth.Permission // shown when the caller holds it somewhere; "" = everyone
	Order int
	// Show, when set, also decides from the caller's own records: a page about one's own
	// appraisal is no use to a retired member who is appraised nowhere.
	Show func(ctx context.Context, p *auth.Principal) bool
}

// Menu adds an item to the main navigation.
func (s *Server) Menu(item NavItem) {
	s.menu = append(s.menu, item)
	for i := len(s.menu) - 1; i > 0 && s.menu[i].Order < s.menu[i-1].Order; i-- {
		s.menu[i], s.menu[i-1] = s.menu[i-1], s.menu[i]
	}
}

func (s *Server) navFor(ctx context.Context, p *auth.Principal) []NavItem {
	var out []NavItem
	for _, it := range s.menu {
		if (it.Perm == "" || p.Can(it.Perm)) && (it.Show == nil || it.Show(ctx, p)) {
			out = append(out, it)
		}
	}
	return out
}

// Templates parses the pages of a room: every *.html file under dir is a page, except files
// starting with "_", which are partials shared by the room's pages. Each page defines
// "content" and may define "title" and "head".
func (s *Server) Templates(fsys fs.FS, dir string) *Templates {
	base := template.Must(template.New("").Funcs(s.funcs()).ParseFS(shellTemplates, "templates/_*.html"))
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("web: templates in %s: %v", dir, err))
	}
	var partials, pages []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".html") {
			continue
		}
		if strings.HasPrefix(name, "_") {
			partials = append(partials, path.Join(dir, name))
		} else {
			pages = append(pages, path.Join(dir, name))
		}
	}
	t := &Templates{pages: map[string]*template.Template{}}
	for _, page := range pages {
		pt := template.Must(base.Clone())
		if len(partials) > 0 {
			template.Must(pt.ParseFS(fsys, partials...))
		}
		template.Must(pt.ParseFS(fsys, page))
		t.pages[strings.TrimSuffix(path.Base(page), ".html")] = pt
	}
	return t
}

// Render writes a full page. The template runs into a buffer first, so a template failure is a
// clean 500 rather than half a page.
func (s *Server) Render(w http.ResponseWriter, r *http.Request, status int, t *Templates, name string, v View) error {
	pt, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("web: no page template %q", name)
	}
	if p, _ := r.Context().Value(principalKey{}).(*auth.Principal); p != nil && v.P == nil {
		v.P = p
	}
	if v.P != nil {
		v.Nav = s.navFor(r.Context(), v.P)
	}
	if v.Flash == "" {
		v.Flash = takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := pt.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// RenderBlock writes one named block of a page (for htmx partial updates).
func (s *Server) RenderBlock(w http.ResponseWriter, t *Templates, name, block string, data any) error {
	pt, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("web: no page template %q", name)
	}
	var buf bytes.Buffer
	if err := pt.ExecuteTemplate(&buf, block, data); err != nil {
		return fmt.Errorf("web: render %s/%s: %w", name, block, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := buf.WriteTo(w)
	return err
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error) {
	e, status := classify(err)
	if e.Kind == errs.KindUnauthenticated {
		s.toLogin(w, r)
		return
	}
	v := View{Title: "出错了", Error: e.Message, P: p, Data: status}
	if rerr := s.Render(w, r, status, s.layout, "error", v); rerr != nil {
		s.log.Error("render error page", "err", rerr.Error())
		http.Error(w, e.Message, status)
	}
}

// Redirect answers a successful form post: back to a page, with a message shown there once.
func Redirect(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		http.SetCookie(w, &http.Cookie{Name: "flash", Value: url.QueryEscape(flash), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60})
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie("flash")
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: "flash", Path: "/", MaxAge: -1})
	msg, _ := url.QueryUnescape(c.Value)
	return msg
}

// FormErrors turns a service error into the view's error fields: field errors next to their
// input (every one of them when the service reports several), anything else at the top of the
// form. It reports false for internal errors, which the caller should return instead.
func FormErrors(v *View, err error) bool {
	e := errs.As(err)
	if e.Kind == errs.KindInternal {
		return false
	}
	if v.Fields == nil {
		v.Fields = map[string]string{}
	}
	problems := []error{err}
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		problems = multi.Unwrap()
	}
	for _, p := range problems {
		if pe := errs.As(p); pe.Field != "" && v.Fields[pe.Field] == "" {
			v.Fields[pe.Field] = pe.Message
		}
	}
	v.Error = "请修改标出的内容后重新提交"
	if len(v.Fields) == 0 {
		v.Error = e.Message
	}
	return true
}

// StatusFor is the HTTP status of a service error, for re-rendered forms.
func StatusFor(err error) int {
	_, status := classify(err)
	return status
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": s.static.url,
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(store.Shanghai).Format("2006-01-02 15:04")
		},
		"maskID":     org.MaskIDNumber,
		"maskMobile": org.MaskMobile,
		"yuan": func(fen int64) string {
			sign := ""
			if fen < 0 {
				sign, fen = "-", -fen
			}
			return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
		},
		"can": func(p *auth.Principal, perm string) bool { return p != nil && p.Can(auth.Permission(perm)) },
		"field": func(v View, name string) string {
			if v.Form == nil {
				return ""
			}
			return v.Form.Get(name)
		},
		"fieldErr":    func(v View, name string) string { return v.Fields[name] },
		"hasValue":    func(form url.Values, key, value string) bool { return slices.Contains(form[key], value) },
		"add":         func(a, b int) int { return a + b },
		"actionLabel": actionLabel,
	}
}

// actionLabels names audit actions in the viewer; rooms add theirs with LabelActions.
var actionLabels = map[string]string{
	"org.create": "新建组织", "org.update": "修改组织", "org.move": "移动组织",
	"org.archive": "归档组织", "org.restore": "恢复组织",
	"person.create": "新增人员", "person.update": "修改人员", "person.archive": "归档人员",
	"person.restore": "恢复人员", "person.membership_add": "添加任职", "person.membership_end": "结束任职",
	"people.import": "导入人员", "people.export": "导出人员",
	"user.create": "新建账号", "user.grant": "授权", "user.revoke": "取消授权",
	"user.disable": "停用账号", "user.enable": "启用账号", "user.unlock": "解除锁定",
	"user.reset_password": "重置密码", "user.set_password": "设置密码", "user.change_password": "修改密码",
	"auth.login": "登录", "auth.login_failed": "登录失败", "auth.logout": "退出",
	"token.create": "创建令牌", "token.revoke": "吊销令牌",
}

// LabelActions adds Chinese names for a room's audit actions.
func LabelActions(labels map[string]string) {
	for k, v := range labels {
		actionLabels[k] = v
	}
}

func actionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	return action
}
