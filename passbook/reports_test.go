package passbook

import (
	"fmt"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

// claimed books points earned through a posted claim of a catalog item of the category.
func (w *rankWorld) claimed(t *testing.T, name, category string, points int64, date string) int64 {
	t.Helper()
	b := w.books[name]
	var claimID int64
	err := w.db.Write(ctx, func(tx *store.Tx) error {
		now := store.FormatTime(tx.Now())
		var versionID int64
		err := tx.QueryRow(ctx, `SELECT v.id FROM pb_item_versions v WHERE v.category = ?`, category).Scan(&versionID)
		if err != nil {
			itemID, err := tx.Insert(ctx, `INSERT INTO pb_items (org_id, code, current_version, created_at) VALUES (?, ?, 1, ?)`,
				w.county.ID, category, now)
			if err != nil {
				return err
			}
			if versionID, err = tx.Insert(ctx, `INSERT INTO pb_item_versions (item_id, version, name, category, points, unit,
				valid_from, created_at, created_by) VALUES (?, 1, ?, ?, 1, 'occasion', '2026-01-01', ?, 'test')`,
				itemID, category+"活动", category, now); err != nil {
				return err
			}
		}
		claimID, err = tx.Insert(ctx, `INSERT INTO pb_claims (org_id, passbook_id, item_version_id, work_date, quantity, points,
			source, state, submitted_by_name, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, 'proxy', 'posted', 'test', ?, ?)`,
			b.OrgID, b.ID, versionID, date, points, now, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return w.earn(t, name, points, date, claimID)
}

// redeem books a redemption of fen from a person's deposit as the points store does, straight
// through the ledger: an order is not what these tests are about.
func (w *rankWorld) redeem(t *testing.T, name string, fen int64, date string) int64 {
	t.Helper()
	var id int64
	err := w.db.Write(ctx, func(tx *store.Tx) error {
		b := w.book(t, name)
		acc, err := ensureOrgAccounts(ctx, tx, b.OrgID)
		if err != nil {
			return err
		}
		id, err = book(ctx, tx, auth.System().Actor(), booking{orgID: b.OrgID, passbookID: b.ID, kind: TxRedeem, memo: "兑换奖品", date: date,
			legs: []leg{passbookLeg(b.depositAcc, Fen, -fen), communityLeg(acc.redeemed, Fen, fen)}})
		if err != nil {
			return err
		}
		return drawLots(ctx, tx, b.ID, id, fen)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// reportYear books a small year in 元阳县. In 元城镇 (c1 + c2, seven active passbooks):
//
//	疫情防控  Jan: 李老师 10, 张大爷 8                       = 18
//	志愿服务  Mar: 李老师 5 (王奶奶 4, reversed); Nov: 刘阿姨 6 = 11
//	其他      Mar: 张大爷 3 (no claim)                       = 3
//
// plus a deduction of 张大爷 (not issued), 赵叔's points of 2025, and 杨大哥's 7 in 新街镇 in
// February. Redemptions: 李老师 300 fen and 张大爷 200 fen in March; 张大爷's 100 fen in April
// was cancelled (reversed).
func (w *rankWorld) reportYear(t *testing.T) {
	t.Helper()
	w.claimed(t, "李老师", "疫情防控", 10, "2026-01-15")
	w.claimed(t, "张大爷", "疫情防控", 8, "2026-01-20")
	w.claimed(t, "李老师", "志愿服务", 5, "2026-03-02")
	reversed := w.claimed(t, "王奶奶", "志愿服务", 4, "2026-03-15")
	w.earn(t, "张大爷", 3, "2026-03-10", 0)
	w.claimed(t, "刘阿姨", "志愿服务", 6, "2026-11-05")
	w.earn(t, "赵叔", 9, "2025-12-30", 0)
	w.earn(t, "杨大哥", 7, "2026-02-01", 0)
	if err := w.db.Write(ctx, func(tx *store.Tx) error {
		_, err := deduct(ctx, tx, auth.System().Actor(), w.book(t, "张大爷"), w.set, 2, "2026-03-11", "有效投诉扣分", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	w.redeem(t, "李老师", 300, "2026-03-20")
	w.redeem(t, "张大爷", 200, "2026-03-21")
	cancelled := w.redeem(t, "张大爷", 100, "2026-04-01")
	for id, why := range map[int64]string{reversed: "活动未举办", cancelled: "订单取消"} {
		if _, err := w.svc.Reverse(ctx, auth.System(), id, why); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportOfATownship(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.reportYear(t)
		rep, err := w.svc.Reports(ctx, principal(900, "zhenzhang", auth.RoleReviewer, w.town, 0), w.town.ID, 2026)
		if err != nil {
			t.Fatal(err)
		}
		var issued []string
		for _, c := range rep.Issued {
			issued = append(issued, fmt.Sprintf("%s %d %s", c.Category, c.Total, fmt.Sprint(c.Months)))
		}
		want := []string{
			"疫情防控 18 [18 0 0 0 0 0 0 0 0 0 0 0]",
			"志愿服务 11 [0 0 5 0 0 0 0 0 0 0 6 0]",
			"其他 3 [0 0 3 0 0 0 0 0 0 0 0 0]",
		}
		if strings.Join(issued, "\n") != strings.Join(want, "\n") {
			t.Fatalf("issued:\n%s\nwant\n%s", strings.Join(issued, "\n"), strings.Join(want, "\n"))
		}
		if rep.IssuedTotal.Total != 32 || fmt.Sprint(rep.IssuedTotal.Months) != "[18 0 8 0 0 0 0 0 0 0 6 0]" {
			t.Fatalf("issued total %+v", rep.IssuedTotal)
		}
		// 李老师, 张大爷 and 刘阿姨 of seven: 3/7 = 42.857 %.
		if rep.Participation != (Rate{3, 7, "42.9"}) {
			t.Fatalf("participation %+v", rep.Participation)
		}
		for m, want := range map[int]Rate{0: {2, 7, "28.6"}, 1: {0, 7, "0.0"}, 2: {2, 7, "28.6"}, 10: {1, 7, "14.3"}} {
			if rep.MonthlyParticipation[m] != want {
				t.Errorf("participation in month %d: %+v, want %+v", m+1, rep.MonthlyParticipation[m], want)
			}
		}
		// On 29 November December has not begun: it has no rate, not a rate of 0 %.
		if rep.MonthsBegun != 11 || rep.MonthlyParticipation[11] != (Rate{}) || rep.MonthlyParticipation[10].Percent == "" {
			t.Errorf("months begun %d, November %+v, December %+v", rep.MonthsBegun, rep.MonthlyParticipation[10], rep.MonthlyParticipation[11])
		}
		if rep.Redemptions[2] != (MonthRedemptions{2, 500}) || rep.Redemptions[3] != (MonthRedemptions{}) || rep.RedemptionTotal != (MonthRedemptions{2, 500}) {
			t.Fatalf("redemptions %+v, total %+v", rep.Redemptions, rep.RedemptionTotal)
		}

		county, err := w.svc.Reports(ctx, auth.System(), w.county.ID, 2026)
		if err != nil || county.IssuedTotal.Total != 39 || county.IssuedTotal.Months[1] != 7 || county.Participation != (Rate{4, 8, "50.0"}) {
			t.Fatalf("county: %+v %+v %v", county.IssuedTotal, county.Participation, err)
		}
		if other, _ := w.svc.Reports(ctx, auth.System(), w.county.ID, 2025); other.IssuedTotal.Total != 9 || other.MonthsBegun != 12 ||
			other.MonthlyParticipation[11].Percent == "" {
			t.Fatalf("2025: %+v, %d months begun, December %+v", other.IssuedTotal, other.MonthsBegun, other.MonthlyParticipation[11])
		}
		if next, _ := w.svc.Reports(ctx, auth.System(), w.county.ID, 2027); next.MonthsBegun != 0 || next.MonthlyParticipation[0] != (Rate{}) {
			t.Fatalf("2027: %d months begun, January %+v", next.MonthsBegun, next.MonthlyParticipation[0])
		}

		for _, p := range []*auth.Principal{principal(900, "shenhe", auth.RoleReviewer, w.c2, 0), w.member("李老师")} {
			if _, err := w.svc.Reports(ctx, p, w.town.ID, 2026); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("%s asks for 元城镇: %v", p.Username, err)
			}
		}
		if _, err := w.svc.Reports(ctx, auth.System(), w.town.ID, 26); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("year 26: %v", err)
		}
	}, migrations...)
}

// The report reads each earning once for both what was issued and who took part: a member
// who earned under two categories in a month takes part once that month, and the points of a
// passbook closed since count as issued but the passbook no longer counts in participation.
func TestReportIssuedAndParticipationFromOnePass(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.claimed(t, "李老师", "疫情防控", 10, "2026-01-15")
		w.claimed(t, "李老师", "志愿服务", 5, "2026-01-20")
		w.claimed(t, "王奶奶", "志愿服务", 4, "2026-01-21")
		w.claimed(t, "王奶奶", "志愿服务", 2, "2026-02-03")
		w.claimed(t, "刘阿姨", "志愿服务", 1, "2026-02-04")
		if _, err := w.svc.SetPassbookState(ctx, auth.System(), w.book(t, "王奶奶").ID, StateClosed, "迁出"); err != nil {
			t.Fatal(err)
		}
		rep, err := w.svc.Reports(ctx, principal(900, "zhenzhang", auth.RoleReviewer, w.town, 0), w.town.ID, 2026)
		if err != nil {
			t.Fatal(err)
		}
		if rep.IssuedTotal.Total != 22 || rep.IssuedTotal.Months[0] != 19 || rep.IssuedTotal.Months[1] != 3 || len(rep.Issued) != 2 ||
			rep.Issued[0].Category != "志愿服务" || rep.Issued[0].Total != 12 || rep.Issued[1].Total != 10 {
			t.Fatalf("issued %+v, total %+v", rep.Issued, rep.IssuedTotal)
		}
		// Six active passbooks in 元城镇 now: 李老师 in January, 刘阿姨 in February.
		if rep.Participation != (Rate{2, 6, "33.3"}) || rep.MonthlyParticipation[0] != (Rate{1, 6, "16.7"}) ||
			rep.MonthlyParticipation[1] != (Rate{1, 6, "16.7"}) || rep.MonthlyParticipation[2] != (Rate{0, 6, "0.0"}) {
			t.Fatalf("participation %+v, months %+v", rep.Participation, rep.MonthlyParticipation)
		}
	}, migrations...)
}

// Through the whole claims flow: a claim of a catalog item, approved with no 公示, is issued
// under the item's category in the month it was worked.
func TestReportCountsPostedClaimsUnderTheirItemsCategory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, Settings{FenPerPoint: 100, PublicityDays: 0, DepositExpiry: "none", RankingsPublic: true})
		it := terms("清理楼道", 3)
		it.Category = "人居环境提升"
		item := w.item(t, w.countyAdmin, w.county, "HJ01", it)
		w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, item, "2026-03-18", 1))
		w.wantState(t, w.claim(t, w.staff, w.neighbour, item, "2026-03-19", 1).ID, ClaimSubmitted)
		rep, err := w.svc.Reports(ctx, w.countyAdmin, w.county.ID, 2026)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Issued) != 1 || rep.Issued[0].Category != "人居环境提升" || rep.Issued[0].Months[2] != 3 || rep.Participation != (Rate{1, 3, "33.3"}) {
			t.Fatalf("report after one posted claim: %+v %+v", rep.Issued, rep.Participation)
		}
	}, migrations...)
}

func TestReportChartsCarryTheTableNumbers(t *testing.T) {
	rep := Report{Issued: []CategoryPoints{{Category: "疫情防控", Months: [12]int64{18}}}}
	rep.MonthlyParticipation[0] = newRate(1, 3)
	rep.Redemptions[2] = MonthRedemptions{Count: 2, Fen: 505}
	issued := rep.IssuedChart()["series"].([]any)[0].(map[string]any)
	if issued["stack"] != "issued" || issued["data"] != [12]int64{18} {
		t.Fatalf("issued series %v", issued)
	}
	part := rep.ParticipationChart()["series"].([]any)[0].(map[string]any)["data"].([]any)
	if fmt.Sprint(part[0]) != "33.3" || part[1] != nil {
		t.Fatalf("participation data %v", part)
	}
	money := rep.RedemptionChart()["series"].([]any)[1].(map[string]any)["data"].([]any)
	if fmt.Sprint(money[2]) != "5.05" {
		t.Fatalf("redemption yuan %v", money)
	}
}

func TestPercentRoundsHalfUpToOneDecimal(t *testing.T) {
	for _, c := range []struct {
		num, den int64
		want     string
	}{
		{1, 8, "12.5"}, {1, 16, "6.3"}, {1, 3, "33.3"}, {2, 3, "66.7"}, {0, 5, "0.0"}, {5, 5, "100.0"},
		{1, 2000, "0.1"}, {1, 2001, "0.0"}, {3, 7, "42.9"}, {1, 0, ""},
	} {
		if got := percent1(c.num, c.den); got != c.want {
			t.Errorf("%d/%d = %q, want %q", c.num, c.den, got, c.want)
		}
	}
}
