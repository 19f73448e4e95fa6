package passbook

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"grassroots/audit"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

// approvedCSV is a file of approved claims with the batch template's columns.
func approvedCSV(rows ...string) []byte {
	return []byte("\ufeff存折号,身份证号,事项编码,日期,数量,备注\n" + strings.Join(rows, "\n") + "\n")
}

func readApproved(t *testing.T, name string, data []byte) *ApprovedFile {
	t.Helper()
	f, err := ReadApproved(bytes.NewReader(data), name, 1<<20)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestPostApprovedBooksEveryRowOrNone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		set := DefaultSettings
		set.PublicityDays, set.DeductionsReduceDeposit = 0, true
		w := newClaimsWorld(t, db, set)
		hours := terms("志愿服务", 2)
		hours.Unit, hours.MaxPerClaim = UnitHour, 4
		w.item(t, w.staff, w.community, "V01", hours)
		patrol := terms("治安巡逻", 1)
		patrol.CapMonth = 3
		capped := w.item(t, w.staff, w.community, "P01", patrol)
		w.item(t, w.staff, w.community, "K01", terms("乱扔垃圾", -1))
		// One patrol already posted this month: two more fit under the cap of 3.
		w.approve(t, w.reviewer, w.claim(t, w.member, w.pb, capped, "2026-03-11", 1))
		beforeTx := w.count(t, `SELECT COUNT(*) FROM pb_transactions`)

		bad := approvedCSV(
			w.pb.Number+",,v01,2026-03-12,3,清扫",
			w.pb.Number+",,P01,2026-03-13,1,",
			w.pb.Number+",,P01,2026-03-14,1,",
			w.pb.Number+",,P01,2026-03-15,1,",
			w.other.Number+",,V01,2026-03-12,1,",
			w.pb.Number+",,X99,2026-03-12,1,",
			w.pb.Number+",,V01,2026-03-12,两,",
			",532528195201010013,V01,2026-03-30,1,",
		)
		res, err := w.svc.PostApproved(ctx, w.staff, readApproved(t, "march.csv", bad))
		wantKind(t, "a file with bad rows", err, errs.KindInvalid, "共 5 行有误")
		want := map[int]string{
			5: "超过本月上限（每月最多3分，本月已得3分）",
			6: "存折号 " + w.other.Number + " 不存在或不在您的管理范围内",
			7: "事项编码 X99 不存在",
			8: "数量应为正整数",
			9: "日期不能晚于今天",
		}
		if len(res.Problems) != len(want) {
			t.Fatalf("problems = %v", res.Problems)
		}
		for line, text := range want {
			if !strings.Contains(res.Problems[line], text) {
				t.Errorf("row %d: %q, want %q", line, res.Problems[line], text)
			}
		}
		if !bytes.Contains(res.Report, []byte("5,超过本月上限")) {
			t.Errorf("CSV report:\n%s", res.Report)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM pb_transactions`); n != beforeTx {
			t.Fatalf("a refused file booked %d transactions", n-beforeTx)
		}

		// The good rows come in no order of passbook: 李老师, 王大爷 (by 身份证号), 李老师 again.
		good := approvedCSV(
			w.pb.Number+",,v01,2026-03-12,3,清扫",
			",532528195201010013,V01,2026/3/13,2,",
			w.pb.Number+",,P01,2026-03-13,1,",
			w.pb.Number+",,K01,2026-03-16,1,乱扔垃圾",
			w.pb.Number+",,P01,2026-03-14,1,",
		)
		res, err = w.svc.PostApproved(ctx, w.staff, readApproved(t, "march.csv", good))
		if err != nil {
			t.Fatalf("good file: %v %v", err, res.Problems)
		}
		if res.Posted != 5 || res.Deductions != 1 || res.Passbooks != 2 || res.Points != 6+4+1+1-1 || res.Fen != 1200 {
			t.Fatalf("result = %+v", res)
		}
		if db.IsPostgres() {
			// Never analysed before, the tables the file grew have statistics of their rows now,
			// so the next file is not planned on guesses.
			if n := w.count(t, `SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('pb_claims')`); n != 6 {
				t.Errorf("pb_claims' statistics count %d rows, want 6", n)
			}
		}
		// The same records again, even saved as a workbook, are refused and book nothing.
		again := batchSheet(t,
			[]any{w.pb.Number, "", "v01", "2026-03-12", "3", "清扫"},
			[]any{"", "532528195201010013", "V01", "2026/3/13", "2"},
			[]any{w.pb.Number, "", "P01", "2026-03-13", "1"},
			[]any{w.pb.Number, "", "K01", "2026-03-16", "1", "乱扔垃圾"},
			[]any{w.pb.Number, "", "P01", "2026-03-14", "1"},
		)
		_, err = w.svc.PostApproved(ctx, w.countyAdmin, readApproved(t, "三月.xlsx", again))
		wantKind(t, "the same records again", err, errs.KindConflict, "已经入账过")
		// 李老师: 1 (before) + 6 + 1 + 1 − 1 points; deposit 100 fen a point, the deduction too.
		if b := w.passbook(t, w.pb.ID); b.HonorPoints != 8 || b.DepositFen != 800 {
			t.Fatalf("李老师: %d points, %d fen", b.HonorPoints, b.DepositFen)
		}
		if b := w.passbook(t, w.neighbour.ID); b.HonorPoints != 4 || b.DepositFen != 400 {
			t.Fatalf("王大爷: %d points, %d fen", b.HonorPoints, b.DepositFen)
		}
		lines, _, err := w.svc.Statement(ctx, w.staff, w.pb.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range lines {
			got = append(got, fmt.Sprintf("%s %s %+d→%d %d", l.Date, l.Memo, l.Points, l.HonorBalance, l.Balance))
		}
		wantLines := []string{
			"2026-03-11 治安巡逻 1次 +1→1 100",
			"2026-03-12 志愿服务 3小时 +6→7 700",
			"2026-03-13 治安巡逻 1次 +1→8 800",
			"2026-03-14 治安巡逻 1次 +1→9 900",
			"2026-03-16 乱扔垃圾 1次 -1→8 800",
		}
		if strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
			t.Fatalf("statement:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
		}
		mine, _, err := w.svc.ListClaims(ctx, w.member, ClaimFilter{})
		if err != nil || len(mine) != 5 {
			t.Fatalf("李老师's claims: %d, %v", len(mine), err)
		}
		c, err := w.svc.GetClaim(ctx, w.staff, mine[1].ID)
		if err != nil || c.State != ClaimPosted || c.Source != SourceBatch || len(c.History) == 0 ||
			c.History[len(c.History)-1].Reason != bulkReason {
			t.Fatalf("a bulk-posted claim: %+v, %v", c, err)
		}
		standing, err := w.svc.MyRank(ctx, w.member, w.pb.ID, "2026-03")
		if err != nil || standing.Points != 8 || standing.Community == nil || standing.Community.Rank != 1 || standing.Community.Field != 2 {
			t.Fatalf("March standing: %+v, %v", standing, err)
		}
		// A bulk-posted earning is reversed like any other.
		if _, err := w.svc.Reverse(ctx, w.staff, lines[1].TxID, "录错了"); err != nil {
			t.Fatalf("reverse a bulk earning: %v", err)
		}
		if b := w.passbook(t, w.pb.ID); b.HonorPoints != 2 || b.DepositFen != 200 {
			t.Fatalf("after the reversal: %d points, %d fen", b.HonorPoints, b.DepositFen)
		}
		// The next earning shared the first one's deposit lot: its reversal takes from what is open.
		if _, err := w.svc.Reverse(ctx, w.staff, lines[2].TxID, "录错了"); err != nil {
			t.Fatalf("reverse a bulk earning without a lot of its own: %v", err)
		}
		if b := w.passbook(t, w.pb.ID); b.HonorPoints != 1 || b.DepositFen != 100 {
			t.Fatalf("after the second reversal: %d points, %d fen", b.HonorPoints, b.DepositFen)
		}
		wantSound(t, db)

		_, err = w.svc.PostApproved(ctx, w.member, readApproved(t, "march.csv", good))
		wantKind(t, "a member's file", err, errs.KindForbidden, "审核权限")
	}, migrations...)
}

func TestPostApprovedReadsWorkbooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		w.item(t, w.staff, w.community, "V01", terms("志愿服务", 2))
		sheet := batchSheet(t,
			[]any{w.pb.Number, "", "V01", "2026-03-12", 1},
			[]any{w.neighbour.Number, "", "V01", "2026-03-12", 0},
		)
		res, err := w.svc.PostApproved(ctx, w.countyAdmin, readApproved(t, "三月.xlsx", sheet))
		wantKind(t, "a sheet with a bad row", err, errs.KindInvalid, "共 1 行有误")
		if !strings.Contains(res.Problems[3], "数量") || !bytes.HasPrefix(res.Report, []byte("PK")) {
			t.Fatalf("problems %v, report of %d bytes", res.Problems, len(res.Report))
		}
		sheet = batchSheet(t, []any{w.pb.Number, "", "V01", "2026-03-12", 1}, []any{w.neighbour.Number, "", "V01", "2026-03-12", 1})
		if res, err := w.svc.PostApproved(ctx, w.countyAdmin, readApproved(t, "三月.xlsx", sheet)); err != nil || res.Posted != 2 {
			t.Fatalf("good sheet: %+v, %v", res, err)
		}
		if b := w.passbook(t, w.neighbour.ID); b.HonorPoints != 2 {
			t.Fatalf("王大爷 has %d points", b.HonorPoints)
		}
		wantSound(t, db)
		if _, err := ReadApproved(bytes.NewReader(sheet), "三月.xls", 1<<20); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("an .xls name: %v", err)
		}
	}, migrations...)
}

func (w *claimsWorld) passbook(t *testing.T, id int64) Passbook {
	t.Helper()
	b, err := w.svc.GetPassbook(ctx, w.countyAdmin, id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantSound fails the test when the ledger or the audit chain does not verify.
func wantSound(t *testing.T, db *store.DB) {
	t.Helper()
	if _, found, err := Verify(ctx, db); err != nil || len(found) > 0 {
		t.Fatalf("ledger: %v %v", found, err)
	}
	if _, err := audit.Verify(ctx, db); err != nil {
		t.Fatalf("audit: %v", err)
	}
}
