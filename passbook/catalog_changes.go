package passbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// CreateItem adds an item to an organisation's catalog, which every organisation below it
// inherits. A code names one item wherever it applies: it may not repeat the code of an item
// above (which the organisation inherits) or below (which would then see two items with one
// code), archived ones included, so that 事项编码 in a batch sheet always means one item.
func (s *Service) CreateItem(ctx context.Context, p *auth.Principal, in ItemInput) (Item, error) {
	code, err := normaliseCode(in.Code)
	if err != nil {
		return Item{}, err
	}
	var out Item
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermManage, in.OrgID)
		if err != nil {
			return err
		}
		terms := in.ItemTerms
		if err := terms.normalise(store.LocalDate(tx.Now())); err != nil {
			return err
		}
		if err := tx.DB().Dialect.Serialize(ctx, tx, catalogLock); err != nil {
			return err
		}
		if err := codeFree(ctx, tx, o, code); err != nil {
			return err
		}
		id, err := tx.Insert(ctx, `INSERT INTO pb_items (org_id, code, current_version, created_at) VALUES (?, ?, 1, ?)`,
			o.id, code, store.FormatTime(tx.Now()))
		if err != nil {
			return err
		}
		if err := insertVersion(ctx, tx, p, id, 1, terms); err != nil {
			return err
		}
		if out, err = loadItem(ctx, tx, auth.System(), PermView, id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.item_create", EntityType: "pb_item",
			EntityID: id, OrgID: o.id, Summary: map[string]any{"code": code, "terms": terms}})
	})
	return out, err
}

// codeFree refuses a code already used on the organisation's line of the tree.
func codeFree(ctx context.Context, tx *store.Tx, o orgRef, code string) error {
	line, args := catalogAt(o.path)
	lo, hi := store.PathRange(o.path)
	var owner string
	err := tx.QueryRow(ctx, `SELECT o.name FROM pb_items i JOIN orgs o ON o.id = i.org_id
		WHERE i.code = ? AND (`+line+` OR (o.path >= ? AND o.path < ?)) LIMIT 1`,
		append(append([]any{code}, args...), lo, hi)...).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return &errs.Error{Kind: errs.KindConflict, Field: "code",
		Message: fmt.Sprintf("事项编码 %s 已被“%s”的积分事项使用；上下级组织的事项编码不能重复", code, owner)}
}

func insertVersion(ctx context.Context, tx *store.Tx, p *auth.Principal, itemID, version int64, t ItemTerms) error {
	var validTo any
	if t.ValidTo != "" {
		validTo = t.ValidTo
	}
	_, err := tx.Exec(ctx, `INSERT INTO pb_item_versions (item_id, version, name, category, points, unit, max_per_claim,
		cap_day, cap_month, cap_year, evidence_required, classes, valid_from, valid_to, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		itemID, version, t.Name, t.Category, t.Points, t.Unit, t.MaxPerClaim, t.CapDay, t.CapMonth, t.CapYear,
		t.EvidenceRequired, strings.Join(t.Classes, ","), t.ValidFrom, validTo, store.FormatTime(tx.Now()), p.Actor().Name)
	return err
}

// managedItem loads an item for a change: not found when the caller cannot see it, forbidden
// when they see it only because they inherit it.
func managedItem(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64) (Item, error) {
	it, err := loadItem(ctx, tx, p, PermView, id)
	if err != nil {
		return it, err
	}
	if !p.Scope(PermManage).Covers(it.orgPath) {
		return it, errs.Forbidden("该事项由“%s”制定，只能由其管理人员修改", it.OrgName)
	}
	return it, nil
}

// UpdateItem changes an item by writing its next version; claims made under earlier versions
// keep them. An item cannot turn from earning into deducting or back: that is a new item.
func (s *Service) UpdateItem(ctx context.Context, p *auth.Principal, id int64, terms ItemTerms) (Item, error) {
	var out Item
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		it, err := managedItem(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if it.Archived {
			return errs.Conflict("积分事项已停用，不能修改")
		}
		if err := terms.normalise(store.LocalDate(tx.Now())); err != nil {
			return err
		}
		if terms.Deduction() != it.Deduction() {
			return errs.Invalid("category", "加分事项与扣分事项不能互相转换，请新建事项")
		}
		if terms.same(it.ItemTerms) {
			out = it
			return nil
		}
		next := it.Version + 1
		if err := insertVersion(ctx, tx, p, id, next, terms); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_items SET current_version = ? WHERE id = ?`, next, id); err != nil {
			return err
		}
		if out, err = loadItem(ctx, tx, auth.System(), PermView, id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.item_update", EntityType: "pb_item",
			EntityID: id, OrgID: it.OrgID, Summary: map[string]any{"code": it.Code, "version": next,
				"before": it.ItemTerms, "after": terms}})
	})
	return out, err
}

// ArchiveItem stops an item (停用): it leaves the catalog and takes no new claims. Claims already
// made go on through review and 公示 under the version they were made under.
func (s *Service) ArchiveItem(ctx context.Context, p *auth.Principal, id int64) (Item, error) {
	var out Item
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		it, err := managedItem(ctx, tx, p, id)
		if err != nil || it.Archived {
			out = it
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE pb_items SET archived_at = ? WHERE id = ?`, store.FormatTime(tx.Now()), id); err != nil {
			return err
		}
		out = it
		out.Archived = true
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.item_archive", EntityType: "pb_item",
			EntityID: id, OrgID: it.OrgID, Summary: map[string]any{"code": it.Code, "name": it.Name}})
	})
	return out, err
}
