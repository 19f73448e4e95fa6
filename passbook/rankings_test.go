package passbook

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

// rankWorld is a county with two townships and three communities, a passbook per person:
//
//	元阳县
//	├─ 元城镇
//	│  ├─ 元城镇社区 (c1): 李老师, 张大爷, 王奶奶, 赵叔
//	│  └─ 南沙社区 (c2): 刘阿姨, 陈伯, 周姐
//	└─ 新街镇
//	   └─ 土锅寨村 (c3): 杨大哥
type rankWorld struct {
	db                  *store.DB
	svc                 *Service
	orgs                *org.Service
	now                 time.Time
	set                 Settings
	county, town, town2 org.Org
	c1, c2, c3          org.Org
	books               map[string]Passbook
	people              int
}

func newRankWorld(t *testing.T, db *store.DB) *rankWorld {
	t.Helper()
	w := &rankWorld{db: db, svc: NewService(db), orgs: org.NewService(db), books: map[string]Passbook{},
		now: time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC), set: Settings{FenPerPoint: 100, DepositExpiry: "none", RankingsPublic: true}}
	db.Now = func() time.Time { return w.now }
	w.county = w.org(t, 0, "元阳县", org.KindCounty)
	w.town = w.org(t, w.county.ID, "元城镇", org.KindTownship)
	w.town2 = w.org(t, w.county.ID, "新街镇", org.KindTownship)
	w.c1 = w.org(t, w.town.ID, "元城镇社区", org.KindVillage)
	w.c2 = w.org(t, w.town.ID, "南沙社区", org.KindVillage)
	w.c3 = w.org(t, w.town2.ID, "土锅寨村", org.KindVillage)
	if _, err := w.svc.SetSettings(ctx, auth.System(), w.county.ID, w.set); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o     org.Org
		names []string
	}{{w.c1, []string{"李老师", "张大爷", "王奶奶", "赵叔"}}, {w.c2, []string{"刘阿姨", "陈伯", "周姐"}}, {w.c3, []string{"杨大哥"}}} {
		for _, name := range c.names {
			w.open(t, c.o, name)
		}
	}
	return w
}

func (w *rankWorld) org(t *testing.T, parent int64, name string, kind org.Kind) org.Org {
	t.Helper()
	o, err := w.orgs.CreateOrg(ctx, auth.System(), org.OrgInput{ParentID: parent, Name: name, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// open opens a passbook for a new retired Party member of o.
func (w *rankWorld) open(t *testing.T, o org.Org, name string) {
	t.Helper()
	w.people++
	pe, err := w.orgs.CreatePerson(ctx, auth.System(), org.PersonInput{OrgID: o.ID, Name: name, IDNumber: rankIDNumber(w.people),
		PoliticalStatus: "中共党员", PartyJoinedOn: "1980-07-01", Categories: []string{"离退休"}})
	if err != nil {
		t.Fatal(err)
	}
	if w.books[name], err = w.svc.OpenPassbook(ctx, auth.System(), OpenInput{PersonID: pe.ID, Class: "离退休党员"}); err != nil {
		t.Fatal(err)
	}
}

// rankIDNumber is a valid 身份证号 (GB 11643 check digit) of someone born on 1955-01-01.
func rankIDNumber(seq int) string {
	base := fmt.Sprintf("53252819550101%03d", seq)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range base {
		sum += int(c-'0') * weights[i]
	}
	return base + string("10X98765432"[sum%11])
}

// book returns the passbook of a person with its accounts, as the ledger needs it.
func (w *rankWorld) book(t *testing.T, name string) Passbook {
	t.Helper()
	b, err := loadPassbook(ctx, w.db, auth.System(), PermView, w.books[name].ID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// earn books points for a person on a business date, optionally for a claim, and returns the
// transaction.
func (w *rankWorld) earn(t *testing.T, name string, points int64, date string, claimID int64) int64 {
	t.Helper()
	var id int64
	err := w.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		id, err = earn(ctx, tx, auth.System().Actor(), w.book(t, name), w.set, points, date, "参加社区活动", claimID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// member is the principal of the person who owns a passbook, a member of its community.
func (w *rankWorld) member(name string) *auth.Principal {
	b := w.books[name]
	o := map[int64]org.Org{w.c1.ID: w.c1, w.c2.ID: w.c2, w.c3.ID: w.c3}[b.OrgID]
	return principal(900, name, auth.RoleMember, o, b.PersonID)
}

// rankingYear books the fixture of the ranking tests: points in November, October, July and
// March of 2026, and in December 2025.
func (w *rankWorld) rankingYear(t *testing.T) map[string]int64 {
	t.Helper()
	return map[string]int64{
		"李老师":   w.earn(t, "李老师", 10, "2026-11-05", 0),
		"张大爷11": w.earn(t, "张大爷", 8, "2026-11-10", 0),
		"张大爷10": w.earn(t, "张大爷", 2, "2026-10-02", 0),
		"王奶奶":   w.earn(t, "王奶奶", 6, "2026-11-20", 0),
		"赵叔":    w.earn(t, "赵叔", 5, "2025-12-30", 0),
		"刘阿姨":   w.earn(t, "刘阿姨", 12, "2026-07-01", 0),
		"陈伯":    w.earn(t, "陈伯", 6, "2026-11-25", 0),
		"周姐":    w.earn(t, "周姐", 3, "2026-11-26", 0),
		"杨大哥":   w.earn(t, "杨大哥", 20, "2026-03-03", 0),
	}
}

// rankedText renders a ranking as "rank name points" lines, ties in any order sorted by name.
func rankedText(rows []RankRow) string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = fmt.Sprintf("%d %s %d", r.Rank, r.Name, r.Points)
	}
	slices.Sort(lines)
	return strings.Join(lines, ", ")
}

func (w *rankWorld) ranking(t *testing.T, p *auth.Principal, orgID int64, period string) Ranking {
	t.Helper()
	r, err := w.svc.Rankings(ctx, p, orgID, period, 100, "")
	if err != nil {
		t.Fatalf("ranking of %d for %s: %v", orgID, period, err)
	}
	return r
}

func TestRankingsByPeriodWithTies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.rankingYear(t)
		sys := auth.System()
		for _, c := range []struct{ period, want string }{
			{"2026-11", "1 李老师 10, 2 张大爷 8, 3 王奶奶 6, 3 陈伯 6, 5 周姐 3"},
			{"2026Q4", "1 张大爷 10, 1 李老师 10, 3 王奶奶 6, 3 陈伯 6, 5 周姐 3"},
			{"2026", "1 杨大哥 20, 2 刘阿姨 12, 3 张大爷 10, 3 李老师 10, 5 王奶奶 6, 5 陈伯 6, 7 周姐 3"},
			{"all", "1 杨大哥 20, 2 刘阿姨 12, 3 张大爷 10, 3 李老师 10, 5 王奶奶 6, 5 陈伯 6, 7 赵叔 5, 8 周姐 3"},
			{"2026q3", "1 刘阿姨 12"},
			{"2025-12", "1 赵叔 5"},
			{"2024", ""},
		} {
			r := w.ranking(t, sys, w.county.ID, c.period)
			if got := rankedText(r.Items); got != c.want {
				t.Errorf("%s: %s\nwant %s", c.period, got, c.want)
			}
		}
		r := w.ranking(t, sys, w.town.ID, "")
		if r.Period != "2026" || r.PeriodLabel != "2026年" || r.Masked {
			t.Fatalf("default period: %+v", r)
		}
		if got := rankedText(r.Items); got != "1 刘阿姨 12, 2 张大爷 10, 2 李老师 10, 4 王奶奶 6, 4 陈伯 6, 6 周姐 3" {
			t.Fatalf("元城镇 2026: %s", got)
		}
		top := r.Items[0]
		if top.Number != w.books["刘阿姨"].Number || top.OrgName != "南沙社区" || top.PassbookID != w.books["刘阿姨"].ID {
			t.Fatalf("staff row: %+v", top)
		}
		for _, bad := range []string{"2026-13", "2026Q5", "26", "2026-1", "last year", "2026-11-01"} {
			if _, err := w.svc.Rankings(ctx, sys, w.county.ID, bad, 10, ""); !errs.Is(err, errs.KindInvalid) || errs.As(err).Field != "period" {
				t.Errorf("period %q: %v", bad, err)
			}
		}
	}, migrations...)
}

func TestRankingPagesKeepRanksAcrossTies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.rankingYear(t)
		var ranks []int64
		var names []string
		cursor := ""
		for page := 0; page < 5; page++ {
			r, err := w.svc.Rankings(ctx, auth.System(), w.county.ID, "2026", 3, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range r.Items {
				ranks, names = append(ranks, row.Rank), append(names, row.Name)
			}
			if cursor = r.NextCursor; cursor == "" {
				break
			}
		}
		if fmt.Sprint(ranks) != "[1 2 3 3 5 5 7]" || len(names) != 7 {
			t.Fatalf("paged ranks %v of %v", ranks, names)
		}
		if _, err := w.svc.Rankings(ctx, auth.System(), w.county.ID, "2026", 3, "12"); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
	}, migrations...)
}

// A subtree of many organisations is read by walking the period's points from the top; its
// pages must be those of reading it whole.
func TestWalkedRankingsMatchWholeOnes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.rankingYear(t)
		periods := []string{"2026-11", "2026Q4", "2026", "all"}
		pages := func() []string {
			var out []string
			for _, period := range periods {
				var ranks []string
				cursor := ""
				for {
					r, err := w.svc.Rankings(ctx, auth.System(), w.county.ID, period, 3, cursor)
					if err != nil {
						t.Fatal(err)
					}
					ranks = append(ranks, rankedText(r.Items))
					if cursor = r.NextCursor; cursor == "" {
						break
					}
				}
				out = append(out, period+": "+strings.Join(ranks, " | "))
			}
			return out
		}
		whole := pages()
		for i := range fewOrgs {
			w.org(t, w.town2.ID, fmt.Sprintf("新街镇第%d村", i+1), org.KindVillage)
		}
		if few, err := (rankField{org: orgRef{path: w.county.Path}}).fewOrgs(ctx, db); err != nil || few {
			t.Fatalf("the county should now be walked: few %v, %v", few, err)
		}
		if walked := pages(); strings.Join(walked, "\n") != strings.Join(whole, "\n") {
			t.Fatalf("walked:\n%s\nwhole:\n%s", strings.Join(walked, "\n"), strings.Join(whole, "\n"))
		}
		// 新街镇 now has many organisations but one ranked passbook: the walk cannot fill a page
		// of two, and the subtree is read whole.
		r, err := w.svc.Rankings(ctx, auth.System(), w.town2.ID, "2026", 1, "")
		if err != nil || rankedText(r.Items) != "1 杨大哥 20" || r.NextCursor != "" {
			t.Fatalf("新街镇: %+v %v", r, err)
		}
	}, migrations...)
}

func TestReversalMovesTheOriginalPeriodsRanking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		tx := w.rankingYear(t)
		w.now = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
		if _, err := w.svc.Reverse(ctx, auth.System(), tx["刘阿姨"], "活动未举办"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Reverse(ctx, auth.System(), tx["张大爷10"], "重复申报"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ period, want string }{
			{"2026Q3", ""},
			{"2026Q4", "1 李老师 10, 2 张大爷 8, 3 王奶奶 6, 3 陈伯 6, 5 周姐 3"},
			{"2026", "1 杨大哥 20, 2 李老师 10, 3 张大爷 8, 4 王奶奶 6, 4 陈伯 6, 6 周姐 3"},
			{"2026-12", ""},
		} {
			if got := rankedText(w.ranking(t, auth.System(), w.county.ID, c.period).Items); got != c.want {
				t.Errorf("after the reversals, %s: %s\nwant %s", c.period, got, c.want)
			}
		}
	}, migrations...)
}

func TestRankingsAreScopedInSQL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.rankingYear(t)
		reviewer := principal(900, "shenhe", auth.RoleReviewer, w.c1, 0)
		if got := rankedText(w.ranking(t, reviewer, w.c1.ID, "2026").Items); got != "1 张大爷 10, 1 李老师 10, 3 王奶奶 6" {
			t.Fatalf("reviewer of 元城镇社区: %s", got)
		}
		for _, o := range []org.Org{w.c2, w.town, w.county} {
			if _, err := w.svc.Rankings(ctx, reviewer, o.ID, "2026", 10, ""); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("reviewer of 元城镇社区 asks for %s: %v", o.Name, err)
			}
		}
		if r := w.ranking(t, reviewer, 0, "2026"); r.OrgID != w.c1.ID {
			t.Fatalf("reviewer's default organisation: %s", r.OrgName)
		}
		// Even handed the county as the subtree, either plan's query keeps to the reviewer's scope.
		cond, args := reviewer.Scope(PermView).Where("o.path", "")
		f := rankField{org: orgRef{id: w.county.ID, name: w.county.Name, path: w.county.Path}, period: "2026", cond: cond, args: args}
		whole, wholeArgs := f.from()
		walked, walkedArgs := f.walk(nil, 1000)
		for plan, q := range map[string]struct {
			from string
			args []any
		}{"whole": {whole, wholeArgs}, "walk": {walked, walkedArgs}} {
			rows, _, err := f.rows(ctx, db, q.from, q.args, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.OrgID != w.c1.ID {
					t.Fatalf("%s: the SQL let %s of %s through", plan, r.Name, r.OrgName)
				}
			}
			if len(rows) != 3 {
				t.Fatalf("%s: %d scoped rows", plan, len(rows))
			}
		}
	}, migrations...)
}

func TestMembersSeeTheirOwnCommunityMaskedWhenPublic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.rankingYear(t)
		wang := w.member("王奶奶")
		r := w.ranking(t, wang, 0, "2026")
		if !r.Masked || r.OrgID != w.c1.ID || rankedText(r.Items) != "1 张大爷 10, 1 李老师 10, 3 王奶奶 6" {
			t.Fatalf("member's ranking: %+v", r)
		}
		for _, row := range r.Items {
			if row.PassbookID != 0 || row.Number != "" || row.OrgName != "" || row.OrgID != 0 {
				t.Fatalf("member sees more than name and points: %+v", row)
			}
			if row.Mine != (row.Name == "王奶奶") {
				t.Fatalf("mine flag on %+v", row)
			}
		}
		for _, o := range []org.Org{w.c2, w.town, w.county} {
			if _, err := w.svc.Rankings(ctx, wang, o.ID, "2026", 10, ""); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("member asks for %s: %v", o.Name, err)
			}
		}

		st, err := w.svc.MyRank(ctx, wang, w.books["王奶奶"].ID, "2026")
		if err != nil {
			t.Fatal(err)
		}
		if st.Points != 6 || !st.Ranked || st.HonorPoints != 6 || st.DepositFen != 600 ||
			*st.Community != (Standing{OrgID: w.c1.ID, OrgName: "元城镇社区", Level: "community", Rank: 3, Field: 4}) ||
			*st.Wider != (Standing{OrgID: w.town.ID, OrgName: "元城镇", Level: "township", Rank: 4, Field: 7}) {
			t.Fatalf("王奶奶's standing: %+v %+v %+v", st, st.Community, st.Wider)
		}
		if _, err := w.svc.MyRank(ctx, wang, w.books["李老师"].ID, "2026"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("member asks for another's rank: %v", err)
		}
		zhao, err := w.svc.MyRank(ctx, w.member("赵叔"), w.books["赵叔"].ID, "2026")
		if err != nil || zhao.Ranked || zhao.Community.Rank != 0 || zhao.Community.Field != 4 {
			t.Fatalf("赵叔 earned nothing in 2026: %+v %v", zhao, err)
		}

		if _, err := w.svc.SetSettings(ctx, auth.System(), w.c1.ID, Settings{FenPerPoint: 100, DepositExpiry: "none", RankingsPublic: false}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Rankings(ctx, wang, 0, "2026", 10, ""); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("rankings not public: %v", err)
		}
		st, err = w.svc.MyRank(ctx, wang, w.books["王奶奶"].ID, "2026")
		if err != nil || !st.RanksHidden || st.Community != nil || st.Points != 6 {
			t.Fatalf("standing when rankings are not public: %+v %v", st, err)
		}
		if got := rankedText(w.ranking(t, w.member("刘阿姨"), 0, "2026").Items); got != "1 刘阿姨 12, 2 陈伯 6, 3 周姐 3" {
			t.Fatalf("南沙社区 still public: %s", got)
		}
		if r := w.ranking(t, principal(900, "shenhe", auth.RoleReviewer, w.c1, 0), w.c1.ID, "2026"); len(r.Items) != 3 {
			t.Fatalf("staff still see 元城镇社区: %d rows", len(r.Items))
		}
	}, migrations...)
}

func TestFrozenPassbooksAreNotRanked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.rankingYear(t)
		if _, err := w.svc.SetPassbookState(ctx, auth.System(), w.books["陈伯"].ID, StateFrozen, "调查中"); err != nil {
			t.Fatal(err)
		}
		if got := rankedText(w.ranking(t, auth.System(), w.c2.ID, "2026").Items); got != "1 刘阿姨 12, 2 周姐 3" {
			t.Fatalf("with 陈伯 frozen: %s", got)
		}
		st, err := w.svc.MyRank(ctx, auth.System(), w.books["周姐"].ID, "2026")
		if err != nil || st.Community.Rank != 2 || st.Community.Field != 2 || st.Wider.Rank != 5 || st.Wider.Field != 6 {
			t.Fatalf("周姐 with 陈伯 frozen: %+v %+v %v", st.Community, st.Wider, err)
		}
	}, migrations...)
}

func TestWiderOrgIsTheTownshipThenTheCounty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		direct := w.org(t, w.county.ID, "县直社区", org.KindVillage)
		w.open(t, direct, "马老师")
		w.earn(t, "马老师", 4, "2026-05-01", 0)
		w.earn(t, "杨大哥", 9, "2026-05-02", 0)
		st, err := w.svc.MyRank(ctx, auth.System(), w.books["马老师"].ID, "2026-05")
		if err != nil || st.Wider.Level != "county" || st.Wider.OrgID != w.county.ID || st.Wider.Rank != 2 || st.Wider.Field != 9 {
			t.Fatalf("a community straight under the county: %+v %v", st.Wider, err)
		}
		st, err = w.svc.MyRank(ctx, auth.System(), w.books["杨大哥"].ID, "2026-05")
		if err != nil || st.Wider.Level != "township" || st.Wider.OrgName != "新街镇" || st.Wider.Rank != 1 || st.Wider.Field != 1 {
			t.Fatalf("土锅寨村 under 新街镇: %+v %v", st.Wider, err)
		}
	}, migrations...)
}

func TestParsePeriodAndLabels(t *testing.T) {
	for in, want := range map[string]string{"all": "累计", "ALL": "累计", "2026": "2026年", "2026q4": "2026年第4季度", " 2026-03 ": "2026年3月"} {
		p, err := ParsePeriod(in)
		if err != nil || PeriodLabel(p) != want {
			t.Errorf("%q → %q %q, %v", in, p, PeriodLabel(p), err)
		}
	}
}

func TestAssignRanks(t *testing.T) {
	rows := []RankRow{{Points: 9}, {Points: 9}, {Points: 7}, {Points: 5}, {Points: 5}, {Points: 5}, {Points: 1}}
	assignRanks(rows, 1, 0)
	var got []int64
	for _, r := range rows {
		got = append(got, r.Rank)
	}
	if fmt.Sprint(got) != "[1 1 3 4 4 4 7]" {
		t.Fatalf("ranks %v", got)
	}
	// A page starting inside a tie: two rows with 5 points came before it, ranked 4.
	page := []RankRow{{Points: 5}, {Points: 1}}
	assignRanks(page, 4, 5)
	if page[0].Rank != 4 || page[1].Rank != 7 {
		t.Fatalf("second page ranks %d, %d", page[0].Rank, page[1].Rank)
	}
}
