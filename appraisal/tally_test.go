package appraisal

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"grassroots/store"
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

// TestFoldedRatingsScoreAsTheRows: the ratings folded by the database (count, sum, lowest and
// highest per ratee, party and dimension) give every person the same breakdown as their rating
// rows do, with trimming on, off and under its minimum, and the raters the same totals in the
// same order; on both databases.
func TestFoldedRatingsScoreAsTheRows(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		var ratees []int64
		for _, a := range must[Cycle](t)(w.svc.GetCycle(ctx, w.hr, c.ID)).Appraisees {
			ratees = append(ratees, a.PersonID)
		}
		rng := rand.New(rand.NewPCG(4, 4))
		type row struct {
			ratee  int64
			party  string
			user   any
			rater  string
			scores DimValues
		}
		var rows []row
		score := func() DimValues {
			var v DimValues
			for d := range v {
				v[d] = rng.Int64N(101)
			}
			return v
		}
		for i, ratee := range ratees {
			// Mass ratings: none for the first, then 0 to 12, around the trimming minimums.
			for range i * 5 % 13 {
				rows = append(rows, row{ratee, "mass", nil, "", score()})
			}
			// One to three leaders and up to two HR raters of the same name, some rating everyone.
			for l := range 1 + i%3 {
				rows = append(rows, row{ratee, "leader", int64(100 + l), "leader" + string(rune('a'+l)), score()})
			}
			for h := range i % 3 {
				rows = append(rows, row{ratee, "hr", int64(200 + h), "人事干部", score()}) // two accounts, one name
			}
		}
		// Interleave the people's ratings as links and raters come in over the days.
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
					t.Errorf("%s: %d ratees folded, %d in the rows", name, len(got), len(want))
				}
				trimmed := 0
				for _, ratee := range ratees {
					tasks := []TaskScore{{DimJi, 2, 8800}, {DimNeng, 1, 9100}}
					wb, gb := Score(p, want[ratee], tasks, nil), scoreTallies(p, got[ratee], tasks, nil)
					if !reflect.DeepEqual(gb, wb) {
						t.Errorf("%s: person %d folded\n%+v\nrows\n%+v", name, ratee, gb, wb)
					}
					if wb.Parties[PartyMass].Trimmed {
						trimmed++
					}
				}
				if name != "never trimmed" && trimmed == 0 || name == "never trimmed" && trimmed != 0 {
					t.Errorf("%s: %d people trimmed", name, trimmed)
				}
				if !reflect.DeepEqual(gotRaters, wantRaters) || !reflect.DeepEqual(UniformRaters(p, gotRaters), UniformRaters(p, wantRaters)) {
					t.Errorf("%s: raters folded %+v, rows %+v", name, gotRaters, wantRaters)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
