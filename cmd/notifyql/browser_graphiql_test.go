package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// authorizationHeaders is what a person types into GraphiQL's header editor to sign in.
func authorizationHeaders(token string) string {
	return fmt.Sprintf(`{"Authorization": "Bearer %s"}`, token)
}

// emailTotalsSubscription is serviceA's dashboard email totals for today, as a subscription.
// It is one line: the editor indents and closes brackets after a typed line break.
var emailTotalsSubscription = fmt.Sprintf(`subscription EmailTotals { dashboardTotals(serviceId: "%s", days: 0) { email { requested failed } } }`, serviceA)

// graphiqlResult is what GraphiQL's result pane shows for a query or a snapshot.
type graphiqlResult struct {
	Data struct {
		Services []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"services"`
		DashboardTotals emailTotals `json:"dashboardTotals"`
	} `json:"data"`
	Errors []gqlError `json:"errors"`
}

func parseGraphiQLResult(t *testing.T, text string) graphiqlResult {
	t.Helper()
	var result graphiqlResult
	if err := json.Unmarshal([]byte(text), &result); err != nil {
		t.Fatalf("the result pane does not show JSON (%v):\n%s", err, text)
	}
	if len(result.Errors) > 0 {
		t.Fatalf("the result pane shows errors:\n%s", text)
	}
	return result
}

// unwrapped is the result pane's text with the editor's line wrapping undone, for checking
// messages that may wrap.
func unwrapped(text string) string { return strings.Join(strings.Fields(text), " ") }

func expectScreenshot(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(browserArtifacts(t), name+".png")); err != nil {
		t.Errorf("no screenshot: %v", err)
	}
}

// GraphiQL loads from the binary with the network closed, follows GET /, and runs a query
// signed in with the header typed into its header editor; the token is not stored.
// The server enforces trusted documents that do not list GraphiQL's operations: in
// development GraphiQL still works (server/trusteddocuments.go).
func TestGraphiQLRunsAQueryOffline(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, development: true, trusted: enforcedDashboardDocuments(t)})
	requireEnforced(t, api.httpURL)
	token := tokenFor(t, userViewer)
	browser := startBrowser(t, "graphiql-query.mjs", api.httpURL, "graphiql-query",
		authorizationHeaders(token), "query ServiceNames { services { id name } }")
	if opened := browser.expect("opened", 30*time.Second); opened.Text != "/graphiql" {
		t.Errorf("GET / ended on %q, want /graphiql", opened.Text)
	}
	result := parseGraphiQLResult(t, browser.expect("result", 20*time.Second).Text)
	services := result.Data.Services
	if len(services) != 1 || services[0].ID != serviceA || services[0].Name != "Service A" {
		t.Errorf("services %+v, want the viewer's one service, Service A", services)
	}
	stored := browser.expect("stored", 10*time.Second).Text
	if strings.Contains(stored, token) {
		t.Errorf("the page stored the Authorization header:\n%s", stored)
	}
	if !strings.Contains(stored, "ServiceNames") {
		t.Errorf("the page stored no history; the check for the token would prove nothing:\n%s", stored)
	}
	browser.finish(20 * time.Second)
	expectScreenshot(t, "graphiql-query")
}

// A subscription run in GraphiQL signs in with the header editor's Authorization (sent in
// connection_init) and shows the dashboard's totals change after a write to the database,
// in development under enforced trusted documents that do not list it.
func TestGraphiQLSubscriptionShowsAWrite(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, development: true, trusted: enforcedDashboardDocuments(t)})
	requireEnforced(t, api.httpURL)
	browser := startBrowser(t, "graphiql-subscription.mjs", api.httpURL,
		authorizationHeaders(tokenFor(t, userViewer)), emailTotalsSubscription)
	before := parseGraphiQLResult(t, browser.expect("snapshot", 30*time.Second).Text).Data.DashboardTotals.Email
	api.exec(`INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
		VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', 'permanent-failure', $2)`,
		serviceA, time.Now().UTC())
	browser.reply()
	after := parseGraphiQLResult(t, browser.expect("updated", 15*time.Second).Text).Data.DashboardTotals.Email
	if after.Requested != before.Requested+1 || after.Failed != before.Failed+1 {
		t.Errorf("after one failed email: %+v, want one more requested and failed than %+v", after, before)
	}
	browser.finish(20 * time.Second)
	expectScreenshot(t, "graphiql-subscription-before")
	expectScreenshot(t, "graphiql-subscription-after")
}

// Without a token, or with a bad one, GraphiQL shows why: a query answers UNAUTHENTICATED,
// and a subscription, whose socket the API closes with 4403, ends with that reason at once
// instead of retrying. The API runs as in production, with introspection off, which
// GraphiQL also survives (the script checks that each 400 it gets is that refusal).
func TestGraphiQLShowsRefusedCredentials(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true})
	badToken := authorizationHeaders("not-a-token")
	runs := []struct {
		name, headers, operation string
		want                     []string
	}{
		{"query, no header", "", "query ServiceNames { services { id name } }",
			[]string{`"code": "UNAUTHENTICATED"`, "authentication required: send Authorization: Bearer <token>"}},
		{"query, bad token", badToken, "query ServiceNames { services { id name } }",
			[]string{`"code": "UNAUTHENTICATED"`, "invalid token"}},
		{"subscription, no header", "", emailTotalsSubscription,
			[]string{"The subscription's socket closed: 4403 Forbidden: missing bearer token: send Authorization: Bearer <token>"}},
		{"subscription, bad token", badToken, emailTotalsSubscription,
			[]string{"The subscription's socket closed: 4403 Forbidden: invalid token. Sign in with an Authorization header, Bearer <token>, in Headers and run it again."}},
	}
	args := []string{"graphiql-refused"}
	for _, r := range runs {
		args = append(args, r.headers, r.operation)
	}
	browser := startBrowser(t, "graphiql-query.mjs", api.httpURL, args...)
	browser.expect("opened", 30*time.Second)
	for _, r := range runs {
		shown := unwrapped(browser.expect("result", 15*time.Second).Text)
		for _, want := range r.want {
			if !strings.Contains(shown, want) {
				t.Errorf("%s: the result pane shows %s\nwant it to say %s", r.name, shown, want)
			}
		}
		if strings.Contains(shown, `"data": {`) {
			t.Errorf("%s: the result pane shows data: %s", r.name, shown)
		}
	}
	browser.expect("stored", 10*time.Second)
	browser.finish(20 * time.Second)
	expectScreenshot(t, "graphiql-refused-4")
}

// loadedFile is one of GraphiQL's files as the browser received it.
type loadedFile struct {
	Path            string `json:"path"`
	Status          int    `json:"status"`
	AcceptEncoding  string `json:"acceptEncoding"`
	ContentEncoding string `json:"contentEncoding"`
	ETag            string `json:"etag"`
	CacheControl    string `json:"cacheControl"`
}

// GraphiQL reaches the browser compressed, as brotli, the best coding Chromium offers, with an
// ETag on each file and a year's cache on the hashed ones, and still runs a query.
func TestGraphiQLArrivesCompressed(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, development: true})
	browser := startBrowser(t, "graphiql-compressed.mjs", api.httpURL,
		authorizationHeaders(tokenFor(t, userViewer)), "query ServiceNames { services { id name } }")
	var loaded []loadedFile
	if err := json.Unmarshal([]byte(browser.expect("loaded", 60*time.Second).Text), &loaded); err != nil {
		t.Fatal(err)
	}
	result := parseGraphiQLResult(t, browser.expect("result", 20*time.Second).Text)
	if services := result.Data.Services; len(services) != 1 || services[0].ID != serviceA {
		t.Errorf("services %+v, want the viewer's one service", services)
	}
	browser.finish(20 * time.Second)

	kinds := map[string]int{}
	for _, f := range loaded {
		if f.Status != http.StatusOK {
			t.Errorf("%s: %d", f.Path, f.Status)
			continue
		}
		kinds[path.Ext(f.Path)]++
		// Chromium offers br on the loopback (the page's own request shows it; the route
		// that closes the network hides what the subresource requests send) and gets it.
		if f.Path == "/graphiql" && !strings.Contains(f.AcceptEncoding, "br") {
			t.Errorf("Chromium sent Accept-Encoding %q for the page, without br", f.AcceptEncoding)
		}
		if f.ContentEncoding != "br" {
			t.Errorf("%s: Content-Encoding %q, want br", f.Path, f.ContentEncoding)
		}
		if !strings.HasPrefix(f.ETag, `"`) {
			t.Errorf("%s: ETag %q, want a strong tag", f.Path, f.ETag)
		}
		wantCache := "no-cache"
		if strings.HasPrefix(f.Path, "/graphiql/assets/") {
			wantCache = "public, max-age=31536000, immutable"
		}
		if f.CacheControl != wantCache {
			t.Errorf("%s: Cache-Control %q, want %q", f.Path, f.CacheControl, wantCache)
		}
	}
	// The page, its scripts and its style sheets at least: an empty record would prove nothing.
	if kinds[""] != 1 || kinds[".js"] < 2 || kinds[".css"] < 1 {
		t.Errorf("recorded %v (by extension) of %d responses, want the page, its scripts and style sheets", kinds, len(loaded))
	}
	t.Logf("%d files: %+v", len(loaded), loaded)
}
