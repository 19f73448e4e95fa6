package web

import (
	"context"
	"embed"
	"net/http"
	"time"
)

//go:embed openapi
var apiDocs embed.FS

// registerPlatform adds the routes every deployment needs regardless of rooms: health,
// readiness, metrics, static files and the API description.
func (s *Server) registerPlatform() {
	s.Public("GET /healthz", "进程存活", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.Public("GET /readyz", "数据库可用且迁移已完成", s.ready)
	s.Public("GET /metrics", "Prometheus 指标", s.metrics.handler().ServeHTTP)
	s.Public("GET /static/{hash}/{name...}", "静态文件", s.static.serve)
	s.Public("GET /api/v1/openapi.json", "接口说明", s.serveOpenAPI)
	s.Document(apiDocs, "openapi/platform.json")
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.cfg.DB.Ping(ctx); err != nil {
		s.log.Error("readyz: database unreachable", "err", err.Error())
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unreachable\n"))
		return
	}
	pending, err := s.cfg.DB.Pending(ctx, s.cfg.Migrations...)
	if err != nil || pending > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("migrations pending\n"))
		return
	}
	w.Write([]byte("ready\n"))
}
