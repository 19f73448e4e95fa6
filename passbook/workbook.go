package passbook

import (
	"bytes"

	"github.com/xuri/excelize/v2"
)

// The passbook's exports are tables people print and file: a commendation list under the rule
// that made it, a statement under the passbook it belongs to. xlsx.Writer puts its header in
// the first row for templates that are imported again, so these sheets are written here with a
// title row above the header.

// sheetColumn is one column of an exported table.
type sheetColumn struct {
	header string
	width  float64
	yuan   bool // an amount in fen, shown in yuan
}

// titledSheet streams one table under a merged title row into a workbook.
type titledSheet struct {
	f    *excelize.File
	sw   *excelize.StreamWriter
	cols []sheetColumn
	row  int
	yuan int // style of amounts
	cell []any
}

// newTitledSheet starts a workbook whose only sheet is name: title in row 1 across every
// column, the headers in row 2, frozen.
func newTitledSheet(name, title string, cols []sheetColumn) (*titledSheet, error) {
	f := excelize.NewFile()
	s := &titledSheet{f: f, cols: cols, cell: make([]any, len(cols))}
	if err := s.start(name, title); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *titledSheet) start(name, title string) error {
	if err := s.f.SetSheetName("Sheet1", name); err != nil {
		return err
	}
	sw, err := s.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	s.sw = sw
	titleStyle, err := s.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 13},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}})
	if err != nil {
		return err
	}
	headStyle, err := s.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7E6E6"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}})
	if err != nil {
		return err
	}
	if s.yuan, err = s.f.NewStyle(&excelize.Style{NumFmt: 4}); err != nil { // #,##0.00
		return err
	}
	header := make([]any, len(s.cols))
	for i, c := range s.cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
		header[i] = excelize.Cell{StyleID: headStyle, Value: c.header}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 2, TopLeftCell: "A3", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A3", ActiveCell: "A3", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	last, err := excelize.CoordinatesToCellName(len(s.cols), 1)
	if err != nil {
		return err
	}
	if err := sw.MergeCell("A1", last); err != nil {
		return err
	}
	if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: titleStyle, Value: title}}, excelize.RowOpts{Height: 36}); err != nil {
		return err
	}
	s.row = 2
	return sw.SetRow("A2", header, excelize.RowOpts{Height: 22})
}

// add appends a row; values line up with the columns. Amount columns take int64 fen; nil or ""
// leaves a cell empty.
func (s *titledSheet) add(values ...any) error {
	clear(s.cell)
	for i, v := range values {
		fen, isFen := v.(int64)
		switch {
		case v == nil || v == "":
		case s.cols[i].yuan && isFen:
			s.cell[i] = excelize.Cell{StyleID: s.yuan, Value: excelYuan(fen)}
		default:
			s.cell[i] = v
		}
	}
	s.row++
	cell, err := excelize.CoordinatesToCellName(1, s.row)
	if err != nil {
		return err
	}
	return s.sw.SetRow(cell, s.cell)
}

// excelYuan is an amount as the number a spreadsheet holds. Excel keeps every number as a
// binary double, so a yuan figure has to become one here; fen/100 is the correctly rounded
// double nearest the exact amount, the same one Excel stores when someone types it. Nothing
// computes with it afterwards.
func excelYuan(fen int64) float64 { return float64(fen) / 100 }

// bytes finishes the workbook and returns the file.
func (s *titledSheet) bytes() ([]byte, error) {
	defer s.f.Close()
	if err := s.sw.Flush(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := s.f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// close releases a workbook abandoned before bytes.
func (s *titledSheet) close() { s.f.Close() }
