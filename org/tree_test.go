package org_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
)

func names(orgs []org.Org) string {
	var out []string
	for _, o := range orgs {
		out = append(out, o.Name)
	}
	return strings.Join(out, ",")
}

func TestCreateOrg(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		if w.root.Path != fmt.Sprintf("/%d/", w.root.ID) || w.root.Depth != 1 || w.root.ParentID != 0 {
			t.Fatalf("root %+v", w.root)
		}
		if want := fmt.Sprintf("/%d/%d/%d/", w.root.ID, w.town.ID, w.c1.ID); w.c1.Path != want || w.c1.Depth != 3 {
			t.Fatalf("c1 path %s depth %d, want %s depth 3", w.c1.Path, w.c1.Depth, want)
		}
		if w.town.Kind != org.KindTownship || w.town.KindLabel != "乡镇(街道)" {
			t.Fatalf("kind given by label: %+v", w.town)
		}
		got, err := w.svc.GetOrg(ctx, w.sys, w.town.ID)
		if err != nil || got.ChildCount != 2 || got.Archived {
			t.Fatalf("GetOrg(town) = %+v, %v", got, err)
		}

		for _, c := range []struct {
			name string
			in   org.OrgInput
			kind errs.Kind
			msg  string
		}{
			{"sibling of the same name", org.OrgInput{ParentID: w.town.ID, Name: "南沙社区", Kind: org.KindVillage}, errs.KindConflict, "同级组织中已有同名组织"},
			{"division code in use", org.OrgInput{ParentID: w.town.ID, Name: "新社区", Kind: org.KindVillage, DivisionCode: "532528100002"}, errs.KindConflict, "区划代码532528100002已被“南沙社区”使用"},
			{"missing parent", org.OrgInput{ParentID: 9999, Name: "新社区", Kind: org.KindVillage}, errs.KindInvalid, "上级组织不存在"},
			{"slash in the name", org.OrgInput{ParentID: w.town.ID, Name: "甲/乙", Kind: org.KindVillage}, errs.KindInvalid, "组织名称不能含有“/”"},
			{"unknown kind", org.OrgInput{ParentID: w.town.ID, Name: "新社区", Kind: "gang"}, errs.KindInvalid, "未知的组织类型：gang"},
		} {
			t.Run(c.name, func(t *testing.T) {
				unchanged(t, db, func() {
					_, err := w.svc.CreateOrg(ctx, w.sys, c.in)
					wantErr(t, err, c.kind, c.msg)
				}, `SELECT COUNT(*) FROM orgs`)
			})
		}

		// The same name under another parent is fine: every community has a 第一党支部.
		if w.c1b1.Name != w.c2b1.Name {
			t.Fatal("fixture")
		}

		townAdmin := user(5, "xinjie", auth.RoleOrgAdmin, w.town2)
		if _, err := w.svc.CreateOrg(ctx, townAdmin, org.OrgInput{ParentID: w.town2.ID, Name: "新街社区", Kind: org.KindVillage}); err != nil {
			t.Fatalf("org admin of 新街镇 creating under it: %v", err)
		}
		_, err = w.svc.CreateOrg(ctx, townAdmin, org.OrgInput{ParentID: w.town.ID, Name: "越权社区", Kind: org.KindVillage})
		wantErr(t, err, errs.KindInvalid, "上级组织不存在")
		_, err = w.svc.CreateOrg(ctx, townAdmin, org.OrgInput{Name: "另一个县", Kind: org.KindCounty})
		wantErr(t, err, errs.KindForbidden, "")
		reviewer := user(6, "shenhe", auth.RoleReviewer, w.town2)
		_, err = w.svc.CreateOrg(ctx, reviewer, org.OrgInput{ParentID: w.town2.ID, Name: "审核员建的", Kind: org.KindVillage})
		wantErr(t, err, errs.KindForbidden, "无权在该组织执行此操作")
		verifyAudit(t, db)
	})
}

func TestUpdateAndMoveOrg(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		renamed, err := w.svc.UpdateOrg(ctx, w.sys, w.c1.ID, org.OrgInput{Name: "元城镇新街社区", Kind: org.KindVillage,
			DivisionCode: "532528100001", SortOrder: 5})
		if err != nil || renamed.Name != "元城镇新街社区" || renamed.SortOrder != 5 {
			t.Fatalf("rename = %+v, %v", renamed, err)
		}
		recs, _, err := w.svc.History(ctx, w.sys, w.c1.ID, 0, 0)
		if err != nil || len(recs) != 2 || recs[0].Action != "org.update" || recs[1].Action != "org.create" {
			t.Fatalf("History = %+v, %v", recs, err)
		}
		if got := string(recs[0].Summary); got != `{"name":["元城镇社区","元城镇新街社区"],"sort_order":[0,5]}` {
			t.Fatalf("update summary %s", got)
		}
		unchanged(t, db, func() {
			if _, err := w.svc.UpdateOrg(ctx, w.sys, w.c1.ID, org.OrgInput{Name: "元城镇新街社区", Kind: org.KindVillage,
				DivisionCode: "532528100001", SortOrder: 5}); err != nil {
				t.Fatal(err)
			}
		})
		_, err = w.svc.UpdateOrg(ctx, w.sys, w.c1.ID, org.OrgInput{Name: "南沙社区", Kind: org.KindVillage})
		wantErr(t, err, errs.KindConflict, "同级组织中已有同名组织")

		// Move 元城镇新街社区 (with its branch) from 元城镇 to 新街镇.
		branch := w.mustOrg(t, org.OrgInput{ParentID: w.c1b1.ID, Name: "第一党小组", Kind: org.KindDepartment})
		moved, err := w.svc.MoveOrg(ctx, w.sys, w.c1.ID, w.town2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := w.town2.Path + fmt.Sprint(w.c1.ID) + "/"; moved.Path != want || moved.ParentID != w.town2.ID || moved.Depth != 3 {
			t.Fatalf("moved %+v, want path %s", moved, want)
		}
		sub, err := w.svc.Subtree(ctx, w.sys, w.town2.ID)
		if err != nil || names(sub) != "新街镇,元城镇新街社区,第一党支部,第一党小组" {
			t.Fatalf("Subtree(新街镇) = %s, %v", names(sub), err)
		}
		for i, o := range sub[1:] {
			if parent := sub[i]; o.Path != parent.Path+fmt.Sprint(o.ID)+"/" || o.Depth != parent.Depth+1 || parent.ChildCount != 1 {
				t.Fatalf("after the move %s has path %s depth %d under %s (%d children)", o.Name, o.Path, o.Depth, parent.Path, parent.ChildCount)
			}
		}
		if got, _ := w.svc.GetOrg(ctx, w.sys, branch.ID); got.Path != moved.Path+fmt.Sprintf("%d/%d/", w.c1b1.ID, branch.ID) || got.Depth != 5 {
			t.Fatalf("grandchild after the move: %+v", got)
		}
		town, _ := w.svc.GetOrg(ctx, w.sys, w.town.ID)
		if town.ChildCount != 1 {
			t.Fatalf("元城镇 keeps %d children", town.ChildCount)
		}

		// A move under itself or its own descendant is refused and writes nothing.
		tree := func() string {
			sub, err := w.svc.Subtree(ctx, w.sys, w.root.ID)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(sub)
			return string(b)
		}
		before := tree()
		for _, target := range []int64{w.town2.ID, moved.ID, branch.ID} {
			unchanged(t, db, func() {
				_, err := w.svc.MoveOrg(ctx, w.sys, w.town2.ID, target)
				wantErr(t, err, errs.KindInvalid, "不能移动到自身或其下级组织之下")
			})
		}
		if tree() != before {
			t.Fatal("a refused move changed the tree")
		}

		// A township admin may move within the township, not out of it.
		townAdmin := user(5, "yuancheng", auth.RoleOrgAdmin, w.town)
		if _, err := w.svc.MoveOrg(ctx, townAdmin, w.c2b1.ID, w.town.ID); err != nil {
			t.Fatalf("move within the township: %v", err)
		}
		_, err = w.svc.MoveOrg(ctx, townAdmin, w.c2b1.ID, w.town2.ID)
		wantErr(t, err, errs.KindInvalid, "上级组织不存在")
		_, err = w.svc.MoveOrg(ctx, townAdmin, w.town.ID, w.town2.ID)
		wantErr(t, err, errs.KindForbidden, "")
		// Moving next to a sibling of the same name is refused.
		w.mustOrg(t, org.OrgInput{ParentID: w.town2.ID, Name: "第一党支部", Kind: org.KindPartyBranch})
		_, err = w.svc.MoveOrg(ctx, w.sys, w.c2b1.ID, w.town2.ID)
		wantErr(t, err, errs.KindConflict, "同级组织中已有同名组织")

		// Back to the top: moving under no parent makes a root.
		root, err := w.svc.MoveOrg(ctx, w.sys, w.town2.ID, 0)
		if err != nil || root.Path != fmt.Sprintf("/%d/", w.town2.ID) || root.Depth != 1 {
			t.Fatalf("move to the top: %+v, %v", root, err)
		}
		if got, _ := w.svc.GetOrg(ctx, w.sys, branch.ID); got.Depth != 4 || !strings.HasPrefix(got.Path, root.Path) {
			t.Fatalf("grandchild after the move to the top: %+v", got)
		}
		verifyAudit(t, db)
	})
}

func TestArchiveOrg(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		unchanged(t, db, func() {
			_, err := w.svc.ArchiveOrg(ctx, w.sys, w.c2.ID)
			wantErr(t, err, errs.KindConflict, "请先迁移或归档下级组织和人员")
		}, `SELECT COUNT(*) FROM orgs WHERE archived_at IS NULL`)
		person := w.mustPerson(t, org.PersonInput{OrgID: w.c2b1.ID, Name: "李四", IDNumber: idNumber("532528", "19700101", 1), PoliticalStatus: "群众"})
		_, err := w.svc.ArchiveOrg(ctx, w.sys, w.c2b1.ID)
		wantErr(t, err, errs.KindConflict, "请先迁移或归档下级组织和人员")
		if _, err := w.svc.ArchivePerson(ctx, w.sys, person.ID); err != nil {
			t.Fatal(err)
		}
		if b, err := w.svc.ArchiveOrg(ctx, w.sys, w.c2b1.ID); err != nil || !b.Archived || b.ArchivedAt == nil {
			t.Fatalf("archive an empty branch: %+v, %v", b, err)
		}
		if c2, err := w.svc.ArchiveOrg(ctx, w.sys, w.c2.ID); err != nil || !c2.Archived {
			t.Fatalf("archive a community without live children: %+v, %v", c2, err)
		}
		_, err = w.svc.ArchiveOrg(ctx, w.sys, w.c2.ID)
		wantErr(t, err, errs.KindConflict, "组织已归档，请先恢复")
		_, err = w.svc.UpdateOrg(ctx, w.sys, w.c2.ID, org.OrgInput{Name: "改名", Kind: org.KindVillage})
		wantErr(t, err, errs.KindConflict, "组织已归档，请先恢复")
		_, err = w.svc.CreateOrg(ctx, w.sys, org.OrgInput{ParentID: w.c2.ID, Name: "新支部", Kind: org.KindPartyBranch})
		wantErr(t, err, errs.KindInvalid, "上级组织已归档")

		live, _ := w.svc.Children(ctx, w.sys, w.town.ID, false)
		all, _ := w.svc.Children(ctx, w.sys, w.town.ID, true)
		if names(live) != "元城镇社区" || names(all) != "元城镇社区,南沙社区" || !all[1].Archived {
			t.Fatalf("children live %s, all %s", names(live), names(all))
		}

		// The archived name is free again; restoring then clashes with its successor.
		successor := w.mustOrg(t, org.OrgInput{ParentID: w.town.ID, Name: "南沙社区", Kind: org.KindVillage, DivisionCode: "532528100002"})
		_, err = w.svc.RestoreOrg(ctx, w.sys, w.c2.ID)
		wantErr(t, err, errs.KindConflict, "同级组织中已有同名组织")
		_, err = w.svc.RestoreOrg(ctx, w.sys, w.c2b1.ID)
		wantErr(t, err, errs.KindInvalid, "上级组织已归档，请先恢复上级组织")
		if _, err := w.svc.UpdateOrg(ctx, w.sys, successor.ID, org.OrgInput{Name: "南沙新区", Kind: org.KindVillage}); err != nil {
			t.Fatal(err)
		}
		if c2, err := w.svc.RestoreOrg(ctx, w.sys, w.c2.ID); err != nil || c2.Archived || c2.ArchivedAt != nil {
			t.Fatalf("restore = %+v, %v", c2, err)
		}
		recs, _, _ := w.svc.History(ctx, w.sys, w.c2.ID, 0, 0)
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action)
		}
		if strings.Join(actions, ",") != "org.restore,org.archive,org.create" {
			t.Fatalf("history of 南沙社区: %v", actions)
		}
		verifyAudit(t, db)
	})
}

func TestReadsAreScoped(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		reviewer := user(2, "shenhe", auth.RoleReviewer, w.c2)

		roots, err := w.svc.Children(ctx, reviewer, 0, false)
		if err != nil || names(roots) != "南沙社区" {
			t.Fatalf("reviewer's roots = %s, %v", names(roots), err)
		}
		roots, _ = w.svc.Children(ctx, w.sys, 0, false)
		if names(roots) != "元阳县" {
			t.Fatalf("system's roots = %s", names(roots))
		}
		for _, id := range []int64{w.c1.ID, w.town.ID, w.root.ID} {
			_, err := w.svc.GetOrg(ctx, reviewer, id)
			wantErr(t, err, errs.KindNotFound, "组织不存在")
			_, err = w.svc.Children(ctx, reviewer, id, false)
			wantErr(t, err, errs.KindNotFound, "组织不存在")
			_, err = w.svc.Subtree(ctx, reviewer, id)
			wantErr(t, err, errs.KindNotFound, "组织不存在")
			_, _, err = w.svc.History(ctx, reviewer, id, 0, 0)
			wantErr(t, err, errs.KindNotFound, "组织不存在")
		}
		crumbs, err := w.svc.Ancestors(ctx, reviewer, w.c2b1.ID)
		if err != nil || names(crumbs) != "南沙社区,第一党支部" {
			t.Fatalf("reviewer's breadcrumb = %s, %v", names(crumbs), err)
		}
		crumbs, _ = w.svc.Ancestors(ctx, w.sys, w.c2b1.ID)
		if names(crumbs) != "元阳县,元城镇,南沙社区,第一党支部" {
			t.Fatalf("system's breadcrumb = %s", names(crumbs))
		}
		member := &auth.Principal{UserID: 3, Username: "dangyuan", PersonID: 1,
			Grants: []auth.Grant{{Role: role(auth.RoleMember), OrgID: w.c2.ID, OrgPath: w.c2.Path}}}
		if roots, err := w.svc.Children(ctx, member, 0, false); err != nil || len(roots) != 0 {
			t.Fatalf("member sees organisations %s, %v", names(roots), err)
		}
	})
}

func TestFindOrg(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		find := func(p *auth.Principal, text string) (int64, error) {
			o, err := w.svc.ResolveOrg(ctx, p, text)
			return o.ID, err
		}
		for text, want := range map[string]int64{
			"元阳县/元城镇/南沙社区":        w.c2.ID,
			" 元城镇 ／ 南沙社区 ":        w.c2.ID,
			"南沙社区":                w.c2.ID,
			"南沙社区/第一党支部":          w.c2b1.ID,
			"元阳县/元城镇/元城镇社区/第一党支部": w.c1b1.ID,
			"532528100001":        w.c1.ID,
			"元阳县":                 w.root.ID,
		} {
			if got, err := find(w.sys, text); err != nil || got != want {
				t.Errorf("ResolveOrg(%q) = %d, %v; want %d", text, got, err, want)
			}
		}
		_, err := find(w.sys, "第一党支部")
		wantErr(t, err, errs.KindInvalid,
			"组织“第一党支部”不唯一，请写出更完整的上级组织或区划代码，可能是：元阳县/元城镇/元城镇社区/第一党支部；元阳县/元城镇/南沙社区/第一党支部")
		for _, text := range []string{"元阳县/南沙社区", "元城镇/第一党支部", "南沙社区/元城镇", "不存在"} {
			_, err := find(w.sys, text)
			wantErr(t, err, errs.KindNotFound, "未找到组织："+text)
		}
		_, err = find(w.sys, "999999999999")
		wantErr(t, err, errs.KindNotFound, "未找到区划代码为999999999999的组织")

		// A community's staff see only their own 第一党支部, and may write the county in front.
		reviewer := user(2, "shenhe", auth.RoleReviewer, w.c2)
		for _, text := range []string{"第一党支部", "元阳县/元城镇/南沙社区/第一党支部"} {
			if got, err := find(reviewer, text); err != nil || got != w.c2b1.ID {
				t.Errorf("reviewer ResolveOrg(%q) = %d, %v", text, got, err)
			}
		}
		for _, text := range []string{"元城镇社区", "532528100001", "元城镇"} {
			_, err := find(reviewer, text)
			wantErr(t, err, errs.KindNotFound, "")
		}

		// The resolver remembers answers, failures included.
		r := w.svc.NewOrgResolver(w.sys)
		for range 3 {
			if o, err := r.Resolve(ctx, "元城镇/南沙社区"); err != nil || o.ID != w.c2.ID {
				t.Fatalf("Resolve = %+v, %v", o, err)
			}
		}
		if _, err := r.Resolve(ctx, "第一党支部"); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("Resolve ambiguous = %v", err)
		}
		if _, err := w.svc.UpdateOrg(ctx, w.sys, w.c2.ID, org.OrgInput{Name: "南沙新社区", Kind: org.KindVillage}); err != nil {
			t.Fatal(err)
		}
		if o, err := r.Resolve(ctx, "元城镇 / 南沙社区"); err != nil || o.ID != w.c2.ID {
			t.Fatalf("Resolve after rename = %+v, %v: want the remembered answer", o, err)
		}
		if _, err := w.svc.NewOrgResolver(w.sys).Resolve(ctx, "元城镇/南沙社区"); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("a new resolver finds the old name: %v", err)
		}
		if o, err := w.svc.FindOrgByPath(ctx, w.sys, "南沙新社区"); err != nil || o.ID != w.c2.ID {
			t.Fatalf("FindOrgByPath after rename = %+v, %v", o, err)
		}
	})
}

// TestConcurrentTreeWrites: children created while their ancestor moves back and forth all
// end up with paths and depths that agree with their parents'.
func TestConcurrentTreeWrites(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		w := newCounty(t, db)
		var wg sync.WaitGroup
		errc := make(chan error, 64)
		for i := range 6 {
			wg.Go(func() {
				for j := range 5 {
					_, err := w.svc.CreateOrg(ctx, w.sys, org.OrgInput{ParentID: w.c1b1.ID,
						Name: fmt.Sprintf("党小组%d-%d", i, j), Kind: org.KindDepartment})
					if err != nil {
						errc <- err
					}
				}
			})
		}
		wg.Go(func() {
			for j := range 10 {
				if _, err := w.svc.MoveOrg(ctx, w.sys, w.c1.ID, []int64{w.town2.ID, w.town.ID}[j%2]); err != nil {
					errc <- err
				}
			}
		})
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		rows, err := db.Query(ctx, `SELECT o.name, o.id, o.path, o.depth, COALESCE(p.path, '/'), COALESCE(p.depth, 0)
			FROM orgs o LEFT JOIN orgs p ON p.id = o.parent_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var name, path, parentPath string
			var id int64
			var depth, parentDepth int
			if err := rows.Scan(&name, &id, &path, &depth, &parentPath, &parentDepth); err != nil {
				t.Fatal(err)
			}
			if path != fmt.Sprintf("%s%d/", parentPath, id) || depth != parentDepth+1 {
				t.Errorf("%s: path %s depth %d under %s depth %d", name, path, depth, parentPath, parentDepth)
			}
			n++
		}
		if n != 7+30 {
			t.Fatalf("%d organisations, want 37", n)
		}
		verifyAudit(t, db)
	})
}
