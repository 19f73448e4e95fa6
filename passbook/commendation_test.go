package passbook

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

// The county's 2026 ranking the commendation tests draw from (rankWorld.rankingYear):
// 杨大哥 20 (1), 刘阿姨 12 (2), 李老师 10 (3), 张大爷 10 (3), 王奶奶 6 (5), 陈伯 6 (5), 周姐 3 (7).
func TestCommendationRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.rankingYear(t)
		staff := principal(900, "zuzhibu", auth.RoleOrgAdmin, w.county, 0)
		for _, c := range []struct {
			rule      CommendationRule
			want      string
			cut       int64
			ruleWords string
		}{
			{CommendationRule{RuleTop, 3}, "1 杨大哥 20, 2 刘阿姨 12, 3 张大爷 10, 3 李老师 10", 10, "前 3 名，并列者一并入选"},
			{CommendationRule{RuleTop, 5}, "1 杨大哥 20, 2 刘阿姨 12, 3 张大爷 10, 3 李老师 10, 5 王奶奶 6, 5 陈伯 6", 6, "前 5 名"},
			{CommendationRule{RuleTop, 50}, "1 杨大哥 20, 2 刘阿姨 12, 3 张大爷 10, 3 李老师 10, 5 王奶奶 6, 5 陈伯 6, 7 周姐 3", 3, "前 50 名"},
			// 7 × 50 % = 3.5, rounded down to 3: the top three ranks, with the tie at 3.
			{CommendationRule{RulePercent, 50}, "1 杨大哥 20, 2 刘阿姨 12, 3 张大爷 10, 3 李老师 10", 10, "前 50%，参与排名 7 人，取前 3 名"},
			// 7 × 10 % = 0.7 rounds down to 0, but a list has at least one.
			{CommendationRule{RulePercent, 10}, "1 杨大哥 20", 20, "取前 1 名"},
			{CommendationRule{RulePercent, 100}, "1 杨大哥 20, 2 刘阿姨 12, 3 张大爷 10, 3 李老师 10, 5 王奶奶 6, 5 陈伯 6, 7 周姐 3", 3, "取前 7 名"},
			{CommendationRule{RuleThreshold, 10}, "1 杨大哥 20, 2 刘阿姨 12, 3 张大爷 10, 3 李老师 10", 10, "积分不低于 10 分"},
			{CommendationRule{RuleThreshold, 21}, "", 21, "积分不低于 21 分"},
		} {
			got, err := w.svc.Commend(ctx, staff, w.county.ID, "2026", c.rule)
			if err != nil {
				t.Fatalf("%+v: %v", c.rule, err)
			}
			if rankedText(got.Items) != c.want || got.Cut != c.cut || got.Ranked != 7 || !strings.Contains(got.RuleText, c.ruleWords) {
				t.Errorf("%+v: %s (cut %d, ranked %d, %q)\nwant %s (cut %d)", c.rule, rankedText(got.Items), got.Cut, got.Ranked, got.RuleText, c.want, c.cut)
			}
		}
		for _, bad := range []CommendationRule{{"best", 3}, {RuleTop, 0}, {RulePercent, 0}, {RulePercent, 101}, {RuleThreshold, 0}} {
			if _, err := w.svc.Commend(ctx, staff, w.county.ID, "2026", bad); !errs.Is(err, errs.KindInvalid) {
				t.Errorf("rule %+v: %v", bad, err)
			}
		}
		if _, err := w.svc.Commend(ctx, w.member("李老师"), w.c1.ID, "2026", CommendationRule{RuleTop, 3}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a member draws a commendation list: %v", err)
		}
		reviewer := principal(900, "shenhe", auth.RoleReviewer, w.c2, 0)
		got, err := w.svc.Commend(ctx, reviewer, w.c2.ID, "2026", CommendationRule{RulePercent, 34})
		if err != nil || rankedText(got.Items) != "1 刘阿姨 12" {
			t.Fatalf("南沙社区 top 34%% of 3: %s %v", rankedText(got.Items), err)
		}
	}, migrations...)
}

func TestCommendationExcelIsAuditedAndReadsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		w.rankingYear(t)
		staff := principal(900, "zuzhibu", auth.RoleOrgAdmin, w.county, 0)
		file, c, err := w.svc.ExportCommendation(ctx, staff, w.county.ID, "2026", CommendationRule{RuleTop, 3})
		if err != nil {
			t.Fatal(err)
		}
		rows := workbookRows(t, file, "评选推优名单")
		if !strings.Contains(rows[0][0], "元阳县 2026年荣誉积分评选推优名单") || !strings.Contains(rows[0][0], "规则：前 3 名，并列者一并入选") {
			t.Fatalf("title row %q", rows[0][0])
		}
		if strings.Join(rows[1], ",") != "排名,姓名,所属组织,存折号,积分" {
			t.Fatalf("header %v", rows[1])
		}
		var lines []string
		for i, r := range rows[2:] {
			it := c.Items[i]
			if r[3] != it.Number {
				t.Fatalf("row %d number %q, want %q", i, r[3], it.Number)
			}
			lines = append(lines, strings.Join([]string{r[0], r[1], r[2], r[4]}, " "))
		}
		want := "1 杨大哥 土锅寨村 20|2 刘阿姨 南沙社区 12|3 张大爷 元城镇社区 10|3 李老师 元城镇社区 10"
		if got := strings.Join(slices.Sorted(slices.Values(lines)), "|"); got != want {
			t.Fatalf("rows %s\nwant %s", got, want)
		}
		var summary string
		err = db.QueryRow(ctx, `SELECT summary FROM audit_log WHERE action = 'passbook.commendation_export' AND actor = 'zuzhibu'`).Scan(&summary)
		var s struct{ Count int }
		if err != nil || json.Unmarshal([]byte(summary), &s) != nil || s.Count != 4 {
			t.Fatalf("audit of the export: %q %v", summary, err)
		}
		if _, _, err := w.svc.ExportCommendation(ctx, w.member("李老师"), w.c1.ID, "2026", CommendationRule{RuleTop, 3}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("member exports: %v", err)
		}
	}, migrations...)
}

// workbookRows reads every row of a sheet of an .xlsx file.
func workbookRows(t *testing.T, file []byte, sheet string) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
