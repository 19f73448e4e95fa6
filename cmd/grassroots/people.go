package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
)

// cliImportBytes is the import limit at the command line: the operator is trusted with larger
// files than the web form takes, up to what fits one sheet.
const cliImportBytes = 200 << 20

// shownProblems is how many bad rows the command prints; the report has them all.
const shownProblems = 20

func cmdImportPeople(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "import people")
	path, err := parseWithFile(fs, args, "用法：grassroots import people FILE.xlsx [--db DSN]")
	if err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return errs.Invalid("file", "无法打开文件 %s：%v", path, err)
	}
	defer file.Close()
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()

	bar := progress(env.stderr)
	res, err := a.org.ImportPeople(ctx, auth.System(), file, org.ImportOptions{MaxBytes: cliImportBytes, Progress: bar.set})
	bar.finish()
	if len(res.Problems) > 0 {
		return reportProblems(env, path, res.Problems, res.Report, "未导入任何数据")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "已导入 %d 人\n", res.Imported)
	return nil
}

// reportProblems saves the error report next to the file, in its format, prints the first bad
// rows and returns the error that makes the command exit 1; nothing says what was not done.
func reportProblems(env *cli, path string, problems map[int]string, report []byte, nothing string) error {
	reportPath := strings.TrimSuffix(path, filepath.Ext(path)) + "-错误报告" + filepath.Ext(path)
	if err := os.WriteFile(reportPath, report, 0o644); err != nil {
		return fmt.Errorf("write error report: %w", err)
	}
	rows := slices.Sorted(maps.Keys(problems))
	for _, n := range rows[:min(len(rows), shownProblems)] {
		fmt.Fprintf(env.stderr, "第%d行：%s\n", n, problems[n])
	}
	if len(rows) > shownProblems {
		fmt.Fprintf(env.stderr, "……其余 %d 行见错误报告\n", len(rows)-shownProblems)
	}
	return errs.Invalid("file", "共 %d 行有误，%s；错误报告：%s", len(rows), nothing, reportPath)
}

func cmdExportPeople(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "export people")
	path, err := parseWithFile(fs, args, "用法：grassroots export people FILE.xlsx [--db DSN]")
	if err != nil {
		return err
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	// O_EXCL: an export must never overwrite a spreadsheet someone keeps.
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if os.IsExist(err) {
		return errs.Conflict("文件 %s 已存在，请换一个文件名", path)
	}
	if err != nil {
		return err
	}
	n, err := a.org.ExportPeople(ctx, auth.System(), org.PeopleFilter{}, file)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	fmt.Fprintf(env.stdout, "已导出 %d 人到 %s\n", n, path)
	return nil
}

// parseWithFile parses flags given before or after the one FILE argument, as people type
// "import people x.xlsx --db …" as often as "import people --db … x.xlsx".
func parseWithFile(fs *flag.FlagSet, args []string, usage string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	var files []string
	for fs.NArg() > 0 {
		files = append(files, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return "", err
		}
	}
	if len(files) != 1 {
		return "", errs.Invalid("file", "%s", usage)
	}
	return files[0], nil
}

// progressBar shows the rows checked on a terminal and nothing elsewhere (logs, pipes,
// tests). The total is unknown until the sheet is read, so it counts up with a spinner.
type progressBar struct {
	bar *progressbar.ProgressBar
}

func progress(w io.Writer) progressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return progressBar{}
	}
	return progressBar{progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("校验"),
		progressbar.OptionSetItsString("行"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p progressBar) set(done int) {
	if p.bar != nil {
		p.bar.Set(done)
	}
}

func (p progressBar) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
