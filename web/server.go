// Package web is the HTTP kit every room of grassroots uses — server, middleware, sessions,
// routes with permissions, rendering, static assets, errors → status — and the shell pages of
// the foundation: login, dashboard, organisations, people, users, audit, import and export.
package web

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
)

// Config is what the server needs from its wiring.
type Config struct {
	DB     *store.DB
	Auth   *auth.Service
	Org    *org.Service
	Logger *slog.Logger
	// Migrations are the schema sets /readyz checks are fully applied.
	Migrations []store.Migrations
	// SecureCookies marks the session cookie Secure; set it when served over TLS.
	SecureCookies bool
}

// RouteKind says how a route authenticates and answers.
type RouteKind int

const (
	KindPublic RouteKind = iota // no session needed
	KindPage                    // HTML; no session → redirect to the login page
	KindAPI                     // JSON; session cookie or bearer token
)

// Route is one registered route; the list feeds the OpenAPI check and the authorisation tests.
type Route struct {
	Method  string
	Path    string
	Kind    RouteKind
	Perm    auth.Permission // "" = any signed-in user
	Summary string
}

// HandlerFunc is a handler for a signed-in caller. A returned error becomes the answer: a JSON
// error body for API routes, an error page for pages.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

// Server holds the routes and the shared services.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []Route
	menu    []NavItem
	static  *staticFiles
	metrics *metrics
	layout  *Templates
	openapi *openAPI
	once    sync.Once
	handler http.Handler
}

// New builds a server with the foundation's routes registered. Mechanism packages add theirs
// with Page, API and Menu before Handler is first called.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		mux:     http.NewServeMux(),
		static:  loadStatic(),
		metrics: newMetrics(),
		openapi: newOpenAPI(),
	}
	s.layout = s.Templates(shellTemplates, "templates")
	s.registerPlatform()
	s.registerShell()
	return s
}

// Routes lists every registered route.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// Public registers a route that needs no session.
func (s *Server) Public(pattern, summary string, h http.HandlerFunc) {
	s.add(pattern, KindPublic, "", summary)
	s.mux.HandleFunc(pattern, h)
}

// Page registers an HTML route for signed-in users holding perm somewhere ("" = anyone signed in).
func (s *Server) Page(pattern string, perm auth.Permission, h HandlerFunc) {
	s.add(pattern, KindPage, perm, "")
	s.mux.Handle(pattern, s.page(perm, h))
}

// API registers a JSON route for signed-in users or bearer tokens holding perm somewhere.
func (s *Server) API(pattern string, perm auth.Permission, h HandlerFunc) {
	s.add(pattern, KindAPI, perm, "")
	s.mux.Handle(pattern, s.api(perm, h))
}

func (s *Server) add(pattern string, kind RouteKind, perm auth.Permission, summary string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("web: route pattern needs a method: " + pattern)
	}
	s.routes = append(s.routes, Route{Method: method, Path: path, Kind: kind, Perm: perm, Summary: summary})
}

// Handler is the whole server with its middleware. Call it after every room has registered.
func (s *Server) Handler() http.Handler {
	s.once.Do(func() {
		var h http.Handler = s.mux
		h = http.NewCrossOriginProtection().Handler(h)
		h = limitBodies(h)
		h = securityHeaders(h)
		h = s.observe(h)
		s.handler = h
	})
	return s.handler
}

// DB is the server's database, for rooms that need it in handlers.
func (s *Server) DB() *store.DB { return s.cfg.DB }

// Log is the server's logger.
func (s *Server) Log() *slog.Logger { return s.log }
