// Package demo builds the demo world through the services, as users would: a community in
// 元阳县 with its Party branch and retired members, four government units in 西山区, key
// enterprises in 永胜县 and villages in 昭通市. Names and numbers are invented.
package demo

import (
	"context"
	"fmt"

	"grassroots/appraisal"
	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
)

// Account is a demo sign-in the operator may hand out.
type Account struct {
	Username string
	Role     string
	Org      string
	Password string // empty when the operator chose it
}

// builder carries the services and the invented people while the world is built.
type builder struct {
	ctx      context.Context
	orgs     *org.Service
	auth     *auth.Service
	sys      *auth.Principal
	names    *namer
	password string
	accounts []Account
	pb       *passbook.Service
	// The Red Passbook pilot, kept from yuanyang for the passbook steps.
	community org.Org
	county    org.Org
	retirees  []org.Person
	staff     map[string]*auth.Principal // by user name
	// Routine appraisal in 西山区.
	db         *store.DB
	ap         *appraisal.Service
	xsDistrict org.Org
	xsUnits    []xsUnit
	xsSmall    []xsUnit // 西山区's small units, whose pools the district grades merged
}

// SeedIfEmpty builds the demo world when the database has no organisation yet. Demo accounts
// get password when it is set, otherwise a generated one each (changed at first login).
func SeedIfEmpty(ctx context.Context, db *store.DB, password string) ([]Account, bool, error) {
	b := &builder{ctx: ctx, orgs: org.NewService(db), auth: auth.NewService(db), sys: auth.System(),
		names: newNamer(), password: password, pb: passbook.NewService(db), staff: map[string]*auth.Principal{},
		db: db, ap: appraisal.NewService(db)}
	roots, err := b.orgs.Children(ctx, b.sys, 0, true)
	if err != nil {
		return nil, false, err
	}
	if len(roots) > 0 {
		return nil, false, refuseUnfinished(ctx, db)
	}
	// The world is built through the services, a transaction each, so a seed that is stopped
	// half-way leaves half a world; the markers let the next start say so.
	if err := mark(ctx, db, actionSeeding); err != nil {
		return nil, false, err
	}
	if err := b.build(); err != nil {
		return nil, false, fmt.Errorf("demo: %w (delete the database and start again)", err)
	}
	return b.accounts, true, mark(ctx, db, actionSeeded)
}

// Audit actions that mark the start and the end of a seed.
const (
	actionSeeding = "demo.seeding"
	actionSeeded  = "demo.seeded"
)

func mark(ctx context.Context, db *store.DB, action string) error {
	return db.Write(ctx, func(tx *store.Tx) error {
		return audit.Append(ctx, tx, audit.System, audit.Event{Action: action, EntityType: "demo"})
	})
}

// refuseUnfinished refuses a database whose demo seed began and never finished.
func refuseUnfinished(ctx context.Context, db *store.DB) error {
	began, _, err := audit.List(ctx, db, audit.Filter{AllOrgs: true, Action: actionSeeding, Limit: 1})
	if err != nil || len(began) == 0 {
		return err
	}
	done, _, err := audit.List(ctx, db, audit.Filter{AllOrgs: true, Action: actionSeeded, Limit: 1})
	if err != nil || len(done) > 0 {
		return err
	}
	return errs.Conflict("演示数据上次未写完（初始化被中断），请删除数据库后重新启动")
}

// The steps report the first error; each service call is its own transaction, so a failure
// leaves what was built before it.
func (b *builder) build() error {
	province, err := b.org(nil, "云南省", org.KindProvince, "530000000000")
	if err != nil {
		return err
	}
	for _, step := range []func(org.Org) error{b.yuanyang, b.xishan, b.yongsheng, b.zhaotong} {
		if err := step(province); err != nil {
			return err
		}
	}
	if err := b.redPassbook(); err != nil {
		return err
	}
	return b.xishanAppraisal()
}

func (b *builder) org(parent *org.Org, name string, kind org.Kind, code string) (org.Org, error) {
	in := org.OrgInput{Name: name, Kind: kind, DivisionCode: code}
	if parent != nil {
		in.ParentID = parent.ID
	}
	return b.orgs.CreateOrg(b.ctx, b.sys, in)
}

// chain creates nested organisations, each under the one before, and returns the last.
func (b *builder) chain(parent org.Org, nodes ...org.OrgInput) (org.Org, error) {
	for _, n := range nodes {
		n.ParentID = parent.ID
		var err error
		if parent, err = b.orgs.CreateOrg(b.ctx, b.sys, n); err != nil {
			return org.Org{}, err
		}
	}
	return parent, nil
}

// personSpec says what kind of person to invent.
type personSpec struct {
	region     string // six-digit region code of the 身份证号
	minAge     int
	maxAge     int
	party      bool
	categories []string
}

func (b *builder) person(o org.Org, spec personSpec) (org.Person, error) {
	male := b.names.chance(0.55)
	birth := b.names.birth(spec.minAge, spec.maxAge)
	in := org.PersonInput{
		OrgID: o.ID, Name: b.names.name(male), IDNumber: b.names.idNumber(spec.region, birth, male),
		Mobile: b.names.mobile(), PoliticalStatus: "群众", Categories: spec.categories,
	}
	switch {
	case spec.party:
		in.PoliticalStatus, in.PartyJoinedOn = "中共党员", b.names.partyJoined(birth)
	case 2026-birth.Year() <= 28 && b.names.chance(0.5):
		in.PoliticalStatus = "共青团员"
	}
	return b.orgs.CreatePerson(b.ctx, b.sys, in)
}

func (b *builder) post(p org.Person, o org.Org, position, since string) error {
	_, err := b.orgs.AddMembership(b.ctx, b.sys, org.MembershipInput{PersonID: p.ID, OrgID: o.ID, Position: position, StartedOn: since})
	return err
}

// account opens a demo sign-in for a person with one role on one organisation.
func (b *builder) account(username string, role auth.RoleKey, o org.Org, person org.Person) error {
	_, err := b.user(username, person.Name, role, o, person.ID, true)
	return err
}

// user opens a sign-in with one role on one organisation, for a person or none. Listed
// accounts are the demo's, printed at the first start (with the operator's password when
// set); the others belong to the story (the other bureaus' HR officers and directors) and get
// a generated password nobody is shown, to be reset by an administrator.
func (b *builder) user(username, display string, role auth.RoleKey, o org.Org, personID int64, listed bool) (*auth.Principal, error) {
	in := auth.NewUser{Username: username, DisplayName: display, PersonID: personID, Grants: []auth.GrantInput{{Role: role, OrgID: o.ID}}}
	if listed {
		in.Password = b.password
	}
	u, generated, err := b.auth.CreateUser(b.ctx, b.sys, in)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", username, err)
	}
	r, _ := auth.LookupRole(role)
	if listed {
		b.accounts = append(b.accounts, Account{Username: username, Role: r.Name, Org: o.Name, Password: generated})
	}
	// The demo acts as this user where the story needs a person (a reviewer, a member).
	p := &auth.Principal{UserID: u.ID, Username: username, PersonID: personID,
		Grants: []auth.Grant{{Role: r, OrgID: o.ID, OrgPath: o.Path, OrgName: o.Name}}}
	b.staff[username] = p
	return p, nil
}
