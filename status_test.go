package notifyql

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStatusGroup(t *testing.T) {
	type result struct {
		Group StatusGroup
		OK    bool
		Final bool
	}
	tests := []struct {
		status NotificationStatus
		want   result
	}{
		{StatusCreated, result{GroupSending, true, false}},
		{StatusPending, result{GroupSending, true, false}},
		{StatusSending, result{GroupSending, true, false}},
		{StatusPendingVirusCheck, result{GroupSending, true, false}},
		{StatusDelivered, result{GroupDelivered, true, true}},
		{StatusSent, result{GroupDelivered, true, true}},
		{StatusReturnedLetter, result{GroupDelivered, true, true}},
		{StatusFailed, result{GroupFailed, true, true}},
		{StatusTechnicalFailure, result{GroupFailed, true, true}},
		{StatusTemporaryFailure, result{GroupFailed, true, true}},
		{StatusPermanentFailure, result{GroupFailed, true, true}},
		{StatusValidationFailed, result{GroupFailed, true, true}},
		{StatusVirusScanFailed, result{GroupFailed, true, true}},
		{StatusCancelled, result{"", false, true}},
		{"no-such-status", result{"", false, false}},
		{"", result{"", false, false}},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			g, ok := tt.status.Group()
			if diff := cmp.Diff(tt.want, result{g, ok, tt.status.IsFinal()}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusPartitionCoversEveryStatus(t *testing.T) {
	seen := map[NotificationStatus]int{}
	for _, g := range StatusGroups() {
		for _, s := range StatusesInGroup(g) {
			seen[s]++
			if got, _ := s.Group(); got != g {
				t.Errorf("%s is listed in %s but Group() says %s", s, g, got)
			}
		}
	}
	for _, s := range NotificationStatuses {
		want := 1
		if s == StatusCancelled {
			want = 0
		}
		if seen[s] != want {
			t.Errorf("%s appears in %d groups, want %d", s, seen[s], want)
		}
	}
	if got := StatusesInGroup("nope"); got != nil {
		t.Errorf("StatusesInGroup(unknown) = %v, want nil", got)
	}
}

func TestRequestedStatuses(t *testing.T) {
	want := []NotificationStatus{
		StatusCreated, StatusPending, StatusSending, StatusPendingVirusCheck,
		StatusDelivered, StatusSent, StatusReturnedLetter,
		StatusFailed, StatusTechnicalFailure, StatusTemporaryFailure,
		StatusPermanentFailure, StatusValidationFailed, StatusVirusScanFailed,
	}
	got := RequestedStatuses()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got[0] = StatusCancelled // callers may modify their copy
	if RequestedStatuses()[0] != StatusCreated {
		t.Errorf("RequestedStatuses shares its backing array between calls")
	}
}

func TestExpandStatusFilter(t *testing.T) {
	tests := []struct {
		name   string
		filter []NotificationStatus
		want   []NotificationStatus
	}{
		{"nil is requested", nil, RequestedStatuses()},
		{"empty is requested", []NotificationStatus{}, RequestedStatuses()},
		{"the three groups are requested", []NotificationStatus{StatusSending, StatusDelivered, StatusFailed}, RequestedStatuses()},
		{"delivered and cancelled",
			[]NotificationStatus{StatusDelivered, StatusCancelled},
			[]NotificationStatus{StatusDelivered, StatusSent, StatusReturnedLetter, StatusCancelled}},
		{"a literal stands for itself",
			[]NotificationStatus{StatusPermanentFailure},
			[]NotificationStatus{StatusPermanentFailure}},
		{"sending group",
			[]NotificationStatus{StatusSending},
			[]NotificationStatus{StatusCreated, StatusPending, StatusSending, StatusPendingVirusCheck}},
		{"failed group",
			[]NotificationStatus{StatusFailed},
			[]NotificationStatus{StatusFailed, StatusTechnicalFailure, StatusTemporaryFailure, StatusPermanentFailure, StatusValidationFailed, StatusVirusScanFailed}},
		{"duplicates removed, first-seen order kept",
			[]NotificationStatus{StatusSent, StatusDelivered, StatusSent, StatusCancelled, StatusCancelled},
			[]NotificationStatus{StatusSent, StatusDelivered, StatusReturnedLetter, StatusCancelled}},
		{"a member before its group",
			[]NotificationStatus{StatusVirusScanFailed, StatusFailed},
			[]NotificationStatus{StatusVirusScanFailed, StatusFailed, StatusTechnicalFailure, StatusTemporaryFailure, StatusPermanentFailure, StatusValidationFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ExpandStatusFilter(tt.filter)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusLabels(t *testing.T) {
	const raw = "\x00raw" // marks a cell that passes the stored value through
	type row struct {
		emailCSV, emailScreen, smsCSV, smsScreen, letterCSV, letterScreen string
	}
	// One row per status, columns as in DOMAIN.md §2.4.
	table := map[NotificationStatus]row{
		StatusCreated:           {"Sending", "Delivering", "Sending", "Delivering", "Accepted", ""},
		StatusSending:           {"Sending", "Delivering", "Sending", "Delivering", "Accepted", ""},
		StatusPending:           {raw, raw, raw, "Delivering", raw, raw},
		StatusSent:              {"Delivered", "Delivered", "Sent internationally", "Sent to an international number", raw, ""},
		StatusDelivered:         {"Delivered", "Delivered", "Delivered", "Delivered", "Received", ""},
		StatusFailed:            {"Failed", "Failed", "Failed", "Failed", raw, ""},
		StatusTechnicalFailure:  {"Technical failure", "Technical failure", "Technical failure", "Technical failure", "Technical failure", "Technical failure"},
		StatusTemporaryFailure:  {"Inbox not accepting messages right now", "Inbox not accepting messages right now", "Phone not accepting messages right now", "Phone not accepting messages right now", raw, ""},
		StatusPermanentFailure:  {"Email address doesn’t exist", "Email address does not exist", "Phone number doesn’t exist", "Not delivered", "Permanent failure", "Permanent failure"},
		StatusValidationFailed:  {raw, raw, raw, "Validation failed", raw, "Validation failed"},
		StatusVirusScanFailed:   {raw, raw, raw, raw, raw, "Virus detected"},
		StatusReturnedLetter:    {raw, raw, raw, raw, "Returned", ""},
		StatusPendingVirusCheck: {raw, raw, raw, raw, raw, ""},
		StatusCancelled:         {raw, raw, raw, raw, raw, ""},
	}
	if len(table) != len(NotificationStatuses) {
		t.Fatalf("table covers %d statuses, want %d", len(table), len(NotificationStatuses))
	}
	for status, r := range table {
		resolve := func(cell string) string {
			if cell == raw {
				return string(status)
			}
			return cell
		}
		want := row{resolve(r.emailCSV), resolve(r.emailScreen), resolve(r.smsCSV), resolve(r.smsScreen), resolve(r.letterCSV), resolve(r.letterScreen)}
		got := row{
			StatusCSVLabel(TypeEmail, status), StatusScreenLabel(TypeEmail, status),
			StatusCSVLabel(TypeSMS, status), StatusScreenLabel(TypeSMS, status),
			StatusCSVLabel(TypeLetter, status), StatusScreenLabel(TypeLetter, status),
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{})); diff != "" {
			t.Errorf("labels of %s (-want +got):\n%s", status, diff)
		}
	}
}

func TestStatusLabelsUseTypographicApostrophe(t *testing.T) {
	for _, label := range []string{
		StatusCSVLabel(TypeEmail, StatusPermanentFailure),
		StatusCSVLabel(TypeSMS, StatusPermanentFailure),
	} {
		if !strings.ContainsRune(label, '\u2019') || strings.ContainsRune(label, '\'') {
			t.Errorf("%q must use U+2019, not an ASCII apostrophe", label)
		}
	}
}

func TestStatusLabelsOfUnknownValues(t *testing.T) {
	tests := []struct {
		typ    NotificationType
		status NotificationStatus
	}{
		{"fax", StatusDelivered},
		{TypeEmail, "no-such-status"},
		{TypeLetter, "no-such-status"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := StatusCSVLabel(tt.typ, tt.status); got != string(tt.status) {
			t.Errorf("StatusCSVLabel(%q, %q) = %q, want raw", tt.typ, tt.status, got)
		}
		if got := StatusScreenLabel(tt.typ, tt.status); got != string(tt.status) {
			t.Errorf("StatusScreenLabel(%q, %q) = %q, want raw", tt.typ, tt.status, got)
		}
	}
}
