package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"grassroots/demo"
)

func cmdServe(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "serve")
	addr := fs.String("addr", envOr("GRASSROOTS_ADDR", ":8080"), "listen address")
	withDemo := fs.Bool("demo", false, "seed the demo world into an empty database")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(env.stderr, nil))
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()

	adminPassword := os.Getenv("GRASSROOTS_ADMIN_PASSWORD")
	var accounts []demo.Account
	if *withDemo {
		var seeded bool
		if accounts, seeded, err = demo.SeedIfEmpty(ctx, a.db, adminPassword); err != nil {
			return err
		}
		if seeded {
			log.Info("demo world seeded")
		}
	}
	password, created, err := a.auth.Bootstrap(ctx, "admin", adminPassword)
	if err != nil {
		return fmt.Errorf("create administrator: %w", err)
	}
	if err := a.auth.GrantAdminOnRoots(ctx, "admin"); err != nil {
		return fmt.Errorf("grant administrator: %w", err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.server(log).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // large imports upload slowly on county networks
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	fmt.Fprintf(env.stdout, "grassroots 已启动：%s\n", displayURL(ln.Addr()))
	fmt.Fprintln(env.stdout, "管理员用户名：admin")
	if created && password != "" {
		fmt.Fprintf(env.stdout, "管理员初始密码（仅显示这一次，首次登录后须修改）：%s\n", password)
	}
	printAccounts(env, accounts)
	log.Info("listening", "addr", ln.Addr().String(), "db", a.db.Dialect.Name())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go runJobs(ctx, log, a)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// displayURL is the address a person on the server opens in a browser.
func displayURL(addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func cmdMigrate(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	a.close()
	fmt.Fprintln(env.stdout, "数据库已是最新结构")
	return nil
}

func cmdDemo(ctx context.Context, env *cli, args []string) error {
	fs, dsn := flags(env, "demo")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer a.close()
	accounts, seeded, err := demo.SeedIfEmpty(ctx, a.db, os.Getenv("GRASSROOTS_ADMIN_PASSWORD"))
	if err != nil {
		return err
	}
	if !seeded {
		fmt.Fprintln(env.stdout, "数据库中已有组织，未写入演示数据")
		return nil
	}
	fmt.Fprintln(env.stdout, "演示数据已写入")
	printAccounts(env, accounts)
	return nil
}

// printAccounts lists the demo sign-ins once, with generated passwords when there are any.
func printAccounts(env *cli, accounts []demo.Account) {
	if len(accounts) == 0 {
		return
	}
	fmt.Fprintln(env.stdout, "演示账号：")
	for _, a := range accounts {
		line := fmt.Sprintf("  %-14s %s（%s）", a.Username, a.Role, a.Org)
		if a.Password != "" {
			line += "  初始密码：" + a.Password
		} else {
			line += "  密码同管理员"
		}
		fmt.Fprintln(env.stdout, line)
	}
}
