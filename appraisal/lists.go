package appraisal

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// The two lists.
const (
	ListNegative = "negative" // 负面清单 for 德 and 廉
	ListAdjust   = "adjust"   // 加扣分清单
)

// maxItemPoints bounds what one item adds or deducts: 100 分, in hundredths.
const maxItemPoints = 10000

// ListItemInput creates a list item. Points are hundredths of a point: what a negative item
// with the consequence deduct takes off, or what an add/deduct item adds (negative deducts).
type ListItemInput struct {
	OrgID       int64       `json:"org_id"`
	List        string      `json:"list"`
	Dimension   string      `json:"dimension"` // de or lian for negative items; optional for add/deduct
	Name        string      `json:"name"`
	Consequence Consequence `json:"consequence"` // negative items: deduct, cap or fail
	Points      int64       `json:"points"`
}

// ListItem is an item of a negative list or of the add/deduct catalog.
type ListItem struct {
	ID               int64       `json:"id"`
	OrgID            int64       `json:"org_id"`
	OrgName          string      `json:"org_name"`
	List             string      `json:"list"`
	Dimension        string      `json:"dimension"`
	Name             string      `json:"name"`
	Consequence      Consequence `json:"consequence"`
	ConsequenceLabel string      `json:"consequence_label"`
	Points           int64       `json:"points"`
	Inherited        bool        `json:"inherited"` // set by an organisation above the one listed
	Archived         bool        `json:"archived"`
	CreatedAt        time.Time   `json:"created_at"`
}

func (in *ListItemInput) normalise() error {
	var ps problems
	var err error
	if in.Name, err = text("name", "事项名称", in.Name, 100, true); err != nil {
		ps = append(ps, err)
	}
	in.Dimension = strings.TrimSpace(in.Dimension)
	switch in.List {
	case ListNegative:
		d, ok := ParseDim(in.Dimension)
		if !ok || d.Quantitative() {
			ps.add("dimension", "负面清单只适用于德、廉两项")
		} else {
			in.Dimension = d.Key()
		}
		switch in.Consequence {
		case ConsequenceDeduct:
			if in.Points < 1 || in.Points > maxItemPoints {
				ps.add("points", "扣分应在 0.01 到 100 分之间")
			}
		case ConsequenceCap, ConsequenceFail:
			if in.Points != 0 {
				ps.add("points", "“%s”的事项不扣分，分值应为 0", in.Consequence.Label())
			}
		default:
			ps.add("consequence", "负面清单事项的后果应为扣分（deduct）、最高评为一般（cap）或直接评为较差（fail）")
		}
	case ListAdjust:
		if in.Dimension != "" {
			if d, ok := ParseDim(in.Dimension); ok {
				in.Dimension = d.Key()
			} else {
				ps.add("dimension", "未知的考核维度：%s", in.Dimension)
			}
		}
		if in.Consequence != "" {
			ps.add("consequence", "加扣分事项没有后果一项，只有分值")
		}
		if in.Points == 0 || in.Points > maxItemPoints || in.Points < -maxItemPoints {
			ps.add("points", "加扣分应在 -100 到 100 分之间且不为 0")
		}
	default:
		ps.add("list", "清单应为 negative（负面清单）或 adjust（加扣分清单）")
	}
	return ps.err()
}

// CreateListItem adds an item to an organisation's negative list or add/deduct catalog; it
// applies there and in every unit below.
func (s *Service) CreateListItem(ctx context.Context, p *auth.Principal, in ListItemInput) (ListItem, error) {
	var out ListItem
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := allowedOrg(ctx, tx, p, PermManage, in.OrgID, "制定考核清单")
		if err != nil {
			return err
		}
		if err := in.normalise(); err != nil {
			return err
		}
		id, err := tx.Insert(ctx, `INSERT INTO ap_list_items (org_id, list, dimension, name, consequence, points, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, o.id, in.List, in.Dimension, in.Name, string(in.Consequence), in.Points, p.Username, store.FormatTime(tx.Now()))
		if err != nil {
			return err
		}
		out = ListItem{ID: id, OrgID: o.id, OrgName: o.name, List: in.List, Dimension: in.Dimension, Name: in.Name,
			Consequence: in.Consequence, ConsequenceLabel: in.Consequence.Label(), Points: in.Points, CreatedAt: tx.Now()}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.item_create", EntityType: "appraisal_item",
			EntityID: id, OrgID: o.id, Summary: in})
	})
	return out, err
}

// ArchiveListItem stops an item from being used for new entries; entries made with it stay.
func (s *Service) ArchiveListItem(ctx context.Context, p *auth.Principal, id int64) (ListItem, error) {
	var out ListItem
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var orgID int64
		var archived sql.NullString
		// The caller sees the items of the organisations in their sight and, inherited, of
		// those above them.
		cond, args := sight(p, PermManage)
		var above []int64
		for _, path := range p.Scope(PermView).Paths {
			above = append(above, ancestorIDs(path)...)
		}
		if len(above) > 0 {
			cond = "(" + cond + " OR o.id IN (" + placeholders(len(above)) + "))"
			args = append(args, int64Args(above)...)
		}
		var orgName string
		err := tx.QueryRow(ctx, `SELECT i.org_id, o.name, i.archived_at FROM ap_list_items i JOIN orgs o ON o.id = i.org_id
			WHERE i.id = ? AND `+cond, append([]any{id}, args...)...).Scan(&orgID, &orgName, &archived)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("清单事项不存在")
		}
		if err != nil {
			return err
		}
		o, err := allowedOrg(ctx, tx, p, PermManage, orgID, "修改考核清单")
		if errs.Is(err, errs.KindNotFound) {
			return errs.Forbidden("无权在“%s”修改考核清单", orgName)
		}
		if err != nil {
			return err
		}
		if archived.Valid {
			return errs.Conflict("该事项已停用")
		}
		if _, err := tx.Exec(ctx, `UPDATE ap_list_items SET archived_at = ? WHERE id = ?`, store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		items, err := queryItems(ctx, tx, `i.id = ?`, []any{id}, o.id)
		if err != nil || len(items) == 0 {
			return errors.Join(err, errors.New("appraisal: archived item vanished"))
		}
		out = items[0]
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.item_archive", EntityType: "appraisal_item",
			EntityID: id, OrgID: o.id, Summary: map[string]any{"name": out.Name}})
	})
	return out, err
}

// ItemFilter asks for the items in force at an organisation.
type ItemFilter struct {
	OrgID    int64
	List     string // negative | adjust | "" for both
	Archived bool   // include items no longer in use
}

// ListItems lists the items in force at an organisation: those of every organisation above
// it (the district's) and its own, district first.
func (s *Service) ListItems(ctx context.Context, p *auth.Principal, f ItemFilter) ([]ListItem, error) {
	var out []ListItem
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermView, f.OrgID)
		if err != nil {
			return err
		}
		ids := ancestorIDs(o.path)
		cond := `i.org_id IN (` + placeholders(len(ids)) + `)`
		args := int64Args(ids)
		if f.List != "" {
			if f.List != ListNegative && f.List != ListAdjust {
				return errs.Invalid("list", "清单应为 negative（负面清单）或 adjust（加扣分清单）")
			}
			cond += ` AND i.list = ?`
			args = append(args, f.List)
		}
		if !f.Archived {
			cond += ` AND i.archived_at IS NULL`
		}
		out, err = queryItems(ctx, tx, cond, args, o.id)
		return err
	})
	return out, err
}

func queryItems(ctx context.Context, q querier, cond string, args []any, listedAt int64) ([]ListItem, error) {
	rows, err := q.Query(ctx, `SELECT i.id, i.org_id, o.name, i.list, i.dimension, i.name, i.consequence, i.points,
			i.archived_at IS NOT NULL, i.created_at
		FROM ap_list_items i JOIN orgs o ON o.id = i.org_id
		WHERE `+cond+` ORDER BY o.depth, i.list, i.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ListItem
	for rows.Next() {
		var it ListItem
		var created string
		if err := rows.Scan(&it.ID, &it.OrgID, &it.OrgName, &it.List, &it.Dimension, &it.Name, &it.Consequence, &it.Points,
			&it.Archived, &created); err != nil {
			return nil, err
		}
		if it.CreatedAt, err = store.ParseTime(created); err != nil {
			return nil, err
		}
		it.ConsequenceLabel = it.Consequence.Label()
		it.Inherited = it.OrgID != listedAt
		out = append(out, it)
	}
	return out, rows.Err()
}
