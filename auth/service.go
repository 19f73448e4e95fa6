// Package auth is accounts, roles and scopes: who may sign in and how (password sessions, API
// tokens), and what each role allows on which organisation subtree.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"grassroots/store"
)

//go:embed schema
var schema embed.FS

// Migrations is the auth package's schema. It runs after org's: accounts refer to people and
// grants to organisations.
var Migrations = store.Migrations{Package: "auth", FS: schema}

// Service is the account use cases. Every method that changes data is one transaction that
// also appends its audit record.
type Service struct {
	db *store.DB
}

// NewService returns the account service over db.
func NewService(db *store.DB) *Service { return &Service{db: db} }

// User is an account as administrators see it.
type User struct {
	ID                 int64       `json:"id"`
	Username           string      `json:"username"`
	DisplayName        string      `json:"display_name"`
	PersonID           int64       `json:"person_id,omitempty"`
	MustChangePassword bool        `json:"must_change_password"`
	Disabled           bool        `json:"disabled"`
	LockedUntil        time.Time   `json:"locked_until,omitzero"` // zero unless locked now
	CreatedAt          time.Time   `json:"created_at"`
	Grants             []UserGrant `json:"grants"`
}

// UserGrant is one role a user holds, named for display.
type UserGrant struct {
	Role     RoleKey `json:"role"`
	RoleName string  `json:"role_name"`
	OrgID    int64   `json:"org_id"`
	OrgName  string  `json:"org_name"`
}

func userGrant(g Grant) UserGrant {
	return UserGrant{Role: g.Role.Key, RoleName: g.Role.Name, OrgID: g.OrgID, OrgName: g.OrgName}
}

// roleOf resolves a stored role key. A key no longer built in keeps its key as its name and
// carries no permissions.
func roleOf(key string) Role {
	if r, ok := LookupRole(RoleKey(key)); ok {
		return r
	}
	return Role{Key: RoleKey(key), Name: key}
}

// GrantInput asks for a role on an organisation.
type GrantInput struct {
	Role  RoleKey
	OrgID int64
}

// NewUser is the input of CreateUser. An empty Password means: generate one and make the user
// change it at first sign-in.
type NewUser struct {
	Username    string
	DisplayName string
	PersonID    int64
	Password    string
	Grants      []GrantInput
}

// UserFilter selects users for ListUsers; Cursor is the last id of the previous page.
type UserFilter struct {
	Query  string
	Limit  int
	Cursor int64
}

// Session is a successful sign-in. Token goes into the cookie and is never stored.
type Session struct {
	Token              string
	User               User
	MustChangePassword bool
}

// APIToken is an API token as its owner sees it; the secret itself is shown only at creation.
type APIToken struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	Name       string    `json:"name"`
	Prefix     string    `json:"prefix"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// randomSecret is 32 random bytes in base64url: session and API tokens.
func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is what is stored of a token: a leaked database then holds no usable credential.
// The token has 256 random bits, so a fast hash is enough.
func hashSecret(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullTime(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	return store.ParseTime(*s)
}

// clip makes client-supplied text (a username typed at the sign-in form, a User-Agent header)
// safe to store: valid UTF-8 without control characters (PostgreSQL refuses NUL), at most n
// characters.
func clip(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			break
		}
		if r == utf8.RuneError || unicode.IsControl(r) {
			continue
		}
		b.WriteRune(r)
		n--
	}
	return b.String()
}
