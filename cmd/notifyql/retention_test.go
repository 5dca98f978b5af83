package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// retentionFixtureSQL holds, relative to now, one notification and one inbound text 30
// days old (past the 7-day default) and one of each from now.
const retentionFixtureSQL = `
INSERT INTO services (id, name) VALUES ('5e000000-0000-4000-8000-0000000000aa', 'Retention Service');
INSERT INTO templates_history (id, service_id, name, template_type, version, created_at) VALUES
    ('7e000000-0000-4000-8000-0000000000aa', '5e000000-0000-4000-8000-0000000000aa', 'Code', 'sms', 1,
     now() AT TIME ZONE 'utc' - interval '60 days');
INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to",
                           key_type, created_at) VALUES
    ('5e000000-0000-4000-8000-0000000000aa', '7e000000-0000-4000-8000-0000000000aa', 1, 'sms',
     '07700900001', 'normal', now() AT TIME ZONE 'utc' - interval '30 days'),
    ('5e000000-0000-4000-8000-0000000000aa', '7e000000-0000-4000-8000-0000000000aa', 1, 'sms',
     '07700900002', 'normal', now() AT TIME ZONE 'utc');
INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at) VALUES
    ('5e000000-0000-4000-8000-0000000000aa', '447700900000', '447700900001', 'hello', 'mmg',
     now() AT TIME ZONE 'utc' - interval '30 days'),
    ('5e000000-0000-4000-8000-0000000000aa', '447700900000', '447700900001', 'hello again', 'mmg',
     now() AT TIME ZONE 'utc');`

// runRetention runs the retention subcommand against DATABASE_URL and returns its stdout.
func runRetention(t *testing.T, databaseURL string, args ...string) (string, error) {
	t.Helper()
	cfg, err := loadConfig(envOf(map[string]string{"DATABASE_URL": databaseURL}))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	e := env{cfg: cfg, logger: slog.New(slog.NewJSONHandler(&stderr, nil)), stdout: &stdout, stderr: &stderr}
	err = retention(context.Background(), e, args)
	if strings.Contains(stderr.String(), "07700900001") || strings.Contains(stderr.String(), "hello") {
		t.Errorf("logs hold personal data:\n%s", stderr.String())
	}
	return stdout.String(), err
}

func TestRetentionCommand(t *testing.T) {
	databaseURL, pool := commandDatabase(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, retentionFixtureSQL); err != nil {
		t.Fatal(err)
	}
	rowCounts := func() []int64 {
		var notifications, history, inbound, inboundHistory int64
		err := pool.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM notifications), (SELECT count(*) FROM notification_history),
			       (SELECT count(*) FROM inbound_sms), (SELECT count(*) FROM inbound_sms_history)`).
			Scan(&notifications, &history, &inbound, &inboundHistory)
		if err != nil {
			t.Fatal(err)
		}
		return []int64{notifications, history, inbound, inboundHistory}
	}

	steps := []struct {
		name       string
		args       []string
		wantStdout string
		wantRows   []int64 // notifications, their history, inbound SMS, their history
	}{
		{"dry run counts and moves nothing", []string{"--dry-run"},
			"dry run: would move 1 notifications and 1 inbound text messages to history\n", []int64{2, 0, 2, 0}},
		{"run moves what is due", nil,
			"moved 1 notifications and 1 inbound text messages to history\n", []int64{1, 1, 1, 1}},
		{"rerun has nothing left to move", nil,
			"moved 0 notifications and 0 inbound text messages to history\n", []int64{1, 1, 1, 1}},
	}
	for _, step := range steps {
		stdout, err := runRetention(t, databaseURL, step.args...)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if diff := cmp.Diff(step.wantStdout, stdout); diff != "" {
			t.Errorf("%s: stdout (-want +got):\n%s", step.name, diff)
		}
		if diff := cmp.Diff(step.wantRows, rowCounts()); diff != "" {
			t.Errorf("%s: rows (-want +got):\n%s", step.name, diff)
		}
	}
}

func TestRetentionCommandRefusesStrayArguments(t *testing.T) {
	_, err := runRetention(t, "postgres://nobody@127.0.0.1:1/none", "now")
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("retention now: err = %v, want a usage error", err)
	}
	if want := `notifyql retention: unexpected argument "now"`; err.Error() != want {
		t.Errorf("error = %q, want %q", err.Error(), want)
	}
}
