package passbook

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Settings are an organisation's rules for the passbook, inherited by its subtree.
type Settings struct {
	OrgID                   int64  `json:"org_id"`         // where they are set; 0 = the defaults
	FenPerPoint             int64  `json:"fen_per_point"`  // deposit earned per point, in fen
	PublicityDays           int    `json:"publicity_days"` // 公示 length; 0 posts on approval
	SecondReview            bool   `json:"second_review"`
	DeductionsReduceDeposit bool   `json:"deductions_reduce_deposit"`
	DepositExpiry           string `json:"deposit_expiry"` // none | year_end | months
	ExpiryMonths            int    `json:"expiry_months"`
	RankingsPublic          bool   `json:"rankings_public"`
}

// DefaultSettings apply where no organisation above has set any: a point is worth one yuan,
// 公示 lasts seven days, deposits never expire.
var DefaultSettings = Settings{FenPerPoint: 100, PublicityDays: 7, DepositExpiry: "none", RankingsPublic: true}

// validate checks the settings a user entered.
func (s Settings) validate() error {
	switch {
	case s.FenPerPoint < 0 || s.FenPerPoint > 100000:
		return errs.Invalid("fen_per_point", "折算比例应在 0 到 100000 分之间")
	case s.PublicityDays < 0 || s.PublicityDays > 60:
		return errs.Invalid("publicity_days", "公示天数应在 0 到 60 天之间")
	case s.DepositExpiry != "none" && s.DepositExpiry != "year_end" && s.DepositExpiry != "months":
		return errs.Invalid("deposit_expiry", "存款有效期应为：不过期、当年年底或若干个月")
	case s.DepositExpiry == "months" && (s.ExpiryMonths < 1 || s.ExpiryMonths > 120):
		return errs.Invalid("expiry_months", "有效月数应在 1 到 120 之间")
	}
	return nil
}

// expiresOn is the day deposit earned on date expires under these settings, "" for never.
func (s Settings) expiresOn(date string) string {
	d, err := time.Parse(store.DateLayout, date)
	if err != nil {
		return ""
	}
	switch s.DepositExpiry {
	case "year_end":
		return fmt.Sprintf("%d-12-31", d.Year())
	case "months":
		return d.AddDate(0, s.ExpiryMonths, 0).Format(store.DateLayout)
	}
	return ""
}

// ancestorIDs lists the ids in a materialised path, root first: "/1/5/23/" → 1, 5, 23.
func ancestorIDs(path string) []int64 {
	var ids []int64
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(part, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// settingsAt finds the settings that govern an organisation: its own, else the nearest
// ancestor's, else the defaults.
func settingsAt(ctx context.Context, q querier, orgPath string) (Settings, error) {
	ids := ancestorIDs(orgPath)
	if len(ids) == 0 {
		return DefaultSettings, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.Query(ctx, `SELECT org_id, fen_per_point, publicity_days, second_review, deductions_reduce_deposit,
		deposit_expiry, expiry_months, rankings_public FROM pb_settings WHERE org_id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return Settings{}, err
	}
	defer rows.Close()
	found := map[int64]Settings{}
	for rows.Next() {
		var s Settings
		if err := rows.Scan(&s.OrgID, &s.FenPerPoint, &s.PublicityDays, &s.SecondReview, &s.DeductionsReduceDeposit,
			&s.DepositExpiry, &s.ExpiryMonths, &s.RankingsPublic); err != nil {
			return Settings{}, err
		}
		found[s.OrgID] = s
	}
	if err := rows.Err(); err != nil {
		return Settings{}, err
	}
	for i := len(ids) - 1; i >= 0; i-- {
		if s, ok := found[ids[i]]; ok {
			return s, nil
		}
	}
	return DefaultSettings, nil
}

// GetSettings returns the settings that govern an organisation the caller may see.
func (s *Service) GetSettings(ctx context.Context, p *auth.Principal, orgID int64) (Settings, error) {
	o, err := visibleOrg(ctx, s.db, p, PermView, orgID)
	if err != nil {
		return Settings{}, err
	}
	return settingsAt(ctx, s.db, o.path)
}

// SetSettings sets an organisation's own settings, which its subtree inherits.
func (s *Service) SetSettings(ctx context.Context, p *auth.Principal, orgID int64, in Settings) (Settings, error) {
	if err := in.validate(); err != nil {
		return Settings{}, err
	}
	in.OrgID = orgID
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := visibleOrg(ctx, tx, p, PermManage, orgID)
		if err != nil {
			return err
		}
		old, err := settingsAt(ctx, tx, o.path)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO pb_settings (org_id, fen_per_point, publicity_days, second_review,
			deductions_reduce_deposit, deposit_expiry, expiry_months, rankings_public, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET fen_per_point = excluded.fen_per_point,
				publicity_days = excluded.publicity_days, second_review = excluded.second_review,
				deductions_reduce_deposit = excluded.deductions_reduce_deposit,
				deposit_expiry = excluded.deposit_expiry, expiry_months = excluded.expiry_months,
				rankings_public = excluded.rankings_public, updated_at = excluded.updated_at`,
			orgID, in.FenPerPoint, in.PublicityDays, in.SecondReview, in.DeductionsReduceDeposit,
			in.DepositExpiry, in.ExpiryMonths, in.RankingsPublic, store.FormatTime(tx.Now()))
		if err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.settings", EntityType: "org",
			EntityID: orgID, OrgID: orgID, Summary: map[string]any{"before": old, "after": in}})
	})
	return in, err
}
