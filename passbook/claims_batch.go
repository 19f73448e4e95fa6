package passbook

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/xlsx"
)

// Headers of the batch sheet a paper-based community fills in.
const (
	colNumber   = "存折号"
	colIDNumber = "身份证号"
	colCode     = "事项编码"
	colDate     = "日期"
	colQuantity = "数量"
	colNote     = "备注"
)

// ClaimsSheet is the name of the data sheet of the batch template.
const ClaimsSheet = "积分申报"

// Batch limits: a community's month of paper records is a few hundred rows.
const (
	MaxBatchBytes = 10 << 20
	maxBatchRows  = 5000
)

// batchColumns is the one definition of the batch sheet, for the template and the upload. The
// template lists the codes that apply where it is downloaded.
func batchColumns(codes []string, codeNote string) []xlsx.Column {
	return []xlsx.Column{
		{Header: colNumber, Text: true, Width: 18, Note: "纸质存折上的存折号；与身份证号至少填写一项"},
		{Header: colIDNumber, Text: true, Note: "18位身份证号；只填身份证号时按它查找存折，两项都填时须是同一人。本列为文本格式，请勿改为数字"},
		{Header: colCode, Required: true, Text: true, Width: 12, Allowed: codes, Note: codeNote},
		{Header: colDate, Required: true, Width: 14, Note: "参加活动或服务的日期，如 2026-03-08，不能晚于今天"},
		{Header: colQuantity, Required: true, Width: 8, Note: "按次计的填次数，按小时计的填小时数，均为正整数"},
		{Header: colNote, Width: 30, Note: "可不填，不超过500字"},
	}
}

// WriteClaimTemplate writes the batch template for an organisation: the columns, and the codes
// of the catalog that applies there as the 事项编码 dropdown and on the instructions sheet.
func (s *Service) WriteClaimTemplate(ctx context.Context, p *auth.Principal, orgID int64, w io.Writer) error {
	items, _, err := s.ListItems(ctx, p, ItemFilter{OrgID: orgID, Limit: 500})
	if err != nil {
		return err
	}
	codes := make([]string, len(items))
	lines := make([]string, len(items))
	for i, it := range items {
		codes[i] = it.Code
		lines[i] = fmt.Sprintf("%s %s（%+d分/%s）", it.Code, it.Name, it.Points, it.UnitLabel())
	}
	xw, err := xlsx.NewWriter(w, ClaimsSheet, batchColumns(codes, "积分事项编码："+strings.Join(lines, "；")))
	if err != nil {
		return err
	}
	return xw.Close()
}

// BatchResult is the outcome of a batch. When any row is bad nothing is written: Imported is
// 0, Problems maps each bad row (as Excel numbers it) to its problems joined with "；", and
// Report is the uploaded sheet with them in a 错误说明 column.
type BatchResult struct {
	Imported int            `json:"imported"`
	ClaimIDs []int64        `json:"claim_ids"`
	Problems map[int]string `json:"-"`
	Report   []byte         `json:"-"`
}

// errBatchRefused rolls a batch with bad rows back.
var errBatchRefused = errors.New("passbook: batch has bad rows")

// BatchClaims files the claims of an uploaded sheet for members in the caller's care (source
// batch), all or nothing: each row is checked like a claim on a phone, and if any row is bad
// no claim is written, the result names every bad row, and the error is errs.Invalid("file",
// "共 N 行有误…"). The claims go to review like any other.
func (s *Service) BatchClaims(ctx context.Context, p *auth.Principal, r io.Reader) (BatchResult, error) {
	if sc := p.Scope(PermClaim); !sc.All && len(sc.Paths) == 0 {
		return BatchResult{}, errs.Forbidden("批量录入申报仅限社区工作人员")
	}
	f, err := xlsx.Open(r, MaxBatchBytes)
	if err != nil {
		return BatchResult{}, err
	}
	defer f.Close()
	rows, err := readBatch(f)
	if err != nil {
		return BatchResult{}, err
	}
	im := &batchImport{p: p, problems: map[int][]string{}}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		im.tx = tx
		if err := im.findPassbooks(ctx, rows); err != nil {
			return err
		}
		for _, row := range rows {
			if err := im.row(ctx, row); err != nil {
				return err
			}
		}
		if len(im.problems) > 0 {
			return errBatchRefused
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.claims_batch", EntityType: "pb_claim",
			OrgID: commonAncestor(im.paths), Summary: map[string]any{"count": len(im.ids), "first": im.ids[0], "last": im.ids[len(im.ids)-1]}})
	})
	switch {
	case errors.Is(err, errBatchRefused):
		return im.refuse(f)
	case err != nil:
		return BatchResult{}, err
	}
	return BatchResult{Imported: len(im.ids), ClaimIDs: im.ids}, nil
}

// batchRow is one row of the sheet as typed.
type batchRow struct {
	n                                            int
	number, idNumber, code, date, quantity, note string
}

func readBatch(f *xlsx.File) ([]batchRow, error) {
	var rows []batchRow
	err := f.ReadRows("", batchColumns(nil, ""), func(r xlsx.Row) error {
		if len(rows) == maxBatchRows {
			return errs.Invalid(xlsx.Field, "一次最多录入%d行，请分批上传", maxBatchRows)
		}
		rows = append(rows, batchRow{n: r.Number, number: r.Get(colNumber), idNumber: r.Get(colIDNumber),
			code: strings.ToUpper(r.Get(colCode)), date: r.Get(colDate), quantity: r.Get(colQuantity), note: r.Get(colNote)})
		return nil
	})
	return rows, err
}

// batchImport is the state of one batch inside its transaction.
type batchImport struct {
	tx       *store.Tx
	p        *auth.Principal
	problems map[int][]string
	ids      []int64
	paths    []string
	books    map[passbookKey]found
}

// findPassbooks resolves every row's passbook up front, among those the caller may claim for.
func (im *batchImport) findPassbooks(ctx context.Context, rows []batchRow) error {
	keys := make([]passbookKey, len(rows))
	for i, row := range rows {
		keys[i] = passbookKey{row.number, row.idNumber}
	}
	books, err := findPassbooks(ctx, im.tx, im.p, PermClaim, keys, im.tx.Now())
	im.books = make(map[passbookKey]found, len(keys))
	for i, k := range keys {
		im.books[k] = books[i]
	}
	return err
}

// row checks one row and, while every row so far is good, files its claim, so that the cap
// warnings of later rows count the earlier ones. Only unexpected failures are errors.
func (im *batchImport) row(ctx context.Context, row batchRow) error {
	var msgs []string
	found := im.books[passbookKey{row.number, row.idNumber}]
	b := found.Passbook
	if found.problem != "" {
		msgs = append(msgs, found.problem)
	}
	in, inputMsgs := rowInput(row)
	msgs = append(msgs, inputMsgs...)
	var it Item
	if b.ID != 0 {
		var err error
		it, err = claimItem(ctx, im.tx, b, "i.code = ?", row.code)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			msgs = append(msgs, fmt.Sprintf("事项编码 %s 不存在或不适用于该存折所在社区", row.code))
		case err != nil:
			return err
		case len(msgs) == 0:
			in.PassbookID, in.ItemID = b.ID, it.ID
			msgs = append(msgs, messages(admit(b, it, in, 0, store.LocalDate(im.tx.Now())))...)
		}
	}
	if len(msgs) > 0 {
		im.problems[row.n] = msgs
		return nil
	}
	if len(im.problems) > 0 {
		return nil // nothing will be written: only check the rest
	}
	c, err := insertClaim(ctx, im.tx, im.p.Actor(), b, it, in, SourceBatch)
	im.ids, im.paths = append(im.ids, c.ID), append(im.paths, b.orgPath)
	return err
}

// rowInput reads the date, quantity and note of a row.
func rowInput(row batchRow) (ClaimInput, []string) {
	var in ClaimInput
	var msgs []string
	if d, ok := xlsx.Date(row.date); ok {
		in.WorkDate = d
	} else {
		msgs = append(msgs, "日期有误，应为 2026-03-08 这样的日期")
	}
	q, err := strconv.ParseInt(row.quantity, 10, 64)
	if err != nil {
		msgs = append(msgs, "数量应为正整数")
	} else if err := checkQuantity(q); err != nil {
		msgs = append(msgs, errs.As(err).Message)
	}
	in.Quantity, in.Note = q, row.note
	if len([]rune(row.note)) > maxNote {
		msgs = append(msgs, fmt.Sprintf("备注不能超过%d个字", maxNote))
	}
	return in, msgs
}

func queryPassbooks(ctx context.Context, q querier, query string, args ...any) ([]Passbook, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Passbook
	for rows.Next() {
		b, err := scanPassbook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// messages lists the user-facing messages of a service error, several when it joins several.
func messages(err error) []string {
	if err == nil {
		return nil
	}
	problems := []error{err}
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		problems = multi.Unwrap()
	}
	out := make([]string, len(problems))
	for i, e := range problems {
		out[i] = errs.As(e).Message
	}
	return out
}

// refuse builds the result of a batch with bad rows: the problems and the error report.
func (im *batchImport) refuse(f *xlsx.File) (BatchResult, error) {
	res := BatchResult{Problems: make(map[int]string, len(im.problems))}
	for n, msgs := range im.problems {
		res.Problems[n] = strings.Join(msgs, "；")
	}
	var buf bytes.Buffer
	if err := f.WriteReport(&buf, res.Problems); err != nil {
		return BatchResult{}, err
	}
	res.Report = buf.Bytes()
	return res, errs.Invalid(xlsx.Field, "共 %d 行有误，未录入任何申报，请按错误说明修改后重新上传", len(res.Problems))
}
