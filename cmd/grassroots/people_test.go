package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/xlsx"
)

// writeSheet writes rows under the import template's header to path.
func writeSheet(t *testing.T, path string, rows ...[]any) {
	t.Helper()
	var buf bytes.Buffer
	w, err := xlsx.NewWriter(&buf, org.PeopleSheet, org.PeopleColumns())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.WriteRow(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCLI runs the command line and returns its exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestImportAndExportPeople(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := filepath.Join(dir, "grassroots.db")
	a, err := open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	county, err := a.org.CreateOrg(ctx, auth.System(), org.OrgInput{Name: "元阳县", Kind: org.KindCounty})
	if err == nil {
		_, err = a.org.CreateOrg(ctx, auth.System(), org.OrgInput{ParentID: county.ID, Name: "元城镇社区", Kind: org.KindVillage,
			DivisionCode: "532528100001"})
	}
	a.close()
	if err != nil {
		t.Fatal(err)
	}

	bad := filepath.Join(dir, "名单.xlsx")
	writeSheet(t, bad,
		[]any{"王芳", "", "532528198001010020", "", "群众", "", "", "元阳县/元城镇社区"},
		[]any{"错位", "", "532528198001010021", "", "群众", "", "", "元阳县/元城镇社区"},
		[]any{"无组织", "", "532528198001010047", "", "群众", "", "", "元阳县/不存在"})
	code, stdout, stderr := runCLI("import", "people", bad, "--db", dsn)
	report := filepath.Join(dir, "名单-错误报告.xlsx")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "第3行：身份证号校验位错误，应为0\n") ||
		!strings.Contains(stderr, "第4行：未找到组织：元阳县/不存在\n") || !strings.Contains(stderr, "共 2 行有误，未导入任何数据；错误报告："+report) {
		t.Fatalf("bad file: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if data, err := os.ReadFile(report); err != nil || !bytes.HasPrefix(data, []byte("PK")) {
		t.Fatalf("error report %s: %d bytes, %v", report, len(data), err)
	}

	good := filepath.Join(dir, "good.xlsx")
	writeSheet(t, good,
		[]any{"王芳", "", "532528198001010020", "13812345678", "中共党员", "2001-07-01", "在职、志愿者", "元阳县/元城镇社区"},
		[]any{"赵敏", "", "532528198001010047", "", "群众", "", "", "532528100001"})
	if code, stdout, stderr := runCLI("import", "people", "--db", dsn, good); code != 0 || stdout != "已导入 2 人\n" {
		t.Fatalf("good file: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	exported := filepath.Join(dir, "export.xlsx")
	if code, stdout, stderr := runCLI("export", "people", exported, "--db", dsn); code != 0 || stdout != "已导出 2 人到 "+exported+"\n" {
		t.Fatalf("export: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI("export", "people", exported, "--db", dsn); code != 1 || !strings.Contains(stderr, "已存在") {
		t.Fatalf("export over an existing file: exit %d, %s", code, stderr)
	}
	f, err := os.Open(exported)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, err := xlsx.Open(f, 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var lines []string
	err = x.ReadRows("", org.PeopleColumns(), func(r xlsx.Row) error {
		lines = append(lines, r.Get("姓名")+"|"+r.Get("身份证号")+"|"+r.Get("人员类别")+"|"+r.Get("所属组织"))
		return nil
	})
	want := []string{"王芳|532528198001010020|在职、志愿者|元阳县/元城镇社区", "赵敏|532528198001010047||元阳县/元城镇社区"}
	if err != nil || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("exported rows = %q, %v", lines, err)
	}

	if code, _, stderr := runCLI("import", "people", "--db", dsn); code != 1 || !strings.Contains(stderr, "用法") {
		t.Fatalf("no file: exit %d, %s", code, stderr)
	}
}
