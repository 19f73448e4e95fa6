package xlsx

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// ReportColumn is the header of the column the error report adds.
const ReportColumn = "错误说明"

// WriteReport writes to w a copy of the sheet last read by ReadRows in which every row named in
// problems (by Excel row number, as in Row.Number) is filled red and carries its message in an
// extra last column "错误说明". Row numbers stay the same as in the upload, all cells are text so
// what the user types while fixing stays as typed, and the result reads back through ReadRows
// with the same values. Rows are streamed both ways, so 10,000 bad rows cost little memory.
func (f *File) WriteReport(w io.Writer, problems map[int]string) (err error) {
	if f.header == 0 {
		return errors.New("xlsx: WriteReport needs a ReadRows that found the header first")
	}
	defer func() { caught(recover(), &err) }()
	width, err := f.width()
	if err != nil {
		return err
	}
	out := excelize.NewFile()
	defer out.Close()
	if err := out.SetSheetName("Sheet1", f.sheet); err != nil {
		return err
	}
	sw, err := out.NewStreamWriter(f.sheet)
	if err != nil {
		return err
	}
	st, err := reportStyles(out)
	if err != nil {
		return err
	}
	msgCol := width + 1
	if err := sw.SetColStyle(1, width, st.text); err != nil {
		return err
	}
	if err := sw.SetColWidth(1, width, 16); err != nil {
		return err
	}
	if err := sw.SetColWidth(msgCol, msgCol, 48); err != nil {
		return err
	}
	top := "A" + strconv.Itoa(f.header+1)
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: f.header, TopLeftCell: top, ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	for _, m := range f.titles {
		a, _ := excelize.CoordinatesToCellName(m.left, m.top)
		b, _ := excelize.CoordinatesToCellName(m.right, m.bottom)
		if err := sw.MergeCell(a, b); err != nil {
			return err
		}
	}

	rows, err := f.x.Rows(f.sheet)
	if err != nil {
		return corrupt(err)
	}
	defer rows.Close()
	line := make([]any, msgCol)
	for n := 1; rows.Next(); n++ {
		cells, err := rows.Columns()
		if err != nil {
			return corrupt(err)
		}
		clear(line)
		style, last := 0, len(cells)
		msg, bad := problems[n]
		switch {
		case n == f.header:
			style, last = st.head, width
			line[width] = excelize.Cell{StyleID: st.msgHead, Value: ReportColumn}
		case bad && n > f.header:
			style, last = st.bad, width
			line[width] = excelize.Cell{StyleID: st.msg, Value: msg}
		}
		if last == 0 || blankRow(cells) && style == 0 {
			continue
		}
		for i := range last {
			var v any
			if i < len(cells) && cells[i] != "" {
				v = cells[i]
			}
			if style != 0 {
				v = excelize.Cell{StyleID: style, Value: v}
			}
			line[i] = v
		}
		if err := sw.SetRow("A"+strconv.Itoa(n), line); err != nil {
			return fmt.Errorf("xlsx: report row %d: %w", n, err)
		}
	}
	if err := rows.Error(); err != nil {
		return corrupt(err)
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return out.Write(w)
}

// width is the number of columns the widest row of the sheet uses, so the message column comes
// after every cell, even those without a header.
func (f *File) width() (int, error) {
	rows, err := f.x.Rows(f.sheet)
	if err != nil {
		return 0, corrupt(err)
	}
	defer rows.Close()
	width := 1
	for rows.Next() {
		cells, err := rows.Columns()
		if err != nil {
			return 0, corrupt(err)
		}
		width = max(width, len(cells))
	}
	return width, rows.Error()
}

func blankRow(cells []string) bool {
	for _, c := range cells {
		if trim(c) != "" {
			return false
		}
	}
	return true
}

type reportStyle struct{ text, head, msgHead, bad, msg int }

func reportStyles(f *excelize.File) (st reportStyle, err error) {
	red := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFC7CE"}}
	for _, s := range []struct {
		id    *int
		style *excelize.Style
	}{
		{&st.text, &excelize.Style{NumFmt: 49}},
		{&st.bad, &excelize.Style{NumFmt: 49, Fill: red, Font: &excelize.Font{Color: "9C0006"}}},
		{&st.msg, &excelize.Style{NumFmt: 49, Fill: red, Font: &excelize.Font{Color: "9C0006", Bold: true},
			Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
	} {
		if *s.id, err = f.NewStyle(s.style); err != nil {
			return st, err
		}
	}
	if st.head, err = headerStyle(f, "000000"); err != nil {
		return st, err
	}
	st.msgHead, err = headerStyle(f, "C00000")
	return st, err
}
