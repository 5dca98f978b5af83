// Package web serves the browser pages that ship inside the binary, GraphiQL and the live
// dashboard: each is built from npm packages by `make assets` into its dist folder, committed,
// and embedded, so that `go build` needs no Node and the pages load nothing from elsewhere.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// ContentSecurityPolicy lets a page load and connect to its own origin only: no CDN, no
// third-party script, style, font or image, no frames. Inline styles are allowed because
// the editors set style attributes from script; inline and evaluated scripts are not.
// 'self' in connect-src also admits WebSockets to the same host and port.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Page is one built page: its index.html and the assets it references, which the build
// addresses absolutely beneath Path (for example /graphiql/assets/app-3f2a.js).
type Page struct {
	// Path is where the page is served, without a trailing slash: /graphiql.
	Path string
	// Files is the page's dist folder.
	Files fs.FS
}

// embeddedPage is the page served at path from the folder dir of an embedded build.
func embeddedPage(path string, build embed.FS, dir string) Page {
	files, err := fs.Sub(build, dir)
	if err != nil {
		// fs.Sub fails only on an invalid path, and the callers' are constants.
		panic(err)
	}
	return Page{Path: path, Files: files}
}

// Handler serves the page at p.Path and p.Path + "/", and its assets beneath p.Path + "/",
// every response with the content security policy. Files whose names carry a content hash
// (the build's assets/ folder) are cached for a year; index.html is revalidated each time.
func Handler(p Page) http.Handler {
	files := http.FileServerFS(p.Files)
	// The index is read once: the files are embedded and never change.
	index, indexErr := fs.ReadFile(p.Files, "index.html")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, p.Path), "/")
		if name == "" || name == "index.html" {
			serveIndex(w, index, indexErr)
			return
		}
		// Only files: a folder would get http.FileServer's listing.
		if info, err := fs.Stat(p.Files, name); !fs.ValidPath(name) || err != nil || info.IsDir() {
			http.NotFound(w, r)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		files.ServeHTTP(w, r2)
	})
}

// serveIndex sends index.html itself: http.FileServer would redirect a request for
// index.html to the folder.
func serveIndex(w http.ResponseWriter, index []byte, err error) {
	if err != nil {
		http.Error(w, "this page was not built: run make assets", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(index)
}
