package appraisal

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

//go:embed schema
var schema embed.FS

// Migrations is the appraisal package's schema; it runs after auth's.
var Migrations = store.Migrations{Package: "appraisal", FS: schema}

// Permissions of routine appraisal.
const (
	PermView   auth.Permission = "appraisal.view"   // policies, lists, cycles, results
	PermPolicy auth.Permission = "appraisal.policy" // set a district's or a unit's policy
	PermManage auth.Permission = "appraisal.manage" // the HR office: lists, cycles, targets, links, HR rating, grading
	PermEnter  auth.Permission = "appraisal.enter"  // enter negative-list hits and add/deduct entries
	PermReview auth.Permission = "appraisal.review" // confirm, reject and reverse entries
	PermRate   auth.Permission = "appraisal.rate"   // rate and assess tasks as the supervising leader, for those who hold the post
	PermSelf   auth.Permission = "appraisal.self"   // report on one's own target tasks
)

func init() {
	staff := []auth.RoleKey{auth.RoleOrgAdmin, auth.RoleUnitAdmin, auth.RoleReviewer}
	auth.RegisterPermission(
		auth.PermissionInfo{Key: PermView, Name: "查看平时考核", Roles: staff},
		auth.PermissionInfo{Key: PermPolicy, Name: "制定平时考核政策", Roles: []auth.RoleKey{auth.RoleOrgAdmin, auth.RoleUnitAdmin}},
		auth.PermissionInfo{Key: PermManage, Name: "组织实施平时考核（组织人事部门）", Roles: []auth.RoleKey{auth.RoleOrgAdmin, auth.RoleUnitAdmin}},
		auth.PermissionInfo{Key: PermEnter, Name: "登记负面清单与加扣分", Roles: staff},
		auth.PermissionInfo{Key: PermReview, Name: "复核负面清单与加扣分", Roles: staff},
		// Who rates as the supervising leader is decided by the post, not the role: the
		// permission only opens the door to staff accounts, and the rating itself needs a
		// supervising post over the ratee (supervises). So HR, holding the permission, still
		// cannot rate as the leader, and administrators hold every permission of a reviewer.
		auth.PermissionInfo{Key: PermRate, Name: "主管领导评价与目标任务评定（须任主管领导职务）", Roles: staff},
		auth.PermissionInfo{Key: PermSelf, Name: "填报本人目标任务完成情况", Roles: []auth.RoleKey{auth.RoleMember, auth.RoleOrgAdmin, auth.RoleUnitAdmin, auth.RoleReviewer}},
	)
}

// Service is routine appraisal's use cases; each public method is one transaction.
type Service struct {
	db *store.DB
}

// NewService returns the service over db.
func NewService(db *store.DB) *Service { return &Service{db: db} }

// querier is what reads need: a transaction or the database's read pool.
type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// orgRef is the little of an organisation appraisal needs.
type orgRef struct {
	id   int64
	name string
	path string
}

// visibleOrg loads a live organisation inside the caller's scope for perm; anything else is
// not found, so ids cannot be probed.
func visibleOrg(ctx context.Context, q querier, p *auth.Principal, perm auth.Permission, orgID int64) (orgRef, error) {
	cond, args := p.Scope(perm).Where("o.path", "")
	var o orgRef
	err := q.QueryRow(ctx, `SELECT o.id, o.name, o.path FROM orgs o WHERE o.id = ? AND o.archived_at IS NULL AND `+cond,
		append([]any{orgID}, args...)...).Scan(&o.id, &o.name, &o.path)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errs.NotFound("组织不存在或不在您的管理范围内")
	}
	return o, err
}

// sight is the SQL condition on o.path of what the caller may see for perm: their view
// scope and their perm scope together.
func sight(p *auth.Principal, perm auth.Permission) (string, []any) {
	view, args := p.Scope(PermView).Where("o.path", "")
	if perm == PermView {
		return view, args
	}
	other, more := p.Scope(perm).Where("o.path", "")
	return "(" + view + " OR " + other + ")", append(args, more...)
}

// allowedOrg loads an organisation the caller acts on with perm: outside the caller's sight
// it is not found, so ids cannot be probed; seen but not covered by perm it is forbidden.
func allowedOrg(ctx context.Context, q querier, p *auth.Principal, perm auth.Permission, orgID int64, what string) (orgRef, error) {
	var o orgRef
	cond, args := sight(p, perm)
	err := q.QueryRow(ctx, `SELECT o.id, o.name, o.path FROM orgs o WHERE o.id = ? AND o.archived_at IS NULL AND `+cond,
		append([]any{orgID}, args...)...).Scan(&o.id, &o.name, &o.path)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return o, errs.NotFound("组织不存在或不在您的管理范围内")
	case err != nil:
		return o, err
	case !p.Scope(perm).Covers(o.path):
		return o, errs.Forbidden("无权在“%s”%s", o.name, what)
	}
	return o, nil
}

// ancestorIDs lists the ids in a materialised path, root first: "/1/5/23/" → 1, 5, 23.
func ancestorIDs(path string) []int64 {
	var ids []int64
	for part := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(part, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// text trims a free-text field and checks its length; required fields may not be empty.
func text(field, name, s string, limit int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		return "", errs.Invalid(field, "请填写%s", name)
	case utf8.RuneCountInString(s) > limit:
		return "", errs.Invalid(field, "%s不能超过%d个字", name, limit)
	}
	return s, nil
}

// validDate checks a YYYY-MM-DD date.
func validDate(field, name, s string) (string, error) {
	s = strings.TrimSpace(s)
	if _, err := time.Parse(store.DateLayout, s); err != nil || len(s) != 10 {
		return "", errs.Invalid(field, "%s应为 YYYY-MM-DD 格式的日期", name)
	}
	return s, nil
}
