package passbook

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
)

// querier is what reads need: a transaction or the database's read pool.
type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// orgRef is the little of an organisation the passbook needs.
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

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
