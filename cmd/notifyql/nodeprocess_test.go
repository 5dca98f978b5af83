package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodeClientDir is clients/node, where the Node scripts the tests run live with their
// locked packages.
func nodeClientDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "clients", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql-ws")); err != nil {
		t.Fatalf("the Node client's dependencies are not installed; run `make node-deps` (%v)", err)
	}
	return dir
}

// nodeOrSkip finds node, skipping the test when it is missing on a developer's machine; in
// CI (CI=true) a missing node fails, so the acceptance tests cannot silently stop running.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		return node
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("node is not on PATH and CI=true: the Node client tests must run in CI (%v)", err)
	}
	t.Skipf("node is not on PATH (%v); install Node 20 and run `make node-deps` to run the Node client tests", err)
	return ""
}

// nodeProcess is a Node script that a test talks to: the script writes one line per thing
// it saw on stdout, and the test may answer on its stdin.
type nodeProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stdin  io.WriteCloser
	stderr syncBuffer
	cancel context.CancelFunc

	waited  bool
	waitErr error
}

// startNode runs clients/node/<script> with args and extra environment, for at most
// timeout; the test's cleanup kills it if it is still running.
func startNode(t *testing.T, timeout time.Duration, env []string, script string, args ...string) *nodeProcess {
	t.Helper()
	node := nodeOrSkip(t)
	dir := nodeClientDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	p := &nodeProcess{t: t, lines: make(chan string), cancel: cancel}
	p.cmd = exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, script)}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node %s: %v", script, err)
	}
	go func() {
		defer close(p.lines)
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 64*1024), 4<<20)
		for scanner.Scan() {
			select {
			case p.lines <- scanner.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { p.stop(true) })
	return p
}

// nextLine is the script's next line; the test fails when none comes within the time or the
// script ends first, showing what the script wrote on stderr.
func (p *nodeProcess) nextLine(within time.Duration) string {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("the Node script ended early: %v; stderr: %s", p.stop(true), p.stderr.String())
		}
		return line
	case <-time.After(within):
		p.stop(true)
		p.t.Fatalf("no line from the Node script within %s; stderr: %s", within, p.stderr.String())
	}
	return ""
}

// send writes one line to the script's stdin.
func (p *nodeProcess) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("write to the Node script: %v; stderr: %s", err, p.stderr.String())
	}
}

// wait lets the script finish by itself and fails the test unless it exits 0.
func (p *nodeProcess) wait() {
	p.t.Helper()
	if err := p.stop(false); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			p.t.Errorf("the Node script exited with %d; stderr: %s", exitErr.ExitCode(), p.stderr.String())
		} else {
			p.t.Errorf("wait for the Node script: %v", err)
		}
	}
}

// stop ends the script (killing it when kill is set) and reaps it once; every path ends
// here, so nothing outlives the test and stderr is read only after its writer has gone.
func (p *nodeProcess) stop(kill bool) error {
	if !p.waited {
		p.waited = true
		p.stdin.Close()
		if kill {
			p.cancel()
		}
		for range p.lines { // Wait closes stdout: read it to the end first.
		}
		p.waitErr = p.cmd.Wait()
		p.cancel()
	}
	return p.waitErr
}
