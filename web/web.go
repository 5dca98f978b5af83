// Package web serves the browser pages that ship inside the binary, GraphiQL and the live
// dashboard: each is built from npm packages by `make assets` into its dist folder, committed,
// and embedded, so that `go build` needs no Node and the pages load nothing from elsewhere.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
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
	// ClientRoutes says the page routes in the browser, with real URLs beneath Path
	// (/dashboard/services/<id>, say): a path there that names no file and looks like no
	// file (no extension, not under assets/) is one of the page's own views, so it gets
	// index.html, and a reload or a shared link opens that view. A missing asset is still
	// 404, never a page in its place.
	ClientRoutes bool
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

// Handler serves the page at p.Path and p.Path + "/", and its files beneath p.Path + "/",
// every response with the content security policy. What to send is worked out once, here:
// each file's type, cache policy, and for each of its representations (the file itself and
// the brotli and gzip encodings the build wrote beside it, see compress.mjs) the size and a
// strong ETag from a hash of the bytes sent. A request then gets the representation its
// Accept-Encoding weighs most (see acceptedCodings), with Vary: Accept-Encoding, and 304
// when its If-None-Match names that representation's ETag. Files whose names carry a
// content hash (the build's assets/ folder) are cached for a year as immutable; the rest,
// index.html first, are revalidated on each use (no-cache), which their ETag makes cheap.
func Handler(p Page) http.Handler {
	files, err := catalog(p.Files)
	if err != nil {
		// The files are embedded in the binary: one that cannot be read is a broken build.
		panic(fmt.Sprintf("web: read the files of %s: %v", p.Path, err))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, p.Path), "/")
		if name == "" {
			name = indexFile
		}
		f, ok := files[name]
		if !ok && p.ClientRoutes && isClientRoute(name) {
			f, ok = files[indexFile]
			name = indexFile
		}
		if !ok {
			if name == indexFile {
				http.Error(w, "this page was not built: run make assets", http.StatusNotFound)
				return
			}
			http.NotFound(w, r)
			return
		}
		f.serve(w, r, p.Files)
	})
}

// indexFile is the page's entry point, served at the page's own path.
const indexFile = "index.html"

// isClientRoute reports whether name, a path beneath a page that routes in the browser,
// can be one of its views rather than a file: not under assets/, and its last segment
// without an extension.
func isClientRoute(name string) bool {
	return !strings.HasPrefix(name, "assets/") && path.Ext(name) == ""
}

// immutableCache is the policy of a file whose name carries a hash of its content: a new
// build writes a new name, so a browser never needs to ask again.
const immutableCache = "public, max-age=31536000, immutable"

// revalidateCache is the policy of the entry points, whose names stay across builds: keep
// them, but ask (with If-None-Match) before each use.
const revalidateCache = "no-cache"

// file is one file of a page as it is served.
type file struct {
	contentType  string
	cacheControl string
	// representations are the file's bytes by content coding: identity always, and br and
	// gzip where the build wrote them.
	representations map[string]representation
}

// representation is one coding of a file: the file in the page's folder that holds it.
type representation struct {
	name string
	size int64
	etag string
}

// catalog reads every file of a page's folder once: its type, cache policy and
// representations. A file name.br or name.gz beside a file name is that file's encoding,
// not a file of its own, and is not served by its own name.
func catalog(folder fs.FS) (map[string]*file, error) {
	var names []string
	err := fs.WalkDir(folder, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			names = append(names, name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	for _, name := range names {
		exists[name] = true
	}
	files := map[string]*file{}
	for _, name := range names {
		if isEncodingOf(name, exists) {
			continue
		}
		f := &file{contentType: mime.TypeByExtension(path.Ext(name)), cacheControl: revalidateCache,
			representations: map[string]representation{}}
		if strings.HasPrefix(name, "assets/") {
			f.cacheControl = immutableCache
		}
		for coding, stored := range map[string]string{codingIdentity: name, codingBrotli: name + codingSuffix[codingBrotli], codingGzip: name + codingSuffix[codingGzip]} {
			if !exists[stored] {
				continue
			}
			rep, head, err := describe(folder, stored)
			if err != nil {
				return nil, err
			}
			f.representations[coding] = rep
			if coding == codingIdentity && f.contentType == "" {
				f.contentType = http.DetectContentType(head)
			}
		}
		files[name] = f
	}
	return files, nil
}

// isEncodingOf reports whether name is the brotli or gzip encoding of another file.
func isEncodingOf(name string, exists map[string]bool) bool {
	for _, suffix := range codingSuffix {
		if base, ok := strings.CutSuffix(name, suffix); ok && exists[base] {
			return true
		}
	}
	return false
}

// describe hashes a stored file into its representation, and returns its first bytes for
// sniffing a type that its extension does not tell.
func describe(folder fs.FS, name string) (representation, []byte, error) {
	f, err := folder.Open(name)
	if err != nil {
		return representation{}, nil, err
	}
	defer f.Close()
	hash := sha256.New()
	head := &prefixWriter{limit: 512}
	size, err := io.Copy(io.MultiWriter(hash, head), f)
	if err != nil {
		return representation{}, nil, fmt.Errorf("read %s: %w", name, err)
	}
	// 144 bits of the hash, base64url: as unique as the whole for any build, in 24 characters.
	etag := `"` + base64.RawURLEncoding.EncodeToString(hash.Sum(nil)[:18]) + `"`
	return representation{name: name, size: size, etag: etag}, head.bytes, nil
}

// prefixWriter keeps the first limit bytes written to it.
type prefixWriter struct {
	limit int
	bytes []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if room := p.limit - len(p.bytes); room > 0 {
		p.bytes = append(p.bytes, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// serve sends the representation the request accepts best, or 304 when the request
// already holds it, or 406 when it accepts none.
func (f *file) serve(w http.ResponseWriter, r *http.Request, folder fs.FS) {
	h := w.Header()
	h.Set("Vary", "Accept-Encoding")
	values := r.Header.Values("Accept-Encoding")
	coding, ok := chooseCoding(acceptedCodings(strings.Join(values, ","), len(values) > 0), func(coding string) bool {
		_, has := f.representations[coding]
		return has
	})
	if !ok {
		http.Error(w, "Accept-Encoding refuses every coding this file is served in (br, gzip, identity)", http.StatusNotAcceptable)
		return
	}
	rep := f.representations[coding]
	h.Set("Cache-Control", f.cacheControl)
	h.Set("ETag", rep.etag)
	if noneMatch, asked := r.Header["If-None-Match"]; asked && etagListMatches(strings.Join(noneMatch, ","), rep.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if coding != codingIdentity {
		h.Set("Content-Encoding", coding)
	}
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Length", strconv.FormatInt(rep.size, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	content, err := folder.Open(rep.name)
	if err != nil {
		// Embedded files do not go away; a page on another file system might.
		h.Del("Content-Length")
		h.Del("Content-Encoding")
		http.Error(w, "this file cannot be read", http.StatusInternalServerError)
		return
	}
	defer content.Close()
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, content)
}

// etagListMatches reports whether an If-None-Match value names etag: "*" names any, and
// otherwise each entity tag in the list is compared weakly, as RFC 9110 §13.1.2 asks of
// If-None-Match (W/"x" matches "x"). Reading stops at the first element that is not an
// entity tag, so that garbage matches nothing and costs a full answer, never a wrong 304.
func etagListMatches(list, etag string) bool {
	if strings.Trim(list, " \t") == "*" {
		return true
	}
	rest := list
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return false
		}
		rest = strings.TrimPrefix(rest, "W/")
		if !strings.HasPrefix(rest, `"`) {
			return false
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return false
		}
		tag := rest[:end+2]
		if tag == etag {
			return true
		}
		rest = rest[end+2:]
		if trimmed := strings.TrimLeft(rest, " \t"); trimmed != "" && trimmed[0] != ',' {
			return false
		}
	}
}
