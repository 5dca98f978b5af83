package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository's root, where the Makefile is.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// makeOrSkip finds make, skipping where there is none (make test itself needs it).
func makeOrSkip(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("make")
	if err != nil {
		t.Skipf("make is not on PATH: %v", err)
	}
	return path
}

// environWith is the process's environment with vars set and the names in unset removed.
func environWith(vars map[string]string, unset ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, replaced := vars[name]; replaced || strings.HasPrefix(name, "NOTIFYQL_") || name == "DATABASE_URL" || name == "REDIS_URL" || name == "CI" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// make test says in one line when the browser tests will skip and why; with CI=true it
// fails instead, and with a browser it says nothing.
func TestMakeSaysOnceWhyBrowserTestsSkip(t *testing.T) {
	makePath := makeOrSkip(t)
	fake := filepath.Join(t.TempDir(), "fake-chromium")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, browser string
		ci            bool
		wantOutput    string
		wantFail      bool
	}{
		{"missing", "no-such-chromium", false,
			"browser tests will skip: no-such-chromium is not on PATH (apt-get install chromium, or set NOTIFYQL_CHROMIUM)\n", false},
		{"missing in CI", "no-such-chromium", true,
			"no-such-chromium is not on PATH and CI=true: install it (apt-get install chromium) so the browser tests run\n", true},
		{"present", fake, false, "", false},
		{"present in CI", fake, true, "", false},
	}
	for _, c := range cases {
		vars := map[string]string{"NOTIFYQL_CHROMIUM": c.browser}
		if c.ci {
			vars["CI"] = "true"
		}
		cmd := exec.Command(makePath, "-s", "--no-print-directory", "check-browser")
		cmd.Dir, cmd.Env = repoRoot(t), environWith(vars)
		var stdout strings.Builder
		cmd.Stdout = &stdout
		err := cmd.Run()
		if (err != nil) != c.wantFail {
			t.Errorf("%s: make check-browser: %v, want failure %v", c.name, err, c.wantFail)
		}
		if stdout.String() != c.wantOutput {
			t.Errorf("%s: printed %q, want %q", c.name, stdout.String(), c.wantOutput)
		}
	}
}

// make run builds bin/notifyql and runs it; its banner's token command works as printed
// from the repository's root; and Ctrl-C (SIGINT to the terminal's process group: make,
// and the binary the recipe execs) stops it with no error from make.
func TestMakeRunBuildsABinaryAndStopsOnCtrlC(t *testing.T) {
	makePath := makeOrSkip(t)
	databaseURL, pool := fixtureDatabase(t)
	const viewer = "7e57e000-0000-4000-8000-0000000000b2"
	if _, err := pool.Exec(context.Background(), `INSERT INTO users (id, name, email_address) VALUES ($1, 'Val Viewer', $2)`, viewer, demoViewerEmail); err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	env := environWith(map[string]string{
		"DATABASE_URL": databaseURL, "NOTIFYQL_JWT_SECRET": testSecret, "NOTIFYQL_SEARCH_SECRET": testSearchSecret,
		"NOTIFYQL_ADDR": "127.0.0.1:0", "NOTIFYQL_DATA_DIR": t.TempDir(),
	})
	cmd := exec.Command(makePath, "--no-print-directory", "run")
	cmd.Dir, cmd.Env = root, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	reader, writer := io.Pipe()
	cmd.Stdout, cmd.Stderr = writer, writer
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		writer.Close()
		exited <- err
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})

	// Everything make and the binary print, line by line.
	lines := make(chan string, 1024)
	var printed strings.Builder
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(reader)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
	}()
	var graphqlURL, tokenCommand string
	// Building the binary from a cold cache takes a while on a busy machine.
	deadline := time.After(5 * time.Minute)
	for tokenCommand == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("make run ended before its banner:\n%s", printed.String())
			}
			printed.WriteString(line + "\n")
			if rest, ok := strings.CutPrefix(line, "notifyql is serving GraphQL at "); ok {
				graphqlURL = rest
			}
			if rest, ok := strings.CutPrefix(line, "  ./bin/notifyql token "); ok {
				tokenCommand = "./bin/notifyql token " + rest
			}
		case <-deadline:
			t.Fatalf("no banner from make run within 5 minutes:\n%s", printed.String())
		}
	}
	if !strings.Contains(printed.String(), "go build -o bin/notifyql ./cmd/notifyql") {
		t.Errorf("make run did not build bin/notifyql:\n%s", printed.String())
	}
	if info, err := os.Stat(filepath.Join(root, "bin", "notifyql")); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("bin/notifyql: %v", err)
	}
	ignored := exec.Command("git", "check-ignore", "-q", "bin/notifyql")
	ignored.Dir = root
	if err := ignored.Run(); err != nil {
		t.Errorf("git does not ignore bin/notifyql: %v", err)
	}

	// The token command, run by a shell as a person would paste it.
	shell := exec.Command("sh", "-c", tokenCommand)
	shell.Dir, shell.Env = root, env
	token, err := shell.Output()
	if err != nil {
		t.Fatalf("%s: %v", tokenCommand, err)
	}
	answer := postOverHTTP(context.Background(), graphqlURL, strings.TrimSpace(string(token)), "{ services { id } }", nil)
	if answer.err != nil || answer.res.status != http.StatusOK || len(answer.res.Errors) > 0 {
		t.Errorf("%s: its token gets %v %d %s", tokenCommand, answer.err, answer.res.status, answer.res.body)
	}

	// Ctrl-C.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for line := range lines {
		printed.WriteString(line + "\n")
	}
	err = <-exited
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT:
		// GNU make, once its child has ended, ends itself by the signal it was sent, as a
		// shell expects of a program stopped with Ctrl-C: no error is printed for that.
	default:
		t.Errorf("make run after Ctrl-C: %v", err)
	}
	out := printed.String()
	if strings.Contains(out, "make: ***") || strings.Contains(out, "Error") {
		t.Errorf("make reported an error after Ctrl-C:\n%s", out)
	}
	if !strings.Contains(out, `"msg":"shutting down"`) {
		t.Errorf("the binary did not shut down in order:\n%s", out)
	}
}
