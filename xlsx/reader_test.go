package xlsx

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

var people = []Column{
	{Header: "姓名", Required: true},
	{Header: "身份证号", Required: true, Text: true},
	{Header: "手机号", Text: true},
	{Header: "出生日期(公历)"},
	{Header: "性别", Allowed: []string{"男", "女"}},
}

func TestReadRowsHeaderAnyOrder(t *testing.T) {
	data := book(t, [][]any{
		{" 手机号 ", "备注", "身份证号", "*姓名", "出生日期（公历）"},
		{"13812345678", "老党员", "53252819500101001X", " 张三 ", "1950-01-01"},
		{"", "", "530102199001011234", "李四\u200b", ""},
	}, nil)
	rows, err := readAll(open(t, data), people)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2", len(rows))
	}
	for _, c := range []struct {
		row          int
		header, want string
	}{
		{0, "姓名", "张三"},
		{0, "身份证号", "53252819500101001X"},
		{0, "手机号", "13812345678"},
		{0, "出生日期(公历)", "1950-01-01"},
		{0, "性别", ""}, // optional column absent from the upload
		{0, "备注", ""}, // extra column ignored
		{1, "姓名", "李四"},
		{1, "手机号", ""},
	} {
		if got := rows[c.row].Get(c.header); got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row, c.header, got, c.want)
		}
	}
	if rows[0].Number != 2 || rows[1].Number != 3 {
		t.Errorf("row numbers %d, %d; want 2, 3", rows[0].Number, rows[1].Number)
	}
}

func TestReadRowsRefusesHeaders(t *testing.T) {
	for _, c := range []struct {
		name   string
		header []any
		want   string
	}{
		{"missing required", []any{"姓名", "手机号"}, "缺少列：身份证号"},
		{"missing two", []any{"手机号", "性别"}, "缺少列：姓名、身份证号"},
		{"no header at all", []any{"甲", "乙"}, "缺少列：姓名、身份证号"},
		{"duplicate", []any{"姓名", "身份证号", "姓 名"}, "表头“姓名”出现了不止一次，请删除多余的列后重新上传"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := book(t, [][]any{c.header, {"张三", "53252819500101001X", "x"}}, nil)
			called := false
			err := open(t, data).ReadRows("", people, func(Row) error { called = true; return nil })
			wantInvalid(t, err, c.want)
			if called {
				t.Error("rows were passed on before the header was refused")
			}
		})
	}
}

func TestReadRowsRefusesMergedCells(t *testing.T) {
	data := book(t, [][]any{
		{"红河州某社区党员花名册"},
		{"姓名", "身份证号", "手机号"},
		{"张三", "53252819500101001X", "13812345678"},
		{"李四", "530102199001011234", ""},
	}, func(f *excelize.File, s string) {
		// A merged title above the header is normal and allowed; a merge among the data is not.
		f.MergeCell(s, "A1", "C1")
		f.MergeCell(s, "B4", "C4")
	})
	err := open(t, data).ReadRows("", people, func(Row) error { return nil })
	wantInvalid(t, err, "第4行存在合并单元格 B4:C4，请取消合并后重新上传")

	// The same sheet without the data merge reads fine, starting under the title.
	data = book(t, [][]any{
		{"红河州某社区党员花名册"},
		{"姓名", "身份证号", "手机号"},
		{"张三", "53252819500101001X", "13812345678"},
	}, func(f *excelize.File, s string) { f.MergeCell(s, "A1", "C1") })
	rows, err := readAll(open(t, data), people)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Number != 3 || rows[0].Get("姓名") != "张三" {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestReadRowsMergedHeaderCell(t *testing.T) {
	data := book(t, [][]any{{"姓名", "身份证号", ""}, {"张三", "53252819500101001X"}},
		func(f *excelize.File, s string) { f.MergeCell(s, "B1", "C1") })
	err := open(t, data).ReadRows("", people, func(Row) error { return nil })
	wantInvalid(t, err, "第1行存在合并单元格 B1:C1，请取消合并后重新上传")
}

func TestReadRowsEmpty(t *testing.T) {
	for _, c := range []struct {
		name string
		rows [][]any
	}{
		{"no rows", nil},
		{"blank cells only", [][]any{{"", "  "}}},
		{"header only", [][]any{{"姓名", "身份证号"}}},
		{"header and blank rows", [][]any{{"姓名", "身份证号"}, {" ", ""}, nil, {"\u3000"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(open(t, book(t, c.rows, nil)), people)
			wantInvalid(t, err, "表格中没有数据")
		})
	}
}

func TestReadRowsSkipsBlankRows(t *testing.T) {
	data := book(t, [][]any{
		{"姓名", "身份证号"},
		{"张三", "53252819500101001X"},
		{"  ", ""},
		nil,
		{"李四", "530102199001011234"},
		nil, nil,
		{"", "", "", "有人在第三列写了字"},
	}, func(f *excelize.File, s string) {
		// A styled but empty row is still blank.
		style, _ := f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFFF00"}}})
		f.SetCellStyle(s, "A4", "C4", style)
	})
	rows, err := readAll(open(t, data), people)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range rows {
		got = append(got, r.Number)
	}
	if len(got) != 3 || got[0] != 2 || got[1] != 5 || got[2] != 8 {
		t.Fatalf("row numbers = %v, want [2 5 8]", got)
	}
}

// Identifiers typed into number cells: up to 15 digits survive and read back as typed; longer
// ones read back as Excel shows them, in scientific notation, which Scientific detects.
func TestReadRowsNumericCells(t *testing.T) {
	data := book(t, [][]any{
		{"姓名", "身份证号", "手机号", "出生日期(公历)"},
		{"张三", 111111, int64(13812345678), 45296},
		{"李四", 222222, 13812345678.0, "1990/1/5"},
		{"王五", "53252819500101001X", "013812345678", "1990年1月5日"},
	}, func(f *excelize.File, s string) {
		date, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
		f.SetCellStyle(s, "D2", "D2", date)
	})
	// Excel writes an 18-digit number as it holds it: 15 significant digits, exponent form.
	data = repack(t, data, 8, "xl/worksheets/sheet1.xml", func(x string) string {
		x = strings.Replace(x, `<v>111111</v>`, `<v>5.3252819500101E+17</v>`, 1)
		return strings.Replace(x, `<v>222222</v>`, `<v>532528195001010000</v>`, 1)
	})
	rows, err := readAll(open(t, data), people)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"5.3252819500101E+17", "13812345678", "2024-01-05"},
		{"532528195001010000", "13812345678", "1990/1/5"},
		{"53252819500101001X", "013812345678", "1990年1月5日"},
	}
	for i, w := range want {
		r := rows[i]
		if got := []string{r.Get("身份证号"), r.Get("手机号"), r.Get("出生日期(公历)")}; strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("row %d = %q, want %q", r.Number, got, w)
		}
		if d, ok := Date(r.Get("出生日期(公历)")); !ok || (i > 0 && d != "1990-01-05") {
			t.Errorf("row %d: Date(%q) = %q, %v", r.Number, r.Get("出生日期(公历)"), d, ok)
		}
	}
	if !Scientific(rows[0].Get("身份证号")) || Scientific(rows[1].Get("身份证号")) || Scientific(rows[2].Get("身份证号")) {
		t.Error("Scientific should flag only the exponent form")
	}
}

func TestReadRowsNamedSheet(t *testing.T) {
	data := book(t, [][]any{{"说明文字"}}, func(f *excelize.File, s string) {
		f.NewSheet("党员")
		f.SetSheetRow("党员", "A1", &[]any{"姓名", "身份证号"})
		f.SetSheetRow("党员", "A2", &[]any{"张三", "53252819500101001X"})
	})
	f := open(t, data)
	if got := f.Sheets(); len(got) != 2 || got[1] != "党员" {
		t.Fatalf("Sheets() = %q", got)
	}
	n := 0
	if err := f.ReadRows("党员", people, func(Row) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("ReadRows(党员) = %v, %d rows", err, n)
	}
	wantInvalid(t, f.ReadRows("花名册", people, nil), "文件中没有名为“花名册”的工作表")
}

func TestReadRowsStopsOnCallbackError(t *testing.T) {
	data := book(t, [][]any{{"姓名", "身份证号"}, {"张三", "1"}, {"李四", "2"}}, nil)
	stop := errors.New("stop")
	n := 0
	err := open(t, data).ReadRows("", people, func(Row) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err = %v after %d rows, want stop after 1", err, n)
	}
}

// A panic in the caller's code is a bug to see, not a broken upload to report.
func TestReadRowsKeepsCallerPanics(t *testing.T) {
	f := open(t, book(t, [][]any{{"姓名", "身份证号"}, {"张三", "1"}}, nil))
	defer func() {
		if recover() == nil {
			t.Fatal("the callback's panic was swallowed")
		}
	}()
	f.ReadRows("", people, func(Row) error { panic("bug") })
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	good := book(t, [][]any{{"姓名", "身份证号"}, {"张三", "1"}}, nil)
	for _, c := range []struct {
		name string
		data []byte
		max  int64
		want string
	}{
		{"csv", []byte("姓名,身份证号\n张三,1\n"), 1 << 20, "文件不是 Excel（.xlsx）格式"},
		{"empty", nil, 1 << 20, "上传的文件是空的"},
		{"old xls", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 512)...), 1 << 20, "不支持旧版 .xls 或设置了密码的 Excel 文件"},
		{"truncated", good[:len(good)/2], 1 << 20, "文件已损坏或不是有效的 Excel（.xlsx）文件"},
		{"zip without workbook", zipOf(t, "readme.txt", "hello"), 1 << 20, "文件已损坏或不是有效的 Excel（.xlsx）文件"},
		{"oversized", good, int64(len(good) - 1), "文件超过 "},
		{"oversized MB", bytes.Repeat([]byte("x"), 2<<20+1), 2 << 20, "文件超过 2 MB 的大小上限，请拆分后分批上传"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Open(bytes.NewReader(c.data), c.max)
			if err == nil {
				f.Close()
			}
			wantInvalid(t, err, c.want)
		})
	}
}

// A zip bomb is refused from the sizes in its directory, before anything is unpacked.
func TestOpenRefusesZipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("xl/worksheets/sheet1.xml")
	row := []byte(strings.Repeat("<row/>", 1<<16))
	for range 180 { // 70 MB unpacked, over the 64 MB floor of the unpack limit
		w.Write(row)
	}
	zw.Close()
	data := buf.Bytes()
	if len(data) > 1<<20 {
		t.Fatalf("bomb is %d bytes", len(data))
	}
	_, err := Open(bytes.NewReader(data), 1<<20)
	wantInvalid(t, err, "文件内容过大，请拆分后分批上传")
}

// The fixture in testdata was made by the Writer; reading it guards against a library upgrade
// changing what existing files read as.
func TestReadFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "roster.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(open(t, data), people)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Get("身份证号") != "53252819500101001X" || rows[2].Get("手机号") != "013800000000" {
		t.Fatalf("fixture rows: %d, first id %q", len(rows), rows[0].Get("身份证号"))
	}
}

func TestHeaderAndValueHelpers(t *testing.T) {
	for _, c := range [][2]string{
		{"出生日期（公历）", "出生日期(公历)"},
		{" *姓 名\n", "姓名"},
		{"ＩＤ号", "id号"},
	} {
		if normHeader(c[0]) != normHeader(c[1]) {
			t.Errorf("normHeader(%q) = %q, normHeader(%q) = %q", c[0], normHeader(c[0]), c[1], normHeader(c[1]))
		}
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"2024-01-05", "2024-01-05", true},
		{"2024/1/5", "2024-01-05", true},
		{"2024.1.5", "2024-01-05", true},
		{"2024年1月5日", "2024-01-05", true},
		{"20240105", "2024-01-05", true},
		{"2024-01-05 08:30", "2024-01-05", true},
		{"2024-02-30", "", false},
		{"45296", "", false},
		{"", "", false},
	} {
		if got, ok := Date(c.in); got != c.want || ok != c.ok {
			t.Errorf("Date(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	for v, want := range map[string]bool{
		"5.3252819500101E+17": true, "5.32528E+17": true, "1E+20": true,
		"53252819500101001X": false, "13812345678": false, "E+17": false, "5.3.2E+17": false, "": false,
	} {
		if Scientific(v) != want {
			t.Errorf("Scientific(%q) = %v", v, !want)
		}
	}
}
