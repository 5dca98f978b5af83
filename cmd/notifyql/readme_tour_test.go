package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The README's first screen is a tour: sign in, a query, a filtered list, a notification, a
// subscription, a CSV link. TestReadmeTour follows it as a reader does, with the commands
// taken from the README itself: its ```sh tour blocks, run one after another in one shell at
// the repository's root; its ```sh tour-watch block, the subscription client, run beside
// them; and its ```js block, which must be that client's file. The reader's own part is
// copying an id from one answer into the next command, which the test does the same way.

// tourBlock is one fenced block of the README: its info string and its text, unindented.
type tourBlock struct {
	info, text string
}

// fence opens or closes a fenced code block, indented as a list item's may be.
var fence = regexp.MustCompile("^( *)```(.*)$")

// readmeBlocks returns the README's fenced blocks in order.
func readmeBlocks(readme string) ([]tourBlock, error) {
	var blocks []tourBlock
	var open *tourBlock
	indent := ""
	for n, line := range strings.Split(readme, "\n") {
		m := fence.FindStringSubmatch(line)
		switch {
		case open == nil && m != nil:
			open, indent = &tourBlock{info: strings.TrimSpace(m[2])}, m[1]
		case open != nil && m != nil && m[2] == "":
			blocks = append(blocks, *open)
			open = nil
		case open != nil:
			if line != "" && !strings.HasPrefix(line, indent) {
				return nil, fmt.Errorf("line %d is less indented than its block's fence", n+1)
			}
			open.text += strings.TrimPrefix(line, indent) + "\n"
		}
	}
	if open != nil {
		return nil, fmt.Errorf("a block (%s) is never closed", open.info)
	}
	return blocks, nil
}

func TestReadmeBlocksAreRead(t *testing.T) {
	readme := "# x\n\n```sh tour\nexport A=1\n```\n\n1. step\n\n   ```js\n   const a = 1;\n\n     b();\n   ```\n\n```sh\nmake run\n```\n"
	blocks, err := readmeBlocks(readme)
	if err != nil {
		t.Fatal(err)
	}
	want := []tourBlock{{"sh tour", "export A=1\n"}, {"js", "const a = 1;\n\n  b();\n"}, {"sh", "make run\n"}}
	if fmt.Sprint(blocks) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", blocks, want)
	}
	for _, bad := range []string{"```sh\nnever closed\n", "  ```sh\n  a\nb\n  ```\n"} {
		if _, err := readmeBlocks(bad); err == nil {
			t.Errorf("%q was read without an error", bad)
		}
	}
}

// tourShell is one bash session, as a reader's terminal: what one command exports the
// next one sees.
type tourShell struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan string
}

const tourEndMarker = "__tour_block_ended__"

func startTourShell(t *testing.T, dir string, env []string) *tourShell {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc")
	cmd.Dir, cmd.Env = dir, env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &tourShell{t: t, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		scanner := bufio.NewScanner(out)
		scanner.Buffer(nil, 1<<20)
		for scanner.Scan() {
			s.lines <- scanner.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return s
}

// run runs block in the shell and returns what it printed and its exit status.
func (s *tourShell) run(block string) (output string, status int) {
	s.t.Helper()
	if _, err := fmt.Fprintf(s.stdin, "%s\nprintf '\\n%s %%d\\n' $?\n", block, tourEndMarker); err != nil {
		s.t.Fatalf("the shell ended: %v", err)
	}
	var printed []string
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				s.t.Fatalf("the shell ended while running:\n%s\nafter printing:\n%s", block, strings.Join(printed, "\n"))
			}
			if rest, found := strings.CutPrefix(line, tourEndMarker+" "); found {
				status, _ := strconv.Atoi(rest)
				return strings.TrimSuffix(strings.Join(printed, "\n"), "\n"), status
			}
			printed = append(printed, line)
		case <-timeout:
			s.t.Fatalf("no end of this block within 3 minutes:\n%s\nit printed:\n%s", block, strings.Join(printed, "\n"))
		}
	}
}

// tourAnswer is a GraphQL answer a tour command printed.
type tourAnswer struct {
	Data   json.RawMessage
	Errors []json.RawMessage
}

func TestReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL")
	}
	node := nodeOrSkip(t)
	clientDir := nodeClientDir(t)
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("curl is not on PATH and CI=true: %v", err)
		}
		t.Skipf("curl is not on PATH (%v): the README's tour uses it", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(readme))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	var steps []string
	var watchCommand, watchSource string
	for _, b := range blocks {
		switch b.info {
		case "sh tour":
			steps = append(steps, b.text)
		case "sh tour-watch":
			watchCommand = strings.TrimSpace(b.text)
		case "js":
			watchSource = b.text
		}
	}
	if len(steps) < 6 || watchCommand == "" {
		t.Fatalf("the README's tour has %d ```sh tour blocks and watch command %q; want the token and five steps, and the subscription", len(steps), watchCommand)
	}
	// The client the README shows is the one in the repository.
	if file, err := os.ReadFile(filepath.Join(clientDir, "watch.mjs")); err != nil || string(file) != watchSource {
		t.Fatalf("the README's ```js block is not clients/node/watch.mjs (%v):\n%s", err, watchSource)
	}

	// make run: serve with no DATABASE_URL or REDIS_URL, a private PostgreSQL with the demo
	// data. No simulated traffic: the test makes the change the subscription must show.
	dataDir := privateDataDir(t)
	vars := map[string]string{"NOTIFYQL_DATA_DIR": dataDir, "NOTIFYQL_ENV": "development"}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"notifyql", "serve", "--addr", "127.0.0.1:0"}, envOf(vars), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", stderr.String())
		}
	})
	url, _ := waitForServeURL(t, &stdout, &stderr, done)
	address := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/graphql")
	// The tour speaks to make run's address; this server listens on a free port instead.
	atServer := func(text string) string { return strings.ReplaceAll(text, "localhost:8080", address) }

	// The reader's terminal: their own environment, but none of notifyql's settings, which
	// would point the token command elsewhere.
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "DATABASE_URL" && name != "REDIS_URL" && !strings.HasPrefix(name, "NOTIFYQL_") {
			env = append(env, kv)
		}
	}
	env = append(env, "NOTIFYQL_DATA_DIR="+dataDir, "NOTIFYQL_ENV=development")
	shell := startTourShell(t, root, env)

	// The token.
	if out, status := shell.run(atServer(steps[0])); status != 0 {
		t.Fatalf("the token step exited %d:\n%s", status, out)
	}
	token, _ := shell.run(`printf '%s' "$TOKEN"`)
	if strings.Count(token, ".") != 2 {
		t.Fatalf("the token step left TOKEN=%q, not a JWT", token)
	}

	// Steps 1 to 3 and the CSV link's query: each answers data and no errors, and offers
	// the id the next step asks the reader to copy.
	var service, notification, csvURL string
	answer := func(step string) json.RawMessage {
		t.Helper()
		out, status := shell.run(atServer(step))
		var a tourAnswer
		if err := json.Unmarshal([]byte(out), &a); status != 0 || err != nil || len(a.Errors) > 0 || len(a.Data) == 0 || string(a.Data) == "null" {
			t.Fatalf("this step exited %d (%v) with an answer that is not data without errors:\n%s\nanswer:\n%s", status, err, step, out)
		}
		return a.Data
	}
	var services struct {
		Services []struct {
			ID     string
			Name   string
			Totals struct{ Email struct{ Requested int } }
		}
	}
	if err := json.Unmarshal(answer(steps[1]), &services); err != nil || len(services.Services) == 0 {
		t.Fatalf("step 1 lists no service (%v): %+v", err, services)
	}
	service = services.Services[0].ID
	shell.run("export SERVICE=" + service)

	var list struct {
		Service struct {
			Notifications struct {
				Edges []struct {
					Node struct{ ID, StatusLabel string }
				}
			}
		}
	}
	if err := json.Unmarshal(answer(steps[2]), &list); err != nil || len(list.Service.Notifications.Edges) == 0 {
		t.Fatalf("step 2 lists no failed email of %s (%v): %+v", services.Services[0].Name, err, list)
	}
	notification = list.Service.Notifications.Edges[0].Node.ID
	shell.run("export NOTIFICATION=" + notification)

	var detail struct {
		Notification struct {
			Type          string
			StatusHistory []struct{ Status string }
		}
	}
	if err := json.Unmarshal(answer(steps[3]), &detail); err != nil || detail.Notification.Type != "EMAIL" || len(detail.Notification.StatusHistory) == 0 {
		t.Fatalf("step 3 shows no email with a status timeline (%v): %+v", err, detail)
	}

	// Step 4, the subscription: the client prints today's totals, and again once the test
	// sends an email as any writer of the database could.
	watch := startTourWatch(t, node, clientDir, atServer(watchSource), watchCommand, append(env, "TOKEN="+token, "SERVICE="+service))
	first := watch.nextRequested(t)
	insertTourEmail(t, dataDir, service)
	if second := watch.nextRequested(t); second != first+1 {
		t.Errorf("after one more email today the subscription says %d emails requested today, want %d", second, first+1)
	}

	// Step 5, the CSV link.
	var downloads struct {
		Service struct {
			Downloads struct {
				Count  int
				CSVURL *string `json:"csvUrl"`
			}
		}
	}
	if err := json.Unmarshal(answer(steps[4]), &downloads); err != nil || downloads.Service.Downloads.CSVURL == nil {
		t.Fatalf("step 5 gives no CSV link (%v): %+v", err, downloads)
	}
	csvURL = *downloads.Service.Downloads.CSVURL
	shell.run("export CSV='" + csvURL + "'")
	csv, status := shell.run(atServer(steps[5]))
	if status != 0 || !strings.HasPrefix(csv, "Recipient,Reference,Template,Type,") || strings.Count(csv, "\n") != 2 {
		t.Errorf("the CSV link's first three lines (exit %d):\n%s", status, csv)
	}
}

// tourWatch is the README's subscription client, running.
type tourWatch struct {
	lines chan string
}

// startTourWatch runs the README's watch command with its client's source (the address
// substituted) in a folder of its own that sees the Node client's packages.
func startTourWatch(t *testing.T, node, clientDir, source, command string, env []string) *tourWatch {
	t.Helper()
	script, ok := strings.CutPrefix(command, "node ")
	if !ok || filepath.Base(script) != "watch.mjs" {
		t.Fatalf("the tour-watch command %q does not run the client with node", command)
	}
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(clientDir, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "watch.mjs"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "watch.mjs"))
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // it runs until stopped, like the reader's Ctrl-C
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("the subscription client's stderr:\n%s", stderr.String())
		}
	})
	w := &tourWatch{lines: make(chan string, 64)}
	go func() {
		scanner := bufio.NewScanner(out)
		for scanner.Scan() {
			w.lines <- scanner.Text()
		}
		close(w.lines)
	}()
	return w
}

// nextRequested waits for the client's next line and returns the emails requested today.
func (w *tourWatch) nextRequested(t *testing.T) int {
	t.Helper()
	select {
	case line, ok := <-w.lines:
		if !ok {
			t.Fatal("the subscription client ended")
		}
		var payload struct {
			Data struct {
				DashboardTotals struct{ Email struct{ Requested *int } }
			}
			Errors []json.RawMessage
		}
		if err := json.Unmarshal([]byte(line), &payload); err != nil || len(payload.Errors) > 0 || payload.Data.DashboardTotals.Email.Requested == nil {
			t.Fatalf("the subscription client printed %q (%v), not today's totals", line, err)
		}
		return *payload.Data.DashboardTotals.Email.Requested
	case <-time.After(time.Minute):
		t.Fatal("the subscription client printed nothing within a minute")
	}
	return 0
}

// insertTourEmail commits one email for the service, created now, straight into make run's
// private database.
func insertTourEmail(t *testing.T, dataDir, serviceID string) {
	t.Helper()
	ctx := context.Background()
	url, _, ok := runningPrivateDatabase(ctx, dataDir)
	if !ok {
		t.Fatal("serve's private PostgreSQL is not running")
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
		SELECT service_id, id, version, 'email', 'tour@example.org', 'tour@example.org', 'normal', 'created', now() AT TIME ZONE 'utc'
		FROM templates WHERE service_id = $1 AND template_type = 'email' AND NOT archived ORDER BY name LIMIT 1`, serviceID)
	if err != nil {
		t.Fatalf("send an email: %v", err)
	}
}
