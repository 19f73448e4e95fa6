// Command grassroots runs the platform and its operator tasks:
//
//	grassroots serve [--db DSN] [--addr :8080] [--demo]
//	grassroots migrate [--db DSN]
//	grassroots demo [--db DSN]
//	grassroots user add --username NAME [--display-name 名字] [--person-id N] [--role admin --org-id N]
//	grassroots user passwd --username NAME
//	grassroots token create --user NAME [--name 用途]
//	grassroots import people FILE.xlsx
//	grassroots export people FILE.xlsx
//	grassroots audit verify
//	grassroots passbook verify
//	grassroots passbook post FILE.xlsx|FILE.csv
//	grassroots appraisal close --unit ID --quarter 2026Q3
//	grassroots backup FILE
//
// The database is --db, else GRASSROOTS_DB, else the SQLite file grassroots.db.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"grassroots/errs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: its flags are parsed from args after the command words.
type command struct {
	words []string
	usage string
	run   func(ctx context.Context, env *cli, args []string) error
}

// cli is what a command writes to.
type cli struct {
	stdout, stderr io.Writer
}

var commands = []command{
	{[]string{"serve"}, "serve [--db DSN] [--addr :8080] [--demo]", cmdServe},
	{[]string{"migrate"}, "migrate [--db DSN]", cmdMigrate},
	{[]string{"demo"}, "demo [--db DSN]", cmdDemo},
	{[]string{"user", "add"}, "user add --username NAME [--display-name 名字] [--person-id N] [--role ROLE --org-id N]", cmdUserAdd},
	{[]string{"user", "passwd"}, "user passwd --username NAME   (new password from GRASSROOTS_PASSWORD, else generated)", cmdUserPasswd},
	{[]string{"token", "create"}, "token create --user NAME [--name 用途]", cmdTokenCreate},
	{[]string{"import", "people"}, "import people FILE.xlsx", cmdImportPeople},
	{[]string{"export", "people"}, "export people FILE.xlsx", cmdExportPeople},
	{[]string{"audit", "verify"}, "audit verify", cmdAuditVerify},
	{[]string{"passbook", "verify"}, "passbook verify", cmdPassbookVerify},
	{[]string{"passbook", "post"}, "passbook post FILE.xlsx|FILE.csv   (claims approved and publicised on paper)", cmdPassbookPost},
	{[]string{"appraisal", "close"}, "appraisal close --unit ID --quarter 2026Q3   (step 5 组织人事部门综合评定: compute, confirm, publish)", cmdAppraisalClose},
	{[]string{"backup"}, "backup FILE", cmdBackup},
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := &cli{stdout: stdout, stderr: stderr}
	for _, c := range commands {
		if len(args) < len(c.words) || !equalWords(args[:len(c.words)], c.words) {
			continue
		}
		err := c.run(ctx, env, args[len(c.words):])
		if err == nil {
			return 0
		}
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		var e *errs.Error
		if errors.As(err, &e) && e.Kind != errs.KindInternal {
			fmt.Fprintln(stderr, "grassroots:", e.Message)
		} else {
			fmt.Fprintln(stderr, "grassroots:", err)
		}
		return 1
	}
	fmt.Fprintln(stderr, "usage: grassroots COMMAND [flags]")
	for _, c := range commands {
		fmt.Fprintln(stderr, "  grassroots", c.usage)
	}
	return 2
}

func equalWords(a, b []string) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// flags makes a flag set with the --db flag every command shares.
func flags(env *cli, name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dsn := fs.String("db", envOr("GRASSROOTS_DB", "grassroots.db"), "database: a SQLite path, sqlite:PATH or postgres://…")
	return fs, dsn
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
