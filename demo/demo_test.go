package demo_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"grassroots/appraisal"
	"grassroots/audit"
	"grassroots/auth"
	"grassroots/demo"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
	"grassroots/store/storetest"
)

func TestMain(m *testing.M) {
	auth.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

func TestDemoWorld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		accounts, seeded, err := demo.SeedIfEmpty(ctx, db, "")
		if err != nil || !seeded {
			t.Fatalf("seed = %v, %v", seeded, err)
		}
		if len(accounts) != 8 {
			t.Fatalf("demo accounts = %d, want 8", len(accounts))
		}
		for _, a := range accounts {
			if a.Password == "" {
				t.Errorf("account %s has no generated password", a.Username)
			}
		}

		svc := org.NewService(db)
		sys := auth.System()
		community, err := svc.FindOrgByPath(ctx, sys, "元阳县/元城镇/元城镇社区")
		if err != nil {
			t.Fatal(err)
		}
		st, err := svc.Stats(ctx, sys, community.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.People != 30 {
			t.Errorf("元城镇社区 has %d people, want 30", st.People)
		}
		retirees := 0
		for _, c := range st.ByCategory {
			if c.Label == "离退休" {
				retirees = c.Count
			}
		}
		if retirees != 10 {
			t.Errorf("元城镇社区 has %d retirees, want 10", retirees)
		}

		xishan, err := svc.FindOrgByPath(ctx, sys, "昆明市/西山区")
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := svc.Stats(ctx, sys, xishan.ID); st.People != 86 {
			t.Errorf("西山区 has %d civil servants, want 4 bureaus × 20 and 2 small units × 3", st.People)
		}
		zhaotong, err := svc.FindOrgByCode(ctx, sys, "530600000000")
		if err != nil {
			t.Fatal(err)
		}
		villages := 0
		st, _ = svc.Stats(ctx, sys, zhaotong.ID)
		for _, c := range st.OrgsByKind {
			if c.Key == string(org.KindVillage) {
				villages = c.Count
			}
		}
		if villages != 12 {
			t.Errorf("昭通市 has %d villages, want 12", villages)
		}

		pbs := passbook.NewService(db)
		books, _, err := pbs.ListPassbooks(ctx, sys, passbook.PassbookFilter{OrgID: community.ID})
		if err != nil || len(books) != 10 {
			t.Fatalf("元城镇社区 passbooks = %d, %v; want 10", len(books), err)
		}
		for _, b := range books {
			if b.HonorPoints <= 0 {
				t.Errorf("passbook %s of %s has %d points after a year", b.Number, b.PersonName, b.HonorPoints)
			}
		}
		publicised, _, err := pbs.ListClaims(ctx, sys, passbook.ClaimFilter{State: "publicized"})
		if err != nil || len(publicised) != 2 {
			t.Errorf("claims in 公示 = %d, %v; want 2", len(publicised), err)
		}
		waiting, _, err := pbs.ListClaims(ctx, sys, passbook.ClaimFilter{State: "submitted"})
		if err != nil || len(waiting) != 2 {
			t.Errorf("claims awaiting review = %d, %v; want 2", len(waiting), err)
		}
		if _, found, err := passbook.Verify(ctx, db); err != nil || len(found) > 0 {
			t.Fatalf("demo ledger: %v %v", found, err)
		}

		checkXishan(t, db, xishan)

		if _, seeded, err := demo.SeedIfEmpty(ctx, db, ""); err != nil || seeded {
			t.Fatalf("second seed = %v, %v; want no-op", seeded, err)
		}
		if _, err := audit.Verify(ctx, db); err != nil {
			t.Fatalf("audit chain after seeding: %v", err)
		}
	}, audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations, appraisal.Migrations)
}

func TestInterruptedSeedIsNamed(t *testing.T) {
	db := storetest.SQLite(t, audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations, appraisal.Migrations)
	ctx, stop := context.WithCancel(context.Background())
	calls := 0
	db.Now = func() time.Time { // the seed is stopped after its first few dozen transactions
		if calls++; calls == 40 {
			stop()
		}
		return time.Now()
	}
	if _, seeded, err := demo.SeedIfEmpty(ctx, db, ""); err == nil || seeded {
		t.Fatalf("a stopped seed: %v, %v", seeded, err)
	}
	_, seeded, err := demo.SeedIfEmpty(context.Background(), db, "")
	if seeded || !errs.Is(err, errs.KindConflict) || !strings.Contains(err.Error(), "演示数据上次未写完") {
		t.Fatalf("starting again on half a world: %v, %v", seeded, err)
	}

	plain := storetest.SQLite(t, audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations, appraisal.Migrations)
	if _, err := org.NewService(plain).CreateOrg(context.Background(), auth.System(), org.OrgInput{Name: "元阳县", Kind: org.KindCounty}); err != nil {
		t.Fatal(err)
	}
	if _, seeded, err := demo.SeedIfEmpty(context.Background(), plain, ""); seeded || err != nil {
		t.Fatalf("a database of real organisations: %v, %v", seeded, err)
	}
}

// checkXishan: 西山区's year of routine appraisal, as the district and the units see it.
func checkXishan(t *testing.T, db *store.DB, xishan org.Org) {
	t.Helper()
	ctx, sys, ap := context.Background(), auth.System(), appraisal.NewService(db)
	today := time.Now().In(store.Shanghai)
	thisQ := appraisal.Quarter{Year: today.Year(), Q: (int(today.Month()) + 2) / 3}
	cycles, _, err := ap.ListCycles(ctx, sys, appraisal.CycleFilter{OrgID: xishan.ID, Limit: 100})
	if err != nil || len(cycles) != 22 {
		t.Fatalf("西山区 cycles = %d, %v; want 4 bureaus × (4 filed quarters + this one) and this one of 2 small units", len(cycles), err)
	}
	filed, uniform, hits, reviews := 0, 0, 0, 0
	for _, c := range cycles {
		full, err := ap.GetCycle(ctx, sys, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Quarter == thisQ.String() {
			want := appraisal.StepSummary
			if c.Staff+c.Leaders == 3 { // a small unit, at step 5 with its pools graded merged
				want = appraisal.StepHR
				for _, ps := range full.Summary.Pools {
					if ps.Merge == nil || ps.MergeStale {
						t.Errorf("%s %s pool %s = %+v, want graded merged", c.OrgName, c.Quarter, ps.Pool, ps)
					}
				}
			}
			if full.Progress.Step != want {
				t.Errorf("%s %s is at step %d, want %d", c.OrgName, c.Quarter, full.Progress.Step, want)
			}
			continue
		}
		if full.Progress.Filed {
			filed++
		}
		if fs, err := ap.Filings(ctx, sys, c.ID); err != nil || len(fs) != 1 || !fs[0].Intact {
			t.Errorf("%s %s filings = %+v, %v", c.OrgName, c.Quarter, fs, err)
		}
		if full.Summary != nil {
			uniform += len(full.Summary.UniformRaters)
		}
		results, err := ap.Results(ctx, sys, appraisal.ResultFilter{CycleID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			for _, a := range r.Breakdown.Adjustments {
				if a.Negative {
					hits++
				}
			}
		}
		rs, err := ap.Reviews(ctx, sys, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		reviews += len(rs)
	}
	if filed != 16 || uniform != 1 || hits != 1 || reviews != 1 {
		t.Errorf("西山区: %d filed, %d uniform raters, %d negative-list hits, %d reviews; want 16, 1, 1, 1", filed, uniform, hits, reviews)
	}
	over, err := ap.Oversight(ctx, sys, xishan.ID, cycles[len(cycles)-1].Quarter)
	if err != nil || len(over.Units) != 6 || over.Counts["filed"] != 4 {
		t.Errorf("oversight of the first quarter = %d units, %+v, %v", len(over.Units), over.Counts, err)
	}
	// This quarter the district has graded the small units' pools merged; the staff pool's
	// two best are tied for its one place of 好, for the district to decide.
	merged, err := ap.MergedPools(ctx, sys, xishan.ID, thisQ.String())
	if err != nil || len(merged) != 2 || merged[1].Size != 4 || merged[1].Slots != 1 || len(merged[1].Tie) != 2 || merged[0].Counts[appraisal.GradeGood] != 1 {
		t.Errorf("merged pools of this quarter = %+v, %v", merged, err)
	}
}
