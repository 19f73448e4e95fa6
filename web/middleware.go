package web

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// MaxUpload is the largest request body accepted anywhere; imports are the biggest bodies.
const MaxUpload = 32 << 20

func limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxUpload {
			writeError(w, r, tooLarge())
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxUpload)
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Scripts only from our own files; charts and htmx set styles from script, which CSP
		// allows, and templates may carry style attributes.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe logs every request, counts it in the metrics and turns a panic into a 500.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic", "method", r.Method, "path", loggedPath(r), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeError(rec, r, fmt.Errorf("panic: %v", v))
				}
			}
			elapsed := time.Since(start)
			pattern := r.Pattern
			if pattern == "" {
				pattern = "unmatched"
			}
			s.metrics.observe(pattern, rec.status, elapsed)
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method), slog.String("path", loggedPath(r)),
				slog.String("route", pattern), slog.Int("status", rec.status),
				slog.Int("bytes", rec.bytes), slog.Duration("duration", elapsed),
				slog.String("ip", clientIP(r)))
		}()
		next.ServeHTTP(rec, r)
	})
}

// clientIP is the peer address. grassroots is served directly or behind a proxy on the same
// host; forwarded headers are not trusted because any client can set them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loggedPath is the request path with a {token} wildcard masked: a one-time link (an anonymous
// rating link) must not be readable, nor its use timed, from the logs.
func loggedPath(r *http.Request) string {
	if token := r.PathValue("token"); token != "" {
		return strings.Replace(r.URL.Path, token, "…", 1)
	}
	return r.URL.Path
}
