package org_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
)

func ids(people []org.Person) []int64 {
	var out []int64
	for _, pe := range people {
		out = append(out, pe.ID)
	}
	return out
}

func TestCreatePerson(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		number := idNumber("532528", "19580312", 21)
		zhang := w.mustPerson(t, org.PersonInput{OrgID: w.c1.ID, Name: "张三", IDNumber: number, Mobile: "13812345678",
			PoliticalStatus: org.StatusPartyMember, PartyJoinedOn: "1980-07-01", Categories: []string{"志愿者", "离退休"}})
		if zhang.Gender != "男" || zhang.BirthDate != "1958-03-12" || zhang.OrgName != "元城镇社区" ||
			!slices.Equal(zhang.Categories, []string{"离退休", "志愿者"}) || zhang.Archived {
			t.Fatalf("created %+v", zhang)
		}
		if m := zhang.Masked(); m.IDNumber != number[:6]+"********"+number[14:] || m.Mobile != "138****5678" {
			t.Fatalf("masked %s %s", m.IDNumber, m.Mobile)
		}
		recs, _, err := audit.List(ctx, db, audit.Filter{AllOrgs: true, EntityType: "person", EntityID: zhang.ID})
		if err != nil || len(recs) != 1 || recs[0].Action != "person.create" || recs[0].OrgID != w.c1.ID {
			t.Fatalf("audit of the create: %+v, %v", recs, err)
		}
		if s := string(recs[0].Summary); strings.Contains(s, number) || strings.Contains(s, "13812345678") ||
			!strings.Contains(s, org.MaskIDNumber(number)) {
			t.Fatalf("audit summary keeps personal numbers in clear: %s", s)
		}

		tables := []string{`SELECT COUNT(*) FROM people`, `SELECT COUNT(*) FROM person_categories`}
		dup := org.PersonInput{OrgID: w.c2.ID, Name: "张三丰", IDNumber: number, PoliticalStatus: org.StatusMasses,
			Categories: []string{"在职"}}
		unchanged(t, db, func() {
			_, err := w.svc.CreatePerson(ctx, w.sys, dup)
			wantErr(t, err, errs.KindConflict, "身份证号已存在：张三（元城镇社区）")
			if errs.As(err).Field != "id_number" {
				t.Fatalf("duplicate names field %q", errs.As(err).Field)
			}
		}, tables...)
		c2Admin := user(4, "nansha", auth.RoleUnitAdmin, w.c2)
		unchanged(t, db, func() {
			_, err := w.svc.CreatePerson(ctx, c2Admin, dup)
			wantErr(t, err, errs.KindConflict, "身份证号已存在")
		}, tables...)
		unchanged(t, db, func() {
			in := dup
			in.IDNumber, in.Gender = idNumber("532528", "19900101", 12), "男"
			_, err := w.svc.CreatePerson(ctx, w.sys, in)
			wantErr(t, err, errs.KindInvalid, "性别与身份证号不符")
			in.OrgID = w.c1.ID
			_, err = w.svc.CreatePerson(ctx, c2Admin, in)
			wantErr(t, err, errs.KindInvalid, "性别与身份证号不符")
			in.Gender = ""
			_, err = w.svc.CreatePerson(ctx, c2Admin, in)
			wantErr(t, err, errs.KindInvalid, "所属组织不存在")
			_, err = w.svc.CreatePerson(ctx, user(5, "shenhe", auth.RoleReviewer, w.c1), in)
			wantErr(t, err, errs.KindForbidden, "")
		}, tables...)

		// Once archived the number stays taken, and the message says so.
		if _, err := w.svc.ArchivePerson(ctx, w.sys, zhang.ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.CreatePerson(ctx, w.sys, dup)
		wantErr(t, err, errs.KindConflict, "身份证号已存在：张三（元城镇社区，已归档）")
		verifyAudit(t, db)
	})
}

func TestUpdatePerson(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		in := org.PersonInput{OrgID: w.c1.ID, Name: "王芳", IDNumber: idNumber("532528", "19750808", 42),
			Mobile: "13912345678", PoliticalStatus: org.StatusProbationary, Categories: []string{"在职"}}
		wang := w.mustPerson(t, in)
		in.Mobile, in.Categories, in.OrgID = "13700001111", []string{"在职", "志愿者"}, w.c1b1.ID
		got, err := w.svc.UpdatePerson(ctx, w.sys, wang.ID, in)
		if err != nil || got.Mobile != "13700001111" || got.OrgID != w.c1b1.ID || len(got.Categories) != 2 {
			t.Fatalf("update = %+v, %v", got, err)
		}
		recs, _, _ := audit.List(ctx, db, audit.Filter{AllOrgs: true, EntityType: "person", EntityID: wang.ID})
		want := fmt.Sprintf(`{"categories":[["在职"],["在职","志愿者"]],"mobile":["139****5678","137****1111"],"org_id":[%d,%d]}`,
			w.c1.ID, w.c1b1.ID)
		if recs[0].Action != "person.update" || string(recs[0].Summary) != want {
			t.Fatalf("update summary %s, want %s", recs[0].Summary, want)
		}
		unchanged(t, db, func() {
			if _, err := w.svc.UpdatePerson(ctx, w.sys, wang.ID, in); err != nil {
				t.Fatal(err)
			}
		})
		other := w.mustPerson(t, org.PersonInput{OrgID: w.c1.ID, Name: "赵六", IDNumber: idNumber("532528", "19800101", 1),
			PoliticalStatus: org.StatusMasses})
		in.IDNumber = other.IDNumber
		unchanged(t, db, func() {
			_, err := w.svc.UpdatePerson(ctx, w.sys, wang.ID, in)
			wantErr(t, err, errs.KindConflict, "身份证号已存在：赵六（元城镇社区）")
		})
	})
}

// TestPeopleAcrossCommunities is the IDOR test: staff of 元城镇社区 (A) can do nothing to the
// people of 南沙社区 (B), its sibling, and do not see them in lists or numbers.
func TestPeopleAcrossCommunities(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		a1 := w.mustPerson(t, org.PersonInput{OrgID: w.c1.ID, Name: "甲一", IDNumber: idNumber("532528", "19500101", 1),
			PoliticalStatus: org.StatusPartyMember, Categories: []string{"离退休"}})
		a2 := w.mustPerson(t, org.PersonInput{OrgID: w.c1b1.ID, Name: "甲二", IDNumber: idNumber("532528", "19500101", 2),
			PoliticalStatus: org.StatusMasses})
		b1 := w.mustPerson(t, org.PersonInput{OrgID: w.c2.ID, Name: "乙一", IDNumber: idNumber("532528", "19500101", 3),
			PoliticalStatus: org.StatusPartyMember, Categories: []string{"离退休"}})
		reviewerA := user(2, "shenhe", auth.RoleReviewer, w.c1)
		adminA := user(3, "guanli", auth.RoleUnitAdmin, w.c1)

		for _, p := range []*auth.Principal{reviewerA, adminA} {
			_, err := w.svc.GetPerson(ctx, p, b1.ID)
			wantErr(t, err, errs.KindNotFound, "人员不存在")
			unchanged(t, db, func() {
				_, err = w.svc.UpdatePerson(ctx, p, b1.ID, org.PersonInput{OrgID: w.c1.ID, Name: "乙一改",
					IDNumber: b1.IDNumber, PoliticalStatus: org.StatusMasses})
				wantErr(t, err, errs.KindNotFound, "人员不存在")
				_, err = w.svc.ArchivePerson(ctx, p, b1.ID)
				wantErr(t, err, errs.KindNotFound, "人员不存在")
				_, err = w.svc.AddMembership(ctx, p, org.MembershipInput{PersonID: b1.ID, OrgID: w.c1.ID, Position: "主管领导"})
				wantErr(t, err, errs.KindNotFound, "人员不存在")
			}, `SELECT COUNT(*) FROM people WHERE archived_at IS NULL`, `SELECT COUNT(*) FROM memberships`)
			list, _, err := w.svc.ListPeople(ctx, p, org.PeopleFilter{})
			if err != nil || !slices.Equal(ids(list), []int64{a1.ID, a2.ID}) {
				t.Fatalf("%s lists %v, %v", p.Username, ids(list), err)
			}
			_, _, err = w.svc.ListPeople(ctx, p, org.PeopleFilter{OrgID: w.c2.ID})
			wantErr(t, err, errs.KindNotFound, "组织不存在")
			st, err := w.svc.Stats(ctx, p, 0)
			if err != nil || st.People != 2 || st.PartyMembers != 1 || st.ByCategory[1].Count != 1 {
				t.Fatalf("%s stats %+v, %v", p.Username, st, err)
			}
			_, err = w.svc.Stats(ctx, p, w.c2.ID)
			wantErr(t, err, errs.KindNotFound, "组织不存在")
		}
		// Lists mask personal numbers; a single record is in full only for those who maintain it.
		list, _, _ := w.svc.ListPeople(ctx, adminA, org.PeopleFilter{})
		if list[0].IDNumber != org.MaskIDNumber(a1.IDNumber) {
			t.Fatalf("list shows 身份证号 %s", list[0].IDNumber)
		}
		if got, _ := w.svc.GetPerson(ctx, adminA, a1.ID); got.IDNumber != a1.IDNumber {
			t.Fatalf("admin loads 身份证号 %s, want it in full", got.IDNumber)
		}
		if got, _ := w.svc.GetPerson(ctx, reviewerA, a1.ID); got.IDNumber != org.MaskIDNumber(a1.IDNumber) {
			t.Fatalf("reviewer loads 身份证号 %s, want it masked", got.IDNumber)
		}

		// A reviewer sees A's people but may not change them; the admin may.
		_, err := w.svc.UpdatePerson(ctx, reviewerA, a1.ID, org.PersonInput{OrgID: w.c1.ID, Name: "甲一改",
			IDNumber: a1.IDNumber, PoliticalStatus: org.StatusPartyMember})
		wantErr(t, err, errs.KindForbidden, "")
		if _, err := w.svc.UpdatePerson(ctx, adminA, a1.ID, org.PersonInput{OrgID: w.c1.ID, Name: "甲一改",
			IDNumber: a1.IDNumber, PoliticalStatus: org.StatusPartyMember}); err != nil {
			t.Fatal(err)
		}
		// Nor may the admin move one of theirs into B.
		_, err = w.svc.UpdatePerson(ctx, adminA, a2.ID, org.PersonInput{OrgID: w.c2.ID, Name: "甲二",
			IDNumber: a2.IDNumber, PoliticalStatus: org.StatusMasses})
		wantErr(t, err, errs.KindInvalid, "所属组织不存在")

		// A member with a self-only role sees only themself.
		member := &auth.Principal{UserID: 9, Username: "jiayi", PersonID: a1.ID,
			Grants: []auth.Grant{{Role: role(auth.RoleMember), OrgID: w.c1.ID, OrgPath: w.c1.Path}}}
		if me, err := w.svc.GetPerson(ctx, member, a1.ID); err != nil || me.Name != "甲一改" {
			t.Fatalf("member loads self: %+v, %v", me, err)
		}
		for _, id := range []int64{a2.ID, b1.ID} {
			_, err := w.svc.GetPerson(ctx, member, id)
			wantErr(t, err, errs.KindNotFound, "人员不存在")
		}
		if list, _, err := w.svc.ListPeople(ctx, member, org.PeopleFilter{}); err != nil || !slices.Equal(ids(list), []int64{a1.ID}) {
			t.Fatalf("member lists %v, %v", ids(list), err)
		}
		if st, err := w.svc.Stats(ctx, member, 0); err != nil || st.People != 1 {
			t.Fatalf("member stats %+v, %v", st, err)
		}
		_, err = w.svc.UpdatePerson(ctx, member, a1.ID, org.PersonInput{OrgID: w.c1.ID, Name: "我自己",
			IDNumber: a1.IDNumber, PoliticalStatus: org.StatusPartyMember})
		wantErr(t, err, errs.KindForbidden, "")
		verifyAudit(t, db)
	})
}

func TestListPeople(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		statuses := org.PoliticalStatuses()
		var all []org.Person
		for i := range 23 {
			o := []org.Org{w.c1, w.c1b1, w.c2, w.c2b1}[i%4]
			in := org.PersonInput{OrgID: o.ID, Name: fmt.Sprintf("%s%d", []string{"李", "王", "张"}[i%3], i),
				IDNumber: idNumber("532528", fmt.Sprintf("19%02d0101", 40+i), i), PoliticalStatus: statuses[i%5]}
			if i%2 == 0 {
				in.Categories = []string{org.CategoryRetired}
			}
			all = append(all, w.mustPerson(t, in))
		}
		if _, err := w.svc.ArchivePerson(ctx, w.sys, all[0].ID); err != nil {
			t.Fatal(err)
		}
		want := func(keep func(i int, pe org.Person) bool) []int64 {
			var out []int64
			for i, pe := range all {
				if keep(i, pe) {
					out = append(out, pe.ID)
				}
			}
			return out
		}
		inC1 := func(pe org.Person) bool { return pe.OrgID == w.c1.ID || pe.OrgID == w.c1b1.ID }
		cases := []struct {
			name string
			f    org.PeopleFilter
			want []int64
		}{
			{"live people", org.PeopleFilter{}, want(func(i int, _ org.Person) bool { return i > 0 })},
			{"archived too", org.PeopleFilter{IncludeArchived: true}, want(func(int, org.Person) bool { return true })},
			{"subtree of 元城镇社区", org.PeopleFilter{OrgID: w.c1.ID}, want(func(i int, pe org.Person) bool { return i > 0 && inC1(pe) })},
			{"category", org.PeopleFilter{Category: org.CategoryRetired}, want(func(i int, _ org.Person) bool { return i > 0 && i%2 == 0 })},
			{"political status", org.PeopleFilter{PoliticalStatus: org.StatusLeagueMember}, want(func(i int, _ org.Person) bool { return i%5 == 2 })},
			{"name contains", org.PeopleFilter{Query: "王1"}, want(func(i int, pe org.Person) bool { return strings.Contains(pe.Name, "王1") })},
			{"everything at once", org.PeopleFilter{OrgID: w.c1.ID, Category: org.CategoryRetired, PoliticalStatus: org.StatusPartyMember},
				want(func(i int, pe org.Person) bool { return i > 0 && inC1(pe) && i%2 == 0 && i%5 == 0 })},
			{"LIKE wildcards are literal", org.PeopleFilter{Query: "%"}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, next, err := w.svc.ListPeople(ctx, w.sys, c.f)
				if err != nil || next != 0 || !slices.Equal(ids(got), c.want) {
					t.Fatalf("got %v next %d, %v; want %v", ids(got), next, err, c.want)
				}
			})
		}
		if len(cases[3].want) == 0 || len(cases[6].want) == 0 {
			t.Fatal("fixture selects nobody")
		}
		got, _, _ := w.svc.ListPeople(ctx, w.sys, org.PeopleFilter{Query: "李"})
		if got[0].Categories == nil || (got[1].Categories[0] != org.CategoryRetired && len(got[0].Categories) == 0) {
			t.Fatalf("categories not filled: %+v", got[:2])
		}

		// Pages of 4 cover every live person exactly once, in order.
		var seen []int64
		cursor := int64(0)
		for pages := 0; ; pages++ {
			page, next, err := w.svc.ListPeople(ctx, w.sys, org.PeopleFilter{Limit: 4, Cursor: cursor})
			if err != nil || len(page) > 4 || pages > 10 {
				t.Fatalf("page %d: %d rows, %v", pages, len(page), err)
			}
			seen = append(seen, ids(page)...)
			if next == 0 {
				break
			}
			cursor = next
		}
		if !slices.Equal(seen, cases[0].want) {
			t.Fatalf("paging saw %v, want %v", seen, cases[0].want)
		}
		// A reviewer of the only county sees what the system sees; once a second county exists,
		// not its people.
		countyReviewer := user(7, "xianwei", auth.RoleReviewer, w.root)
		for _, f := range []org.PeopleFilter{{}, {OrgID: w.root.ID}} {
			if got, _, err := w.svc.ListPeople(ctx, countyReviewer, f); err != nil || !slices.Equal(ids(got), cases[0].want) {
				t.Fatalf("county reviewer lists %v, %v", ids(got), err)
			}
		}
		other := w.mustOrg(t, org.OrgInput{Name: "红河县", Kind: org.KindCounty})
		stranger := w.mustPerson(t, org.PersonInput{OrgID: other.ID, Name: "外县人", IDNumber: idNumber("532529", "19700101", 1),
			PoliticalStatus: org.StatusMasses})
		if got, _, err := w.svc.ListPeople(ctx, countyReviewer, org.PeopleFilter{}); err != nil || !slices.Equal(ids(got), cases[0].want) {
			t.Fatalf("county reviewer lists %v, %v", ids(got), err)
		}
		if got, _, _ := w.svc.ListPeople(ctx, w.sys, org.PeopleFilter{}); !slices.Contains(ids(got), stranger.ID) {
			t.Fatalf("system does not list the other county's people: %v", ids(got))
		}

		_, _, err := w.svc.ListPeople(ctx, w.sys, org.PeopleFilter{Category: "学生"})
		wantErr(t, err, errs.KindInvalid, "未知的人员类别：学生")

		st, err := w.svc.Stats(ctx, w.sys, w.town.ID)
		if err != nil || st.People != 22 || st.PartyMembers != 9 || st.ByCategory[1] != (org.Count{Key: "离退休", Label: "离退休", Count: 11}) {
			t.Fatalf("stats %+v, %v", st, err)
		}
		kinds := map[string]int{}
		for _, c := range st.OrgsByKind {
			kinds[c.Label] = c.Count
		}
		if len(st.OrgsByKind) != 13 || kinds["乡镇(街道)"] != 1 || kinds["村(社区)"] != 2 || kinds["党支部"] != 2 || kinds["县(市、区)"] != 0 {
			t.Fatalf("orgs by kind %v", kinds)
		}
	})
}

func TestMemberships(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		li := w.mustPerson(t, org.PersonInput{OrgID: w.c1.ID, Name: "李书记", IDNumber: idNumber("532528", "19700505", 5),
			PoliticalStatus: org.StatusPartyMember})
		m, err := w.svc.AddMembership(ctx, w.sys, org.MembershipInput{PersonID: li.ID, OrgID: w.c1b1.ID, Position: "党支部书记", StartedOn: "2021-01-05"})
		if err != nil || m.StartedOn != "2021-01-05" || m.OrgName != "第一党支部" || m.EndedOn != "" {
			t.Fatalf("add membership = %+v, %v", m, err)
		}
		_, err = w.svc.AddMembership(ctx, w.sys, org.MembershipInput{PersonID: li.ID, OrgID: w.c1b1.ID, Position: "党支部书记"})
		wantErr(t, err, errs.KindConflict, "该人员已在该组织担任党支部书记")
		// A post in an organisation the admin cannot see is refused as if it did not exist.
		_, err = w.svc.AddMembership(ctx, user(3, "guanli", auth.RoleUnitAdmin, w.c1), org.MembershipInput{PersonID: li.ID, OrgID: w.c2.ID, Position: "主管领导"})
		wantErr(t, err, errs.KindInvalid, "任职组织不存在")
		linked, err := w.svc.AddMembership(ctx, w.sys, org.MembershipInput{PersonID: li.ID, OrgID: w.c2.ID, Position: "挂钩联系领导"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.EndMembership(ctx, w.sys, m.ID, "2020-12-31")
		wantErr(t, err, errs.KindInvalid, "离任日期早于任职日期2021-01-05")
		ended, err := w.svc.EndMembership(ctx, w.sys, m.ID, "2024-3-31")
		if err != nil || ended.EndedOn != "2024-03-31" {
			t.Fatalf("end = %+v, %v", ended, err)
		}
		_, err = w.svc.EndMembership(ctx, w.sys, m.ID, "")
		wantErr(t, err, errs.KindConflict, "该任职已于2024-03-31结束")
		got, err := w.svc.GetPerson(ctx, w.sys, li.ID)
		if err != nil || len(got.Memberships) != 2 || got.Memberships[0].ID != linked.ID || got.Memberships[1].EndedOn != "2024-03-31" {
			t.Fatalf("memberships %+v, %v", got.Memberships, err)
		}
		archived, err := w.svc.ArchivePerson(ctx, w.sys, li.ID)
		if err != nil || !archived.Archived {
			t.Fatal(err)
		}
		got, _ = w.svc.GetPerson(ctx, w.sys, li.ID)
		if got.Memberships[0].EndedOn == "" {
			t.Fatalf("archiving left a post held: %+v", got.Memberships)
		}
		restored, err := w.svc.RestorePerson(ctx, w.sys, li.ID)
		if err != nil || restored.Archived {
			t.Fatalf("restore = %+v, %v", restored, err)
		}
		verifyAudit(t, db)
	})
}

func TestInsertPeopleBulk(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		w.mustPerson(t, org.PersonInput{OrgID: w.c1.ID, Name: "先来的", IDNumber: idNumber("532528", "19600101", 1),
			PoliticalStatus: org.StatusMasses})
		var rows []org.ValidPerson
		for i := range 500 {
			v, err := org.PersonInput{OrgID: []int64{w.c1.ID, w.c2.ID}[i%2], Name: fmt.Sprintf("导入%d", i),
				IDNumber: idNumber("532528", "19700101", 100+i), PoliticalStatus: org.StatusPartyMember,
				Categories: [][]string{nil, {"在职"}, {"在职", "志愿者"}}[i%3]}.Validate(today)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, v)
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return org.InsertPeopleBulk(ctx, tx, rows) }); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM people`); n != 501 {
			t.Fatalf("%d people after the bulk insert", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM person_categories`); n != 167*1+166*2 {
			t.Fatalf("%d categories after the bulk insert", n)
		}
		list, _, err := w.svc.ListPeople(ctx, w.sys, org.PeopleFilter{Query: "导入5", Limit: 200})
		if err != nil || len(list) != 11 || list[0].Name != "导入5" || !slices.Equal(list[0].Categories, []string{"在职", "志愿者"}) {
			t.Fatalf("bulk people listed: %d, %+v, %v", len(list), list[:1], err)
		}
		err = db.Write(ctx, func(tx *store.Tx) error { return org.InsertPeopleBulk(ctx, tx, rows[:1]) })
		if err == nil || !db.Dialect.IsUniqueViolation(err) {
			t.Fatalf("duplicate bulk row: %v", err)
		}
		if _, err := w.svc.ArchiveOrg(ctx, w.sys, w.town2.ID); err != nil {
			t.Fatal(err)
		}
		late := rows[0]
		late.OrgID, late.IDNumber = w.town2.ID, idNumber("532528", "19700101", 999)
		err = db.Write(ctx, func(tx *store.Tx) error { return org.InsertPeopleBulk(ctx, tx, []org.ValidPerson{late}) })
		wantErr(t, err, errs.KindConflict, "组织“新街镇”已归档，不能导入人员")
		if n := count(t, db, `SELECT COUNT(*) FROM people`); n != 501 {
			t.Fatalf("%d people after a refused bulk insert", n)
		}
	})
}
