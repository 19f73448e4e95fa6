package passbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Printing a passbook works like a bank's passbook printer (补登折): the paper passbook holds
// linesPerPage lines a page, pb_passbooks.printed_through remembers the last transaction
// printed into it, and a 补登 run prints only what came after, each line on the paper line it
// belongs to. The mark moves only when staff confirm the paper came out right, by an explicit
// POST; a reprint of everything (全部重打, e.g. onto a new passbook) leaves it where it is.

// linesPerPage is how many lines one page of the paper passbook holds.
const linesPerPage = 20

// allLines is a limit no passbook's history reaches; statementLines wants one.
const allLines = 1 << 30

// Print modes.
const (
	PrintPending = "pending" // 补登: the lines after the mark
	PrintAll     = "all"     // 全部重打: every line, the mark untouched
)

// Printout is what one run prints into a passbook.
type Printout struct {
	Passbook       Passbook `json:"passbook"`
	Mode           string   `json:"mode"`
	PrintedThrough int64    `json:"printed_through"` // the mark before this run
	FirstLine      int64    `json:"first_line"`      // paper line number of Items[0], from 1
	Items          []Line   `json:"items"`
	ThroughTxID    int64    `json:"through_tx_id"` // the last line's transaction: the mark after it, 0 if none
}

// PrintRow is one ruled line of a printed page; Line is nil for a line printed earlier, left
// blank so the new lines land where the paper has room.
type PrintRow struct {
	No   int64
	Line *Line
}

// PrintPage is one page of the paper passbook.
type PrintPage struct {
	Number int64
	Rows   []PrintRow
}

// Pages lays the lines out on passbook pages of linesPerPage lines: the first page starts at
// its top, with the lines printed there before as blanks.
func (pr Printout) Pages() []PrintPage {
	if len(pr.Items) == 0 {
		return nil
	}
	top := (pr.FirstPage()-1)*linesPerPage + 1 // the first line of the page the run starts on
	rows := make([]PrintRow, 0, int(pr.FirstLine-top)+len(pr.Items))
	for no := top; no < pr.FirstLine; no++ {
		rows = append(rows, PrintRow{No: no})
	}
	for i := range pr.Items {
		rows = append(rows, PrintRow{No: pr.FirstLine + int64(i), Line: &pr.Items[i]})
	}
	var pages []PrintPage
	for len(rows) > 0 {
		n := min(linesPerPage, len(rows))
		pages = append(pages, PrintPage{Number: (rows[0].No-1)/linesPerPage + 1, Rows: rows[:n]})
		rows = rows[n:]
	}
	return pages
}

// FirstPage is the paper page the run starts on.
func (pr Printout) FirstPage() int64 { return (pr.FirstLine-1)/linesPerPage + 1 }

// PendingLines returns what a 补登 run prints: the passbook's lines after the last one printed.
func (s *Service) PendingLines(ctx context.Context, p *auth.Principal, passbookID int64) (Printout, error) {
	return s.printout(ctx, p, passbookID, PrintPending)
}

// AllLines returns every line of the passbook for a reprint, which does not move the mark.
func (s *Service) AllLines(ctx context.Context, p *auth.Principal, passbookID int64) (Printout, error) {
	return s.printout(ctx, p, passbookID, PrintAll)
}

func (s *Service) printout(ctx context.Context, p *auth.Principal, passbookID int64, mode string) (Printout, error) {
	var out Printout
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		b, err := loadPassbook(ctx, tx, p, PermView, passbookID)
		if err != nil {
			return err
		}
		out = Printout{Passbook: b, Mode: mode, FirstLine: 1}
		if out.PrintedThrough, err = printedThrough(ctx, tx, b.ID); err != nil {
			return err
		}
		after := int64(0)
		if mode == PrintPending {
			after = out.PrintedThrough
			printed, err := linesThrough(ctx, tx, b, after)
			if err != nil {
				return err
			}
			out.FirstLine = printed + 1
		}
		if out.Items, err = statementLines(ctx, tx, b, after, allLines); err != nil {
			return err
		}
		if n := len(out.Items); n > 0 {
			out.ThroughTxID = out.Items[n-1].TxID
		} else {
			out.Items = []Line{}
		}
		return nil
	})
	return out, err
}

func printedThrough(ctx context.Context, q querier, passbookID int64) (int64, error) {
	var through int64
	err := q.QueryRow(ctx, `SELECT printed_through FROM pb_passbooks WHERE id = ?`, passbookID).Scan(&through)
	return through, err
}

// linesThrough counts the statement lines of a passbook up to and including a transaction:
// its transactions that moved its honour or deposit account, as statementLines shows them.
func linesThrough(ctx context.Context, q querier, b Passbook, txID int64) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT COUNT(DISTINCT t.id) FROM pb_transactions t
		JOIN pb_entries e ON e.tx_id = t.id AND e.account_id IN (?, ?)
		WHERE t.passbook_id = ? AND t.id <= ?`, b.honorAcc, b.depositAcc, b.ID, txID).Scan(&n)
	return n, err
}

// MarkPrinted records that the paper passbook now holds every line through a transaction of
// it, after staff have checked the print. The mark only moves forward; marking the current
// position again changes nothing. It returns how many lines the move covers.
func (s *Service) MarkPrinted(ctx context.Context, p *auth.Principal, passbookID, throughTxID int64) (int64, error) {
	var lines int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		b, err := loadPassbook(ctx, tx, p, PermManage, passbookID)
		if err != nil {
			return err
		}
		old, err := printedThrough(ctx, tx, b.ID)
		if err != nil {
			return err
		}
		if err := checkMark(ctx, tx, b, old, throughTxID); err != nil || throughTxID == old {
			return err
		}
		if lines, err = linesBetween(ctx, tx, b, old, throughTxID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE pb_passbooks SET printed_through = ?, updated_at = ? WHERE id = ? AND printed_through = ?`,
			throughTxID, store.FormatTime(tx.Now()), b.ID, old)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errs.Conflict("存折的打印位置刚被他人更新，请刷新后重试")
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.print", EntityType: "passbook", EntityID: b.ID,
			OrgID: b.OrgID, Summary: map[string]any{"number": b.Number, "printed_through": []int64{old, throughTxID}, "lines": lines}})
	})
	return lines, err
}

// checkMark refuses a mark that is not a transaction of the passbook or lies before the
// current one.
func checkMark(ctx context.Context, q querier, b Passbook, old, through int64) error {
	if through < old {
		return errs.Conflict("存折已打印到更靠后的记录，打印位置不能往回移")
	}
	var owner sql.NullInt64
	err := q.QueryRow(ctx, `SELECT passbook_id FROM pb_transactions WHERE id = ?`, through).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && owner.Int64 != b.ID) {
		return errs.Invalid("through_tx_id", "这笔交易不属于该存折")
	}
	return err
}

// linesBetween counts the statement lines after one transaction up to another.
func linesBetween(ctx context.Context, q querier, b Passbook, after, through int64) (int64, error) {
	before, err := linesThrough(ctx, q, b, after)
	if err != nil {
		return 0, err
	}
	upTo, err := linesThrough(ctx, q, b, through)
	return upTo - before, err
}

var statementColumns = []sheetColumn{
	{header: "日期", width: 12}, {header: "摘要", width: 30}, {header: "积分", width: 8}, {header: "积分余额", width: 10},
	{header: "存入（元）", width: 12, yuan: true}, {header: "支取（元）", width: 12, yuan: true},
	{header: "余额（元）", width: 12, yuan: true}, {header: "经办人", width: 12},
}

// ExportStatement returns a passbook's whole statement as an Excel workbook: the opening
// balances (nothing, on the day it was opened), every line, and a closing line with the sums
// and the balances that follow from them. A statement is personal data, so the export is
// audited in the transaction that reads it.
func (s *Service) ExportStatement(ctx context.Context, p *auth.Principal, passbookID int64) ([]byte, Passbook, error) {
	var file []byte
	var b Passbook
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = loadPassbook(ctx, tx, p, PermView, passbookID); err != nil {
			return err
		}
		lines, err := statementLines(ctx, tx, b, 0, allLines)
		if err != nil {
			return err
		}
		if file, err = statementWorkbook(b, lines, store.LocalDate(tx.Now())); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.statement_export", EntityType: "passbook",
			EntityID: b.ID, OrgID: b.OrgID, Summary: map[string]any{"number": b.Number, "lines": len(lines)}})
	})
	return file, b, err
}

// statementWorkbook writes the statement of b as of the day it is exported.
func statementWorkbook(b Passbook, lines []Line, day string) ([]byte, error) {
	title := fmt.Sprintf("红色存折对账单　%s　存折号 %s　%s　（%s 导出）", b.PersonName, b.Number, b.OrgName, day)
	sheet, err := newTitledSheet("对账单", title, statementColumns)
	if err != nil {
		return nil, err
	}
	var points, in, out, honor, deposit int64
	rows := [][]any{{b.OpenedOn, "期初余额", nil, int64(0), nil, nil, int64(0), nil}}
	for _, l := range lines {
		rows = append(rows, []any{l.Date, l.Memo, blankZero(l.Points), l.HonorBalance, blankZero(l.DepositIn), blankZero(l.DepositOut), l.Balance, l.Actor})
		points, in, out = points+l.Points, in+l.DepositIn, out+l.DepositOut
		honor, deposit = l.HonorBalance, l.Balance
	}
	rows = append(rows, []any{day, "期末余额（本期合计）", points, honor, in, out, deposit, nil})
	for _, r := range rows {
		if err := sheet.add(r...); err != nil {
			sheet.close()
			return nil, err
		}
	}
	return sheet.bytes()
}

// blankZero leaves a zero out of its cell, as a passbook leaves 积分, 存入 or 支取 blank on a
// line that did not move them.
func blankZero(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}
