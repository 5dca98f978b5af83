package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"notifyql/web"
)

// chromiumOrSkip finds Debian's Chromium, skipping the test when it is missing on a
// developer's machine; in CI (CI=true) a missing browser fails, so the browser tests cannot
// silently stop running. NOTIFYQL_CHROMIUM names another executable.
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	name := os.Getenv("NOTIFYQL_CHROMIUM")
	if name == "" {
		name = "chromium"
	}
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH and CI=true: the browser tests must run in CI (%v)", name, err)
	}
	t.Skipf("%s is not on PATH (%v); `apt-get install chromium` to run the browser tests", name, err)
	return ""
}

// browserArtifacts is the folder screenshots are saved in: NOTIFYQL_TEST_ARTIFACTS, or
// artifacts/browser at the repository's root (ignored by git).
func browserArtifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NOTIFYQL_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "browser")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserEvent is one line a browser script (clients/node/browser/*.mjs) reports.
type browserEvent struct {
	Event string `json:"event"`
	// Error is why the script failed ("failed").
	Error string `json:"error"`
	// Blocked are the requests the page made off its own origin, which were refused
	// ("done", "failed").
	Blocked []string `json:"blocked"`
	// Errors are the page's console errors and uncaught exceptions ("done", "failed").
	Errors []string `json:"errors"`
	// File is where a screenshot went ("screenshot").
	File string `json:"file"`
	// Text is what the script read off the page, for the test to check.
	Text string `json:"text"`
}

// browserScript is a browser script that a test drives.
type browserScript struct {
	t    *testing.T
	node *nodeProcess
}

// startBrowser runs clients/node/browser/<script> against the server at origin (with
// args after it), in headless Chromium with the network closed but for origin.
//
// Each browser test calls t.Parallel() first, before it starts anything: a browser test spends
// most of its time waiting on the page (a token to expire, a socket to come back), so two
// overlap well on two cores. Each has its own database, in-process server, browser and
// screenshot names; and go test releases parallel tests only after the package's serial
// ones have ended, so none of them runs beside a test that counts the process's goroutines.
func startBrowser(t *testing.T, script, origin string, args ...string) *browserScript {
	t.Helper()
	chromium := chromiumOrSkip(t)
	env := []string{"NOTIFYQL_CHROMIUM=" + chromium, "NOTIFYQL_ARTIFACTS=" + browserArtifacts(t)}
	return &browserScript{t: t, node: startNode(t, 90*time.Second, env, filepath.Join("browser", script), append([]string{origin}, args...)...)}
}

// next is the script's next event other than a screenshot; a failure fails the test with
// the script's reason.
func (b *browserScript) next(within time.Duration) browserEvent {
	b.t.Helper()
	for {
		line := b.node.nextLine(within)
		var event browserEvent
		if err := json.Unmarshal([]byte(line), &event); err != nil {
			b.t.Fatalf("the browser script printed %q: %v", line, err)
		}
		switch event.Event {
		case "screenshot":
			b.t.Logf("screenshot: %s", event.File)
			continue
		case "failed":
			b.t.Fatalf("the browser script failed: %s\nrequests refused: %q\npage errors: %q", event.Error, event.Blocked, event.Errors)
		}
		return event
	}
}

// expect reads the next event and fails unless it is want.
func (b *browserScript) expect(want string, within time.Duration) browserEvent {
	b.t.Helper()
	event := b.next(within)
	if event.Event != want {
		b.t.Fatalf("the browser script reported %q, want %q", event.Event, want)
	}
	return event
}

// reply tells a script waiting in waitForGo to go on.
func (b *browserScript) reply() { b.node.send("go") }

// finish waits for the script's "done" and fails when the page asked for anything off its
// origin or logged an error.
func (b *browserScript) finish(within time.Duration) {
	b.t.Helper()
	done := b.expect("done", within)
	if len(done.Blocked) > 0 {
		b.t.Errorf("the page asked for %d resources off its origin: %q", len(done.Blocked), done.Blocked)
	}
	if len(done.Errors) > 0 {
		b.t.Errorf("the page logged errors: %q", done.Errors)
	}
	b.node.wait()
}

// askOrigin sends the GraphQL request params (a query or a documentId, with variables)
// to the API at origin as token's user, and decodes its data into data, failing the test
// on a transport error or any GraphQL error: a browser test's check of what the page
// shows against what the API answers.
func askOrigin(t *testing.T, origin, token string, params map[string]any, data any) {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, origin+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Data   json.RawMessage
		Errors []json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || len(answer.Errors) > 0 {
		t.Fatalf("ask %s: %v %s", origin, err, answer.Errors)
	}
	if err := json.Unmarshal(answer.Data, data); err != nil {
		t.Fatalf("ask %s: %v", origin, err)
	}
}

// dashboardDocument is the dashboard's trusted document whose text holds marker (say
// "query DailyTotals("): its id and its text, which a server enforcing the page's manifest
// runs sent either way.
func dashboardDocument(t *testing.T, marker string) (id, text string) {
	t.Helper()
	var manifest map[string]string
	if err := json.Unmarshal(web.DashboardDocuments(), &manifest); err != nil {
		t.Fatal(err)
	}
	for id, text := range manifest {
		if strings.Contains(text, marker) {
			return id, text
		}
	}
	t.Fatalf("the page's manifest has no document with %q", marker)
	return "", ""
}

// checkNoSidewaysScrolling fails unless the page was measured at 320, 768 and 1280 px wide
// (widths, as browser/dashboard.mjs's checkWidths reports them) and at none was it wider
// than the window.
func checkNoSidewaysScrolling(t *testing.T, widths map[string]int) {
	t.Helper()
	for _, width := range []int{320, 768, 1280} {
		if got, ok := widths[strconv.Itoa(width)]; !ok || got > width {
			t.Errorf("at %d px the page is %d px wide, want no sideways scrolling", width, got)
		}
	}
}
