package xlsx

import (
	"strings"
	"time"
)

// Scientific reports whether a cell read as a number in scientific notation, such as
// "5.3252819500101E+17": an 18-digit 身份证号 or a long account number typed into a number cell.
// Excel keeps only 15 significant digits, so the last digits are gone from the file itself and
// the import can only ask the user to set the column to text and type the value again.
func Scientific(v string) bool {
	mant, exp, ok := strings.Cut(strings.ToUpper(v), "E+")
	if !ok || mant == "" || exp == "" || strings.Trim(exp, "0123456789") != "" {
		return false
	}
	return strings.Trim(mant, "0123456789.") == "" && strings.Count(mant, ".") <= 1
}

// Date reads the ways people write a date in a spreadsheet — 2024-01-05, 2024/1/5, 2024.1.5,
// 2024年1月5日, 20240105, with or without a time after it — and returns it as YYYY-MM-DD.
// Date cells with Excel's standard date format already read as YYYY-MM-DD.
func Date(v string) (string, bool) {
	v = trim(v)
	if d, _, ok := strings.Cut(v, " "); ok {
		v = d
	}
	v = strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-").Replace(v)
	layout := "2006-1-2"
	if len(v) == 8 && strings.Trim(v, "0123456789") == "" {
		layout = "20060102"
	}
	t, err := time.Parse(layout, v)
	if err != nil || t.Year() < 1800 {
		return "", false
	}
	return t.Format(time.DateOnly), true
}
