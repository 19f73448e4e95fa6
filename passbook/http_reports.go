package passbook

import (
	"cmp"
	"context"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/web"
)

// registerReports adds rankings, commendation lists, passbook printing and reports.
func (h *Handlers) registerReports() {
	s := h.srv
	web.LabelActions(map[string]string{
		"passbook.print": "补登存折", "passbook.commendation_export": "导出评选推优名单",
		"passbook.statement_export": "导出存折对账单",
	})
	s.Page("GET /passbook/rankings", PermView, h.rankingsPage)
	s.Page("GET /passbook/commendation", PermView, h.commendationPage)
	s.Page("GET /passbook/commendation.xlsx", PermView, h.commendationXLSX)
	s.Page("GET /passbook/passbooks/{id}/print", PermView, h.printPage)
	s.Page("POST /passbook/passbooks/{id}/printed", PermManage, h.printedSubmit)
	s.Page("GET /passbook/passbooks/{id}/statement.xlsx", PermView, h.statementXLSX)
	s.Page("GET /passbook/reports", PermView, h.reportsPage)

	s.API("GET /api/v1/passbook/rankings", PermView, h.apiRankings)
	s.API("GET /api/v1/passbook/passbooks/{id}/rank", PermView, h.apiRank)
	s.API("GET /api/v1/passbook/commendation", PermView, h.apiCommendation)
	s.API("GET /api/v1/passbook/passbooks/{id}/print", PermView, web.ByID(h.svc.PendingLines))
	s.API("POST /api/v1/passbook/passbooks/{id}/printed", PermManage, web.BodyByID(http.StatusOK, h.apiPrinted))
	s.API("GET /api/v1/passbook/passbooks/{id}/statement.xlsx", PermView, h.statementXLSX)
	s.API("GET /api/v1/passbook/reports", PermView, h.apiReports)
	s.Document(apiDocs, "openapi/reports.json")
}

// rankingQuery reads ?org_id= (0: the caller's own) and ?period= ("" = this year).
func rankingQuery(r *http.Request) (int64, string, error) {
	orgID, err := web.QueryID(r, "org_id")
	return orgID, r.URL.Query().Get("period"), err
}

// rankLimit reads ?limit= like web.Paging; rankings page by a points-and-id cursor, not an id.
func rankLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxRankPage {
		return 0, errs.Invalid("limit", "limit 应为 1 到 %d 之间的整数", maxRankPage)
	}
	return n, nil
}

// ruleQuery reads ?rule= and ?value= of a commendation list.
func ruleQuery(r *http.Request) (CommendationRule, error) {
	q := r.URL.Query()
	rule := CommendationRule{Kind: q.Get("rule")}
	v, err := strconv.ParseInt(strings.TrimSpace(q.Get("value")), 10, 64)
	if err != nil {
		return rule, errs.Invalid("value", "请填写整数")
	}
	rule.Value = v
	return rule, nil
}

// thisYear is the current year in Shanghai by the server's clock.
func (h *Handlers) thisYear() int {
	return h.srv.DB().Now().In(store.Shanghai).Year()
}

func (h *Handlers) apiRankings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, period, err := rankingQuery(r)
	if err != nil {
		return err
	}
	limit, err := rankLimit(r)
	if err != nil {
		return err
	}
	ranking, err := h.svc.Rankings(r.Context(), p, orgID, period, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, ranking)
	return nil
}

func (h *Handlers) apiRank(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	st, err := h.svc.MyRank(r.Context(), p, id, r.URL.Query().Get("period"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, st)
	return nil
}

// apiCommendation answers with the list as JSON, or with ?format=xlsx as the audited workbook.
func (h *Handlers) apiCommendation(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	switch r.URL.Query().Get("format") {
	case "xlsx":
		return h.commendationXLSX(w, r, p)
	case "", "json":
	default:
		return errs.Invalid("format", "format 应为 json 或 xlsx")
	}
	orgID, period, err := rankingQuery(r)
	if err != nil {
		return err
	}
	rule, err := ruleQuery(r)
	if err != nil {
		return err
	}
	c, err := h.svc.Commend(r.Context(), p, orgID, period, rule)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (h *Handlers) commendationXLSX(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, period, err := rankingQuery(r)
	if err != nil {
		return err
	}
	rule, err := ruleQuery(r)
	if err != nil {
		return err
	}
	file, c, err := h.svc.ExportCommendation(r.Context(), p, orgID, period, rule)
	if err != nil {
		return err
	}
	return sendXLSX(w, fmt.Sprintf("评选推优名单-%s-%s.xlsx", c.OrgName, c.Period), file)
}

func (h *Handlers) statementXLSX(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	file, b, err := h.svc.ExportStatement(r.Context(), p, id)
	if err != nil {
		return err
	}
	return sendXLSX(w, fmt.Sprintf("存折对账单-%s-%s.xlsx", b.PersonName, b.Number), file)
}

// sendXLSX answers with a workbook as a download; mime writes a Chinese file name as RFC
// 2231's filename*.
func sendXLSX(w http.ResponseWriter, name string, data []byte) error {
	h := w.Header()
	h.Set("Content-Type", xlsxType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	_, err := w.Write(data)
	return err
}

type printedRequest struct {
	ThroughTxID int64 `json:"through_tx_id"`
}

type printedAnswer struct {
	PrintedThrough int64 `json:"printed_through"`
	Lines          int64 `json:"lines"`
}

func (h *Handlers) apiPrinted(ctx context.Context, p *auth.Principal, id int64, req printedRequest) (printedAnswer, error) {
	lines, err := h.svc.MarkPrinted(ctx, p, id, req.ThroughTxID)
	return printedAnswer{PrintedThrough: req.ThroughTxID, Lines: lines}, err
}

func (h *Handlers) apiReports(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := web.QueryID(r, "org_id")
	if err != nil {
		return err
	}
	year, err := ParseYear(r.URL.Query().Get("year"))
	if err != nil {
		return err
	}
	rep, err := h.svc.Reports(r.Context(), p, orgID, year)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// periodChoice is one option of the period selector.
type periodChoice struct {
	Value, Label string
}

// periodChoices offers all time, this year and last, their quarters, and the last twelve
// months, plus the selected period wherever it lies.
func periodChoices(now time.Time, selected string) []periodChoice {
	now = now.In(store.Shanghai)
	y := now.Year()
	values := []string{"all", strconv.Itoa(y), strconv.Itoa(y - 1)}
	for _, year := range []int{y, y - 1} {
		last := 4
		if year == y {
			last = (int(now.Month()) + 2) / 3
		}
		for q := last; q >= 1; q-- {
			values = append(values, fmt.Sprintf("%dQ%d", year, q))
		}
	}
	for m := range 12 {
		values = append(values, now.AddDate(0, -m, 1-now.Day()).Format("2006-01"))
	}
	if selected != "" && !slices.Contains(values, selected) {
		values = append([]string{selected}, values...)
	}
	out := make([]periodChoice, len(values))
	for i, v := range values {
		out[i] = periodChoice{Value: v, Label: PeriodLabel(v)}
	}
	return out
}

type rankingsView struct {
	Ranking  Ranking
	Mine     *MyStanding // a member's own standing
	Hidden   string      // why a member sees no ranking
	Periods  []periodChoice
	Trail    []org.Org // the organisation's ancestors, for staff to move up
	Children []org.Org // and its children, to move down
	Limit    int
	Next     string
}

// rankingsPage shows the ranking of an organisation for a period; a member sees their own
// community's, with their own line highlighted and their standing above it.
func (h *Handlers) rankingsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, period, err := rankingQuery(r)
	if err != nil {
		return err
	}
	limit, err := rankLimit(r)
	if err != nil {
		return err
	}
	var data rankingsView
	if !staff(p) {
		if data.Mine, err = h.myStanding(r, p, period); err != nil {
			return err
		}
	}
	data.Ranking, err = h.svc.Rankings(r.Context(), p, orgID, period, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		if staff(p) || !errs.Is(err, errs.KindForbidden) {
			return err
		}
		data.Hidden = errs.As(err).Message
		if data.Mine != nil {
			data.Ranking.Period, data.Ranking.PeriodLabel = data.Mine.Period, data.Mine.PeriodLabel
		}
	}
	data.Periods = periodChoices(h.srv.DB().Now(), data.Ranking.Period)
	data.Limit = cmp.Or(limit, 100)
	if data.Ranking.NextCursor != "" {
		q := r.URL.Query()
		q.Set("cursor", data.Ranking.NextCursor)
		data.Next = "/passbook/rankings?" + q.Encode()
	}
	if staff(p) {
		if data.Trail, data.Children, err = h.orgNav(r, p, data.Ranking.OrgID); err != nil {
			return err
		}
	}
	title := "积分排名 · " + data.Ranking.OrgName
	return h.srv.Render(w, r, http.StatusOK, h.t, "rankings", web.View{Title: title, Active: "passbook", Data: data, Form: r.URL.Query()})
}

// orgNav is the way up and down the tree from an organisation, for staff to move a ranking or
// report: its ancestors and its children, as far as they may see the organisation tree. Those
// who may not see it there simply get no links.
func (h *Handlers) orgNav(r *http.Request, p *auth.Principal, orgID int64) (trail, children []org.Org, err error) {
	trail, err = h.orgs.Ancestors(r.Context(), p, orgID)
	if errs.Is(err, errs.KindNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	children, err = h.orgs.Children(r.Context(), p, orgID, false)
	return trail, children, err
}

// myStanding is a member's standing in the period on their first passbook, nil without one.
func (h *Handlers) myStanding(r *http.Request, p *auth.Principal, period string) (*MyStanding, error) {
	books, err := h.svc.MyPassbooks(r.Context(), p)
	if err != nil || len(books) == 0 {
		return nil, err
	}
	st, err := h.svc.MyRank(r.Context(), p, books[0].ID, period)
	return &st, err
}

type commendationView struct {
	Commendation *Commendation
	Period       string // the selected period
	Periods      []periodChoice
	Download     string
}

// commendationPage shows the rule form and, once a rule is given, the list and its download.
func (h *Handlers) commendationPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, period, err := rankingQuery(r)
	if err != nil {
		return err
	}
	data := commendationView{Period: cmp.Or(period, strconv.Itoa(h.thisYear()))}
	v := web.View{Title: "评选推优", Active: "passbook", Form: r.URL.Query()}
	status := http.StatusOK
	if r.URL.Query().Get("rule") != "" {
		c, err := h.commendation(r, p, orgID, period)
		switch {
		case err == nil:
			data.Commendation, data.Period = &c, c.Period
			data.Download = "/passbook/commendation.xlsx?" + r.URL.RawQuery
			v.Title = "评选推优 · " + c.OrgName
		case web.FormErrors(&v, err):
			status = web.StatusFor(err)
		default:
			return err
		}
	}
	data.Periods = periodChoices(h.srv.DB().Now(), data.Period)
	v.Data = data
	return h.srv.Render(w, r, status, h.t, "commendation", v)
}

func (h *Handlers) commendation(r *http.Request, p *auth.Principal, orgID int64, period string) (Commendation, error) {
	rule, err := ruleQuery(r)
	if err != nil {
		return Commendation{}, err
	}
	return h.svc.Commend(r.Context(), p, orgID, period, rule)
}

type printView struct {
	Printout
	Pages []PrintPage
}

// printPage lays a passbook out for printing: the lines after the last print (补登), or with
// ?mode=all every line (全部重打).
func (h *Handlers) printPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderPrint(w, r, p, http.StatusOK, web.View{})
}

func (h *Handlers) renderPrint(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	var pr Printout
	if r.URL.Query().Get("mode") == PrintAll {
		pr, err = h.svc.AllLines(r.Context(), p, id)
	} else {
		pr, err = h.svc.PendingLines(r.Context(), p, id)
	}
	if err != nil {
		return err
	}
	v.Title, v.Active, v.Data = "打印存折 "+pr.Passbook.Number, "passbook", printView{Printout: pr, Pages: pr.Pages()}
	return h.srv.Render(w, r, status, h.t, "print", v)
}

// printedSubmit records, after the browser's print dialog, that the paper passbook now holds
// the lines through the transaction the page printed.
func (h *Handlers) printedSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	back := "/passbook/passbooks/" + strconv.FormatInt(id, 10) + "/print"
	through, err := strconv.ParseInt(r.PostFormValue("through_tx_id"), 10, 64)
	if err != nil {
		err = errs.Invalid("through_tx_id", "打印位置无效，请刷新页面后重试")
	}
	var lines int64
	if err == nil {
		lines, err = h.svc.MarkPrinted(r.Context(), p, id, through)
	}
	if err != nil {
		r.URL.RawQuery = "" // the refusal is shown over the 补登 view, whatever the form came from
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderPrint(w, r, p, status, v) })
	}
	return web.Redirect(w, r, back, fmt.Sprintf("已记录打印位置：本次补登 %d 行", lines))
}

type reportsView struct {
	Report   Report
	Years    []int
	Trail    []org.Org
	Children []org.Org
	Months   []string
}

// reportsPage shows the year's charts of a subtree, each with its table beneath.
func (h *Handlers) reportsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := web.QueryID(r, "org_id")
	if err != nil {
		return err
	}
	year := h.thisYear()
	if s := r.URL.Query().Get("year"); s != "" {
		if year, err = ParseYear(s); err != nil {
			return err
		}
	}
	rep, err := h.svc.Reports(r.Context(), p, orgID, year)
	if err != nil {
		return err
	}
	data := reportsView{Report: rep, Months: monthLabels}
	for y := h.thisYear(); y >= h.thisYear()-4; y-- {
		data.Years = append(data.Years, y)
	}
	if !slices.Contains(data.Years, year) {
		data.Years = append(data.Years, year)
	}
	if data.Trail, data.Children, err = h.orgNav(r, p, rep.OrgID); err != nil {
		return err
	}
	v := web.View{Title: fmt.Sprintf("红色存折报表 · %s · %d年", rep.OrgName, year), Active: "passbook", Data: data}
	return h.srv.Render(w, r, http.StatusOK, h.t, "reports", v)
}
