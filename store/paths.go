package store

import "strings"

// PathRange turns a materialised path prefix such as "/1/5/" into the half-open range of
// paths below it, so that a subtree is one index range scan on any collation-free column:
// "/1/5/" ≤ path < "/1/50" ('0' follows '/').
func PathRange(prefix string) (lo, hi string) {
	if prefix == "" {
		return "", "\xff"
	}
	last := prefix[len(prefix)-1]
	return prefix, prefix[:len(prefix)-1] + string(last+1)
}

// LikePrefix makes a LIKE pattern matching values that start with s; use it with
// LIKE ? ESCAPE '\'.
func LikePrefix(s string) string { return escapeLike(s) + "%" }

// LikeContains makes a LIKE pattern matching values that contain s; use it with
// LIKE ? ESCAPE '\'.
func LikeContains(s string) string { return "%" + escapeLike(s) + "%" }

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
