package notifyql

import (
	"strconv"
	"testing"
	"time"
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
