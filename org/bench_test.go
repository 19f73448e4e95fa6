package org_test

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

// envBenchBig switches BenchmarkListPeopleScoped from 100,000 people in 1,500 organisations to
// the full 1,000,000 people in 15,000 organisations, which takes a minute or two to build.
const envBenchBig = "GRASSROOTS_BENCH_BIG"

// eachDB runs a benchmark on SQLite and, when configured, on PostgreSQL.
func eachDB(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.SQLite(b, audit.Migrations, org.Migrations)) })
	if os.Getenv(storetest.EnvPostgres) != "" {
		b.Run("postgres", func(b *testing.B) { fn(b, storetest.Postgres(b, audit.Migrations, org.Migrations)) })
	}
}

// benchTree is a county of townships of villages of branches, loaded with CopyRows. Ids are
// assigned by the database in load order, 1, 2, 3 … in a fresh table; the loader checks that.
type benchTree struct {
	nodes     []benchNode // nodes[id-1]
	townships []int64
	villages  []int64
}

type benchNode struct {
	id, parent int64
	path       string
	depth      int
}

func (t *benchTree) add(parent int64) int64 {
	n := benchNode{id: int64(len(t.nodes) + 1), parent: parent, path: "/", depth: 1}
	if parent != 0 {
		p := t.nodes[parent-1]
		n.path, n.depth = p.path, p.depth+1
	}
	n.path += fmt.Sprint(n.id) + "/"
	t.nodes = append(t.nodes, n)
	return n.id
}

// leaves are where people live: villages and their branches.
func (t *benchTree) leaves() []int64 {
	var out []int64
	for _, n := range t.nodes {
		if n.depth >= 3 {
			out = append(out, n.id)
		}
	}
	return out
}

func buildTree(b *testing.B, db *store.DB, townships, villages, branches int) *benchTree {
	b.Helper()
	t := &benchTree{}
	root := t.add(0)
	for range townships {
		town := t.add(root)
		t.townships = append(t.townships, town)
		for range villages {
			v := t.add(town)
			t.villages = append(t.villages, v)
			for range branches {
				t.add(v)
			}
		}
	}
	kinds := []org.Kind{org.KindCounty, org.KindTownship, org.KindVillage, org.KindPartyBranch}
	now := store.FormatTime(time.Now())
	rows := make([][]any, len(t.nodes))
	for i, n := range t.nodes {
		var parent any
		if n.parent != 0 {
			parent = n.parent
		}
		rows[i] = []any{parent, fmt.Sprintf("组织%d", n.id), string(kinds[n.depth-1]), n.depth * 10, n.path, n.depth, now, now}
	}
	cols := []string{"parent_id", "name", "kind", "sort_order", "path", "depth", "created_at", "updated_at"}
	load(b, db, "orgs", cols, rows)
	return t
}

// load bulk-inserts rows into an empty table and checks that they got ids 1 … len(rows).
func load(b *testing.B, db *store.DB, table string, cols []string, rows [][]any) {
	b.Helper()
	err := db.Write(ctx, func(tx *store.Tx) error {
		for chunk := range slices.Chunk(rows, 50000) {
			if err := db.Dialect.CopyRows(ctx, tx, table, cols, chunk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var n, top int
	if err := db.QueryRow(ctx, `SELECT COUNT(*), MAX(id) FROM `+table).Scan(&n, &top); err != nil || n != len(rows) || top != n {
		b.Fatalf("%s: %d rows, max id %d, %v; want ids 1 … %d", table, n, top, err, len(rows))
	}
}

// loadPeople puts perOrg people in each leaf, organisation by organisation as imports do, a
// third of them retirees.
func loadPeople(b *testing.B, db *store.DB, t *benchTree, perOrg int) int {
	b.Helper()
	now := store.FormatTime(time.Now())
	var people, cats [][]any
	statuses := org.PoliticalStatuses()
	for _, leaf := range t.leaves() {
		for range perOrg {
			i := len(people)
			birth := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/900)
			number := idNumber("532528", birth.Format("20060102"), i%900)
			people = append(people, []any{leaf, fmt.Sprintf("人员%d", i), "男", number, birth.Format(store.DateLayout),
				"", statuses[i%len(statuses)], nil, now, now})
			if i%3 == 0 {
				cats = append(cats, []any{int64(i + 1), org.CategoryRetired})
			}
		}
	}
	load(b, db, "people", []string{"org_id", "name", "gender", "id_number", "birth_date", "mobile",
		"political_status", "party_joined_on", "created_at", "updated_at"}, people)
	err := db.Write(ctx, func(tx *store.Tx) error {
		return db.Dialect.CopyRows(ctx, tx, "person_categories", []string{"person_id", "category"}, cats)
	})
	if err != nil {
		b.Fatal(err)
	}
	return len(people)
}

// settle brings PostgreSQL to where autovacuum would soon bring it after a bulk load:
// statistics gathered and pages marked all-visible, so that index-only scans need no heap.
// SQLite is left as the server leaves it, without ANALYZE.
func settle(b *testing.B, db *store.DB) {
	b.Helper()
	if !db.IsPostgres() {
		return
	}
	for _, table := range []string{"orgs", "people", "person_categories"} {
		rows, err := db.Query(ctx, "VACUUM ANALYZE "+table)
		if err != nil {
			b.Fatal(err)
		}
		rows.Close()
	}
}

func reviewerOf(t *benchTree, id int64) *auth.Principal {
	n := t.nodes[id-1]
	return &auth.Principal{UserID: 2, Username: "shenhe",
		Grants: []auth.Grant{{Role: role(auth.RoleReviewer), OrgID: n.id, OrgPath: n.path}}}
}

// BenchmarkSubtree loads a township's subtree (about 1,000 nodes) and the whole county
// (20,021 nodes) from a tree of 20,021 organisations.
func BenchmarkSubtree(b *testing.B) {
	eachDB(b, func(b *testing.B, db *store.DB) {
		start := time.Now()
		tree := buildTree(b, db, 20, 100, 9)
		settle(b, db)
		b.Logf("built %d organisations in %s", len(tree.nodes), time.Since(start).Round(time.Millisecond))
		svc := org.NewService(db)
		sys := auth.System()
		for _, c := range []struct {
			name string
			root int64
			want int
		}{{"township", tree.townships[7], 1001}, {"county", 1, len(tree.nodes)}} {
			b.Run(c.name, func(b *testing.B) {
				for b.Loop() {
					sub, err := svc.Subtree(ctx, sys, c.root)
					if err != nil || len(sub) != c.want {
						b.Fatalf("Subtree = %d nodes, %v; want %d", len(sub), err, c.want)
					}
				}
			})
			// The baseline: the same rows by the same index range, scanned into variables.
			b.Run(c.name+"/baseline", func(b *testing.B) {
				lo, hi := store.PathRange(tree.nodes[c.root-1].path)
				for b.Loop() {
					if n := rawSubtree(b, db, lo, hi); n != c.want {
						b.Fatalf("raw subtree = %d rows, want %d", n, c.want)
					}
				}
			})
		}
	})
}

func rawSubtree(b *testing.B, db *store.DB, lo, hi string) int {
	rows, err := db.Query(ctx, `SELECT id, COALESCE(parent_id, 0), name, kind, COALESCE(division_code, ''),
		sort_order, path, depth, archived_at, created_at FROM orgs WHERE path >= ? AND path < ?`, lo, hi)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, parent, order, depth int64
		var name, kind, code, path, created string
		var archived *string
		if err := rows.Scan(&id, &parent, &name, &kind, &code, &order, &path, &depth, &archived, &created); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

func rawPage(b *testing.B, db *store.DB) int {
	rows, err := db.Query(ctx, `SELECT pe.id, pe.org_id, o.name, o.path, pe.name, pe.gender, pe.id_number,
		pe.birth_date, pe.mobile, pe.political_status, COALESCE(pe.party_joined_on, ''), pe.created_at, pe.updated_at
		FROM people pe JOIN orgs o ON o.id = pe.org_id ORDER BY pe.id LIMIT 51`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, orgID int64
		var orgName, path, name, gender, number, birth, mobile, status, joined, created, updated string
		if err := rows.Scan(&id, &orgID, &orgName, &path, &name, &gender, &number, &birth, &mobile, &status,
			&joined, &created, &updated); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

// BenchmarkListPeopleScoped loads the first page of 50 people, and a page from the middle of
// the list, for callers whose scope is a village, a township and the whole county. It reports
// the 99th percentile as p99-ms alongside the mean.
func BenchmarkListPeopleScoped(b *testing.B) {
	townships, villages, branches, perOrg := 3, 50, 9, 67 // 100,000 people in 1,504 organisations
	if os.Getenv(envBenchBig) != "" {
		townships = 30 // 1,000,000 people in 15,031 organisations
	}
	eachDB(b, func(b *testing.B, db *store.DB) {
		start := time.Now()
		tree := buildTree(b, db, townships, villages, branches)
		n := loadPeople(b, db, tree, perOrg)
		settle(b, db)
		b.Logf("built %d organisations and %d people in %s", len(tree.nodes), n, time.Since(start).Round(time.Millisecond))
		svc := org.NewService(db)
		// The baseline: an unscoped page of the same columns by primary key, scanned into
		// variables, with no categories.
		b.Run("baseline", func(b *testing.B) {
			for b.Loop() {
				if n := rawPage(b, db); n != 51 {
					b.Fatalf("raw page = %d rows", n)
				}
			}
		})
		scopes := []struct {
			name string
			p    *auth.Principal
		}{
			{"village", reviewerOf(tree, tree.villages[len(tree.villages)/2])},
			{"township", reviewerOf(tree, tree.townships[len(tree.townships)/2])},
			{"county", reviewerOf(tree, 1)},
		}
		for _, s := range scopes {
			first, next, err := svc.ListPeople(ctx, s.p, org.PeopleFilter{})
			if err != nil || len(first) != 50 || next == 0 {
				b.Fatalf("%s: first page %d people, next %d, %v", s.name, len(first), next, err)
			}
			middle, _, _ := svc.ListPeople(ctx, s.p, org.PeopleFilter{Limit: 200, Cursor: next})
			for _, page := range []struct {
				name   string
				cursor int64
			}{{"first", 0}, {"later", middle[len(middle)-1].ID}} {
				b.Run(s.name+"/"+page.name, func(b *testing.B) {
					var took []time.Duration
					for b.Loop() {
						t0 := time.Now()
						list, _, err := svc.ListPeople(ctx, s.p, org.PeopleFilter{Cursor: page.cursor})
						took = append(took, time.Since(t0))
						if err != nil || len(list) == 0 {
							b.Fatalf("page: %d people, %v", len(list), err)
						}
					}
					slices.Sort(took)
					b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
				})
			}
		}
	})
}
