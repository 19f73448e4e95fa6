package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed static
var staticFS embed.FS

// staticFiles serves the embedded assets under /static/{hash}/{name}: the hash changes when the
// content does, so browsers may cache them for a year. Text assets are served gzipped, which
// matters for ECharts on a phone; each is compressed once, when first asked for, so that
// starting a server (every test starts several) does not wait for it.
type staticFiles struct {
	byName map[string]*asset
}

type asset struct {
	hash  string
	body  []byte
	gz    func() []byte // nil for what does not compress
	ctype string
}

// loadStatic indexes the assets once per process; servers share them.
var loadStatic = sync.OnceValue(func() *staticFiles {
	sf := &staticFiles{byName: map[string]*asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{hash: hex.EncodeToString(sum[:6]), body: body, ctype: mime.TypeByExtension(path.Ext(p))}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		if strings.HasPrefix(a.ctype, "text/") || strings.Contains(a.ctype, "javascript") || strings.Contains(a.ctype, "json") || strings.HasSuffix(p, ".svg") {
			a.gz = sync.OnceValue(func() []byte {
				var buf bytes.Buffer
				zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
				zw.Write(body)
				zw.Close()
				return buf.Bytes()
			})
		}
		sf.byName[strings.TrimPrefix(p, "static/")] = a
		return nil
	})
	if err != nil {
		panic("web: load static assets: " + err.Error())
	}
	return sf
})

// url is the hashed address of an asset, for templates: {{asset "app.css"}}.
func (sf *staticFiles) url(name string) string {
	a, ok := sf.byName[name]
	if !ok {
		panic("web: no static asset " + name)
	}
	return "/static/" + a.hash + "/" + name
}

func (sf *staticFiles) serve(w http.ResponseWriter, r *http.Request) {
	a, ok := sf.byName[r.PathValue("name")]
	if !ok || a.hash != r.PathValue("hash") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Vary", "Accept-Encoding")
	body := a.body
	if a.gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz()
	}
	w.Write(body)
}
