package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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

// serveOn runs serve in-process as program (os.Args[0]) on the database at databaseURL, its
// stdout and stderr into one buffer in the order written, and returns that buffer and the
// GraphQL URL once the banner names it; serve stops when the test ends.
func serveOn(t *testing.T, program, databaseURL string, extra map[string]string) (output *syncBuffer, graphqlURL string, vars map[string]string) {
	t.Helper()
	vars = map[string]string{
		"DATABASE_URL": databaseURL, "REDIS_URL": "redis://" + machineRedisAddr + "/0",
		"NOTIFYQL_JWT_SECRET": testSecret, "NOTIFYQL_SEARCH_SECRET": testSearchSecret, "NOTIFYQL_DATA_DIR": t.TempDir(),
	}
	for k, v := range extra {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	output = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{program, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", metricsAddr(vars)}, envOf(vars), output, output)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	graphqlURL, _ = waitForServeURL(t, output, output, done)
	return output, graphqlURL, vars
}

// fixtureDatabase is a migrated database with the test fixture, and a pool on it.
func fixtureDatabase(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	databaseURL, pool := commandDatabase(t)
	if _, err := pool.Exec(context.Background(), fixtureSQL); err != nil {
		t.Fatal(err)
	}
	return databaseURL, pool
}

// The banner comes last, after the start-up jobs (logged at debug), and names GraphQL,
// GraphiQL and the dashboard, and a token command that works as printed: run as the
// banner says, it mints a token the server accepts.
func TestServeBannerComesLastWithAWorkingTokenCommand(t *testing.T) {
	databaseURL, pool := fixtureDatabase(t)
	const viewer = "7e57e000-0000-4000-8000-0000000000b1"
	for _, statement := range []string{
		`INSERT INTO users (id, name, email_address) VALUES ('` + viewer + `', 'Val Viewer', '` + demoViewerEmail + `')`,
		`INSERT INTO user_to_service (user_id, service_id) VALUES ('` + viewer + `', '` + serviceA + `')`,
		`INSERT INTO permissions (service_id, user_id, permission) VALUES ('` + serviceA + `', '` + viewer + `', 'view_activity')`,
	} {
		if _, err := pool.Exec(context.Background(), statement); err != nil {
			t.Fatal(err)
		}
	}
	const program = "./bin/notifyql"
	output, graphqlURL, vars := serveOn(t, program, databaseURL, map[string]string{"NOTIFYQL_ENV": envDevelopment})
	text := output.String()
	bannerAt := strings.Index(text, "notifyql is serving GraphQL at")
	base := strings.TrimSuffix(graphqlURL, "/graphql")
	for _, want := range []string{"  GraphiQL:  " + base + "/graphiql\n", "  dashboard: " + base + "/dashboard\n", "notifyql is serving metrics at " + base + "/metrics\n"} {
		if i := strings.Index(text, want); i < bannerAt {
			t.Errorf("the banner lacks %q:\n%s", want, text[bannerAt:])
		}
	}
	jobLines := 0
	for _, line := range strings.Split(text[:bannerAt], "\n") {
		if strings.Contains(line, `"msg":"scheduled job`) {
			jobLines++
			if !strings.Contains(line, `"level":"DEBUG"`) {
				t.Errorf("a start-up job logs above debug: %s", line)
			}
		}
	}
	if jobLines == 0 {
		t.Errorf("no start-up job logged before the banner; the order proves nothing:\n%s", text)
	}
	if strings.Contains(text[bannerAt:], `"msg":"scheduled job`) {
		t.Errorf("a start-up job logged after the banner:\n%s", text[bannerAt:])
	}

	// The token command, as printed.
	var command []string
	for _, line := range strings.Split(text[bannerAt:], "\n") {
		if strings.HasPrefix(line, "  "+program+" token ") {
			command = strings.Fields(line)
		}
	}
	if want := []string{program, "token", "--email", demoViewerEmail}; !slices.Equal(command, want) {
		t.Fatalf("the banner's token command is %q, want %q:\n%s", command, want, text[bannerAt:])
	}
	var token, errOut bytes.Buffer
	if err := run(context.Background(), command, envOf(vars), &token, &errOut); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(command, " "), err, errOut.String())
	}
	answer := postOverHTTP(context.Background(), graphqlURL, strings.TrimSpace(token.String()), "{ services { id } }", nil)
	if answer.err != nil || answer.res.status != http.StatusOK || !strings.Contains(answer.res.body, serviceA) {
		t.Errorf("the printed command's token: %v %d %s", answer.err, answer.res.status, answer.res.body)
	}
}

// Without users the banner says how to load the demo data instead of printing a command
// that would fail; with users but not the demo ones, it leaves the address to the reader.
func TestServeBannerWithoutTheDemoUsers(t *testing.T) {
	empty, _ := commandDatabase(t)
	output, _, _ := serveOn(t, "/opt/notifyql/bin/notifyql", empty, nil)
	text := output.String()
	if !strings.Contains(text, "the database has no users yet: load the demo data with /opt/notifyql/bin/notifyql seed --profile demo\n") {
		t.Errorf("the banner does not point at the demo data:\n%s", text)
	}
	if strings.Contains(text, " token --email") {
		t.Errorf("the banner offers a token on a database without users:\n%s", text)
	}

	fixture, _ := fixtureDatabase(t)
	output, _, _ = serveOn(t, "notifyql", fixture, nil)
	if text := output.String(); !strings.Contains(text, "\n  notifyql token --email ADDRESS\n") || strings.Contains(text, "seed --profile") {
		t.Errorf("with users but no demo users, the banner should leave the address to the reader:\n%s", text)
	}
}

// The program the banner and the advice name is the binary as it was run.
func TestProgramName(t *testing.T) {
	for arg0, want := range map[string]string{
		"./bin/notifyql":                             "./bin/notifyql",
		"bin/notifyql":                               "bin/notifyql",
		"/usr/local/bin/notifyql":                    "/usr/local/bin/notifyql",
		"notifyql":                                   "notifyql",
		"/tmp/go-build1234/b001/exe/notifyql":        "go run ./cmd/notifyql",
		"/root/.cache/go-build/tmp/go-build9/b001/x": "go run ./cmd/notifyql",
	} {
		if got := programName(arg0); got != want {
			t.Errorf("programName(%q) = %q, want %q", arg0, got, want)
		}
	}
}

// A second serve on the private database of one that is running says so, and where that
// one serves, instead of failing to start PostgreSQL on a data folder in use. A file left
// by a serve that was killed (its database gone) stops nothing.
func TestSecondServeOnAPrivateDatabaseSaysOneIsRunning(t *testing.T) {
	databaseURL, _ := commandDatabase(t)
	dataDir := t.TempDir()
	remove, err := recordRunningDatabase(dataDir, databaseURL, "http://127.0.0.1:8080/graphql")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = runCommand(t, map[string]string{"NOTIFYQL_DATA_DIR": dataDir}, "serve")
	want := "notifyql serve is already running at http://127.0.0.1:8080/graphql, on the private database in " + dataDir +
		": use that one, or stop it first (Ctrl-C in its terminal); to run a second server beside it, give this one its own NOTIFYQL_DATA_DIR and --addr (or NOTIFYQL_ADDR)"
	if err == nil || err.Error() != want {
		t.Errorf("second serve: %v\nwant: %s", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "kill") {
		t.Errorf("second serve advises killing: %v", err)
	}
	remove()
	if err := refuseSecondServe(context.Background(), dataDir); err != nil {
		t.Errorf("no running serve: %v", err)
	}
	// A file whose database does not answer is a leftover.
	if _, err := recordRunningDatabase(dataDir, "postgres://nobody@127.0.0.1:1/gone?connect_timeout=1", "http://127.0.0.1:8080/graphql"); err != nil {
		t.Fatal(err)
	}
	if err := refuseSecondServe(context.Background(), dataDir); err != nil {
		t.Errorf("a leftover file: %v", err)
	}
	// With DATABASE_URL set, the private database's file is not looked at.
	if _, err := recordRunningDatabase(dataDir, databaseURL, "http://127.0.0.1:8080/graphql"); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCommand(t, map[string]string{"NOTIFYQL_DATA_DIR": dataDir, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
		"NOTIFYQL_JWT_SECRET": testSecret, "NOTIFYQL_SEARCH_SECRET": testSearchSecret}, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	if err == nil || strings.Contains(err.Error(), "already running") {
		t.Errorf("serve with DATABASE_URL: %v, want it to try that database", err)
	}
}

// token on a database without users says how to load some; on one with users, an unknown
// address is only that.
func TestTokenOnADatabaseWithoutUsersPointsAtTheDemoData(t *testing.T) {
	databaseURL, pool := commandDatabase(t)
	vars := map[string]string{"DATABASE_URL": databaseURL, "NOTIFYQL_JWT_SECRET": testSecret}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"./bin/notifyql", "token", "--email", demoViewerEmail}, envOf(vars), &out, &errOut)
	want := "token: the database has no users yet: load the demo users with `./bin/notifyql seed --profile demo`, which lists them"
	if err == nil || err.Error() != want {
		t.Errorf("token on an empty database: %v\nwant: %s", err, want)
	}
	if _, err := pool.Exec(context.Background(), fixtureSQL); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"./bin/notifyql", "token", "--email", demoViewerEmail}, envOf(vars), &out, &errOut)
	if err == nil || err.Error() != "token: no user has that email address" {
		t.Errorf("token for an unknown address: %v", err)
	}
}
