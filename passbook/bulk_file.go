package passbook

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"hash"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"grassroots/errs"
	"grassroots/xlsx"
)

// ApprovedFile is a sheet of claims approved outside the system, read for PostApproved: the
// batch template's columns, as .xlsx or, past what a sheet holds, as .csv. Rows are kept
// compact, since a county's migration holds a million of them: the passbook, item and date
// of each row are indexes into the distinct values seen.
type ApprovedFile struct {
	rows     []approvedRow
	keys     []passbookKey
	codes    []string
	dates    []string
	problems map[int][]string // by row number, found while reading
	digest   hash.Hash        // of the rows as read, so that the same records are not posted twice

	sheet *xlsx.File // the workbook, for the error report; nil for a CSV
}

// approvedRow is one row of an ApprovedFile.
type approvedRow struct {
	line     int32
	key      int32 // into keys
	code     int32 // into codes
	date     int32 // into dates
	quantity int64
	note     string
}

// passbookKey is how a row names its passbook: by number, 身份证号, or both.
type passbookKey struct{ number, idNumber string }

// ReadApproved reads an uploaded file of approved claims of at most maxBytes; name's extension
// says whether it is .xlsx or .csv. A file that cannot be read at all is refused; rows with
// problems of their own (a quantity that is not a number …) are kept for PostApproved to
// report with the others.
func ReadApproved(r io.Reader, name string, maxBytes int64) (*ApprovedFile, error) {
	f := &ApprovedFile{problems: map[int][]string{}, digest: sha256.New()}
	in := interner{keys: map[passbookKey]int32{}, codes: map[string]int32{}, dates: map[string]int32{}}
	add := func(row xlsx.Row) error {
		f.rows = append(f.rows, in.row(f, row))
		return nil
	}
	columns := batchColumns(nil, "")
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		// Read one byte past the limit to tell a file that ends there from one cut short,
		// whose last row would otherwise be read as if whole (a quantity of 12 as 1).
		body := &io.LimitedReader{R: r, N: maxBytes + 1}
		err := xlsx.ReadCSV(body, columns, add)
		if body.N <= 0 {
			return nil, xlsx.TooLarge(maxBytes)
		}
		if err != nil {
			return nil, err
		}
	case ".xlsx":
		sheet, err := xlsx.Open(r, maxBytes)
		if err != nil {
			return nil, err
		}
		f.sheet = sheet
		if err := sheet.ReadRows("", columns, add); err != nil {
			sheet.Close()
			return nil, err
		}
	default:
		return nil, errs.Invalid(xlsx.Field, "请上传 Excel（.xlsx）或 CSV（.csv）文件")
	}
	f.keys, f.codes, f.dates = byIndex(in.keys), byIndex(in.codes), byIndex(in.dates)
	return f, nil
}

// Close releases the workbook's temporary files.
func (f *ApprovedFile) Close() error {
	if f.sheet == nil {
		return nil
	}
	return f.sheet.Close()
}

// key is the idempotency key of the file's records: the same rows, however the file was saved,
// make the same key.
func (f *ApprovedFile) key() IdempotencyKey {
	return IdempotencyKey("approved-file:" + hex.EncodeToString(f.digest.Sum(nil)))
}

// Rows is how many data rows the file has.
func (f *ApprovedFile) Rows() int { return len(f.rows) }

func (f *ApprovedFile) problem(line int32, msg string) {
	f.problems[int(line)] = append(f.problems[int(line)], msg)
}

// report is the error report for the user: the workbook with a 错误说明 column for a sheet, a
// CSV of the bad rows' numbers and problems for a CSV.
func (f *ApprovedFile) report(problems map[int]string) ([]byte, error) {
	var buf bytes.Buffer
	if f.sheet != nil {
		err := f.sheet.WriteReport(&buf, problems)
		return buf.Bytes(), err
	}
	buf.WriteString("\ufeff") // Excel opens a UTF-8 CSV correctly only with the mark
	w := csv.NewWriter(&buf)
	w.Write([]string{"行号", xlsx.ReportColumn})
	for _, n := range slices.Sorted(maps.Keys(problems)) {
		w.Write([]string{strconv.Itoa(n), problems[n]})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// interner gives each distinct passbook, code and date of a file one index.
type interner struct {
	keys         map[passbookKey]int32
	codes, dates map[string]int32
}

func (in *interner) row(f *ApprovedFile, r xlsx.Row) approvedRow {
	for _, col := range []string{colNumber, colIDNumber, colCode, colDate, colQuantity, colNote} {
		f.digest.Write([]byte(r.Get(col)))
		f.digest.Write([]byte{0x1f})
	}
	f.digest.Write([]byte{0x1e})
	claim, msgs := rowInput(batchRow{n: r.Number, date: r.Get(colDate), quantity: r.Get(colQuantity), note: r.Get(colNote)})
	line := int32(r.Number)
	for _, msg := range msgs {
		f.problem(line, msg)
	}
	return approvedRow{line: line, quantity: claim.Quantity, note: claim.Note,
		key:  intern(in.keys, passbookKey{r.Get(colNumber), r.Get(colIDNumber)}),
		code: intern(in.codes, strings.ToUpper(r.Get(colCode))),
		date: intern(in.dates, claim.WorkDate)}
}

func intern[K comparable](m map[K]int32, k K) int32 {
	if i, ok := m[k]; ok {
		return i
	}
	i := int32(len(m))
	m[k] = i
	return i
}

// byIndex lists interned values in the order of their indexes.
func byIndex[K comparable](m map[K]int32) []K {
	out := make([]K, len(m))
	for k, i := range m {
		out[i] = k
	}
	return out
}
