package xlsx

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"unicode/utf8"

	"grassroots/errs"
)

// ReadCSV streams the data rows of a CSV file to fn, with the header rules of ReadRows: the
// header row is found within the first non-blank rows, columns map by header in any order,
// a required column that is missing refuses the file, blank rows are skipped. Row.Number is the
// line's record number, counting the header, as a spreadsheet program shows it. A CSV is how
// systems hand over more rows than a sheet holds; Excel's "CSV UTF-8" (with its byte-order
// mark) reads as is, and a file in another encoding is refused with a message saying what to do.
func ReadCSV(r io.Reader, columns []Column, fn func(Row) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	n, seen, count := 0, 0, 0
	var index map[string]int
	for {
		cells, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		n++
		if err != nil {
			return errs.Invalid(Field, "CSV 文件第%d行格式有误（%v），请用 Excel 重新保存为“CSV UTF-8”后上传", n, csvReason(err))
		}
		if err := checkUTF8(cells, n); err != nil {
			return err
		}
		if blank(cells) {
			continue
		}
		if index == nil {
			if seen++; seen > headerSearch {
				break
			}
			if names(cells, columns) {
				if index, err = mapHeader(cells, columns); err != nil {
					return err
				}
			}
			continue
		}
		count++
		if err := fn(Row{Number: n, cells: cells, index: index}); err != nil {
			return err
		}
	}
	switch {
	case seen == 0 || (index != nil && count == 0):
		return empty()
	case index == nil:
		_, err := mapHeader(nil, columns)
		return err
	}
	return nil
}

func checkUTF8(cells []string, n int) error {
	for _, c := range cells {
		if !utf8.ValidString(c) {
			return errs.Invalid(Field, "CSV 文件第%d行不是 UTF-8 编码：请在 Excel 中“另存为”选择“CSV UTF-8（逗号分隔）”后上传", n)
		}
	}
	return nil
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			return "引号不成对"
		}
	}
	return "无法解析"
}
