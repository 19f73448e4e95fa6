package demo

import (
	"fmt"
	"strings"
	"time"

	"grassroots/appraisal"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
)

// xsUnit is a 西山区 bureau as the appraisal story needs it.
type xsUnit struct {
	org      org.Org
	people   []org.Person // the director and two deputies first, then the HR officer
	hr       *auth.Principal
	director *auth.Principal
	merit    map[int64]int64 // each person's usual level, 70–95
}

// at runs fn with the database clock standing at t (Shanghai), so that a past quarter is
// built as it happened: opened in its first days, rated after it ended, published, reviewed
// within the 复核 window and filed before its deadline. The underlying clock is still read,
// so a seed that is stopped stays stopped.
func (b *builder) at(t time.Time, fn func() error) error {
	base := b.db.Now
	b.db.Now = func() time.Time { base(); return t.UTC() }
	defer func() { b.db.Now = base }()
	return fn()
}

// xishanAppraisal gives 西山区 a year of routine appraisal: the district's policy and lists,
// and in each of its four bureaus the four quarters before this one run through all seven
// steps and filed — target tasks, anonymous mass ratings, the director's ratings and
// assessments, HR's ratings, add/deduct entries, one negative-list hit (市场监督管理局), one
// director who rates everyone alike (发展和改革局, last quarter), one 复核 request
// (财政局, last quarter) — and this quarter opened with its targets set, at 个人小结.
func (b *builder) xishanAppraisal() error {
	ap, zzb := b.ap, b.staff["xishan_zzb"]
	today := b.db.Now().In(store.Shanghai)
	thisQ := appraisal.Quarter{Year: today.Year(), Q: (int(today.Month()) + 2) / 3}
	quarters := make([]appraisal.Quarter, 4)
	for i, q := 3, thisQ; i >= 0; i-- {
		if q.Q--; q.Q == 0 {
			q = appraisal.Quarter{Year: q.Year - 1, Q: 4}
		}
		quarters[i] = q
	}
	first := qStart(quarters[0])
	var items map[string]appraisal.ListItem
	err := b.at(first.AddDate(0, 0, -10), func() error {
		if _, err := ap.SetPolicy(b.ctx, zzb, appraisal.PolicyInput{OrgID: b.xsDistrict.ID, EffectiveFrom: first.Format(store.DateLayout),
			Policy: appraisal.DefaultPolicy}); err != nil {
			return fmt.Errorf("policy: %w", err)
		}
		var err error
		items, err = b.xishanLists(zzb)
		return err
	})
	if err != nil {
		return err
	}
	for qi, q := range quarters {
		for ui := range b.xsUnits {
			if err := b.quarter(&b.xsUnits[ui], q, items, qi == 3); err != nil {
				return fmt.Errorf("%s %s: %w", b.xsUnits[ui].org.Name, q, err)
			}
		}
	}
	// From this quarter the district grades pools of fewer than 3 people merged: the bureaus'
	// pools are larger, the two small units' are not.
	merge := appraisal.DefaultPolicy
	merge.MergeSmallUnits, merge.MinPoolSize = true, 3
	err = b.at(qStart(thisQ).AddDate(0, 0, -5), func() error {
		_, err := ap.SetPolicy(b.ctx, zzb, appraisal.PolicyInput{OrgID: b.xsDistrict.ID, EffectiveFrom: qStart(thisQ).Format(store.DateLayout), Policy: merge})
		return err
	})
	if err != nil {
		return fmt.Errorf("merging policy: %w", err)
	}
	// This quarter: opened, targets set, step 1 closed; the appraisees write their 个人小结.
	for ui := range b.xsUnits {
		if _, err := b.openQuarter(&b.xsUnits[ui], thisQ); err != nil {
			return err
		}
	}
	return b.xishanMerged(thisQ)
}

// openQuarter opens a unit's quarter in its first days, sets its targets and closes step 1.
func (b *builder) openQuarter(u *xsUnit, q appraisal.Quarter) (appraisal.Cycle, error) {
	var c appraisal.Cycle
	err := b.at(qStart(q).AddDate(0, 0, 3), func() error {
		var err error
		if c, err = b.ap.OpenCycle(b.ctx, u.hr, appraisal.CycleInput{OrgID: u.org.ID, Quarter: q.String()}); err != nil {
			return err
		}
		if err := b.tasks(u, c.ID, q); err != nil {
			return err
		}
		_, err = b.ap.CloseStep(b.ctx, u.hr, c.ID, appraisal.StepInput{Step: appraisal.StepTargets})
		return err
	})
	if err != nil {
		return c, fmt.Errorf("%s %s: %w", u.org.Name, q, err)
	}
	return c, nil
}

// xishanMerged runs this quarter of the small units to step 5 early (their HR offices rate;
// the staff of both at the top tie) and has the district grade their pools merged: the
// merged staff pool of 4 has one place of 好, and its two best are tied on everything, for
// the district to decide on its merge page (小单位合并评定).
func (b *builder) xishanMerged(q appraisal.Quarter) error {
	ap, today := b.ap, b.db.Now().In(store.Shanghai)
	for ui := range b.xsSmall {
		u := &b.xsSmall[ui]
		c, err := b.openQuarter(u, q)
		if err != nil {
			return err
		}
		err = b.at(today, func() error {
			for step := appraisal.StepSummary; step < appraisal.StepHR; step++ {
				if _, err := ap.CloseStep(b.ctx, u.hr, c.ID, appraisal.StepInput{Step: step}); err != nil {
					return err
				}
			}
			for j, v := range []int64{90 - 2*int64(ui), 93, 86 - 3*int64(ui)} {
				sc := appraisal.DimValues{v, v, v, v, v}
				if _, err := ap.Rate(b.ctx, u.hr, appraisal.RatingInput{CycleID: c.ID, PersonID: u.people[j].ID, Party: "hr", Scores: sc}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s %s: %w", u.org.Name, q, err)
		}
	}
	return b.at(today, func() error {
		_, err := ap.MergePools(b.ctx, b.staff["xishan_zzb"], appraisal.MergeInput{OrgID: b.xsDistrict.ID, Quarter: q.String()})
		return err
	})
}

func qStart(q appraisal.Quarter) time.Time {
	return time.Date(q.Year, time.Month(3*q.Q-2), 1, 10, 0, 0, 0, store.Shanghai)
}

// xishanLists sets the district's negative list and add/deduct catalog.
func (b *builder) xishanLists(zzb *auth.Principal) (map[string]appraisal.ListItem, error) {
	out := map[string]appraisal.ListItem{}
	for key, in := range map[string]appraisal.ListItemInput{
		"fail":      {List: appraisal.ListNegative, Dimension: "de", Name: "违反政治纪律和政治规矩", Consequence: appraisal.ConsequenceFail},
		"cap":       {List: appraisal.ListNegative, Dimension: "lian", Name: "违规收受礼品礼金", Consequence: appraisal.ConsequenceCap},
		"drink":     {List: appraisal.ListNegative, Dimension: "lian", Name: "工作日午间饮酒", Consequence: appraisal.ConsequenceDeduct, Points: 500},
		"late":      {List: appraisal.ListNegative, Dimension: "de", Name: "无故迟到早退被通报", Consequence: appraisal.ConsequenceDeduct, Points: 300},
		"city":      {List: appraisal.ListAdjust, Dimension: "ji", Name: "受到市级及以上表彰", Points: 200},
		"praise":    {List: appraisal.ListAdjust, Name: "服务对象书面表扬", Points: 100},
		"complaint": {List: appraisal.ListAdjust, Name: "被有效投诉", Points: -300},
	} {
		in.OrgID = b.xsDistrict.ID
		it, err := b.ap.CreateListItem(b.ctx, zzb, in)
		if err != nil {
			return nil, fmt.Errorf("list item %s: %w", in.Name, err)
		}
		out[key] = it
	}
	return out, nil
}

// level is a person's score in a quarter from one rater: their usual level, the quarter's
// swing and the rater's, kept within 60–100.
func (b *builder) level(u *xsUnit, p org.Person, spread int) int64 {
	v := u.merit[p.ID] + int64(b.names.rng.IntN(2*spread+1)-spread)
	return max(60, min(100, v))
}

func (b *builder) scores(u *xsUnit, p org.Person, spread int) appraisal.DimValues {
	var sc appraisal.DimValues
	base := b.level(u, p, spread)
	for _, d := range appraisal.Dims() {
		sc[d] = max(60, min(100, base+int64(b.names.rng.IntN(5)-2)))
	}
	return sc
}

// tasks sets a 绩 task for each appraisee and a 能 task for the staff.
func (b *builder) tasks(u *xsUnit, cycleID int64, q appraisal.Quarter) error {
	work := []string{"完成季度重点工作任务", "按期办结交办事项", "完成专项工作推进"}
	for i, p := range u.people {
		if _, err := b.ap.CreateTask(b.ctx, u.hr, appraisal.TaskInput{CycleID: cycleID, PersonID: p.ID, Dimension: "ji",
			Title: work[i%len(work)], Standard: fmt.Sprintf("%s内按时保质完成，无差错", q.Label()), Evidence: "工作台账、办结回执",
			Weight: 2, BaseScore: 90}); err != nil {
			return err
		}
		if i >= 3 {
			if _, err := b.ap.CreateTask(b.ctx, u.hr, appraisal.TaskInput{CycleID: cycleID, PersonID: p.ID, Dimension: "neng",
				Title: "业务学习", Standard: "完成本季度学习学时并通过测试", Weight: 1, BaseScore: 85}); err != nil {
				return err
			}
		}
	}
	return nil
}

// quarter runs one bureau's past quarter through the seven steps.
func (b *builder) quarter(u *xsUnit, q appraisal.Quarter, items map[string]appraisal.ListItem, last bool) error {
	ap, ctx := b.ap, b.ctx
	start, end := qStart(q), qStart(q).AddDate(0, 3, -1)
	day := func(d int) time.Time { return end.AddDate(0, 0, d) }
	var c appraisal.Cycle
	step := func(t time.Time, n int) error {
		return b.at(t, func() error {
			_, err := ap.CloseStep(ctx, u.hr, c.ID, appraisal.StepInput{Step: n})
			return err
		})
	}
	// 1 制定目标任务.
	err := b.at(start.AddDate(0, 0, 3), func() error {
		var err error
		if c, err = ap.OpenCycle(ctx, u.hr, appraisal.CycleInput{OrgID: u.org.ID, Quarter: q.String()}); err != nil {
			return err
		}
		return b.tasks(u, c.ID, q)
	})
	if err != nil {
		return err
	}
	if err := step(start.AddDate(0, 0, 10), appraisal.StepTargets); err != nil {
		return err
	}
	// 2 个人小结: the demo member of 财政局 writes hers and reports on her tasks.
	if member := b.staff["xishan_keyuan"]; member != nil && member.Grants[0].OrgID == u.org.ID {
		err := b.at(day(-3), func() error {
			if _, err := ap.WriteSelfSummary(ctx, member, c.ID, appraisal.SelfSummaryInput{
				Body: q.Label() + "，按计划完成预算执行分析和资金拨付审核，参加业务学习，无差错。"}); err != nil {
				return err
			}
			tasks, err := ap.ListTasks(ctx, member, appraisal.TaskFilter{CycleID: c.ID, PersonID: member.PersonID})
			if err != nil {
				return err
			}
			for _, t := range tasks {
				if _, err := ap.ReportTask(ctx, member, t.ID, appraisal.ReportInput{Completion: "已按期完成", Evidence: "工作台账"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := step(day(4), appraisal.StepSummary); err != nil {
		return err
	}
	// 3 干部群众测评: eight colleagues and service recipients through one-time links.
	err = b.at(day(6), func() error {
		links, err := ap.IssueLinks(ctx, u.hr, c.ID, appraisal.LinksInput{Count: 8})
		if err != nil {
			return err
		}
		for _, l := range links {
			var in appraisal.MassRatingInput
			for _, p := range u.people {
				in.Ratings = append(in.Ratings, appraisal.RateeScores{PersonID: p.ID, Scores: b.scores(u, p, 6)})
			}
			if _, err := ap.RateByLink(ctx, l.Token, in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := step(day(9), appraisal.StepMass); err != nil {
		return err
	}
	// 4 主管领导评价: the director rates and assesses everyone else. 发展和改革局's director
	// gives everyone 85 in the last quarter: flagged as uniform scoring.
	uniform := last && strings.Contains(u.org.Name, "发展和改革局")
	err = b.at(day(12), func() error {
		tasks, err := ap.ListTasks(ctx, u.director, appraisal.TaskFilter{CycleID: c.ID})
		if err != nil {
			return err
		}
		for _, p := range u.people[1:] {
			sc := b.scores(u, p, 3)
			if uniform {
				sc = appraisal.DimValues{85, 85, 85, 85, 85}
			}
			if _, err := ap.Rate(ctx, u.director, appraisal.RatingInput{CycleID: c.ID, PersonID: p.ID, Party: "leader", Scores: sc}); err != nil {
				return err
			}
		}
		for _, t := range tasks {
			if t.PersonID == u.people[0].ID {
				continue // nobody in the bureau supervises its director
			}
			in := appraisal.AssessInput{Met: true, Note: "按期完成"}
			if u.merit[t.PersonID] < 78 && b.names.chance(0.5) {
				in = appraisal.AssessInput{Met: false, Score: t.BaseScore - 10, Note: "部分事项逾期"}
			}
			if _, err := ap.AssessTask(ctx, u.director, t.ID, in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := step(day(15), appraisal.StepLeader); err != nil {
		return err
	}
	// 5 组织人事部门综合评定: HR rates everyone but itself; entries entered by HR and confirmed
	// by the director; the results are computed and published.
	err = b.at(day(18), func() error {
		for _, p := range u.people {
			if p.ID == u.hr.PersonID {
				continue
			}
			if _, err := ap.Rate(ctx, u.hr, appraisal.RatingInput{CycleID: c.ID, PersonID: p.ID, Party: "hr", Scores: b.scores(u, p, 2)}); err != nil {
				return err
			}
		}
		type hit struct {
			person   org.Person
			item     string
			evidence string
		}
		hits := []hit{{u.people[4+q.Q], "praise", "服务对象来信表扬"}}
		if q.Q == 2 {
			hits = append(hits, hit{u.people[9], "city", "获评市级先进工作者"})
		}
		if q.Q == 3 && strings.Contains(u.org.Name, "市场监督管理局") {
			hits = append(hits, hit{u.people[12], "drink", "区纪委监委通报：工作日午间饮酒"})
		}
		if q.Q == 1 && strings.Contains(u.org.Name, "人力资源") {
			hits = append(hits, hit{u.people[15], "complaint", "12345热线有效投诉一件"})
		}
		for _, h := range hits {
			e, err := ap.AddEntry(ctx, u.hr, appraisal.EntryInput{CycleID: c.ID, PersonID: h.person.ID, ItemID: items[h.item].ID,
				OccurredOn: day(-20).Format(store.DateLayout), Evidence: h.evidence})
			if err != nil {
				return err
			}
			if _, err := ap.ConfirmEntry(ctx, u.director, e.ID, appraisal.ReviewInput{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = b.at(day(20), func() error {
		_, err := ap.CloseStep(ctx, u.hr, c.ID, appraisal.StepInput{Step: appraisal.StepHR})
		if !errs.Is(err, errs.KindConflict) || !strings.Contains(err.Error(), "并列") {
			return err
		}
		// A tie at the quota's edge: HR decides for the first, with the reason recorded.
		cy, err := ap.GetCycle(ctx, u.hr, c.ID)
		if err != nil {
			return err
		}
		for _, pool := range cy.Summary.Pools {
			if len(pool.Tie) == 0 {
				continue
			}
			var winners []int64
			for _, t := range pool.Tie[:pool.TieSlots] {
				winners = append(winners, t.PersonID)
			}
			if _, err := ap.DecideTie(ctx, u.hr, c.ID, appraisal.TieInput{Pool: pool.Pool, Winners: winners, Reason: "经党组研究，按季度重点任务完成情况确定"}); err != nil {
				return err
			}
		}
		_, err = ap.CloseStep(ctx, u.hr, c.ID, appraisal.StepInput{Step: appraisal.StepHR})
		return err
	})
	if err != nil {
		return err
	}
	// 6 结果反馈与公示: in 财政局's last quarter the demo member asks for a review; HR upholds.
	if member := b.staff["xishan_keyuan"]; last && member.Grants[0].OrgID == u.org.ID {
		err := b.at(day(21), func() error {
			_, err := ap.RequestReview(ctx, member, c.ID, appraisal.ReviewRequest{Reason: "本季度承担了决算审核专项工作，请复核绩的评价"})
			return err
		})
		if err != nil {
			return err
		}
		err = b.at(day(23), func() error {
			_, err := ap.AnswerReview(ctx, u.hr, c.ID, appraisal.AnswerInput{PersonID: member.PersonID,
				Answer: "经复核，决算审核专项工作已计入目标任务评定"})
			return err
		})
		if err != nil {
			return err
		}
	}
	if err := step(day(30), appraisal.StepFeedback); err != nil {
		return err
	}
	// 7 备案.
	return step(day(33), appraisal.StepFiling)
}
