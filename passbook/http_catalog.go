package passbook

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/web"
)

type catalogView struct {
	OrgID   int64
	OrgName string
	Items   []Item
	All     bool
	Next    string
	Manages bool
}

func (h *Handlers) catalogPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if !staff(p) {
		http.Redirect(w, r, "/passbook/claims/new", http.StatusSeeOther)
		return nil
	}
	orgID, err := h.orgOrDefault(r, p)
	if err != nil {
		return err
	}
	_, cursor, err := web.Paging(r)
	if err != nil {
		return err
	}
	o, err := h.orgs.GetOrg(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	all := r.URL.Query().Get("all") == "1"
	items, next, err := h.svc.ListItems(r.Context(), p, ItemFilter{OrgID: orgID, All: all, Cursor: cursor})
	if err != nil {
		return err
	}
	data := catalogView{OrgID: orgID, OrgName: o.Name, Items: items, All: all, Next: nextLink(r, next),
		Manages: p.Scope(PermManage).Covers(o.Path)}
	return h.render(w, r, http.StatusOK, "catalog", "积分事项清单 · "+o.Name, web.View{Data: data, Form: r.URL.Query()})
}

// itemFormView feeds the item form: for a new item the owning organisation, for a change the
// item with its history.
type itemFormView struct {
	OrgID      int64
	OrgName    string
	Item       *Item
	Categories []string
	Manages    bool
}

func (h *Handlers) itemNewPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	form := url.Values{"unit": {UnitOccasion}, "max_per_claim": {"1"}, "category": {Categories[0]}}
	return h.renderItemNew(w, r, p, http.StatusOK, web.View{Form: form})
}

func (h *Handlers) renderItemNew(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	orgID, err := h.orgOrDefault(r, p)
	if err != nil {
		return err
	}
	o, err := h.orgs.GetOrg(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	v.Data = itemFormView{OrgID: o.ID, OrgName: o.Name, Categories: Categories, Manages: true}
	return h.render(w, r, status, "item_new", "新增积分事项", v)
}

// termsFromForm reads the versioned part of the item form.
func termsFromForm(r *http.Request) (ItemTerms, error) {
	f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	t := ItemTerms{Name: f("name"), Category: f("category"), Unit: f("unit"), EvidenceRequired: f("evidence_required") == "1",
		Classes: SplitClasses(f("classes")), ValidFrom: f("valid_from"), ValidTo: f("valid_to")}
	for _, n := range []struct {
		field string
		dst   *int64
	}{{"points", &t.Points}, {"max_per_claim", &t.MaxPerClaim}, {"cap_day", &t.CapDay}, {"cap_month", &t.CapMonth}, {"cap_year", &t.CapYear}} {
		v := f(n.field)
		if v == "" {
			continue
		}
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return t, errs.Invalid(n.field, "请填写整数")
		}
		*n.dst = x
	}
	return t, nil
}

func (h *Handlers) itemCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, _ := strconv.ParseInt(r.PostFormValue("org_id"), 10, 64)
	terms, err := termsFromForm(r)
	if err == nil {
		var it Item
		if it, err = h.svc.CreateItem(r.Context(), p, ItemInput{OrgID: orgID, Code: r.PostFormValue("code"), ItemTerms: terms}); err == nil {
			return web.Redirect(w, r, "/passbook/items/"+strconv.FormatInt(it.ID, 10), "已新增积分事项 "+it.Code)
		}
	}
	r.URL.RawQuery = "org_id=" + strconv.FormatInt(orgID, 10)
	return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderItemNew(w, r, p, status, v) })
}

func (h *Handlers) itemPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderItem(w, r, p, http.StatusOK, web.View{})
}

func (h *Handlers) renderItem(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	it, err := h.svc.GetItem(r.Context(), p, id)
	if err != nil {
		return err
	}
	if v.Form == nil {
		v.Form = itemForm(it)
	}
	v.Data = itemFormView{OrgID: it.OrgID, OrgName: it.OrgName, Item: &it, Categories: Categories,
		Manages: p.Scope(PermManage).Covers(it.orgPath)}
	return h.render(w, r, status, "item", "积分事项 "+it.Code+" "+it.Name, v)
}

// itemForm fills the change form with the current version.
func itemForm(it Item) url.Values {
	n := func(x int64) []string { return []string{strconv.FormatInt(x, 10)} }
	form := url.Values{"name": {it.Name}, "category": {it.Category}, "points": n(it.Points), "unit": {it.Unit},
		"max_per_claim": n(it.MaxPerClaim), "cap_day": n(it.CapDay), "cap_month": n(it.CapMonth), "cap_year": n(it.CapYear),
		"classes": {strings.Join(it.Classes, "、")}, "valid_from": {it.ValidFrom}, "valid_to": {it.ValidTo}}
	if it.EvidenceRequired {
		form.Set("evidence_required", "1")
	}
	return form
}

func (h *Handlers) itemUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	terms, err := termsFromForm(r)
	if err == nil {
		if _, err = h.svc.UpdateItem(r.Context(), p, id, terms); err == nil {
			return web.Redirect(w, r, "/passbook/items/"+strconv.FormatInt(id, 10), "已保存，已生成新版本")
		}
	}
	return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderItem(w, r, p, status, v) })
}

func (h *Handlers) itemArchive(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	it, err := h.svc.ArchiveItem(r.Context(), p, id)
	if err != nil {
		return err
	}
	return web.Redirect(w, r, "/passbook/items?org_id="+strconv.FormatInt(it.OrgID, 10), "已停用积分事项 "+it.Code)
}
