package xlsx

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"grassroots/errs"
)

// InstructionsSheet is the name of the sheet that explains the columns of a template.
const InstructionsSheet = "说明"

// Writer streams one sheet of rows to an .xlsx file. Rows go to a temporary file once they pass
// excelize's in-memory chunk, so an export of any size needs little memory.
type Writer struct {
	out  io.Writer
	f    *excelize.File
	sw   *excelize.StreamWriter
	cols []Column
	row  int // last row written
	cell []any
	done bool
}

// NewWriter starts a workbook whose first sheet is named sheet and has columns as its header
// row: bold, frozen, required headers in red, text columns formatted as text (also for the empty
// cells people fill in later), a dropdown for columns with allowed values and the column note as
// the cell prompt. When any column is required, has a note or allowed values, a second sheet
// "说明" explains each column. Call WriteRow for each data row and Close to write the file to w.
func NewWriter(w io.Writer, sheet string, columns []Column) (*Writer, error) {
	if len(columns) == 0 {
		return nil, errors.New("xlsx: writer needs at least one column")
	}
	if sheet == "" {
		sheet = "Sheet1"
	}
	f := excelize.NewFile()
	xw := &Writer{out: w, f: f, cols: columns, cell: make([]any, len(columns))}
	if err := xw.start(sheet); err != nil {
		_ = f.Close()
		return nil, err
	}
	return xw, nil
}

func (w *Writer) start(sheet string) error {
	f := w.f
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return fmt.Errorf("xlsx: sheet name %q: %w", sheet, err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	w.sw = sw
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	head, err := headerStyle(f, "000000")
	if err != nil {
		return err
	}
	required, err := headerStyle(f, "C00000")
	if err != nil {
		return err
	}
	header := make([]any, len(w.cols))
	for i, c := range w.cols {
		n := i + 1
		width := c.Width
		if width <= 0 {
			width = autoWidth(c)
		}
		if err := sw.SetColWidth(n, n, width); err != nil {
			return err
		}
		if c.Text {
			// A column style makes the cells a user types into later text as well, so Excel
			// never turns 53252819500101001X or 13800000000 into a number.
			if err := sw.SetColStyle(n, n, text); err != nil {
				return err
			}
		}
		style := head
		if c.Required {
			style = required
		}
		header[i] = excelize.Cell{StyleID: style, Value: c.Header}
		if err := w.validation(sheet, n, c); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	w.row = 1
	return sw.SetRow("A1", header, excelize.RowOpts{Height: 24})
}

func headerStyle(f *excelize.File, color string) (int, error) {
	border := []excelize.Border{
		{Type: "left", Color: "BFBFBF", Style: 1}, {Type: "right", Color: "BFBFBF", Style: 1},
		{Type: "top", Color: "BFBFBF", Style: 1}, {Type: "bottom", Color: "BFBFBF", Style: 1},
	}
	return f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Color: color},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7E6E6"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
		Border:    border,
		NumFmt:    49,
	})
}

// autoWidth sizes a column to its header, counting a Chinese character as two, and leaves room
// for an 18-character id in text columns.
func autoWidth(c Column) float64 {
	w := 0
	for _, r := range c.Header {
		w++
		if r >= 0x2E80 {
			w++
		}
	}
	width := float64(w + 4)
	if c.Text {
		width = max(width, 22)
	}
	return max(width, 10)
}

// validation adds the dropdown and the prompt of one column. Excel limits a typed-in list to
// 255 characters; a longer list gets no dropdown and stays on the instructions sheet, and the
// import checks the values anyway.
func (w *Writer) validation(sheet string, n int, c Column) error {
	if len(c.Allowed) == 0 && c.Note == "" {
		return nil
	}
	name, err := excelize.ColumnNumberToName(n)
	if err != nil {
		return err
	}
	dv := excelize.NewDataValidation(true)
	dv.Sqref = fmt.Sprintf("%s2:%s%d", name, name, excelize.TotalRows)
	if len(c.Allowed) > 0 {
		if err := dv.SetDropList(c.Allowed); err == nil {
			dv.SetError(excelize.DataValidationErrorStyleStop, clip(c.Header, 32), "请从下拉列表中选择")
		} else if !errors.Is(err, excelize.ErrDataValidationFormulaLength) {
			return err
		}
	}
	if c.Note != "" {
		dv.SetInput(clip(c.Header, 32), clip(c.Note, 255))
	}
	if dv.Type == "" && c.Note == "" {
		return nil
	}
	// The stream writer writes the worksheet's validations when it flushes.
	return w.f.AddDataValidation(sheet, dv)
}

// clip cuts s to n characters, the limits Excel puts on prompt titles and texts.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// WriteRow appends one row; values line up with the columns and may be fewer. Values in text
// columns are written as text whatever their Go type; elsewhere numbers stay numbers.
func (w *Writer) WriteRow(values ...any) error {
	if w.done {
		return errors.New("xlsx: WriteRow after Close")
	}
	if len(values) > len(w.cols) {
		return fmt.Errorf("xlsx: row has %d values for %d columns", len(values), len(w.cols))
	}
	if w.row >= excelize.TotalRows {
		return errs.Invalid("", "数据超过 Excel 单个工作表的行数上限（%d 行），请缩小范围后分批导出", excelize.TotalRows)
	}
	clear(w.cell)
	for i, v := range values {
		switch {
		case v == nil || v == "":
		case w.cols[i].Text:
			w.cell[i] = toText(v)
		default:
			w.cell[i] = v
		}
	}
	w.row++
	return w.sw.SetRow("A"+strconv.Itoa(w.row), w.cell)
}

func toText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	default:
		return fmt.Sprint(v)
	}
}

// Close finishes the sheet, adds the instructions sheet and writes the workbook to w.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.f.Close()
	if err := w.sw.Flush(); err != nil {
		return err
	}
	if err := w.instructions(); err != nil {
		return err
	}
	return w.f.Write(w.out)
}

// instructions writes the "说明" sheet, so people who never hover over a header still learn
// which columns are required and what may go in them.
func (w *Writer) instructions() error {
	needed := false
	for _, c := range w.cols {
		needed = needed || c.Required || c.Note != "" || len(c.Allowed) > 0
	}
	if !needed {
		return nil
	}
	f, s := w.f, InstructionsSheet
	if _, err := f.NewSheet(s); err != nil {
		return err
	}
	head, err := headerStyle(f, "000000")
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return err
	}
	rows := [][]any{{"列名", "是否必填", "可选值", "填写说明"}}
	for _, c := range w.cols {
		req := "选填"
		if c.Required {
			req = "必填"
		}
		rows = append(rows, []any{c.Header, req, strings.Join(c.Allowed, "、"), c.Note})
	}
	rows = append(rows, nil,
		[]any{"注意事项"},
		[]any{"1. 请在第一个工作表中填写，表头（第一行）请勿修改；红色表头的列为必填项。"},
		[]any{"2. 请勿合并单元格；空行会被忽略。"},
		[]any{"3. 身份证号、手机号等列已设为文本格式，请直接输入，不要改为数字格式，否则 Excel 会丢失末尾数字。"},
	)
	for i, r := range rows {
		if err := f.SetSheetRow(s, "A"+strconv.Itoa(i+1), &r); err != nil {
			return err
		}
	}
	last := strconv.Itoa(len(w.cols) + 1)
	for _, set := range []func() error{
		func() error { return f.SetCellStyle(s, "A1", "D1", head) },
		func() error { return f.SetCellStyle(s, "A2", "D"+last, wrap) },
		func() error { return f.SetColWidth(s, "A", "A", 18) },
		func() error { return f.SetColWidth(s, "B", "B", 10) },
		func() error { return f.SetColWidth(s, "C", "C", 30) },
		func() error { return f.SetColWidth(s, "D", "D", 60) },
	} {
		if err := set(); err != nil {
			return err
		}
	}
	return nil
}
