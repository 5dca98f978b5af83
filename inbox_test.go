package notifyql

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRelativeTime(t *testing.T) {
	now := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		ago  time.Duration
		want string
	}{
		{0, "just now"},
		{29 * time.Second, "just now"},
		{30 * time.Second, "in the last minute"},
		{59 * time.Second, "in the last minute"},
		{time.Minute, "1 minute ago"},
		{59*time.Minute + 59*time.Second, "59 minutes ago"},
		{time.Hour, "1 hour ago"},
		{23 * time.Hour, "23 hours ago"},
		{24 * time.Hour, "1 day ago"},
		{30 * 24 * time.Hour, "30 days ago"},
	} {
		if got := RelativeTime(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("RelativeTime(%s ago) = %q, want %q", tt.ago, got, tt.want)
		}
	}
}

func TestReportEnumsMarshalAsGraphQLNames(t *testing.T) {
	var b []byte
	w := writerFunc(func(p []byte) (int, error) { b = append(b, p...); return len(p), nil })
	ReportInProgress.MarshalGQL(w)
	if got := string(b); got != strconv.Quote("IN_PROGRESS") {
		t.Errorf("in progress marshals as %s", got)
	}
	var s ReportRequestStatus
	if err := s.UnmarshalGQL("IN_PROGRESS"); err != nil || s != ReportInProgress {
		t.Errorf("IN_PROGRESS unmarshals as %q, %v", s, err)
	}
	var f ReportStatusFilter
	if err := f.UnmarshalGQL("NOPE"); ErrorCode(err) != EINVALID {
		t.Errorf("NOPE: %v, want EINVALID", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestInboxCSVRecord(t *testing.T) {
	loc := mustLondon(t)
	tests := []struct {
		number, content, at string
		want                []string
	}{
		{"07700 900111", "-=+7 days", "2026-07-15T08:05:59Z", []string{"07700 900111", "7 days", "2026-07-15 09:05"}},
		{"+33 6 12 34 56 78", "ok,=3+4", "2026-01-15T08:05:00Z", []string{"+33 6 12 34 56 78", "ok,=3+4", "2026-01-15 08:05"}},
		{"=HYPERLINK(\"x\")", "@SUM(A1)", "2026-03-29T00:59:00Z", []string{"'=HYPERLINK(\"x\")", "SUM(A1)", "2026-03-29 00:59"}},
		{"07700 900111", "\tTab first", "2026-03-29T01:00:00Z", []string{"07700 900111", "'\tTab first", "2026-03-29 02:00"}},
		{"07700 900111", "=-+@", "2026-10-25T00:30:00Z", []string{"07700 900111", "", "2026-10-25 01:30"}},
		{"07700 900111", "Fine, thanks", "2026-10-25T01:30:00Z", []string{"07700 900111", "Fine, thanks", "2026-10-25 01:30"}},
	}
	for _, tt := range tests {
		got := InboxCSVRecord(tt.number, InboxMessage{Content: tt.content, CreatedAt: utc(t, tt.at)}, loc)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.content, diff)
		}
	}
}
