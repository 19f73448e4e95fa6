package org_test

import (
	"context"
	"errors"
	"testing"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

var ctx = context.Background()

func role(k auth.RoleKey) auth.Role {
	r, _ := auth.LookupRole(k)
	return r
}

// user is a signed-in principal holding one role on one organisation.
func user(id int64, name string, k auth.RoleKey, o org.Org) *auth.Principal {
	return &auth.Principal{UserID: id, Username: name,
		Grants: []auth.Grant{{Role: role(k), OrgID: o.ID, OrgPath: o.Path, OrgName: o.Name}}}
}

// county is the test world: 元阳县 with two townships, each with communities and branches.
//
//	元阳县 532528000000
//	├─ 元城镇 532528100000
//	│  ├─ 元城镇社区 532528100001
//	│  │  └─ 第一党支部
//	│  └─ 南沙社区 532528100002
//	│     └─ 第一党支部
//	└─ 新街镇 532528101000
type county struct {
	db                 *store.DB
	svc                *org.Service
	sys                *auth.Principal
	root, town, town2  org.Org
	c1, c2, c1b1, c2b1 org.Org
}

func newCounty(t *testing.T, db *store.DB) *county {
	t.Helper()
	w := &county{db: db, svc: org.NewService(db), sys: auth.System()}
	w.root = w.mustOrg(t, org.OrgInput{Name: "元阳县", Kind: org.KindCounty, DivisionCode: "532528000000"})
	w.town = w.mustOrg(t, org.OrgInput{ParentID: w.root.ID, Name: "元城镇", Kind: "乡镇(街道)", DivisionCode: "532528100000"})
	w.town2 = w.mustOrg(t, org.OrgInput{ParentID: w.root.ID, Name: "新街镇", Kind: org.KindTownship, DivisionCode: "532528101000"})
	w.c1 = w.mustOrg(t, org.OrgInput{ParentID: w.town.ID, Name: "元城镇社区", Kind: org.KindVillage, DivisionCode: "532528100001"})
	w.c2 = w.mustOrg(t, org.OrgInput{ParentID: w.town.ID, Name: "南沙社区", Kind: org.KindVillage, DivisionCode: "532528100002"})
	w.c1b1 = w.mustOrg(t, org.OrgInput{ParentID: w.c1.ID, Name: "第一党支部", Kind: org.KindPartyBranch})
	w.c2b1 = w.mustOrg(t, org.OrgInput{ParentID: w.c2.ID, Name: "第一党支部", Kind: org.KindPartyBranch})
	return w
}

func (w *county) mustOrg(t *testing.T, in org.OrgInput) org.Org {
	t.Helper()
	o, err := w.svc.CreateOrg(ctx, w.sys, in)
	if err != nil {
		t.Fatalf("create %s: %v", in.Name, err)
	}
	return o
}

func (w *county) mustPerson(t *testing.T, in org.PersonInput) org.Person {
	t.Helper()
	pe, err := w.svc.CreatePerson(ctx, w.sys, in)
	if err != nil {
		t.Fatalf("create %s: %v", in.Name, err)
	}
	return pe
}

// count reads one number, such as the rows of a table.
func count(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantErr checks that err is a service error of kind k with message msg ("" : any message).
func wantErr(t *testing.T, err error, k errs.Kind, msg string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != k || (msg != "" && e.Message != msg) {
		t.Fatalf("err = %v, want %s %q", err, k, msg)
	}
}

// unchanged runs fn and checks it wrote nothing: no audit record and the same rows counted by
// each query.
func unchanged(t *testing.T, db *store.DB, fn func(), queries ...string) {
	t.Helper()
	queries = append(queries, `SELECT COUNT(*) FROM audit_log`)
	before := make([]int, len(queries))
	for i, q := range queries {
		before[i] = count(t, db, q)
	}
	fn()
	for i, q := range queries {
		if after := count(t, db, q); after != before[i] {
			t.Fatalf("%s: %d before, %d after a refused change", q, before[i], after)
		}
	}
}

func verifyAudit(t *testing.T, db *store.DB) {
	t.Helper()
	if n, err := audit.Verify(ctx, db); err != nil || n == 0 {
		t.Fatalf("audit.Verify = %d, %v", n, err)
	}
}

func each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	storetest.Each(t, fn, audit.Migrations, org.Migrations)
}
