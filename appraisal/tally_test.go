package appraisal

import (
	"database/sql"
	"io/fs"
	"math/rand/v2"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"grassroots/store"
	"grassroots/store/storetest"
)

// ratingRows reads a cycle's ratings one row at a time, as cycleRatings did before the
// database folded them: the reference the folded path must agree with.
func ratingRows(t *testing.T, q querier, p Policy, cycleID int64) (map[int64][]Rating, []RaterTotals) {
	t.Helper()
	rows, err := q.Query(ctx, `SELECT ratee_id, party, COALESCE(rater_user_id, 0), rater, de, neng, qin, ji, lian
		FROM ap_ratings WHERE cycle_id = ? ORDER BY id`, cycleID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byRatee := map[int64][]Rating{}
	index := map[[2]int64]int{}
	var raters []RaterTotals
	for rows.Next() {
		var ratee, user int64
		var party string
		var r Rating
		if err := rows.Scan(&ratee, &party, &user, &r.Rater, &r.Scores[DimDe], &r.Scores[DimNeng], &r.Scores[DimQin],
			&r.Scores[DimJi], &r.Scores[DimLian]); err != nil {
			t.Fatal(err)
		}
		r.Party, _ = ParseParty(party)
		byRatee[ratee] = append(byRatee[ratee], r)
		if user == 0 {
			continue
		}
		k := [2]int64{int64(r.Party), user}
		i, ok := index[k]
		if !ok {
			i = len(raters)
			index[k] = i
			raters = append(raters, RaterTotals{Party: r.Party, Rater: r.Rater})
		}
		raters[i].Totals = append(raters[i].Totals, RaterTotal(p, r.Scores))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return byRatee, raters
}

// foldRows folds a cycle's mass rating rows per ratee in SQL, as cycleRatings did before the
// tallies were kept: the reference the kept tallies must equal.
func foldRows(t testing.TB, q querier, cycleID int64) map[int64]tally {
	t.Helper()
	rows, err := q.Query(ctx, `SELECT ratee_id, COUNT(*),
			CAST(SUM(de) AS BIGINT), MIN(de), MAX(de), CAST(SUM(neng) AS BIGINT), MIN(neng), MAX(neng),
			CAST(SUM(qin) AS BIGINT), MIN(qin), MAX(qin), CAST(SUM(ji) AS BIGINT), MIN(ji), MAX(ji),
			CAST(SUM(lian) AS BIGINT), MIN(lian), MAX(lian)
		FROM ap_ratings WHERE cycle_id = ? AND party = 'mass' GROUP BY ratee_id`, cycleID)
	if err != nil {
		t.Fatal(err)
	}
	return scanTallies(t, rows)
}

// keptTallies reads a cycle's mass tallies as RateByLink keeps them.
func keptTallies(t testing.TB, q querier, cycleID int64) map[int64]tally {
	t.Helper()
	rows, err := q.Query(ctx, `SELECT ratee_id, ratings, de_sum, de_min, de_max, neng_sum, neng_min, neng_max,
			qin_sum, qin_min, qin_max, ji_sum, ji_min, ji_max, lian_sum, lian_min, lian_max
		FROM ap_mass_tallies WHERE cycle_id = ?`, cycleID)
	if err != nil {
		t.Fatal(err)
	}
	return scanTallies(t, rows)
}

func scanTallies(t testing.TB, rows *sql.Rows) map[int64]tally {
	t.Helper()
	defer rows.Close()
	out := map[int64]tally{}
	for rows.Next() {
		var ratee int64
		var x tally
		if err := rows.Scan(&ratee, &x.count, &x.sum[DimDe], &x.min[DimDe], &x.max[DimDe], &x.sum[DimNeng], &x.min[DimNeng], &x.max[DimNeng],
			&x.sum[DimQin], &x.min[DimQin], &x.max[DimQin], &x.sum[DimJi], &x.min[DimJi], &x.max[DimJi],
			&x.sum[DimLian], &x.min[DimLian], &x.max[DimLian]); err != nil {
			t.Fatal(err)
		}
		out[ratee] = x
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMassTalliesScoreAsTheRows: mass ratings submitted through links over several
// submissions keep each ratee's tally (count, and sum, lowest and highest per dimension) equal,
// after every submission, to the fold of the rating rows in SQL and in Go; computing from the
// tallies gives every person the same breakdown as their rating rows do, with trimming on, off
// and under its minimum, and the raters the same totals in the same order; on both databases.
func TestMassTalliesScoreAsTheRows(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		var ratees []int64
		for _, a := range must[Cycle](t)(w.svc.GetCycle(ctx, w.hr, c.ID)).Appraisees {
			ratees = append(ratees, a.PersonID)
		}
		if len(ratees) != 10 {
			t.Fatalf("%d appraisees, want 10", len(ratees))
		}
		rng := rand.New(rand.NewPCG(4, 4))
		score := func() DimValues {
			var v DimValues
			for d := range v {
				v[d] = rng.Int64N(101)
			}
			return v
		}
		// Mass ratings: twelve submissions; ratee i is rated by the first i×5 mod 13 of them
		// (none for the first, then 0 to 12, around the trimming minimums), in a shuffled order.
		const submissions = 12
		links := must[[]IssuedLink](t)(w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: submissions}))
		want := map[int64]tally{}
		for j, l := range links {
			var in MassRatingInput
			for i, ratee := range ratees {
				if j < i*5%13 {
					in.Ratings = append(in.Ratings, RateeScores{PersonID: ratee, Scores: score()})
				}
			}
			rng.Shuffle(len(in.Ratings), func(a, b int) { in.Ratings[a], in.Ratings[b] = in.Ratings[b], in.Ratings[a] })
			if got := must[MassRatingReceipt](t)(w.svc.RateByLink(ctx, l.Token, in)); got.Rated != len(in.Ratings) {
				t.Fatalf("submission %d rated %d, want %d", j, got.Rated, len(in.Ratings))
			}
			for _, r := range in.Ratings {
				x := want[r.PersonID]
				x.add(r.Scores)
				want[r.PersonID] = x
			}
			kept, rows := keptTallies(t, w.db, c.ID), foldRows(t, w.db, c.ID)
			if !reflect.DeepEqual(kept, want) || !reflect.DeepEqual(rows, want) {
				t.Fatalf("after submission %d: kept %+v\nrows %+v\nsubmitted %+v", j, kept, rows, want)
			}
		}
		// Every ratee but the first has a tally, the fifth of all twelve ratings.
		kept := keptTallies(t, w.db, c.ID)
		if _, ok := kept[ratees[0]]; len(kept) != 9 || ok || kept[ratees[5]].count != 12 || kept[ratees[8]].count != 1 {
			t.Fatalf("tallies of %d ratees: %+v", len(kept), kept)
		}

		// One to three leaders and up to two HR raters of the same name, some rating everyone,
		// loaded as rows and interleaved as raters come in over the days.
		type row struct {
			ratee  int64
			party  string
			user   int64
			rater  string
			scores DimValues
		}
		var rows []row
		for i, ratee := range ratees {
			for l := range 1 + i%3 {
				rows = append(rows, row{ratee, "leader", int64(100 + l), "leader" + string(rune('a'+l)), score()})
			}
			for h := range i % 3 {
				rows = append(rows, row{ratee, "hr", int64(200 + h), "人事干部", score()}) // two accounts, one name
			}
		}
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		err := w.db.Write(ctx, func(tx *store.Tx) error {
			return tx.DB().Dialect.CopyFunc(ctx, tx, "ap_ratings", []string{"cycle_id", "org_id", "ratee_id", "party", "rater_user_id", "rater",
				"de", "neng", "qin", "ji", "lian"}, len(rows), func(i int, v []any) {
				r := rows[i]
				v[0], v[1], v[2], v[3], v[4], v[5] = c.ID, w.unit.ID, r.ratee, r.party, r.user, r.rater
				for d := range dimCount {
					v[6+int(d)] = r.scores[d]
				}
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		policies := map[string]func(*Policy){
			"trimmed from 5":   func(*Policy) {},
			"trimmed from 3":   func(p *Policy) { p.TrimMin = 3 },
			"trimmed from 12":  func(p *Policy) { p.TrimMin = 12 },
			"never trimmed":    func(p *Policy) { p.TrimMass = false },
			"mass not counted": func(p *Policy) { p.PartyWeights = PartyValues{0, 70, 30} },
		}
		for name, edit := range policies {
			p := DefaultPolicy
			edit(&p)
			err := w.db.Read(ctx, func(tx *store.Tx) error {
				want, wantRaters := ratingRows(t, tx, p, c.ID)
				got, gotRaters, err := cycleRatings(ctx, tx, p, c.ID)
				if err != nil {
					return err
				}
				if len(got) != len(want) {
					t.Errorf("%s: %d ratees read, %d in the rows", name, len(got), len(want))
				}
				trimmed := 0
				for _, ratee := range ratees {
					if got[ratee][PartyMass].count != int64(len(slices.DeleteFunc(slices.Clone(want[ratee]), func(r Rating) bool { return r.Party != PartyMass }))) {
						t.Errorf("%s: person %d has %d mass ratings read", name, ratee, got[ratee][PartyMass].count)
					}
					tasks := []TaskScore{{DimJi, 2, 8800}, {DimNeng, 1, 9100}}
					wb, gb := Score(p, want[ratee], tasks, nil), scoreTallies(p, got[ratee], tasks, nil)
					if !reflect.DeepEqual(gb, wb) {
						t.Errorf("%s: person %d from the tallies\n%+v\nrows\n%+v", name, ratee, gb, wb)
					}
					if wb.Parties[PartyMass].Trimmed {
						trimmed++
					}
				}
				if name != "never trimmed" && trimmed == 0 || name == "never trimmed" && trimmed != 0 {
					t.Errorf("%s: %d people trimmed", name, trimmed)
				}
				if !reflect.DeepEqual(gotRaters, wantRaters) || !reflect.DeepEqual(UniformRaters(p, gotRaters), UniformRaters(p, wantRaters)) {
					t.Errorf("%s: raters read %+v, rows %+v", name, gotRaters, wantRaters)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// schemaBefore is the appraisal schema without its migrations from version on.
func schemaBefore(t *testing.T, version int) store.Migrations {
	t.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(Migrations.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if n, _ := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0]); n >= version {
			return nil
		}
		body, err := fs.ReadFile(Migrations.FS, name)
		files[name] = &fstest.MapFile{Data: body}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return store.Migrations{Package: Migrations.Package, FS: files}
}

// TestMassTalliesBackfilled: a database that holds mass ratings from before the tallies gets
// them folded by migration 005, equal to the fold of its rows, and a submission after it adds
// to them; on both databases.
func TestMassTalliesBackfilled(t *testing.T) {
	old := []store.Migrations{migrations[0], migrations[1], migrations[2], schemaBefore(t, 5)}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		c := w.cycle(t, w.unit, "2026Q3")
		other := w.cycle(t, w.other, "2026Q3")
		// Ratings as RateByLink wrote them before 005: rows only. Two units' cycles, 一号 rated
		// three times, 二号 once, 发改甲 twice; a leader's rating, which is not a mass tally's.
		type row struct {
			cycle, org, ratee int64
			party             string
			user              any
			scores            DimValues
		}
		id := w.people
		rows := []row{
			{c.ID, w.unit.ID, id["一号"], "mass", nil, DimValues{90, 80, 70, 60, 50}},
			{c.ID, w.unit.ID, id["二号"], "mass", nil, DimValues{100, 0, 55, 66, 77}},
			{c.ID, w.unit.ID, id["一号"], "mass", nil, DimValues{70, 95, 70, 61, 40}},
			{other.ID, w.other.ID, id["发改甲"], "mass", nil, DimValues{85, 85, 85, 85, 85}},
			{c.ID, w.unit.ID, id["一号"], "leader", int64(3), DimValues{10, 10, 10, 10, 10}},
			{c.ID, w.unit.ID, id["一号"], "mass", nil, DimValues{80, 85, 100, 59, 45}},
			{other.ID, w.other.ID, id["发改甲"], "mass", nil, DimValues{75, 95, 65, 90, 80}},
		}
		err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.DB().Dialect.CopyFunc(ctx, tx, "ap_ratings", []string{"cycle_id", "org_id", "ratee_id", "party", "rater_user_id",
				"de", "neng", "qin", "ji", "lian"}, len(rows), func(i int, v []any) {
				r := rows[i]
				v[0], v[1], v[2], v[3], v[4] = r.cycle, r.org, r.ratee, r.party, r.user
				for d := range dimCount {
					v[5+int(d)] = r.scores[d]
				}
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, migrations...); err != nil {
			t.Fatal(err)
		}
		want := map[int64]tally{
			id["一号"]: {count: 3, sum: DimValues{240, 260, 240, 180, 135}, min: DimValues{70, 80, 70, 59, 40}, max: DimValues{90, 95, 100, 61, 50}},
			id["二号"]: {count: 1, sum: DimValues{100, 0, 55, 66, 77}, min: DimValues{100, 0, 55, 66, 77}, max: DimValues{100, 0, 55, 66, 77}},
		}
		if got, rows := keptTallies(t, db, c.ID), foldRows(t, db, c.ID); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(rows, want) {
			t.Fatalf("backfilled %+v\nrows %+v\nwant %+v", got, rows, want)
		}
		wantOther := map[int64]tally{id["发改甲"]: {count: 2, sum: DimValues{160, 180, 150, 175, 165}, min: DimValues{75, 85, 65, 85, 80}, max: DimValues{85, 95, 85, 90, 85}}}
		if got := keptTallies(t, db, other.ID); !reflect.DeepEqual(got, wantOther) {
			t.Fatalf("other unit backfilled %+v, want %+v", got, wantOther)
		}
		// A submission after the migration adds to the backfilled tally.
		l := must[[]IssuedLink](t)(w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: 1}))[0]
		must[MassRatingReceipt](t)(w.svc.RateByLink(ctx, l.Token, MassRatingInput{Ratings: []RateeScores{{PersonID: id["一号"], Scores: DimValues{100, 50, 60, 70, 30}}}}))
		want[id["一号"]] = tally{count: 4, sum: DimValues{340, 310, 300, 250, 165}, min: DimValues{70, 50, 60, 59, 30}, max: DimValues{100, 95, 100, 70, 50}}
		if got, rows := keptTallies(t, db, c.ID), foldRows(t, db, c.ID); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(rows, want) {
			t.Fatalf("after a submission %+v\nrows %+v\nwant %+v", got, rows, want)
		}
	}, old...)
}
