package passbook

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"grassroots/errs"
)

// FuzzReadApproved feeds arbitrary CSV files of approved claims to ReadApproved, the reader of
// `grassroots passbook post`. A file is refused as invalid input or read into rows that point
// at values the file holds, in line order; a row without problems has a real date and a
// quantity that may be posted. A file is never read cut short: with a limit one byte under its
// size it is refused, never read as if it ended there.
func FuzzReadApproved(f *testing.F) {
	header := "\ufeff存折号,身份证号,事项编码,日期,数量,备注\n"
	for _, seed := range []string{
		header + "YY0001,,v01,2026-03-12,3,清扫\n,532528195201010013,P01,2026/3/13,1,\n",
		header + "YY0001,,V01,2026-02-30,0,\nYY0001,,V01,2026-03-12,两,\n",
		header + "YY0001,,V01,2026-03-12,12\n",
		"标题\n\n" + header + "\"YY0001\",,\"V01\",2026-03-12,\"1\",\"多\n行\"\n",
		"数量,日期,事项编码,存折号\n1,2026-03-12,V01,YY0001\n",
		header, "", "\ufeff", "a,\"b\n", "存折号,事项编码\nYY0001,V01\n", "\xff\xfe存\x00折\x00",
		header + "YY0001,,V01,46093,1,\n" + header,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ReadApproved(bytes.NewReader(data), "approved.csv", 1<<20)
		if err != nil {
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Message == "" {
				t.Fatalf("%q: %v, want invalid input", data, err)
			}
		} else {
			checkApproved(t, data, file)
		}
		if len(data) > 0 {
			if _, err := ReadApproved(bytes.NewReader(data), "approved.csv", int64(len(data)-1)); err == nil {
				t.Fatalf("%q read with a limit one byte under its size", data)
			}
		}
		if again, err2 := ReadApproved(bytes.NewReader(data), "approved.CSV", int64(len(data))); (err == nil) != (err2 == nil) ||
			(err == nil && again.Rows() != file.Rows()) {
			t.Fatalf("%q: with a limit of its size %v, with room to spare %v", data, err2, err)
		}
	})
}

func checkApproved(t *testing.T, data []byte, f *ApprovedFile) {
	t.Helper()
	if f.Rows() == 0 {
		t.Fatalf("%q read with no rows", data)
	}
	last := int32(1)
	for _, r := range f.rows {
		if r.line <= last {
			t.Fatalf("%q: row on line %d after line %d", data, r.line, last)
		}
		last = r.line
		if r.key < 0 || int(r.key) >= len(f.keys) || r.code < 0 || int(r.code) >= len(f.codes) || r.date < 0 || int(r.date) >= len(f.dates) {
			t.Fatalf("%q: row %+v points outside %d keys, %d codes, %d dates", data, r, len(f.keys), len(f.codes), len(f.dates))
		}
		code := f.codes[r.code]
		if code != strings.ToUpper(code) || !utf8.ValidString(code) || !utf8.ValidString(r.note) {
			t.Fatalf("%q: code %q, note %q", data, code, r.note)
		}
		for _, s := range []string{f.keys[r.key].number, f.keys[r.key].idNumber, code} {
			if s != strings.TrimSpace(s) {
				t.Fatalf("%q: value %q is not trimmed", data, s)
			}
		}
		if len(f.problems[int(r.line)]) == 0 {
			if !validDate(f.dates[r.date]) || checkQuantity(r.quantity) != nil || utf8.RuneCountInString(r.note) > maxNote {
				t.Fatalf("%q: row on line %d passes with date %q, quantity %d", data, r.line, f.dates[r.date], r.quantity)
			}
		}
	}
	for line := range f.problems {
		if line < 2 || line > int(last) {
			t.Fatalf("%q: a problem on line %d, rows end at %d", data, line, last)
		}
	}
}

// TestReadApprovedRefusesFileOverLimit: a CSV longer than the limit was read up to the limit,
// so its last row could be posted cut short, a quantity of 12 as 1.
func TestReadApprovedRefusesFileOverLimit(t *testing.T) {
	data := approvedCSV("YY0001,,V01,2026-03-12,12")
	if _, err := ReadApproved(bytes.NewReader(data), "approved.csv", int64(len(data)-2)); !errs.Is(err, errs.KindInvalid) ||
		!strings.Contains(errs.As(err).Message, "大小上限") {
		t.Fatalf("a file over the limit: %v", err)
	}
	f, err := ReadApproved(bytes.NewReader(data), "approved.csv", int64(len(data)))
	if err != nil || f.Rows() != 1 || f.rows[0].quantity != 12 {
		t.Fatalf("a file of exactly the limit: %v", err)
	}
}

// FuzzRankingQuery feeds arbitrary ?period= and ?cursor= values to the ranking's parsers.
// A period is refused as invalid "period" or taken as the totals key the input names (case
// aside), which parses to itself and has a Chinese label; a cursor is refused as invalid
// "cursor" or read as a key that writes back to a cursor reading the same.
func FuzzRankingQuery(f *testing.F) {
	for _, seed := range [][2]string{
		{"2026", ""}, {"2026Q4", "120_35"}, {"2026q1", "0_1"}, {"2026-11", "-5_9"}, {"all", ""}, {"ALL", "1_0"},
		{" 2026-01 ", "1_-1"}, {"2026-13", "_"}, {"2026Q5", "1_2_3"}, {"20261", "9223372036854775807_1"},
		{"２０２６", "9223372036854775808_1"}, {"2026-1", "+1_+2"}, {"", " 1_2"}, {"ａll", "1_2 "}, {"0000", "00_01"},
	} {
		f.Add(seed[0], seed[1])
	}
	now := time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC) // already 2027 in Shanghai
	f.Fuzz(func(t *testing.T, period, cursor string) {
		got, err := resolvePeriod(period, now)
		switch {
		case strings.TrimSpace(period) == "":
			if err != nil || got != "2027" {
				t.Fatalf("empty period: %q %v", got, err)
			}
		case err != nil:
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Field != "period" {
				t.Fatalf("period %q: %v", period, err)
			}
		default:
			if !periodPattern.MatchString(got) || !strings.EqualFold(got, strings.TrimSpace(period)) {
				t.Fatalf("period %q taken as %q", period, got)
			}
			if again, err := ParsePeriod(got); err != nil || again != got {
				t.Fatalf("period %q: %q parses to %q, %v", period, got, again, err)
			}
			label := PeriodLabel(got)
			if label == got || (got != "all" && !strings.HasPrefix(label, got[:4]+"年")) {
				t.Fatalf("period %q labelled %q", got, label)
			}
			if len(got) == 7 {
				if m, _ := strconv.Atoi(got[5:]); label != got[:4]+"年"+strconv.Itoa(m)+"月" {
					t.Fatalf("period %q labelled %q", got, label)
				}
			}
		}
		key, err := parseRankCursor(cursor)
		switch {
		case err != nil:
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Field != "cursor" {
				t.Fatalf("cursor %q: %v", cursor, err)
			}
		case cursor == "":
			if key != nil {
				t.Fatalf("empty cursor read as %+v", key)
			}
		default:
			if key == nil || key.id <= 0 {
				t.Fatalf("cursor %q read as %+v", cursor, key)
			}
			again, err := parseRankCursor(key.String())
			if err != nil || *again != *key {
				t.Fatalf("cursor %q read as %+v, written as %q, read back as %+v, %v", cursor, key, key.String(), again, err)
			}
		}
	})
}
