package xlsx

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"grassroots/errs"
)

// FuzzReadRows feeds arbitrary bytes to the reader and the error report. Whatever arrives, the
// answer is rows or a refusal for the user, never a panic or an internal error. Seeds include
// workbooks with stored (uncompressed) parts, so mutations reach the XML and not only the zip.
// Inputs that once failed live in testdata/fuzz/FuzzReadRows.
func FuzzReadRows(f *testing.F) {
	small := write(f, "党员", people,
		[]any{"张三", "53252819500101001X", "13812345678", "1950-01-01", "男"},
		[]any{"李四", "530102199001011234", "", "", "女"},
	)
	titled := book(f, [][]any{
		{"花名册"}, {"姓名", "身份证号", "手机号"}, {"张三", 5.3252819500101e17, 13812345678}, nil, {"李四", "1", ""},
	}, func(x *excelize.File, s string) { x.MergeCell(s, "A1", "C1"); x.MergeCell(s, "B5", "C5") })
	fixture, err := os.ReadFile(filepath.Join("testdata", "roster.xlsx"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{small, titled, fixture, repack(f, small, zip.Store, "", nil), repack(f, titled, zip.Store, "", nil)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := Open(bytes.NewReader(data), 1<<20)
		if err != nil {
			userError(t, err)
			return
		}
		defer x.Close()
		problems := map[int]string{}
		err = x.ReadRows("", people, func(r Row) error {
			if r.Number < 1 {
				t.Fatalf("row number %d", r.Number)
			}
			problems[r.Number] = "有误"
			return nil
		})
		if err != nil {
			userError(t, err)
			return
		}
		_ = x.WriteReport(io.Discard, problems) // may fail on odd input, must not panic
	})
}

// userError fails unless err is a refusal the user can read. A recovered excelize panic is
// logged, as it is worth reporting upstream.
func userError(t *testing.T, err error) {
	t.Helper()
	if errs.KindOf(err) != errs.KindInvalid {
		t.Fatalf("not a user error: %v", err)
	}
	if strings.Contains(err.Error(), "panic") {
		t.Log(err)
	}
}
