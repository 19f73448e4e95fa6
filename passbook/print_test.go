package passbook

import (
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/store/storetest"
)

func TestPassbookPrinterPrintsOnlyNewLines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		li := w.books["李老师"].ID
		clerk := principal(900, "jingban", auth.RoleUnitAdmin, w.c1, 0)
		first := w.earn(t, "李老师", 10, "2026-11-05", 0)
		w.earn(t, "李老师", 4, "2026-11-12", 0)
		last := w.earn(t, "李老师", 6, "2026-11-20", 0)

		pr, err := w.svc.PendingLines(ctx, clerk, li)
		if err != nil {
			t.Fatal(err)
		}
		if len(pr.Items) != 3 || pr.FirstLine != 1 || pr.ThroughTxID != last || pr.PrintedThrough != 0 || pr.Items[2].Balance != 2000 {
			t.Fatalf("first print: %+v", pr)
		}
		lines, err := w.svc.MarkPrinted(ctx, clerk, li, pr.ThroughTxID)
		if err != nil || lines != 3 {
			t.Fatalf("mark: %d %v", lines, err)
		}
		pr, _ = w.svc.PendingLines(ctx, clerk, li)
		if len(pr.Items) != 0 || pr.ThroughTxID != 0 || pr.PrintedThrough != last || pr.FirstLine != 4 || pr.Pages() != nil {
			t.Fatalf("after the print, pending: %+v", pr)
		}

		newest := w.earn(t, "李老师", 2, "2026-11-28", 0)
		pr, _ = w.svc.PendingLines(ctx, clerk, li)
		if len(pr.Items) != 1 || pr.Items[0].TxID != newest || pr.FirstLine != 4 || pr.Items[0].Balance != 2200 || pr.Items[0].HonorBalance != 22 {
			t.Fatalf("after a new posting, pending: %+v", pr)
		}

		if _, err := w.svc.MarkPrinted(ctx, clerk, li, first); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("marking backwards: %v", err)
		}
		if n, err := w.svc.MarkPrinted(ctx, clerk, li, last); err != nil || n != 0 {
			t.Fatalf("marking the same place again: %d %v", n, err)
		}
		other := w.earn(t, "张大爷", 1, "2026-11-28", 0)
		if _, err := w.svc.MarkPrinted(ctx, clerk, li, other); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("marking another passbook's transaction: %v", err)
		}
		if _, err := w.svc.MarkPrinted(ctx, w.member("李老师"), li, newest); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("the member marks their own passbook: %v", err)
		}
		if _, err := w.svc.MarkPrinted(ctx, principal(900, "jingban2", auth.RoleUnitAdmin, w.c2, 0), li, newest); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another community's clerk marks: %v", err)
		}

		all, err := w.svc.AllLines(ctx, w.member("李老师"), li)
		if err != nil || len(all.Items) != 4 || all.FirstLine != 1 || all.PrintedThrough != last {
			t.Fatalf("reprint all: %+v %v", all, err)
		}
		if through, _ := printedThrough(ctx, db, li); through != last {
			t.Fatalf("reprinting moved the mark to %d", through)
		}
		var audited int
		db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'passbook.print' AND entity_id = ?`, li).Scan(&audited)
		if audited != 1 {
			t.Fatalf("%d audited prints, want 1 (the repeat mark changed nothing)", audited)
		}
		w.wantSound(t)
	}, migrations...)
}

func TestPrintPagesKeepPaperLines(t *testing.T) {
	items := make([]Line, 3)
	for i := range items {
		items[i].TxID = int64(100 + i)
	}
	pr := Printout{FirstLine: 19, Items: items}
	pages := pr.Pages()
	if len(pages) != 2 || pages[0].Number != 1 || pages[1].Number != 2 {
		t.Fatalf("pages %+v", pages)
	}
	p1, p2 := pages[0].Rows, pages[1].Rows
	if len(p1) != 20 || p1[17].Line != nil || p1[17].No != 18 || p1[18].Line.TxID != 100 || p1[19].No != 20 {
		t.Fatalf("first page: 18 blank lines then lines 19 and 20; got %d rows", len(p1))
	}
	if len(p2) != 1 || p2[0].No != 21 || p2[0].Line.TxID != 102 {
		t.Fatalf("second page: %+v", p2)
	}
	if pr.FirstPage() != 1 || (Printout{FirstLine: 41}).FirstPage() != 3 {
		t.Fatal("first page numbers")
	}
}

func TestStatementExcelBalances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newRankWorld(t, db)
		li := w.books["李老师"]
		w.earn(t, "李老师", 10, "2026-11-05", 0)
		dup := w.earn(t, "李老师", 4, "2026-11-12", 0)
		w.redeem(t, "李老师", 350, "2026-11-20")
		if _, err := w.svc.Reverse(ctx, auth.System(), dup, "重复申报"); err != nil {
			t.Fatal(err)
		}
		file, b, err := w.svc.ExportStatement(ctx, w.member("李老师"), li.ID)
		if err != nil {
			t.Fatal(err)
		}
		rows := workbookRows(t, file, "对账单")
		if len(rows) != 2+1+4+1 {
			t.Fatalf("%d rows: title, header, opening, 4 lines, closing", len(rows))
		}
		opening, closing := rows[2], rows[len(rows)-1]
		if opening[1] != "期初余额" || opening[3] != "0" || opening[6] != "0.00" {
			t.Fatalf("opening %v", opening)
		}
		// 14 points and 1400 fen in, 350 redeemed, the 4-point earning reversed (400 fen out).
		want := []string{"2026-11-29", "期末余额（本期合计）", "10", "10", "14.00", "7.50", "6.50"}
		for i, v := range want {
			if closing[i] != v {
				t.Fatalf("closing %v, want %v", closing, want)
			}
		}
		if b.HonorPoints != 10 || b.DepositFen != 650 {
			t.Fatalf("passbook %d points, %d fen", b.HonorPoints, b.DepositFen)
		}
		redemption := rows[5]
		if redemption[1] != "兑换奖品" || redemption[2] != "" || redemption[3] != "14" || redemption[4] != "" || redemption[5] != "3.50" || redemption[6] != "10.50" {
			t.Fatalf("redemption line %v", redemption)
		}
		var n int
		db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'passbook.statement_export' AND entity_id = ?`, li.ID).Scan(&n)
		if n != 1 {
			t.Fatalf("statement export audited %d times", n)
		}
		if _, _, err := w.svc.ExportStatement(ctx, w.member("张大爷"), li.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another member's statement: %v", err)
		}
	}, migrations...)
}

// wantSound runs the ledger check and the audit chain check.
func (w *rankWorld) wantSound(t *testing.T) {
	t.Helper()
	(&ledgerWorld{db: w.db}).wantSound(t)
}
