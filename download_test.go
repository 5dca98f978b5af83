package notifyql

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStatusList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []NotificationStatus
	}{
		{"", nil},
		{"delivered", []NotificationStatus{StatusDelivered}},
		{"sending,permanent-failure,cancelled", []NotificationStatus{StatusSending, StatusPermanentFailure, StatusCancelled}},
	} {
		got, err := ParseStatusList(tc.in)
		if err != nil || !cmp.Equal(got, tc.want) {
			t.Errorf("ParseStatusList(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.want != nil && FormatStatusList(got) != tc.in {
			t.Errorf("FormatStatusList(%v) = %q, want %q", got, FormatStatusList(got), tc.in)
		}
	}
	for _, bad := range []string{"bogus", "DELIVERED", "permanent_failure", "delivered,", ",delivered", "delivered,,failed", " delivered", "requested"} {
		_, err := ParseStatusList(bad)
		if ErrorCode(err) != EINVALID {
			t.Errorf("ParseStatusList(%q): %v, want EINVALID", bad, err)
		}
	}
}

func TestParseStatusListHidesTheInput(t *testing.T) {
	_, err := ParseStatusList("someone@example.org")
	if msg := ErrorMessage(err); strings.Contains(msg, "someone") {
		t.Errorf("the message repeats the input: %s", msg)
	}
}

func TestParseNotificationType(t *testing.T) {
	for _, typ := range NotificationTypes {
		if got, err := ParseNotificationType(string(typ)); err != nil || got != typ {
			t.Errorf("ParseNotificationType(%q) = %q, %v", typ, got, err)
		}
	}
	for _, bad := range []string{"", "EMAIL", "fax", "sms,email"} {
		if _, err := ParseNotificationType(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseNotificationType(%q): %v, want EINVALID", bad, err)
		}
	}
}

func TestDownloadLimits(t *testing.T) {
	for _, tc := range []struct {
		estimate                 int64
		permitted, platformAdmin bool
		download, report         bool
	}{
		{0, true, false, true, true},
		{250_000, true, false, true, true},
		{250_001, true, false, false, true},
		{800_000, true, false, false, true},
		{800_001, true, false, false, false},
		{800_001, true, true, false, true},
		{10, false, false, false, false},
	} {
		download, report := DownloadOptions(tc.estimate, tc.permitted, tc.platformAdmin)
		if download != tc.download || report != tc.report {
			t.Errorf("DownloadOptions(%d, %v, %v) = %v, %v; want %v, %v", tc.estimate, tc.permitted, tc.platformAdmin, download, report, tc.download, tc.report)
		}
	}
	if err := CheckDirectDownload(250_001); ErrorCode(err) != ETOOLARGE {
		t.Errorf("CheckDirectDownload(250,001) = %v, want ETOOLARGE", err)
	}
}

func TestNotificationsCSVTarget(t *testing.T) {
	const id = "5A000000-0000-0000-0000-00000000000A"
	for _, tc := range []struct {
		statuses []NotificationStatus
		want     string
	}{
		{nil, "/services/5a000000-0000-0000-0000-00000000000a/download-notifications.csv?message_type=sms"},
		{[]NotificationStatus{StatusDelivered, StatusPermanentFailure}, "/services/5a000000-0000-0000-0000-00000000000a/download-notifications.csv?message_type=sms&status=delivered%2Cpermanent-failure"},
	} {
		if got := NotificationsCSVTarget(id, TypeSMS, tc.statuses); got != tc.want {
			t.Errorf("NotificationsCSVTarget(%v) = %s, want %s", tc.statuses, got, tc.want)
		}
	}
}
