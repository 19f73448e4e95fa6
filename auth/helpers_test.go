package auth_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

// defaultArgon2 is the production cost, kept before TestMain lowers it.
var defaultArgon2 = auth.Argon2

func TestMain(m *testing.M) {
	// Production cost makes every account test spend 19 MiB and tens of milliseconds per hash.
	auth.Argon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

var ctx = context.Background()

type orgRef struct {
	ID   int64
	Path string
}

// world is a county with two sibling communities, a person in each, and a clock the test moves.
type world struct {
	db                   *store.DB
	svc                  *auth.Service
	now                  time.Time
	county, commA, commB orgRef
	personA, personB     int64
}

func each(t *testing.T, fn func(t *testing.T, w *world)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := &world{db: db, svc: auth.NewService(db), now: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}
		db.Now = func() time.Time { return w.now }
		w.county = w.addOrg(t, orgRef{}, "元阳县")
		w.commA = w.addOrg(t, w.county, "南门社区")
		w.commB = w.addOrg(t, w.county, "北门社区")
		w.personA = w.addPerson(t, w.commA, "张三", "532528195501010011")
		w.personB = w.addPerson(t, w.commB, "李四", "532528195601010022")
		fn(t, w)
		if _, err := audit.Verify(ctx, db); err != nil {
			t.Fatalf("audit chain: %v", err)
		}
	}, audit.Migrations, org.Migrations, auth.Migrations)
}

func (w *world) advance(d time.Duration) { w.now = w.now.Add(d) }

func (w *world) addOrg(t *testing.T, parent orgRef, name string) orgRef {
	t.Helper()
	var o orgRef
	err := w.db.Write(ctx, func(tx *store.Tx) error {
		now := store.FormatTime(tx.Now())
		var parentID any
		if parent.ID != 0 {
			parentID = parent.ID
		}
		id, err := tx.Insert(ctx, `INSERT INTO orgs (parent_id, name, kind, path, depth, created_at, updated_at)
			VALUES (?, ?, 'community', '', ?, ?, ?)`, parentID, name, strings.Count(parent.Path, "/"), now, now)
		if err != nil {
			return err
		}
		path := parent.Path
		if path == "" {
			path = "/"
		}
		o = orgRef{ID: id, Path: fmt.Sprintf("%s%d/", path, id)}
		_, err = tx.Exec(ctx, `UPDATE orgs SET path = ? WHERE id = ?`, o.Path, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (w *world) addPerson(t *testing.T, o orgRef, name, idNumber string) int64 {
	t.Helper()
	var id int64
	err := w.db.Write(ctx, func(tx *store.Tx) error {
		now := store.FormatTime(tx.Now())
		var err error
		id, err = tx.Insert(ctx, `INSERT INTO people (org_id, name, gender, id_number, birth_date, political_status,
			created_at, updated_at) VALUES (?, ?, '男', ?, '1955-01-01', '中共党员', ?, ?)`, o.ID, name, idNumber, now, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// user creates an account as the system, with an operator-chosen password.
func (w *world) user(t *testing.T, username, password string, grants ...auth.GrantInput) auth.User {
	t.Helper()
	u, _, err := w.svc.CreateUser(ctx, auth.System(), auth.NewUser{
		Username: username, DisplayName: username, Password: password, Grants: grants,
	})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return u
}

// signIn logs in and returns the principal of the new session and its token.
func (w *world) signIn(t *testing.T, username, password string) (*auth.Principal, string) {
	t.Helper()
	sess, err := w.svc.Login(ctx, username, password, "10.1.2.3", "test")
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	p, err := w.svc.Authenticate(ctx, sess.Token, "10.1.2.3")
	if err != nil {
		t.Fatalf("authenticate %s: %v", username, err)
	}
	return p, sess.Token
}

func (w *world) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func grant(role auth.RoleKey, o orgRef) auth.GrantInput {
	return auth.GrantInput{Role: role, OrgID: o.ID}
}

// wantErr fails unless err is a service error of kind with message msg ("" for any message).
func wantErr(t *testing.T, err error, kind errs.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %q", kind, msg)
	}
	if e := errs.As(err); e.Kind != kind || msg != "" && e.Message != msg {
		t.Fatalf("got %v, want %s %q", err, kind, msg)
	}
}
