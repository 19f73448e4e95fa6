package auth

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/audit"
	"grassroots/errs"
	"grassroots/store"
)

var usernamePattern = regexp.MustCompile(`^[a-z0-9._-]{3,32}$`)

// normaliseUsername lower-cases a username, so that Zhangsan and zhangsan cannot be two accounts
// and signing in does not depend on the caps-lock key.
func normaliseUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validUsername(s string) (string, error) {
	name := normaliseUsername(s)
	if !usernamePattern.MatchString(name) {
		return "", errs.Invalid("username", "用户名须为3至32位字母、数字或 . _ -")
	}
	return name, nil
}

// mayManage refuses callers who manage no accounts anywhere before any expensive work.
func mayManage(p *Principal) error {
	if !p.Can(UsersManage) {
		return errs.Forbidden("无权管理账号")
	}
	return nil
}

// CreateUser creates an account with its grants. It returns the generated initial password
// when in.Password is empty, "" otherwise.
func (s *Service) CreateUser(ctx context.Context, p *Principal, in NewUser) (User, string, error) {
	username, err := validUsername(in.Username)
	if err != nil {
		return User{}, "", err
	}
	displayName := strings.TrimSpace(in.DisplayName)
	if utf8.RuneCountInString(displayName) > 64 {
		return User{}, "", errs.Invalid("display_name", "显示名称不能超过64个字")
	}
	password, generated := in.Password, ""
	if password == "" {
		generated = GeneratePassword()
		password = generated
	} else if err := ValidatePassword(password); err != nil {
		return User{}, "", err
	}
	if err := mayManage(p); err != nil {
		return User{}, "", err
	}
	// Hash before the transaction: it takes tens of milliseconds, too long to hold the writer.
	hash, err := HashPassword(ctx, password)
	if err != nil {
		return User{}, "", err
	}
	var u User
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE username = ?`, username).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflict("用户名已存在")
		}
		var personOrg int64
		if in.PersonID != 0 {
			var name, path string
			err := tx.QueryRow(ctx, `SELECT pe.name, pe.org_id, o.path FROM people pe JOIN orgs o ON o.id = pe.org_id
				WHERE pe.id = ?`, in.PersonID).Scan(&name, &personOrg, &path)
			if errors.Is(err, sql.ErrNoRows) {
				return errs.NotFound("人员不存在")
			} else if err != nil {
				return err
			}
			if !p.Scope(UsersManage).Covers(path) {
				return errs.NotFound("人员不存在") // as if missing, so that ids cannot be probed
			}
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE person_id = ?`, in.PersonID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return errs.Conflict("该人员已有账号")
			}
			if displayName == "" {
				displayName = name
			}
		}
		if displayName == "" {
			return errs.Invalid("display_name", "请填写显示名称")
		}
		var grants []Grant
		for _, gi := range in.Grants {
			g, err := resolveGrant(ctx, tx, p, gi)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(grants, func(h Grant) bool { return h.Role.Key == g.Role.Key && h.OrgID == g.OrgID }) {
				grants = append(grants, g)
			}
		}
		// An account with neither grant nor person would be visible to no administrator but the
		// system itself.
		if !p.IsSystem() && len(grants) == 0 && in.PersonID == 0 {
			return errs.Invalid("grants", "请至少授予一个角色或关联人员")
		}
		now := store.FormatTime(tx.Now())
		id, err := tx.Insert(ctx, `INSERT INTO users (username, display_name, person_id, password_hash,
			must_change_password, created_at, updated_at, password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			username, displayName, nullID(in.PersonID), hash, generated != "", now, now, now)
		if s.db.Dialect.IsUniqueViolation(err) {
			return errs.Conflict("用户名已存在")
		} else if err != nil {
			return err
		}
		views := []UserGrant{}
		for _, g := range grants {
			if err := insertGrant(ctx, tx, id, g); err != nil {
				return err
			}
			views = append(views, userGrant(g))
		}
		orgID := personOrg
		if len(grants) > 0 {
			orgID = grants[0].OrgID
		}
		err = audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "user.create", EntityType: "user", EntityID: id, OrgID: orgID,
			Summary: map[string]any{"username": username, "display_name": displayName, "person_id": in.PersonID,
				"grants": views, "generated_password": generated != ""},
		})
		if err != nil {
			return err
		}
		u, err = userByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return User{}, "", err
	}
	return u, generated, nil
}

const userColumns = `u.id, u.username, u.display_name, COALESCE(u.person_id, 0), u.must_change_password,
	u.disabled, u.locked_until, u.created_at`

// queryUsers loads the users u matching cond, by id, with their grants.
func queryUsers(ctx context.Context, tx *store.Tx, cond string, args []any, limit int) ([]User, error) {
	rows, err := tx.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE `+cond+` ORDER BY u.id LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []User
	byID := map[int64]int{}
	for rows.Next() {
		var u User
		var locked *string
		var created string
		err := rows.Scan(&u.ID, &u.Username, &u.DisplayName, &u.PersonID, &u.MustChangePassword,
			&u.Disabled, &locked, &created)
		if err != nil {
			return nil, err
		}
		if u.LockedUntil, err = nullTime(locked); err != nil {
			return nil, err
		}
		if !u.LockedUntil.After(tx.Now()) {
			u.LockedUntil = time.Time{} // a lock that has run out is no lock
		}
		if u.CreatedAt, err = store.ParseTime(created); err != nil {
			return nil, err
		}
		u.Grants = []UserGrant{}
		byID[u.ID] = len(users)
		users = append(users, u)
	}
	if err := rows.Err(); err != nil || len(users) == 0 {
		return users, err
	}
	rows.Close()

	ids := make([]any, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	grows, err := tx.Query(ctx, `SELECT g.user_id, g.role, g.org_id, o.name FROM grants g JOIN orgs o ON o.id = g.org_id
		WHERE g.user_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY g.id`, ids...)
	if err != nil {
		return nil, err
	}
	defer grows.Close()
	for grows.Next() {
		var userID int64
		var role string
		var g Grant
		if err := grows.Scan(&userID, &role, &g.OrgID, &g.OrgName); err != nil {
			return nil, err
		}
		g.Role = roleOf(role)
		u := &users[byID[userID]]
		u.Grants = append(u.Grants, userGrant(g))
	}
	return users, grows.Err()
}

func userByID(ctx context.Context, tx *store.Tx, id int64) (User, error) {
	users, err := queryUsers(ctx, tx, "u.id = ?", []any{id}, 1)
	if err != nil {
		return User{}, err
	}
	if len(users) == 0 {
		return User{}, errs.NotFound("用户不存在")
	}
	return users[0], nil
}

// visible is the condition on users u under which p sees an account: p manages accounts on an
// organisation the account holds a grant on, or on the organisation of the account's person.
func visible(p *Principal) (string, []any) {
	scope := p.Scope(UsersManage)
	if scope.All {
		return "(1 = 1)", nil
	}
	cond, args := scope.Where("o.path", "")
	return `(EXISTS (SELECT 1 FROM grants vg JOIN orgs o ON o.id = vg.org_id WHERE vg.user_id = u.id AND ` + cond + `)
		OR EXISTS (SELECT 1 FROM people vp JOIN orgs o ON o.id = vp.org_id WHERE vp.id = u.person_id AND ` + cond + `))`,
		append(args, args...)
}

// GetUser returns an account p may see: one in p's users.manage scope, or p's own.
func (s *Service) GetUser(ctx context.Context, p *Principal, id int64) (User, error) {
	return s.getUser(ctx, p, "u.id = ?", id)
}

// UserByName is GetUser by username (the command line names users).
func (s *Service) UserByName(ctx context.Context, p *Principal, username string) (User, error) {
	return s.getUser(ctx, p, "u.username = ?", normaliseUsername(username))
}

func (s *Service) getUser(ctx context.Context, p *Principal, cond string, key any) (User, error) {
	vis, args := visible(p)
	var users []User
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		users, err = queryUsers(ctx, tx, cond+" AND (u.id = ? OR "+vis+")", append([]any{key, p.UserID}, args...), 1)
		return err
	})
	if err != nil {
		return User{}, err
	}
	if len(users) == 0 {
		return User{}, errs.NotFound("用户不存在")
	}
	return users[0], nil
}

// ListUsers returns a page of the accounts in p's users.manage scope whose username or display
// name contains f.Query, and the cursor of the next page (0 at the end).
func (s *Service) ListUsers(ctx context.Context, p *Principal, f UserFilter) ([]User, int64, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	cond, args := visible(p)
	conds := []string{cond}
	if f.Cursor > 0 {
		conds, args = append(conds, "u.id > ?"), append(args, f.Cursor)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		conds = append(conds, `(u.username LIKE ? ESCAPE '\' OR u.display_name LIKE ? ESCAPE '\')`)
		args = append(args, store.LikeContains(strings.ToLower(q)), store.LikeContains(q))
	}
	var users []User
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		users, err = queryUsers(ctx, tx, strings.Join(conds, " AND "), args, limit+1)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].ID
	}
	return users, next, nil
}

// account is a user as the write methods need it.
type account struct {
	username string
	orgID    int64 // the organisation its audit records are filed under
	grants   []Grant
}

// manageable loads account userID for a change by p: NotFound when p cannot see it. With whole
// set (a change to the account itself: password, lock, disabling, a token in its name) p must
// also be able to grant every role the account holds, so that a community administrator cannot
// take over a county administrator's account that happens to hold a grant in the community.
func manageable(ctx context.Context, tx *store.Tx, p *Principal, userID int64, whole bool) (account, error) {
	cond, args := visible(p)
	var a account
	err := tx.QueryRow(ctx, `SELECT u.username, COALESCE(pe.org_id, 0) FROM users u LEFT JOIN people pe ON pe.id = u.person_id
		WHERE u.id = ? AND `+cond, append([]any{userID}, args...)...).Scan(&a.username, &a.orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errs.NotFound("用户不存在")
	} else if err != nil {
		return a, err
	}
	rows, err := tx.Query(ctx, `SELECT g.role, g.org_id, o.path, o.name FROM grants g JOIN orgs o ON o.id = g.org_id
		WHERE g.user_id = ? ORDER BY g.id`, userID)
	if err != nil {
		return a, err
	}
	defer rows.Close()
	for rows.Next() {
		var role string
		var g Grant
		if err := rows.Scan(&role, &g.OrgID, &g.OrgPath, &g.OrgName); err != nil {
			return a, err
		}
		g.Role = roleOf(role)
		a.grants = append(a.grants, g)
		if whole && !p.CanGrant(g.Role, g.OrgPath) {
			return a, errs.Forbidden("该账号拥有超出您权限的授权，无权修改")
		}
	}
	if len(a.grants) > 0 {
		a.orgID = a.grants[0].OrgID
	}
	return a, rows.Err()
}

// SetDisabled disables or re-enables an account. Disabling ends its sessions; its API tokens
// stop working while it stays disabled.
func (s *Service) SetDisabled(ctx context.Context, p *Principal, userID int64, disabled bool) error {
	if disabled && userID == p.UserID {
		return errs.Conflict("不能停用自己的账号")
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := manageable(ctx, tx, p, userID, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`,
			disabled, store.FormatTime(tx.Now()), userID); err != nil {
			return err
		}
		action := "user.enable"
		if disabled {
			action = "user.disable"
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: action, EntityType: "user", EntityID: userID, OrgID: a.orgID,
			Summary: map[string]any{"username": a.username},
		})
	})
}

// Unlock lifts a lockout after failed sign-ins before it runs out.
func (s *Service) Unlock(ctx context.Context, p *Principal, userID int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := manageable(ctx, tx, p, userID, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = ? WHERE id = ?`,
			store.FormatTime(tx.Now()), userID); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "user.unlock", EntityType: "user", EntityID: userID, OrgID: a.orgID,
			Summary: map[string]any{"username": a.username},
		})
	})
}

// ResetPassword gives the account a new generated password, which it must change at its next
// sign-in, and ends its sessions. The password is returned to be handed over.
func (s *Service) ResetPassword(ctx context.Context, p *Principal, userID int64) (string, error) {
	password := GeneratePassword()
	if err := s.setPassword(ctx, p, userID, password, true); err != nil {
		return "", err
	}
	return password, nil
}

// SetPassword sets a password the operator chose; the user need not change it.
func (s *Service) SetPassword(ctx context.Context, p *Principal, userID int64, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	return s.setPassword(ctx, p, userID, password, false)
}

// setPassword replaces another user's password. It also lifts a lockout (the password that was
// being guessed is gone) and ends the user's sessions (whoever holds them may not know the new
// one).
func (s *Service) setPassword(ctx context.Context, p *Principal, userID int64, password string, mustChange bool) error {
	if err := mayManage(p); err != nil {
		return err
	}
	hash, err := HashPassword(ctx, password)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := manageable(ctx, tx, p, userID, true)
		if err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		_, err = tx.Exec(ctx, `UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ?,
			failed_logins = 0, locked_until = NULL, updated_at = ? WHERE id = ?`, hash, mustChange, now, now, userID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
			return err
		}
		action := "user.set_password"
		if mustChange {
			action = "user.reset_password"
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: action, EntityType: "user", EntityID: userID, OrgID: a.orgID,
			Summary: map[string]any{"username": a.username},
		})
	})
}
