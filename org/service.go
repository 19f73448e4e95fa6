package org

import (
	"context"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Service is the organisation tree and the people in it. Each public method that changes data
// is one write transaction with its audit record; each read is filtered by the caller's scope
// in SQL.
type Service struct {
	db *store.DB
}

// NewService returns the service over db, which must have the audit and org migrations applied.
func NewService(db *store.DB) *Service { return &Service{db: db} }

// writeLock serialises this package's writes on PostgreSQL (SQLite's single writer does so
// already). Without it two transactions could each pass a check the other invalidates: a child
// created under a node being archived, a path computed from a parent's old path while a move
// rewrites it, a person added to an organisation being archived.
const writeLock = 0x6f7267 // "org"

// write runs fn in a write transaction that holds writeLock from its start.
func (s *Service) write(ctx context.Context, fn func(tx *store.Tx) error) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.db.Dialect.Serialize(ctx, tx, writeLock); err != nil {
			return err
		}
		return fn(tx)
	})
}

// allowAt checks that p holds perm over the organisation at path; path "" is the top of the
// tree, where only a caller whose scope is everything may act. An organisation the caller
// cannot even see is reported as missing, so that ids cannot be probed; one the caller sees
// but may not change is forbidden.
func allowAt(p *auth.Principal, perm auth.Permission, path string) error {
	switch {
	case may(p, perm, path):
		return nil
	case path == "":
		return errs.Forbidden("只有管理全部组织的管理员才能维护顶级组织")
	case p.Scope(auth.OrgView).Covers(path) || p.Scope(auth.PeopleView).Covers(path):
		return errs.Forbidden("无权在该组织执行此操作")
	}
	return errs.NotFound("组织不存在")
}

// may reports whether p holds perm over the organisation at path ("" : the top of the tree).
func may(p *auth.Principal, perm auth.Permission, path string) bool {
	if path == "" {
		return p.Scope(perm).All
	}
	return p.Scope(perm).Covers(path)
}

// parentPath is the path of the parent of the node at path, "" for a root.
func parentPath(path string) string {
	trimmed := strings.TrimSuffix(path, "/")
	i := strings.LastIndexByte(trimmed, '/')
	if i <= 0 {
		return ""
	}
	return trimmed[:i+1]
}

// pathIDs lists the ids of a path from the root down.
func pathIDs(path string) []int64 {
	var ids []int64
	for part := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(part, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// changes is an audit summary of an update: field → [old, new], only for fields that changed.
type changes map[string][2]any

func note[T comparable](c changes, field string, was, now T) {
	if was != now {
		c[field] = [2]any{was, now}
	}
}

// nullable stores the zero value as NULL.
func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
