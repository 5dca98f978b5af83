package web

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The embedded dashboard is served at /dashboard with the policy, and everything its
// index.html loads is in the embedded files, beneath /dashboard/, and served from there.
func TestDashboardIsEmbeddedWhole(t *testing.T) {
	page := Dashboard()
	h := Pages()[page.Path]
	if h == nil {
		t.Fatalf("Pages() has no %s", page.Path)
	}
	index := get(t, h, "/dashboard")
	if index.Code != http.StatusOK || index.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
		t.Fatalf("GET /dashboard: %d, policy %q", index.Code, index.Header().Get("Content-Security-Policy"))
	}
	html := index.Body.String()

	refs := regexp.MustCompile(`<(script|link)\b[^>]*\b(?:src|href)="([^"]*)"`).FindAllStringSubmatch(html, -1)
	kinds := map[string]int{}
	for _, ref := range refs {
		tag, url := ref[1], ref[2]
		if tag == "link" && strings.HasPrefix(url, "data:") {
			continue // the empty icon, so the browser asks for no favicon.ico
		}
		name, ok := strings.CutPrefix(url, "/dashboard/")
		if !ok {
			t.Errorf("index.html loads %q from outside /dashboard/", url)
			continue
		}
		if _, err := fs.Stat(page.Files, name); err != nil {
			t.Errorf("index.html loads %s, which is not embedded: %v", url, err)
			continue
		}
		asset := get(t, h, url)
		if asset.Code != http.StatusOK || asset.Body.Len() == 0 {
			t.Errorf("GET %s: %d, %d bytes", url, asset.Code, asset.Body.Len())
		}
		kinds[asset.Header().Get("Content-Type")]++
	}
	if kinds["text/javascript; charset=utf-8"] != 1 || kinds["text/css; charset=utf-8"] != 1 {
		t.Errorf("index.html loads %v, want one script and one style sheet", kinds)
	}

	// The policy runs no inline script: every script element must name its file.
	for _, script := range regexp.MustCompile(`(?s)<script\b([^>]*)>(.*?)</script>`).FindAllStringSubmatch(html, -1) {
		if !strings.Contains(script[1], "src=") || strings.TrimSpace(script[2]) != "" {
			t.Errorf("index.html has an inline script: %q", script[0])
		}
	}
	if strings.Contains(html, "<style") || regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
		t.Errorf("index.html has inline styles or event handlers")
	}
}

// The dashboard routes in the browser: a reload of one of its views' URLs gets the page.
func TestDashboardServesItsViewsURLs(t *testing.T) {
	h := Pages()[Dashboard().Path]
	index := get(t, h, "/dashboard")
	const service = "/dashboard/services/7e000000-0000-0000-0000-000000000001"
	for _, path := range []string{
		service + "/notifications/7e000000-0000-0000-0000-000000000002",
		service + "/templates/2026",
		service + "/usage",
		service + "/inbox",
		service + "/inbox/7e000000-0000-0000-0000-000000000003",
	} {
		view := get(t, h, path)
		if view.Code != http.StatusOK || view.Body.String() != index.Body.String() {
			t.Errorf("GET %s: %d, want the page itself", path, view.Code)
		}
	}
	if missing := get(t, h, "/dashboard/assets/main-00000000.js"); missing.Code != http.StatusNotFound {
		t.Errorf("GET a missing asset: %d, want 404", missing.Code)
	}
}

// dashboardScriptBudget is the most JavaScript the dashboard may send, gzipped: it is the
// page integrators copy, and it must load quickly on a slow connection (GraphiQL is apart).
const dashboardScriptBudget = 120_000

// The dashboard's scripts, every one its build wrote, stay within the budget gzipped.
func TestDashboardScriptsStayWithinTheirBudget(t *testing.T) {
	files := Dashboard().Files
	scripts, err := fs.Glob(files, "assets/*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("the dashboard's build has no scripts (%v): run make assets", err)
	}
	total := 0
	for _, name := range scripts {
		content, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		var zipped bytes.Buffer
		w, _ := gzip.NewWriterLevel(&zipped, gzip.BestCompression)
		if _, err := w.Write(content); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d gzipped", name, len(content), zipped.Len())
		total += zipped.Len()
	}
	if total > dashboardScriptBudget {
		t.Errorf("the dashboard sends %d bytes of JavaScript gzipped, over its budget of %d", total, dashboardScriptBudget)
	}
}
