package xlsx

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"grassroots/errs"
)

// book builds an .xlsx the way a user's Excel would hold it: rows from A1 down (nil leaves a row
// empty), then edit for merges, styles and the like.
func book(t testing.TB, rows [][]any, edit func(f *excelize.File, sheet string)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const s = "Sheet1"
	for i, r := range rows {
		if r == nil {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(s, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(f, s)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// repack rewrites a workbook's zip, optionally changing one part, with the given compression
// method. Stored (uncompressed) parts let the fuzzer reach the XML instead of the deflate data.
func repack(t testing.TB, data []byte, method uint16, part string, edit func(string) string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if zf.Name == part {
			b = []byte(edit(string(b)))
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// open opens an upload with a 10 MB limit, failing the test on error.
func open(t testing.TB, data []byte) *File {
	t.Helper()
	f, err := Open(bytes.NewReader(data), 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readAll reads every data row of the first sheet.
func readAll(f *File, columns []Column) ([]Row, error) {
	var rows []Row
	err := f.ReadRows("", columns, func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// wantInvalid asserts that err is what the user sees: an invalid-file error with message msg.
func wantInvalid(t testing.TB, err error, msg string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindInvalid || e.Field != Field {
		t.Fatalf("want invalid file error %q, got %v", msg, err)
	}
	if !strings.HasPrefix(e.Message, msg) {
		t.Fatalf("message = %q, want %q", e.Message, msg)
	}
}

// zipOf makes a zip holding one file.
func zipOf(t testing.TB, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
