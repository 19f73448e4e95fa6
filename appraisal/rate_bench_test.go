package appraisal

import (
	"fmt"
	"os"
	"testing"

	"grassroots/auth"
	"grassroots/store"
	"grassroots/store/storetest"
)

// BenchmarkRateByLink submits one anonymous mass rating form through a link: one holder rating
// the 50 civil servants of a unit, every dimension. It is the rating path's cost per submission
// (the link's check and use, the rating rows, the audit record, and whatever closing is spared
// by keeping on this path).
//
//	go test ./appraisal/ -run '^$' -bench RateByLink
//	GRASSROOTS_TEST_POSTGRES=… go test ./appraisal/ -run '^$' -bench RateByLink
func BenchmarkRateByLink(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchRateByLink(b, storetest.SQLite(b, migrations...)) })
	if os.Getenv(storetest.EnvPostgres) != "" {
		b.Run("postgres", func(b *testing.B) { benchRateByLink(b, storetest.Postgres(b, migrations...)) })
	}
}

func benchRateByLink(b *testing.B, db *store.DB) {
	w := newWorld(b, db)
	for i := range 50 - 10 { // the unit has 10 civil servants already
		w.person(b, w.unit, fmt.Sprintf("科员%02d", i+1), "在职", "公务员")
	}
	c, err := w.svc.OpenCycle(ctx, auth.System(), CycleInput{OrgID: w.unit.ID, Quarter: "2026Q3"})
	if err != nil {
		b.Fatal(err)
	}
	if c, err = w.svc.GetCycle(ctx, w.hr, c.ID); err != nil {
		b.Fatal(err)
	}
	var in MassRatingInput
	for k, a := range c.Appraisees {
		in.Ratings = append(in.Ratings, RateeScores{PersonID: a.PersonID, Scores: DimValues{int64(60 + k%40), 85, int64(70 + k%30), 90, 95}})
	}
	if len(in.Ratings) != 50 {
		b.Fatalf("%d appraisees, want 50", len(in.Ratings))
	}
	var links []IssuedLink
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(links) == 0 {
			b.StopTimer()
			if links, err = w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: maxLinks}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		got, err := w.svc.RateByLink(ctx, links[0].Token, in)
		if err != nil || got.Rated != 50 {
			b.Fatalf("rated %d: %v", got.Rated, err)
		}
		links = links[1:]
	}
}
