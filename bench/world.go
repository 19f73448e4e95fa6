package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
)

// scale is the size of a synthetic province.
type scale struct {
	name     string
	levels   [4]int // prefectures, counties, townships, villages and communities
	members  int    // Party members, each with a passbook
	postings int    // approved claims posted over the past year
}

var scales = map[string]scale{
	"small":    {"small", [4]int{2, 4, 8, 40}, 2_000, 20_000},
	"medium":   {"medium", [4]int{16, 129, 1_400, 14_000}, 100_000, 1_000_000},
	"province": {"province", [4]int{16, 129, 1_400, 14_000}, 1_000_000, 10_000_000},
}

// peoplePerMember: one person in five of the register is not a Party member (群众).
const peoplePerMember = 5.0 / 4.0

const chunk = 100_000 // people and passbooks per transaction

// world is what the generator built and the load driver needs.
type world struct {
	sc        scale
	root      org.Org
	levels    [4][]org.Org // by level, in creation order
	villageOf []int        // member index → village index
	passbook  []int64      // member index → passbook id
	person    []int64      // member index → person id
	item      int64        // 志愿服务 (hours), the item members claim
	reward    []int64      // township index → its reward
	township  []int        // village index → township index
	steps     []step
}

// step is one timed part of the generation.
type step struct {
	Name    string        `json:"name"`
	Rows    int           `json:"rows"`
	Took    time.Duration `json:"-"`
	Seconds float64       `json:"seconds"`
}

func (w *world) timed(name string, rows int, fn func() error) error {
	start := time.Now()
	if err := fn(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	d := time.Since(start)
	w.steps = append(w.steps, step{Name: name, Rows: rows, Took: d, Seconds: d.Seconds()})
	return nil
}

// generate builds the province through the services, deterministic from seed.
func generate(ctx context.Context, db *store.DB, sc scale, seed uint64, logf func(string, ...any)) (*world, error) {
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM orgs`).Scan(&n); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("the database already holds %d organisations: the generator needs an empty one", n)
	}
	w := &world{sc: sc}
	orgs, books := org.NewService(db), passbook.NewService(db)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	if err := w.timed("orgs", 1+sc.levels[0]+sc.levels[1]+sc.levels[2]+sc.levels[3], func() error {
		return w.tree(ctx, orgs)
	}); err != nil {
		return nil, err
	}
	logf("organisations: %d", 1+len(w.levels[0])+len(w.levels[1])+len(w.levels[2])+len(w.levels[3]))

	people := int(float64(sc.members) * peoplePerMember)
	if err := w.timed("people", people, func() error { return w.people(ctx, db, people) }); err != nil {
		return nil, err
	}
	logf("people: %d, of whom Party members %d", people, len(w.person))

	if err := w.timed("passbooks", sc.members, func() error { return w.passbooks(ctx, db, books) }); err != nil {
		return nil, err
	}
	logf("passbooks: %d", len(w.passbook))

	if err := w.timed("catalog", 4+len(w.levels[2]), func() error { return w.catalog(ctx, books) }); err != nil {
		return nil, err
	}
	if err := w.timed("postings", sc.postings, func() error { return w.postings(ctx, books, rng, logf) }); err != nil {
		return nil, err
	}
	return w, nil
}

// tree creates the province, its prefectures, counties, townships and villages one by one
// through CreateOrg; each child of a level goes under parent index j*parents/children.
func (w *world) tree(ctx context.Context, orgs *org.Service) error {
	sys := auth.System()
	var err error
	if w.root, err = orgs.CreateOrg(ctx, sys, org.OrgInput{Name: "云岭省", Kind: org.KindProvince}); err != nil {
		return err
	}
	kinds := [4]org.Kind{org.KindPrefecture, org.KindCounty, org.KindTownship, org.KindVillage}
	suffix := [4]string{"州", "县", "镇", "村"}
	parents := []org.Org{w.root}
	for l, count := range w.sc.levels {
		w.levels[l] = make([]org.Org, count)
		seen := map[int]int{}
		for j := range count {
			pi := j * len(parents) / count
			seen[pi]++
			name := fmt.Sprintf("第%d%s", seen[pi], suffix[l])
			if l == 3 && seen[pi]%3 == 0 {
				name = fmt.Sprintf("第%d社区", seen[pi])
			}
			o, err := orgs.CreateOrg(ctx, sys, org.OrgInput{ParentID: parents[pi].ID, Name: name, Kind: kinds[l]})
			if err != nil {
				return err
			}
			w.levels[l][j] = o
			if l == 3 {
				w.township = append(w.township, pi)
			}
		}
		parents = w.levels[l]
	}
	return nil
}

// idNumber is a valid 18-digit 身份证号 for person i: a fixed area, a birth date and sequence
// derived from i, and the GB 11643 check digit.
func idNumber(i int) (string, string) {
	birth := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000)
	digits := fmt.Sprintf("530102%s%03d", birth.Format("20060102"), i%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k, wt := range weights {
		sum += int(digits[k]-'0') * wt
	}
	return digits + string("10X98765432"[sum%11]), birth.Format(store.DateLayout)
}

// people validates and loads the register with org.InsertPeopleBulk, chunk by chunk, each chunk
// one transaction with its audit record, as an import of it would be.
func (w *world) people(ctx context.Context, db *store.DB, n int) error {
	villages := w.levels[3]
	now := time.Now()
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		rows := make([]org.ValidPerson, 0, hi-lo)
		for i := lo; i < hi; i++ {
			id, _ := idNumber(i)
			in := org.PersonInput{OrgID: villages[i*len(villages)/n].ID, Name: fmt.Sprintf("居民%d", i+1), IDNumber: id, PoliticalStatus: "群众"}
			if i%5 != 4 {
				in.PoliticalStatus = "中共党员"
				in.PartyJoinedOn = fmt.Sprintf("%d-07-01", now.Year()-10-i%30)
				in.Name = fmt.Sprintf("党员%d", i+1)
			}
			v, err := in.Validate(now)
			if err != nil {
				return fmt.Errorf("person %d: %w", i, err)
			}
			rows = append(rows, v)
		}
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := org.InsertPeopleBulk(ctx, tx, rows); err != nil {
				return err
			}
			return audit.Append(ctx, tx, auth.System().Actor(), audit.Event{Action: "person.import", EntityType: "person",
				OrgID: w.root.ID, Summary: map[string]any{"imported": len(rows), "source": "bench"}})
		})
		if err != nil {
			return err
		}
		db.RefreshStatistics(ctx, map[string]int{"people": len(rows)}) // as the import does
	}
	rows, err := db.Query(ctx, `SELECT pe.id, pe.org_id FROM people pe WHERE pe.political_status = '中共党员' ORDER BY pe.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	index := make(map[int64]int, len(villages))
	for i, v := range villages {
		index[v.ID] = i
	}
	for rows.Next() {
		var id, orgID int64
		if err := rows.Scan(&id, &orgID); err != nil {
			return err
		}
		w.person = append(w.person, id)
		w.villageOf = append(w.villageOf, index[orgID])
	}
	return rows.Err()
}

// passbookNumber is the printed number of member i's passbook.
func passbookNumber(i int) string { return fmt.Sprintf("P%08d", i+1) }

// passbooks opens every member's passbook with passbook.OpenPassbooks, chunk by chunk.
func (w *world) passbooks(ctx context.Context, db *store.DB, books *passbook.Service) error {
	opened := store.LocalDate(time.Now().AddDate(-2, 0, 0))
	for lo := 0; lo < len(w.person); lo += chunk {
		hi := min(lo+chunk, len(w.person))
		in := make([]passbook.OpenInput, 0, hi-lo)
		for i := lo; i < hi; i++ {
			in = append(in, passbook.OpenInput{PersonID: w.person[i], Number: passbookNumber(i), Class: "党员", OpenedOn: opened})
		}
		if _, err := books.OpenPassbooks(ctx, auth.System(), in); err != nil {
			return err
		}
	}
	w.passbook = make([]int64, 0, len(w.person))
	rows, err := db.Query(ctx, `SELECT id FROM pb_passbooks ORDER BY number`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		w.passbook = append(w.passbook, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(w.passbook) != len(w.person) {
		return fmt.Errorf("%d passbooks for %d members", len(w.passbook), len(w.person))
	}
	return nil
}

// catalog sets the province's rules (posting on approval, a point worth a yuan), its four
// items, and one reward in each township's points store.
func (w *world) catalog(ctx context.Context, books *passbook.Service) error {
	sys := auth.System()
	set := passbook.DefaultSettings
	set.PublicityDays = 0
	if _, err := books.SetSettings(ctx, sys, w.root.ID, set); err != nil {
		return err
	}
	from := store.LocalDate(time.Now().AddDate(-2, 0, 0))
	items := []struct {
		code  string
		terms passbook.ItemTerms
	}{
		{"V01", passbook.ItemTerms{Name: "志愿服务", Category: "志愿服务", Points: 2, Unit: passbook.UnitHour, MaxPerClaim: 4}},
		{"P01", passbook.ItemTerms{Name: "治安巡逻", Category: "维护社会稳定", Points: 1, Unit: passbook.UnitOccasion, MaxPerClaim: 1, CapMonth: 20}},
		{"S01", passbook.ItemTerms{Name: "参加组织生活", Category: "组织生活", Points: 1, Unit: passbook.UnitOccasion, MaxPerClaim: 1}},
		{"K01", passbook.ItemTerms{Name: "乱扔垃圾", Category: passbook.CategoryDeduction, Points: -1, Unit: passbook.UnitOccasion, MaxPerClaim: 1}},
	}
	for _, it := range items {
		it.terms.ValidFrom = from
		out, err := books.CreateItem(ctx, sys, passbook.ItemInput{OrgID: w.root.ID, Code: it.code, ItemTerms: it.terms})
		if err != nil {
			return err
		}
		if it.code == "V01" {
			w.item = out.ID
		}
	}
	for _, t := range w.levels[2] {
		r, err := books.CreateReward(ctx, sys, passbook.RewardInput{OrgID: t.ID, Name: "毛巾", PriceFen: 100, Stock: 1_000_000})
		if err != nil {
			return err
		}
		w.reward = append(w.reward, r.ID)
	}
	return nil
}

// postingsChunk is the number of approved claims one PostApproved books.
const postingsChunk = 250_000

// postings books a year of approved claims with passbook.PostApproved: random members and days
// of the past year; 60 % hours of volunteering, 25 % organisational life, 14.95 % patrols,
// 0.05 % deductions.
func (w *world) postings(ctx context.Context, books *passbook.Service, rng *rand.Rand, logf func(string, ...any)) error {
	today := time.Now().In(store.Shanghai)
	done := 0
	for done < w.sc.postings {
		n := min(postingsChunk, w.sc.postings-done)
		var buf bytes.Buffer
		buf.WriteString("存折号,身份证号,事项编码,日期,数量,备注\n")
		for range n {
			date := today.AddDate(0, 0, -1-rng.IntN(364)).Format(store.DateLayout)
			code, quantity := "V01", 1+rng.IntN(4)
			switch r := rng.IntN(10_000); {
			case r < 5:
				code, quantity = "K01", 1
			case r < 1_500:
				code, quantity = "P01", 1
			case r < 4_000:
				code, quantity = "S01", 1
			}
			fmt.Fprintf(&buf, "%s,,%s,%s,%d,\n", passbookNumber(rng.IntN(len(w.passbook))), code, date, quantity)
		}
		if err := postFile(ctx, books, buf.Bytes()); err != nil {
			return err
		}
		done += n
		logf("postings: %d of %d", done, w.sc.postings)
	}
	return nil
}

// postFile posts a CSV of approved claims as the system.
func postFile(ctx context.Context, books *passbook.Service, data []byte) error {
	f, err := passbook.ReadApproved(bytes.NewReader(data), "approved.csv", int64(len(data)))
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := books.PostApproved(ctx, auth.System(), f)
	if err != nil {
		for line, msg := range res.Problems {
			return fmt.Errorf("%w (row %d: %s)", err, line, msg)
		}
		return err
	}
	return nil
}
