package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"grassroots/appraisal"
	"grassroots/store"
)

// buildAppraisal gives each organisation (own community, sibling, township) a cycle of the
// current quarter with an item of its negative list and a confirmed entry on the scope's person,
// and each scope's person a target task in their organisation's cycle; the own cycle also
// has an unused rating link {ratelink}.
func buildAppraisal(w *world) {
	ctx, ap, sys := w.ctx, w.a.appraisal, w.sys
	now := time.Now().In(store.Shanghai)
	quarter := fmt.Sprintf("%dQ%d", now.Year(), (int(now.Month())+2)/3)
	w.common["quarter"] = quarter
	w.common["today"] = now.Format(store.DateLayout)
	for _, s := range []scope{scopeOwn, scopeSibling, scopeParent} {
		c, err := ap.OpenCycle(ctx, sys, appraisal.CycleInput{OrgID: w.orgs[s].ID, Quarter: quarter})
		w.must(err)
		w.set(s, "cycle", c.ID)
		w.apitem(s)
	}
	w.shared("cycle", "apitem")
	for _, s := range recordScopes {
		person := w.fx[s].id("person")
		_, err := ap.SetAppraisee(ctx, sys, w.fx[s].id("cycle"), appraisal.AppraiseeInput{PersonID: person, Pool: appraisal.PoolStaff})
		w.must(err)
		w.fx[s]["person_id"] = w.fx[s]["person"]
		title := "矩阵任务" + scopeNames[s]
		t, err := ap.CreateTask(ctx, sys, appraisal.TaskInput{CycleID: w.fx[s].id("cycle"), PersonID: person, Dimension: "ji",
			Title: title, Standard: "按期完成", Weight: 1, BaseScore: 90})
		w.must(err)
		w.set(s, "task", t.ID)
		if s != scopeOwn {
			w.mark(s, title)
		}
		if s == scopeNeighbour {
			continue
		}
		evidence := "矩阵事实" + scopeNames[s]
		e, err := ap.AddEntry(ctx, sys, appraisal.EntryInput{CycleID: w.fx[s].id("cycle"), PersonID: person, ItemID: w.fx[s].id("apitem"),
			OccurredOn: w.common["today"], Evidence: evidence})
		w.must(err)
		_, err = ap.ConfirmEntry(ctx, sys, e.ID, appraisal.ReviewInput{})
		w.must(err)
		w.set(s, "apentry", e.ID)
		if s != scopeOwn {
			w.mark(s, evidence)
		}
	}
	w.shared("apentry")
	// A rectification order to each organisation, open, as the organisation above issued it.
	due := now.AddDate(0, 0, 30).Format(store.DateLayout)
	for _, s := range []scope{scopeOwn, scopeSibling, scopeParent} {
		issue := "矩阵整改" + scopeNames[s]
		r, err := ap.IssueRectification(ctx, sys, appraisal.RectificationInput{OrgID: w.orgs[s].ID, Issue: issue, DueOn: due})
		w.must(err)
		w.set(s, "aprect", r.ID)
		if s != scopeOwn {
			w.mark(s, issue)
		}
	}
	w.shared("aprect")
	links, err := ap.IssueLinks(ctx, sys, w.fx[scopeOwn].id("cycle"), appraisal.LinksInput{Count: 1})
	w.must(err)
	w.common["ratelink"] = links[0].Token
}

// apitem adds an item to the negative list of the organisation of scope s.
func (w *world) apitem(s scope) {
	w.seq++
	name := fmt.Sprintf("矩阵清单%s%d", scopeNames[s], w.seq)
	it, err := w.a.appraisal.CreateListItem(w.ctx, w.sys, appraisal.ListItemInput{OrgID: w.orgs[s].ID, List: appraisal.ListNegative,
		Dimension: "de", Name: name, Consequence: appraisal.ConsequenceDeduct, Points: 100})
	w.must(err)
	w.set(s, "apitem", it.ID)
	if s == scopeSibling {
		w.mark(s, name) // the township's items are in force in the own community too
	}
}

// checkRateLinks sends the public rating-link routes, which need no session: the token is the
// credential. An unknown token is 404 on every one of them and shows nothing of any scope; the
// own cycle's link opens its form, is refused an empty submission without being used up, takes
// one submission and is then spent. No refusal writes to the audit chain.
func (w *world) checkRateLinks(t *testing.T) int {
	t.Helper()
	token := w.common["ratelink"]
	own := w.orgs[scopeOwn].Name
	ratings := fmt.Sprintf(`{"ratings":[{"person_id":%s,"scores":{"de":90,"neng":90,"qin":90,"ji":90,"lian":90}}]}`, w.fx[scopeOwn]["person"])
	type send struct {
		method, path, ctype, body string
		want                      int
		shows                     string // a text the answer must show
		writes                    bool
	}
	form := "application/x-www-form-urlencoded"
	cases := []send{
		{"GET", "/api/v1/appraisal/rate/JZNOTATOKEN", "", "", http.StatusNotFound, "测评链接无效", false},
		{"POST", "/api/v1/appraisal/rate/JZNOTATOKEN", "application/json", ratings, http.StatusNotFound, "测评链接无效", false},
		{"GET", "/appraisal/rate/JZNOTATOKEN", "", "", http.StatusNotFound, "测评链接无效", false},
		{"POST", "/appraisal/rate/JZNOTATOKEN", form, "s." + w.fx[scopeOwn]["person"] + ".de=90", http.StatusNotFound, "测评链接无效", false},
		{"GET", "/api/v1/appraisal/rate/" + token, "", "", http.StatusOK, own, false},
		{"GET", "/appraisal/rate/" + token, "", "", http.StatusOK, own, false},
		{"POST", "/appraisal/rate/" + token, form, "x=1", http.StatusBadRequest, "请至少为一人评分", false},
		{"POST", "/api/v1/appraisal/rate/" + token, "application/json", `{"ratings":[]}`, http.StatusBadRequest, "请至少为一人评分", false},
		{"POST", "/api/v1/appraisal/rate/" + token, "application/json", ratings, http.StatusCreated, `"rated":1`, true},
		{"POST", "/api/v1/appraisal/rate/" + token, "application/json", ratings, http.StatusConflict, "已经使用过", false},
		{"GET", "/api/v1/appraisal/rate/" + token, "", "", http.StatusConflict, "已经使用过", false},
		{"GET", "/appraisal/rate/" + token, "", "", http.StatusConflict, "已经使用过", false},
	}
	for _, c := range cases {
		label := c.method + " " + strings.Replace(c.path, token, "{valid token}", 1)
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		req := httptest.NewRequest(c.method, c.path, body)
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		before := w.auditLength()
		rec := httptest.NewRecorder()
		w.handler.ServeHTTP(rec, req)
		if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.shows) {
			t.Errorf("%s: %d, want %d showing %q: %s", label, rec.Code, c.want, c.shows, snippet(rec.Body.String()))
		}
		if grew := w.auditLength() - before; grew != map[bool]int{true: 1}[c.writes] {
			t.Errorf("%s: the audit chain grew by %d", label, grew)
		}
		leaks := []string{w.fx[scopeOwn]["number"]} // never, on any form
		if c.want == http.StatusNotFound {
			leaks = append(leaks, own, "矩阵本人", "矩阵邻居")
		}
		for _, s := range []scope{scopeSibling, scopeParent} {
			for _, m := range w.markers[s] {
				leaks = append(leaks, m.text)
			}
		}
		for _, text := range leaks {
			if strings.Contains(rec.Body.String(), text) {
				t.Errorf("%s: the answer shows %q", label, text)
			}
		}
	}
	return len(cases)
}
