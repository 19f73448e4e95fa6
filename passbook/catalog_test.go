package passbook

import (
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
)

// claimsWorld is the ledger world grown into a county with two communities:
//
//	元阳县 (county admin)
//	├─ 元城镇社区: 李老师's passbook (w.pb), 王大爷's passbook (w.neighbour); staff, two reviewers
//	└─ 南沙社区: 赵阿姨's passbook (w.other); its own staff
//
// The clock stands at 2026-03-20 10:00 in Shanghai; the passbooks were opened on 03-10.
type claimsWorld struct {
	*ledgerWorld
	orgs                            *org.Service
	county, community, sibling      org.Org
	neighbour, other                Passbook
	countyAdmin, staff, otherStaff  *auth.Principal
	reviewer, reviewer2             *auth.Principal
	member, neighbourMember, otherM *auth.Principal
}

func newClaimsWorld(t *testing.T, db *store.DB, set Settings) *claimsWorld {
	t.Helper()
	w := &claimsWorld{ledgerWorld: newLedgerWorld(t, db, set), orgs: org.NewService(db)}
	sys := auth.System()
	var err error
	if w.community, err = w.orgs.GetOrg(ctx, sys, w.pb.OrgID); err != nil {
		t.Fatal(err)
	}
	if w.county, err = w.orgs.GetOrg(ctx, sys, w.community.ParentID); err != nil {
		t.Fatal(err)
	}
	if w.sibling, err = w.orgs.CreateOrg(ctx, sys, org.OrgInput{ParentID: w.county.ID, Name: "南沙社区", Kind: org.KindVillage}); err != nil {
		t.Fatal(err)
	}
	w.neighbour = w.openPassbook(t, w.community, "王大爷", "532528195201010013")
	w.other = w.openPassbook(t, w.sibling, "赵阿姨", "532528195601010020")
	w.countyAdmin = principal(1, "zuzhibu", auth.RoleOrgAdmin, w.county, 0)
	w.staff = principal(2, "shequ", auth.RoleUnitAdmin, w.community, 0)
	w.otherStaff = principal(3, "nansha", auth.RoleUnitAdmin, w.sibling, 0)
	w.reviewer = principal(4, "shenhe1", auth.RoleReviewer, w.community, 0)
	w.reviewer2 = principal(5, "shenhe2", auth.RoleReviewer, w.community, 0)
	w.member = principal(6, "laoli", auth.RoleMember, w.community, w.pb.PersonID)
	w.neighbourMember = principal(7, "laowang", auth.RoleMember, w.community, w.neighbour.PersonID)
	w.otherM = principal(8, "zhaoayi", auth.RoleMember, w.sibling, w.other.PersonID)
	w.now = w.now.AddDate(0, 0, 10)
	return w
}

func (w *claimsWorld) openPassbook(t *testing.T, o org.Org, name, idNumber string) Passbook {
	t.Helper()
	sys := auth.System()
	person, err := w.orgs.CreatePerson(ctx, sys, org.PersonInput{OrgID: o.ID, Name: name, IDNumber: idNumber,
		PoliticalStatus: "中共党员", PartyJoinedOn: "1975-07-01", Categories: []string{"离退休"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.svc.OpenPassbook(ctx, sys, OpenInput{PersonID: person.ID, Class: "离退休党员"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// principal is a signed-in user holding one role on one organisation.
func principal(id int64, name string, k auth.RoleKey, o org.Org, personID int64) *auth.Principal {
	role, _ := auth.LookupRole(k)
	return &auth.Principal{UserID: id, Username: name, PersonID: personID,
		Grants: []auth.Grant{{Role: role, OrgID: o.ID, OrgPath: o.Path, OrgName: o.Name}}}
}

// terms are the terms of a plain item: points per occasion, one per claim, no caps.
func terms(name string, points int64) ItemTerms {
	category := "志愿服务"
	if points < 0 {
		category = CategoryDeduction
	}
	return ItemTerms{Name: name, Category: category, Points: points, Unit: UnitOccasion, MaxPerClaim: 1, ValidFrom: "2026-01-01"}
}

func (w *claimsWorld) item(t *testing.T, p *auth.Principal, o org.Org, code string, it ItemTerms) Item {
	t.Helper()
	out, err := w.svc.CreateItem(ctx, p, ItemInput{OrgID: o.ID, Code: code, ItemTerms: it})
	if err != nil {
		t.Fatalf("create item %s: %v", code, err)
	}
	return out
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind, text string) {
	t.Helper()
	if !errs.Is(err, kind) || !strings.Contains(err.Error(), text) {
		t.Fatalf("%s: got %v, want %s containing %q", what, err, kind, text)
	}
}

func TestCatalogIsInheritedAndCodesStayUniqueOnALine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		county := w.item(t, w.countyAdmin, w.county, "a01", terms("民族团课", 5))
		if county.Code != "A01" || county.Version != 1 {
			t.Fatalf("county item = %+v", county)
		}
		own := w.item(t, w.staff, w.community, "C01", terms("楼道清扫", 2))

		items, _, err := w.svc.ListItems(ctx, w.staff, ItemFilter{OrgID: w.community.ID})
		if err != nil || len(items) != 2 || !items[0].Inherited || items[1].Inherited {
			t.Fatalf("community catalog = %+v, %v; want the county's item inherited and its own", items, err)
		}
		if items, _, _ := w.svc.ListItems(ctx, w.otherStaff, ItemFilter{OrgID: w.sibling.ID}); len(items) != 1 || items[0].Code != "A01" {
			t.Fatalf("sibling catalog = %+v; want only the county's item", items)
		}
		if _, err := w.svc.GetItem(ctx, w.otherStaff, own.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another community's item: %v", err)
		}
		if _, _, err := w.svc.ListItems(ctx, w.otherStaff, ItemFilter{OrgID: w.community.ID}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("another community's catalog: %v", err)
		}

		_, err = w.svc.CreateItem(ctx, w.staff, ItemInput{OrgID: w.community.ID, Code: "A01", ItemTerms: terms("重复", 1)})
		wantKind(t, "community reusing the county's code", err, errs.KindConflict, "元阳县")
		_, err = w.svc.CreateItem(ctx, w.countyAdmin, ItemInput{OrgID: w.county.ID, Code: "c01", ItemTerms: terms("重复", 1)})
		wantKind(t, "county taking a community's code", err, errs.KindConflict, "元城镇社区")
		if _, err := w.svc.CreateItem(ctx, w.otherStaff, ItemInput{OrgID: w.sibling.ID, Code: "C01", ItemTerms: terms("清扫", 1)}); err != nil {
			t.Fatalf("a sibling may use the same code: %v", err)
		}
		_, err = w.svc.UpdateItem(ctx, w.staff, county.ID, terms("民族团课", 9))
		wantKind(t, "community changing the county's item", err, errs.KindForbidden, "元阳县")

		member, err := w.svc.GetItem(ctx, w.member, county.ID)
		if err != nil || member.Code != "A01" {
			t.Fatalf("a member sees the items above their passbook: %v", err)
		}
	}, migrations...)
}

func TestItemChangesWriteVersionsAndArchiveHidesTheItem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		it := w.item(t, w.staff, w.community, "C01", terms("楼道清扫", 2))
		changed := terms("楼道清扫", 3)
		changed.CapMonth = 30
		v2, err := w.svc.UpdateItem(ctx, w.staff, it.ID, changed)
		if err != nil || v2.Version != 2 || v2.Points != 3 || v2.CapMonth != 30 {
			t.Fatalf("update = %+v, %v", v2, err)
		}
		if same, _ := w.svc.UpdateItem(ctx, w.staff, it.ID, changed); same.Version != 2 {
			t.Fatalf("saving unchanged terms wrote version %d", same.Version)
		}
		full, err := w.svc.GetItem(ctx, w.staff, it.ID)
		if err != nil || len(full.Versions) != 2 || full.Versions[1].Points != 2 || full.Versions[0].ChangedBy != "shequ" {
			t.Fatalf("history = %+v, %v", full.Versions, err)
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE pb_item_versions SET points = 100`)
			return err
		})
		if err == nil {
			t.Fatal("item versions could be updated")
		}
		_, err = w.svc.UpdateItem(ctx, w.staff, it.ID, terms("楼道清扫", -3))
		wantKind(t, "turning an earning item into a deduction", err, errs.KindInvalid, "不能互相转换")

		if _, err := w.svc.ArchiveItem(ctx, w.staff, it.ID); err != nil {
			t.Fatal(err)
		}
		if items, _, _ := w.svc.ListItems(ctx, w.staff, ItemFilter{OrgID: w.community.ID}); len(items) != 0 {
			t.Fatalf("archived item still listed: %+v", items)
		}
		if items, _, _ := w.svc.ListItems(ctx, w.staff, ItemFilter{OrgID: w.community.ID, All: true}); len(items) != 1 || !items[0].Archived {
			t.Fatalf("asked for all: %+v", items)
		}
		_, err = w.svc.UpdateItem(ctx, w.staff, it.ID, terms("楼道清扫", 4))
		wantKind(t, "changing an archived item", err, errs.KindConflict, "已停用")
	}, migrations...)
}

func TestItemTermsAreChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newClaimsWorld(t, db, DefaultSettings)
		expired := terms("旧事项", 1)
		expired.ValidTo = "2026-02-28"
		w.item(t, w.staff, w.community, "OLD", expired)
		classed := terms("在职党员进社区", 2)
		classed.Classes = []string{"在职党员"}
		w.item(t, w.staff, w.community, "ZZ", classed)
		w.item(t, w.staff, w.community, "OK", terms("志愿服务", 2))
		claimable, err := w.svc.ClaimableItems(ctx, w.member, w.pb.ID)
		if err != nil || len(claimable) != 1 || claimable[0].Code != "OK" {
			t.Fatalf("claimable = %+v, %v; want only the live item for 离退休党员", claimable, err)
		}
		if _, err := w.svc.ClaimableItems(ctx, w.member, w.neighbour.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a member listing a neighbour's items: %v", err)
		}

		cases := []struct {
			name  string
			edit  func(*ItemTerms)
			field string
		}{
			{"positive deduction", func(t *ItemTerms) { t.Category = CategoryDeduction }, "points"},
			{"negative earning", func(t *ItemTerms) { t.Points = -2 }, "points"},
			{"zero points", func(t *ItemTerms) { t.Points = 0 }, "points"},
			{"unknown category", func(t *ItemTerms) { t.Category = "其他" }, "category"},
			{"unit", func(t *ItemTerms) { t.Unit = "day" }, "unit"},
			{"max per claim", func(t *ItemTerms) { t.MaxPerClaim = 0 }, "max_per_claim"},
			{"negative cap", func(t *ItemTerms) { t.CapMonth = -1 }, "cap_month"},
			{"dates", func(t *ItemTerms) { t.ValidTo = "2025-12-31" }, "valid_to"},
			{"class with comma", func(t *ItemTerms) { t.Classes = []string{"甲,乙"} }, "classes"},
		}
		for _, c := range cases {
			it := terms("检查", 2)
			c.edit(&it)
			_, err := w.svc.CreateItem(ctx, w.staff, ItemInput{OrgID: w.community.ID, Code: "X1", ItemTerms: it})
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Field != c.field {
				t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
			}
		}
		if _, err := w.svc.CreateItem(ctx, w.staff, ItemInput{OrgID: w.community.ID, Code: "两个字", ItemTerms: terms("x", 1)}); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("code: %v", err)
		}
		if _, err := w.svc.CreateItem(ctx, w.member, ItemInput{OrgID: w.community.ID, Code: "M1", ItemTerms: terms("x", 1)}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a member creating an item: %v", err)
		}
	}, migrations...)
}
