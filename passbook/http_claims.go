package passbook

import (
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/web"
)

// registerClaims adds the catalog, claims, review, 公示 and batch pages and API.
func (h *Handlers) registerClaims() {
	s := h.srv
	web.LabelActions(map[string]string{
		"passbook.item_create": "新增积分事项", "passbook.item_update": "修改积分事项", "passbook.item_archive": "停用积分事项",
		"passbook.claim": "申报积分", "passbook.claims_batch": "批量录入申报", "passbook.claim_approve": "审核通过申报",
		"passbook.claim_reject": "审核不通过申报", "passbook.claim_object": "对公示提出异议", "passbook.claim_cancel": "撤回申报",
		"passbook.claim_post": "申报入账", "passbook.claim_refuse": "申报未能入账",
	})
	s.Page("GET /passbook/items", PermView, h.catalogPage)
	s.Page("GET /passbook/items/new", PermManage, h.itemNewPage)
	s.Page("POST /passbook/items", PermManage, h.itemCreate)
	s.Page("GET /passbook/items/{id}", PermView, h.itemPage)
	s.Page("POST /passbook/items/{id}", PermManage, h.itemUpdate)
	s.Page("POST /passbook/items/{id}/archive", PermManage, h.itemArchive)

	s.Page("GET /passbook/claims", PermView, h.claimsPage)
	s.Page("GET /passbook/claims/new", PermClaim, h.claimNewPage)
	s.Page("POST /passbook/claims", PermClaim, h.claimCreate)
	s.Page("GET /passbook/claims/{id}", PermView, h.claimPage)
	s.Page("GET /passbook/claims/{id}/evidence/{photo}", PermView, h.evidence)
	s.Page("POST /passbook/claims/{id}/approve", PermReview, h.approveSubmit)
	s.Page("POST /passbook/claims/{id}/reject", PermReview, h.rejectSubmit)
	s.Page("POST /passbook/claims/{id}/object", PermObject, h.objectSubmit)
	s.Page("POST /passbook/claims/{id}/cancel", PermClaim, h.cancelSubmit)
	s.Page("GET /passbook/review", PermReview, h.reviewPage)
	s.Page("GET /passbook/publicity", PermView, h.publicityPage)
	s.Page("GET /passbook/batch", PermClaim, h.batchPage)
	s.Page("GET /passbook/batch/template", PermClaim, h.batchTemplate)
	s.Page("POST /passbook/batch", PermClaim, h.batchSubmit)

	s.API("GET /api/v1/passbook/items", PermView, h.apiItems)
	s.API("POST /api/v1/passbook/items", PermManage, web.Body(http.StatusCreated, h.svc.CreateItem))
	s.API("GET /api/v1/passbook/items/{id}", PermView, web.ByID(h.svc.GetItem))
	s.API("PUT /api/v1/passbook/items/{id}", PermManage, web.BodyByID(http.StatusOK, h.svc.UpdateItem))
	s.API("POST /api/v1/passbook/items/{id}/archive", PermManage, web.ByID(h.svc.ArchiveItem))
	s.API("GET /api/v1/passbook/claims", PermView, h.apiClaims)
	s.API("POST /api/v1/passbook/claims", PermClaim, h.apiClaimCreate)
	s.API("POST /api/v1/passbook/claims/batch", PermClaim, h.apiBatch)
	s.API("GET /api/v1/passbook/claims/{id}", PermView, web.ByID(h.svc.GetClaim))
	s.API("POST /api/v1/passbook/claims/{id}/approve", PermReview, web.OptionalBodyByID(withReason(h.svc.Approve)))
	s.API("POST /api/v1/passbook/claims/{id}/reject", PermReview, web.OptionalBodyByID(withReason(h.svc.Reject)))
	s.API("POST /api/v1/passbook/claims/{id}/object", PermObject, web.OptionalBodyByID(withReason(h.svc.Object)))
	s.API("POST /api/v1/passbook/claims/{id}/cancel", PermClaim, web.OptionalBodyByID(h.apiCancel))
	s.API("GET /api/v1/passbook/publicity", PermView, h.apiPublicity)
	s.Document(apiDocs, "openapi/claims.json")
}

// orgOrDefault reads ?org_id=, or picks the top organisation the caller sees.
func (h *Handlers) orgOrDefault(r *http.Request, p *auth.Principal) (int64, error) {
	id, err := web.QueryID(r, "org_id")
	if err != nil || id != 0 {
		return id, err
	}
	roots, err := h.orgs.Children(r.Context(), p, 0, false)
	if err != nil {
		return 0, err
	}
	if len(roots) == 0 {
		return 0, errs.NotFound("没有可查看的组织")
	}
	return roots[0].ID, nil
}

// nextLink is the link to the page after cursor, keeping the other query parameters.
func nextLink(r *http.Request, next int64) string {
	if next == 0 {
		return ""
	}
	q := r.URL.Query()
	q.Set("cursor", strconv.FormatInt(next, 10))
	return r.URL.Path + "?" + q.Encode()
}

func (h *Handlers) render(w http.ResponseWriter, r *http.Request, status int, page, title string, v web.View) error {
	v.Title, v.Active = title, "passbook"
	return h.srv.Render(w, r, status, h.t, page, v)
}

// ---- claims ----

type claimsView struct {
	Claims []Claim
	Next   string
	Staff  bool
	States []string
}

func (h *Handlers) claimsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := claimFilter(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListClaims(r.Context(), p, f)
	if err != nil {
		return err
	}
	title := "我的申报"
	if staff(p) {
		title = "积分申报"
	}
	data := claimsView{Claims: list, Next: nextLink(r, next), Staff: staff(p), States: ClaimStates}
	return h.render(w, r, http.StatusOK, "claims", title, web.View{Data: data, Form: r.URL.Query()})
}

// claimFilter reads the list filters shared by the claims pages and the API.
func claimFilter(r *http.Request) (ClaimFilter, error) {
	q := r.URL.Query()
	f := ClaimFilter{State: q.Get("state"), Query: q.Get("q"), From: q.Get("from"), To: q.Get("to"), Queue: q.Get("queue") == "1"}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return f, err
	}
	if f.OrgID, err = web.QueryID(r, "org_id"); err != nil {
		return f, err
	}
	f.PassbookID, err = web.QueryID(r, "passbook_id")
	return f, err
}

// claimFormView feeds the claim form, or the search for a member to claim for (代录).
type claimFormView struct {
	Passbook  *Passbook
	Items     []Item
	Proxy     bool
	Key       string
	Today     string
	Found     []Passbook // search results for 代录
	Searched  bool
	Staff     bool
	Passbooks []Passbook // a member's own, when they hold several
}

func (h *Handlers) claimNewPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	form := url.Values{"quantity": {"1"}, "q": {r.URL.Query().Get("q")}}
	return h.renderClaimNew(w, r, p, http.StatusOK, web.View{Form: form})
}

func (h *Handlers) renderClaimNew(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	data := claimFormView{Key: newFormKey(), Staff: staff(p)}
	if v.Form == nil {
		v.Form = url.Values{}
	}
	passbookID, err := web.QueryID(r, "passbook_id")
	if err != nil {
		return err
	}
	if passbookID == 0 && !data.Staff {
		if data.Passbooks, err = h.svc.MyPassbooks(r.Context(), p); err != nil {
			return err
		}
		if len(data.Passbooks) == 1 {
			passbookID = data.Passbooks[0].ID
		}
	}
	if passbookID == 0 && data.Staff {
		if q := strings.TrimSpace(r.URL.Query().Get("q")); q != "" {
			data.Searched = true
			if data.Found, _, err = h.svc.ListPassbooks(r.Context(), p, PassbookFilter{Query: q, State: StateActive, Limit: 20}); err != nil {
				return err
			}
		}
	}
	if passbookID != 0 {
		b, err := h.svc.GetPassbook(r.Context(), p, passbookID)
		if err != nil {
			return err
		}
		if data.Items, err = h.svc.ClaimableItems(r.Context(), p, passbookID); err != nil {
			return err
		}
		data.Passbook, data.Proxy = &b, b.PersonID != p.PersonID
		data.Today = store.LocalDate(h.srv.DB().Now())
		if v.Form.Get("work_date") == "" {
			v.Form.Set("work_date", data.Today)
		}
	}
	if k := v.Form.Get("idempotency_key"); k != "" {
		data.Key = k // a refused form keeps its key, so that fixing and resending files one claim
	}
	v.Data = data
	title := "申报积分"
	if data.Proxy || data.Passbook == nil && data.Staff {
		title = "代录申报"
	}
	return h.render(w, r, status, "claim_new", title, v)
}

// newFormKey is the idempotency key a claim form carries, so a double tap files one claim.
func newFormKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// maxClaimForm bounds the part of a claim form kept in memory; photos beyond it spill to disk.
const maxClaimForm = 8 << 20

// claimFromForm reads a claim form with its photos.
func claimFromForm(r *http.Request) (ClaimInput, []Photo, error) {
	if err := r.ParseMultipartForm(maxClaimForm); err != nil && err != http.ErrNotMultipart {
		return ClaimInput{}, nil, errs.Invalid("evidence", "上传内容无法读取，请重新选择照片")
	}
	in := ClaimInput{WorkDate: r.PostFormValue("work_date"), Note: r.PostFormValue("note")}
	var err error
	if in.PassbookID, err = strconv.ParseInt(r.PostFormValue("passbook_id"), 10, 64); err != nil {
		return in, nil, errs.Invalid("passbook_id", "请选择存折")
	}
	if in.ItemID, err = strconv.ParseInt(r.PostFormValue("item_id"), 10, 64); err != nil {
		return in, nil, errs.Invalid("item_id", "请选择积分事项")
	}
	if in.Quantity, err = strconv.ParseInt(strings.TrimSpace(r.PostFormValue("quantity")), 10, 64); err != nil {
		return in, nil, errs.Invalid("quantity", "数量应为正整数")
	}
	photos, err := formPhotos(r)
	return in, photos, err
}

// formPhotos reads the photos of a multipart form, refusing any over the size limit.
func formPhotos(r *http.Request) ([]Photo, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var photos []Photo
	for _, fh := range r.MultipartForm.File["photo"] {
		data, err := readPart(fh)
		if err != nil {
			return nil, err
		}
		if len(data) > 0 {
			photos = append(photos, Photo{Data: data})
		}
	}
	return photos, nil
}

func readPart(fh *multipart.FileHeader) ([]byte, error) {
	if fh.Size > MaxPhotoBytes {
		return nil, errs.Invalid("evidence", "每张照片不能超过5MB")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxPhotoBytes+1))
}

func (h *Handlers) claimCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	in, photos, err := claimFromForm(r)
	if err == nil {
		var c Claim
		if c, _, err = h.svc.SubmitClaim(r.Context(), p, in, photos, IdempotencyKey(r.PostFormValue("idempotency_key"))); err == nil {
			flash := "申报已提交，等待审核"
			if c.Warning != "" {
				flash += "。提示：" + c.Warning
			}
			return web.Redirect(w, r, claimURL(c.ID), flash)
		}
	}
	r.URL.RawQuery = "passbook_id=" + strconv.FormatInt(in.PassbookID, 10)
	return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderClaimNew(w, r, p, status, v) })
}

func claimURL(id int64) string { return "/passbook/claims/" + strconv.FormatInt(id, 10) }

type claimView struct {
	Claim     Claim
	CanReview bool
	CanCancel bool
	CanObject bool
}

func (h *Handlers) claimPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderClaim(w, r, p, http.StatusOK, web.View{})
}

func (h *Handlers) renderClaim(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	c, err := h.svc.GetClaim(r.Context(), p, id)
	if err != nil {
		return err
	}
	pending := c.State == ClaimSubmitted || c.State == ClaimReviewed
	v.Data = claimView{Claim: c,
		CanReview: pending && !c.Claimant(p) && p.Scope(PermReview).Covers(c.orgPath),
		CanCancel: c.State == ClaimSubmitted && c.Claimant(p),
		CanObject: c.State == ClaimPublicized && p.Can(PermObject)}
	return h.render(w, r, status, "claim", "申报 · "+c.PersonName+" · "+c.ItemName, v)
}

func (h *Handlers) evidence(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	photoID, err := web.PathID(r, "photo")
	if err != nil {
		return err
	}
	ph, err := h.svc.Evidence(r.Context(), p, id, photoID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ph.ContentType)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, err = w.Write(ph.Data)
	return err
}

// claimAction runs a review, objection or cancellation posted from a page. From the review
// queue (htmx) it answers with the claim's new row, refusals included, so the reviewer stays
// in the queue; from a full page it goes back to the claim.
func (h *Handlers) claimAction(w http.ResponseWriter, r *http.Request, p *auth.Principal, done string,
	act func(id int64) (Claim, error)) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	c, err := act(id)
	if r.Header.Get("HX-Request") != "" {
		row := reviewRow{Claim: c, Message: done}
		if err != nil {
			if errs.KindOf(err) == errs.KindInternal {
				return err
			}
			row = reviewRow{Claim: Claim{ID: id}, Error: errs.As(err).Message}
		} else if c.State == ClaimRefused {
			row.Message = "未能入账：" + c.Reason
		}
		return h.srv.RenderBlock(w, h.t, "review", "reviewrow", row)
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderClaim(w, r, p, status, v) })
	}
	if c.State == ClaimRefused {
		done = "审核已通过，但未能入账：" + c.Reason
	}
	return web.Redirect(w, r, claimURL(id), done)
}

func (h *Handlers) approveSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.claimAction(w, r, p, "已审核通过", func(id int64) (Claim, error) {
		return h.svc.Approve(r.Context(), p, id, r.PostFormValue("reason"))
	})
}

func (h *Handlers) rejectSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.claimAction(w, r, p, "已退回（不通过）", func(id int64) (Claim, error) {
		return h.svc.Reject(r.Context(), p, id, r.PostFormValue("reason"))
	})
}

func (h *Handlers) objectSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := h.svc.Object(r.Context(), p, id, r.PostFormValue("reason")); err != nil {
		if errs.KindOf(err) == errs.KindInternal {
			return err
		}
		r.URL.RawQuery = ""
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderPublicity(w, r, p, status, v) })
	}
	return web.Redirect(w, r, "/passbook/publicity", "异议已提交，该申报将重新审核")
}

func (h *Handlers) cancelSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.claimAction(w, r, p, "申报已撤回", func(id int64) (Claim, error) {
		return h.svc.Cancel(r.Context(), p, id)
	})
}

// ---- review queue and 公示 ----

// reviewRow is one row of the review queue, also answered alone to htmx.
type reviewRow struct {
	Claim   Claim
	Message string // what was done, shown in place of the buttons
	Error   string
}

func (h *Handlers) reviewPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := claimFilter(r)
	if err != nil {
		return err
	}
	f.Queue = true
	list, next, err := h.svc.ListClaims(r.Context(), p, f)
	if err != nil {
		return err
	}
	rows := make([]reviewRow, len(list))
	for i, c := range list {
		rows[i] = reviewRow{Claim: c}
	}
	others, err := h.svc.WaitingForOthers(r.Context(), p)
	if err != nil {
		return err
	}
	data := struct {
		Rows   []reviewRow
		Next   string
		Others int64
	}{rows, nextLink(r, next), others}
	return h.render(w, r, http.StatusOK, "review", "审核申报", web.View{Data: data, Form: r.URL.Query()})
}

func (h *Handlers) publicityPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderPublicity(w, r, p, http.StatusOK, web.View{})
}

func (h *Handlers) renderPublicity(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	orgID, err := web.QueryID(r, "org_id")
	if err != nil {
		return err
	}
	_, cursor, err := web.Paging(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.Publicity(r.Context(), p, orgID, 0, cursor)
	if err != nil {
		return err
	}
	v.Data = struct {
		Claims    []PublicClaim
		Next      string
		CanObject bool
	}{list, nextLink(r, next), p.Can(PermObject)}
	return h.render(w, r, status, "publicity", "积分公示", v)
}

// ---- batch ----

type batchView struct {
	OrgID    int64
	Problems []batchProblem
	Report   template.URL // the error report as a data: URL, for download
}

type batchProblem struct {
	Row     int    `json:"row"`
	Message string `json:"message"`
}

func (h *Handlers) batchPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderBatch(w, r, p, http.StatusOK, web.View{}, batchView{})
}

// errBatchStaffOnly refuses members, who hold passbook.claim for themselves, every batch route
// before anything is read.
var errBatchStaffOnly = errs.Forbidden("批量录入申报仅限社区工作人员")

func (h *Handlers) renderBatch(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View, data batchView) error {
	if !staff(p) {
		return errBatchStaffOnly
	}
	orgID, err := h.orgOrDefault(r, p)
	if err != nil {
		return err
	}
	data.OrgID = orgID
	v.Data = data
	return h.render(w, r, status, "claims_batch", "批量录入申报", v)
}

func (h *Handlers) batchTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if !staff(p) {
		return errBatchStaffOnly
	}
	orgID, err := h.orgOrDefault(r, p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", `attachment; filename="claims.xlsx"; filename*=UTF-8''`+url.PathEscape("积分申报模板.xlsx"))
	return h.svc.WriteClaimTemplate(r.Context(), p, orgID, w)
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func (h *Handlers) batchSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	res, err := h.batchUpload(r, p)
	if err == nil {
		return web.Redirect(w, r, "/passbook/claims", "已录入 "+strconv.Itoa(res.Imported)+" 条申报，等待审核")
	}
	return web.FormFailed(r, err, func(status int, v web.View) error {
		return h.renderBatch(w, r, p, status, v, batchView{Problems: sortedProblems(res.Problems), Report: reportURL(res.Report)})
	})
}

// batchUpload runs a batch from the "file" part of a multipart upload.
func (h *Handlers) batchUpload(r *http.Request, p *auth.Principal) (BatchResult, error) {
	if !staff(p) {
		return BatchResult{}, errBatchStaffOnly
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		return BatchResult{}, errs.Invalid("file", "请选择要上传的 Excel 文件")
	}
	defer f.Close()
	return h.svc.BatchClaims(r.Context(), p, f)
}
