package appraisal

import (
	"os"
	"testing"

	"grassroots/auth"
)

// TestMain lowers the password hashing cost for the whole test binary (the HTTP tests sign in).
func TestMain(m *testing.M) {
	auth.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}
