package appraisal

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/web"
)

// The district's page of the merged pools of its small units for a quarter: which units'
// pools are small and where they stand, the merged gradings in force with their people
// ranked, a form to grade merged (again), and one to decide each merged tie with a reason.
func (h *Handlers) registerMerges() {
	s := h.srv
	s.Page("GET /appraisal/merges", PermView, h.mergesPage)
	s.Page("POST /appraisal/merges", PermManage, h.mergeSubmit)
	s.Page("POST /appraisal/merges/ties", PermManage, h.mergeTieSubmit)
}

type mergesView struct {
	OrgID        int64
	OrgName      string
	Quarter      string
	QuarterLabel string
	Small        []SmallPool
	Pools        []MergedPool
	Manage       bool
	Failed       string // the pool whose tie form was refused; "" for the merge form
}

// quarterOf reads ?quarter=, the current quarter in Shanghai by default.
func (h *Handlers) quarterOf(r *http.Request) string {
	if q := r.URL.Query().Get("quarter"); q != "" {
		return q
	}
	now := h.srv.DB().Now().In(store.Shanghai)
	return fmt.Sprintf("%dQ%d", now.Year(), (int(now.Month())+2)/3)
}

// orgOf reads ?org_id=, the caller's own organisation by default.
func orgOf(r *http.Request, p *auth.Principal) (int64, error) {
	orgID, err := web.QueryID(r, "org_id")
	if err == nil && orgID == 0 && len(p.Grants) > 0 {
		orgID = p.Grants[0].OrgID
	}
	return orgID, err
}

// visibleOrgOf loads the organisation of ?org_id= (the caller's own by default) for a page.
func (h *Handlers) visibleOrgOf(r *http.Request, p *auth.Principal) (orgRef, error) {
	orgID, err := orgOf(r, p)
	if err != nil {
		return orgRef{}, err
	}
	return visibleOrg(r.Context(), h.srv.DB(), p, PermView, orgID)
}

func (h *Handlers) mergesPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderMerges(w, r, p, http.StatusOK, web.View{}, "")
}

func (h *Handlers) renderMerges(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View, failed string) error {
	o, err := h.visibleOrgOf(r, p)
	if err != nil {
		return err
	}
	q, err := ParseQuarter(h.quarterOf(r))
	if err != nil {
		return err
	}
	data := mergesView{OrgID: o.id, OrgName: o.name, Quarter: q.String(), QuarterLabel: q.Label(), Failed: failed,
		Manage: p.Scope(PermManage).Covers(o.path)}
	if data.Small, err = h.svc.SmallPools(r.Context(), p, o.id, q.String()); err != nil {
		return err
	}
	if data.Pools, err = h.svc.MergedPools(r.Context(), p, o.id, q.String()); err != nil {
		return err
	}
	v.Title, v.Active, v.Data = o.name+" · "+q.Label()+" · 小单位合并评定", "appraisal", data
	return h.srv.Render(w, r, status, h.t, "merges", v)
}

// mergesURL is the page of an organisation's quarter.
func mergesURL(orgID, quarter string) string {
	return "/appraisal/merges?" + url.Values{"org_id": {orgID}, "quarter": {quarter}}.Encode()
}

// mergeFailed shows the page of the organisation and quarter the form was posted from, with
// the refusal next to the form that was refused.
func (h *Handlers) mergeFailed(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error, failed string) error {
	r.URL.RawQuery = url.Values{"org_id": {r.PostFormValue("org_id")}, "quarter": {r.PostFormValue("quarter")}}.Encode()
	return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderMerges(w, r, p, status, v, failed) })
}

func (h *Handlers) mergeSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := strconv.ParseInt(r.PostFormValue("org_id"), 10, 64)
	if err != nil {
		return errs.Invalid("org_id", "请指定组织")
	}
	pools, err := h.svc.MergePools(r.Context(), p, MergeInput{OrgID: orgID, Quarter: r.PostFormValue("quarter")})
	if err != nil {
		return h.mergeFailed(w, r, p, err, "")
	}
	var done []string
	for _, m := range pools {
		done = append(done, fmt.Sprintf("%s %d 人（“好”等次名额 %d 个）", m.Label, m.Size, m.Slots))
	}
	return web.Redirect(w, r, mergesURL(r.PostFormValue("org_id"), r.PostFormValue("quarter")), "已合并评定："+strings.Join(done, "；"))
}

func (h *Handlers) mergeTieSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := r.ParseForm(); err != nil {
		return errs.Invalid("", "表单无效")
	}
	in := MergeTieInput{Quarter: r.PostFormValue("quarter"), Pool: r.PostFormValue("pool"), Reason: r.PostFormValue("reason")}
	var err error
	if in.OrgID, err = strconv.ParseInt(r.PostFormValue("org_id"), 10, 64); err != nil {
		return errs.Invalid("org_id", "请指定组织")
	}
	in.MergeID, _ = strconv.ParseInt(r.PostFormValue("merge_id"), 10, 64)
	for _, s := range r.PostForm["winners"] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errs.Invalid("winners", "人员无效")
		}
		in.Winners = append(in.Winners, n)
	}
	m, err := h.svc.DecideMergedTie(r.Context(), p, in)
	if err != nil {
		return h.mergeFailed(w, r, p, err, in.Pool)
	}
	return web.Redirect(w, r, mergesURL(r.PostFormValue("org_id"), in.Quarter), "已决定"+m.Label+"合并评定池并列人员的等次")
}

// Count is how many of the merged pool have grade g (for pages).
func (m MergedPool) Count(g string) int { return m.Counts[Grade(g)] }

// CreatedText is when the grading was made, in Shanghai, as shown.
func (m MergedPool) CreatedText() string {
	t, err := store.ParseTime(m.CreatedAt)
	if err != nil {
		return m.CreatedAt
	}
	return t.In(store.Shanghai).Format("2006-01-02 15:04")
}

// StaleUnitNames lists the units whose scores changed since the grading, for pages.
func (m MergedPool) StaleUnitNames() string { return strings.Join(m.StaleUnits, "、") }

// ScoreText, JiText and DeText are the entry's numbers as shown.
func (e MergedEntry) ScoreText() string { return FormatScore(e.Composite) }
func (e MergedEntry) JiText() string    { return FormatScore(e.Ji) }
func (e MergedEntry) DeText() string    { return FormatScore(e.De) }

// BonusText is the 争先赛 bonus earned in the merged pool, "" when none.
func (e MergedEntry) BonusText() string {
	if n := e.Composite - e.Scored; n != 0 {
		return "+" + FormatScore(n)
	}
	return ""
}

// StatusText explains the grade.
func (e MergedEntry) StatusText() string { return e.Status.label(true) }
