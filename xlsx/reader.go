package xlsx

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"grassroots/errs"
)

// headerSearch is how many non-blank rows may come before the header row: rosters usually start
// with a merged title line such as "某某社区党员花名册", which is allowed above the header.
const headerSearch = 10

// unzipRatio bounds the unpacked size of an upload relative to its size limit, so a small file
// that unpacks to gigabytes (a zip bomb) is refused before anything is unpacked. Real sheets
// compress 5 to 15 times (a 100,000-row export: 13).
const unzipRatio = 40

// File is an opened upload. Close it to remove the temporary files excelize may have made.
type File struct {
	x      *excelize.File
	zip    *zip.Reader
	sheets []string

	// Set by ReadRows for WriteReport: which sheet was read, where its header is and the merged
	// ranges above the header (titles), which the report copies.
	sheet  string
	header int
	titles []span
}

// Open reads an uploaded .xlsx of at most maxBytes. Uploads that are too large, are not .xlsx
// (old .xls, CSV, Word …), are encrypted or corrupt are refused with a message for the user.
func Open(r io.Reader, maxBytes int64) (f *File, err error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("xlsx: read upload: %w", err)
	}
	switch {
	case int64(len(data)) > maxBytes:
		return nil, TooLarge(maxBytes)
	case len(data) == 0:
		return nil, errs.Invalid(Field, "上传的文件是空的")
	case bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		// The OLE container holds both old .xls workbooks and password-protected .xlsx ones.
		return nil, errs.Invalid(Field, "不支持旧版 .xls 或设置了密码的 Excel 文件，请在 Excel 中取消密码并“另存为” .xlsx 格式后上传")
	case !bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return nil, errs.Invalid(Field, "文件不是 Excel（.xlsx）格式，请使用下载的模板填写后上传")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, corrupt(err)
	}
	limit := max(maxBytes*unzipRatio, 64<<20)
	var unpacked uint64
	for _, zf := range zr.File {
		unpacked += zf.UncompressedSize64
	}
	if unpacked > uint64(limit) {
		return nil, errs.Invalid(Field, "文件内容过大，请拆分后分批上传")
	}
	defer func() { caught(recover(), &err) }()
	x, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:   limit,
		ShortDatePattern: "yyyy-mm-dd", // dates in the house format, whatever the author's locale
	})
	if err != nil {
		if x != nil {
			_ = x.Close()
		}
		return nil, corrupt(err)
	}
	f = &File{x: x, zip: zr, sheets: x.GetSheetList()}
	if len(f.sheets) == 0 {
		_ = x.Close()
		return nil, errs.Invalid(Field, "文件不是 Excel（.xlsx）格式，请使用下载的模板填写后上传")
	}
	return f, nil
}

// Close releases the temporary files of a large upload.
func (f *File) Close() error { return f.x.Close() }

// Sheets lists the sheet names in workbook order.
func (f *File) Sheets() []string { return slices.Clone(f.sheets) }

// Row is one non-blank data row. It stays valid after the callback returns, so an
// all-or-nothing import may keep its rows until every one has been checked.
type Row struct {
	Number int // the row number Excel shows, for messages such as "第12行：身份证号有误"
	cells  []string
	index  map[string]int
}

// Get returns the trimmed text of the cell under header, which must be the Header of one of the
// columns given to ReadRows; it is "" when the cell is empty or the optional column is absent.
//
// The text is what Excel displays, with dates in YYYY-MM-DD where the cell has Excel's standard
// date format. A number keeps its digits up to 15 significant ones (13800000000 reads as
// "13800000000"); longer identifiers typed as numbers have already lost digits inside Excel and
// read as Excel shows them, e.g. "5.3252819500101E+17": see Scientific.
func (r Row) Get(header string) string {
	if i, ok := r.index[header]; ok && i < len(r.cells) {
		return r.cells[i]
	}
	return ""
}

// ReadRows streams the data rows of sheet ("" for the first sheet) to fn, in order, skipping
// blank rows. Before the first row it finds the header row (the first row naming any of the
// columns, within the first ten non-blank rows), maps headers to positions in any order and
// refuses the file when a required column is missing, a column appears twice, cells are merged
// at or below the header or there are no data rows. Columns not listed are ignored. An error
// returned by fn stops the reading and is returned as is.
func (f *File) ReadRows(sheet string, columns []Column, fn func(Row) error) (err error) {
	if sheet == "" {
		sheet = f.sheets[0]
	} else if !slices.Contains(f.sheets, sheet) {
		return errs.Invalid(Field, "文件中没有名为“%s”的工作表", sheet)
	}
	inFn := false // a panic in fn is the caller's bug, not a broken file: let it through
	defer func() {
		if !inFn {
			caught(recover(), &err)
		}
	}()
	rows, err := f.x.Rows(sheet)
	if err != nil {
		return corrupt(err)
	}
	defer rows.Close()

	n, seen, headerRow := 0, 0, 0
	var header []string
	for headerRow == 0 && seen < headerSearch && rows.Next() {
		n++
		cells, err := rows.Columns()
		if err != nil {
			return corrupt(err)
		}
		if blank(cells) {
			continue
		}
		seen++
		if names(cells, columns) {
			header, headerRow = cells, n
		}
	}
	if err := rows.Error(); err != nil {
		return corrupt(err)
	}
	if seen == 0 {
		return empty()
	}
	index, err := mapHeader(header, columns)
	if err != nil {
		return err
	}
	merges, err := f.merges(sheet)
	if err != nil {
		return err
	}
	var titles []span
	for _, m := range merges {
		if m.bottom >= headerRow {
			return errs.Invalid(Field, "第%d行存在合并单元格 %s，请取消合并后重新上传", m.top, m.ref)
		}
		titles = append(titles, m)
	}
	f.sheet, f.header, f.titles = sheet, headerRow, titles

	count := 0
	for rows.Next() {
		n++
		cells, err := rows.Columns()
		if err != nil {
			return corrupt(err)
		}
		if blank(cells) {
			continue
		}
		count++
		inFn = true
		if err := fn(Row{Number: n, cells: cells, index: index}); err != nil {
			return err
		}
		inFn = false
	}
	if err := rows.Error(); err != nil {
		return corrupt(err)
	}
	if count == 0 {
		return empty()
	}
	return nil
}

// blank trims the cells in place and reports whether all of them are empty.
func blank(cells []string) bool {
	empty := true
	for i, c := range cells {
		cells[i] = trim(c)
		empty = empty && cells[i] == ""
	}
	return empty
}

// names reports whether the row names any of the columns, which makes it the header row.
func names(cells []string, columns []Column) bool {
	for _, c := range cells {
		if c != "" && slices.ContainsFunc(columns, func(col Column) bool { return normHeader(col.Header) == normHeader(c) }) {
			return true
		}
	}
	return false
}

// mapHeader maps each column's Header to its position in the header row.
func mapHeader(header []string, columns []Column) (map[string]int, error) {
	at := make(map[string]int, len(header))
	for i, h := range header {
		h = normHeader(h)
		if h == "" {
			continue
		}
		if _, dup := at[h]; dup {
			for _, c := range columns {
				if normHeader(c.Header) == h {
					return nil, errs.Invalid(Field, "表头“%s”出现了不止一次，请删除多余的列后重新上传", c.Header)
				}
			}
		}
		at[h] = i
	}
	index := make(map[string]int, len(columns))
	var missing, all []string
	for _, c := range columns {
		if i, ok := at[normHeader(c.Header)]; ok {
			index[c.Header] = i
			continue
		}
		all = append(all, c.Header)
		if c.Required {
			missing = append(missing, c.Header)
		}
	}
	if len(index) == 0 && len(missing) == 0 {
		missing = all // no header row at all: name every column the template has
	}
	if len(missing) > 0 {
		return nil, errs.Invalid(Field, "缺少列：%s", strings.Join(missing, "、"))
	}
	return index, nil
}

func empty() error { return errs.Invalid(Field, "表格中没有数据") }

func corrupt(cause error) error {
	e := errs.Invalid(Field, "文件已损坏或不是有效的 Excel（.xlsx）文件，请用 Excel 重新保存后上传")
	e.Cause = cause
	return e
}

// caught turns a panic inside excelize on a malformed upload into a refusal: an upload is
// untrusted input and must never take a background import or the server down. Use it as
// defer func() { caught(recover(), &err) }().
func caught(p any, err *error) {
	if p != nil {
		*err = corrupt(fmt.Errorf("xlsx: panic reading workbook: %v", p))
	}
}

// TooLarge refuses an upload of more than maxBytes.
func TooLarge(maxBytes int64) error {
	return errs.Invalid(Field, "文件超过 %s 的大小上限，请拆分后分批上传", size(maxBytes))
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d 字节", n)
}
