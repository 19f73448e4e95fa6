package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"grassroots/appraisal"
	"grassroots/auth"
	"grassroots/org"
)

// TestAppraisalClose closes step 5 of 西山区财政局's third quarter from the command line: a
// cycle that does not exist, a cycle before step 5 and a tie at the staff pool's 好 quota are
// refused with exit 1 and nothing confirmed; once HR has decided the tie, the command confirms
// and prints each pool's grade counts, and a second run is refused.
func TestAppraisalClose(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "grassroots.db")
	a, err := open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	sys := auth.System()
	var unit org.Org
	var cycle appraisal.Cycle
	var hr *auth.Principal
	ids := map[string]int64{}
	err = func() error {
		district, err := a.org.CreateOrg(ctx, sys, org.OrgInput{Name: "西山区", Kind: org.KindCounty})
		if err != nil {
			return err
		}
		if unit, err = a.org.CreateOrg(ctx, sys, org.OrgInput{ParentID: district.ID, Name: "西山区财政局", Kind: org.KindGovUnit}); err != nil {
			return err
		}
		for i, n := range []string{"局长", "副局长", "党组成员", "一号", "二号", "三号", "四号"} {
			cats := []string{"公务员"}
			if i < 3 {
				cats = append(cats, "领导干部")
			}
			pe, err := a.org.CreatePerson(ctx, sys, org.PersonInput{OrgID: unit.ID, Name: n, IDNumber: idNumber(i + 1),
				PoliticalStatus: "群众", Categories: cats})
			if err != nil {
				return fmt.Errorf("person %s: %w", n, err)
			}
			ids[n] = pe.ID
		}
		role, _ := auth.LookupRole(auth.RoleUnitAdmin)
		hr = &auth.Principal{UserID: 7, Username: "czj_renshi", Grants: []auth.Grant{{Role: role, OrgID: unit.ID, OrgPath: unit.Path, OrgName: unit.Name}}}
		if cycle, err = a.appraisal.OpenCycle(ctx, sys, appraisal.CycleInput{OrgID: unit.ID, Quarter: "2026Q3"}); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := a.appraisal.CreateTask(ctx, sys, appraisal.TaskInput{CycleID: cycle.ID, PersonID: id, Dimension: "ji",
				Title: "日常工作", Standard: "按期完成", Weight: 1, BaseScore: 90}); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		a.close()
		t.Fatal(err)
	}
	unitArg := fmt.Sprint(unit.ID)

	// Not at step 5 yet.
	code, stdout, stderr := runCLI("appraisal", "close", "--unit", unitArg, "--quarter", "2026Q3", "--db", dsn)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "当前在第1步“制定目标任务”，尚未到第5步“组织人事部门综合评定”") {
		t.Fatalf("before step 5: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// No such cycle.
	code, _, stderr = runCLI("appraisal", "close", "--unit", unitArg, "--quarter", "2026Q4", "--db", dsn)
	if code != 1 || !strings.Contains(stderr, "没有2026年第四季度的平时考核周期") {
		t.Fatalf("no cycle: exit %d, stderr: %s", code, stderr)
	}
	code, _, stderr = runCLI("appraisal", "close", "--unit", unitArg, "--db", dsn)
	if code != 1 || !strings.Contains(stderr, "用法：grassroots appraisal close") {
		t.Fatalf("no quarter: exit %d, stderr: %s", code, stderr)
	}

	err = func() error {
		for step := 1; step <= 4; step++ {
			if _, err := a.appraisal.CloseStep(ctx, sys, cycle.ID, appraisal.StepInput{Step: step}); err != nil {
				return err
			}
		}
		// Leaders 95, 88, 80: one 好 (40 % of 3, at least 1), two 较好. Staff: 一号 and 二号 tie at
		// 95 for the one 好 of four.
		for n, v := range map[string]int64{"局长": 95, "副局长": 88, "党组成员": 80, "一号": 95, "二号": 95, "三号": 85, "四号": 70} {
			if _, err := a.appraisal.Rate(ctx, hr, appraisal.RatingInput{CycleID: cycle.ID, PersonID: ids[n], Party: "hr",
				Scores: appraisal.DimValues{v, v, v, v, v}}); err != nil {
				return err
			}
		}
		return nil
	}()
	a.close()
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr = runCLI("appraisal", "close", "--unit", unitArg, "--quarter", "2026Q3", "--db", dsn)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "一般公务员评定池有并列人员待决定“好”等次") ||
		!strings.Contains(stderr, fmt.Sprintf("POST /api/v1/appraisal/cycles/%d/ties", cycle.ID)) {
		t.Fatalf("a pending tie: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	a, err = open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if pr, err := a.appraisal.Progress(ctx, sys, cycle.ID); err != nil || pr.Step != appraisal.StepHR || pr.PublishedAt != nil {
		a.close()
		t.Fatalf("after the refusal: %+v, %v", pr, err)
	}
	if _, err := a.appraisal.ComputeResults(ctx, hr, cycle.ID); err != nil {
		a.close()
		t.Fatal(err)
	}
	_, err = a.appraisal.DecideTie(ctx, hr, cycle.ID, appraisal.TieInput{Pool: appraisal.PoolStaff, Winners: []int64{ids["二号"]},
		Reason: "二号本季度承担重点任务更多"})
	a.close()
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr = runCLI("appraisal", "close", "--unit", unitArg, "--quarter", "2026Q3", "--db", dsn)
	want := []string{
		"西山区财政局2026年第三季度第5步“组织人事部门综合评定”已结束，结果已确认并公示",
		"领导干部（3 人）：好 1，较好 2，一般 0，较差 0\n",
		"一般公务员（4 人）：好 1，较好 2，一般 1，较差 0\n",
	}
	for _, w := range want {
		if code != 0 || !strings.Contains(stdout, w) {
			t.Fatalf("closing: exit %d, want %q\nstdout: %s\nstderr: %s", code, w, stdout, stderr)
		}
	}
	code, stdout, stderr = runCLI("appraisal", "close", "--unit", unitArg, "--quarter", "2026Q3", "--db", dsn)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "第5步“组织人事部门综合评定”已经结束，结果已公示（当前第6步“结果反馈与公示”）") {
		t.Fatalf("closing twice: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
