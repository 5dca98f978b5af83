package notifyql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateDays(t *testing.T) {
	for _, tt := range []struct {
		days     int
		wantCode string
	}{
		{-1, EINVALID}, {0, ""}, {1, ""}, {7, ""}, {8, EINVALID}, {1 << 40, EINVALID},
	} {
		err := ValidateDays(tt.days)
		if got := ErrorCode(err); got != tt.wantCode {
			t.Errorf("ValidateDays(%d) code = %q, want %q", tt.days, got, tt.wantCode)
		}
		if err != nil && ErrorMessage(err) != "days must be between 0 and 7" {
			t.Errorf("ValidateDays(%d) message = %q", tt.days, ErrorMessage(err))
		}
	}
}

func TestFailurePercentage(t *testing.T) {
	type result struct {
		String  string
		Value   float64
		Warning bool
	}
	tests := []struct {
		requested, failed int64
		want              result
	}{
		{0, 0, result{"0", 0, false}},
		{400, 12, result{"3.0", 3.0, false}},
		{2500, 76, result{"3.0", 3.0, false}}, // 3.04 %
		{1000, 31, result{"3.1", 3.1, true}},
		{7, 1, result{"14.3", 14.3, true}},
		{10, 0, result{"0.0", 0, false}},
		{10, 10, result{"100.0", 100, true}},
		{1000, 30, result{"3.0", 3.0, false}},
		{2000, 61, result{"3.0", 3.0, false}}, // 3.05 is 3.04999… as a double
		{1000, 1, result{"0.1", 0.1, false}},
		{3, 1, result{"33.3", 33.3, true}},
	}
	for _, tt := range tests {
		tot := TypeTotals{Requested: tt.requested, Failed: tt.failed}
		got := result{tot.FailedPercentage(), tot.FailurePercentage(), tot.ShowWarning()}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%d of %d failed (-want +got):\n%s", tt.failed, tt.requested, diff)
		}
	}
}

func TestComputeTotals(t *testing.T) {
	tests := []struct {
		name string
		rows []StatusCount
		want Totals
	}{
		{"no rows", nil, Totals{}},
		{"every group, cancelled dropped", []StatusCount{
			{TemplateID: "a", Type: TypeLetter, Status: StatusCreated, Count: 2},
			{TemplateID: "a", Type: TypeLetter, Status: StatusPendingVirusCheck, Count: 1},
			{TemplateID: "a", Type: TypeLetter, Status: StatusDelivered, Count: 5},
			{TemplateID: "a", Type: TypeLetter, Status: StatusReturnedLetter, Count: 1},
			{TemplateID: "a", Type: TypeLetter, Status: StatusValidationFailed, Count: 3},
			{TemplateID: "a", Type: TypeLetter, Status: StatusCancelled, Count: 100},
		}, Totals{Letter: TypeTotals{Requested: 12, Delivered: 6, Failed: 3, Sending: 3, ByStatus: []StatusTally{
			{StatusCreated, 2}, {StatusDelivered, 5}, {StatusPendingVirusCheck, 1}, {StatusValidationFailed, 3},
			{StatusReturnedLetter, 1}, {StatusCancelled, 100},
		}}}},
		{"types kept apart, same status in several rows", []StatusCount{
			{TemplateID: "e1", Type: TypeEmail, Status: StatusDelivered, Count: 10},
			{TemplateID: "e2", Type: TypeEmail, Status: StatusDelivered, Count: 5},
			{TemplateID: "e1", Type: TypeEmail, Status: StatusPermanentFailure, Count: 1},
			{TemplateID: "s1", Type: TypeSMS, Status: StatusSent, Count: 4},
			{TemplateID: "s1", Type: TypeSMS, Status: StatusPending, Count: 2},
			{TemplateID: "s1", Type: TypeSMS, Status: StatusTemporaryFailure, Count: 1},
			{TemplateID: "s1", Type: TypeSMS, Status: StatusTechnicalFailure, Count: 1},
			{TemplateID: "x", Type: "fax", Status: StatusDelivered, Count: 99},
		}, Totals{
			Email: TypeTotals{Requested: 16, Delivered: 15, Failed: 1, Sending: 0, ByStatus: []StatusTally{
				{StatusDelivered, 15}, {StatusPermanentFailure, 1},
			}},
			SMS: TypeTotals{Requested: 8, Delivered: 4, Failed: 2, Sending: 2, ByStatus: []StatusTally{
				{StatusPending, 2}, {StatusSent, 4}, {StatusTechnicalFailure, 1}, {StatusTemporaryFailure, 1},
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ComputeTotals(tt.rows)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, typ := range NotificationTypes {
				if diff := cmp.Diff(map[NotificationType]TypeTotals{TypeEmail: got.Email, TypeSMS: got.SMS, TypeLetter: got.Letter}[typ], got.Of(typ)); diff != "" {
					t.Errorf("Of(%s) disagrees with the field", typ)
				}
			}
		})
	}
}

func TestComputeTemplateStatistics(t *testing.T) {
	tests := []struct {
		name string
		rows []StatusCount
		want []TemplateStatistic
	}{
		{"no rows", nil, []TemplateStatistic{}},
		{"sum over statuses and types, cancelled excluded, ties by id", []StatusCount{
			{TemplateID: "b", Type: TypeEmail, Status: StatusDelivered, Count: 3},
			{TemplateID: "b", Type: TypeEmail, Status: StatusFailed, Count: 1},
			{TemplateID: "a", Type: TypeEmail, Status: StatusSending, Count: 4},
			{TemplateID: "c", Type: TypeSMS, Status: StatusDelivered, Count: 9},
			{TemplateID: "c", Type: TypeSMS, Status: StatusCancelled, Count: 50},
			{TemplateID: "only-cancelled", Type: TypeLetter, Status: StatusCancelled, Count: 7},
			{TemplateID: "zero", Type: TypeLetter, Status: StatusDelivered, Count: 0},
		}, []TemplateStatistic{{"c", 9}, {"a", 4}, {"b", 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ComputeTemplateStatistics(tt.rows)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeStatusCounts(t *testing.T) {
	rows := []StatusCount{
		{TemplateID: "e", Type: TypeEmail, Status: StatusCreated, Count: 1},
		{TemplateID: "e", Type: TypeEmail, Status: StatusDelivered, Count: 10},
		{TemplateID: "e", Type: TypeEmail, Status: StatusTechnicalFailure, Count: 2},
		{TemplateID: "s", Type: TypeSMS, Status: StatusPending, Count: 3},
		{TemplateID: "s", Type: TypeSMS, Status: StatusSent, Count: 4},
		{TemplateID: "l", Type: TypeLetter, Status: StatusReturnedLetter, Count: 1},
		{TemplateID: "l", Type: TypeLetter, Status: StatusVirusScanFailed, Count: 1},
		{TemplateID: "l", Type: TypeLetter, Status: StatusCancelled, Count: 6},
	}
	email, sms, letter, fax := TypeEmail, TypeSMS, TypeLetter, NotificationType("fax")
	tests := []struct {
		name string
		typ  *NotificationType
		want StatusCounts
	}{
		{"all types", nil, StatusCounts{Total: 22, Sending: 4, Delivered: 15, Failed: 3}},
		{"email", &email, StatusCounts{Total: 13, Sending: 1, Delivered: 10, Failed: 2}},
		{"sms", &sms, StatusCounts{Total: 7, Sending: 3, Delivered: 4, Failed: 0}},
		{"letter, cancelled dropped", &letter, StatusCounts{Total: 2, Sending: 0, Delivered: 1, Failed: 1}},
		{"unknown type", &fax, StatusCounts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ComputeStatusCounts(rows, tt.typ)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.Sending+got.Delivered+got.Failed != got.Total {
				t.Errorf("pills do not add up to the total: %+v", got)
			}
		})
	}
}
