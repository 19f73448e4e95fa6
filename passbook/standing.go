package passbook

import (
	"context"
	"database/sql"
	"errors"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
)

// Standing is where a passbook stands in one organisation: its rank (0 when it is not ranked)
// out of the field of active passbooks there.
type Standing struct {
	OrgID   int64  `json:"org_id"`
	OrgName string `json:"org_name"`
	Level   string `json:"level"` // community, township, county or parent (when neither is above)
	Rank    int64  `json:"rank"`
	Field   int64  `json:"field"`
}

// MyStanding is a member's balances, their points in a period and their rank within their
// community and within their township (or county, or the community's parent when the tree has
// no township above it).
type MyStanding struct {
	PassbookID  int64     `json:"passbook_id"`
	HonorPoints int64     `json:"honor_points"`
	DepositFen  int64     `json:"deposit_fen"`
	Period      string    `json:"period"`
	PeriodLabel string    `json:"period_label"`
	Points      int64     `json:"points"` // honour points earned in the period
	Ranked      bool      `json:"ranked"`
	RanksHidden bool      `json:"ranks_hidden"` // the community does not show rankings to members
	Community   *Standing `json:"community,omitempty"`
	Wider       *Standing `json:"wider,omitempty"`
}

// MyRank returns where a passbook stands in a period ("" = this year). Members see their own
// passbook's standing when their community makes rankings public; staff see any passbook in
// their scope.
func (s *Service) MyRank(ctx context.Context, p *auth.Principal, passbookID int64, period string) (MyStanding, error) {
	var out MyStanding
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		period, err := resolvePeriod(period, tx.Now())
		if err != nil {
			return err
		}
		b, err := loadPassbook(ctx, tx, p, PermView, passbookID)
		if err != nil {
			return err
		}
		out = MyStanding{PassbookID: b.ID, HonorPoints: b.HonorPoints, DepositFen: b.DepositFen, Period: period, PeriodLabel: PeriodLabel(period)}
		err = tx.QueryRow(ctx, `SELECT points FROM pb_points_totals WHERE period = ? AND passbook_id = ?`, period, b.ID).Scan(&out.Points)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			out.Ranked = out.Points > 0 && b.State == StateActive
		}
		if out.RanksHidden, err = ranksHidden(ctx, tx, p, b); err != nil || out.RanksHidden {
			return err
		}
		return out.stand(ctx, tx, b)
	})
	return out, err
}

// ranksHidden reports whether p sees b only as its owner in a community that keeps rankings
// from members.
func ranksHidden(ctx context.Context, q querier, p *auth.Principal, b Passbook) (bool, error) {
	if p.Scope(PermView).Covers(b.orgPath) {
		return false, nil
	}
	set, err := settingsAt(ctx, q, b.orgPath)
	return !set.RankingsPublic, err
}

// stand fills the community and wider standings of b in one query that reads the wider
// organisation once: its active passbooks and, when b is ranked, those ahead of it, each
// counted in total and within the community. Only counts leave it, so no scope beyond the
// passbook's own is needed.
func (m *MyStanding) stand(ctx context.Context, q querier, b Passbook) error {
	m.Community = &Standing{OrgID: b.OrgID, OrgName: b.OrgName, Level: "community"}
	wider, level, err := widerOrg(ctx, q, b.orgPath)
	if err != nil {
		return err
	}
	outer := orgRef{path: b.orgPath}
	if level != "" {
		m.Wider, outer = &Standing{OrgID: wider.id, OrgName: wider.name, Level: level}, wider
	}
	clo, chi := store.PathRange(b.orgPath)
	lo, hi := store.PathRange(outer.path)
	query := `SELECT COUNT(CASE WHEN o.path >= ? AND o.path < ? THEN 1 END) AS c, COUNT(*) AS w FROM orgs o CROSS JOIN pb_passbooks pb
		WHERE o.path >= ? AND o.path < ? AND pb.org_id = o.id AND pb.state = 'active'`
	args := []any{clo, chi, lo, hi}
	var field, ahead [2]int64
	into := []any{&field[0], &field[1]}
	if m.Ranked {
		from, fieldArgs := rankField{org: outer, period: m.Period, cond: "(1 = 1)"}.from()
		query = `SELECT f.c, f.w, a.c, a.w FROM (` + query + `) f CROSS JOIN
			(SELECT COUNT(CASE WHEN o.path >= ? AND o.path < ? THEN 1 END) AS c, COUNT(*) AS w` + from + ` AND t.points > ?) a`
		args = append(append(append(args, clo, chi), fieldArgs...), m.Points)
		into = append(into, &ahead[0], &ahead[1])
	}
	if err := q.QueryRow(ctx, query, args...).Scan(into...); err != nil {
		return err
	}
	m.Community.Field = field[0]
	if m.Ranked {
		m.Community.Rank = ahead[0] + 1
	}
	if m.Wider != nil {
		m.Wider.Field = field[1]
		if m.Ranked {
			m.Wider.Rank = ahead[1] + 1
		}
	}
	return nil
}

// widerOrg is the organisation a member's wider rank is within: the nearest township above
// their community, else the nearest county, else the community's parent. level is "" at a root.
func widerOrg(ctx context.Context, q querier, path string) (orgRef, string, error) {
	ids := ancestorIDs(path)
	if len(ids) < 2 {
		return orgRef{}, "", nil
	}
	ids = ids[:len(ids)-1]
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.Query(ctx, `SELECT id, name, path, kind FROM orgs WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return orgRef{}, "", err
	}
	defer rows.Close()
	byKind := map[string]orgRef{}
	var parent orgRef
	for rows.Next() {
		var o orgRef
		var kind string
		if err := rows.Scan(&o.id, &o.name, &o.path, &kind); err != nil {
			return orgRef{}, "", err
		}
		// The nearest of a kind is the one with the longest path.
		if len(o.path) > len(byKind[kind].path) {
			byKind[kind] = o
		}
		if o.id == ids[len(ids)-1] {
			parent = o
		}
	}
	if err := rows.Err(); err != nil {
		return orgRef{}, "", err
	}
	for _, kind := range []org.Kind{org.KindTownship, org.KindCounty} {
		if o, ok := byKind[string(kind)]; ok {
			return o, string(kind), nil
		}
	}
	return parent, "parent", nil
}
