package notifyql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateRetentionDays(t *testing.T) {
	for _, tt := range []struct {
		days     int
		wantCode string
	}{
		{2, EINVALID}, {3, ""}, {7, ""}, {90, ""}, {91, EINVALID}, {0, EINVALID}, {-5, EINVALID},
	} {
		err := ValidateRetentionDays(tt.days)
		if got := ErrorCode(err); got != tt.wantCode {
			t.Errorf("ValidateRetentionDays(%d) code = %q, want %q", tt.days, got, tt.wantCode)
		}
		if err != nil && ErrorMessage(err) != "The number of days must be between 3 and 90" {
			t.Errorf("ValidateRetentionDays(%d) message = %q", tt.days, ErrorMessage(err))
		}
	}
}

func TestRetention(t *testing.T) {
	loc := mustLondon(t)
	now := utc(t, "2025-01-15T10:00:00Z")
	tests := []struct {
		name      string
		retention Retention
		typ       NotificationType
		wantDays  int
		wantStart string
	}{
		{"nil retention defaults to 7 (DOMAIN §14 example)", nil, TypeEmail, 7, "2025-01-08T00:00:00Z"},
		{"type without a row", Retention{TypeSMS: 30}, TypeLetter, 7, "2025-01-08T00:00:00Z"},
		{"type with a row", Retention{TypeSMS: 30}, TypeSMS, 30, "2024-12-16T00:00:00Z"},
		{"window reaching back into BST", Retention{TypeEmail: 90}, TypeEmail, 90, "2024-10-16T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.retention.Days(tt.typ); got != tt.wantDays {
				t.Errorf("Days(%s) = %d, want %d", tt.typ, got, tt.wantDays)
			}
			if diff := cmp.Diff(utc(t, tt.wantStart), tt.retention.WindowStart(tt.typ, now, loc)); diff != "" {
				t.Errorf("WindowStart (-want +got):\n%s", diff)
			}
		})
	}
}
