package passbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Passbook states.
const (
	StateActive = "active"
	StateFrozen = "frozen"
	StateClosed = "closed"
)

// Passbook is a member's 红色存折 with its balances.
type Passbook struct {
	ID          int64     `json:"id"`
	OrgID       int64     `json:"org_id"`
	OrgName     string    `json:"org_name"`
	PersonID    int64     `json:"person_id"`
	PersonName  string    `json:"person_name"`
	Number      string    `json:"number"`
	Class       string    `json:"class"`
	State       string    `json:"state"`
	OpenedOn    string    `json:"opened_on"`
	HonorPoints int64     `json:"honor_points"`
	DepositFen  int64     `json:"deposit_fen"`
	CreatedAt   time.Time `json:"created_at"`
	orgPath     string
	honorAcc    int64
	depositAcc  int64
}

// OpenInput opens a passbook for a person of a community. Number may be left empty to have one
// assigned; communities that already handed out paper passbooks type the printed number.
type OpenInput struct {
	PersonID int64  `json:"person_id"`
	OrgID    int64  `json:"org_id"` // the community; defaults to the person's own organisation
	Number   string `json:"number"`
	Class    string `json:"class"` // e.g. 离退休党员
	OpenedOn string `json:"opened_on"`
}

const passbookColumns = `pb.id, pb.org_id, o.name, o.path, pb.person_id, pe.name, pb.number, pb.class, pb.state,
	pb.opened_on, pb.created_at, h.id, h.balance, d.id, d.balance`

const passbookFrom = ` FROM pb_passbooks pb
	JOIN orgs o ON o.id = pb.org_id
	JOIN people pe ON pe.id = pb.person_id
	JOIN pb_accounts h ON h.passbook_id = pb.id AND h.kind = 'honor'
	JOIN pb_accounts d ON d.passbook_id = pb.id AND d.kind = 'deposit'`

func scanPassbook(row interface{ Scan(...any) error }) (Passbook, error) {
	var b Passbook
	var created string
	err := row.Scan(&b.ID, &b.OrgID, &b.OrgName, &b.orgPath, &b.PersonID, &b.PersonName, &b.Number, &b.Class,
		&b.State, &b.OpenedOn, &created, &b.honorAcc, &b.HonorPoints, &b.depositAcc, &b.DepositFen)
	if err != nil {
		return b, err
	}
	b.CreatedAt, err = store.ParseTime(created)
	return b, err
}

// loadPassbook reads a passbook the caller reaches with perm: in a subtree they hold it on,
// or their own with a self-only role.
func loadPassbook(ctx context.Context, q querier, p *auth.Principal, perm auth.Permission, id int64) (Passbook, error) {
	cond, args := p.Scope(perm).Where("o.path", "pb.person_id")
	b, err := scanPassbook(q.QueryRow(ctx, `SELECT `+passbookColumns+passbookFrom+` WHERE pb.id = ? AND `+cond,
		append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return b, errs.NotFound("存折不存在")
	}
	return b, err
}

// GetPassbook returns a passbook with its balances.
func (s *Service) GetPassbook(ctx context.Context, p *auth.Principal, id int64) (Passbook, error) {
	return loadPassbook(ctx, s.db, p, PermView, id)
}

// PassbookFilter selects passbooks for a list.
type PassbookFilter struct {
	OrgID  int64 // subtree; 0 = the caller's whole scope
	State  string
	Query  string // name or number contains
	Limit  int
	Cursor int64
}

// ListPassbooks lists passbooks in the caller's scope, by id, a page at a time.
func (s *Service) ListPassbooks(ctx context.Context, p *auth.Principal, f PassbookFilter) ([]Passbook, int64, error) {
	cond, args := p.Scope(PermView).Where("o.path", "pb.person_id")
	where := []string{cond}
	if f.OrgID != 0 {
		o, err := visibleOrg(ctx, s.db, p, PermView, f.OrgID)
		if err != nil {
			return nil, 0, err
		}
		lo, hi := store.PathRange(o.path)
		where, args = append(where, "o.path >= ? AND o.path < ?"), append(args, lo, hi)
	}
	if f.State != "" {
		where, args = append(where, "pb.state = ?"), append(args, f.State)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, `(pe.name LIKE ? ESCAPE '\' OR pb.number LIKE ? ESCAPE '\')`)
		args = append(args, store.LikeContains(q), store.LikeContains(q))
	}
	if f.Cursor > 0 {
		where, args = append(where, "pb.id > ?"), append(args, f.Cursor)
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := s.db.Query(ctx, `SELECT `+passbookColumns+passbookFrom+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY pb.id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Passbook
	for rows.Next() {
		b, err := scanPassbook(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// MyPassbooks lists the caller's own passbooks (usually one).
func (s *Service) MyPassbooks(ctx context.Context, p *auth.Principal) ([]Passbook, error) {
	if p.PersonID == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+passbookColumns+passbookFrom+` WHERE pb.person_id = ? AND pb.state <> 'closed' ORDER BY pb.id`, p.PersonID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Passbook
	for rows.Next() {
		b, err := scanPassbook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// OpenPassbook opens a passbook in a community the caller manages, with its two accounts, for
// a person whose passbooks the caller keeps (in their passbook.manage scope); the number is
// assigned when not given.
func (s *Service) OpenPassbook(ctx context.Context, p *auth.Principal, in OpenInput) (Passbook, error) {
	in.Number, in.Class = strings.TrimSpace(in.Number), strings.TrimSpace(in.Class)
	if in.Class == "" {
		return Passbook{}, errs.Invalid("class", "请填写存折类别，如 离退休党员")
	}
	if utf8.RuneCountInString(in.Class) > 30 || utf8.RuneCountInString(in.Number) > 30 {
		return Passbook{}, errs.Invalid("number", "存折号和类别不能超过30个字")
	}
	var out Passbook
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		// The person must be one the caller keeps passbooks for, wherever the passbook is to
		// be opened: anyone else is as missing, so that ids cannot be probed for names.
		var personOrg int64
		var personPath string
		err := tx.QueryRow(ctx, `SELECT pe.org_id, o.path FROM people pe JOIN orgs o ON o.id = pe.org_id
			WHERE pe.id = ? AND pe.archived_at IS NULL`, in.PersonID).Scan(&personOrg, &personPath)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !p.Scope(PermManage).CoversPerson(in.PersonID, personPath) {
			return errs.Invalid("person_id", "人员不存在或已归档")
		}
		if err != nil {
			return err
		}
		if in.OrgID == 0 {
			in.OrgID = personOrg
		}
		o, err := visibleOrg(ctx, tx, p, PermManage, in.OrgID)
		if err != nil {
			return err
		}
		if in.OpenedOn == "" {
			in.OpenedOn = store.LocalDate(tx.Now())
		} else if _, err := time.Parse(store.DateLayout, in.OpenedOn); err != nil {
			return errs.Invalid("opened_on", "开户日期格式应为 YYYY-MM-DD")
		}
		if in.Number == "" {
			if in.Number, err = nextNumber(ctx, tx, o); err != nil {
				return err
			}
		}
		now := store.FormatTime(tx.Now())
		id, err := tx.Insert(ctx, `INSERT INTO pb_passbooks (org_id, person_id, number, class, state, opened_on, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'active', ?, ?, ?)`, o.id, in.PersonID, in.Number, in.Class, in.OpenedOn, now, now)
		if tx.DB().Dialect.IsUniqueViolation(err) {
			return errs.Conflict("存折号已被使用，或此人在该组织已有存折")
		}
		if err != nil {
			return err
		}
		for _, k := range []struct {
			kind  string
			asset Asset
		}{{accHonor, Points}, {accDeposit, Fen}} {
			if _, err := tx.Exec(ctx, `INSERT INTO pb_accounts (org_id, passbook_id, kind, asset, balance) VALUES (?, ?, ?, ?, 0)`,
				o.id, id, k.kind, string(k.asset)); err != nil {
				return err
			}
		}
		if _, err := ensureOrgAccounts(ctx, tx, o.id); err != nil {
			return err
		}
		if out, err = loadPassbook(ctx, tx, auth.System(), PermView, id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.open", EntityType: "passbook",
			EntityID: id, OrgID: o.id, Summary: map[string]any{"number": out.Number, "person": out.PersonName, "class": out.Class}})
	})
	return out, err
}

// nextNumber assigns the next printed number in a community: its division code (or "P" and
// its id) followed by a four-digit sequence.
func nextNumber(ctx context.Context, tx *store.Tx, o orgRef) (string, error) {
	var code sql.NullString
	if err := tx.QueryRow(ctx, `SELECT division_code FROM orgs WHERE id = ?`, o.id).Scan(&code); err != nil {
		return "", err
	}
	prefix := fmt.Sprintf("P%d-", o.id)
	if code.Valid && code.String != "" {
		prefix = code.String + "-"
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pb_passbooks WHERE org_id = ?`, o.id).Scan(&n); err != nil {
		return "", err
	}
	for {
		n++
		number := fmt.Sprintf("%s%04d", prefix, n)
		var taken int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pb_passbooks WHERE number = ?`, number).Scan(&taken); err != nil {
			return "", err
		}
		if taken == 0 {
			return number, nil
		}
	}
}

// SetPassbookState freezes, reactivates or closes a passbook. A closed passbook stays with its
// history and cannot be reopened; a frozen one can neither earn nor redeem.
func (s *Service) SetPassbookState(ctx context.Context, p *auth.Principal, id int64, state, reason string) (Passbook, error) {
	if state != StateActive && state != StateFrozen && state != StateClosed {
		return Passbook{}, errs.Invalid("state", "存折状态应为 active、frozen 或 closed")
	}
	var out Passbook
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		b, err := loadPassbook(ctx, tx, p, PermManage, id)
		if err != nil {
			return err
		}
		if b.State == StateClosed {
			return errs.Conflict("存折已销户，不能再变更状态")
		}
		if b.State == state {
			out = b
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_passbooks SET state = ?, updated_at = ? WHERE id = ?`,
			state, store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		out = b
		out.State = state
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.state", EntityType: "passbook",
			EntityID: id, OrgID: b.OrgID, Summary: map[string]any{"state": []string{b.State, state}, "reason": reason}})
	})
	return out, err
}
