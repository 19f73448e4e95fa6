package auth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"grassroots/audit"
	"grassroots/errs"
	"grassroots/store"
)

// Session and lockout policy.
var (
	IdleTimeout     = 30 * time.Minute // a session unused this long has ended
	MaxSessionAge   = 12 * time.Hour   // a session this old has ended, however busy
	MaxFailedLogins = 5                // consecutive wrong passwords that lock an account
	LockoutDuration = 15 * time.Minute
)

// touchInterval is how stale last_seen_at / last_used_at may get: recording every request would
// make every request a write.
const touchInterval = time.Minute

func lockedOut() error {
	return errs.Unauthenticated("登录失败次数过多，账号已锁定，请%d分钟后再试", int(LockoutDuration.Minutes()))
}

// Login checks a username and password and opens a session. Every attempt is audited, and a
// failure's audit record and failure count are committed although Login returns an error.
func (s *Service) Login(ctx context.Context, username, password, ip, userAgent string) (Session, error) {
	username = normaliseUsername(username)
	ip, userAgent = clip(ip, 64), clip(userAgent, 256)
	var userID int64
	var hash string
	var lockedUntil *string
	err := s.db.QueryRow(ctx, `SELECT id, password_hash, locked_until FROM users WHERE username = ?`, username).
		Scan(&userID, &hash, &lockedUntil)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Session{}, err
	}
	until, err := nullTime(lockedUntil)
	if err != nil {
		return Session{}, err
	}
	// The password is checked before the write transaction: hashing takes tens of milliseconds,
	// too long to hold the writer.
	ok := false
	switch {
	case userID == 0:
		// Spend the same time as a real check, so that timing does not tell which usernames exist.
		if _, err := HashPassword(ctx, password); err != nil {
			return Session{}, err
		}
	case !until.After(s.db.Now()):
		if ok, err = VerifyPassword(ctx, hash, password); err != nil {
			return Session{}, err
		}
	}

	var sess Session
	var refusal error
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		actor := audit.Actor{UserID: userID, Name: username, IP: ip}
		if userID == 0 {
			actor.Name = "anonymous" // not a name anyone has proven to be
		}
		fail := func(reason string, e error) error {
			refusal = e
			return audit.Append(ctx, tx, actor, audit.Event{
				Action: "auth.login_failed", EntityType: "user", EntityID: userID,
				Summary: map[string]string{"username": clip(username, 64), "reason": reason},
			})
		}
		if userID == 0 {
			return fail("unknown_user", errs.Unauthenticated("用户名或密码错误"))
		}
		// Read the lock state again inside the transaction: concurrent attempts may have changed it.
		var failed int
		var disabled bool
		err := tx.QueryRow(ctx, `SELECT failed_logins, locked_until, disabled FROM users WHERE id = ?`, userID).
			Scan(&failed, &lockedUntil, &disabled)
		if err != nil {
			return err
		}
		now := tx.Now()
		if until, err := nullTime(lockedUntil); err != nil {
			return err
		} else if until.After(now) {
			return fail("locked", lockedOut())
		}
		if !ok {
			failed++
			if failed >= MaxFailedLogins {
				// The count starts again, so that after the lockout there are again five tries.
				_, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?`,
					store.FormatTime(now.Add(LockoutDuration)), userID)
				if err != nil {
					return err
				}
				return fail("wrong_password_locked", lockedOut())
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = ? WHERE id = ?`, failed, userID); err != nil {
				return err
			}
			return fail("wrong_password", errs.Unauthenticated("用户名或密码错误"))
		}
		// Checked only after the password, so that guessing does not reveal disabled accounts.
		if disabled {
			return fail("disabled", errs.Unauthenticated("账号已停用"))
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?`, userID); err != nil {
			return err
		}
		// Sweep this user's ended sessions here, where it costs one indexed delete.
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND (last_seen_at < ? OR created_at < ?)`, userID,
			store.FormatTime(now.Add(-IdleTimeout)), store.FormatTime(now.Add(-MaxSessionAge)))
		if err != nil {
			return err
		}
		token := randomSecret()
		_, err = tx.Exec(ctx, `INSERT INTO sessions (id, user_id, ip, user_agent, created_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?, ?)`, hashSecret(token), userID, ip, userAgent, store.FormatTime(now), store.FormatTime(now))
		if err != nil {
			return err
		}
		err = audit.Append(ctx, tx, actor, audit.Event{
			Action: "auth.login", EntityType: "user", EntityID: userID,
			Summary: map[string]string{"username": username, "user_agent": userAgent},
		})
		if err != nil {
			return err
		}
		u, err := userByID(ctx, tx, userID)
		sess = Session{Token: token, User: u, MustChangePassword: u.MustChangePassword}
		return err
	})
	if err != nil {
		return Session{}, err
	}
	if refusal != nil {
		return Session{}, refusal
	}
	return sess, nil
}

// Logout ends the session of token. An unknown or ended session is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	id := hashSecret(token)
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var actor audit.Actor
		err := tx.QueryRow(ctx, `SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id = ?`, id).Scan(&actor.UserID, &actor.Name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, audit.Event{
			Action: "auth.logout", EntityType: "user", EntityID: actor.UserID,
			Summary: map[string]string{"username": actor.Name},
		})
	})
}

// Authenticate returns the principal of a session token, with the user's grants, or
// Unauthenticated when the session is unknown, has ended, or its user is disabled.
func (s *Service) Authenticate(ctx context.Context, token, ip string) (*Principal, error) {
	id := hashSecret(token)
	c, err := s.credential(ctx, sessionCredential, id)
	if err != nil {
		return nil, err
	}
	expired := errs.Unauthenticated("登录已过期，请重新登录")
	if c == nil {
		return nil, expired
	}
	now := s.db.Now()
	if now.Sub(c.lastUsed) >= IdleTimeout || now.Sub(c.created) >= MaxSessionAge {
		if err := s.bookkeep(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
			return nil, err
		}
		return nil, expired
	}
	if c.disabled {
		return nil, errs.Unauthenticated("账号已停用")
	}
	if now.Sub(c.lastUsed) >= touchInterval {
		if err := s.bookkeep(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, store.FormatTime(now), id); err != nil {
			return nil, err
		}
	}
	c.principal.IP = ip
	c.principal.session = id
	return c.principal, nil
}

// bookkeep writes session and token bookkeeping (last use, expiry) without an audit record: it is
// no change anyone made, and auditing it would grow the chain on every request.
func (s *Service) bookkeep(ctx context.Context, query string, args ...any) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	})
}

// A credential (session or API token), its user and the user's grants come in one query, one row
// per grant or a single row with empty grant columns.
const (
	credentialColumns = `u.id, u.username, COALESCE(u.person_id, 0), u.must_change_password, u.disabled,
		COALESCE(g.role, ''), COALESCE(g.org_id, 0), COALESCE(o.path, ''), COALESCE(o.name, '')`
	credentialJoins = ` JOIN users u ON u.id = c.user_id
		LEFT JOIN grants g ON g.user_id = u.id
		LEFT JOIN orgs o ON o.id = g.org_id`
	sessionCredential = `SELECT c.created_at, c.last_seen_at, ` + credentialColumns + ` FROM sessions c` +
		credentialJoins + ` WHERE c.id = ? ORDER BY g.id`
	tokenCredential = `SELECT c.created_at, COALESCE(c.last_used_at, ''), ` + credentialColumns + ` FROM api_tokens c` +
		credentialJoins + ` WHERE c.token_hash = ? AND c.revoked_at IS NULL ORDER BY g.id`
)

type credential struct {
	principal         *Principal
	disabled          bool
	created, lastUsed time.Time // lastUsed is zero for a token never used
}

// credential runs sessionCredential or tokenCredential; nil means no such credential.
func (s *Service) credential(ctx context.Context, query, key string) (*credential, error) {
	rows, err := s.db.Query(ctx, query, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var c *credential
	for rows.Next() {
		var p Principal
		var created, used, role string
		var disabled bool
		var g Grant
		err := rows.Scan(&created, &used, &p.UserID, &p.Username, &p.PersonID, &p.MustChangePassword, &disabled,
			&role, &g.OrgID, &g.OrgPath, &g.OrgName)
		if err != nil {
			return nil, err
		}
		if c == nil {
			c = &credential{principal: &p, disabled: disabled}
			if c.created, err = store.ParseTime(created); err != nil {
				return nil, err
			}
			if used != "" {
				if c.lastUsed, err = store.ParseTime(used); err != nil {
					return nil, err
				}
			}
		}
		if role == "" {
			continue
		}
		// A role key no longer built in grants nothing.
		if g.Role, _ = LookupRole(RoleKey(role)); g.Role.Key != "" {
			c.principal.Grants = append(c.principal.Grants, g)
		}
	}
	return c, rows.Err()
}

// ChangePassword changes p's own password. It clears a forced change and ends p's other
// sessions, which may be someone else's.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, oldPassword, newPassword string) error {
	if p.UserID == 0 {
		return errs.Invalid("user", "系统身份没有密码")
	}
	var hash string
	if err := s.db.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = ?`, p.UserID).Scan(&hash); err != nil {
		return err
	}
	// The old password is checked first: comparing the new one with it earlier would confirm a
	// guessed old password.
	if ok, err := VerifyPassword(ctx, hash, oldPassword); err != nil {
		return err
	} else if !ok {
		return errs.Invalid("old_password", "原密码错误")
	}
	if err := ValidatePassword(newPassword); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return errs.Invalid("password", "新密码不能与原密码相同")
	}
	newHash, err := HashPassword(ctx, newPassword)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := store.FormatTime(tx.Now())
		_, err := tx.Exec(ctx, `UPDATE users SET password_hash = ?, must_change_password = FALSE, password_changed_at = ?,
			updated_at = ? WHERE id = ?`, newHash, now, now, p.UserID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, p.UserID, p.session); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "user.change_password", EntityType: "user", EntityID: p.UserID,
			Summary: map[string]string{"username": p.Username},
		})
	})
}
