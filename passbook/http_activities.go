package passbook

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/web"
)

// registerActivities adds the activity pages — members joining on their phones, the
// organiser's page and QR screen, the scan landing page — and the activity API.
func (h *Handlers) registerActivities() {
	s := h.srv
	s.Menu(web.NavItem{Key: "activities", Label: "社区活动", Href: "/passbook/activities", Perm: PermView, Order: 42})
	web.LabelActions(map[string]string{
		"passbook.activity_create": "发布活动", "passbook.activity_update": "修改活动", "passbook.activity_cancel": "取消活动",
		"passbook.activity_signup": "活动报名", "passbook.activity_signup_cancel": "取消活动报名",
		"passbook.activity_scan": "扫码签到签退", "passbook.activity_attendance": "登记活动到场",
		"passbook.activity_confirm": "确认活动到场", "passbook.qr_key": "生成签到二维码密钥",
	})
	s.Page("GET /passbook/activities", PermView, h.activitiesPage)
	s.Page("GET /passbook/activities/new", PermManage, h.activityNewPage)
	s.Page("POST /passbook/activities", PermManage, h.activityCreate)
	s.Page("GET /passbook/activities/{id}", PermView, h.activityPage)
	s.Page("GET /passbook/activities/{id}/edit", PermManage, h.activityEditPage)
	s.Page("POST /passbook/activities/{id}", PermManage, h.activityUpdate)
	s.Page("POST /passbook/activities/{id}/cancel", PermManage, h.activityCancel)
	s.Page("POST /passbook/activities/{id}/signup", PermClaim, h.signUpSubmit)
	s.Page("POST /passbook/activities/{id}/signup/cancel", PermClaim, h.signUpCancel)
	s.Page("GET /passbook/activities/{id}/checkin", PermManage, h.checkinPage)
	s.Page("GET /passbook/activities/{id}/checkin/code", PermManage, h.checkinCode)
	s.Page("GET /passbook/activities/{id}/scan", PermClaim, h.scanPage)
	s.Page("POST /passbook/activities/{id}/attendance", PermManage, h.attendanceSubmit)
	s.Page("POST /passbook/activities/{id}/confirm", PermManage, h.confirmSubmit)

	s.API("GET /api/v1/passbook/activities", PermView, h.apiActivities)
	s.API("POST /api/v1/passbook/activities", PermManage, web.Body(http.StatusCreated, h.svc.CreateActivity))
	s.API("GET /api/v1/passbook/activities/{id}", PermView, web.ByID(h.svc.GetActivity))
	s.API("PUT /api/v1/passbook/activities/{id}", PermManage, web.BodyByID(http.StatusOK, h.svc.UpdateActivity))
	s.API("POST /api/v1/passbook/activities/{id}/cancel", PermManage, web.OptionalBodyByID(withReason(h.svc.CancelActivity)))
	s.API("POST /api/v1/passbook/activities/{id}/signup", PermClaim, h.apiSignUp)
	s.API("DELETE /api/v1/passbook/activities/{id}/signup", PermClaim, h.apiSignUpCancel)
	s.API("GET /api/v1/passbook/activities/{id}/qr", PermManage, h.apiQR)
	s.API("POST /api/v1/passbook/activities/scan", PermClaim, web.Body(http.StatusOK, h.apiScan))
	s.API("POST /api/v1/passbook/activities/{id}/attendance", PermManage, web.BodyByID(http.StatusOK, h.svc.MarkAttendance))
	s.API("POST /api/v1/passbook/activities/{id}/confirm", PermManage, web.ByID(h.svc.ConfirmAttendance))
	s.Document(apiDocs, "openapi/activities.json")
}

func activityURL(id int64) string { return "/passbook/activities/" + strconv.FormatInt(id, 10) }

// renderActivities renders one of the activity pages under the 社区活动 menu item.
func (h *Handlers) renderActivities(w http.ResponseWriter, r *http.Request, status int, page, title string, v web.View) error {
	v.Title, v.Active = title, "activities"
	return h.srv.Render(w, r, status, h.t, page, v)
}

// scanLink is the link a QR code carries, on the host and scheme the organiser's screen was
// served from, which is how the members' phones on the same network reach the server too.
func scanLink(r *http.Request, id int64, token string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + activityURL(id) + "/scan?t=" + url.QueryEscape(token)
}

// ---- lists ----

type activitiesView struct {
	Staff    bool
	When     string
	Upcoming []Activity // members: the activities they may join
	Mine     []Activity // members: their signups, latest first
	List     []Activity // staff: the activities of the chosen tab
	Next     string
}

// activitiesPage shows members, on their phones, what they may join and what they joined;
// staff the upcoming or past activities in their care.
func (h *Handlers) activitiesPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := activitiesView{Staff: staff(p), When: WhenUpcoming}
	var err error
	if !data.Staff {
		if data.Upcoming, _, err = h.svc.ListActivities(r.Context(), p, ActivityFilter{When: WhenUpcoming}); err != nil {
			return err
		}
		if data.Mine, _, err = h.svc.ListActivities(r.Context(), p, ActivityFilter{Mine: true, Limit: 20}); err != nil {
			return err
		}
		return h.renderActivities(w, r, http.StatusOK, "activities", "社区活动", web.View{Data: data})
	}
	f, err := activityFilter(r)
	if err != nil {
		return err
	}
	data.When = f.When
	var next int64
	if data.List, next, err = h.svc.ListActivities(r.Context(), p, f); err != nil {
		return err
	}
	data.Next = nextLink(r, next)
	return h.renderActivities(w, r, http.StatusOK, "activities", "社区活动", web.View{Data: data, Form: r.URL.Query()})
}

// activityFilter reads the list filters shared by the staff page and the API.
func activityFilter(r *http.Request) (ActivityFilter, error) {
	q := r.URL.Query()
	f := ActivityFilter{When: q.Get("when"), Mine: q.Get("mine") == "1"}
	if f.When == "" && !f.Mine {
		f.When = WhenUpcoming
	}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return f, err
	}
	f.OrgID, err = web.QueryID(r, "org_id")
	return f, err
}

// ---- publishing ----

type activityFormView struct {
	OrgID    int64
	OrgName  string
	Items    []Item // the earning items of the catalog that applies
	Activity *Activity
}

// formTimeLayout is how <input type="datetime-local"> sends a time, read as Asia/Shanghai.
const formTimeLayout = "2006-01-02T15:04"

func (h *Handlers) activityNewPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderActivityForm(w, r, p, http.StatusOK, web.View{}, nil)
}

func (h *Handlers) activityEditPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := h.managedActivity(r, p)
	if err != nil {
		return err
	}
	form := url.Values{"title": {a.Title}, "description": {a.Description}, "place": {a.Place},
		"starts_at": {a.StartsAt.In(store.Shanghai).Format(formTimeLayout)}, "ends_at": {a.EndsAt.In(store.Shanghai).Format(formTimeLayout)},
		"capacity": {strconv.FormatInt(a.Capacity, 10)}, "item_id": {strconv.FormatInt(a.ItemID, 10)}}
	return h.renderActivityForm(w, r, p, http.StatusOK, web.View{Form: form}, &a)
}

// renderActivityForm shows the form to publish an activity in ?org_id= (or the caller's top
// organisation), or to change a.
func (h *Handlers) renderActivityForm(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View, a *Activity) error {
	data := activityFormView{Activity: a}
	if a != nil {
		data.OrgID, data.OrgName = a.OrgID, a.OrgName
	} else {
		orgID, err := h.orgOrDefault(r, p)
		if err != nil {
			return err
		}
		o, err := h.orgs.GetOrg(r.Context(), p, orgID)
		if err != nil {
			return err
		}
		data.OrgID, data.OrgName = o.ID, o.Name
	}
	items, _, err := h.svc.ListItems(r.Context(), p, ItemFilter{OrgID: data.OrgID})
	if err != nil {
		return err
	}
	for _, it := range items {
		if !it.Deduction() {
			data.Items = append(data.Items, it)
		}
	}
	v.Data = data
	title := "发布活动"
	if a != nil {
		title = "修改活动 · " + a.Title
	}
	return h.renderActivities(w, r, status, "activity_new", title, v)
}

// activityTermsFromForm reads the publish form.
func activityTermsFromForm(r *http.Request) (ActivityTerms, error) {
	t := ActivityTerms{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Place: r.PostFormValue("place")}
	var err error
	if t.StartsAt, err = formTime(r, "starts_at", "开始时间"); err != nil {
		return t, err
	}
	if t.EndsAt, err = formTime(r, "ends_at", "结束时间"); err != nil {
		return t, err
	}
	if c := strings.TrimSpace(r.PostFormValue("capacity")); c != "" {
		if t.Capacity, err = strconv.ParseInt(c, 10, 64); err != nil {
			return t, errs.Invalid("capacity", "名额应为整数（0 或不填为不限）")
		}
	}
	if t.ItemID, err = strconv.ParseInt(r.PostFormValue("item_id"), 10, 64); err != nil {
		return t, errs.Invalid("item_id", "请选择参加活动可得的积分事项")
	}
	return t, nil
}

// formTime reads a datetime-local field; an empty one is left for the service to refuse.
func formTime(r *http.Request, field, noun string) (time.Time, error) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(formTimeLayout, v, store.Shanghai)
	if err != nil {
		return t, errs.Invalid(field, "%s格式应为 年-月-日 时:分", noun)
	}
	return t, nil
}

func (h *Handlers) activityCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	terms, err := activityTermsFromForm(r)
	orgID, _ := strconv.ParseInt(r.PostFormValue("org_id"), 10, 64)
	if err == nil {
		var a Activity
		if a, err = h.svc.CreateActivity(r.Context(), p, ActivityInput{OrgID: orgID, ActivityTerms: terms}); err == nil {
			return web.Redirect(w, r, activityURL(a.ID), "活动已发布")
		}
	}
	r.URL.RawQuery = "org_id=" + strconv.FormatInt(orgID, 10)
	return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderActivityForm(w, r, p, status, v, nil) })
}

func (h *Handlers) activityUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := h.managedActivity(r, p)
	if err != nil {
		return err
	}
	terms, err := activityTermsFromForm(r)
	if err == nil {
		if _, err = h.svc.UpdateActivity(r.Context(), p, a.ID, terms); err == nil {
			return web.Redirect(w, r, activityURL(a.ID), "活动已修改")
		}
	}
	return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderActivityForm(w, r, p, status, v, &a) })
}

func (h *Handlers) pathActivity(r *http.Request, p *auth.Principal) (Activity, error) {
	id, err := web.PathID(r, "id")
	if err != nil {
		return Activity{}, err
	}
	return h.svc.GetActivity(r.Context(), p, id)
}

// managedActivity is the {id} activity for its organisers' pages: staff who only see it,
// because their members may join it, are refused (403) rather than shown its forms.
func (h *Handlers) managedActivity(r *http.Request, p *auth.Principal) (Activity, error) {
	a, err := h.pathActivity(r, p)
	if err != nil {
		return a, err
	}
	return a, a.managedBy(p)
}

// ---- one activity ----

// activityView is the activity page: the organisers' with signups, attendance and the
// confirmation summary; a member's with their own signup.
type activityView struct {
	Activity Activity
	Manages  bool
}

// Attendees is how many claims confirming would file, and Points their sum.
func (v activityView) Attendees() int {
	n := 0
	for _, s := range v.Activity.Signups {
		if s.Quantity > 0 {
			n++
		}
	}
	return n
}

func (v activityView) Points() int64 {
	var sum int64
	for _, s := range v.Activity.Signups {
		sum += s.Points
	}
	return sum
}

func (h *Handlers) activityPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderActivity(w, r, p, http.StatusOK, web.View{})
}

func (h *Handlers) renderActivity(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	a, err := h.pathActivity(r, p)
	if err != nil {
		return err
	}
	v.Data = activityView{Activity: a, Manages: a.managedBy(p) == nil}
	return h.renderActivities(w, r, status, "activity", a.Title, v)
}

// activityAction runs a change posted from the activity page and goes back to it with done,
// or shows the page again with the refusal.
func (h *Handlers) activityAction(w http.ResponseWriter, r *http.Request, p *auth.Principal, act func(id int64) (string, error)) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	done, err := act(id)
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderActivity(w, r, p, status, v) })
	}
	return web.Redirect(w, r, activityURL(id), done)
}

func (h *Handlers) activityCancel(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.activityAction(w, r, p, func(id int64) (string, error) {
		_, err := h.svc.CancelActivity(r.Context(), p, id, r.PostFormValue("reason"))
		return "活动已取消，不再接受报名", err
	})
}

func (h *Handlers) signUpSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.activityAction(w, r, p, func(id int64) (string, error) {
		_, created, err := h.svc.SignUp(r.Context(), p, id)
		if !created {
			return "您已报名该活动", err
		}
		return "报名成功。活动当天请扫描现场二维码签到、签退", err
	})
}

func (h *Handlers) signUpCancel(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.activityAction(w, r, p, func(id int64) (string, error) {
		return "已取消报名", h.svc.CancelSignUp(r.Context(), p, id)
	})
}

func (h *Handlers) attendanceSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.activityAction(w, r, p, func(id int64) (string, error) {
		in := AttendanceInput{Number: r.PostFormValue("number"), Present: r.PostFormValue("present") == "1"}
		in.PassbookID, _ = strconv.ParseInt(r.PostFormValue("passbook_id"), 10, 64)
		s, err := h.svc.MarkAttendance(r.Context(), p, id, in)
		if !in.Present {
			return "已取消" + s.PersonName + "的到场登记", err
		}
		return "已登记" + s.PersonName + "到场", err
	})
}

func (h *Handlers) confirmSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.activityAction(w, r, p, func(id int64) (string, error) {
		a, err := h.svc.ConfirmAttendance(r.Context(), p, id)
		claims := activityView{Activity: a}.Attendees()
		return "到场情况已确认，已生成 " + strconv.Itoa(claims) + " 条积分申报，等待审核", err
	})
}

// ---- QR screen and scanning ----

// checkinView is the organiser's QR code, refreshed by htmx every minute.
type checkinView struct {
	Activity Activity
	Kind     string
	Code     CheckinCode
	Link     string
	Image    template.URL // the PNG as a data: URL, so one request brings code and expiry together
	Error    string
}

func (h *Handlers) checkinPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	view, err := h.checkin(r, p)
	if err != nil {
		return err
	}
	title := "签到二维码 · " + view.Activity.Title
	if view.Kind == ScanOut {
		title = "签退二维码 · " + view.Activity.Title
	}
	return h.renderActivities(w, r, http.StatusOK, "checkin", title, web.View{Data: view})
}

func (h *Handlers) checkinCode(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	view, err := h.checkin(r, p)
	if err != nil {
		return err
	}
	return h.srv.RenderBlock(w, h.t, "checkin", "pb-checkin-code", view)
}

// checkin issues a fresh code for the screen. Only the activity's organisers get the screen;
// for them a refusal of the moment (too early, cancelled …) is shown in place of the code, and
// the screen keeps asking, so the code appears when the window opens.
func (h *Handlers) checkin(r *http.Request, p *auth.Principal) (checkinView, error) {
	view := checkinView{Kind: ScanIn}
	if r.URL.Query().Get("kind") == ScanOut {
		view.Kind = ScanOut
	}
	var err error
	if view.Activity, err = h.managedActivity(r, p); err != nil {
		return view, err
	}
	view.Code, err = h.svc.QRToken(r.Context(), p, view.Activity.ID, view.Kind)
	if err != nil {
		if errs.KindOf(err) == errs.KindInternal {
			return view, err
		}
		view.Error = errs.As(err).Message
		return view, nil
	}
	view.Link = scanLink(r, view.Activity.ID, view.Code.Token)
	png, err := qrPNG(view.Link)
	if err != nil {
		return view, err
	}
	view.Image = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	return view, nil
}

// scanPage is where a member's phone lands after scanning the organiser's code: the scan is
// recorded on arrival, because the token is the proof of presence and recording is
// idempotent; the session cookie is SameSite=Lax, so no other site's page can make a phone
// fetch this with it. The answer is one line in large type.
func (h *Handlers) scanPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	res, err := h.svc.Scan(r.Context(), p, r.URL.Query().Get("t"), id)
	status, v := http.StatusOK, web.View{Data: res}
	if err != nil {
		if errs.KindOf(err) == errs.KindInternal {
			return err
		}
		status, v.Error = web.StatusFor(err), errs.As(err).Message
	}
	return h.renderActivities(w, r, status, "scan", "扫码签到", v)
}
