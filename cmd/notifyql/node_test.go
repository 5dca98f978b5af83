package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeTotals is the part of a dashboardTotals payload this test reads, as the Node client
// prints it: one JSON object per line.
type nodeTotals struct {
	Data struct {
		DashboardTotals struct {
			Email struct {
				Requested int `json:"requested"`
				Failed    int `json:"failed"`
			} `json:"email"`
		} `json:"dashboardTotals"`
	} `json:"data"`
}

// nodeOrSkip finds node, skipping the test when it is missing on a developer's machine; in
// CI (CI=true) a missing node fails, so the acceptance test cannot silently stop running.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		return node
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("node is not on PATH and CI=true: the Node graphql-ws client test must run in CI (%v)", err)
	}
	t.Skipf("node is not on PATH (%v); install Node 20 and run `make node-deps` to run the graphql-ws client test", err)
	return ""
}

// The real client: the npm graphql-ws client, over the ws package, subscribes to
// dashboardTotals; a plain SQL write through pgx commits and the update reaches it.
func TestNodeGraphQLWSClientSeesAPlainSQLWrite(t *testing.T) {
	node := nodeOrSkip(t)
	clientDir, err := filepath.Abs(filepath.Join("..", "..", "clients", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(clientDir, "node_modules", "graphql-ws")); err != nil {
		t.Fatalf("the Node client's dependencies are not installed; run `make node-deps` (%v)", err)
	}
	wsURL, execSQL := newLiveAPI(t)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	// Two payloads: the snapshot at once, then the one with the write.
	cmd := exec.CommandContext(ctx, node, filepath.Join(clientDir, "subscribe.mjs"),
		wsURL, tokenFor(t, userViewer), serviceA, "2", "15000")
	cmd.Dir = clientDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			select {
			case lines <- scanner.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	// stopNode ends the client and reaps it once; every path ends here, so nothing outlives
	// the test and stderr is read only after the process that writes it has gone.
	waited := false
	var waitErr error
	stopNode := func(kill bool) error {
		if !waited {
			waited = true
			if kill {
				cancel()
			}
			for range lines { // Wait closes stdout: read it to the end first.
			}
			waitErr = cmd.Wait()
		}
		return waitErr
	}
	t.Cleanup(func() { stopNode(true) })

	nextLine := func(within time.Duration) nodeTotals {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the Node client ended early: %v; stderr: %s", stopNode(true), stderr.String())
			}
			var payload nodeTotals
			if err := json.Unmarshal([]byte(line), &payload); err != nil {
				t.Fatalf("the Node client printed %q: %v", line, err)
			}
			return payload
		case <-time.After(within):
			stopNode(true)
			t.Fatalf("no payload from the Node client within %s; stderr: %s", within, stderr.String())
		}
		return nodeTotals{}
	}

	first := nextLine(10 * time.Second).Data.DashboardTotals.Email
	execSQL(`INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
		VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', 'permanent-failure', $2)`,
		serviceA, time.Now().UTC())
	second := nextLine(10 * time.Second).Data.DashboardTotals.Email
	if second.Requested != first.Requested+1 || second.Failed != first.Failed+1 {
		t.Errorf("after one failed email: %+v, want requested %d and failed %d", second, first.Requested+1, first.Failed+1)
	}

	// Two payloads asked for, two received: the client disposes itself and exits 0.
	if err := stopNode(false); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Errorf("the Node client exited with %d; stderr: %s", exitErr.ExitCode(), stderr.String())
		} else {
			t.Errorf("wait for the Node client: %v", err)
		}
	}
}
