package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
)

func (s *Server) registerAudit() {
	s.Menu(NavItem{Key: "audit", Label: "审计日志", Href: "/audit", Perm: auth.AuditView, Order: 70})
	s.Page("GET /audit", auth.AuditView, s.auditPage)
	s.Page("POST /audit/verify", auth.AuditView, s.auditVerify)
	s.API("GET /api/v1/audit", auth.AuditView, s.apiAudit)
	s.Document(apiDocs, "openapi/audit.json")
}

// auditScope is the part of the log p may read: the records of organisations in p's audit.view
// scope. Records without an organisation (sign-ins, failed sign-ins, sign-outs) belong to no
// subtree, so audit.List shows them only with AllOrgs; grants never give that, so it is given
// here to whoever's scope covers every live root of the tree — the deployment's administrators,
// who are the ones to watch sign-ins.
func (s *Server) auditScope(ctx context.Context, p *auth.Principal) (audit.Filter, error) {
	scope := p.Scope(auth.AuditView)
	f := audit.Filter{AllOrgs: scope.All, OrgPaths: scope.Paths}
	if f.AllOrgs || len(f.OrgPaths) == 0 {
		return f, nil
	}
	roots, err := s.cfg.Org.Children(ctx, auth.System(), 0, false)
	if err != nil {
		return f, err
	}
	f.AllOrgs = len(roots) > 0 && !slices.ContainsFunc(roots, func(o org.Org) bool { return !scope.Covers(o.Path) })
	return f, nil
}

// auditFilter reads the viewer's filters from the query string; dates are Asia/Shanghai days,
// until included.
func (s *Server) auditFilter(r *http.Request, p *auth.Principal) (audit.Filter, error) {
	f, err := s.auditScope(r.Context(), p)
	if err != nil {
		return f, err
	}
	q := r.URL.Query()
	f.Actor = strings.TrimSpace(q.Get("actor"))
	f.Action = strings.TrimSpace(q.Get("action"))
	f.EntityType = strings.TrimSpace(q.Get("entity_type"))
	if f.EntityID, err = QueryID(r, "entity_id"); err != nil {
		return f, errs.Invalid("entity_id", "对象编号应为数字")
	}
	if f.Limit, f.Before, err = Paging(r); err != nil {
		return f, err
	}
	if f.Since, err = shanghaiDay(q.Get("since"), "since"); err != nil {
		return f, err
	}
	if f.Until, err = shanghaiDay(q.Get("until"), "until"); err != nil {
		return f, err
	}
	if !f.Until.IsZero() {
		f.Until = f.Until.AddDate(0, 0, 1)
		if !f.Since.IsZero() && !f.Until.After(f.Since) {
			return f, errs.Invalid("until", "结束日期不能早于开始日期")
		}
	}
	return f, nil
}

// shanghaiDay is the first instant of a YYYY-MM-DD day in Asia/Shanghai; empty is zero.
func shanghaiDay(text, field string) (time.Time, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(store.DateLayout, text, store.Shanghai)
	if err != nil {
		return time.Time{}, errs.Invalid(field, "日期应为 YYYY-MM-DD 格式，如 2026-03-01")
	}
	return t, nil
}

// auditRow is a record as the viewer shows it.
type auditRow struct {
	audit.Record
	Entity     string // the entity type in Chinese
	EntityHref string // its page, when it has one
	OrgName    string
}

var entityLabels = map[string]string{
	"org": "组织", "person": "人员", "membership": "任职", "user": "账号", "api_token": "API 令牌",
}

var entityPages = map[string]string{"org": "/orgs/", "person": "/people/", "user": "/users/"}

// auditRows names entity types and organisations. Organisations are looked up once each: a
// page of records usually concerns a handful.
func (s *Server) auditRows(ctx context.Context, p *auth.Principal, recs []audit.Record) ([]auditRow, error) {
	orgNames := map[int64]string{}
	rows := make([]auditRow, len(recs))
	for i, rec := range recs {
		row := auditRow{Record: rec, Entity: rec.EntityType}
		if l, ok := entityLabels[rec.EntityType]; ok {
			row.Entity = l
		}
		if page, ok := entityPages[rec.EntityType]; ok && rec.EntityID != 0 {
			row.EntityHref = page + strconv.FormatInt(rec.EntityID, 10)
		}
		if rec.OrgID != 0 {
			name, ok := orgNames[rec.OrgID]
			if !ok {
				o, err := s.cfg.Org.GetOrg(ctx, p, rec.OrgID)
				switch {
				case err == nil:
					name = o.Name
				case errs.Is(err, errs.KindNotFound):
					name = "#" + strconv.FormatInt(rec.OrgID, 10)
				default:
					return nil, err
				}
				orgNames[rec.OrgID] = name
			}
			row.OrgName = name
		}
		rows[i] = row
	}
	return rows, nil
}

type auditView struct {
	Rows    []auditRow
	Next    string
	Actions []option
	Types   []option
	// The result of 校验审计链, on the page that answers the button.
	Verified string
	Broken   string
}

type option struct{ Key, Label string }

func options(labels map[string]string) []option {
	var out []option
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		out = append(out, option{k, labels[k]})
	}
	return out
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.renderAudit(w, r, p, auditView{})
}

func (s *Server) renderAudit(w http.ResponseWriter, r *http.Request, p *auth.Principal, data auditView) error {
	v := View{Title: "审计日志", Active: "audit", Form: r.URL.Query()}
	data.Actions, data.Types = options(actionLabels), options(entityLabels)
	f, err := s.auditFilter(r, p)
	if err == nil {
		var recs []audit.Record
		var next int64
		if recs, next, err = audit.List(r.Context(), s.cfg.DB, f); err == nil {
			if next != 0 {
				data.Next = nextPage(r, "/audit", next)
			}
			data.Rows, err = s.auditRows(r.Context(), p, recs)
		}
	}
	status := http.StatusOK
	if err != nil {
		if !FormErrors(&v, err) {
			return err
		}
		status = StatusFor(err)
	}
	v.Data = data
	return s.Render(w, r, status, s.layout, "audit", v)
}

// auditVerify walks the whole chain and shows the result above the log. A broken chain is a
// finding to report, not a failed request.
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var data auditView
	n, err := audit.Verify(r.Context(), s.cfg.DB)
	var broken *audit.Broken
	switch {
	case errors.As(err, &broken):
		data.Broken = fmt.Sprintf("审计链在第 %d 条记录处断裂，该记录及其后的记录可能被篡改或删除（%s）。请立即报告系统管理员。", broken.ID, broken.Reason)
	case err != nil:
		return err
	default:
		data.Verified = fmt.Sprintf("审计链完整：已校验全部 %d 条记录。", n)
	}
	return s.renderAudit(w, r, p, data)
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := s.auditFilter(r, p)
	if err != nil {
		return err
	}
	recs, next, err := audit.List(r.Context(), s.cfg.DB, f)
	if err != nil {
		return err
	}
	WriteList(w, recs, next)
	return nil
}
