package passbook

import (
	"context"
	"fmt"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Commendation rules (评选推优): who a ranking puts forward.
const (
	RuleTop       = "top"       // the top N ranks
	RulePercent   = "percent"   // the top X % of those ranked, rounded down, at least one
	RuleThreshold = "threshold" // everyone at or above a number of points
)

// maxCommended bounds a commendation list; a longer one is a roster, not a commendation.
const maxCommended = 5000

// CommendationRule is how a commendation list is drawn from a ranking.
type CommendationRule struct {
	Kind  string `json:"kind"`
	Value int64  `json:"value"`
}

func (r CommendationRule) validate() error {
	switch {
	case r.Kind != RuleTop && r.Kind != RulePercent && r.Kind != RuleThreshold:
		return errs.Invalid("rule", "推选规则应为：前 N 名、前百分之几或积分达到分数线")
	case r.Kind == RuleTop && (r.Value < 1 || r.Value > maxCommended):
		return errs.Invalid("value", "名额应在 1 到 %d 之间", maxCommended)
	case r.Kind == RulePercent && (r.Value < 1 || r.Value > 100):
		return errs.Invalid("value", "百分比应在 1 到 100 之间")
	case r.Kind == RuleThreshold && r.Value < 1:
		return errs.Invalid("value", "分数线应为正整数")
	}
	return nil
}

// Commendation is a commendation list: everyone the rule selects from a ranking, in rank
// order. Ties at the cut are all selected, so a top-N list may be longer than N; Cut is the
// lowest score selected.
type Commendation struct {
	OrgID       int64            `json:"org_id"`
	OrgName     string           `json:"org_name"`
	Period      string           `json:"period"`
	PeriodLabel string           `json:"period_label"`
	Rule        CommendationRule `json:"rule"`
	RuleText    string           `json:"rule_text"`
	Ranked      int64            `json:"ranked"` // passbooks in the ranking
	Cut         int64            `json:"cut"`
	Items       []RankRow        `json:"items"`
}

// Title is the heading of the list, naming the organisation, the period and the rule.
func (c Commendation) Title() string {
	return fmt.Sprintf("%s %s荣誉积分评选推优名单（规则：%s）", c.OrgName, c.PeriodLabel, c.RuleText)
}

// Commend draws a commendation list from the ranking of an organisation's subtree for a period.
// It is for staff: members never see another member's passbook.
func (s *Service) Commend(ctx context.Context, p *auth.Principal, orgID int64, period string, rule CommendationRule) (Commendation, error) {
	if err := rule.validate(); err != nil {
		return Commendation{}, err
	}
	var out Commendation
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = commend(ctx, tx, p, orgID, period, rule)
		return err
	})
	return out, err
}

// ExportCommendation draws a commendation list and returns it as an Excel workbook (排名,
// 姓名, 所属组织, 存折号, 积分 under a title row naming the rule). Personal data leaves the
// system, so the export is audited in the transaction that reads the list, and the file exists
// only once that is done.
func (s *Service) ExportCommendation(ctx context.Context, p *auth.Principal, orgID int64, period string, rule CommendationRule) ([]byte, Commendation, error) {
	if err := rule.validate(); err != nil {
		return nil, Commendation{}, err
	}
	var c Commendation
	var file []byte
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = commend(ctx, tx, p, orgID, period, rule); err != nil {
			return err
		}
		if file, err = commendationWorkbook(c); err != nil {
			return err
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.commendation_export", EntityType: "org",
			EntityID: c.OrgID, OrgID: c.OrgID, Summary: map[string]any{"period": c.Period, "rule": c.Rule, "count": len(c.Items)}})
	})
	return file, c, err
}

// commend reads the list inside one transaction. Every rule becomes a score cut: rank ≤ N
// holds exactly for the scores at or above the N-th highest score.
func commend(ctx context.Context, tx *store.Tx, p *auth.Principal, orgID int64, period string, rule CommendationRule) (Commendation, error) {
	period, err := resolvePeriod(period, tx.Now())
	if err != nil {
		return Commendation{}, err
	}
	f, err := staffField(ctx, tx, p, orgID, period)
	if err != nil {
		return Commendation{}, err
	}
	c := Commendation{OrgID: f.org.id, OrgName: f.org.name, Period: period, PeriodLabel: PeriodLabel(period), Rule: rule, Items: []RankRow{}}
	if c.Ranked, err = f.count(ctx, tx); err != nil {
		return c, err
	}
	quota := rule.Value
	if rule.Kind == RulePercent {
		quota = min(max(1, c.Ranked*rule.Value/100), c.Ranked) // rounded down, at least one of those there are
	}
	c.RuleText = ruleText(rule, c.Ranked, quota)
	if c.Ranked == 0 {
		return c, nil
	}
	c.Cut = rule.Value
	if rule.Kind != RuleThreshold {
		if c.Cut, err = f.nthPoints(ctx, tx, min(quota, c.Ranked)); err != nil {
			return c, err
		}
	}
	from, args := f.from()
	rows, _, err := f.rows(ctx, tx, from+` AND t.points >= ?`, append(args, c.Cut), maxCommended+1)
	if err != nil {
		return c, err
	}
	if len(rows) > maxCommended {
		return c, errs.Invalid("value", "入选人数超过 %d 人，请提高分数线或缩小名额", maxCommended)
	}
	assignRanks(rows, 1, 0)
	c.Items = append(c.Items, rows...)
	return c, nil
}

// ruleText describes a rule in the words of the list's title.
func ruleText(r CommendationRule, ranked, quota int64) string {
	switch r.Kind {
	case RuleTop:
		return fmt.Sprintf("前 %d 名，并列者一并入选", r.Value)
	case RulePercent:
		return fmt.Sprintf("前 %d%%，参与排名 %d 人，取前 %d 名，并列者一并入选", r.Value, ranked, quota)
	}
	return fmt.Sprintf("积分不低于 %d 分", r.Value)
}

var commendationColumns = []sheetColumn{
	{header: "排名", width: 8}, {header: "姓名", width: 14}, {header: "所属组织", width: 28},
	{header: "存折号", width: 22}, {header: "积分", width: 10},
}

// commendationWorkbook writes a commendation list as an Excel workbook.
func commendationWorkbook(c Commendation) ([]byte, error) {
	sheet, err := newTitledSheet("评选推优名单", c.Title(), commendationColumns)
	if err != nil {
		return nil, err
	}
	for _, r := range c.Items {
		if err := sheet.add(r.Rank, r.Name, r.OrgName, r.Number, r.Points); err != nil {
			sheet.close()
			return nil, err
		}
	}
	return sheet.bytes()
}
