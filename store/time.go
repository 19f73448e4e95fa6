package store

import (
	"fmt"
	"time"
)

// China has kept UTC+8 without daylight saving since 1991, so a fixed zone is exact and needs
// no tz database on the server.
var Shanghai = time.FixedZone("CST", 8*3600)

// timeLayout has a fixed width so that stored times sort as text in both databases.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// DateLayout is how business dates (a birthday, the day points were earned) are stored.
const DateLayout = "2006-01-02"

// FormatTime renders an instant for storage: UTC, microseconds, fixed width.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// ParseTime reads an instant written by FormatTime.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad stored time %q: %w", s, err)
	}
	return t, nil
}

// LocalDate is the Asia/Shanghai calendar date of an instant, as stored.
func LocalDate(t time.Time) string { return t.In(Shanghai).Format(DateLayout) }
