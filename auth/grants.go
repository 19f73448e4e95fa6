package auth

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"grassroots/audit"
	"grassroots/errs"
	"grassroots/store"
)

// resolveGrant checks that p may hand out the requested grant and returns it complete.
func resolveGrant(ctx context.Context, tx *store.Tx, p *Principal, in GrantInput) (Grant, error) {
	role, ok := LookupRole(in.Role)
	if !ok {
		return Grant{}, errs.Invalid("role", "未知角色：%s", in.Role)
	}
	g := Grant{Role: role, OrgID: in.OrgID}
	var archived *string
	err := tx.QueryRow(ctx, `SELECT path, name, archived_at FROM orgs WHERE id = ?`, in.OrgID).Scan(&g.OrgPath, &g.OrgName, &archived)
	if errors.Is(err, sql.ErrNoRows) {
		return Grant{}, errs.NotFound("组织不存在")
	} else if err != nil {
		return Grant{}, err
	}
	if !p.CanGrant(role, g.OrgPath) {
		// An organisation outside the caller's charge is as missing as one that is not there:
		// a refusal naming it would let ids be probed for names.
		if !p.Scope(UsersManage).Covers(g.OrgPath) {
			return Grant{}, errs.NotFound("组织不存在")
		}
		return Grant{}, errs.Forbidden("无权在“%s”授予“%s”角色", g.OrgName, role.Name)
	}
	if archived != nil {
		return Grant{}, errs.Invalid("org_id", "“%s”已撤销，不能授权", g.OrgName)
	}
	return g, nil
}

func insertGrant(ctx context.Context, tx *store.Tx, userID int64, g Grant) error {
	_, err := tx.Exec(ctx, `INSERT INTO grants (user_id, role, org_id, created_at) VALUES (?, ?, ?, ?)`,
		userID, string(g.Role.Key), g.OrgID, store.FormatTime(tx.Now()))
	if tx.DB().Dialect.IsUniqueViolation(err) {
		return errs.Conflict("该用户已有此授权")
	}
	return err
}

// AddGrant gives user userID a role on an organisation.
func (s *Service) AddGrant(ctx context.Context, p *Principal, userID int64, in GrantInput) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := manageable(ctx, tx, p, userID, false)
		if err != nil {
			return err
		}
		g, err := resolveGrant(ctx, tx, p, in)
		if err != nil {
			return err
		}
		if err := insertGrant(ctx, tx, userID, g); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "user.grant", EntityType: "user", EntityID: userID, OrgID: g.OrgID,
			Summary: map[string]any{"username": a.username, "grant": userGrant(g)},
		})
	})
}

// RemoveGrant takes a role on an organisation away from user userID. It takes effect at the
// user's next request: principals are rebuilt from the database on every request.
func (s *Service) RemoveGrant(ctx context.Context, p *Principal, userID int64, in GrantInput) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := manageable(ctx, tx, p, userID, false)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(a.grants, func(g Grant) bool { return g.Role.Key == in.Role && g.OrgID == in.OrgID })
		if i < 0 {
			return errs.NotFound("授权不存在")
		}
		g := a.grants[i]
		if !p.CanGrant(g.Role, g.OrgPath) {
			return errs.Forbidden("无权撤销“%s”的“%s”角色", g.OrgName, g.Role.Name)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM grants WHERE user_id = ? AND role = ? AND org_id = ?`,
			userID, string(g.Role.Key), g.OrgID); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{
			Action: "user.revoke", EntityType: "user", EntityID: userID, OrgID: g.OrgID,
			Summary: map[string]any{"username": a.username, "grant": userGrant(g)},
		})
	})
}

// Bootstrap creates the first administrator when no account has the username: the admin role on
// every root organisation, and a generated password to change at first sign-in when password is
// empty. On an empty database there are no roots yet; call GrantAdminOnRoots after seeding.
func (s *Service) Bootstrap(ctx context.Context, username, password string) (generated string, created bool, err error) {
	name, err := validUsername(username)
	if err != nil {
		return "", false, err
	}
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE username = ?`, name).Scan(&n); err != nil || n > 0 {
		return "", false, err
	}
	_, generated, err = s.CreateUser(ctx, System(), NewUser{Username: name, DisplayName: "系统管理员", Password: password})
	if errs.Is(err, errs.KindConflict) {
		return "", false, nil // another server starting at the same time created it
	} else if err != nil {
		return "", false, err
	}
	return generated, true, s.GrantAdminOnRoots(ctx, name)
}

// GrantAdminOnRoots gives the named account the admin role on every root organisation it does
// not yet hold it on.
func (s *Service) GrantAdminOnRoots(ctx context.Context, username string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var userID int64
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE username = ?`, normaliseUsername(username)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("用户不存在")
		} else if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT o.id, o.path, o.name FROM orgs o
			WHERE o.parent_id IS NULL AND o.archived_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = ? AND g.role = ? AND g.org_id = o.id)
			ORDER BY o.id`, userID, string(RoleAdmin))
		if err != nil {
			return err
		}
		admin, _ := LookupRole(RoleAdmin)
		var missing []Grant
		for rows.Next() {
			g := Grant{Role: admin}
			if err := rows.Scan(&g.OrgID, &g.OrgPath, &g.OrgName); err != nil {
				rows.Close()
				return err
			}
			missing = append(missing, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, g := range missing {
			if err := insertGrant(ctx, tx, userID, g); err != nil {
				return err
			}
			err := audit.Append(ctx, tx, audit.System, audit.Event{
				Action: "user.grant", EntityType: "user", EntityID: userID, OrgID: g.OrgID,
				Summary: map[string]any{"username": normaliseUsername(username), "grant": userGrant(g)},
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}
