package xlsx

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
)

var errNoSheet = errors.New("xlsx: sheet part not found")

// span is one merged range.
type span struct {
	ref                      string // as written, e.g. "B3:C3"
	top, left, bottom, right int
}

// merges returns the merged ranges of sheet, top to bottom. They are read straight from the
// worksheet XML because excelize's GetMergeCells decodes the whole worksheet into memory, which
// is exactly what streaming the rows avoids.
func (f *File) merges(sheet string) ([]span, error) {
	part, err := f.sheetPart(sheet)
	if err != nil {
		return nil, corrupt(err)
	}
	rc, err := part.Open()
	if err != nil {
		return nil, corrupt(err)
	}
	defer rc.Close()
	refs, err := mergeRefs(rc)
	if err != nil {
		return nil, corrupt(err)
	}
	var spans []span
	for _, ref := range refs {
		a, b, ok := strings.Cut(ref, ":")
		if !ok {
			continue // a one-cell "merge" merges nothing
		}
		left, top, err1 := excelize.CellNameToCoordinates(a)
		right, bottom, err2 := excelize.CellNameToCoordinates(b)
		if err1 != nil || err2 != nil {
			continue
		}
		spans = append(spans, span{ref, min(top, bottom), min(left, right), max(top, bottom), max(left, right)})
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.top != b.top {
			return a.top - b.top
		}
		return a.left - b.left
	})
	return spans, nil
}

// sheetPart finds the worksheet XML of sheet by following the package relationships, as Excel
// does: _rels/.rels names the workbook, the workbook's rels name each sheet's part.
func (f *File) sheetPart(sheet string) (*zip.File, error) {
	parts := make(map[string]*zip.File, len(f.zip.File))
	for _, zf := range f.zip.File {
		parts[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(zf.Name, `\`, "/"), "/"))] = zf
	}
	var rels struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	resolve := func(base, target string) string {
		if strings.HasPrefix(target, "/") {
			return strings.ToLower(strings.TrimPrefix(target, "/"))
		}
		return strings.ToLower(path.Join(path.Dir(base), target))
	}
	book := "xl/workbook.xml"
	if err := readXML(parts["_rels/.rels"], &rels); err == nil {
		for _, r := range rels.Rel {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				book = resolve("", r.Target)
			}
		}
	}
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			ID   string `xml:"id,attr"` // r:id, in whichever namespace the producer used
		} `xml:"sheets>sheet"`
	}
	if err := readXML(parts[book], &wb); err != nil {
		return nil, err
	}
	rels.Rel = nil
	if err := readXML(parts[path.Join(path.Dir(book), "_rels", path.Base(book)+".rels")], &rels); err != nil {
		return nil, err
	}
	for _, s := range wb.Sheets {
		if !strings.EqualFold(s.Name, sheet) {
			continue
		}
		for _, r := range rels.Rel {
			if r.ID == s.ID {
				if part := parts[resolve(book, r.Target)]; part != nil {
					return part, nil
				}
			}
		}
	}
	return nil, errNoSheet
}

// readXML decodes a small package part (workbook, relationships).
func readXML(zf *zip.File, v any) error {
	if zf == nil {
		return errNoSheet
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return xml.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(v)
}

// mergeRefs returns the ref of every mergeCell in a worksheet. mergeCells follows sheetData, so
// the rows are skipped with a plain byte search for the closing sheetData tag — cell text never
// holds a raw '<', so "</sheetData>" can only be the tag — and only the short tail is parsed.
func mergeRefs(r io.Reader) ([]string, error) {
	const keep = 64 // longer than "</" + any namespace prefix + "sheetData>"
	br := bufio.NewReaderSize(r, 64<<10)
	buf := make([]byte, 0, keep+64<<10)
	for {
		n, err := io.ReadFull(br, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := sheetDataEnd(buf); i >= 0 {
			return mergeTail(io.MultiReader(bytes.NewReader(buf[i:]), br))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil // no sheetData end: no rows, so nothing to refuse
		}
		if err != nil {
			return nil, err
		}
		buf = buf[:copy(buf, buf[len(buf)-min(keep, len(buf)):])]
	}
}

// sheetDataEnd returns the offset just after "</sheetData>" or "</x:sheetData>" in b, or -1.
func sheetDataEnd(b []byte) int {
	const name = "sheetData>"
	for from := 0; ; {
		i := bytes.Index(b[from:], []byte(name))
		if i < 0 {
			return -1
		}
		i += from
		j := i - 1
		if j >= 0 && b[j] == ':' { // namespace prefix
			j--
			for j >= 0 && isNameByte(b[j]) {
				j--
			}
		}
		if j >= 1 && b[j] == '/' && b[j-1] == '<' {
			return i + len(name)
		}
		from = i + len(name)
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// mergeTail collects mergeCell refs from the XML after sheetData. RawToken is used because the
// tail starts mid-document and its end tags have no matching start.
func mergeTail(r io.Reader) ([]string, error) {
	d := xml.NewDecoder(r)
	var refs []string
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return refs, nil
		}
		if err != nil {
			return refs, nil // a broken tail after the rows: keep what was found
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "mergeCell" {
			for _, a := range se.Attr {
				if a.Name.Local == "ref" {
					refs = append(refs, a.Value)
				}
			}
		}
	}
}
