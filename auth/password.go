package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"grassroots/errs"
)

// Argon2Params is the cost of an argon2id password hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// Argon2 is the cost of new hashes: the OWASP minimum for argon2id (19 MiB, 2 passes). Stored
// hashes carry their own parameters, so raising it later does not break existing passwords.
// Tests lower it.
var Argon2 = Argon2Params{Memory: 19456, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// hashSlots bounds the hashes computed at once: each takes Argon2.Memory, and a burst of logins
// must queue rather than take gigabytes.
var hashSlots = make(chan struct{}, 2)

func argon2id(ctx context.Context, password string, salt []byte, p Argon2Params, n uint32) ([]byte, error) {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, n), nil
}

// HashPassword returns the PHC-style argon2id encoding of password with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails since Go 1.24
	p := Argon2
	key, err := argon2id(ctx, password, salt, p, keyLen)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches an encoding made by HashPassword.
func VerifyPassword(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, errors.New("auth: not an argon2id hash")
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 {
		return false, fmt.Errorf("auth: bad argon2id parameters %q", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("auth: bad argon2id salt: %w", err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("auth: bad argon2id hash")
	}
	got, err := argon2id(ctx, password, salt, p, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// ValidatePassword checks the password policy: at least 8 characters of at least three of the
// classes lower case, upper case, digit, other.
func ValidatePassword(password string) error {
	var lower, upper, digit, other int
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if utf8.RuneCountInString(password) < 8 || lower+upper+digit+other < 3 {
		return errs.Invalid("password", "密码至少8位，且须包含大写字母、小写字母、数字、符号中的三类")
	}
	return nil
}

// passwordAlphabet leaves out characters that are easy to misread when a password is read out
// or copied from paper: 0 O 1 l I.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random 12-character password (about 70 bits) that satisfies the
// policy.
func GeneratePassword() string {
	const n = len(passwordAlphabet)
	const limit = 256 - 256%n // reject bytes above a multiple of n so every character is equally likely
	for {
		var b strings.Builder
		buf := make([]byte, 1)
		for b.Len() < 12 {
			rand.Read(buf)
			if int(buf[0]) < limit {
				b.WriteByte(passwordAlphabet[int(buf[0])%n])
			}
		}
		if ValidatePassword(b.String()) == nil {
			return b.String()
		}
	}
}
