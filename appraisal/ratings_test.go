package appraisal

import (
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
)

func TestTargetTasksReportedByThePersonAssessedByTheLeader(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		yi := w.people["一号"]
		_, err := w.svc.CreateTask(ctx, w.hr, TaskInput{CycleID: c.ID, PersonID: yi, Dimension: "德", Title: "x", Standard: "y", Weight: 1, BaseScore: 90})
		wantErr(t, "task on 德", err, errs.KindInvalid, "目标任务只适用于能、勤、绩三项")
		_, err = w.svc.CreateTask(ctx, w.hr, TaskInput{CycleID: c.ID, PersonID: yi, Dimension: "绩", Weight: 0, BaseScore: 101})
		for _, want := range []string{"请填写任务名称", "请填写完成标准", "任务权重应在 1 到 100 之间", "达标基础分应在 1 到 100 分之间"} {
			if !contains(err, want) {
				t.Errorf("bad task: %v lacks %q", err, want)
			}
		}
		task := must[Task](t)(w.svc.CreateTask(ctx, w.hr, TaskInput{CycleID: c.ID, PersonID: yi, Dimension: "绩", Title: "完成三季度预算执行分析",
			Standard: "9月20日前报送区政府", Evidence: "报送件", Weight: 2, BaseScore: 90}))
		other := must[Task](t)(w.svc.CreateTask(ctx, w.hr, TaskInput{CycleID: c.ID, PersonID: w.people["二号"], Dimension: "neng", Title: "培训",
			Standard: "参加", Weight: 1, BaseScore: 80}))
		if task.State != TaskSet || task.Dimension != DimJi {
			t.Fatalf("task = %+v", task)
		}

		// 一号 sees and reports their own task only.
		if mine := must[[]Task](t)(w.svc.ListTasks(ctx, w.member, TaskFilter{CycleID: c.ID})); len(mine) != 1 || mine[0].ID != task.ID {
			t.Fatalf("一号's tasks = %+v", mine)
		}
		// Another unit's cycle, or one that does not exist, is not found, as for its entries.
		otherCycle := w.cycle(t, w.other, "2026Q3")
		for _, p := range []*auth.Principal{w.hr, w.leader, w.member} {
			_, err = w.svc.ListTasks(ctx, p, TaskFilter{CycleID: otherCycle.ID})
			wantErr(t, p.Username+" listing another unit's tasks", err, errs.KindNotFound, "考核周期不存在")
			_, err = w.svc.ListTasks(ctx, p, TaskFilter{CycleID: otherCycle.ID + 1000})
			wantErr(t, p.Username+" listing the tasks of no cycle", err, errs.KindNotFound, "考核周期不存在")
		}
		if theirs := must[[]Task](t)(w.svc.ListTasks(ctx, w.otherHR, TaskFilter{CycleID: otherCycle.ID})); len(theirs) != 0 {
			t.Fatalf("发改局's tasks = %+v", theirs)
		}
		_, err = w.svc.ReportTask(ctx, w.member, other.ID, ReportInput{Completion: "done"})
		wantErr(t, "reporting another's task", err, errs.KindNotFound, "目标任务不存在")
		_, err = w.svc.ReportTask(ctx, w.hr, task.ID, ReportInput{Completion: "done"})
		wantErr(t, "HR reporting for 一号", err, errs.KindForbidden, "只能填报本人的目标任务完成情况")
		rep := must[Task](t)(w.svc.ReportTask(ctx, w.member, task.ID, ReportInput{Completion: "9月18日已报送", Evidence: "西财〔2026〕12号"}))
		if rep.State != TaskReported || rep.ReportedAt == nil {
			t.Fatalf("reported = %+v", rep)
		}

		_, err = w.svc.AssessTask(ctx, w.hr, task.ID, AssessInput{Met: true})
		wantErr(t, "HR assessing (not the supervising leader)", err, errs.KindForbidden, "您不是一号的主管领导")
		_, err = w.svc.AssessTask(ctx, w.leader, task.ID, AssessInput{Met: false, Score: 90})
		wantErr(t, "not met at the base score", err, errs.KindInvalid, "未达标的任务得分应在 0 到 89 分之间")
		got := must[Task](t)(w.svc.AssessTask(ctx, w.leader, task.ID, AssessInput{Met: false, Score: 75, Note: "晚报两天"}))
		if got.State != TaskAssessed || *got.Score != 7500 || *got.Met {
			t.Fatalf("assessed = %+v", got)
		}
		got = must[Task](t)(w.svc.AssessTask(ctx, w.leader, task.ID, AssessInput{Met: true, Note: "复核后认定按时报送"}))
		if *got.Score != 9000 || !*got.Met {
			t.Fatalf("met = %+v; want the base score 90", got)
		}
		_, err = w.svc.ReportTask(ctx, w.member, task.ID, ReportInput{Completion: "改一下"})
		wantErr(t, "reporting after assessment", err, errs.KindConflict, "任务已评定")
		selfTask := must[Task](t)(w.svc.CreateTask(ctx, w.hr, TaskInput{CycleID: c.ID, PersonID: w.people["局长"], Dimension: "qin", Title: "x", Standard: "y", Weight: 1, BaseScore: 90}))
		_, err = w.svc.AssessTask(ctx, w.leader, selfTask.ID, AssessInput{Met: true})
		wantErr(t, "assessing one's own task", err, errs.KindForbidden, "不能评定本人的目标任务")
		scores := must[map[int64][]TaskScore](t)(assessedTasks(ctx, w.db, c.ID))
		if len(scores) != 1 || scores[yi][0] != (TaskScore{DimJi, 2, 9000}) {
			t.Fatalf("assessed tasks = %+v", scores)
		}
	})
}

func TestMassRatingThroughOneTimeLinks(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		_, err := w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{})
		wantErr(t, "no count", err, errs.KindInvalid, "请填写要生成的测评链接数量")
		_, err = w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: 501})
		wantErr(t, "too many", err, errs.KindInvalid, "一次最多生成 500 个")
		anon := must[[]IssuedLink](t)(w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Count: 2}))
		named := must[[]IssuedLink](t)(w.svc.IssueLinks(ctx, w.hr, c.ID, LinksInput{Holders: []int64{w.people["一号"]}}))
		if len(anon) != 2 || len(named) != 1 || named[0].HolderName != "一号" || anon[0].Token == anon[1].Token || anon[0].Path != "/appraisal/rate/"+anon[0].Token {
			t.Fatalf("links = %+v %+v", anon, named)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM ap_links WHERE token_hash = ?`, anon[0].Token); n != 0 {
			t.Fatal("a token is stored in the clear")
		}

		form := must[RatingForm](t)(w.svc.LinkForm(ctx, named[0].Token))
		if len(form.Ratees) != 9 || form.OrgName != "西山区财政局" || form.QuarterLabel != "2026年第三季度" {
			t.Fatalf("一号's form = %+v; want the nine others", form)
		}
		for _, r := range form.Ratees {
			if r.Name == "一号" {
				t.Fatal("一号's form lists 一号")
			}
		}
		_, err = w.svc.RateByLink(ctx, named[0].Token, MassRatingInput{Ratings: []RateeScores{{PersonID: w.people["一号"], Scores: same(90)}}})
		wantErr(t, "rating oneself", err, errs.KindInvalid, "不能给本人评分")
		_, err = w.svc.RateByLink(ctx, anon[0].Token, MassRatingInput{Ratings: []RateeScores{{PersonID: w.people["二号"], Scores: DimValues{90, 90, 101, 90, 90}}}})
		wantErr(t, "a score of 101", err, errs.KindInvalid, "勤的评分应在 0 到 100 分之间")
		_, err = w.svc.RateByLink(ctx, anon[0].Token, MassRatingInput{Ratings: []RateeScores{{PersonID: w.people["发改甲"], Scores: same(90)}}})
		wantErr(t, "someone of another unit", err, errs.KindInvalid, "被评人不是本次测评的对象")
		_, err = w.svc.RateByLink(ctx, anon[0].Token, MassRatingInput{Ratings: []RateeScores{{PersonID: w.people["二号"], Scores: same(90)}, {PersonID: w.people["二号"], Scores: same(80)}}})
		wantErr(t, "the same person twice", err, errs.KindInvalid, "同一人只能评一次")
		if n := w.count(t, `SELECT COUNT(*) FROM ap_ratings`); n != 0 {
			t.Fatalf("%d ratings written by refused submissions", n)
		}

		receipt := must[MassRatingReceipt](t)(w.svc.RateByLink(ctx, anon[0].Token, MassRatingInput{Ratings: []RateeScores{
			{PersonID: w.people["二号"], Scores: same(90)}, {PersonID: w.people["三号"], Scores: same(85)}}}))
		if receipt.Rated != 2 {
			t.Fatalf("receipt = %+v", receipt)
		}
		_, err = w.svc.RateByLink(ctx, anon[0].Token, MassRatingInput{Ratings: []RateeScores{{PersonID: w.people["四号"], Scores: same(60)}}})
		wantErr(t, "second use", err, errs.KindConflict, "该测评链接已经使用过，不能重复测评")
		_, err = w.svc.LinkForm(ctx, anon[0].Token)
		wantErr(t, "opening a used link", err, errs.KindConflict, "已经使用过")
		_, err = w.svc.LinkForm(ctx, "no-such-token")
		wantErr(t, "a made-up token", err, errs.KindNotFound, "测评链接无效")
		if n := w.count(t, `SELECT COUNT(*) FROM ap_ratings`); n != 2 {
			t.Fatalf("%d ratings after the refused reuse, want 2", n)
		}
		// Nothing stored ties a rating to a link, a person or a time.
		if n := w.count(t, `SELECT COUNT(*) FROM ap_ratings WHERE party = 'mass' AND rater_user_id IS NULL AND rater_person_id IS NULL
			AND rater = '' AND updated_at IS NULL`); n != 2 {
			t.Fatalf("%d anonymous mass ratings, want 2", n)
		}
		var actor, summary string
		if err := w.db.QueryRow(ctx, `SELECT actor, summary FROM audit_log WHERE action = 'appraisal.rate_mass'`).Scan(&actor, &summary); err != nil {
			t.Fatal(err)
		}
		if actor != "匿名测评" || summary != `{"rated":2}` {
			t.Fatalf("audit of a mass rating: %s %s", actor, summary)
		}
		if st := must[LinkStats](t)(w.svc.LinkStats(ctx, w.hr, c.ID)); st.Issued != 3 || st.Used != 1 {
			t.Fatalf("link stats = %+v", st)
		}
		_, err = w.svc.LinkStats(ctx, w.otherHR, c.ID)
		wantErr(t, "another unit's link stats", err, errs.KindNotFound, "考核周期不存在")
	})
}

func TestLeaderAndHRRatings(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		er := w.people["二号"]
		r := must[RatingRecord](t)(w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: er, Party: "leader", Scores: same(88)}))
		if r.Party != PartyLeader || r.Rater != "czj_juzhang" || r.Scores != same(88) {
			t.Fatalf("leader rating = %+v", r)
		}
		// Rating again replaces.
		must[RatingRecord](t)(w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: er, Party: "主管领导", Scores: same(91)}))
		if n := w.count(t, `SELECT COUNT(*) FROM ap_ratings WHERE ratee_id = ? AND de = 91`, er); n != 1 {
			t.Fatalf("%d ratings of 二号 at 91", n)
		}
		for _, c := range []struct {
			what string
			err  error
			kind errs.Kind
			text string
		}{
			{"self", second(w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: w.people["局长"], Party: "leader", Scores: same(99)})), errs.KindForbidden, "不能给本人评分"},
			{"mass signed in", second(w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: er, Party: "mass", Scores: same(99)})), errs.KindInvalid, "须通过匿名测评链接"},
			{"reviewer as HR", second(w.svc.Rate(ctx, w.leader, RatingInput{CycleID: c.ID, PersonID: er, Party: "hr", Scores: same(99)})), errs.KindForbidden, "无权在“西山区财政局”"},
			{"HR as leader", second(w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: er, Party: "leader", Scores: same(99)})), errs.KindForbidden, "您不是二号的主管领导"},
			{"district admin as leader", second(w.svc.Rate(ctx, w.districtAdmin, RatingInput{CycleID: c.ID, PersonID: er, Party: "leader", Scores: same(99)})), errs.KindForbidden, "该账号未关联人员"},
			{"score -1", second(w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: er, Party: "hr", Scores: DimValues{-1, 90, 90, 90, 90}})), errs.KindInvalid, "德的评分应在 0 到 100 分之间"},
			{"not appraised", second(w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: w.people["工勤"], Party: "hr", Scores: same(90)})), errs.KindInvalid, "此人不是本周期的考核对象"},
			{"other unit", second(w.svc.Rate(ctx, w.otherHR, RatingInput{CycleID: c.ID, PersonID: er, Party: "hr", Scores: same(90)})), errs.KindNotFound, "考核周期不存在"},
		} {
			wantErr(t, c.what, c.err, c.kind, c.text)
		}
		must[RatingRecord](t)(w.svc.Rate(ctx, w.hr, RatingInput{CycleID: c.ID, PersonID: er, Party: "hr", Scores: same(86)}))
		list := must[[]RatingRecord](t)(w.svc.ListRatings(ctx, w.hr, RatingFilter{CycleID: c.ID, PersonID: er}))
		if len(list) != 2 || list[0].Party != PartyHR || list[1].Party != PartyLeader || list[1].Scores[DimDe] != 91 {
			t.Fatalf("ratings of 二号 = %+v", list)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'appraisal.rate'`); n != 3 {
			t.Fatalf("%d rating audit records, want 3", n)
		}
	})
}

func second[T any](_ T, err error) error { return err }

// The supervising leader's rating follows the post, not the role: the head of 办公室 rates
// 办公室's people and nobody else; a post that has ended, or no post, rates nobody; and any
// administrator may hold the permission without becoming a leader.
func TestSupervisingLeaderIsWhoHoldsThePost(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		c := w.cycle(t, w.unit, "2026Q3")
		sys := auth.System()
		head := w.people["五号"]
		if _, err := w.orgs.AddMembership(ctx, sys, org.MembershipInput{PersonID: head, OrgID: w.office.ID, Position: "主任", StartedOn: "2025-01-01"}); err != nil {
			t.Fatal(err)
		}
		wuhao := principal(7, "czj_wuhao", auth.RoleMember, w.unit, head)
		wuhao.Grants = append(wuhao.Grants, principal(7, "", auth.RoleUnitAdmin, w.unit, 0).Grants...)
		must[RatingRecord](t)(w.svc.Rate(ctx, wuhao, RatingInput{CycleID: c.ID, PersonID: w.people["四号"], Party: "leader", Scores: same(90)}))
		_, err := w.svc.Rate(ctx, wuhao, RatingInput{CycleID: c.ID, PersonID: w.people["一号"], Party: "leader", Scores: same(90)})
		wantErr(t, "办公室主任 rating someone outside 办公室", err, errs.KindForbidden, "您不是一号的主管领导")
		// The 副局长's post is on the unit: every one of its people, 办公室 included.
		must[RatingRecord](t)(w.svc.Rate(ctx, w.deputy, RatingInput{CycleID: c.ID, PersonID: w.people["四号"], Party: "leader", Scores: same(85)}))
		must[RatingRecord](t)(w.svc.Rate(ctx, w.deputy, RatingInput{CycleID: c.ID, PersonID: w.people["一号"], Party: "leader", Scores: same(85)}))
		// A post that ended before today counts no more.
		sanhao := w.people["三号"]
		m := must[org.Membership](t)(w.orgs.AddMembership(ctx, sys, org.MembershipInput{PersonID: sanhao, OrgID: w.unit.ID, Position: "分管领导", StartedOn: "2025-01-01"}))
		if _, err := w.orgs.EndMembership(ctx, sys, m.ID, "2026-07-01"); err != nil {
			t.Fatal(err)
		}
		former := principal(8, "czj_sanhao", auth.RoleReviewer, w.unit, sanhao)
		before := w.count(t, `SELECT COUNT(*) FROM ap_ratings`)
		_, err = w.svc.Rate(ctx, former, RatingInput{CycleID: c.ID, PersonID: w.people["二号"], Party: "leader", Scores: same(90)})
		wantErr(t, "a former 分管领导", err, errs.KindForbidden, "您不是二号的主管领导")
		if n := w.count(t, `SELECT COUNT(*) FROM ap_ratings`); n != before {
			t.Fatalf("refused leader ratings wrote %d rows", n-before)
		}
		if !w.hr.CanGrant(mustRole(t, auth.RoleReviewer), w.unit.Path) {
			t.Fatal("the unit's administrator cannot grant the reviewer role in the unit")
		}
	})
}

func mustRole(t *testing.T, k auth.RoleKey) auth.Role {
	t.Helper()
	r, ok := auth.LookupRole(k)
	if !ok {
		t.Fatalf("no role %s", k)
	}
	return r
}
