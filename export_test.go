package notifyql

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExportRowCSVRecord(t *testing.T) {
	london := mustLondon(t)
	row := ExportRow{
		ID:          "n1",
		CreatedAt:   time.Date(2025, 6, 2, 9, 15, 0, 0, time.UTC),
		Recipient:   "ann@example.org",
		Reference:   "INV-0042",
		Template:    "Payment reminder",
		Type:        TypeEmail,
		SentBy:      "Sam Jones",
		SentByEmail: "sam@dept.example.gov.uk",
		Status:      StatusDelivered,
	}
	want := []string{"ann@example.org", "INV-0042", "Payment reminder", "email", "Sam Jones", "sam@dept.example.gov.uk", "", "Delivered", "2025-06-02 10:15:00", ""}
	if diff := cmp.Diff(want, row.CSVRecord(london)); diff != "" {
		t.Errorf("CSVRecord (-want +got):\n%s", diff)
	}
	row.Reference, row.Template = "=HYPERLINK(\"x\")", "@template"
	got := row.CSVRecord(london)
	if got[1] != "'=HYPERLINK(\"x\")" || got[2] != "'@template" {
		t.Errorf("formula cells not guarded: %q, %q", got[1], got[2])
	}
}

func TestCSVRecipient(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"ann@example.org", "ann@example.org"},
		{"  The Occupier, ,\n10 Downing Street\nLondon\nSW1A 2AA", "The Occupier"},
		{"\tA Person,  \r\nline 2", "A Person"},
		{"+447911123456", "+447911123456"},
		{"", ""},
	} {
		if got := CSVRecipient(tt.in); got != tt.want {
			t.Errorf("CSVRecipient(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExportFilenames(t *testing.T) {
	today := Date{Year: 2025, Month: time.June, Day: 2}
	if got, want := NotificationCSVFilename(today, TypeSMS, "Passport Office"), "2025-06-02 - sms - Passport Office report.csv"; got != want {
		t.Errorf("NotificationCSVFilename = %q, want %q", got, want)
	}
	if got, want := InboxCSVFilename(today), "Received text messages 2025-06-02.csv"; got != want {
		t.Errorf("InboxCSVFilename = %q, want %q", got, want)
	}
}
