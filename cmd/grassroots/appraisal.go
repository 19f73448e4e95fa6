package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"grassroots/appraisal"
	"grassroots/auth"
	"grassroots/errs"
)

// cmdAppraisalClose closes step 5 (组织人事部门综合评定) of a unit's quarter as the
// command-line operator: the service computes, refuses while a tie waits for a decision,
// confirms and publishes, exactly as HR's "close step 5" does; then the pool-by-pool grade
// counts are printed.
func cmdAppraisalClose(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "appraisal close")
	unit := fs.Int64("unit", 0, "the unit (organisation id) whose quarter is closed")
	quarter := fs.String("quarter", "", "the quarter, e.g. 2026Q3")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *unit <= 0 || *quarter == "" {
		return errs.Invalid("unit", "用法：grassroots appraisal close --unit 单位编号 --quarter 2026Q3 [--db DSN]")
	}
	q, err := appraisal.ParseQuarter(*quarter)
	if err != nil {
		return err
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	sys := auth.System()
	cycles, _, err := a.appraisal.ListCycles(ctx, sys, appraisal.CycleFilter{OrgID: *unit, Quarter: q.String(), Limit: 200})
	if err != nil && !errs.Is(err, errs.KindNotFound) {
		return err
	}
	var cycleID int64
	for _, c := range cycles {
		if c.OrgID == *unit {
			cycleID = c.ID
		}
	}
	if cycleID == 0 {
		return errs.NotFound("单位 %d 没有%s的平时考核周期；请核对单位编号和季度，或先开启考核", *unit, q.Label())
	}
	pr, err := a.appraisal.Progress(ctx, sys, cycleID)
	if err != nil {
		return err
	}
	switch {
	case pr.Filed:
		return errs.Conflict("该单位%s的考核已备案，第5步早已结束；如需重新评定，须经区级批准重新开启", q.Label())
	case pr.Step < appraisal.StepHR:
		return errs.Conflict("该单位%s的考核当前在第%d步“%s”，尚未到第5步“%s”；请先由组织人事部门结束第%d步至第4步",
			q.Label(), pr.Step, pr.StepName, appraisal.StepName(appraisal.StepHR), pr.Step)
	case pr.Step > appraisal.StepHR:
		return errs.Conflict("该单位%s的考核第5步“%s”已经结束，结果已公示（当前第%d步“%s”）",
			q.Label(), appraisal.StepName(appraisal.StepHR), pr.Step, pr.StepName)
	}
	if pr, err = a.appraisal.CloseStep(ctx, sys, cycleID, appraisal.StepInput{Step: appraisal.StepHR}); err != nil {
		var e *errs.Error
		if errs.Is(err, errs.KindConflict) && strings.Contains(err.Error(), "并列") && !strings.Contains(err.Error(), "合并评定") {
			if errors.As(err, &e) {
				return errs.Conflict("%s：请组织人事部门在考核周期页面（/appraisal/cycles/%d）或 POST /api/v1/appraisal/cycles/%d/ties 选定获得“好”等次的人员并写明理由，再运行本命令",
					e.Message, cycleID, cycleID)
			}
		}
		return err
	}
	c, err := a.appraisal.GetCycle(ctx, sys, cycleID)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s%s第5步“%s”已结束，结果已确认并公示；复核申请截止 %s\n",
		c.OrgName, q.Label(), appraisal.StepName(appraisal.StepHR), pr.ReviewUntil)
	own := map[string]int{}
	for _, p := range c.Appraisees {
		own[p.Pool]++
	}
	if c.Summary == nil {
		return nil
	}
	for _, ps := range c.Summary.Pools {
		var counts []string
		graded := 0
		for _, g := range appraisal.Grades() {
			counts = append(counts, fmt.Sprintf("%s %d", g, ps.Counts[g]))
			graded += ps.Counts[g]
		}
		line := fmt.Sprintf("%s（%d 人）：%s", ps.Label, own[ps.Pool], strings.Join(counts, "，"))
		if n := own[ps.Pool] - graded; n > 0 {
			line += fmt.Sprintf("，未评 %d", n)
		}
		if ps.Merge != nil {
			line += fmt.Sprintf("（与%s合并评定，共 %d 人，“好”等次名额 %d 个）", ps.Merge.UnitNames(), ps.Size, ps.Slots)
		}
		fmt.Fprintln(env.stdout, line)
	}
	return nil
}
