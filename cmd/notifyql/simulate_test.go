package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"notifyql/postgres/seed"
)

// runSimulate runs the simulate subcommand against DATABASE_URL until ctx is done and
// returns its stdout.
func runSimulate(t *testing.T, ctx context.Context, databaseURL string, args ...string) (string, error) {
	t.Helper()
	cfg, err := loadConfig(envOf(map[string]string{"DATABASE_URL": databaseURL}))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	e := env{cfg: cfg, logger: slog.New(slog.NewJSONHandler(&stderr, nil)), stdout: &stdout, stderr: &stderr}
	err = simulate(ctx, e, args)
	for _, personal := range []string{"07700900", "447700900", "example.org", "PO Box"} {
		if strings.Contains(stderr.String(), personal) {
			t.Errorf("logs hold personal data (%q):\n%s", personal, stderr.String())
		}
	}
	return stdout.String(), err
}

func TestSimulateCommandRefusesBadFlags(t *testing.T) {
	const nowhere = "postgres://nobody@127.0.0.1:1/none"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "notifyql simulate: --rate must be a positive number of notifications per second"},
		{[]string{"--rate", "0"}, "notifyql simulate: --rate must be a positive number of notifications per second"},
		{[]string{"--rate", "-2"}, "notifyql simulate: --rate must be a positive number of notifications per second"},
		{[]string{"--rate", "NaN"}, "notifyql simulate: --rate must be a positive number of notifications per second"},
		{[]string{"--rate", "fast"}, `notifyql simulate: invalid value "fast" for flag -rate: parse error`},
		{[]string{"--rate", "1", "--seed", "x"}, `notifyql simulate: invalid value "x" for flag -seed: parse error`},
		{[]string{"--rate", "1", "--services", "demo"}, `notifyql simulate: --services: "demo" is not a service id (a UUID)`},
		{[]string{"--rate", "1", "--services", "5e000000-0000-4000-8000-0000000000aa,42"},
			`notifyql simulate: --services: "42" is not a service id (a UUID)`},
		{[]string{"--rate", "1", "now"}, `notifyql simulate: unexpected argument "now"`},
	} {
		_, err := runSimulate(t, context.Background(), nowhere, tc.args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("simulate %v: err = %v, want a usage error", tc.args, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("simulate %v: error = %q, want %q", tc.args, err.Error(), tc.want)
		}
	}
}

func TestSimulateCommand(t *testing.T) {
	databaseURL, pool := commandDatabase(t)
	ctx := context.Background()
	if _, err := seed.Load(ctx, pool, seed.Options{Profile: seed.Demo, Seed: 1, Now: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	var central string
	if err := pool.QueryRow(ctx, "SELECT id::text FROM services WHERE name = 'Demo Department Notifications'").Scan(&central); err != nil {
		t.Fatal(err)
	}

	// The demo seed writes notifications up to its clock's now: the other services' are
	// counted before the run rather than picked out by age.
	othersNow := func(t *testing.T) int64 {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE service_id <> $1`, central).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("runs until interrupted and says what it wrote", func(t *testing.T) {
		othersBefore := othersNow(t)
		runCtx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		defer cancel()
		stdout, err := runSimulate(t, runCtx, databaseURL, "--rate", "20", "--seed", "7", "--services", strings.ToUpper(central))
		if err != nil {
			t.Fatalf("simulate: %v", err)
		}
		summary := regexp.MustCompile(`^simulated (\d+) notifications, \d+ status changes, \d+ inbound text messages, ` +
			`1 jobs scheduled, 0 started and 1 finished\n$`)
		if m := summary.FindStringSubmatch(stdout); m == nil || m[1] == "0" {
			t.Errorf("stdout = %q, want a summary with notifications, one job scheduled and the seeded running job finished", stdout)
		}
		if others := othersNow(t) - othersBefore; others != 0 {
			t.Errorf("%d notifications created for services not asked for", others)
		}
	})

	t.Run("refuses a service it cannot simulate", func(t *testing.T) {
		_, err := runSimulate(t, ctx, databaseURL, "--rate", "1", "--services", "00000000-0000-4000-8000-000000000000")
		if err == nil || exitCode(err) != 1 {
			t.Fatalf("err = %v, want a failure", err)
		}
		if want := "simulator: no active service with templates has id 00000000-0000-4000-8000-000000000000"; err.Error() != want {
			t.Errorf("error = %q, want %q", err.Error(), want)
		}
	})
}
