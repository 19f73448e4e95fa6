package auth_test

import (
	"regexp"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
)

func TestPasswordPolicy(t *testing.T) {
	cases := []struct {
		password string
		ok       bool
	}{
		{"", false},
		{"Ab1!xyz", false},        // 7 characters
		{"abcdefghijkl", false},   // one class
		{"abcdefGHIJKL", false},   // two classes
		{"ABCDEF123456", false},   // two classes
		{"Abcdef12", true},        // lower, upper, digit
		{"abcdef1!", true},        // lower, digit, symbol
		{"ABCDEF!@", false},       // two classes
		{"ABCDEF!1", true},        // upper, symbol, digit
		{"党建引领ab12", true},        // Chinese counts as a symbol-class character
		{"Correct Horse 9", true}, // a space is a symbol
	}
	for _, c := range cases {
		err := auth.ValidatePassword(c.password)
		if c.ok && err != nil {
			t.Errorf("%q refused: %v", c.password, err)
		}
		if !c.ok {
			e := errs.As(err)
			if err == nil || e.Kind != errs.KindInvalid || e.Field != "password" ||
				e.Message != "密码至少8位，且须包含大写字母、小写字母、数字、符号中的三类" {
				t.Errorf("%q: got %v, want the policy refusal", c.password, err)
			}
		}
	}
}

func TestGeneratedPasswordsAreReadableAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		pw := auth.GeneratePassword()
		if err := auth.ValidatePassword(pw); err != nil {
			t.Fatalf("generated %q fails the policy: %v", pw, err)
		}
		if strings.ContainsAny(pw, "0O1lI") {
			t.Fatalf("generated %q has a character that is easy to misread", pw)
		}
		if seen[pw] {
			t.Fatalf("generated %q twice", pw)
		}
		seen[pw] = true
	}
}

func TestHashAndVerify(t *testing.T) {
	if want := (auth.Argon2Params{Memory: 19456, Time: 2, Threads: 1}); defaultArgon2 != want {
		t.Fatalf("production argon2id cost = %+v, want %+v", defaultArgon2, want)
	}
	hash, err := auth.HashPassword(ctx, "Abcdef12!")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(hash) {
		t.Fatalf("hash %q is not a PHC argon2id string", hash)
	}
	if again, _ := auth.HashPassword(ctx, "Abcdef12!"); again == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{"Abcdef12!": true, "abcdef12!": false, "Abcdef12": false, "": false} {
		if ok, err := auth.VerifyPassword(ctx, hash, pw); err != nil || ok != want {
			t.Errorf("verify %q = %v, %v; want %v", pw, ok, err, want)
		}
	}

	// A stored hash keeps its own cost: raising the cost later does not lock anyone out.
	saved := auth.Argon2
	auth.Argon2 = auth.Argon2Params{Memory: 128, Time: 2, Threads: 2}
	ok, err := auth.VerifyPassword(ctx, hash, "Abcdef12!")
	auth.Argon2 = saved
	if !ok || err != nil {
		t.Fatalf("verify after a cost change = %v, %v", ok, err)
	}

	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=0,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		if ok, err := auth.VerifyPassword(ctx, bad, "Abcdef12!"); ok || err == nil {
			t.Errorf("verify against %q = %v, %v; want an error", bad, ok, err)
		}
	}
}
