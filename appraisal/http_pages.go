package appraisal

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/web"
)

func (h *Handlers) registerPages() {
	s := h.srv
	s.Page("GET /appraisal", PermView, h.homePage)
	s.Page("POST /appraisal/cycles", PermManage, h.openSubmit)
	s.Page("GET /appraisal/cycles/{id}", PermView, h.cyclePage)
	s.Page("POST /appraisal/cycles/{id}/compute", PermManage, h.computeSubmit)
	s.Page("POST /appraisal/cycles/{id}/ties", PermManage, h.tieSubmit)
	s.Page("POST /appraisal/cycles/{id}/links", PermManage, h.linksSubmit)
	s.Page("POST /appraisal/cycles/{id}/steps", PermManage, h.stepSubmit)
	s.Page("GET /appraisal/oversight", PermView, h.oversightPage)
	s.Public("GET /appraisal/rate/{token}", "干部群众测评表（手机）", h.ratePage)
	s.Public("POST /appraisal/rate/{token}", "提交干部群众测评", h.rateSubmit)
	h.registerForms()
	h.registerMerges()
}

// homePage lists the cycles in the caller's care.
func (h *Handlers) homePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderHome(w, r, p, http.StatusOK, web.View{Form: r.URL.Query()})
}

func (h *Handlers) renderHome(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	f := CycleFilter{Quarter: r.URL.Query().Get("quarter")}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return err
	}
	cycles, next, err := h.svc.ListCycles(r.Context(), p, f)
	if err != nil {
		return err
	}
	data := struct {
		Cycles []Cycle
		Next   string
	}{Cycles: cycles}
	if next != 0 {
		q := r.URL.Query()
		q.Set("cursor", strconv.FormatInt(next, 10))
		data.Next = "/appraisal?" + q.Encode()
	}
	v.Title, v.Active, v.Data = "公务员平时考核", "appraisal", data
	return h.srv.Render(w, r, status, h.t, "appraisal", v)
}

// openSubmit opens a unit's quarter; the unit is typed as a path or code.
func (h *Handlers) openSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var c Cycle
	o, err := h.orgs.ResolveOrg(r.Context(), p, r.PostFormValue("org"))
	if err != nil {
		err = errs.Invalid("org", "%s", errs.As(err).Message)
	} else {
		c, err = h.svc.OpenCycle(r.Context(), p, CycleInput{OrgID: o.ID, Quarter: r.PostFormValue("quarter")})
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderHome(w, r, p, status, v) })
	}
	return web.Redirect(w, r, "/appraisal/cycles/"+strconv.FormatInt(c.ID, 10), "已开启"+c.OrgName+c.QuarterLabel+"的平时考核")
}

// poolView is one pool on the cycle page: its summary and its people, best first.
type poolView struct {
	PoolSummary
	Results []Result
}

type cycleView struct {
	Cycle   Cycle
	Pools   []poolView
	Missing []Result
	Links   []IssuedLink
	Stats   LinkStats
	Manage  bool
	Reviews []Review
	Grades  []Grade
}

func (h *Handlers) cyclePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderCycle(w, r, p, http.StatusOK, web.View{}, nil)
}

func (h *Handlers) renderCycle(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View, links []IssuedLink) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	c, err := h.svc.GetCycle(r.Context(), p, id)
	if err != nil {
		return err
	}
	data := cycleView{Cycle: c, Links: links, Grades: Grades()}
	if data.Reviews, err = h.svc.Reviews(r.Context(), p, id); err != nil {
		return err
	}
	if c.Summary != nil {
		results, err := h.svc.Results(r.Context(), p, ResultFilter{CycleID: id})
		if err != nil {
			return err
		}
		for _, ps := range c.Summary.Pools {
			pv := poolView{PoolSummary: ps}
			for _, res := range results {
				if res.Pool == ps.Pool && res.Status != StatusMissing {
					pv.Results = append(pv.Results, res)
				}
			}
			data.Pools = append(data.Pools, pv)
		}
		for _, res := range results {
			if res.Status == StatusMissing {
				data.Missing = append(data.Missing, res)
			}
		}
	}
	if st, err := h.svc.LinkStats(r.Context(), p, id); err == nil {
		data.Stats, data.Manage = st, true
	} else if !errs.Is(err, errs.KindForbidden) && !errs.Is(err, errs.KindNotFound) {
		return err
	}
	v.Title, v.Active, v.Data = c.OrgName+" · "+c.QuarterLabel+"平时考核", "appraisal", data
	return h.srv.Render(w, r, status, h.t, "cycle", v)
}

func (h *Handlers) computeSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := h.svc.ComputeResults(r.Context(), p, id); err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderCycle(w, r, p, status, v, nil) })
	}
	return web.Redirect(w, r, "/appraisal/cycles/"+strconv.FormatInt(id, 10), "已计算考核结果")
}

func (h *Handlers) tieSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return errs.Invalid("", "表单无效")
	}
	in := TieInput{Pool: r.PostFormValue("pool"), Reason: r.PostFormValue("reason")}
	for _, s := range r.PostForm["winners"] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errs.Invalid("winners", "人员无效")
		}
		in.Winners = append(in.Winners, n)
	}
	if _, err := h.svc.DecideTie(r.Context(), p, id, in); err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderCycle(w, r, p, status, v, nil) })
	}
	return web.Redirect(w, r, "/appraisal/cycles/"+strconv.FormatInt(id, 10), "已决定并列人员的等次")
}

// linksSubmit issues links and shows them on the cycle page this once.
func (h *Handlers) linksSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("count")))
	if err != nil {
		err = errs.Invalid("count", "链接数量应为整数")
	}
	var links []IssuedLink
	if err == nil {
		links, err = h.svc.IssueLinks(r.Context(), p, id, LinksInput{Count: n})
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderCycle(w, r, p, status, v, nil) })
	}
	return h.renderCycle(w, r, p, http.StatusOK, web.View{Flash: "已生成 " + strconv.Itoa(len(links)) + " 个测评链接，请立即分发；离开本页后不再显示"}, links)
}

// rateView is the phone form of a link.
type rateView struct {
	Token string
	Form  RatingForm
	Dims  []Dim
	Done  int // people rated, once submitted
}

func (h *Handlers) ratePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	form, err := h.svc.LinkForm(r.Context(), token)
	h.renderRate(w, r, web.View{}, rateView{Token: token, Form: form, Dims: Dims()}, err)
}

func (h *Handlers) renderRate(w http.ResponseWriter, r *http.Request, v web.View, data rateView, err error) {
	status := http.StatusOK
	if err != nil {
		status = web.StatusFor(err)
		if !web.FormErrors(&v, err) {
			h.srv.Log().Error("appraisal rating page", "route", r.Pattern, "err", err.Error())
			v.Error = errs.As(err).Message
		}
	}
	v.Title, v.Data = "干部群众测评", data
	if rerr := h.srv.Render(w, r, status, h.t, "rate", v); rerr != nil {
		h.srv.Log().Error("render appraisal rating page", "err", rerr.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// rateSubmit reads the phone form: a person whose five boxes are all empty is left unrated.
func (h *Handlers) rateSubmit(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	data := rateView{Token: token, Dims: Dims()}
	form, err := h.svc.LinkForm(r.Context(), token)
	if err != nil {
		h.renderRate(w, r, web.View{}, data, err)
		return
	}
	data.Form = form
	in, err := ratingsFromForm(r, form)
	if err == nil {
		var receipt MassRatingReceipt
		if receipt, err = h.svc.RateByLink(r.Context(), token, in); err == nil {
			data.Done = receipt.Rated
		}
	}
	v := web.View{Form: r.PostForm}
	if err == nil {
		v.Form = url.Values{}
	}
	h.renderRate(w, r, v, data, err)
}

func ratingsFromForm(r *http.Request, form RatingForm) (MassRatingInput, error) {
	var in MassRatingInput
	for _, a := range form.Ratees {
		var sc DimValues
		filled := 0
		for _, d := range Dims() {
			field := "s." + strconv.FormatInt(a.PersonID, 10) + "." + d.Key()
			s := strings.TrimSpace(r.PostFormValue(field))
			if s == "" {
				continue
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 || n > 100 {
				return in, errs.Invalid(field, "%s的%s评分应为 0 到 100 的整数", a.Name, d.Label())
			}
			sc[d] = n
			filled++
		}
		switch filled {
		case 0:
			continue
		case len(Dims()):
			in.Ratings = append(in.Ratings, RateeScores{PersonID: a.PersonID, Scores: sc})
		default:
			return in, errs.Invalid("s."+strconv.FormatInt(a.PersonID, 10)+".de", "请为%s的德、能、勤、绩、廉五项都打分，或全部留空", a.Name)
		}
	}
	if len(in.Ratings) == 0 {
		return in, errs.Invalid("", "请至少为一人评分")
	}
	return in, nil
}

// stepSubmit closes the step under way.
func (h *Handlers) stepSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("step")))
	if err != nil {
		err = errs.Invalid("step", "步骤应为 1 到 7")
	}
	var pr Progress
	if err == nil {
		pr, err = h.svc.CloseStep(r.Context(), p, id, StepInput{Step: n})
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderCycle(w, r, p, status, v, nil) })
	}
	return web.Redirect(w, r, "/appraisal/cycles/"+strconv.FormatInt(id, 10), "第"+strconv.Itoa(n)+"步“"+StepName(n)+"”已结束，现为"+pr.String())
}

// oversightPage is the district's page of its units' quarter: ?org_id=&quarter= (the current
// quarter and the caller's own organisation by default).
func (h *Handlers) oversightPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderOversight(w, r, p, http.StatusOK, web.View{Form: r.URL.Query()})
}

func (h *Handlers) renderOversight(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	orgID, err := orgOf(r, p)
	if err != nil {
		return err
	}
	out, err := h.svc.Oversight(r.Context(), p, orgID, h.quarterOf(r))
	if err != nil {
		return err
	}
	v.Title, v.Active, v.Data = out.OrgName+" · "+out.QuarterLabel+"平时考核监督", "appraisal", out
	return h.srv.Render(w, r, status, h.t, "oversight", v)
}
