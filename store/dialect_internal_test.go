package store

import "testing"

func TestRebindDollar(t *testing.T) {
	cases := map[string]string{
		"SELECT ?":                      "SELECT $1",
		"a = ? AND b = ?":               "a = $1 AND b = $2",
		"x = '?' AND y = ?":             "x = '?' AND y = $1",
		`"we?ird" = ? OR 'it''s ?' = ?`: `"we?ird" = $1 OR 'it''s ?' = $2`,
		"no placeholders":               "no placeholders",
	}
	for in, want := range cases {
		if got := rebindDollar(in); got != want {
			t.Errorf("rebindDollar(%q) = %q, want %q", in, got, want)
		}
	}
}
