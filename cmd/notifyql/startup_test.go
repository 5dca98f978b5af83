package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Every wrong or missing variable is reported in one message, one to a line, with the
// count: a user fixes them all in one go instead of meeting them one run at a time.
func TestConfigurationProblemsAreReportedTogether(t *testing.T) {
	vars := map[string]string{
		"DATABASE_URL":                 "postgres://nobody@127.0.0.1:1/none",
		"NOTIFYQL_MAX_DEPTH":           "deep",
		"NOTIFYQL_REQUEST_TIMEOUT":     "10",
		"NOTIFYQL_ENV":                 "staging",
		"NOTIFYQL_TOKEN_AUDIENCE":      " spaced ",
		"NOTIFYQL_TOKEN_ISSUER":        "line\nbreak",
		"NOTIFYQL_SEARCH_SECRET":       "not hex",
		"REDIS_URL":                    "localhost:6379",
		"NOTIFYQL_RATE_LIMIT_PER_USER": "-1",
		// NOTIFYQL_JWT_SECRET is missing, and DATABASE_URL needs it.
	}
	_, _, err := runCommand(t, vars, "serve")
	if err == nil {
		t.Fatal("serve started with a bad configuration")
	}
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	if lines[0] != "configuration: 9 problems:" {
		t.Errorf("first line %q, want the count of problems", lines[0])
	}
	for _, name := range []string{"NOTIFYQL_MAX_DEPTH", "NOTIFYQL_REQUEST_TIMEOUT", "NOTIFYQL_ENV", "NOTIFYQL_TOKEN_AUDIENCE",
		"NOTIFYQL_TOKEN_ISSUER", "NOTIFYQL_SEARCH_SECRET", "REDIS_URL", "NOTIFYQL_RATE_LIMIT_PER_USER", "NOTIFYQL_JWT_SECRET is required"} {
		found := 0
		for _, line := range lines[1:] {
			if strings.HasPrefix(line, "  "+name) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%s is on %d lines of:\n%s", name, found, msg)
		}
	}
	if len(lines) != 10 {
		t.Errorf("%d lines, want the count and 9 problems:\n%s", len(lines), msg)
	}
	// A malformed search secret is reported as malformed, not also as missing.
	if strings.Contains(msg, "NOTIFYQL_SEARCH_SECRET is required") {
		t.Errorf("the malformed search secret is also called missing:\n%s", msg)
	}
	// One problem alone reads as before: no count, no list.
	if _, _, err := runCommand(t, map[string]string{"NOTIFYQL_MAX_DEPTH": "0"}, "serve"); err == nil ||
		err.Error() != `configuration: NOTIFYQL_MAX_DEPTH must be a positive whole number, got "0"` {
		t.Errorf("one problem: %v", err)
	}
}

// A Redis that does not answer stops serve with one line that says where it looked and
// what to do; everything logged meanwhile, go-redis's own lines included, is JSON.
func TestServeExplainsAnUnreachableRedis(t *testing.T) {
	databaseURL, _ := commandDatabase(t)
	vars := map[string]string{"DATABASE_URL": databaseURL, "NOTIFYQL_JWT_SECRET": testSecret, "NOTIFYQL_SEARCH_SECRET": testSearchSecret,
		"NOTIFYQL_DATA_DIR": t.TempDir(), "REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"}
	_, stderr, err := runCommand(t, vars, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	if err == nil {
		t.Fatal("serve started without its Redis")
	}
	msg := err.Error()
	for _, want := range []string{"connect to Redis at REDIS_URL redis://:xxxxx@127.0.0.1:1/0", "connection refused",
		"is that Redis running and reachable?", "Unset REDIS_URL to use an in-process Redis-compatible server"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q, want it to say %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg+stderr, "hunter2") {
		t.Errorf("error %q: want one line, and no password in it or the log", msg)
	}
	expectJSONLines(t, stderr)
}

// expectJSONLines fails unless every line of log is a JSON object.
func expectJSONLines(t *testing.T, log string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var record map[string]any
		if err := json.Unmarshal([]byte(line), &record); err != nil {
			t.Errorf("a log line is not JSON: %q", line)
		}
	}
}

// go-redis's own log lines (here its warning that it rounds an expiry up to a second) go
// into the JSON log once serve has opened Redis, not to stderr as plain text.
func TestRedisClientLogsGoIntoTheJSONLog(t *testing.T) {
	var log syncBuffer
	logger := slog.New(slog.NewJSONHandler(&log, nil))
	cfg := config{RedisURL: "redis://" + machineRedisAddr + "/0"}
	rdb, err := openRedis(context.Background(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Client.Expire(context.Background(), "notifyql-test-clientlog", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	expectJSONLines(t, log.String())
	var record struct {
		Level, Msg, Detail string
	}
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if json.Unmarshal([]byte(line), &record) == nil && record.Msg == "redis client" {
			break
		}
	}
	if record.Msg != "redis client" || record.Level != "WARN" || !strings.Contains(record.Detail, "truncating to 1s") {
		t.Errorf("go-redis's warning was not logged as JSON: %+v in\n%s", record, log.String())
	}
}
