package passbook

import (
	"strings"
	"unicode/utf8"

	"grassroots/errs"
)

// requiredText trims a user's text and checks it is present and not too long.
func requiredText(field, noun, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errs.Invalid(field, "请填写%s", noun)
	case utf8.RuneCountInString(s) > max:
		return "", errs.Invalid(field, "%s不能超过%d个字", noun, max)
	}
	return s, nil
}
