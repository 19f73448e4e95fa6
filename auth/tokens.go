package auth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"grassroots/audit"
	"grassroots/errs"
	"grassroots/store"
)

// tokenPrefix marks grassroots API tokens, so that secret scanners and people recognise them.
const tokenPrefix = "grt_"

// CreateToken creates an API token for p's own account. The token is returned once and stored
// only as its SHA-256.
func (s *Service) CreateToken(ctx context.Context, p *Principal, name string) (string, APIToken, error) {
	if p.UserID == 0 {
		return "", APIToken{}, errs.Invalid("user", "系统身份不能持有令牌，请指定用户")
	}
	return s.createToken(ctx, p, p.UserID, name)
}

// CreateTokenForUser creates an API token for the named account: the command line's
// `token create --user`. p must be able to change that account as a whole.
func (s *Service) CreateTokenForUser(ctx context.Context, p *Principal, username, name string) (string, APIToken, error) {
	var userID int64
	err := s.db.QueryRow(ctx, `SELECT id FROM users WHERE username = ?`, normaliseUsername(username)).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", APIToken{}, errs.NotFound("用户不存在")
	} else if err != nil {
		return "", APIToken{}, err
	}
	return s.createToken(ctx, p, userID, name)
}

// ownAccount is p's account for the audit record of a change p makes to it.
func ownAccount(p *Principal) account {
	a := account{username: p.Username}
	if len(p.Grants) > 0 {
		a.orgID = p.Grants[0].OrgID
	}
	return a
}

func (s *Service) createToken(ctx context.Context, p *Principal, userID int64, name string) (string, APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return "", APIToken{}, errs.Invalid("name", "令牌名称须为1至64个字")
	}
	secret := tokenPrefix + randomSecret()
	var t APIToken
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		a := ownAccount(p)
		if userID != p.UserID {
			var err error
			if a, err = manageable(ctx, tx, p, userID, true); err != nil {
				return err
			}
		}
		id, err := tx.Insert(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
			userID, name, hashSecret(secret), secret[:len(tokenPrefix)+8], store.FormatTime(tx.Now()))
		if err != nil {
			return err
		}
		if t, err = tokenByID(ctx, tx, id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "token.create", EntityType: "api_token", EntityID: id, OrgID: a.orgID,
			Summary: map[string]string{"username": a.username, "name": name, "prefix": t.Prefix},
		})
	})
	if err != nil {
		return "", APIToken{}, err
	}
	return secret, t, nil
}

const tokenColumns = `id, user_id, name, prefix, created_at, last_used_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var created string
	var used, revoked *string
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &created, &used, &revoked)
	if err != nil {
		return t, err
	}
	if t.CreatedAt, err = store.ParseTime(created); err != nil {
		return t, err
	}
	if t.LastUsedAt, err = nullTime(used); err != nil {
		return t, err
	}
	t.RevokedAt, err = nullTime(revoked)
	return t, err
}

func tokenByID(ctx context.Context, tx *store.Tx, id int64) (APIToken, error) {
	return scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = ?`, id))
}

// ListTokens lists p's own tokens, newest first, revoked ones included.
func (s *Service) ListTokens(ctx context.Context, p *Principal) ([]APIToken, error) {
	var out []APIToken
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = userTokens(ctx, tx, p.UserID)
		return err
	})
	return out, err
}

// ListTokensOf lists the tokens of an account in p's users.manage scope.
func (s *Service) ListTokensOf(ctx context.Context, p *Principal, userID int64) ([]APIToken, error) {
	var out []APIToken
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if userID != p.UserID {
			if _, err := manageable(ctx, tx, p, userID, false); err != nil {
				return err
			}
		}
		var err error
		out, err = userTokens(ctx, tx, userID)
		return err
	})
	return out, err
}

func userTokens(ctx context.Context, tx *store.Tx, userID int64) ([]APIToken, error) {
	rows, err := tx.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes one of p's own tokens, or a token of an account in p's users.manage
// scope. Revoking a revoked token changes nothing.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tokenByID(ctx, tx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("令牌不存在")
		} else if err != nil {
			return err
		}
		a := ownAccount(p)
		if t.UserID != p.UserID {
			if a, err = manageable(ctx, tx, p, t.UserID, false); errs.Is(err, errs.KindNotFound) {
				return errs.NotFound("令牌不存在")
			} else if err != nil {
				return err
			}
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "token.revoke", EntityType: "api_token", EntityID: id, OrgID: a.orgID,
			Summary: map[string]string{"username": a.username, "name": t.Name, "prefix": t.Prefix},
		})
	})
}

// AuthenticateToken returns the principal of an API token: its user, with the user's grants.
func (s *Service) AuthenticateToken(ctx context.Context, token, ip string) (*Principal, error) {
	invalid := errs.Unauthenticated("令牌无效或已吊销")
	if !strings.HasPrefix(token, tokenPrefix) {
		return nil, invalid
	}
	hash := hashSecret(token)
	c, err := s.credential(ctx, tokenCredential, hash)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, invalid
	}
	if c.disabled {
		return nil, errs.Unauthenticated("账号已停用")
	}
	if now := s.db.Now(); now.Sub(c.lastUsed) >= touchInterval {
		if err := s.bookkeep(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?`, store.FormatTime(now), hash); err != nil {
			return nil, err
		}
	}
	c.principal.IP = ip
	return c.principal, nil
}
