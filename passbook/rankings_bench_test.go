package passbook

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

// The rankings benchmarks run over a synthetic prefecture: 10 counties of 20 townships of 20
// communities (4,000 communities), with GRASSROOTS_BENCH_BIG=1 a million passbooks (250 a
// community, 100,000 a county), otherwise 20,000. Every passbook has 2026 and all-time totals
// (points 1–400 in 2026, so ties are everywhere) and its two accounts. Rows go in with the
// dialect's CopyRows: COPY on PostgreSQL, a prepared INSERT on SQLite.
//
//	go test ./passbook/ -run '^$' -bench Rankings -benchtime 2000x
//	GRASSROOTS_BENCH_BIG=1 GRASSROOTS_TEST_POSTGRES=… go test ./passbook/ -run '^$' -bench Rankings -benchtime 2000x -timeout 1h
//
// Each measurement has a baseline run in the same process: the member's rank beside the same
// counts as raw SQL without scope or joins, and a county's top 100 beside a raw SELECT of the
// top 100 rows of the whole table.

const (
	benchCounties    = 10
	benchTownships   = 20 // per county
	benchCommunities = 20 // per township
)

type benchWorld struct {
	db          *store.DB
	passbooks   int
	counties    []orgRef
	communities []orgRef
	townshipOf  map[int64]orgRef // community id → its township
	member      func(passbookID int64) *auth.Principal
}

func BenchmarkRankings(b *testing.B) {
	n := 20_000
	if os.Getenv("GRASSROOTS_BENCH_BIG") == "1" {
		n = 1_000_000
	}
	b.Run("sqlite", func(b *testing.B) { benchRankings(b, storetest.SQLite(b, migrations...), n) })
	if os.Getenv(storetest.EnvPostgres) != "" {
		b.Run("postgres", func(b *testing.B) { benchRankings(b, storetest.Postgres(b, migrations...), n) })
	}
}

func benchRankings(b *testing.B, db *store.DB, n int) {
	start := time.Now()
	w := buildBenchWorld(b, db, n)
	b.Logf("%s: %d passbooks loaded in %s", db.Dialect.Name(), n, time.Since(start).Round(time.Second))
	svc := NewService(db)
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func() int64 { return rng.Int64N(int64(w.passbooks)) + 1 }

	b.Run("member_rank", func(b *testing.B) {
		timed(b, func(int) error {
			id := pick()
			_, err := svc.MyRank(ctx, w.member(id), id, "2026")
			return err
		})
	})
	b.Run("member_rank_raw", func(b *testing.B) {
		timed(b, func(int) error { return w.rawRank(pick()) })
	})
	b.Run("county_top100", func(b *testing.B) {
		timed(b, func(i int) error {
			county := w.counties[i%len(w.counties)]
			staff := principal(900, "zuzhibu", auth.RoleOrgAdmin, benchOrg(county), 0)
			r, err := svc.Rankings(ctx, staff, county.id, "2026", 100, "")
			if err == nil && len(r.Items) != min(100, w.passbooks/benchCounties) {
				err = fmt.Errorf("%d rows", len(r.Items))
			}
			return err
		})
	})
	b.Run("county_top100_raw", func(b *testing.B) {
		timed(b, func(int) error { return w.rawTop() })
	})
	b.Run("community_ranking_member", func(b *testing.B) {
		timed(b, func(int) error {
			id := pick()
			_, err := svc.Rankings(ctx, w.member(id), 0, "2026", 100, "")
			return err
		})
	})
}

// timed runs fn once an iteration and reports the 99th percentile beside the mean.
func timed(b *testing.B, fn func(i int) error) {
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := fn(i); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// rawRank reads what a member's standing needs with no scope and no joins beyond the subtree:
// balances and period points by key, the counts ahead in community and township, the fields.
func (w *benchWorld) rawRank(passbookID int64) error {
	return w.db.Read(ctx, func(tx *store.Tx) error {
		var honor, deposit, points, orgID, count int64
		if err := tx.QueryRow(ctx, `SELECT h.balance, d.balance, t.points, t.org_id FROM pb_accounts h, pb_accounts d, pb_points_totals t
			WHERE h.passbook_id = ? AND h.kind = 'honor' AND d.passbook_id = ? AND d.kind = 'deposit' AND t.period = '2026' AND t.passbook_id = ?`,
			passbookID, passbookID, passbookID).Scan(&honor, &deposit, &points, &orgID); err != nil {
			return err
		}
		lo, hi := store.PathRange(w.townshipOf[orgID].path)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`SELECT COUNT(*) FROM pb_points_totals WHERE period = '2026' AND org_id = ? AND points > ?`, []any{orgID, points}},
			{`SELECT COUNT(*) FROM pb_passbooks WHERE org_id = ?`, []any{orgID}},
			{`SELECT COUNT(*) FROM pb_points_totals WHERE period = '2026' AND points > ? AND org_id IN (SELECT id FROM orgs WHERE path >= ? AND path < ?)`, []any{points, lo, hi}},
			{`SELECT COUNT(*) FROM pb_passbooks WHERE org_id IN (SELECT id FROM orgs WHERE path >= ? AND path < ?)`, []any{lo, hi}},
		} {
			if err := tx.QueryRow(ctx, q.sql, q.args...).Scan(&count); err != nil {
				return err
			}
		}
		return nil
	})
}

// rawTop reads the top 100 rows of the whole table: no subtree, no scope, no names.
func (w *benchWorld) rawTop() error {
	rows, err := w.db.Query(ctx, `SELECT passbook_id, points FROM pb_points_totals WHERE period = '2026' ORDER BY points DESC, passbook_id DESC LIMIT 100`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, points int64
		if err := rows.Scan(&id, &points); err != nil {
			return err
		}
	}
	return rows.Err()
}

// buildBenchWorld loads the prefecture's organisations, people, passbooks, accounts and
// totals. Ids are given explicitly, counting from 1 in the fresh tables.
func buildBenchWorld(b *testing.B, db *store.DB, n int) *benchWorld {
	b.Helper()
	w := &benchWorld{db: db, passbooks: n, townshipOf: map[int64]orgRef{}}
	now := store.FormatTime(time.Now())
	orgRows := [][]any{{int64(1), nil, "红河州", "prefecture", "/1/", int64(1), now, now}}
	id := int64(1)
	add := func(parent orgRef, name, kind string) orgRef {
		id++
		o := orgRef{id: id, name: name, path: parent.path + strconv.FormatInt(id, 10) + "/"}
		orgRows = append(orgRows, []any{id, parent.id, name, kind, o.path, int64(len(ancestorIDs(o.path))), now, now})
		return o
	}
	root := orgRef{id: 1, name: "红河州", path: "/1/"}
	for c := range benchCounties {
		county := add(root, fmt.Sprintf("第%d县", c+1), "county")
		w.counties = append(w.counties, county)
		for t := range benchTownships {
			town := add(county, fmt.Sprintf("第%d镇", t+1), "township")
			for v := range benchCommunities {
				community := add(town, fmt.Sprintf("第%d社区", v+1), "village")
				w.communities = append(w.communities, community)
				w.townshipOf[community.id] = town
			}
		}
	}
	benchCopyRows(b, db, "orgs", []string{"id", "parent_id", "name", "kind", "path", "depth", "created_at", "updated_at"}, len(orgRows),
		func(i int) []any { return orgRows[i] })

	rng := rand.New(rand.NewPCG(1, 2))
	points2026 := make([]int64, n+1)
	for i := 1; i <= n; i++ {
		points2026[i] = rng.Int64N(400) + 1
	}
	community := func(i int) orgRef { return w.communities[(i-1)*len(w.communities)/n] }
	benchCopyRows(b, db, "people", []string{"id", "org_id", "name", "gender", "id_number", "birth_date", "political_status", "created_at", "updated_at"}, n,
		func(i int) []any {
			return []any{int64(i + 1), community(i + 1).id, "党员" + strconv.Itoa(i+1), "男", fmt.Sprintf("B%017d", i+1), "1955-01-01", "中共党员", now, now}
		})
	benchCopyRows(b, db, "pb_passbooks", []string{"id", "org_id", "person_id", "number", "class", "state", "opened_on", "created_at", "updated_at"}, n,
		func(i int) []any {
			return []any{int64(i + 1), community(i + 1).id, int64(i + 1), fmt.Sprintf("P%08d", i+1), "离退休党员", "active", "2024-01-01", now, now}
		})
	allTime := func(i int) int64 { return points2026[i] + int64(i%500) }
	benchCopyRows(b, db, "pb_accounts", []string{"id", "org_id", "passbook_id", "kind", "asset", "balance"}, 2*n,
		func(i int) []any {
			pb := i/2 + 1
			if i%2 == 0 {
				return []any{int64(i + 1), community(pb).id, int64(pb), "honor", "points", allTime(pb)}
			}
			return []any{int64(i + 1), community(pb).id, int64(pb), "deposit", "fen", 100 * allTime(pb)}
		})
	benchCopyRows(b, db, "pb_points_totals", []string{"period", "passbook_id", "org_id", "points"}, 2*n,
		func(i int) []any {
			pb := i/2 + 1
			if i%2 == 0 {
				return []any{"2026", int64(pb), community(pb).id, points2026[pb]}
			}
			return []any{"all", int64(pb), community(pb).id, allTime(pb)}
		})
	if db.IsPostgres() {
		// The rows went in with their ids: move the identity sequences past them, so that rows
		// the services add later (a community's accounts) draw fresh ones.
		for _, table := range []string{"orgs", "people", "pb_passbooks", "pb_accounts"} {
			var last int64
			if err := db.QueryRow(ctx, `SELECT setval(pg_get_serial_sequence(?, 'id'), (SELECT MAX(id) FROM `+table+`))`, table).Scan(&last); err != nil {
				b.Fatal(err)
			}
		}
		benchVacuum(b, db)
	}
	member, _ := auth.LookupRole(auth.RoleMember)
	w.member = func(passbookID int64) *auth.Principal {
		o := community(int(passbookID))
		return &auth.Principal{UserID: 1, Username: "dangyuan", PersonID: passbookID, // person id = passbook id
			Grants: []auth.Grant{{Role: member, OrgID: o.id, OrgPath: o.path}}}
	}
	return w
}

// benchVacuum does on PostgreSQL what autovacuum does to freshly loaded tables within minutes:
// statistics for the planner and the visibility map that lets index-only scans skip the heap.
// VACUUM cannot run in a transaction, so it goes over a connection of its own.
func benchVacuum(b *testing.B, db *store.DB) {
	b.Helper()
	var schema string
	if err := db.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, storetest.WithSearchPath(os.Getenv(storetest.EnvPostgres), schema))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, table := range []string{"orgs", "people", "pb_passbooks", "pb_accounts", "pb_points_totals"} {
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCopyRows inserts n generated rows into table in batches, in one transaction.
func benchCopyRows(b *testing.B, db *store.DB, table string, columns []string, n int, row func(i int) []any) {
	b.Helper()
	const batch = 20_000
	err := db.Write(ctx, func(tx *store.Tx) error {
		rows := make([][]any, 0, batch)
		for i := 0; i < n; i++ {
			rows = append(rows, row(i))
			if len(rows) == batch || i == n-1 {
				if err := tx.DB().Dialect.CopyRows(ctx, tx, table, columns, rows); err != nil {
					return err
				}
				rows = rows[:0]
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func benchOrg(o orgRef) org.Org { return org.Org{ID: o.id, Name: o.name, Path: o.path} }
