package appraisal

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/web"
)

// The forms of the quarter's people: the appraisee's own page (个人小结, task reports, result
// and 复核), the target task lists (HR sets, the leader assesses), the leader's and HR's rating
// forms, HR's answers to reviews and the rectification orders. Each form posts to one service
// call and, when refused, comes back with the complaint next to its fields.
func (h *Handlers) registerForms() {
	s := h.srv
	h.registerResults()
	s.Menu(web.NavItem{Key: "appraisal-mine", Label: "我的考核", Href: "/appraisal/mine", Perm: PermSelf, Order: 51, Show: h.svc.Appraised})
	s.Page("GET /appraisal/mine", PermSelf, h.minePage)
	s.Page("GET /appraisal/mine/{id}", PermSelf, h.mineCyclePage)
	s.Page("POST /appraisal/mine/{id}/summary", PermSelf, h.summarySubmit)
	s.Page("POST /appraisal/mine/{id}/review", PermSelf, h.reviewSubmit)
	s.Page("POST /appraisal/tasks/{id}/report", PermSelf, h.reportSubmit)

	s.Page("GET /appraisal/cycles/{id}/tasks", PermView, h.tasksPage)
	s.Page("POST /appraisal/cycles/{id}/tasks", PermManage, h.taskSubmit)
	s.Page("POST /appraisal/tasks/{id}/assess", PermRate, h.assessSubmit)

	s.Page("GET /appraisal/cycles/{id}/rate", PermView, h.ratingPage)
	s.Page("POST /appraisal/cycles/{id}/rate", PermView, h.ratingSubmit)
	s.Page("POST /appraisal/cycles/{id}/reviews/answer", PermManage, h.answerSubmit)

	s.Page("GET /appraisal/rectifications", PermView, h.rectPage)
	s.Page("POST /appraisal/rectifications", PermManage, h.rectIssueSubmit)
	s.Page("POST /appraisal/rectifications/{id}/answer", PermManage, h.rectAnswerSubmit)
	s.Page("POST /appraisal/rectifications/{id}/close", PermManage, h.rectCloseSubmit)
}

// manages reports whether the caller is the HR office of a cycle they see.
func (h *Handlers) manages(r *http.Request, p *auth.Principal, cycleID int64) (bool, error) {
	_, err := loadCycle(r.Context(), h.srv.DB(), p, PermManage, cycleID)
	if errs.Is(err, errs.KindForbidden) || errs.Is(err, errs.KindNotFound) {
		return false, nil
	}
	return err == nil, err
}

func cyclePath(id int64) string { return "/appraisal/cycles/" + strconv.FormatInt(id, 10) }

// ---- the appraisee's own page ----

type mineView struct {
	Cycles   []MyCycle
	Cycle    *MyCycle
	Summary  string
	Tasks    []Task
	Feedback Feedback
	Failed   string // the form that was refused: "summary", "review" or a task id
}

func (h *Handlers) minePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	cycles, err := h.svc.MyCycles(r.Context(), p)
	if err != nil {
		return err
	}
	v := web.View{Title: "我的平时考核", Active: "appraisal-mine", Data: mineView{Cycles: cycles}}
	return h.srv.Render(w, r, http.StatusOK, h.t, "mine", v)
}

func (h *Handlers) mineCyclePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	return h.renderMine(w, r, p, id, http.StatusOK, web.View{}, "")
}

func (h *Handlers) renderMine(w http.ResponseWriter, r *http.Request, p *auth.Principal, id int64, status int, v web.View, failed string) error {
	ctx := r.Context()
	cycles, err := h.svc.MyCycles(ctx, p)
	if err != nil {
		return err
	}
	data := mineView{Failed: failed}
	for i := range cycles {
		if cycles[i].CycleID == id {
			data.Cycle = &cycles[i]
		}
	}
	if data.Cycle == nil {
		// Staff who see the cycle without being appraised in it go to its page.
		if err := taskCycle(ctx, h.srv.DB(), p, id); err != nil {
			return err
		}
		if _, err := loadCycle(ctx, h.srv.DB(), p, PermView, id); err != nil {
			return errs.NotFound("您不是该季度的考核对象")
		}
		return web.Redirect(w, r, cyclePath(id), "")
	}
	summaries, err := h.svc.SelfSummaries(ctx, p, id)
	if err != nil {
		return err
	}
	for _, s := range summaries {
		if s.PersonID == p.PersonID {
			data.Summary = s.Body
		}
	}
	if data.Tasks, err = h.svc.ListTasks(ctx, p, TaskFilter{CycleID: id, PersonID: p.PersonID}); err != nil {
		return err
	}
	if data.Feedback, err = h.svc.Feedback(ctx, p, id); err != nil {
		return err
	}
	v.Title, v.Active, v.Data = data.Cycle.OrgName+" · "+data.Cycle.QuarterLabel+" · 我的考核", "appraisal-mine", data
	return h.srv.Render(w, r, status, h.t, "mine", v)
}

// mineFailed re-renders the appraisee's page with a refused form.
func (h *Handlers) mineFailed(w http.ResponseWriter, r *http.Request, p *auth.Principal, id int64, err error, failed string) error {
	cycles, cerr := h.svc.MyCycles(r.Context(), p)
	if cerr != nil {
		return cerr
	}
	if !slices.ContainsFunc(cycles, func(c MyCycle) bool { return c.CycleID == id }) {
		return err // not their own page: the plain refusal
	}
	return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderMine(w, r, p, id, status, v, failed) })
}

func mineURL(id int64) string { return "/appraisal/mine/" + strconv.FormatInt(id, 10) }

func (h *Handlers) summarySubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := h.svc.WriteSelfSummary(r.Context(), p, id, SelfSummaryInput{Body: r.PostFormValue("body")}); err != nil {
		return h.mineFailed(w, r, p, id, err, "summary")
	}
	return web.Redirect(w, r, mineURL(id), "个人小结已保存")
}

func (h *Handlers) reviewSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := h.svc.RequestReview(r.Context(), p, id, ReviewRequest{Reason: r.PostFormValue("reason")}); err != nil {
		return h.mineFailed(w, r, p, id, err, "review")
	}
	return web.Redirect(w, r, mineURL(id), "已提交复核申请，组织人事部门答复后将在此显示")
}

func (h *Handlers) reportSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	t, err := loadTask(r.Context(), h.srv.DB(), p, id)
	if err != nil {
		return err
	}
	if _, err := h.svc.ReportTask(r.Context(), p, id, ReportInput{Completion: r.PostFormValue("completion"), Evidence: r.PostFormValue("evidence")}); err != nil {
		if p.PersonID != t.PersonID { // staff who see the task are sent back to its list
			return err
		}
		return h.mineFailed(w, r, p, t.CycleID, err, strconv.FormatInt(id, 10))
	}
	return web.Redirect(w, r, mineURL(t.CycleID), "已填报“"+t.Title+"”的完成情况")
}

// ---- target task lists ----

type tasksView struct {
	Cycle  Cycle
	Tasks  []Task
	Dims   []Dim
	Manage bool
	Failed string // "new" or the id of the task whose assessment was refused
}

func (h *Handlers) tasksPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderTasks(w, r, p, http.StatusOK, web.View{}, "")
}

func (h *Handlers) renderTasks(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View, failed string) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	c, err := h.svc.GetCycle(r.Context(), p, id)
	if err != nil {
		return err
	}
	tasks, err := h.svc.ListTasks(r.Context(), p, TaskFilter{CycleID: id})
	if err != nil {
		return err
	}
	manage, err := h.manages(r, p, id)
	if err != nil {
		return err
	}
	data := tasksView{Cycle: c, Tasks: tasks, Dims: []Dim{DimNeng, DimQin, DimJi}, Failed: failed, Manage: manage}
	v.Title, v.Active, v.Data = c.OrgName+" · "+c.QuarterLabel+" · 目标任务清单", "appraisal", data
	return h.srv.Render(w, r, status, h.t, "tasks", v)
}

func (h *Handlers) taskSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	in := TaskInput{CycleID: id, Dimension: r.PostFormValue("dimension"), Title: r.PostFormValue("title"),
		Standard: r.PostFormValue("standard"), Evidence: r.PostFormValue("evidence")}
	var ps problems
	if in.PersonID, err = strconv.ParseInt(r.PostFormValue("person_id"), 10, 64); err != nil {
		ps.add("person_id", "请选择考核对象")
	}
	if in.Weight, err = formInt(r, "weight"); err != nil {
		ps = append(ps, err)
	}
	if in.BaseScore, err = formInt(r, "base_score"); err != nil {
		ps = append(ps, err)
	}
	err = ps.err()
	if err == nil {
		_, err = h.svc.CreateTask(r.Context(), p, in)
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderTasks(w, r, p, status, v, "new") })
	}
	return web.Redirect(w, r, cyclePath(id)+"/tasks", "已制定目标任务“"+strings.TrimSpace(in.Title)+"”")
}

// formInt reads a whole number from a form field.
func formInt(r *http.Request, field string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue(field)), 10, 64)
	if err != nil {
		return 0, errs.Invalid(field, "请填写整数")
	}
	return n, nil
}

func (h *Handlers) assessSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	t, err := loadTask(r.Context(), h.srv.DB(), p, id)
	if err != nil {
		return err
	}
	in := AssessInput{Met: r.PostFormValue("met") == "1", Note: r.PostFormValue("note")}
	if !in.Met {
		in.Score, err = formInt(r, "score")
	}
	if err == nil {
		_, err = h.svc.AssessTask(r.Context(), p, id, in)
	}
	if err != nil {
		r.SetPathValue("id", strconv.FormatInt(t.CycleID, 10))
		return web.FormFailed(r, err, func(status int, v web.View) error {
			return h.renderTasks(w, r, p, status, v, strconv.FormatInt(id, 10))
		})
	}
	return web.Redirect(w, r, cyclePath(t.CycleID)+"/tasks", "已评定"+t.PersonName+"的“"+t.Title+"”")
}

// ---- the leader's and HR's rating forms ----

type ratingView struct {
	Cycle  Cycle
	Party  Party
	Dims   []Dim
	Given  map[int64]DimValues
	Failed int64 // the person whose rating was refused
}

// Rated reports whether the caller has rated the person before.
func (rv ratingView) Rated(personID int64) bool {
	_, ok := rv.Given[personID]
	return ok
}

// Value is what the form shows in a box: the refused input, else the score given before.
func (rv ratingView) Value(v web.View, personID int64, d Dim) string {
	if rv.Failed == personID {
		return v.Form.Get(d.Key())
	}
	if sc, ok := rv.Given[personID]; ok {
		return strconv.FormatInt(sc[d], 10)
	}
	return ""
}

func ratingParty(r *http.Request) (Party, error) {
	s := r.URL.Query().Get("party")
	if r.Method == http.MethodPost {
		s = r.PostFormValue("party")
	}
	party, ok := ParseParty(s)
	if !ok || party == PartyMass {
		return 0, errs.Invalid("party", "评价方应为 leader（主管领导）或 hr（组织人事部门）")
	}
	return party, nil
}

func (h *Handlers) ratingPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderRating(w, r, p, http.StatusOK, web.View{}, 0)
}

func (h *Handlers) renderRating(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View, failed int64) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	party, err := ratingParty(r)
	if err != nil {
		return err
	}
	c, err := h.svc.GetCycle(r.Context(), p, id)
	if err != nil {
		return err
	}
	given, err := h.svc.MyRatings(r.Context(), p, id, party)
	if err != nil {
		return err
	}
	data := ratingView{Cycle: c, Party: party, Dims: Dims(), Given: given, Failed: failed}
	v.Title, v.Active, v.Data = c.OrgName+" · "+c.QuarterLabel+" · "+party.Label()+"评价", "appraisal", data
	return h.srv.Render(w, r, status, h.t, "rating", v)
}

func (h *Handlers) ratingSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	party, err := ratingParty(r)
	if err != nil {
		return err
	}
	in := RatingInput{CycleID: id, Party: party.Key()}
	in.PersonID, _ = strconv.ParseInt(r.PostFormValue("person_id"), 10, 64)
	var ps problems
	for _, d := range Dims() {
		n, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue(d.Key())), 10, 64)
		if err != nil {
			ps.add("scores."+d.Key(), "请填写%s的评分（0 到 100 的整数）", d.Label())
		}
		in.Scores[d] = n
	}
	err = ps.err()
	var rec RatingRecord
	if err == nil {
		rec, err = h.svc.Rate(r.Context(), p, in)
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderRating(w, r, p, status, v, in.PersonID) })
	}
	return web.Redirect(w, r, cyclePath(id)+"/rate?party="+party.Key(), "已保存对"+rec.PersonName+"的评分")
}

// answerSubmit is HR's answer to a review request, on the cycle page.
func (h *Handlers) answerSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	in := AnswerInput{Grade: r.PostFormValue("grade"), Answer: r.PostFormValue("answer")}
	in.PersonID, _ = strconv.ParseInt(r.PostFormValue("person_id"), 10, 64)
	rv, err := h.svc.AnswerReview(r.Context(), p, id, in)
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderCycle(w, r, p, status, v, nil) })
	}
	msg := "已答复" + rv.PersonName + "的复核申请：维持“" + string(rv.OldGrade) + "”"
	if rv.State == ReviewChanged {
		msg = "已答复" + rv.PersonName + "的复核申请：等次由“" + string(rv.OldGrade) + "”改为“" + string(rv.NewGrade) + "”"
	}
	return web.Redirect(w, r, cyclePath(id), msg)
}

// ---- rectification orders ----

type rectView struct {
	OrgID   int64
	OrgName string
	Orders  []Rectification
	Failed  int64 // the order whose form was refused
}

func (h *Handlers) rectPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderRect(w, r, p, http.StatusOK, web.View{}, 0)
}

func (h *Handlers) renderRect(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View, failed int64) error {
	o, err := h.visibleOrgOf(r, p)
	if err != nil {
		return err
	}
	orders, err := h.svc.Rectifications(r.Context(), p, o.id)
	if err != nil {
		return err
	}
	v.Title, v.Active, v.Data = o.name+" · 督促整改", "appraisal", rectView{OrgID: o.id, OrgName: o.name, Orders: orders, Failed: failed}
	return h.srv.Render(w, r, status, h.t, "rectifications", v)
}

// rectIssueSubmit issues an order from the oversight page, which it returns to when refused.
func (h *Handlers) rectIssueSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	in := RectificationInput{Issue: r.PostFormValue("issue"), DueOn: r.PostFormValue("due_on")}
	var err error
	if in.OrgID, err = strconv.ParseInt(r.PostFormValue("org_id"), 10, 64); err != nil {
		err = errs.Invalid("org_id", "请选择整改单位")
	}
	if err == nil && r.PostFormValue("cycle_id") != "" {
		in.CycleID, _ = strconv.ParseInt(r.PostFormValue("cycle_id"), 10, 64)
	}
	var rect Rectification
	if err == nil {
		rect, err = h.svc.IssueRectification(r.Context(), p, in)
	}
	if err != nil {
		q := r.URL.Query()
		q.Set("org_id", r.PostFormValue("from_org"))
		q.Set("quarter", r.PostFormValue("quarter"))
		r.URL.RawQuery = q.Encode()
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderOversight(w, r, p, status, v) })
	}
	return web.Redirect(w, r, "/appraisal/rectifications?org_id="+r.PostFormValue("from_org"), "已向"+rect.OrgName+"下达督促整改单")
}

func (h *Handlers) rectAnswerSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.rectAct(w, r, p, "已答复整改单", func(id int64) (Rectification, error) {
		return h.svc.AnswerRectification(r.Context(), p, id, RectAnswerInput{Answer: r.PostFormValue("answer")})
	})
}

func (h *Handlers) rectCloseSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.rectAct(w, r, p, "整改单已销号", func(id int64) (Rectification, error) {
		return h.svc.CloseRectification(r.Context(), p, id, RectCloseInput{Note: r.PostFormValue("note")})
	})
}

// rectAct answers or closes an order and returns to the list it was on (?org_id= of the form).
func (h *Handlers) rectAct(w http.ResponseWriter, r *http.Request, p *auth.Principal, done string, act func(id int64) (Rectification, error)) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	back := r.PostFormValue("from_org")
	if _, err := strconv.ParseInt(back, 10, 64); err != nil {
		back = ""
	}
	if _, err := act(id); err != nil {
		q := r.URL.Query()
		q.Set("org_id", back)
		r.URL.RawQuery = q.Encode()
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderRect(w, r, p, status, v, id) })
	}
	return web.Redirect(w, r, "/appraisal/rectifications?org_id="+back, done)
}

// Passed reports whether the task was assessed as met.
func (t Task) Passed() bool { return t.Met != nil && *t.Met }

// ScoreText is the assessed score as shown, "" before the assessment.
func (t Task) ScoreText() string {
	if t.Score == nil {
		return ""
	}
	return FormatScore(*t.Score)
}
