package passbook

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// The year's report of a subtree, for staff: honour points issued by category and month,
// participation, and redemptions. Everything counts by business date, and a reversed
// transaction counts nowhere, as if it had never been: the report of a year changes when a
// correction lands later, exactly as the rankings of that year do.

// OtherCategory is the category of points earned without a claim (e.g. booked by an import).
const OtherCategory = "其他"

// Rate is an exact ratio shown as a percentage: Percent is rounded half-up to one decimal
// ("" when there is nothing to divide by).
type Rate struct {
	Participants int64  `json:"participants"`
	Passbooks    int64  `json:"passbooks"`
	Percent      string `json:"percent"`
}

func newRate(num, den int64) Rate {
	return Rate{Participants: num, Passbooks: den, Percent: percent1(num, den)}
}

// percent1 is num/den as a percentage with one decimal, rounded half-up, in integers only.
func percent1(num, den int64) string {
	if den <= 0 {
		return ""
	}
	tenths := (2*num*1000 + den) / (2 * den) // round(num*1000/den) for num ≥ 0
	return fmt.Sprintf("%d.%d", tenths/10, tenths%10)
}

// CategoryPoints is one category's points issued per month of the year (index 0 = January).
type CategoryPoints struct {
	Category string    `json:"category"`
	Months   [12]int64 `json:"months"`
	Total    int64     `json:"total"`
}

// MonthRedemptions is one month's redemptions: orders and the deposit they spent.
type MonthRedemptions struct {
	Count int64 `json:"count"`
	Fen   int64 `json:"fen"`
}

// Report is a subtree's passbook report for a year.
type Report struct {
	OrgID   int64  `json:"org_id"`
	OrgName string `json:"org_name"`
	Year    int    `json:"year"`
	// MonthsBegun is how many of the year's months have begun: 12 for a past year, none for a
	// year to come. A month not begun has no participation rate, rather than a rate of 0.
	MonthsBegun int `json:"months_begun"`
	// Issued is the honour points earned, by the category of the catalog item claimed
	// (OtherCategory without a claim), largest category first.
	Issued      []CategoryPoints `json:"issued"`
	IssuedTotal CategoryPoints   `json:"issued_total"`
	// Participation: active passbooks with at least one earning in the year (and in each
	// month) out of the active passbooks.
	Participation        Rate                 `json:"participation"`
	MonthlyParticipation [12]Rate             `json:"monthly_participation"`
	Redemptions          [12]MonthRedemptions `json:"redemptions"`
	RedemptionTotal      MonthRedemptions     `json:"redemption_total"`
}

// ParseYear reads a report year.
func ParseYear(s string) (int, error) {
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > 2999 {
		return 0, errs.Invalid("year", "年份应为四位数字，如 2026")
	}
	return y, nil
}

// Reports builds the report of an organisation's subtree for a year, within the caller's
// PermView scope.
func (s *Service) Reports(ctx context.Context, p *auth.Principal, orgID int64, year int) (Report, error) {
	if year < 2000 || year > 2999 {
		return Report{}, errs.Invalid("year", "年份应为四位数字，如 2026")
	}
	var out Report
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		f, err := staffField(ctx, tx, p, orgID, strconv.Itoa(year))
		if err != nil {
			return err
		}
		r := reportQuery{tx: tx, f: f, year: year}
		out = Report{OrgID: f.org.id, OrgName: f.org.name, Year: year, MonthsBegun: monthsBegun(year, store.LocalDate(tx.Now()))}
		if err := r.earnings(ctx, &out); err != nil {
			return err
		}
		out.Redemptions, out.RedemptionTotal, err = r.redemptions(ctx)
		return err
	})
	return out, err
}

// monthsBegun counts the months of year that have begun by today (YYYY-MM-DD).
func monthsBegun(year int, today string) int {
	thisYear, _ := strconv.Atoi(today[:4])
	month, _ := strconv.Atoi(today[5:7])
	switch {
	case year < thisYear:
		return 12
	case year > thisYear:
		return 0
	}
	return month
}

// reportQuery runs the report's queries over one field: the transactions of the subtree's
// passbooks, dated in the year, not reversed, inside the caller's scope.
type reportQuery struct {
	tx   *store.Tx
	f    rankField
	year int
}

// txWhere selects the year's unreversed transactions of a kind in the field.
func (r reportQuery) txWhere(kind string) (string, []any) {
	lo, hi := store.PathRange(r.f.org.path)
	first, last := fmt.Sprintf("%d-01-01", r.year), fmt.Sprintf("%d-12-31", r.year)
	return ` WHERE t.kind = ? AND t.business_date >= ? AND t.business_date <= ? AND o.path >= ? AND o.path < ?
		AND NOT EXISTS (SELECT 1 FROM pb_transactions r WHERE r.reverses_id = t.id) AND ` + r.f.cond,
		append([]any{kind, first, last, lo, hi}, r.f.args...)
}

// monthOf is the SQL for the month number (01–12) of a transaction's business date.
const monthOf = `SUBSTR(t.business_date, 6, 2)`

// earnings reads the year's earnings in the field once, for both the points issued per
// category and month and the participation (they were two passes over the same transactions,
// the report page's largest cost): a row per earning and honour entry, with the passbook, the
// month, the category, whether the passbook is active and the points (NULL when an earning
// booked none), summed here rather than grouped in SQL, which sorted them first.
func (r reportQuery) earnings(ctx context.Context, out *Report) error {
	lo, hi := store.PathRange(r.f.org.path)
	var passbooks int64
	err := r.tx.QueryRow(ctx, `SELECT COUNT(*) FROM pb_passbooks pb JOIN orgs o ON o.id = pb.org_id
		WHERE o.path >= ? AND o.path < ? AND pb.state = 'active' AND `+r.f.cond,
		append([]any{lo, hi}, r.f.args...)...).Scan(&passbooks)
	if err != nil {
		return err
	}
	where, args := r.txWhere(TxEarn)
	rows, err := r.tx.Query(ctx, `SELECT t.passbook_id, `+monthOf+`, COALESCE(iv.category, ''),
		CASE WHEN pb.state = 'active' THEN 1 ELSE 0 END, e.amount
		FROM pb_transactions t
		JOIN orgs o ON o.id = t.org_id
		JOIN pb_passbooks pb ON pb.id = t.passbook_id
		LEFT JOIN pb_accounts a ON a.passbook_id = t.passbook_id AND a.kind = 'honor'
		LEFT JOIN pb_entries e ON e.tx_id = t.id AND e.account_id = a.id
		LEFT JOIN pb_claims c ON c.id = t.claim_id
		LEFT JOIN pb_item_versions iv ON iv.id = c.item_version_id`+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	byCategory := map[string]*CategoryPoints{}
	total := CategoryPoints{Category: "合计"}
	// Participation: an active passbook with an earning, counted once a month and once a year.
	var counts [12]int64
	inMonth := map[[2]int64]bool{}
	inYear := map[int64]bool{}
	for rows.Next() {
		var passbook, active int64
		var month, category string
		var points sql.NullInt64
		if err := rows.Scan(&passbook, &month, &category, &active, &points); err != nil {
			return err
		}
		m, err := monthIndex(month)
		if err != nil {
			return err
		}
		if active == 1 {
			if key := [2]int64{passbook, int64(m)}; !inMonth[key] {
				inMonth[key] = true
				counts[m]++
			}
			inYear[passbook] = true
		}
		if !points.Valid {
			continue // an earning that booked no honour points issued none
		}
		if category == "" {
			category = OtherCategory
		}
		c := byCategory[category]
		if c == nil {
			c = &CategoryPoints{Category: category}
			byCategory[category] = c
		}
		c.Months[m] += points.Int64
		c.Total += points.Int64
		total.Months[m] += points.Int64
		total.Total += points.Int64
	}
	if err := rows.Err(); err != nil {
		return err
	}
	out.Issued, out.IssuedTotal = sortedCategories(byCategory), total
	for m := range out.MonthsBegun {
		out.MonthlyParticipation[m] = newRate(counts[m], passbooks)
	}
	out.Participation = newRate(int64(len(inYear)), passbooks)
	return nil
}

func monthIndex(month string) (int, error) {
	m, err := strconv.Atoi(month)
	if err != nil || m < 1 || m > 12 {
		return 0, fmt.Errorf("passbook: business date with month %q", month)
	}
	return m - 1, nil
}

// sortedCategories orders categories by points, largest first, with OtherCategory last.
func sortedCategories(m map[string]*CategoryPoints) []CategoryPoints {
	out := make([]CategoryPoints, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b CategoryPoints) int {
		if (a.Category == OtherCategory) != (b.Category == OtherCategory) {
			if a.Category == OtherCategory {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Category, b.Category))
	})
	return out
}

// redemptions counts the year's redemptions per month and the deposit they took; cancelled
// orders were reversed and do not count.
func (r reportQuery) redemptions(ctx context.Context) ([12]MonthRedemptions, MonthRedemptions, error) {
	var months [12]MonthRedemptions
	var total MonthRedemptions
	where, args := r.txWhere(TxRedeem)
	rows, err := r.tx.Query(ctx, `SELECT `+monthOf+`, COUNT(*), SUM(e.amount)
		FROM pb_transactions t
		JOIN orgs o ON o.id = t.org_id
		JOIN pb_entries e ON e.tx_id = t.id
		JOIN pb_accounts a ON a.id = e.account_id AND a.kind = 'redeemed'`+where+`
		GROUP BY `+monthOf, args...)
	if err != nil {
		return months, total, err
	}
	defer rows.Close()
	for rows.Next() {
		var month string
		var mr MonthRedemptions
		if err := rows.Scan(&month, &mr.Count, &mr.Fen); err != nil {
			return months, total, err
		}
		m, err := monthIndex(month)
		if err != nil {
			return months, total, err
		}
		months[m] = mr
		total.Count += mr.Count
		total.Fen += mr.Fen
	}
	return months, total, rows.Err()
}

// chartOption is an ECharts option, rendered into a JSON script element that app.js draws.
type chartOption map[string]any

// monthLabels are the x axis of every chart of the report.
var monthLabels = []string{"1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"}

// palette is the report's series colours, the house red first.
var palette = []string{"#b71c1c", "#e65100", "#f9a825", "#2e7d32", "#00838f", "#1565c0", "#6a1b9a", "#795548", "#546e7a"}

func chartBase(title string) chartOption {
	return chartOption{
		"color":   palette,
		"title":   map[string]any{"text": title, "left": "center", "textStyle": map[string]any{"fontSize": 14}},
		"tooltip": map[string]any{"trigger": "axis"},
		"legend":  map[string]any{"bottom": 0, "type": "scroll"},
		"grid":    map[string]any{"left": 48, "right": 48, "bottom": 56, "top": 40},
		"xAxis":   map[string]any{"type": "category", "data": monthLabels},
	}
}

// IssuedChart is a bar per month stacked by category.
func (r Report) IssuedChart() chartOption {
	c := chartBase("各月发放积分（按类别）")
	c["yAxis"] = map[string]any{"type": "value", "minInterval": 1}
	series := make([]any, 0, len(r.Issued))
	for _, cat := range r.Issued {
		series = append(series, map[string]any{"name": cat.Category, "type": "bar", "stack": "issued", "data": cat.Months})
	}
	c["series"] = series
	return c
}

// ParticipationChart is the monthly participation rate as a line, in percent.
func (r Report) ParticipationChart() chartOption {
	c := chartBase("各月参与率（%）")
	c["yAxis"] = map[string]any{"type": "value", "min": 0, "max": 100}
	c["grid"].(map[string]any)["top"] = 60 // room for the labels of 100 % under the title
	data := make([]any, 12)
	for m, rate := range r.MonthlyParticipation {
		data[m] = jsonNumber(rate.Percent)
	}
	c["series"] = []any{map[string]any{"name": "参与率", "type": "line", "data": data, "label": map[string]any{"show": true}}}
	return c
}

// RedemptionChart shows each month's orders as bars and the deposit spent, in yuan, as a line
// on a second axis.
func (r Report) RedemptionChart() chartOption {
	c := chartBase("各月兑换")
	c["yAxis"] = []any{
		map[string]any{"type": "value", "name": "笔数", "minInterval": 1},
		map[string]any{"type": "value", "name": "元"},
	}
	counts, yuan := make([]int64, 12), make([]any, 12)
	for m, mr := range r.Redemptions {
		counts[m], yuan[m] = mr.Count, jsonNumber(yuanText(mr.Fen))
	}
	c["series"] = []any{
		map[string]any{"name": "兑换笔数", "type": "bar", "data": counts},
		map[string]any{"name": "支取存款（元）", "type": "line", "yAxisIndex": 1, "data": yuan},
	}
	return c
}

// jsonNumber writes a decimal text as a JSON number, so that charts get numbers without a
// float ever holding them; "" (nothing to show) becomes null.
func jsonNumber(s string) any {
	if s == "" {
		return nil
	}
	return json.Number(s)
}

// yuanText is fen as yuan with two decimals.
func yuanText(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
