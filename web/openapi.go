package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
)

// openAPI is the API description, merged from each room's fragment: a JSON file with "paths"
// and optionally "components.schemas", written by hand next to the handlers it documents.
type openAPI struct {
	paths   map[string]map[string]any
	schemas map[string]any
}

func newOpenAPI() *openAPI {
	return &openAPI{paths: map[string]map[string]any{}, schemas: map[string]any{}}
}

// Document merges a room's OpenAPI fragment into the served description.
func (s *Server) Document(fsys fs.FS, name string) {
	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic(fmt.Sprintf("web: openapi fragment %s: %v", name, err))
	}
	var frag struct {
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &frag); err != nil {
		panic(fmt.Sprintf("web: openapi fragment %s: %v", name, err))
	}
	for p, ops := range frag.Paths {
		if s.openapi.paths[p] == nil {
			s.openapi.paths[p] = map[string]any{}
		}
		for method, op := range ops {
			s.openapi.paths[p][method] = op
		}
	}
	for k, v := range frag.Components.Schemas {
		s.openapi.schemas[k] = v
	}
}

// Documented reports whether the description has an operation for method and path.
func (s *Server) Documented(method, path string) bool {
	ops := s.openapi.paths[path]
	_, ok := ops[lower(method)]
	return ok
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "grassroots API",
			"version":     "1",
			"description": "基层党建治理平台接口。登录：POST /api/v1/login 设置会话 Cookie，或在请求头中携带 Authorization: Bearer 令牌。错误：{\"error\":{\"code\",\"message\",\"field\"}}；列表：?limit=&cursor= → {\"items\":[…],\"next_cursor\":\"…\"}。",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   s.openapi.paths,
		"components": map[string]any{
			"schemas": s.openapi.schemas,
			"securitySchemes": map[string]any{
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie},
				"bearer":  map[string]any{"type": "http", "scheme": "bearer"},
			},
		},
		"security": []any{map[string]any{"session": []any{}}, map[string]any{"bearer": []any{}}},
	}
	WriteJSON(w, http.StatusOK, doc)
}
