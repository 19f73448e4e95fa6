package passbook

import (
	"fmt"
	"testing"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
)

// storeWorld is a county with one township and two communities, on a clock the test sets:
//
//	元阳县
//	└─ 元城镇 (town)
//	   ├─ 元城镇社区 (c1): members with passbooks
//	   └─ 南沙社区 (c2): outsider
type storeWorld struct {
	db                 *store.DB
	svc                *Service
	orgs               *org.Service
	now                time.Time
	set                Settings
	county, town       org.Org
	c1, c2             org.Org
	c1Staff, townStaff *auth.Principal
	c2Staff            *auth.Principal
	members            []storeMember // of c1
	outsider           storeMember   // of c2
	nextUser           int64
}

type storeMember struct {
	p  *auth.Principal
	pb Passbook
}

func newStoreWorld(t testing.TB, db *store.DB, set Settings, members int) *storeWorld {
	t.Helper()
	w := &storeWorld{db: db, svc: NewService(db), orgs: org.NewService(db), set: set,
		now: time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)}
	db.Now = func() time.Time { return w.now }
	sys := auth.System()
	w.county = w.mustOrg(t, org.OrgInput{Name: "元阳县", Kind: org.KindCounty, DivisionCode: "532528000000"})
	w.town = w.mustOrg(t, org.OrgInput{ParentID: w.county.ID, Name: "元城镇", Kind: org.KindTownship})
	w.c1 = w.mustOrg(t, org.OrgInput{ParentID: w.town.ID, Name: "元城镇社区", Kind: org.KindVillage, DivisionCode: "532528100001"})
	w.c2 = w.mustOrg(t, org.OrgInput{ParentID: w.town.ID, Name: "南沙社区", Kind: org.KindVillage, DivisionCode: "532528100002"})
	if _, err := w.svc.SetSettings(ctx, sys, w.county.ID, set); err != nil {
		t.Fatal(err)
	}
	w.c1Staff = w.principal(t, auth.RoleOrgAdmin, w.c1, 0)
	w.c2Staff = w.principal(t, auth.RoleOrgAdmin, w.c2, 0)
	w.townStaff = w.principal(t, auth.RoleOrgAdmin, w.town, 0)
	for i := range members {
		w.members = append(w.members, w.member(t, w.c1, fmt.Sprintf("党员%03d", i+1)))
	}
	w.outsider = w.member(t, w.c2, "南沙党员")
	return w
}

func (w *storeWorld) mustOrg(t testing.TB, in org.OrgInput) org.Org {
	t.Helper()
	o, err := w.orgs.CreateOrg(ctx, auth.System(), in)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// principal is a signed-in user holding role on o, as web would build it.
func (w *storeWorld) principal(t testing.TB, key auth.RoleKey, o org.Org, personID int64) *auth.Principal {
	t.Helper()
	role, ok := auth.LookupRole(key)
	if !ok {
		t.Fatalf("no role %s", key)
	}
	w.nextUser++
	return &auth.Principal{UserID: w.nextUser, Username: fmt.Sprintf("user%d", w.nextUser), PersonID: personID,
		Grants: []auth.Grant{{Role: role, OrgID: o.ID, OrgPath: o.Path, OrgName: o.Name}}}
}

// member creates a retiree of o with an open passbook and a member's account.
func (w *storeWorld) member(t testing.TB, o org.Org, name string) storeMember {
	t.Helper()
	person, err := w.orgs.CreatePerson(ctx, auth.System(), org.PersonInput{OrgID: o.ID, Name: name,
		IDNumber: storeIDNumber(int(w.nextUser) + 1), PoliticalStatus: "中共党员", PartyJoinedOn: "1980-07-01", Categories: []string{"离退休"}})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := w.svc.OpenPassbook(ctx, auth.System(), OpenInput{PersonID: person.ID, Class: "离退休党员"})
	if err != nil {
		t.Fatal(err)
	}
	return storeMember{p: w.principal(t, auth.RoleMember, o, person.ID), pb: pb}
}

// storeIDNumber is a valid 身份证号 (GB 11643 checksum) of someone born in 1955, numbered n.
func storeIDNumber(n int) string {
	body := fmt.Sprintf("53252819550101%03d", n%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range body {
		sum += int(c-'0') * weights[i]
	}
	return body + string("10X98765432"[sum%11])
}

// fund books points earned on date for a passbook, as a posted claim would.
func (w *storeWorld) fund(t testing.TB, pb Passbook, points int64, date string) int64 {
	t.Helper()
	var id int64
	err := w.db.Write(ctx, func(tx *store.Tx) error {
		b, err := loadPassbook(ctx, tx, auth.System(), PermView, pb.ID)
		if err != nil {
			return err
		}
		id, err = earn(ctx, tx, auth.System().Actor(), b, w.set, points, date, "志愿服务", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *storeWorld) reward(t testing.TB, o org.Org, name string, priceFen, stock int64) Reward {
	t.Helper()
	rw, err := w.svc.CreateReward(ctx, auth.System(), RewardInput{OrgID: o.ID, Name: name, PriceFen: priceFen, Stock: stock})
	if err != nil {
		t.Fatal(err)
	}
	return rw
}

func (w *storeWorld) deposit(t testing.TB, pb Passbook) int64 {
	t.Helper()
	b, err := w.svc.GetPassbook(ctx, auth.System(), pb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b.DepositFen
}

func (w *storeWorld) stock(t testing.TB, rw Reward) int64 {
	t.Helper()
	got, err := w.svc.GetReward(ctx, auth.System(), rw.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.Stock
}

func (w *storeWorld) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantSound checks the ledger, the stock history and the audit chain.
func (w *storeWorld) wantSound(t testing.TB) {
	t.Helper()
	_, found, err := Verify(ctx, w.db)
	if err != nil || len(found) > 0 {
		t.Fatalf("ledger check: %v %v", found, err)
	}
	if n := w.count(t, `SELECT COUNT(*) FROM pb_rewards r WHERE r.stock <> COALESCE((SELECT SUM(delta) FROM pb_stock_moves m WHERE m.reward_id = r.id), 0)`); n != 0 {
		t.Fatalf("%d rewards whose stock is not the sum of their stock moves", n)
	}
	if _, err := audit.Verify(ctx, w.db); err != nil {
		t.Fatal(err)
	}
}
