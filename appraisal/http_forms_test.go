package appraisal_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"grassroots/appraisal"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/web"
)

// shows fails unless the page answered status and shows every text.
func shows(t *testing.T, what string, r reply, status int, texts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d, want %d: %s", what, r.status, status, r.body)
	}
	for _, s := range texts {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s does not show %q", what, s)
		}
	}
}

// TestQuarterInTheBrowser runs a quarter through the HTML forms only: HR sets target tasks,
// the appraisee writes the 个人小结 and reports on a task on their phone, the director rates
// and assesses, HR rates, results are published, the appraisee asks for a 复核 and HR
// changes the grade; the district issues a rectification order, the unit answers, the
// district closes it. Each refused form comes back with its complaint next to the field.
func TestQuarterInTheBrowser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newServer(t, db)
		zzb, hr, leader, jia := s.login(t, "zuzhibu"), s.login(t, "renshi"), s.login(t, "juzhang"), s.login(t, "jia")

		// 我的考核 is offered from the first quarter 甲 is appraised in.
		if body := jia.get("/").body; strings.Contains(body, "我的考核") || !strings.Contains(body, "您好，甲") {
			t.Errorf("甲's home before any quarter offers 我的考核 or greets another:\n%s", body)
		}
		var cycle appraisal.Cycle
		r := hr.json("POST", "/api/v1/appraisal/cycles", appraisal.CycleInput{OrgID: s.unit.ID, Quarter: "2026Q3"})
		want(t, "open", r, http.StatusCreated)
		r.decode(t, &cycle)
		shows(t, "甲's home", jia.get("/"), http.StatusOK, "我的考核", "/appraisal/mine")
		page := fmt.Sprintf("/appraisal/cycles/%d", cycle.ID)

		// Step 1: a task with no weight is refused at the field; the form keeps what was typed.
		task := url.Values{"person_id": {fmt.Sprint(s.people["甲"])}, "dimension": {"ji"}, "title": {"完成预算编制"},
			"standard": {"9月底前报送"}, "evidence": {"报送回执"}, "weight": {""}, "base_score": {"90"}}
		shows(t, "task without weight", hr.form(page+"/tasks", task), http.StatusBadRequest, "请填写整数", "完成预算编制")
		task.Set("weight", "2")
		r = hr.form(page+"/tasks", task)
		want(t, "task", r, http.StatusSeeOther)
		shows(t, "member sets a task", jia.form(page+"/tasks", task), http.StatusForbidden)
		for _, name := range []string{"局长", "副局长", "乙", "丙"} {
			want(t, "task "+name, hr.json("POST", "/api/v1/appraisal/tasks", appraisal.TaskInput{CycleID: cycle.ID, PersonID: s.people[name],
				Dimension: "ji", Title: "日常工作", Standard: "按期完成", Weight: 1, BaseScore: 90}), http.StatusCreated)
		}
		shows(t, "tasks page", hr.get(page+"/tasks"), http.StatusOK, "完成预算编制", "9月底前报送", "制定目标任务")
		want(t, "close 1", hr.form(page+"/steps", url.Values{"step": {"1"}}), http.StatusSeeOther)

		// Step 2 on the appraisee's own page.
		shows(t, "my quarters", jia.get("/appraisal/mine"), http.StatusOK, "2026年第三季度", "西山区财政局", "一般公务员", "未公布")
		mine := fmt.Sprintf("/appraisal/mine/%d", cycle.ID)
		shows(t, "my quarter", jia.get(mine), http.StatusOK, "完成预算编制", "填报完成情况", "保存小结")
		shows(t, "empty summary", jia.form(mine+"/summary", url.Values{"body": {"  "}}), http.StatusBadRequest, "请填写个人小结")
		want(t, "summary", jia.form(mine+"/summary", url.Values{"body": {"本季度完成预算编制和决算审核。"}}), http.StatusSeeOther)
		var tasks web.ListBody[appraisal.Task]
		jia.get(fmt.Sprintf("/api/v1/appraisal/tasks?cycle_id=%d", cycle.ID)).decode(t, &tasks)
		if len(tasks.Items) != 1 {
			t.Fatalf("甲 sees %d tasks", len(tasks.Items))
		}
		taskPath := fmt.Sprintf("/appraisal/tasks/%d", tasks.Items[0].ID)
		shows(t, "empty report", jia.form(taskPath+"/report", url.Values{"completion": {""}}), http.StatusBadRequest, "请填写完成情况")
		want(t, "report", jia.form(taskPath+"/report", url.Values{"completion": {"9月25日报送"}, "evidence": {"回执扫描件"}}), http.StatusSeeOther)
		shows(t, "my quarter after step 2", jia.get(mine), http.StatusOK, "本季度完成预算编制和决算审核。", "9月25日报送")
		shows(t, "another's quarter", s.login(t, "fgj").get(mine), http.StatusNotFound)
		for _, step := range []string{"2", "3"} {
			want(t, "close "+step, hr.form(page+"/steps", url.Values{"step": {step}}), http.StatusSeeOther)
		}
		shows(t, "summary after step 2", jia.form(mine+"/summary", url.Values{"body": {"改一改"}}), http.StatusConflict, "个人小结")

		// Step 4: the director's form; a score of 101 is refused at its box.
		rate := page + "/rate?party=leader"
		r = leader.get(rate)
		shows(t, "leader's form", r, http.StatusOK, "主管领导评价", "甲", "丙")
		if strings.Contains(r.body, "已评") || strings.Contains(r.body, fmt.Sprintf(`name="person_id" value="%d"`, s.people["局长"])) {
			t.Errorf("the director's form before rating shows 已评 or a form for himself")
		}
		scores := func(name string, v int) url.Values {
			f := url.Values{"party": {"leader"}, "person_id": {fmt.Sprint(s.people[name])}}
			for _, d := range appraisal.Dims() {
				f.Set(d.Key(), fmt.Sprint(v))
			}
			return f
		}
		bad := scores("甲", 95)
		bad.Set("de", "101")
		shows(t, "score 101", leader.form(page+"/rate", bad), http.StatusBadRequest, "德的评分应在 0 到 100 分之间", `value="101"`)
		for name, v := range map[string]int{"甲": 95, "乙": 85, "丙": 70, "副局长": 88} {
			want(t, "leader rates "+name, leader.form(page+"/rate", scores(name, v)), http.StatusSeeOther)
		}
		shows(t, "leader's form after", leader.get(rate), http.StatusOK, `value="95"`, "已评")
		shows(t, "HR as leader", hr.form(page+"/rate", scores("乙", 99)), http.StatusForbidden)
		shows(t, "assess without score", leader.form(taskPath+"/assess", url.Values{"met": {"0"}, "score": {""}}), http.StatusBadRequest, "请填写整数")
		want(t, "assess", leader.form(taskPath+"/assess", url.Values{"met": {"1"}, "note": {"按期报送"}}), http.StatusSeeOther)
		shows(t, "tasks page after", hr.get(page+"/tasks"), http.StatusOK, "达标", "90.00 分", "按期报送")
		want(t, "close 4", hr.form(page+"/steps", url.Values{"step": {"4"}}), http.StatusSeeOther)

		// Step 5: HR rates through its form, closes the step, the results are published.
		hrScores := scores("局长", 92)
		hrScores.Set("party", "hr")
		want(t, "hr rates", hr.form(page+"/rate", hrScores), http.StatusSeeOther)
		shows(t, "leader on HR's form", leader.get(page+"/rate?party=hr"), http.StatusForbidden)
		want(t, "close 5", hr.form(page+"/steps", url.Values{"step": {"5"}}), http.StatusSeeOther)

		// Step 6: 甲 sees 好 and asks for a review; HR changes it to 较好 with a reason.
		shows(t, "my quarters once published", jia.get("/appraisal/mine"), http.StatusOK, "<strong>好</strong>")
		shows(t, "my result", jia.get(mine), http.StatusOK, "考核结果", "好", "申请复核")
		shows(t, "review without reason", jia.form(mine+"/review", url.Values{"reason": {""}}), http.StatusBadRequest, "请填写申请复核的理由")
		want(t, "review", jia.form(mine+"/review", url.Values{"reason": {"绩的评定有误"}}), http.StatusSeeOther)
		shows(t, "cycle page with the review", hr.get(page), http.StatusOK, "复核申请", "绩的评定有误", "答复")
		if body := hr.get(page).body; strings.Contains(body, "计算考核结果") || strings.Contains(body, "生成干部群众测评链接") {
			t.Fatal("after step 5 the cycle page still offers to compute results and make rating links")
		}
		shows(t, "answer without text", hr.form(page+"/reviews/answer", url.Values{"person_id": {fmt.Sprint(s.people["甲"])}, "grade": {"较好"}}),
			http.StatusBadRequest, "请填写复核意见")
		r = hr.form(page+"/reviews/answer", url.Values{"person_id": {fmt.Sprint(s.people["甲"])}, "grade": {"较好"}, "answer": {"经复核，绩的评定应为较好"}})
		want(t, "answer", r, http.StatusSeeOther)
		shows(t, "my result after review", jia.get(mine), http.StatusOK, "经复核，绩的评定应为较好", "等次由“好”改为“较好”")

		// The district's rectification order, from its oversight page.
		over := fmt.Sprintf("/appraisal/oversight?org_id=%d&quarter=2026Q3", s.district.ID)
		shows(t, "oversight", zzb.get(over), http.StatusOK, "下达督促整改")
		order := url.Values{"from_org": {fmt.Sprint(s.district.ID)}, "quarter": {"2026Q3"}, "org_id": {fmt.Sprint(s.unit.ID)},
			"issue": {"目标任务清单过于笼统，请细化"}, "due_on": {"7月底"}}
		shows(t, "order with a bad date", zzb.form("/appraisal/rectifications", order), http.StatusBadRequest, "YYYY-MM-DD", "目标任务清单过于笼统")
		order.Set("due_on", "2026-07-31")
		want(t, "order", zzb.form("/appraisal/rectifications", order), http.StatusSeeOther)
		var orders web.ListBody[appraisal.Rectification]
		hr.get(fmt.Sprintf("/api/v1/appraisal/rectifications?org_id=%d", s.unit.ID)).decode(t, &orders)
		if len(orders.Items) != 1 {
			t.Fatalf("unit's orders = %+v", orders)
		}
		rect := fmt.Sprintf("/appraisal/rectifications/%d", orders.Items[0].ID)
		shows(t, "unit's orders", hr.get("/appraisal/rectifications"), http.StatusOK, "目标任务清单过于笼统", "待整改", "答复整改情况")
		shows(t, "empty answer", hr.form(rect+"/answer", url.Values{"answer": {""}, "from_org": {fmt.Sprint(s.unit.ID)}}), http.StatusBadRequest, "请填写")
		want(t, "answer order", hr.form(rect+"/answer", url.Values{"answer": {"已逐人细化到月"}, "from_org": {fmt.Sprint(s.unit.ID)}}), http.StatusSeeOther)
		shows(t, "unit closes its own order", hr.form(rect+"/close", url.Values{}), http.StatusForbidden)
		want(t, "close order", zzb.form(rect+"/close", url.Values{"note": {"已核实"}, "from_org": {fmt.Sprint(s.district.ID)}}), http.StatusSeeOther)
		shows(t, "district's orders", zzb.get(fmt.Sprintf("/appraisal/rectifications?org_id=%d", s.district.ID)), http.StatusOK, "已销号", "已逐人细化到月", "已核实")
	}, migrations...)
}
