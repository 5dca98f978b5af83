package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var testPage = Page{Path: "/graphiql", Files: fstest.MapFS{
	"index.html":           {Data: []byte(`<!doctype html><script src="/graphiql/assets/app-1a2b.js"></script>`)},
	"assets/app-1a2b.js":   {Data: []byte(`console.log("app")`)},
	"assets/app-1a2b.css":  {Data: []byte(`body{}`)},
	"favicon.svg":          {Data: []byte(`<svg/>`)},
	"assets/fonts/x.woff2": {Data: []byte(`font`)},
	// Encodings as compress.mjs writes them, served only in answer to Accept-Encoding.
	"assets/app-1a2b.js.br": {Data: []byte(`br`)},
	"assets/app-1a2b.js.gz": {Data: []byte(`gz`)},
	"index.html.gz":         {Data: []byte(`gz`)},
}}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestPageServesIndexAndAssetsWithThePolicy(t *testing.T) {
	h := Handler(testPage)
	cases := []struct {
		target, body, contentType, cache string
	}{
		{"/graphiql", "<!doctype html>", "text/html; charset=utf-8", "no-cache"},
		{"/graphiql/", "<!doctype html>", "text/html; charset=utf-8", "no-cache"},
		{"/graphiql/index.html", "<!doctype html>", "text/html; charset=utf-8", "no-cache"},
		{"/graphiql/assets/app-1a2b.js", `console.log("app")`, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/graphiql/assets/app-1a2b.css", `body{}`, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/graphiql/favicon.svg", `<svg/>`, "image/svg+xml", "no-cache"},
	}
	for _, c := range cases {
		rec := get(t, h, c.target)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), c.body) {
			t.Errorf("GET %s: %d %q, want 200 %q", c.target, rec.Code, rec.Body.String(), c.body)
		}
		if got := rec.Header().Get("Content-Type"); got != c.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", c.target, got, c.contentType)
		}
		if got := rec.Header().Get("Cache-Control"); got != c.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", c.target, got, c.cache)
		}
		if got := rec.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("GET %s: Content-Security-Policy %q", c.target, got)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", c.target, got)
		}
	}
}

// Folders, missing files and paths that try to leave the page's files are not found, and
// still carry the policy.
func TestPageRefusesWhatIsNotAFile(t *testing.T) {
	h := Handler(testPage)
	for _, target := range []string{
		"/graphiql/assets", "/graphiql/assets/", "/graphiql/assets/fonts/",
		"/graphiql/missing.js", "/graphiql/../web.go", "/graphiql/assets/../../web.go",
		"/graphiql//etc/passwd", "/graphiql/%2e%2e/web.go",
		// An encoding is served only in answer to Accept-Encoding, never by its own name.
		"/graphiql/assets/app-1a2b.js.br", "/graphiql/assets/app-1a2b.js.gz", "/graphiql/index.html.gz",
	} {
		rec := get(t, h, target)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", target, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
			t.Errorf("GET %s: no Content-Security-Policy", target)
		}
	}
}

func TestPageNotBuilt(t *testing.T) {
	rec := get(t, Handler(Page{Path: "/dashboard", Files: fstest.MapFS{}}), "/dashboard")
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "make assets") {
		t.Errorf("unbuilt page: %d %q, want 404 naming make assets", rec.Code, rec.Body.String())
	}
}

// The policy names no origin but the page's own: every source list is 'none', 'self' or
// an inline scheme (data:, blob:), never a host.
func TestPolicyAllowsNothingFromElsewhere(t *testing.T) {
	for _, directive := range strings.Split(ContentSecurityPolicy, ";") {
		fields := strings.Fields(directive)
		if len(fields) < 2 {
			t.Fatalf("directive %q has no sources", directive)
		}
		for _, source := range fields[1:] {
			switch source {
			case "'none'", "'self'", "'unsafe-inline'", "data:", "blob:":
			default:
				t.Errorf("directive %q allows %q", fields[0], source)
			}
		}
		if fields[0] == "script-src" && strings.Contains(directive, "unsafe") {
			t.Errorf("scripts may run inline or from eval: %q", directive)
		}
	}
}
