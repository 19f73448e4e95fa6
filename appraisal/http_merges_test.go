package appraisal_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"grassroots/appraisal"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

// smallQuarter makes 西山区 merge small units (fewer than 5 in a pool) and brings 2026Q3 of
// 财政局 (leaders 局长 93, 副局长 88; staff 甲 95, 乙 96, 丙 85) and 发改局 (发改甲 95, 发改乙
// 80) to step 5, rated by their HR offices: both units' pools are small. Merged, the staff
// pool of 5 has 2 places of 好: 乙, then 甲 and 发改甲 tied on everything for the other.
func (s *server) smallQuarter(t *testing.T) (fin, dev appraisal.Cycle) {
	t.Helper()
	for i, name := range []string{"发改甲", "发改乙"} {
		pe, err := s.orgs.CreatePerson(t.Context(), auth.System(), org.PersonInput{OrgID: s.fgj.ID, Name: name, IDNumber: idNumber(20 + i),
			PoliticalStatus: "群众", Categories: []string{"公务员"}})
		if err != nil {
			t.Fatal(err)
		}
		s.people[name] = pe.ID
	}
	zzb := s.login(t, "zuzhibu")
	pol := appraisal.DefaultPolicy
	pol.MergeSmallUnits = true
	want(t, "policy", zzb.json("PUT", "/api/v1/appraisal/policies", appraisal.PolicyInput{OrgID: s.district.ID, EffectiveFrom: "2026-01-01", Policy: pol}), http.StatusOK)
	run := func(hr *client, o int64, scores map[string]int64) appraisal.Cycle {
		var c appraisal.Cycle
		r := hr.json("POST", "/api/v1/appraisal/cycles", appraisal.CycleInput{OrgID: o, Quarter: "2026Q3"})
		want(t, "open", r, http.StatusCreated)
		r.decode(t, &c)
		for name := range scores {
			want(t, "task "+name, hr.json("POST", "/api/v1/appraisal/tasks", appraisal.TaskInput{CycleID: c.ID, PersonID: s.people[name],
				Dimension: "ji", Title: "日常工作", Standard: "按期完成", Weight: 1, BaseScore: 90}), http.StatusCreated)
		}
		for step := 1; step <= 4; step++ {
			want(t, fmt.Sprint("close ", step), hr.json("POST", fmt.Sprintf("/api/v1/appraisal/cycles/%d/steps", c.ID), appraisal.StepInput{Step: step}), http.StatusOK)
		}
		for name, v := range scores {
			want(t, "rate "+name, hr.json("POST", "/api/v1/appraisal/ratings", appraisal.RatingInput{CycleID: c.ID, PersonID: s.people[name], Party: "hr",
				Scores: appraisal.DimValues{v, v, v, v, v}}), http.StatusOK)
		}
		return c
	}
	fin = run(s.login(t, "renshi"), s.unit.ID, map[string]int64{"局长": 93, "副局长": 88, "甲": 95, "乙": 96, "丙": 85})
	dev = run(s.login(t, "fgj"), s.fgj.ID, map[string]int64{"发改甲": 95, "发改乙": 80})
	return fin, dev
}

// TestMergePage: the district's organisation department merges its small units' pools on a
// page linked from its oversight page, and decides the merged tie with a reason; the
// units' HR offices cannot; each unit's page says its pool was graded merged, and the
// district's page says when a unit's change has made a merged grading stale.
func TestMergePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newServer(t, db)
		fin, _ := s.smallQuarter(t)
		zzb, hr, fgj := s.login(t, "zuzhibu"), s.login(t, "renshi"), s.login(t, "fgj")
		district := fmt.Sprint(s.district.ID)
		page := "/appraisal/merges?org_id=" + district + "&quarter=2026Q3"

		shows(t, "oversight", zzb.get("/appraisal/oversight?org_id="+district+"&quarter=2026Q3"), http.StatusOK,
			`href="/appraisal/merges?org_id=`+district+`&amp;quarter=2026Q3"`, "小单位合并评定")
		shows(t, "before merging", zzb.get(page), http.StatusOK, "西山区 · 2026年第三季度 小单位合并评定", "西山区财政局", "西山区发展和改革局",
			"未合并", "第5步 组织人事部门综合评定", `<button type="submit" class="primary">合并评定</button>`, "尚未合并评定")
		form := url.Values{"org_id": {district}, "quarter": {"2026Q3"}}
		shows(t, "a unit's HR merging", fgj.form("/appraisal/merges", form), http.StatusNotFound)

		want(t, "merge", zzb.form("/appraisal/merges", form), http.StatusSeeOther)
		shows(t, "after merging", zzb.get(page), http.StatusOK,
			"一般公务员 · 合并评定第 2 号（5 人参评，“好”等次名额 2 个）", "领导干部 · 合并评定第 1 号（2 人参评，“好”等次名额 1 个）",
			"西山区财政局</a>（3 人）", "西山区发展和改革局</a>（2 人）", "好 1 人 · 较好 2 人 · 一般 0 人 · 较差 0 人",
			"待区级决定", "尚余 1 个“好”等次名额", "重新合并评定")
		unitPage := hr.get(fmt.Sprintf("/appraisal/cycles/%d", fin.ID))
		shows(t, "the unit's page", unitPage, http.StatusOK,
			"已由西山区将西山区发展和改革局、西山区财政局的同类评定池合并评定（合并评定第 2 号，共 5 人参评，“好”等次名额 2 个）",
			"待区级决定", "并列人员的“好”等次由西山区在小单位合并评定中决定")
		if strings.Contains(unitPage.body, `action="/appraisal/cycles/`+fmt.Sprint(fin.ID)+`/ties"`) {
			t.Error("the unit's page offers its HR a form to decide the merged tie")
		}

		tie := url.Values{"org_id": {district}, "quarter": {"2026Q3"}, "pool": {"staff"}, "merge_id": {"2"}, "winners": {fmt.Sprint(s.people["发改甲"])}}
		shows(t, "a tie without a reason", zzb.form("/appraisal/merges/ties", tie), http.StatusBadRequest, "请填写决定理由")
		tie.Set("reason", "发改甲牵头完成重点项目")
		shows(t, "a unit's HR deciding", hr.form("/appraisal/merges/ties", tie), http.StatusNotFound)
		want(t, "decide", zzb.form("/appraisal/merges/ties", tie), http.StatusSeeOther)
		shows(t, "after the decision", zzb.get(page), http.StatusOK, "一般公务员 · 合并评定第 3 号", "好 2 人 · 较好 3 人", "并列经区级决定评为好")
		shows(t, "甲 on the unit's page", hr.get(fmt.Sprintf("/appraisal/cycles/%d", fin.ID)), http.StatusOK, "并列经区级决定评为较好：发改甲牵头完成重点项目")

		// 财政局 changes 丙's score: the district's page and the unit's say the grading no longer holds.
		want(t, "rate 丙 again", hr.json("POST", "/api/v1/appraisal/ratings", appraisal.RatingInput{CycleID: fin.ID, PersonID: s.people["丙"], Party: "hr",
			Scores: appraisal.DimValues{70, 70, 70, 70, 70}}), http.StatusOK)
		want(t, "compute", hr.form(fmt.Sprintf("/appraisal/cycles/%d/compute", fin.ID), nil), http.StatusSeeOther)
		shows(t, "stale", zzb.get(page), http.StatusOK, "合并评定后西山区财政局的评分已有变化，本合并评定已失效", "第 3 号已失效")
		shows(t, "stale on the unit's page", hr.get(fmt.Sprintf("/appraisal/cycles/%d", fin.ID)), http.StatusOK,
			"西山区财政局的评分已有变化，合并评定已失效：本评定池等次暂缓，须由西山区重新合并评定后方可确认结果", "等次暂缓，待区级重新合并评定")
		shows(t, "confirming", hr.form(fmt.Sprintf("/appraisal/cycles/%d/steps", fin.ID), url.Values{"step": {"5"}}), http.StatusConflict,
			"一般公务员评定池合并评定后本单位的评分已有变化")
	}, migrations...)
}
