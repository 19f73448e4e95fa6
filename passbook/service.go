package passbook

import (
	"embed"

	"grassroots/auth"
	"grassroots/store"
)

//go:embed schema
var schema embed.FS

// Migrations is the passbook package's schema; it runs after auth's.
var Migrations = store.Migrations{Package: "passbook", FS: schema}

// Permissions of the Red Passbook. Members hold view, claim, object and redeem for themselves.
const (
	PermView    auth.Permission = "passbook.view"    // passbooks, statements, rankings
	PermManage  auth.Permission = "passbook.manage"  // settings, catalog, passbooks, activities, rewards
	PermClaim   auth.Permission = "passbook.claim"   // submit claims (members for themselves, staff for others)
	PermReview  auth.Permission = "passbook.review"  // approve and reject claims
	PermObject  auth.Permission = "passbook.object"  // raise an objection during 公示
	PermRedeem  auth.Permission = "passbook.redeem"  // place orders in the points store
	PermFulfil  auth.Permission = "passbook.fulfil"  // hand over rewards (核销), cancel orders
	PermCorrect auth.Permission = "passbook.correct" // reverse a transaction
)

func init() {
	auth.RegisterPermission(
		auth.PermissionInfo{Key: PermView, Name: "查看红色存折", Roles: []auth.RoleKey{auth.RoleOrgAdmin, auth.RoleUnitAdmin, auth.RoleReviewer, auth.RoleMember}},
		auth.PermissionInfo{Key: PermManage, Name: "管理积分事项、存折与积分超市", Roles: []auth.RoleKey{auth.RoleOrgAdmin, auth.RoleUnitAdmin}},
		auth.PermissionInfo{Key: PermClaim, Name: "申报积分", Roles: []auth.RoleKey{auth.RoleOrgAdmin, auth.RoleUnitAdmin, auth.RoleReviewer, auth.RoleMember}},
		auth.PermissionInfo{Key: PermReview, Name: "审核积分申报", Roles: []auth.RoleKey{auth.RoleOrgAdmin, auth.RoleUnitAdmin, auth.RoleReviewer}},
		auth.PermissionInfo{Key: PermObject, Name: "对公示提出异议", Roles: []auth.RoleKey{auth.RoleMember, auth.RoleReviewer, auth.RoleUnitAdmin, auth.RoleOrgAdmin}},
		auth.PermissionInfo{Key: PermRedeem, Name: "兑换积分超市奖品", Roles: []auth.RoleKey{auth.RoleMember, auth.RoleUnitAdmin, auth.RoleOrgAdmin}},
		auth.PermissionInfo{Key: PermFulfil, Name: "奖品核销与订单取消", Roles: []auth.RoleKey{auth.RoleUnitAdmin, auth.RoleOrgAdmin, auth.RoleReviewer}},
		auth.PermissionInfo{Key: PermCorrect, Name: "冲正积分交易", Roles: []auth.RoleKey{auth.RoleOrgAdmin, auth.RoleUnitAdmin}},
	)
}

// Service is the Red Passbook's use cases; each public method is one transaction.
type Service struct {
	db *store.DB
}

// NewService returns the service over db.
func NewService(db *store.DB) *Service { return &Service{db: db} }
