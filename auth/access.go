package auth

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"grassroots/audit"
	"grassroots/store"
)

// Permission is one thing a role allows, e.g. "people.manage".
type Permission string

// The foundation's permissions. Mechanism packages register their own with RegisterPermission.
const (
	OrgView      Permission = "org.view"
	OrgManage    Permission = "org.manage"
	PeopleView   Permission = "people.view"
	PeopleManage Permission = "people.manage"
	PeopleImport Permission = "people.import"
	PeopleExport Permission = "people.export"
	UsersManage  Permission = "users.manage"
	AuditView    Permission = "audit.view"
)

// RoleKey names a built-in role.
type RoleKey string

const (
	RoleAdmin     RoleKey = "admin"      // 系统管理员
	RoleOrgAdmin  RoleKey = "org_admin"  // 组织部门管理员
	RoleUnitAdmin RoleKey = "unit_admin" // 单位管理员
	RoleReviewer  RoleKey = "reviewer"   // 审核员
	RoleMember    RoleKey = "member"     // 普通党员/成员: their own records only
)

// Role is a named set of permissions. A grant gives a role to a user on an organisation subtree;
// a self-only role covers the user's own records, wherever the grant is.
type Role struct {
	Key         RoleKey
	Name        string
	Description string
	SelfOnly    bool
	Permissions []Permission
}

// PermissionInfo describes a permission for the roles page and says which built-in roles hold
// it. The system administrator holds every permission.
type PermissionInfo struct {
	Key   Permission
	Name  string
	Roles []RoleKey
}

var registry = struct {
	sync.RWMutex
	perms []PermissionInfo
}{}

// RegisterPermission adds permissions to the catalogue and to the built-in roles they name.
// Mechanism packages call it from init.
func RegisterPermission(infos ...PermissionInfo) {
	registry.Lock()
	defer registry.Unlock()
	for _, info := range infos {
		if slices.ContainsFunc(registry.perms, func(p PermissionInfo) bool { return p.Key == info.Key }) {
			panic("auth: permission registered twice: " + string(info.Key))
		}
		registry.perms = append(registry.perms, info)
	}
}

func init() {
	RegisterPermission(
		PermissionInfo{OrgView, "查看组织架构", []RoleKey{RoleOrgAdmin, RoleUnitAdmin, RoleReviewer}},
		PermissionInfo{OrgManage, "维护组织架构", []RoleKey{RoleOrgAdmin}},
		PermissionInfo{PeopleView, "查看人员信息", []RoleKey{RoleOrgAdmin, RoleUnitAdmin, RoleReviewer, RoleMember}},
		PermissionInfo{PeopleManage, "维护人员信息", []RoleKey{RoleOrgAdmin, RoleUnitAdmin}},
		PermissionInfo{PeopleImport, "导入人员", []RoleKey{RoleOrgAdmin, RoleUnitAdmin}},
		PermissionInfo{PeopleExport, "导出人员", []RoleKey{RoleOrgAdmin, RoleUnitAdmin}},
		PermissionInfo{UsersManage, "管理账号与授权", []RoleKey{RoleOrgAdmin, RoleUnitAdmin}},
		PermissionInfo{AuditView, "查看审计日志", []RoleKey{RoleOrgAdmin}},
	)
}

var builtinRoles = []Role{
	{Key: RoleAdmin, Name: "系统管理员", Description: "所辖范围内的全部权限"},
	{Key: RoleOrgAdmin, Name: "组织部门管理员", Description: "维护组织架构、人员、账号，查看审计日志"},
	{Key: RoleUnitAdmin, Name: "单位管理员", Description: "维护本单位人员与账号"},
	{Key: RoleReviewer, Name: "审核员", Description: "查看人员，审核申报"},
	{Key: RoleMember, Name: "普通党员/成员", Description: "仅本人信息与业务", SelfOnly: true},
}

// Permissions lists every registered permission, sorted by key.
func Permissions() []PermissionInfo {
	registry.RLock()
	defer registry.RUnlock()
	out := slices.Clone(registry.perms)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Roles lists the built-in roles with their current permissions.
func Roles() []Role {
	out := make([]Role, 0, len(builtinRoles))
	for _, r := range builtinRoles {
		out = append(out, roleWithPermissions(r))
	}
	return out
}

// LookupRole finds a built-in role by key.
func LookupRole(key RoleKey) (Role, bool) {
	for _, r := range builtinRoles {
		if r.Key == key {
			return roleWithPermissions(r), true
		}
	}
	return Role{}, false
}

func roleWithPermissions(r Role) Role {
	for _, p := range Permissions() {
		if r.Key == RoleAdmin || slices.Contains(p.Roles, r.Key) {
			r.Permissions = append(r.Permissions, p.Key)
		}
	}
	return r
}

// Grant is one role held on one organisation subtree.
type Grant struct {
	Role    Role
	OrgID   int64
	OrgPath string // materialised path of OrgID, e.g. "/1/5/"
	OrgName string
}

// Principal is whoever is calling: a signed-in user, an API token's user, or the system itself
// (the command line and the demo builder).
type Principal struct {
	UserID             int64
	Username           string
	PersonID           int64 // the person the account belongs to; 0 if none
	IP                 string
	MustChangePassword bool
	Grants             []Grant
	system             bool
	session            string // id of the session p signed in with, "" for tokens and the system
}

// System is the principal of the operator at the command line: every permission everywhere.
func System() *Principal { return &Principal{Username: "system", system: true} }

// IsSystem reports whether p is the command-line operator.
func (p *Principal) IsSystem() bool { return p.system }

// Actor is p as the audit log names it.
func (p *Principal) Actor() audit.Actor {
	if p.system {
		return audit.System
	}
	return audit.Actor{UserID: p.UserID, Name: p.Username, IP: p.IP}
}

// Can reports whether p holds perm anywhere, for itself or on some subtree.
func (p *Principal) Can(perm Permission) bool {
	return !p.Scope(perm).Empty()
}

// CanGrant reports whether p may give role on the organisation at orgPath: p must manage
// accounts there and hold every permission of the role there itself, so that no one can hand
// out more than they have. The admin role also means every permission registered in future, so
// only an admin of that subtree may grant it.
func (p *Principal) CanGrant(role Role, orgPath string) bool {
	if p.system {
		return true
	}
	if !p.Scope(UsersManage).Covers(orgPath) {
		return false
	}
	for _, perm := range role.Permissions {
		if !p.Scope(perm).Covers(orgPath) {
			return false
		}
	}
	if role.Key == RoleAdmin {
		return slices.ContainsFunc(p.Grants, func(g Grant) bool {
			return g.Role.Key == RoleAdmin && strings.HasPrefix(orgPath, g.OrgPath)
		})
	}
	return true
}

// IsStaff reports whether p works on others' records: the system, or a grant of a role that
// is not limited to one's own.
func (p *Principal) IsStaff() bool {
	return p.system || slices.ContainsFunc(p.Grants, func(g Grant) bool { return !g.Role.SelfOnly })
}

// Scope is where p may exercise perm.
func (p *Principal) Scope(perm Permission) Scope {
	if p.system {
		return Scope{All: true}
	}
	var s Scope
	for _, g := range p.Grants {
		if !slices.Contains(g.Role.Permissions, perm) {
			continue
		}
		if g.Role.SelfOnly {
			s.PersonID = p.PersonID
			continue
		}
		s.Paths = append(s.Paths, g.OrgPath)
	}
	s.Paths = outermost(s.Paths)
	return s
}

// outermost drops every path that lies under another path of the list.
func outermost(paths []string) []string {
	sort.Strings(paths)
	var out []string
	for _, p := range paths {
		if len(out) > 0 && strings.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Scope is a set of organisation subtrees, possibly everything, plus possibly the caller's own
// person record.
type Scope struct {
	All      bool
	Paths    []string
	PersonID int64 // self-only access to this person's records, 0 if none
}

// Empty reports whether the scope covers nothing at all.
func (s Scope) Empty() bool { return !s.All && len(s.Paths) == 0 && s.PersonID == 0 }

// Covers reports whether an organisation with the given path lies inside the scope's subtrees.
func (s Scope) Covers(orgPath string) bool {
	if s.All {
		return true
	}
	for _, p := range s.Paths {
		if strings.HasPrefix(orgPath, p) {
			return true
		}
	}
	return false
}

// CoversPerson reports whether a person belonging to an organisation with the given path is
// inside the scope, through a subtree or as the caller's own record.
func (s Scope) CoversPerson(personID int64, orgPath string) bool {
	return (s.PersonID != 0 && s.PersonID == personID) || s.Covers(orgPath)
}

// Where renders the scope as an SQL condition over an organisation-path column and, when
// personCol is not empty, a person-id column. It is always parenthesised; an empty scope is
// a condition that is never true.
func (s Scope) Where(pathCol, personCol string) (string, []any) {
	if s.All {
		return "(1 = 1)", nil
	}
	var parts []string
	var args []any
	for _, p := range s.Paths {
		lo, hi := store.PathRange(p)
		parts = append(parts, "("+pathCol+" >= ? AND "+pathCol+" < ?)")
		args = append(args, lo, hi)
	}
	if s.PersonID != 0 && personCol != "" {
		parts = append(parts, personCol+" = ?")
		args = append(args, s.PersonID)
	}
	if len(parts) == 0 {
		return "(1 = 0)", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}
