package org

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"grassroots/auth"
	"grassroots/errs"
)

// maxCandidates is how many matches of an ambiguous path an error names.
const maxCandidates = 5

// FindOrgByPath finds the live organisation a path of names denotes, as users write it in a
// spreadsheet: "元阳县/元城镇/元城镇社区". The names must be consecutive parent → child links
// ending at the organisation; the first may be at any depth, so "元城镇/元城镇社区" works as
// well. The organisation must be visible to the caller; its ancestors need not be, so that a
// township's staff may write the county's name in front. A path that fits several
// organisations is refused with their full paths, so the user can write more of it.
func (s *Service) FindOrgByPath(ctx context.Context, p *auth.Principal, text string) (Org, error) {
	names := splitOrgPath(text)
	if len(names) == 0 {
		return Org{}, errs.Invalid("org_id", "请填写所属组织")
	}
	// One join per ancestor named, each an index lookup by name (orgs_name) or by id, so the
	// whole chain is one statement however long it is.
	var joins strings.Builder
	args := []any{}
	prev := "o"
	for i := len(names) - 2; i >= 0; i-- {
		alias := fmt.Sprintf("a%d", i)
		fmt.Fprintf(&joins, " JOIN orgs %s ON %s.id = %s.parent_id AND %s.name = ?", alias, alias, prev, alias)
		args = append(args, names[i])
		prev = alias
	}
	cond, scopeArgs := p.Scope(auth.OrgView).Where("o.path", "")
	args = append(append(args, names[len(names)-1]), scopeArgs...)
	found, err := queryOrgs(ctx, s.db, `SELECT `+orgColumns+orgCounts+` FROM orgs o`+joins.String()+`
		WHERE o.name = ? AND o.archived_at IS NULL AND `+cond+` ORDER BY o.path LIMIT ?`,
		append(args, maxCandidates+1)...)
	switch {
	case err != nil:
		return Org{}, err
	case len(found) == 0:
		return Org{}, errs.NotFound("未找到组织：%s", strings.Join(names, "/"))
	case len(found) > 1:
		return Org{}, s.ambiguous(ctx, p, names, found)
	}
	return found[0], nil
}

// splitOrgPath splits a path of names on / (half or full width), dropping blanks.
func splitOrgPath(text string) []string {
	var names []string
	for part := range strings.FieldsFuncSeq(text, func(r rune) bool { return r == '/' || r == '／' }) {
		if part = strings.TrimSpace(part); part != "" {
			names = append(names, part)
		}
	}
	return names
}

// ambiguous names the candidates by their paths from the caller's visible top.
func (s *Service) ambiguous(ctx context.Context, p *auth.Principal, names []string, found []Org) error {
	var paths []string
	for i, o := range found {
		if i == maxCandidates {
			paths = append(paths, "……")
			break
		}
		chain, err := s.Ancestors(ctx, p, o.ID)
		if err != nil {
			return err
		}
		var parts []string
		for _, a := range chain {
			parts = append(parts, a.Name)
		}
		paths = append(paths, strings.Join(parts, "/"))
	}
	return errs.Invalid("org_id", "组织“%s”不唯一，请写出更完整的上级组织或区划代码，可能是：%s",
		strings.Join(names, "/"), strings.Join(paths, "；"))
}

// FindOrgByCode finds the live organisation with a 12-digit division code.
func (s *Service) FindOrgByCode(ctx context.Context, p *auth.Principal, code string) (Org, error) {
	code, err := NormaliseDivisionCode(code)
	if err != nil {
		return Org{}, err
	}
	cond, args := p.Scope(auth.OrgView).Where("o.path", "")
	found, err := queryOrgs(ctx, s.db, `SELECT `+orgColumns+orgCounts+` FROM orgs o
		WHERE o.division_code = ? AND o.archived_at IS NULL AND `+cond, append([]any{code}, args...)...)
	if err != nil {
		return Org{}, err
	}
	if len(found) == 0 {
		return Org{}, errs.NotFound("未找到区划代码为%s的组织", code)
	}
	return found[0], nil
}

// ResolveOrg reads what a user typed for an organisation: a 12-digit division code or a path
// of names (see FindOrgByPath).
func (s *Service) ResolveOrg(ctx context.Context, p *auth.Principal, text string) (Org, error) {
	text = strings.TrimSpace(text)
	if divisionCodePattern.MatchString(text) {
		return s.FindOrgByCode(ctx, p, text)
	}
	return s.FindOrgByPath(ctx, p, text)
}

// OrgResolver resolves the organisation column of a spreadsheet. Rows repeat a few hundred
// organisations many times over, so each distinct text is looked up once and remembered,
// failures included; only unexpected errors (a cancelled context) are not remembered. It is
// safe for concurrent use and meant to live for one import.
type OrgResolver struct {
	s     *Service
	p     *auth.Principal
	mu    sync.Mutex
	cache map[string]resolved
}

type resolved struct {
	org Org
	err error
}

// NewOrgResolver returns a resolver acting for p.
func (s *Service) NewOrgResolver(p *auth.Principal) *OrgResolver {
	return &OrgResolver{s: s, p: p, cache: map[string]resolved{}}
}

// Resolve is ResolveOrg, remembered.
func (r *OrgResolver) Resolve(ctx context.Context, text string) (Org, error) {
	key := strings.Join(splitOrgPath(text), "/")
	r.mu.Lock()
	hit, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return hit.org, hit.err
	}
	o, err := r.s.ResolveOrg(ctx, r.p, text)
	if err == nil || errs.KindOf(err) != errs.KindInternal {
		r.mu.Lock()
		r.cache[key] = resolved{o, err}
		r.mu.Unlock()
	}
	return o, err
}
