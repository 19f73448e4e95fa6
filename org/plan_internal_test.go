package org

import (
	"context"
	"strings"
	"testing"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/store"
	"grassroots/store/storetest"
)

// TestQueryPlans pins the plans the benchmarks rely on, on SQLite, whose planner uses no
// statistics unless ANALYZE has run, so the plan is the same on an empty table as on a full
// one: subtrees and scoped lists are index range scans, never a walk of a whole table.
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, audit.Migrations, Migrations)
	svc := NewService(db)
	sys := auth.System()
	root, err := svc.CreateOrg(ctx, sys, OrgInput{Name: "元阳县", Kind: KindCounty})
	if err != nil {
		t.Fatal(err)
	}
	town, err := svc.CreateOrg(ctx, sys, OrgInput{ParentID: root.ID, Name: "元城镇", Kind: KindTownship})
	if err != nil {
		t.Fatal(err)
	}
	reviewer, _ := auth.LookupRole(auth.RoleReviewer)
	p := &auth.Principal{UserID: 2, Grants: []auth.Grant{{Role: reviewer, OrgID: town.ID, OrgPath: town.Path}}}

	cond, args := p.Scope(auth.OrgView).Where("o.path", "")
	wantPlan(t, db, subtreeQuery(cond), append([]any{town.ID}, args...),
		"SEARCH r USING INTEGER PRIMARY KEY", "SEARCH o USING INDEX orgs_path")

	for _, f := range []PeopleFilter{{}, {OrgID: town.ID, Cursor: 100}} {
		w, err := peopleWhere(ctx, db, p, f)
		if err != nil {
			t.Fatal(err)
		}
		wantPlan(t, db, w.pageIDs(), append(w.args, 51),
			"SEARCH o USING COVERING INDEX orgs_path", "SEARCH pe USING COVERING INDEX people_org",
			"USE TEMP B-TREE FOR ORDER BY")
	}
	w, err := peopleWhere(ctx, db, sys, PeopleFilter{})
	if err != nil || !w.wholeTree {
		t.Fatalf("system scope: %+v, %v", w, err)
	}
	wantPlan(t, db, w.pageIDs(), append(w.args, 51), "SCAN pe")
}

// wantPlan checks that EXPLAIN QUERY PLAN of query has exactly the steps given, in order.
func wantPlan(t *testing.T, db *store.DB, query string, args []any, steps ...string) {
	t.Helper()
	rows, err := db.Query(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		got = append(got, detail)
	}
	if len(got) != len(steps) {
		t.Fatalf("plan\n%s\nwant steps starting\n%s", strings.Join(got, "\n"), strings.Join(steps, "\n"))
	}
	for i, step := range steps {
		if !strings.HasPrefix(got[i], step) {
			t.Fatalf("plan\n%s\nwant steps starting\n%s", strings.Join(got, "\n"), strings.Join(steps, "\n"))
		}
	}
}
