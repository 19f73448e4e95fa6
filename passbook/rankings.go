package passbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Rankings order passbooks by the honour points they earned in a period: a month (2026-11), a
// quarter (2026Q4), a year (2026) or all time (all). The points come from pb_points_totals,
// which every posting keeps, so a reversal moves the ranking of the period its original
// counted in.
//
// Who is ranked: active passbooks whose points for the period are above zero. A passbook that
// earned nothing in the period, or lost it all again to reversals and deductions, is not
// listed, and frozen or closed passbooks are never ranked. The field a rank is out of counts
// every active passbook, ranked or not.
//
// Ranks are standard competition ranking ("1224"): equal points share a rank and the next
// score ranks by its position. Within a tie, the listing shows the newest passbook first; that
// order carries no meaning.

// Ranking periods as pb_points_totals keys them.
var periodPattern = regexp.MustCompile(`^(all|[0-9]{4}|[0-9]{4}Q[1-4]|[0-9]{4}-(0[1-9]|1[0-2]))$`)

// ParsePeriod checks a ranking period and returns it as the totals key it: all, 2026, 2026Q4
// or 2026-11; "q4" is accepted for "Q4" and "ALL" for "all".
func ParsePeriod(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "all") {
		s = "all"
	} else {
		s = strings.ToUpper(s)
	}
	if !periodPattern.MatchString(s) {
		return "", errs.Invalid("period", "统计期间应为 all（累计）、年份（如 2026）、季度（如 2026Q4）或月份（如 2026-11）")
	}
	return s, nil
}

// resolvePeriod is ParsePeriod with an empty period meaning the current year in Shanghai.
func resolvePeriod(s string, now time.Time) (string, error) {
	if strings.TrimSpace(s) == "" {
		return store.LocalDate(now)[:4], nil
	}
	return ParsePeriod(s)
}

// PeriodLabel names a period in Chinese: 累计, 2026年, 2026年第4季度, 2026年11月.
func PeriodLabel(period string) string {
	switch {
	case period == "all":
		return "累计"
	case len(period) == 4:
		return period + "年"
	case len(period) == 6 && period[4] == 'Q':
		return period[:4] + "年第" + period[5:] + "季度"
	case len(period) == 7:
		month, _ := strconv.Atoi(period[5:])
		return fmt.Sprintf("%s年%d月", period[:4], month)
	}
	return period
}

// RankRow is one line of a ranking. Members see only rank, name and points (and which line is
// their own); staff see the passbook, its number and community too.
type RankRow struct {
	Rank       int64  `json:"rank"`
	PassbookID int64  `json:"passbook_id,omitempty"`
	Name       string `json:"name"`
	OrgID      int64  `json:"org_id,omitempty"`
	OrgName    string `json:"org_name,omitempty"`
	Number     string `json:"number,omitempty"`
	Points     int64  `json:"points"`
	Mine       bool   `json:"mine,omitempty"`
}

// Ranking is one page of a ranking.
type Ranking struct {
	OrgID       int64     `json:"org_id"`
	OrgName     string    `json:"org_name"`
	Period      string    `json:"period"`
	PeriodLabel string    `json:"period_label"`
	Masked      bool      `json:"masked"` // a member's view: names and points only
	Items       []RankRow `json:"items"`
	NextCursor  string    `json:"next_cursor"`
}

// maxRankPage bounds one page of a ranking, like every list of the API.
const maxRankPage = 500

// rankKey is a position in the listing order (points descending, then passbook id
// descending); the cursor of the next page is the last row's key.
type rankKey struct{ points, id int64 }

func (k rankKey) String() string { return fmt.Sprintf("%d_%d", k.points, k.id) }

func parseRankCursor(s string) (*rankKey, error) {
	if s == "" {
		return nil, nil
	}
	pts, id, ok := strings.Cut(s, "_")
	points, err1 := strconv.ParseInt(pts, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return nil, errs.Invalid("cursor", "cursor 无效")
	}
	return &rankKey{points, n}, nil
}

// rankingField works out which ranking p may see for orgID (0: their own) in period. Staff see
// any subtree in their PermView scope unmasked; a member sees their own community's ranking,
// masked, and only where its settings make rankings public.
func rankingField(ctx context.Context, q querier, p *auth.Principal, orgID int64, period string) (rankField, error) {
	f, err := staffField(ctx, q, p, orgID, period)
	if err == nil || !errs.Is(err, errs.KindNotFound) || p.Scope(PermView).PersonID == 0 {
		return f, err
	}
	return memberField(ctx, q, p, orgID, period)
}

var errOrgNotVisible = errs.NotFound("组织不存在或不在您的管理范围内")

// staffField is the unmasked ranking of a subtree in p's PermView scope, the scope also being
// part of the SQL.
func staffField(ctx context.Context, q querier, p *auth.Principal, orgID int64, period string) (rankField, error) {
	sc := p.Scope(PermView)
	if !sc.All && len(sc.Paths) == 0 {
		return rankField{}, errOrgNotVisible
	}
	if orgID == 0 {
		var err error
		if orgID, err = defaultOrg(ctx, q, sc); err != nil {
			return rankField{}, err
		}
	}
	o, err := visibleOrg(ctx, q, p, PermView, orgID)
	if err != nil {
		return rankField{}, err
	}
	cond, args := sc.Where("o.path", "")
	return rankField{org: o, period: period, cond: cond, args: args}, nil
}

// defaultOrg is where a staff member's ranking opens: the top of their first subtree, or the
// first root of the tree for whoever sees everything.
func defaultOrg(ctx context.Context, q querier, sc auth.Scope) (int64, error) {
	if !sc.All {
		ids := ancestorIDs(sc.Paths[0])
		return ids[len(ids)-1], nil
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM orgs WHERE parent_id IS NULL AND archived_at IS NULL ORDER BY id LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errOrgNotVisible
	}
	return id, err
}

// memberField is a member's view of the ranking of the community their own passbook is in.
// The SQL keeps the rows to the communities of the caller's own passbooks.
func memberField(ctx context.Context, q querier, p *auth.Principal, orgID int64, period string) (rankField, error) {
	personID := p.Scope(PermView).PersonID
	var o orgRef
	err := q.QueryRow(ctx, `SELECT o.id, o.name, o.path FROM pb_passbooks pb JOIN orgs o ON o.id = pb.org_id
		WHERE pb.person_id = ? AND pb.state <> 'closed' AND (pb.org_id = ? OR ? = 0) ORDER BY pb.id LIMIT 1`,
		personID, orgID, orgID).Scan(&o.id, &o.name, &o.path)
	if errors.Is(err, sql.ErrNoRows) && orgID == 0 {
		return rankField{}, errs.NotFound("您还没有红色存折，请联系所在社区开立")
	}
	if errors.Is(err, sql.ErrNoRows) {
		return rankField{}, errOrgNotVisible
	}
	if err != nil {
		return rankField{}, err
	}
	set, err := settingsAt(ctx, q, o.path)
	if err != nil {
		return rankField{}, err
	}
	if !set.RankingsPublic {
		return rankField{}, errs.Forbidden("本社区暂未向党员公开积分排名")
	}
	return rankField{org: o, period: period, masked: true, args: []any{personID},
		cond: `t.org_id IN (SELECT mine.org_id FROM pb_passbooks mine WHERE mine.person_id = ? AND mine.state <> 'closed')`}, nil
}

// assignRanks numbers rows that follow one another in the listing: equal points share a rank,
// and a new score ranks by its position ("1224"). first is the rank of rows[0] and pos its
// zero-based position in the whole listing.
func assignRanks(rows []RankRow, first, pos int64) {
	for i := range rows {
		switch {
		case i == 0:
			rows[i].Rank = first
		case rows[i].Points == rows[i-1].Points:
			rows[i].Rank = rows[i-1].Rank
		default:
			rows[i].Rank = pos + int64(i) + 1
		}
	}
}

// Rankings lists a page of the ranking of an organisation's subtree for a period (see
// ParsePeriod; "" = this year): up to limit rows (default 100, at most 500) after the cursor
// of the previous page.
func (s *Service) Rankings(ctx context.Context, p *auth.Principal, orgID int64, period string, limit int, cursor string) (Ranking, error) {
	after, err := parseRankCursor(cursor)
	if err != nil {
		return Ranking{}, err
	}
	if limit <= 0 || limit > maxRankPage {
		limit = 100
	}
	var out Ranking
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		period, err := resolvePeriod(period, tx.Now())
		if err != nil {
			return err
		}
		f, err := rankingField(ctx, tx, p, orgID, period)
		if err != nil {
			return err
		}
		out = Ranking{OrgID: f.org.id, OrgName: f.org.name, Period: period, PeriodLabel: PeriodLabel(period), Masked: f.masked}
		out.Items, out.NextCursor, err = f.page(ctx, tx, p, after, limit)
		return err
	})
	return out, err
}

// page reads one page of the field with its ranks, marks the caller's own rows and masks what
// a member may not see.
func (f rankField) page(ctx context.Context, q querier, p *auth.Principal, after *rankKey, limit int) ([]RankRow, string, error) {
	rows, people, err := f.top(ctx, q, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows, people = rows[:limit], people[:limit]
		next = rankKey{rows[limit-1].Points, rows[limit-1].PassbookID}.String()
	}
	first, pos := int64(1), int64(0)
	if after != nil && len(rows) > 0 {
		higher, tied, err := f.above(ctx, q, rows[0].Points, rows[0].PassbookID)
		if err != nil {
			return nil, "", err
		}
		first, pos = higher+1, higher+tied
	}
	assignRanks(rows, first, pos)
	for i := range rows {
		rows[i].Mine = p.PersonID != 0 && people[i] == p.PersonID
		if f.masked {
			rows[i] = RankRow{Rank: rows[i].Rank, Name: rows[i].Name, Points: rows[i].Points, Mine: rows[i].Mine}
		}
	}
	if rows == nil {
		rows = []RankRow{}
	}
	return rows, next, nil
}
