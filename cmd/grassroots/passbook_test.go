package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/passbook"
)

func TestPassbookPost(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := filepath.Join(dir, "grassroots.db")
	a, err := open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	sys := auth.System()
	var book passbook.Passbook
	err = func() error {
		community, err := a.org.CreateOrg(ctx, sys, org.OrgInput{Name: "元城镇社区", Kind: org.KindVillage})
		if err != nil {
			return err
		}
		person, err := a.org.CreatePerson(ctx, sys, org.PersonInput{OrgID: community.ID, Name: "李老师",
			IDNumber: "532528195501010015", PoliticalStatus: "中共党员", PartyJoinedOn: "1980-07-01"})
		if err != nil {
			return err
		}
		if book, err = a.passbook.OpenPassbook(ctx, sys, passbook.OpenInput{PersonID: person.ID, Class: "离退休党员"}); err != nil {
			return err
		}
		_, err = a.passbook.CreateItem(ctx, sys, passbook.ItemInput{OrgID: community.ID, Code: "V01", ItemTerms: passbook.ItemTerms{
			Name: "志愿服务", Category: "志愿服务", Points: 2, Unit: passbook.UnitHour, MaxPerClaim: 4, ValidFrom: book.OpenedOn}})
		return err
	}()
	a.close()
	if err != nil {
		t.Fatal(err)
	}
	header := "存折号,身份证号,事项编码,日期,数量,备注\n"
	today := book.OpenedOn

	bad := filepath.Join(dir, "三月.csv")
	if err := os.WriteFile(bad, []byte(header+book.Number+",,V01,"+today+",3,\n"+book.Number+",,V01,"+today+",9,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("passbook", "post", bad, "--db", dsn)
	report := filepath.Join(dir, "三月-错误报告.csv")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "第3行：积分事项“志愿服务”每次最多申报4小时") ||
		!strings.Contains(stderr, "共 1 行有误，未入账任何申报；错误报告："+report) {
		t.Fatalf("bad file: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if data, err := os.ReadFile(report); err != nil || !strings.Contains(string(data), "3,积分事项") {
		t.Fatalf("error report: %q, %v", data, err)
	}

	good := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(good, []byte(header+book.Number+",,V01,"+today+",3,\n,532528195501010015,V01,"+today+",1,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI("passbook", "post", good, "--db", dsn)
	if code != 0 || !strings.Contains(stdout, "已入账 2 条申报（其中扣分 0 条），涉及 1 本存折，净增荣誉积分 8 分，存入存款 8.00 元") {
		t.Fatalf("good file: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI("passbook", "verify", "--db", dsn); code != 0 {
		t.Fatalf("verify after the posting: %d %s %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI("passbook", "post", filepath.Join(dir, "missing.csv"), "--db", dsn); code != 1 || !strings.Contains(stderr, "无法打开文件") {
		t.Fatalf("a missing file: %d %s", code, stderr)
	}
}
