package passbook

import (
	"embed"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/web"
)

//go:embed all:templates
var templates embed.FS

//go:embed openapi
var apiDocs embed.FS

// Handlers are the Red Passbook's pages and API.
type Handlers struct {
	srv  *web.Server
	svc  *Service
	orgs *org.Service
	t    *web.Templates
}

// Register adds the Red Passbook's routes, menu and API description to the server.
func Register(srv *web.Server, svc *Service, orgs *org.Service) *Handlers {
	h := &Handlers{srv: srv, svc: svc, orgs: orgs, t: srv.Templates(templates, "templates")}
	srv.Menu(web.NavItem{Key: "passbook", Label: "红色存折", Href: "/passbook", Perm: PermView, Order: 40})
	web.LabelActions(map[string]string{
		"passbook.open": "开立存折", "passbook.state": "变更存折状态", "passbook.settings": "修改存折设置",
		"passbook.reverse": "冲正",
	})
	h.registerPassbooks()
	h.registerClaims()
	h.registerStore()
	h.registerReports()
	h.registerActivities()
	return h
}

func (h *Handlers) registerPassbooks() {
	s := h.srv
	s.Page("GET /passbook", PermView, h.home)
	s.Page("GET /passbook/me", PermView, h.mine)
	s.Page("GET /passbook/passbooks/{id}", PermView, h.passbookPage)
	s.Page("GET /passbook/open", PermManage, h.openPage)
	s.Page("POST /passbook/passbooks", PermManage, h.openSubmit)
	s.Page("POST /passbook/passbooks/{id}/state", PermManage, h.stateSubmit)
	s.Page("GET /passbook/settings", PermManage, h.settingsPage)
	s.Page("POST /passbook/settings", PermManage, h.settingsSubmit)
	s.Page("POST /passbook/passbooks/{id}/reverse", PermCorrect, h.reverseSubmit)

	s.API("GET /api/v1/passbook/passbooks", PermView, h.apiPassbooks)
	s.API("POST /api/v1/passbook/passbooks", PermManage, web.Body(http.StatusCreated, h.svc.OpenPassbook))
	s.API("GET /api/v1/passbook/passbooks/{id}", PermView, web.ByID(h.svc.GetPassbook))
	s.API("POST /api/v1/passbook/passbooks/{id}/state", PermManage, web.BodyByID(http.StatusOK, h.apiState))
	s.API("GET /api/v1/passbook/passbooks/{id}/entries", PermView, h.apiEntries)
	s.API("GET /api/v1/passbook/settings", PermView, h.apiSettings)
	s.API("PUT /api/v1/passbook/settings", PermManage, h.apiSetSettings)
	s.API("POST /api/v1/passbook/transactions/{id}/reverse", PermCorrect, web.BodyByID(http.StatusCreated, h.apiReverse))
	s.Document(apiDocs, "openapi/passbooks.json")
}

// staff reports whether p works on passbooks of others rather than only their own.
func staff(p *auth.Principal) bool {
	sc := p.Scope(PermView)
	return sc.All || len(sc.Paths) > 0
}

// home sends members to their own passbook and shows staff the passbooks in their care.
func (h *Handlers) home(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if !staff(p) {
		http.Redirect(w, r, "/passbook/me", http.StatusSeeOther)
		return nil
	}
	q := r.URL.Query()
	f := PassbookFilter{State: q.Get("state"), Query: q.Get("q")}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return err
	}
	if f.OrgID, err = web.QueryID(r, "org_id"); err != nil {
		return err
	}
	list, next, err := h.svc.ListPassbooks(r.Context(), p, f)
	if err != nil {
		return err
	}
	data := struct {
		Passbooks []Passbook
		Next      string
	}{Passbooks: list}
	if next != 0 {
		q.Set("cursor", strconv.FormatInt(next, 10))
		data.Next = "/passbook?" + q.Encode()
	}
	return h.srv.Render(w, r, http.StatusOK, h.t, "passbooks", web.View{Title: "红色存折", Active: "passbook", Data: data, Form: r.URL.Query()})
}

// mine is a member's own passbook on their phone: balances and the latest lines.
func (h *Handlers) mine(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	books, err := h.svc.MyPassbooks(r.Context(), p)
	if err != nil {
		return err
	}
	type book struct {
		Passbook
		Lines    []Line
		Standing MyStanding // this year's, so the cover shows the rank beside the balances
	}
	var data []book
	for _, b := range books {
		lines, err := h.svc.Latest(r.Context(), p, b.ID, 10)
		if err != nil {
			return err
		}
		standing, err := h.svc.MyRank(r.Context(), p, b.ID, "")
		if err != nil {
			return err
		}
		data = append(data, book{b, lines, standing})
	}
	return h.srv.Render(w, r, http.StatusOK, h.t, "mine", web.View{Title: "我的红色存折", Active: "passbook", Data: data})
}

func (h *Handlers) passbookPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderPassbook(w, r, p, http.StatusOK, web.View{})
}

func (h *Handlers) renderPassbook(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	b, err := h.svc.GetPassbook(r.Context(), p, id)
	if err != nil {
		return err
	}
	_, cursor, err := web.Paging(r)
	if err != nil {
		return err
	}
	lines, next, err := h.svc.Statement(r.Context(), p, id, cursor, 50)
	if err != nil {
		return err
	}
	data := struct {
		Passbook Passbook
		Lines    []Line
		Next     string
	}{Passbook: b, Lines: lines}
	if next != 0 {
		data.Next = r.URL.Path + "?cursor=" + strconv.FormatInt(next, 10)
	}
	v.Title, v.Active, v.Data = "存折 "+b.Number, "passbook", data
	return h.srv.Render(w, r, status, h.t, "passbook", v)
}

func (h *Handlers) openPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.srv.Render(w, r, http.StatusOK, h.t, "open", web.View{Title: "开立存折", Active: "passbook",
		Form: url.Values{"class": {"离退休党员"}, "person_id": {r.URL.Query().Get("person_id")}}})
}

// openFromForm reads the open form: the person is found by 身份证号 (or comes as an id from a
// person's page), the community is typed as a path or code or left to the person's own.
func (h *Handlers) openFromForm(r *http.Request, p *auth.Principal) (OpenInput, error) {
	in := OpenInput{Number: r.PostFormValue("number"), Class: r.PostFormValue("class"), OpenedOn: r.PostFormValue("opened_on")}
	if id := strings.TrimSpace(r.PostFormValue("person_id")); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return in, errs.Invalid("id_number", "人员编号无效")
		}
		in.PersonID = n
	} else {
		pe, err := h.orgs.FindPersonByIDNumber(r.Context(), p, PermManage, r.PostFormValue("id_number"))
		if err != nil {
			return in, err
		}
		in.PersonID = pe.ID
	}
	if text := strings.TrimSpace(r.PostFormValue("org")); text != "" {
		o, err := h.orgs.ResolveOrg(r.Context(), p, text)
		if err != nil {
			return in, errs.Invalid("org", "%s", errs.As(err).Message)
		}
		in.OrgID = o.ID
	}
	return in, nil
}

func (h *Handlers) openSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	in, err := h.openFromForm(r, p)
	if err == nil {
		var b Passbook
		if b, err = h.svc.OpenPassbook(r.Context(), p, in); err == nil {
			return web.Redirect(w, r, "/passbook/passbooks/"+strconv.FormatInt(b.ID, 10), "已开立存折 "+b.Number)
		}
	}
	return web.FormFailed(r, err, func(status int, v web.View) error {
		v.Title, v.Active = "开立存折", "passbook"
		return h.srv.Render(w, r, status, h.t, "open", v)
	})
}

func (h *Handlers) stateSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := h.svc.SetPassbookState(r.Context(), p, id, r.PostFormValue("state"), r.PostFormValue("reason")); err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderPassbook(w, r, p, status, v) })
	}
	return web.Redirect(w, r, "/passbook/passbooks/"+strconv.FormatInt(id, 10), "存折状态已更新")
}

// reverseSubmit corrects one transaction picked on the passbook's page.
func (h *Handlers) reverseSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	txID, err := strconv.ParseInt(r.PostFormValue("tx"), 10, 64)
	if err == nil {
		_, err = h.svc.Reverse(r.Context(), p, txID, r.PostFormValue("reason"))
	} else {
		err = errs.Invalid("tx", "请选择要冲正的交易")
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderPassbook(w, r, p, status, v) })
	}
	return web.Redirect(w, r, "/passbook/passbooks/"+strconv.FormatInt(id, 10), "已冲正")
}

type settingsView struct {
	Org      org.Org
	Settings Settings
}

func (h *Handlers) settingsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderSettings(w, r, p, http.StatusOK, web.View{})
}

func (h *Handlers) renderSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	orgID, err := web.QueryID(r, "org_id")
	if err != nil {
		return err
	}
	if orgID == 0 {
		roots, err := h.orgs.Children(r.Context(), p, 0, false)
		if err != nil || len(roots) == 0 {
			return errs.NotFound("没有可设置的组织")
		}
		orgID = roots[0].ID
	}
	o, err := h.orgs.GetOrg(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	set, err := h.svc.GetSettings(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	v.Title, v.Active, v.Data = "存折设置 · "+o.Name, "passbook", settingsView{Org: o, Settings: set}
	return h.srv.Render(w, r, status, h.t, "settings", v)
}

func settingsFromForm(r *http.Request) (Settings, error) {
	f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	set := Settings{
		SecondReview: f("second_review") == "1", DeductionsReduceDeposit: f("deductions_reduce_deposit") == "1",
		RankingsPublic: f("rankings_public") == "1", DepositExpiry: f("deposit_expiry"),
	}
	var err error
	if set.FenPerPoint, err = strconv.ParseInt(f("fen_per_point"), 10, 64); err != nil {
		return set, errs.Invalid("fen_per_point", "折算比例应为整数（分）")
	}
	if set.PublicityDays, err = strconv.Atoi(f("publicity_days")); err != nil {
		return set, errs.Invalid("publicity_days", "公示天数应为整数")
	}
	if v := f("expiry_months"); v != "" {
		if set.ExpiryMonths, err = strconv.Atoi(v); err != nil {
			return set, errs.Invalid("expiry_months", "有效月数应为整数")
		}
	}
	return set, nil
}

func (h *Handlers) settingsSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := strconv.ParseInt(r.PostFormValue("org_id"), 10, 64)
	if err != nil {
		return errs.Invalid("org_id", "组织无效")
	}
	set, err := settingsFromForm(r)
	if err == nil {
		_, err = h.svc.SetSettings(r.Context(), p, orgID, set)
	}
	if err != nil {
		r.URL.RawQuery = "org_id=" + strconv.FormatInt(orgID, 10)
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderSettings(w, r, p, status, v) })
	}
	return web.Redirect(w, r, "/passbook/settings?org_id="+strconv.FormatInt(orgID, 10), "设置已保存")
}
