package web

import (
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// indexReference is a script or stylesheet that index.html loads: <script src> or <link href>.
var indexReference = regexp.MustCompile(`<(script|link)\b[^>]*\b(?:src|href)="([^"]+)"`)

// assetReference is a built file that another built file names: a chunk or worker by a path
// relative to assets/ or absolute beneath /graphiql/, a font from a stylesheet's url().
var assetReference = regexp.MustCompile("[\"'`(](?:\\./|/graphiql/assets/|assets/)([A-Za-z0-9_.-]+\\.(?:js|css|ttf|woff2?))[\"'`)]")

// The embedded GraphiQL is served at /graphiql with the policy, and what its index.html
// loads is embedded beside it and served as immutable assets: a build that is missing or
// stale (index.html naming files that are not there) fails here rather than in a browser.
func TestGraphiQLIsEmbeddedWhole(t *testing.T) {
	page := GraphiQL()
	h := Handler(page)
	rec := get(t, h, "/graphiql")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<div id="graphiql">`) {
		t.Fatalf("GET /graphiql: %d %.200q, want GraphiQL's index.html (run make assets)", rec.Code, rec.Body.String())
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
		t.Errorf("GET /graphiql: Content-Security-Policy %q", got)
	}
	index := rec.Body.String()
	if strings.Contains(index, "http://") || strings.Contains(index, "https://") {
		t.Errorf("index.html names another origin:\n%s", index)
	}
	kinds := map[string]int{}
	for _, m := range indexReference.FindAllStringSubmatch(index, -1) {
		kind, target := m[1], m[2]
		if strings.HasPrefix(target, "data:") {
			continue // the empty favicon
		}
		kinds[kind]++
		if !strings.HasPrefix(target, "/graphiql/assets/") {
			t.Errorf("index.html loads %q, not a hashed file beneath /graphiql/assets/", target)
			continue
		}
		asset := get(t, h, target)
		if asset.Code != http.StatusOK || asset.Body.Len() == 0 {
			t.Errorf("index.html loads %s: %d", target, asset.Code)
		}
		if got := asset.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", target, got)
		}
	}
	if kinds["script"] == 0 || kinds["link"] == 0 {
		t.Errorf("index.html loads %d scripts and %d stylesheets, want both:\n%s", kinds["script"], kinds["link"], index)
	}
	// Every <script> is loaded from a file: the policy runs no inline script.
	if n := strings.Count(index, "<script"); n != kinds["script"] {
		t.Errorf("index.html has %d <script> elements, %d of them with src", n, kinds["script"])
	}
}

// The chunks, workers and fonts the built files load one another by are embedded too.
func TestGraphiQLAssetsNameOnlyEmbeddedFiles(t *testing.T) {
	files := GraphiQL().Files
	names, err := fs.Glob(files, "assets/*")
	if err != nil || len(names) == 0 {
		t.Fatalf("no assets embedded (%v): run make assets", err)
	}
	references := 0
	for _, name := range names {
		if !strings.HasSuffix(name, ".js") && !strings.HasSuffix(name, ".css") {
			continue
		}
		text, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range assetReference.FindAllSubmatch(text, -1) {
			references++
			if _, err := fs.Stat(files, "assets/"+string(m[1])); err != nil {
				t.Errorf("%s loads %s, which is not embedded", name, m[1])
			}
		}
	}
	// GraphiQL loads its editor and workers as separate files; finding none would mean the
	// pattern no longer matches how the bundler names them.
	if references < 3 {
		t.Errorf("found %d references between built files, want the workers and chunks at least", references)
	}
}

func TestGraphiQLIsTheHomePage(t *testing.T) {
	if GraphiQL().Path != Home {
		t.Errorf("GraphiQL is at %q, the home page is %q", GraphiQL().Path, Home)
	}
	if _, ok := Pages()[GraphiQL().Path]; !ok {
		t.Errorf("Pages() has no %s", GraphiQL().Path)
	}
}
