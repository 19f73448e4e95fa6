package passbook

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/xlsx"
)

// BulkResult is the outcome of PostApproved. When any row is bad nothing is written: Posted is
// 0, Problems maps each bad row to its problems joined with "；", and Report is the file's
// error report (the workbook with a 错误说明 column, or for a CSV the bad rows' numbers and
// problems).
type BulkResult struct {
	Posted     int            `json:"posted"`     // claims booked, deductions included
	Deductions int            `json:"deductions"` // of which deductions
	Passbooks  int            `json:"passbooks"`  // passbooks that moved
	Points     int64          `json:"points"`     // net honour points booked
	Fen        int64          `json:"fen"`        // deposit the earnings converted to, in fen
	Problems   map[int]string `json:"-"`
	Report     []byte         `json:"-"`
}

// PostApproved books the claims of an ApprovedFile, approved and publicised outside the
// system (a paper-based community's records, a county's migration from its old sheets),
// straight to the ledger: all or nothing, in one transaction, under the caller's review
// scope. Each row is checked like a claim (passbook, item, date, quantity) and against the
// item's caps with what is already posted and the earlier rows of the file; any bad row
// refuses the file with an error report. Each row becomes a posted claim (source batch) with
// its history, and its own ledger transaction.
//
// Earnings, nearly every row, go through the bulk path: ids drawn in one go, rows written with
// the dialect's COPY or one prepared insert, balances and ranking totals moved once per
// passbook. That path computes running balances from those it reads at its start, so it holds
// the ledger gate alone meanwhile and every other posting waits. Deductions, which may draw on
// deposit lots, are booked after the earnings one by one through the ordinary posting.
func (s *Service) PostApproved(ctx context.Context, p *auth.Principal, f *ApprovedFile) (BulkResult, error) {
	if sc := p.Scope(PermReview); !sc.All && len(sc.Paths) == 0 {
		return BulkResult{}, errs.Forbidden("批量入账仅限有审核权限的工作人员")
	}
	if len(f.rows) == 0 {
		return BulkResult{}, errs.Invalid(xlsx.Field, "表格中没有数据")
	}
	var res BulkResult
	var problems map[int][]string
	var grown map[string]int
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.DB().Dialect.Serialize(ctx, tx, ledgerGate); err != nil {
			return err
		}
		// The same records posted twice would book every claim twice, whoever posts them.
		key := f.key()
		prior, hash, err := recall(ctx, tx, 0, key, entityBulkPost, string(key))
		if err != nil {
			return err
		}
		if prior != 0 {
			return errs.Conflict("这些记录已经入账过（首笔交易 %d），不能重复入账", prior)
		}
		b := &bulkPosting{tx: tx, p: p, f: f, actor: p.Actor(), today: store.LocalDate(tx.Now()),
			problems: map[int][]string{}, grown: map[string]int{}, items: map[itemAt]*Item{}, settings: map[int64]Settings{}}
		if err := b.check(ctx); err != nil {
			return err
		}
		if len(b.problems) > 0 {
			problems = b.problems
			return errBatchRefused
		}
		if err := b.post(ctx); err != nil {
			return err
		}
		res, grown = b.result, b.grown
		if err := remember(ctx, tx, 0, key, hash, entityBulkPost, b.firstTx); err != nil {
			return err
		}
		return audit.Append(ctx, tx, b.actor, audit.Event{Action: "passbook.bulk_post", EntityType: "pb_transaction",
			EntityID: b.firstTx, OrgID: commonAncestor(b.paths()), Summary: map[string]any{
				"posted": res.Posted, "deductions": res.Deductions, "passbooks": res.Passbooks,
				"points": res.Points, "fen": res.Fen, "first_tx": b.firstTx, "last_tx": b.lastTx}})
	})
	if errors.Is(err, errBatchRefused) {
		return f.refuse(problems)
	}
	if err == nil {
		// The next file's cap check, and every posting after, must be planned for the tables'
		// new size.
		s.db.RefreshStatistics(ctx, grown)
	}
	return res, err
}

// refuse builds the result of a file with bad rows: the problems and the error report.
func (f *ApprovedFile) refuse(problems map[int][]string) (BulkResult, error) {
	res := BulkResult{Problems: make(map[int]string, len(problems))}
	for n, msgs := range problems {
		res.Problems[n] = strings.Join(msgs, "；")
	}
	report, err := f.report(res.Problems)
	if err != nil {
		return BulkResult{}, err
	}
	res.Report = report
	return res, errs.Invalid(xlsx.Field, "共 %d 行有误，未入账任何申报，请按错误说明修改后重新提交", len(res.Problems))
}

// entityBulkPost names a bulk posting in the idempotency records; its id is the first
// transaction the posting booked.
const entityBulkPost = "pb_bulk_post"

// itemAt is an item code as the catalog of one community resolves it.
type itemAt struct {
	orgID int64
	code  int32
}

// bulkPosting is one PostApproved inside its transaction.
type bulkPosting struct {
	tx       *store.Tx
	p        *auth.Principal
	f        *ApprovedFile
	actor    audit.Actor
	today    string
	problems map[int][]string

	books    []found            // by key of the file
	items    map[itemAt]*Item   // nil: no such item where the passbook is
	settings map[int64]Settings // by community
	order    []int32            // rows by passbook, then as in the file
	result   BulkResult
	grown    map[string]int // rows the earnings added, by table
	firstTx  int64
	lastTx   int64
}

func (b *bulkPosting) problem(line int32, msg string) {
	b.problems[int(line)] = append(b.problems[int(line)], msg)
}

// check resolves every row's passbook and item and checks it like a claim, then against the
// caps; it leaves the rows in posting order: by passbook, then as in the file.
func (b *bulkPosting) check(ctx context.Context) error {
	for line, msgs := range b.f.problems {
		b.problems[line] = append(b.problems[line], msgs...)
	}
	books, err := findPassbooks(ctx, b.tx, b.p, PermReview, b.f.keys, b.tx.Now())
	if err != nil {
		return err
	}
	b.books = books
	b.order = make([]int32, len(b.f.rows))
	for i := range b.order {
		b.order[i] = int32(i)
	}
	slices.SortFunc(b.order, func(x, y int32) int {
		return cmp.Compare(b.books[b.f.rows[x].key].ID, b.books[b.f.rows[y].key].ID)
	})
	for _, i := range b.order {
		if err := b.checkRow(ctx, &b.f.rows[i]); err != nil {
			return err
		}
	}
	return b.checkCaps(ctx)
}

// checkRow checks one row as a claim of its passbook would be checked.
func (b *bulkPosting) checkRow(ctx context.Context, row *approvedRow) error {
	book := b.books[row.key]
	if book.problem != "" {
		b.problem(row.line, book.problem)
		return nil
	}
	it, err := b.item(ctx, book.Passbook, row.code)
	if err != nil {
		return err
	}
	if it == nil {
		b.problem(row.line, fmt.Sprintf("事项编码 %s 不存在或不适用于该存折所在社区", b.f.codes[row.code]))
		return nil
	}
	if _, bad := b.problems[int(row.line)]; bad {
		return nil // the date or quantity is unreadable: admit would only repeat it
	}
	in := ClaimInput{PassbookID: book.ID, ItemID: it.ID, WorkDate: b.f.dates[row.date], Quantity: row.quantity, Note: row.note}
	for _, msg := range messages(admit(book.Passbook, *it, in, 0, b.today)) {
		b.problem(row.line, msg)
	}
	return nil
}

// item is the current version of the item a code names where a passbook is, nil when there
// is none; each community's codes are looked up once.
func (b *bulkPosting) item(ctx context.Context, book Passbook, code int32) (*Item, error) {
	at := itemAt{book.OrgID, code}
	if it, ok := b.items[at]; ok {
		return it, nil
	}
	it, err := claimItem(ctx, b.tx, book, "i.code = ?", b.f.codes[code])
	switch {
	case errors.Is(err, sql.ErrNoRows):
		b.items[at] = nil
	case err != nil:
		return nil, err
	default:
		b.items[at] = &it
	}
	return b.items[at], nil
}

// settingsOf are the settings in force at a passbook's community.
func (b *bulkPosting) settingsOf(ctx context.Context, book Passbook) (Settings, error) {
	if set, ok := b.settings[book.OrgID]; ok {
		return set, nil
	}
	set, err := settingsAt(ctx, b.tx, book.orgPath)
	b.settings[book.OrgID] = set
	return set, err
}

// paths are the materialised paths of the communities whose passbooks moved.
func (b *bulkPosting) paths() []string {
	seen := map[int64]bool{}
	var out []string
	for _, i := range b.order {
		book := b.books[b.f.rows[i].key]
		if !seen[book.OrgID] {
			seen[book.OrgID] = true
			out = append(out, book.orgPath)
		}
	}
	return out
}

// commonAncestor is the deepest organisation above every path, so that an audit record of a
// change across several communities shows to the auditors of all of them; 0 when none is.
func commonAncestor(paths []string) int64 {
	if len(paths) == 0 {
		return 0
	}
	common := ancestorIDs(paths[0])
	for _, path := range paths[1:] {
		ids := ancestorIDs(path)
		n := 0
		for n < len(common) && n < len(ids) && common[n] == ids[n] {
			n++
		}
		common = common[:n]
	}
	if len(common) == 0 {
		return 0
	}
	return common[len(common)-1]
}
