package xlsx

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestReportRoundTrip(t *testing.T) {
	upload := book(t, [][]any{
		{"某社区党员花名册"},
		{"姓名", "身份证号", "手机号", "备注"},
		{"张三", "53252819500101001X", "13812345678"},
		{"李四", "530102199001011230", "1381234567", "退休"},
		nil,
		{"王五", 5.3252819500101e17, ""},
		{"赵六", "530102199001015678", "", "", "表头外的格子"},
	}, func(f *excelize.File, s string) { f.MergeCell(s, "A1", "D1") })
	f := open(t, upload)
	originals := map[int]Row{}
	if err := f.ReadRows("", people, func(r Row) error { originals[r.Number] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	problems := map[int]string{
		4: "身份证号校验位错误；手机号应为11位",
		6: "身份证号被 Excel 转成了数字，请将该列设为文本后重新输入",
	}
	var buf bytes.Buffer
	if err := f.WriteReport(&buf, problems); err != nil {
		t.Fatal(err)
	}

	// The report reads back through the same reader, row numbers and values unchanged.
	report := open(t, buf.Bytes())
	cols := append(people[:len(people):len(people)], Column{Header: ReportColumn})
	got := map[int]Row{}
	if err := report.ReadRows("", cols, func(r Row) error { got[r.Number] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(originals) {
		t.Fatalf("report has %d rows, upload %d", len(got), len(originals))
	}
	for n, o := range originals {
		r := got[n]
		for _, c := range people {
			if r.Get(c.Header) != o.Get(c.Header) {
				t.Errorf("row %d %s = %q, upload had %q", n, c.Header, r.Get(c.Header), o.Get(c.Header))
			}
		}
		if msg := r.Get(ReportColumn); msg != problems[n] {
			t.Errorf("row %d 错误说明 = %q, want %q", n, msg, problems[n])
		}
	}

	x, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	// 错误说明 comes after the widest row, so no cell of the upload is overwritten.
	if v, _ := x.GetCellValue("Sheet1", "F2"); v != ReportColumn {
		t.Errorf("F2 = %q, want the 错误说明 header", v)
	}
	if v, _ := x.GetCellValue("Sheet1", "E7"); v != "表头外的格子" {
		t.Errorf("E7 = %q, cell beyond the header lost", v)
	}
	if m, _ := x.GetMergeCells("Sheet1"); len(m) != 1 || m[0].GetStartAxis() != "A1" || m[0].GetEndAxis() != "D1" {
		t.Errorf("title merge not kept: %v", m)
	}
	for cell, red := range map[string]bool{"A4": true, "C4": true, "F4": true, "A6": true, "A3": false, "A7": false} {
		if got := fill(t, x, cell); (got == "FFC7CE") != red {
			t.Errorf("%s fill = %q, red %v", cell, got, red)
		}
	}
}

func fill(t *testing.T, x *excelize.File, cell string) string {
	id, err := x.GetCellStyle("Sheet1", cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := x.GetStyle(id)
	if err != nil || len(st.Fill.Color) == 0 {
		return ""
	}
	return st.Fill.Color[0]
}

func TestReportManyBadRows(t *testing.T) {
	const n = 10000
	var buf bytes.Buffer
	w, err := NewWriter(&buf, "党员", people)
	if err != nil {
		t.Fatal(err)
	}
	problems := map[int]string{}
	for i := range n {
		if err := w.WriteRow(fmt.Sprintf("党员%05d", i), "53252819500101001X", "13812345678", "1950-01-01", "男"); err != nil {
			t.Fatal(err)
		}
		problems[i+2] = fmt.Sprintf("第%d行：身份证号重复", i+2)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := open(t, buf.Bytes())
	if err := f.ReadRows("", people, func(Row) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := f.WriteReport(&out, problems); err != nil {
		t.Fatal(err)
	}
	cols := append(people[:len(people):len(people)], Column{Header: ReportColumn})
	seen := 0
	err = open(t, out.Bytes()).ReadRows("", cols, func(r Row) error {
		if r.Get(ReportColumn) != problems[r.Number] || r.Get("姓名") != fmt.Sprintf("党员%05d", r.Number-2) {
			return fmt.Errorf("row %d: %q / %q", r.Number, r.Get("姓名"), r.Get(ReportColumn))
		}
		seen++
		return nil
	})
	if err != nil || seen != n {
		t.Fatalf("read back %d rows: %v", seen, err)
	}
}

func TestReportNeedsReadRows(t *testing.T) {
	f := open(t, book(t, [][]any{{"姓名", "身份证号"}, {"张三", "1"}}, nil))
	if err := f.WriteReport(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("WriteReport before ReadRows should fail")
	}
}
