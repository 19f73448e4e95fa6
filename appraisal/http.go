package appraisal

import (
	"context"
	"embed"
	"net/http"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/web"
)

//go:embed all:templates
var templates embed.FS

//go:embed openapi
var apiDocs embed.FS

// Handlers are routine appraisal's pages and API.
type Handlers struct {
	srv  *web.Server
	svc  *Service
	orgs *org.Service
	t    *web.Templates
}

// Register adds routine appraisal's routes, menu and API description to the server.
func Register(srv *web.Server, svc *Service, orgs *org.Service) *Handlers {
	h := &Handlers{srv: srv, svc: svc, orgs: orgs, t: srv.Templates(templates, "templates")}
	srv.Menu(web.NavItem{Key: "appraisal", Label: "平时考核", Href: "/appraisal", Perm: PermView, Order: 50})
	web.LabelActions(map[string]string{
		"appraisal.policy": "制定平时考核政策", "appraisal.item_create": "新增考核清单事项", "appraisal.item_archive": "停用考核清单事项",
		"appraisal.entry_add": "登记负面清单/加扣分", "appraisal.entry_confirmed": "确认负面清单/加扣分",
		"appraisal.entry_rejected": "驳回负面清单/加扣分", "appraisal.entry_reverse": "冲正负面清单/加扣分",
		"appraisal.cycle_open": "开启季度考核", "appraisal.appraisee_set": "调整考核对象", "appraisal.appraisee_remove": "移出考核对象",
		"appraisal.task_create": "制定目标任务", "appraisal.task_report": "填报目标任务完成情况", "appraisal.task_assess": "评定目标任务",
		"appraisal.links_issue": "生成测评链接", "appraisal.rate_mass": "干部群众测评", "appraisal.rate": "评分",
		"appraisal.compute": "计算考核结果", "appraisal.tie_decide": "决定并列等次",
		"appraisal.merge": "合并评定小单位", "appraisal.merge_tie_decide": "决定合并评定的并列等次",
		"appraisal.step_close": "结束考核步骤", "appraisal.reopen": "批准重新开启已备案考核", "appraisal.self_summary": "填写个人小结",
		"appraisal.review_request": "申请复核", "appraisal.review_answer": "答复复核申请",
		"appraisal.rect_issue": "下达督促整改", "appraisal.rect_answer": "答复督促整改", "appraisal.rect_close": "整改销号",
	})
	h.registerAPI()
	h.registerPages()
	return h
}

func (h *Handlers) registerAPI() {
	s := h.srv
	s.API("GET /api/v1/appraisal/policies", PermView, h.apiPolicies)
	s.API("PUT /api/v1/appraisal/policies", PermPolicy, web.Body(http.StatusOK, h.svc.SetPolicy))
	s.API("GET /api/v1/appraisal/policies/effective", PermView, h.apiPolicyFor)

	s.API("GET /api/v1/appraisal/items", PermView, h.apiItems)
	s.API("POST /api/v1/appraisal/items", PermManage, web.Body(http.StatusCreated, h.svc.CreateListItem))
	s.API("POST /api/v1/appraisal/items/{id}/archive", PermManage, web.ByID(h.svc.ArchiveListItem))
	s.API("GET /api/v1/appraisal/entries", PermView, h.apiEntries)
	s.API("POST /api/v1/appraisal/entries", PermEnter, web.Body(http.StatusCreated, h.svc.AddEntry))
	s.API("POST /api/v1/appraisal/entries/{id}/confirm", PermReview, web.OptionalBodyByID(h.svc.ConfirmEntry))
	s.API("POST /api/v1/appraisal/entries/{id}/reject", PermReview, web.BodyByID(http.StatusOK, h.svc.RejectEntry))
	s.API("POST /api/v1/appraisal/entries/{id}/reverse", PermReview, web.BodyByID(http.StatusCreated, h.svc.ReverseEntry))

	s.API("GET /api/v1/appraisal/cycles", PermView, h.apiCycles)
	s.API("POST /api/v1/appraisal/cycles", PermManage, web.Body(http.StatusCreated, h.svc.OpenCycle))
	s.API("GET /api/v1/appraisal/cycles/{id}", PermView, web.ByID(h.svc.GetCycle))
	s.API("PUT /api/v1/appraisal/cycles/{id}/appraisees", PermManage, web.BodyByID(http.StatusOK, h.svc.SetAppraisee))
	s.API("DELETE /api/v1/appraisal/cycles/{id}/appraisees/{person_id}", PermManage, h.apiRemoveAppraisee)

	s.API("GET /api/v1/appraisal/tasks", PermSelf, h.apiTasks)
	s.API("POST /api/v1/appraisal/tasks", PermManage, web.Body(http.StatusCreated, h.svc.CreateTask))
	s.API("POST /api/v1/appraisal/tasks/{id}/report", PermSelf, web.BodyByID(http.StatusOK, h.svc.ReportTask))
	s.API("POST /api/v1/appraisal/tasks/{id}/assess", PermRate, web.BodyByID(http.StatusOK, h.svc.AssessTask))

	s.API("POST /api/v1/appraisal/cycles/{id}/links", PermManage, web.BodyByID(http.StatusCreated, h.apiIssueLinks))
	s.API("GET /api/v1/appraisal/cycles/{id}/links", PermManage, web.ByID(h.svc.LinkStats))
	s.Public("GET /api/v1/appraisal/rate/{token}", "干部群众测评表（匿名链接）", h.apiLinkForm)
	s.Public("POST /api/v1/appraisal/rate/{token}", "干部群众测评（匿名链接，一次有效）", h.apiRateByLink)
	s.API("POST /api/v1/appraisal/ratings", PermView, web.Body(http.StatusOK, h.svc.Rate))
	s.API("GET /api/v1/appraisal/ratings", PermManage, h.apiRatings)

	s.API("POST /api/v1/appraisal/cycles/{id}/compute", PermManage, web.ByID(h.svc.ComputeResults))
	s.API("GET /api/v1/appraisal/cycles/{id}/results", PermView, h.apiResults)
	s.API("POST /api/v1/appraisal/cycles/{id}/ties", PermManage, web.BodyByID(http.StatusOK, h.svc.DecideTie))

	// Merged pools of small units, graded by the district.
	s.API("GET /api/v1/appraisal/merges", PermView, h.apiMerges)
	s.API("POST /api/v1/appraisal/merges", PermManage, web.Body(http.StatusOK, h.svc.MergePools))
	s.API("POST /api/v1/appraisal/merges/ties", PermManage, web.Body(http.StatusOK, h.svc.DecideMergedTie))

	// The seven steps: progress, closing, 个人小结, feedback and 复核, filings, reopening.
	s.API("GET /api/v1/appraisal/cycles/{id}/progress", PermView, web.ByID(h.svc.Progress))
	s.API("POST /api/v1/appraisal/cycles/{id}/steps", PermManage, web.BodyByID(http.StatusOK, h.svc.CloseStep))
	s.API("POST /api/v1/appraisal/cycles/{id}/reopen", PermManage, web.BodyByID(http.StatusOK, h.svc.Reopen))
	s.API("GET /api/v1/appraisal/cycles/{id}/filings", PermView, web.ByID(h.apiFilings))
	s.API("GET /api/v1/appraisal/cycles/{id}/self-summaries", PermSelf, web.ByID(h.apiSelfSummaries))
	s.API("PUT /api/v1/appraisal/cycles/{id}/self-summary", PermSelf, web.BodyByID(http.StatusOK, h.svc.WriteSelfSummary))
	s.API("GET /api/v1/appraisal/cycles/{id}/feedback", PermSelf, web.ByID(h.svc.Feedback))
	s.API("POST /api/v1/appraisal/cycles/{id}/reviews", PermSelf, web.BodyByID(http.StatusCreated, h.svc.RequestReview))
	s.API("GET /api/v1/appraisal/cycles/{id}/reviews", PermView, web.ByID(h.apiReviews))
	s.API("POST /api/v1/appraisal/cycles/{id}/reviews/answer", PermManage, web.BodyByID(http.StatusOK, h.svc.AnswerReview))

	// District oversight and rectification orders (督促整改).
	s.API("GET /api/v1/appraisal/oversight", PermView, h.apiOversight)
	s.API("GET /api/v1/appraisal/rectifications", PermView, h.apiRectifications)
	s.API("POST /api/v1/appraisal/rectifications", PermManage, web.Body(http.StatusCreated, h.svc.IssueRectification))
	s.API("POST /api/v1/appraisal/rectifications/{id}/answer", PermManage, web.BodyByID(http.StatusOK, h.svc.AnswerRectification))
	s.API("POST /api/v1/appraisal/rectifications/{id}/close", PermManage, web.OptionalBodyByID(h.svc.CloseRectification))

	for _, doc := range []string{"openapi/policies.json", "openapi/lists.json", "openapi/cycles.json", "openapi/ratings.json", "openapi/results.json", "openapi/workflow.json", "openapi/oversight.json", "openapi/merges.json"} {
		s.Document(apiDocs, doc)
	}
}

func (h *Handlers) apiPolicies(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := requiredID(r, "org_id", "请指定组织")
	if err != nil {
		return err
	}
	list, err := h.svc.ListPolicies(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	web.WriteList(w, list, 0)
	return nil
}

func (h *Handlers) apiPolicyFor(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := requiredID(r, "org_id", "请指定组织")
	if err != nil {
		return err
	}
	eff, err := h.svc.PolicyFor(r.Context(), p, orgID, r.URL.Query().Get("quarter"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, eff)
	return nil
}

// requiredID reads a numeric query parameter that must be there.
func requiredID(r *http.Request, name, missing string) (int64, error) {
	id, err := web.QueryID(r, name)
	if err == nil && id == 0 {
		err = errs.Invalid(name, "%s", missing)
	}
	return id, err
}

func (h *Handlers) apiItems(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := requiredID(r, "org_id", "请指定组织")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	items, err := h.svc.ListItems(r.Context(), p, ItemFilter{OrgID: orgID, List: q.Get("list"), Archived: q.Get("archived") == "1"})
	if err != nil {
		return err
	}
	web.WriteList(w, items, 0)
	return nil
}

func (h *Handlers) apiEntries(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	cycleID, err := requiredID(r, "cycle_id", "请指定考核周期")
	if err != nil {
		return err
	}
	personID, err := web.QueryID(r, "person_id")
	if err != nil {
		return err
	}
	list, err := h.svc.ListEntries(r.Context(), p, EntryFilter{CycleID: cycleID, PersonID: personID})
	if err != nil {
		return err
	}
	web.WriteList(w, list, 0)
	return nil
}

func (h *Handlers) apiCycles(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f := CycleFilter{Quarter: r.URL.Query().Get("quarter")}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return err
	}
	if f.OrgID, err = web.QueryID(r, "org_id"); err != nil {
		return err
	}
	list, next, err := h.svc.ListCycles(r.Context(), p, f)
	if err != nil {
		return err
	}
	web.WriteList(w, list, next)
	return nil
}

func (h *Handlers) apiRemoveAppraisee(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	personID, err := web.PathID(r, "person_id")
	if err != nil {
		return err
	}
	if err := h.svc.RemoveAppraisee(r.Context(), p, id, personID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handlers) apiTasks(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	cycleID, err := requiredID(r, "cycle_id", "请指定考核周期")
	if err != nil {
		return err
	}
	personID, err := web.QueryID(r, "person_id")
	if err != nil {
		return err
	}
	list, err := h.svc.ListTasks(r.Context(), p, TaskFilter{CycleID: cycleID, PersonID: personID})
	if err != nil {
		return err
	}
	web.WriteList(w, list, 0)
	return nil
}

// apiIssueLinks answers the new links as a list.
func (h *Handlers) apiIssueLinks(ctx context.Context, p *auth.Principal, id int64, in LinksInput) (web.ListBody[IssuedLink], error) {
	links, err := h.svc.IssueLinks(ctx, p, id, in)
	return web.ListBody[IssuedLink]{Items: links}, err
}

func (h *Handlers) apiRatings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	cycleID, err := requiredID(r, "cycle_id", "请指定考核周期")
	if err != nil {
		return err
	}
	personID, err := web.QueryID(r, "person_id")
	if err != nil {
		return err
	}
	list, err := h.svc.ListRatings(r.Context(), p, RatingFilter{CycleID: cycleID, PersonID: personID, Party: r.URL.Query().Get("party")})
	if err != nil {
		return err
	}
	web.WriteList(w, list, 0)
	return nil
}

func (h *Handlers) apiResults(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	personID, err := web.QueryID(r, "person_id")
	if err != nil {
		return err
	}
	list, err := h.svc.Results(r.Context(), p, ResultFilter{CycleID: id, Pool: r.URL.Query().Get("pool"), PersonID: personID})
	if err != nil {
		return err
	}
	web.WriteList(w, list, 0)
	return nil
}

// The anonymous link routes are public: the token is the credential.

func (h *Handlers) apiLinkForm(w http.ResponseWriter, r *http.Request) {
	form, err := h.svc.LinkForm(r.Context(), r.PathValue("token"))
	if err != nil {
		h.publicError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, form)
}

func (h *Handlers) apiRateByLink(w http.ResponseWriter, r *http.Request) {
	var in MassRatingInput
	if err := web.DecodeJSON(r, &in); err != nil {
		h.publicError(w, r, err)
		return
	}
	receipt, err := h.svc.RateByLink(r.Context(), r.PathValue("token"), in)
	if err != nil {
		h.publicError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, receipt)
}

// publicError answers a public JSON route's error in the API's error shape; internal causes
// are logged and not shown.
func (h *Handlers) publicError(w http.ResponseWriter, r *http.Request, err error) {
	e := errs.As(err)
	if e.Kind == errs.KindInternal {
		h.srv.Log().Error("appraisal public route", "route", r.Pattern, "err", err.Error())
	}
	body := map[string]any{"code": e.Kind, "message": e.Message}
	if e.Field != "" {
		body["field"] = e.Field
	}
	web.WriteJSON(w, web.StatusFor(err), map[string]any{"error": body})
}

func (h *Handlers) apiFilings(ctx context.Context, p *auth.Principal, id int64) (web.ListBody[Filing], error) {
	list, err := h.svc.Filings(ctx, p, id)
	return web.ListBody[Filing]{Items: list}, err
}

func (h *Handlers) apiSelfSummaries(ctx context.Context, p *auth.Principal, id int64) (web.ListBody[SelfSummary], error) {
	list, err := h.svc.SelfSummaries(ctx, p, id)
	return web.ListBody[SelfSummary]{Items: list}, err
}

func (h *Handlers) apiReviews(ctx context.Context, p *auth.Principal, id int64) (web.ListBody[Review], error) {
	list, err := h.svc.Reviews(ctx, p, id)
	return web.ListBody[Review]{Items: list}, err
}

func (h *Handlers) apiOversight(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := requiredID(r, "org_id", "请指定组织")
	if err != nil {
		return err
	}
	out, err := h.svc.Oversight(r.Context(), p, orgID, r.URL.Query().Get("quarter"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handlers) apiRectifications(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := requiredID(r, "org_id", "请指定组织")
	if err != nil {
		return err
	}
	list, err := h.svc.Rectifications(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	web.WriteList(w, list, 0)
	return nil
}

func (h *Handlers) apiMerges(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := requiredID(r, "org_id", "请指定组织")
	if err != nil {
		return err
	}
	list, err := h.svc.MergedPools(r.Context(), p, orgID, r.URL.Query().Get("quarter"))
	if err != nil {
		return err
	}
	web.WriteList(w, list, 0)
	return nil
}
