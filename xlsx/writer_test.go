package xlsx

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite testdata/roster.xlsx")

var template = []Column{
	{Header: "编号", Text: true},
	{Header: "姓名", Required: true, Note: "与身份证上的姓名一致"},
	{Header: "身份证号", Required: true, Text: true, Note: "18位，末位 X 大写"},
	{Header: "手机号", Text: true},
	{Header: "性别", Allowed: []string{"男", "女"}},
	{Header: "积分"},
}

func write(t testing.TB, sheet string, cols []Column, rows ...[]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, sheet, cols)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.WriteRow(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriterRoundTrip(t *testing.T) {
	data := write(t, "党员", template,
		[]any{"000123", "张三", "53252819500101001X", 13812345678, "男", 15},
		[]any{"007", "李四", "530102199001011234", "013800000000", "女", 2.5},
		[]any{nil, "王五", "530102199001015678"}, // fewer values than columns
	)
	rows, err := readAll(open(t, data), template)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"000123", "张三", "53252819500101001X", "13812345678", "男", "15"},
		{"007", "李四", "530102199001011234", "013800000000", "女", "2.5"},
		{"", "王五", "530102199001015678", "", "", ""},
	}
	for i, r := range rows {
		var got []string
		for _, c := range template {
			got = append(got, r.Get(c.Header))
		}
		if !slices.Equal(got, want[i]) || r.Number != i+2 {
			t.Errorf("row %d = %q, want row %d = %q", r.Number, got, i+2, want[i])
		}
	}

	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetList(); !slices.Equal(got, []string{"党员", InstructionsSheet}) {
		t.Fatalf("sheets = %q", got)
	}
	// Text columns hold text even when given a number; numeric columns hold numbers.
	for cell, want := range map[string]excelize.CellType{
		"A2": excelize.CellTypeInlineString, "D2": excelize.CellTypeInlineString,
		"F2": excelize.CellTypeUnset, // a plain number cell has no type attribute
	} {
		if got, _ := x.GetCellType("党员", cell); got != want {
			t.Errorf("%s type = %v, want %v", cell, got, want)
		}
	}
	// The empty cells users fill in later are text too.
	if s, _ := x.GetColStyle("党员", "C"); numFmt(t, x, s) != 49 {
		t.Error("身份证号 column is not formatted as text")
	}
	if s, _ := x.GetColStyle("党员", "F"); numFmt(t, x, s) == 49 {
		t.Error("积分 column should not be text")
	}
	head, _ := x.GetCellStyle("党员", "C1")
	if st, _ := x.GetStyle(head); st.Font == nil || !st.Font.Bold || st.Font.Color != "C00000" {
		t.Errorf("required header style = %+v", st.Font)
	}
	if p, _ := x.GetPanes("党员"); !p.Freeze || p.YSplit != 1 {
		t.Errorf("panes = %+v, want header frozen", p)
	}
	if w, _ := x.GetColWidth("党员", "C"); w != 22 {
		t.Errorf("id column width = %v", w)
	}
	dvs, err := x.GetDataValidations("党员")
	if err != nil {
		t.Fatal(err)
	}
	var drop, prompt bool
	for _, dv := range dvs {
		drop = drop || dv.Sqref == "E2:E1048576" && dv.Formula1 == `"男,女"`
		prompt = prompt || dv.Sqref == "C2:C1048576" && dv.Prompt != nil && *dv.Prompt == "18位，末位 X 大写"
	}
	if !drop || !prompt {
		t.Errorf("validations: dropdown %v, prompt %v", drop, prompt)
	}
	help, _ := x.GetRows(InstructionsSheet)
	if len(help) < 6 || !slices.Equal(help[3], []string{"身份证号", "必填", "", "18位，末位 X 大写"}) ||
		!slices.Equal(help[5], []string{"性别", "选填", "男、女"}) {
		t.Errorf("instructions = %q", help)
	}
}

func numFmt(t *testing.T, x *excelize.File, style int) int {
	st, err := x.GetStyle(style)
	if err != nil {
		t.Fatal(err)
	}
	return st.NumFmt
}

// An export with plain columns gets no instructions sheet; mistakes in use are Go errors.
func TestWriterPlainExport(t *testing.T) {
	data := write(t, "", []Column{{Header: "组织"}, {Header: "人数"}}, []any{"某社区党委", 120})
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetList(); !slices.Equal(got, []string{"Sheet1"}) {
		t.Errorf("sheets = %q", got)
	}
	w, _ := NewWriter(&bytes.Buffer{}, "x", []Column{{Header: "a"}})
	if err := w.WriteRow(1, 2); err == nil {
		t.Error("WriteRow accepted more values than columns")
	}
	if _, err := NewWriter(&bytes.Buffer{}, "x", nil); err == nil {
		t.Error("NewWriter accepted no columns")
	}
}

// Long allowed lists exceed Excel's 255-character list limit: no dropdown, still in 说明.
func TestWriterLongAllowedList(t *testing.T) {
	var many []string
	for i := range 60 {
		many = append(many, "某某社区第"+string(rune('一'+i))+"党支部")
	}
	data := write(t, "s", []Column{{Header: "所在支部", Allowed: many}}, []any{many[0]})
	x, _ := excelize.OpenReader(bytes.NewReader(data))
	defer x.Close()
	if dvs, _ := x.GetDataValidations("s"); len(dvs) != 0 {
		t.Errorf("got %d validations, want none", len(dvs))
	}
	if help, _ := x.GetRows(InstructionsSheet); len(help) < 2 || len(help[1]) < 3 || len(help[1][2]) < 500 {
		t.Errorf("allowed values missing from instructions: %q", help)
	}
}

// TestWriterFixture keeps testdata/roster.xlsx, a template with three people written by the
// Writer; go test -run TestWriterFixture -update rewrites it.
func TestWriterFixture(t *testing.T) {
	path := filepath.Join("testdata", "roster.xlsx")
	if !*update {
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
		return
	}
	data := write(t, "党员", people,
		[]any{"张三", "53252819500101001X", "13812345678", "1950-01-01", "男"},
		[]any{"李四", "530102199001011234", "", "1990-01-01", "女"},
		[]any{"王五", "530102199001015678", "013800000000", "", "男"},
	)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
