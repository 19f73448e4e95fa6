package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/passbook"
	"grassroots/store"
)

func cmdUserAdd(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "user add")
	username := fs.String("username", "", "login name")
	display := fs.String("display-name", "", "name shown in the interface")
	personID := fs.Int64("person-id", 0, "the person this account belongs to")
	role := fs.String("role", "", "role to grant: admin, org_admin, unit_admin, reviewer, member")
	orgID := fs.Int64("org-id", 0, "organisation the role is granted on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *username == "" {
		return errs.Invalid("username", "请用 --username 指定用户名")
	}
	in := auth.NewUser{Username: *username, DisplayName: *display, PersonID: *personID, Password: os.Getenv("GRASSROOTS_PASSWORD")}
	if *role != "" {
		if *orgID == 0 {
			return errs.Invalid("org-id", "授予角色时须用 --org-id 指定组织")
		}
		in.Grants = []auth.GrantInput{{Role: auth.RoleKey(*role), OrgID: *orgID}}
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	u, generated, err := a.auth.CreateUser(ctx, auth.System(), in)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "已创建用户 %s（编号 %d）\n", u.Username, u.ID)
	if generated != "" {
		fmt.Fprintf(env.stdout, "初始密码（首次登录后须修改）：%s\n", generated)
	}
	return nil
}

func cmdUserPasswd(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "user passwd")
	username := fs.String("username", "", "login name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.auth.UserByName(ctx, auth.System(), *username)
	if err != nil {
		return err
	}
	if pw := os.Getenv("GRASSROOTS_PASSWORD"); pw != "" {
		if err := a.auth.SetPassword(ctx, auth.System(), u.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "已为 %s 设置新密码\n", u.Username)
		return nil
	}
	generated, err := a.auth.ResetPassword(ctx, auth.System(), u.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "已为 %s 生成新密码（首次登录后须修改）：%s\n", u.Username, generated)
	return nil
}

func cmdTokenCreate(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "token create")
	user := fs.String("user", "", "the user whose permissions the token carries")
	name := fs.String("name", "命令行创建", "what the token is for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	token, _, err := a.auth.CreateTokenForUser(ctx, auth.System(), *user, *name)
	if err != nil {
		return err
	}
	// Only the token on stdout, so scripts can capture it.
	fmt.Fprintln(env.stdout, token)
	return nil
}

func cmdAuditVerify(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "audit verify")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	n, err := audit.Verify(ctx, a.db)
	var broken *audit.Broken
	if errors.As(err, &broken) {
		return fmt.Errorf("审计链在第 %d 条记录处断裂：%s", broken.ID, broken.Reason)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "审计链完整：共 %d 条记录\n", n)
	return nil
}

// cmdPassbookVerify recomputes the Red Passbook ledger and exits non-zero on any discrepancy.
func cmdPassbookVerify(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "passbook verify")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	n, found, err := passbook.Verify(ctx, a.db)
	if err != nil {
		return err
	}
	for _, d := range found {
		fmt.Fprintln(env.stderr, d)
	}
	if len(found) > 0 {
		return fmt.Errorf("红色存折账目有 %d 处不符", len(found))
	}
	fmt.Fprintf(env.stdout, "红色存折账目相符：共核对 %d 条分录\n", n)
	return nil
}

// cmdPassbookPost books a file of claims approved and publicised on paper straight to the
// ledger, all or nothing.
func cmdPassbookPost(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "passbook post")
	path, err := parseWithFile(fs, args, "用法：grassroots passbook post FILE.xlsx|FILE.csv [--db DSN]")
	if err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return errs.Invalid("file", "无法打开文件 %s：%v", path, err)
	}
	defer file.Close()
	approved, err := passbook.ReadApproved(file, path, cliPostBytes)
	if err != nil {
		return err
	}
	defer approved.Close()
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	start := time.Now()
	res, err := a.passbook.PostApproved(ctx, auth.System(), approved)
	if len(res.Problems) > 0 {
		return reportProblems(env, path, res.Problems, res.Report, "未入账任何申报")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "已入账 %d 条申报（其中扣分 %d 条），涉及 %d 本存折，净增荣誉积分 %d 分，存入存款 %s 元，用时 %s\n",
		res.Posted, res.Deductions, res.Passbooks, res.Points, yuan(res.Fen), time.Since(start).Round(time.Millisecond))
	return nil
}

// cliPostBytes bounds a file of approved claims: a million CSV rows are about 40 MB.
const cliPostBytes = 512 << 20

// yuan writes fen as yuan with two decimals.
func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

func cmdBackup(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "backup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errs.Invalid("file", "用法：grassroots backup FILE")
	}
	target := fs.Arg(0)
	if strings.HasPrefix(*dsn, "postgres") {
		return errs.Invalid("db", "PostgreSQL 请使用 pg_dump 备份")
	}
	if _, err := os.Stat(target); err == nil {
		return errs.Conflict("备份文件 %s 已存在，请换一个文件名", target)
	}
	// Open without migrating: a backup must not change the database it copies.
	db, err := store.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, target); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "已备份到 %s\n", target)
	return nil
}
