package passbook

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Limits of the points store. Prices and stock are bounded so that a price times an order's
// quantity can never overflow, and a typo of three extra zeros is refused rather than stored.
const (
	maxPriceFen         = 10_000_000 // 十万元
	maxStock            = 1_000_000
	maxRewardPhotoBytes = 2 << 20
)

// Reward is a prize in the points store (积分超市), stocked by a township or a community and
// redeemable by the members of every passbook below it.
type Reward struct {
	ID          int64     `json:"id"`
	OrgID       int64     `json:"org_id"`
	OrgName     string    `json:"org_name"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	PriceFen    int64     `json:"price_fen"`
	Stock       int64     `json:"stock"`
	HasPhoto    bool      `json:"has_photo"`
	Archived    bool      `json:"archived"`
	UpdatedAt   time.Time `json:"-"` // the last edit; versions the photo's address
	orgPath     string
}

// RewardInput creates a reward; Stock is the opening stock, booked as the first stock move.
type RewardInput struct {
	OrgID       int64  `json:"org_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	PriceFen    int64  `json:"price_fen"`
	Stock       int64  `json:"stock"`
	Photo       []byte `json:"-"` // optional, from the page's upload
}

// RewardChange edits a reward. Stock is not here: it moves only by adjustments and orders,
// each leaving a stock move.
type RewardChange struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	PriceFen    int64  `json:"price_fen"`
	Archived    bool   `json:"archived"`
}

// StockMove is one line of a reward's stock history.
type StockMove struct {
	ID         int64     `json:"id"`
	Delta      int64     `json:"delta"`
	StockAfter int64     `json:"stock_after"`
	Reason     string    `json:"reason"`
	OrderID    int64     `json:"order_id,omitempty"`
	Actor      string    `json:"actor"`
	At         time.Time `json:"at"`
}

// RewardPhoto is a reward's picture as stored.
type RewardPhoto struct {
	Data      []byte
	Type      string // image/jpeg or image/png
	UpdatedAt time.Time
}

// RewardFilter selects rewards for a list.
type RewardFilter struct {
	PassbookID int64 // only what this passbook may redeem now: the store's shelf
	OrgID      int64 // stocked inside this organisation's subtree
	Managed    bool  // only rewards p manages, not those offered to p's members from above
	Archived   bool  // include archived rewards
	Query      string
	Limit      int
	Cursor     int64
}

func cleanRewardText(name, description string, priceFen int64) (string, string, error) {
	name, err := requiredText("name", "奖品名称", name, 50)
	if err != nil {
		return "", "", err
	}
	description = strings.TrimSpace(description)
	if utf8.RuneCountInString(description) > 500 {
		return "", "", errs.Invalid("description", "奖品说明不能超过500个字")
	}
	if priceFen <= 0 || priceFen > maxPriceFen {
		return "", "", errs.Invalid("price_fen", "兑换价格应在 0.01 到 100000.00 元之间")
	}
	return name, description, nil
}

const rewardColumns = `r.id, r.org_id, o.name, o.path, r.name, r.description, r.price_fen, r.stock,
	r.photo_type, r.archived_at, r.updated_at`

const rewardFrom = ` FROM pb_rewards r JOIN orgs o ON o.id = r.org_id`

func scanReward(row interface{ Scan(...any) error }) (Reward, error) {
	var rw Reward
	var photoType, updated string
	var archived sql.NullString
	err := row.Scan(&rw.ID, &rw.OrgID, &rw.OrgName, &rw.orgPath, &rw.Name, &rw.Description, &rw.PriceFen,
		&rw.Stock, &photoType, &archived, &updated)
	if err != nil {
		return rw, err
	}
	rw.HasPhoto, rw.Archived = photoType != "", archived.Valid
	rw.UpdatedAt, err = store.ParseTime(updated)
	return rw, err
}

// rewardScope renders, over the stocking organisation o, the rewards p may see: those stocked
// inside p's subtrees (staff who manage them), and those stocked by an organisation at or above
// a place p works in or has a passbook in, which are on offer to the members there.
func rewardScope(ctx context.Context, q querier, p *auth.Principal) (string, []any, error) {
	sc := p.Scope(PermView)
	cond, args := sc.Where("o.path", "")
	if sc.All {
		return cond, args, nil
	}
	places := sc.Paths
	if sc.PersonID != 0 {
		own, err := ownPassbookPaths(ctx, q, sc.PersonID)
		if err != nil {
			return "", nil, err
		}
		places = slices.Concat(places, own)
	}
	seen := map[int64]bool{}
	var ids []any
	for _, path := range places {
		for _, id := range ancestorIDs(path) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return cond, args, nil
	}
	return "(" + cond + " OR o.id IN (" + placeholders(len(ids)) + "))", append(args, ids...), nil
}

// ownPassbookPaths are the organisation paths of a person's open passbooks.
func ownPassbookPaths(ctx context.Context, q querier, personID int64) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT o.path FROM pb_passbooks pb JOIN orgs o ON o.id = pb.org_id
		WHERE pb.person_id = ? AND pb.state <> 'closed'`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var paths []string
	for rows.Next() {
		var path string
		if err := rows.Scan(&path); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, rows.Err()
}

// loadReward reads a reward p may see; anything else is not found.
func loadReward(ctx context.Context, q querier, p *auth.Principal, id int64) (Reward, error) {
	cond, args, err := rewardScope(ctx, q, p)
	if err != nil {
		return Reward{}, err
	}
	rw, err := scanReward(q.QueryRow(ctx, `SELECT `+rewardColumns+rewardFrom+` WHERE r.id = ? AND `+cond,
		append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return rw, errs.NotFound("奖品不存在")
	}
	return rw, err
}

// loadManagedReward reads a reward p may change: one stocked inside p's subtree for PermManage.
// Staff who merely see a reward offered from above are refused.
func loadManagedReward(ctx context.Context, q querier, p *auth.Principal, id int64) (Reward, error) {
	rw, err := loadReward(ctx, q, p, id)
	if err == nil && !p.Scope(PermManage).Covers(rw.orgPath) {
		err = errs.Forbidden("只有提供该奖品的组织可以管理它")
	}
	return rw, err
}

// GetReward returns a reward p may see.
func (s *Service) GetReward(ctx context.Context, p *auth.Principal, id int64) (Reward, error) {
	return loadReward(ctx, s.db, p, id)
}

// ListRewards lists the rewards p may see, by id, a page at a time. With a passbook it lists
// the store's shelf for that passbook: live rewards stocked at or above its community.
func (s *Service) ListRewards(ctx context.Context, p *auth.Principal, f RewardFilter) ([]Reward, int64, error) {
	var out []Reward
	limit := boundedLimit(f.Limit)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		where, args, err := rewardListWhere(ctx, tx, p, f)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+rewardColumns+rewardFrom+` WHERE `+strings.Join(where, " AND ")+
			` ORDER BY r.id LIMIT ?`, append(args, limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			rw, err := scanReward(rows)
			if err != nil {
				return err
			}
			out = append(out, rw)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

func rewardListWhere(ctx context.Context, tx *store.Tx, p *auth.Principal, f RewardFilter) ([]string, []any, error) {
	where, args, err := rewardShelf(ctx, tx, p, f)
	if err != nil {
		return nil, nil, err
	}
	if !f.Archived || f.PassbookID != 0 {
		where = append(where, "r.archived_at IS NULL")
	}
	if f.OrgID != 0 {
		o, err := visibleOrg(ctx, tx, p, PermView, f.OrgID)
		if err != nil {
			return nil, nil, err
		}
		lo, hi := store.PathRange(o.path)
		where, args = append(where, "o.path >= ? AND o.path < ?"), append(args, lo, hi)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where, args = append(where, `r.name LIKE ? ESCAPE '\'`), append(args, store.LikeContains(q))
	}
	if f.Cursor > 0 {
		where, args = append(where, "r.id > ?"), append(args, f.Cursor)
	}
	return where, args, nil
}

// rewardShelf is the first condition of a reward list: a passbook's shelf (what it may
// redeem), what p manages, or everything p may see.
func rewardShelf(ctx context.Context, tx *store.Tx, p *auth.Principal, f RewardFilter) ([]string, []any, error) {
	switch {
	case f.PassbookID != 0:
		b, err := loadPassbook(ctx, tx, p, PermRedeem, f.PassbookID)
		if err != nil {
			return nil, nil, err
		}
		var args []any
		for _, id := range ancestorIDs(b.orgPath) {
			args = append(args, id)
		}
		return []string{"r.org_id IN (" + placeholders(len(args)) + ")"}, args, nil
	case f.Managed:
		cond, args := p.Scope(PermManage).Where("o.path", "")
		return []string{cond}, args, nil
	}
	cond, args, err := rewardScope(ctx, tx, p)
	return []string{cond}, args, err
}

// boundedLimit bounds a requested page size; 0 asks for the default.
func boundedLimit(n int) int {
	if n <= 0 || n > 200 {
		return 50
	}
	return n
}

// CreateReward puts a new reward in the store of a township or community p manages, with its
// opening stock as the first stock move.
func (s *Service) CreateReward(ctx context.Context, p *auth.Principal, in RewardInput) (Reward, error) {
	name, description, err := cleanRewardText(in.Name, in.Description, in.PriceFen)
	if err != nil {
		return Reward{}, err
	}
	if in.Stock < 0 || in.Stock > maxStock {
		return Reward{}, errs.Invalid("stock", "库存应在 0 到 %d 之间", maxStock)
	}
	var photoType string
	if in.Photo != nil {
		if photoType, err = checkRewardPhoto(in.Photo); err != nil {
			return Reward{}, err
		}
	}
	var out Reward
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := stockingOrg(ctx, tx, p, in.OrgID)
		if err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		id, err := tx.Insert(ctx, `INSERT INTO pb_rewards (org_id, name, description, price_fen, stock, photo, photo_type, created_at, updated_at)
			VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)`, o.id, name, description, in.PriceFen, in.Photo, photoType, now, now)
		if err != nil {
			return err
		}
		if in.Stock > 0 {
			if _, err := moveStock(ctx, tx, p.Actor(), id, in.Stock, "初始库存", 0); err != nil {
				return err
			}
		}
		if out, err = loadReward(ctx, tx, auth.System(), id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.reward_create", EntityType: "pb_reward",
			EntityID: id, OrgID: o.id, Summary: map[string]any{"name": name, "price_fen": in.PriceFen, "stock": in.Stock,
				"photo_bytes": len(in.Photo)}})
	})
	return out, err
}

// stockingOrg checks that a reward may be stocked by an organisation: a township or a
// community (village) that p manages.
func stockingOrg(ctx context.Context, tx *store.Tx, p *auth.Principal, orgID int64) (orgRef, error) {
	o, err := visibleOrg(ctx, tx, p, PermManage, orgID)
	if err != nil {
		return o, errs.Invalid("org_id", "%s", errs.As(err).Message)
	}
	var kind string
	if err := tx.QueryRow(ctx, `SELECT kind FROM orgs WHERE id = ?`, o.id).Scan(&kind); err != nil {
		return o, err
	}
	if kind != "township" && kind != "village" {
		return o, errs.Invalid("org_id", "奖品应由乡镇（街道）或村（社区）提供，%s 不是", o.name)
	}
	return o, nil
}

// UpdateReward edits a reward's name, description and price, or archives it (下架) or puts it
// back. Orders already placed keep the price they were placed at.
func (s *Service) UpdateReward(ctx context.Context, p *auth.Principal, id int64, in RewardChange) (Reward, error) {
	name, description, err := cleanRewardText(in.Name, in.Description, in.PriceFen)
	if err != nil {
		return Reward{}, err
	}
	var out Reward
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := loadManagedReward(ctx, tx, p, id)
		if err != nil {
			return err
		}
		now := store.FormatTime(tx.Now())
		var archivedAt any
		if in.Archived {
			archivedAt = now
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_rewards SET name = ?, description = ?, price_fen = ?,
			archived_at = CASE WHEN ? THEN COALESCE(archived_at, ?) END, updated_at = ? WHERE id = ?`,
			name, description, in.PriceFen, in.Archived, archivedAt, now, id); err != nil {
			return err
		}
		if out, err = loadReward(ctx, tx, auth.System(), id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.reward_update", EntityType: "pb_reward",
			EntityID: id, OrgID: old.OrgID, Summary: rewardChanges(old, out)})
	})
	return out, err
}

// rewardChanges lists what an edit changed, as before and after.
func rewardChanges(old, now Reward) map[string]any {
	changed := map[string]any{}
	if old.Name != now.Name {
		changed["name"] = []string{old.Name, now.Name}
	}
	if old.Description != now.Description {
		changed["description"] = []string{old.Description, now.Description}
	}
	if old.PriceFen != now.PriceFen {
		changed["price_fen"] = []int64{old.PriceFen, now.PriceFen}
	}
	if old.Archived != now.Archived {
		changed["archived"] = []bool{old.Archived, now.Archived}
	}
	return changed
}

// SetRewardPhoto replaces a reward's photo with a JPEG or PNG of at most 2 MB. The type is
// read from the bytes, not from what the browser claims.
func (s *Service) SetRewardPhoto(ctx context.Context, p *auth.Principal, id int64, data []byte) error {
	ctype, err := checkRewardPhoto(data)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		rw, err := loadManagedReward(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_rewards SET photo = ?, photo_type = ?, updated_at = ? WHERE id = ?`,
			data, ctype, store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.reward_photo", EntityType: "pb_reward",
			EntityID: id, OrgID: rw.OrgID, Summary: map[string]any{"name": rw.Name, "type": ctype, "bytes": len(data)}})
	})
}

// checkRewardPhoto accepts a JPEG or PNG of at most 2 MB and returns its type.
func checkRewardPhoto(data []byte) (string, error) {
	if len(data) == 0 {
		return "", errs.Invalid("photo", "请选择照片")
	}
	if len(data) > maxRewardPhotoBytes {
		return "", errs.Invalid("photo", "照片不能超过 2 MB")
	}
	ctype := http.DetectContentType(data)
	if ctype != "image/jpeg" && ctype != "image/png" {
		return "", errs.Invalid("photo", "照片应为 JPEG 或 PNG 格式")
	}
	return ctype, nil
}

// GetRewardPhoto returns the photo of a reward p may see.
func (s *Service) GetRewardPhoto(ctx context.Context, p *auth.Principal, id int64) (RewardPhoto, error) {
	var ph RewardPhoto
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rw, err := loadReward(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !rw.HasPhoto {
			return errs.NotFound("该奖品没有照片")
		}
		ph.UpdatedAt = rw.UpdatedAt
		return tx.QueryRow(ctx, `SELECT photo, photo_type FROM pb_rewards WHERE id = ?`, id).Scan(&ph.Data, &ph.Type)
	})
	return ph, err
}

// AdjustStock restocks (delta > 0) or writes off (delta < 0) a reward with a reason; a
// write-off that would leave the stock below zero is refused and nothing is written.
func (s *Service) AdjustStock(ctx context.Context, p *auth.Principal, id, delta int64, reason string) (Reward, error) {
	if delta == 0 || delta > maxStock || delta < -maxStock {
		return Reward{}, errs.Invalid("delta", "调整数量应为非零整数：正数入库，负数报损出库")
	}
	reason, err := requiredText("reason", "调整原因", reason, 100)
	if err != nil {
		return Reward{}, err
	}
	var out Reward
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		rw, err := loadManagedReward(ctx, tx, p, id)
		if err != nil {
			return err
		}
		after, err := moveStock(ctx, tx, p.Actor(), id, delta, reason, 0)
		if err != nil {
			return err
		}
		out = rw
		out.Stock = after
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.reward_stock", EntityType: "pb_reward",
			EntityID: id, OrgID: rw.OrgID, Summary: map[string]any{"name": rw.Name, "delta": delta, "stock_after": after, "reason": reason}})
	})
	return out, err
}

// moveStock changes a reward's stock by delta and appends the move.
func moveStock(ctx context.Context, tx *store.Tx, actor audit.Actor, rewardID, delta int64, reason string, orderID int64) (int64, error) {
	after, err := shiftStock(ctx, tx, rewardID, delta)
	if err != nil {
		return 0, err
	}
	return after, logStockMove(ctx, tx, actor, rewardID, delta, after, reason, orderID)
}

// shiftStock changes a reward's stock by delta and returns the stock after. The check that the
// stock stays at or above zero is the WHERE of the UPDATE itself, so concurrent orders can never
// oversell: each sees the stock the one before it left, and the one that would go below zero
// changes nothing and is refused.
func shiftStock(ctx context.Context, tx *store.Tx, rewardID, delta int64) (int64, error) {
	var after int64
	err := tx.QueryRow(ctx, `UPDATE pb_rewards SET stock = stock + ? WHERE id = ? AND stock + ? >= 0 RETURNING stock`,
		delta, rewardID, delta).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		var stock int64
		if err := tx.QueryRow(ctx, `SELECT stock FROM pb_rewards WHERE id = ?`, rewardID).Scan(&stock); err != nil {
			return 0, err
		}
		return 0, errs.Conflict("库存不足：当前库存 %d 件", stock)
	}
	return after, err
}

// logStockMove appends a line to a reward's stock history.
func logStockMove(ctx context.Context, tx *store.Tx, actor audit.Actor, rewardID, delta, after int64, reason string, orderID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO pb_stock_moves (reward_id, delta, stock_after, reason, order_id, actor_id, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, rewardID, delta, after, reason, nullID(orderID), nullID(actor.UserID), actor.Name,
		store.FormatTime(tx.Now()))
	return err
}

// StockMoves lists a managed reward's stock history, newest first, a page at a time.
func (s *Service) StockMoves(ctx context.Context, p *auth.Principal, rewardID int64, limit int, cursor int64) ([]StockMove, int64, error) {
	limit = boundedLimit(limit)
	var out []StockMove
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := loadManagedReward(ctx, tx, p, rewardID); err != nil {
			return err
		}
		if cursor <= 0 {
			cursor = 1<<63 - 1
		}
		rows, err := tx.Query(ctx, `SELECT id, delta, stock_after, reason, COALESCE(order_id, 0), actor, created_at
			FROM pb_stock_moves WHERE reward_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, rewardID, cursor, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m StockMove
			var at string
			if err := rows.Scan(&m.ID, &m.Delta, &m.StockAfter, &m.Reason, &m.OrderID, &m.Actor, &at); err != nil {
				return err
			}
			if m.At, err = store.ParseTime(at); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}
