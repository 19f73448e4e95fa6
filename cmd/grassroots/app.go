package main

import (
	"context"
	"log/slog"

	"grassroots/appraisal"
	"grassroots/audit"
	"grassroots/auth"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
	"grassroots/web"
)

// migrations are every package's schema, in dependency order.
var migrations = []store.Migrations{audit.Migrations, org.Migrations, auth.Migrations, passbook.Migrations, appraisal.Migrations}

// app is the wired platform: one database and the services on it.
type app struct {
	db        *store.DB
	auth      *auth.Service
	org       *org.Service
	passbook  *passbook.Service
	appraisal *appraisal.Service
}

// open connects to the database and applies every pending migration.
func open(ctx context.Context, dsn string) (*app, error) {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations...); err != nil {
		db.Close()
		return nil, err
	}
	return newApp(db), nil
}

// newApp wires the services on a migrated database.
func newApp(db *store.DB) *app {
	return &app{db: db, auth: auth.NewService(db), org: org.NewService(db), passbook: passbook.NewService(db),
		appraisal: appraisal.NewService(db)}
}

func (a *app) close() { a.db.Close() }

// server builds the web server with every room registered.
func (a *app) server(log *slog.Logger) *web.Server {
	srv := web.New(web.Config{
		DB: a.db, Auth: a.auth, Org: a.org, Logger: log, Migrations: migrations,
	})
	passbook.Register(srv, a.passbook, a.org)
	appraisal.Register(srv, a.appraisal, a.org)
	return srv
}
