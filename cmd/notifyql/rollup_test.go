package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/pgtest"
)

// rollupEnv is an env for calling rollup directly against databaseURL.
func rollupEnv(databaseURL string, stderr io.Writer) env {
	return env{
		cfg:    config{DatabaseURL: databaseURL, DataDir: ".notifyql"},
		logger: slog.New(slog.NewJSONHandler(stderr, nil)),
		stdout: io.Discard,
		stderr: stderr,
	}
}

func TestRollupRefusesBadArguments(t *testing.T) {
	// Nothing answers on this URL: every case must fail before connecting.
	e := rollupEnv("postgres://nobody@127.0.0.1:1/none", io.Discard)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no flags", nil, "rollup: --from and --to are both required"},
		{"no to", []string{"--from", "2025-10-01"}, "rollup: --from and --to are both required"},
		{"no from", []string{"--to", "2025-10-01"}, "rollup: --from and --to are both required"},
		{"bad from", []string{"--from", "2025-13-01", "--to", "2025-10-01"}, `rollup: --from "2025-13-01" is not a date written as YYYY-MM-DD`},
		{"impossible to", []string{"--from", "2025-02-01", "--to", "2025-02-30"}, `rollup: --to "2025-02-30" is not a date written as YYYY-MM-DD`},
		{"from after to", []string{"--from", "2025-10-02", "--to", "2025-10-01"}, "rollup: --from 2025-10-02 is after --to 2025-10-01"},
		{"stray argument", []string{"--from", "2025-10-01", "--to", "2025-10-01", "now"}, `notifyql rollup: unexpected argument "now"`},
		{"unknown flag", []string{"--day", "2025-10-01"}, "notifyql rollup: flag provided but not defined: -day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rollup(context.Background(), e, tt.args)
			if err == nil {
				t.Fatalf("rollup succeeded, want %q", tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var usage *usageError
			if !errors.As(err, &usage) {
				t.Errorf("error %v is not a usage error", err)
			}
		})
	}
}

const rollupCommandFixtureSQL = `
INSERT INTO services (id, name) VALUES ('5e000000-0000-4000-8000-00000000000a', 'Rollup');
INSERT INTO templates_history (id, service_id, name, template_type, version, created_at) VALUES
    ('7e000000-0000-4000-8000-00000000000a', '5e000000-0000-4000-8000-00000000000a', 'Code', 'sms', 1, '2025-01-01');
INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", key_type,
                           notification_status, billable_units, sent_by, created_at) VALUES
    -- 00:30 BST on 26 October 2025, the day the clocks go back: London date 2025-10-26.
    ('5e000000-0000-4000-8000-00000000000a', '7e000000-0000-4000-8000-00000000000a', 1, 'sms', '07700900001',
     'normal', 'delivered', 2, 'mmg', '2025-10-25 23:30:00'),
    ('5e000000-0000-4000-8000-00000000000a', '7e000000-0000-4000-8000-00000000000a', 1, 'sms', '07700900002',
     'normal', 'delivered', 1, 'mmg', '2025-10-26 12:00:00'),
    ('5e000000-0000-4000-8000-00000000000a', '7e000000-0000-4000-8000-00000000000a', 1, 'sms', '07700900003',
     'test', 'delivered', 1, 'mmg', '2025-10-26 12:00:00'),
    -- Before London midnight of the 26th: the 25th, outside the range.
    ('5e000000-0000-4000-8000-00000000000a', '7e000000-0000-4000-8000-00000000000a', 1, 'sms', '07700900004',
     'normal', 'delivered', 1, 'mmg', '2025-10-25 22:59:59');
`

func TestRollupBuildsFacts(t *testing.T) {
	ctx := context.Background()
	databaseURL := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, rollupCommandFixtureSQL); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	for range 2 { // the second run must change nothing
		if err := rollup(ctx, rollupEnv(databaseURL, &logs), []string{"--from", "2025-10-26", "--to", "2025-10-27"}); err != nil {
			t.Fatalf("rollup: %v\n%s", err, logs.String())
		}
	}
	var got []string
	rows, err := pool.Query(ctx, `
		SELECT format('%s %s %s %s', bst_date, notification_status, key_type, notification_count) FROM ft_notification_status
		UNION ALL
		SELECT format('%s %s %s %s %s', bst_date, provider, rate, billable_units, notifications_sent) FROM ft_billing
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"2025-10-26 delivered normal 2", "2025-10-26 mmg 0.0233 3 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fact rows (-want +got):\n%s", diff)
	}
}
