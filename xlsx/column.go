// Package xlsx is the Excel kit every import and export uses: a streaming writer for templates
// and exports, a streaming reader for uploads that checks the header row and refuses what an
// import cannot trust (merged cells, non-xlsx files, oversized files), and an error report that
// hands the user their own rows back with a 错误说明 column.
//
// Everything streams, so 100,000-row files stay within modest memory. Messages meant for the
// user are errs.Invalid("file", "中文") errors; anything else is a plain Go error for the log.
package xlsx

import (
	"strings"
	"unicode"
)

// Field is the form field that user-facing errors of this package name: the uploaded file.
const Field = "file"

// Column describes one column of a sheet, for writing and for reading alike, so that an import
// and its template share one definition.
type Column struct {
	Header   string   // header text, e.g. "身份证号"
	Width    float64  // column width in characters; 0 picks one from the header
	Text     bool     // stored as text, so ids and phone numbers keep every digit
	Required bool     // the header must be present in an upload; the template marks it red
	Note     string   // shown on the instructions sheet and as the cell prompt in Excel
	Allowed  []string // allowed values: a dropdown in the template, listed in the instructions
}

// normHeader makes header matching forgiving of what people do to headers in Excel: spaces and
// line breaks inside the text, full-width letters and parentheses from Chinese input methods,
// and a "*" marking a required column.
func normHeader(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff':
			continue
		case r >= '！' && r <= '～': // full-width ASCII block
			r -= '！' - '!'
		}
		if r == '*' {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// trim removes the blanks people leave around values, including the zero-width characters that
// come along when text is pasted from a web page or a chat.
func trim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff'
	})
}
