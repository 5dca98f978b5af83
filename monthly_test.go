package notifyql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestComputeMonthlyStatistics(t *testing.T) {
	apr, may, jun := month(2025, 4), month(2025, 5), month(2025, 6)
	tests := []struct {
		name   string
		rows   []MonthlyStatusCount
		months []Month
		want   []MonthlyStatistics
	}{
		{"no months", nil, nil, []MonthlyStatistics{}},
		{"months without rows are zero", nil, []Month{apr, may}, []MonthlyStatistics{{Month: apr}, {Month: may}}},
		{"facts and today's live rows add up; cancelled only in ByStatus", []MonthlyStatusCount{
			{Month: may, Type: TypeSMS, Status: StatusDelivered, Count: 90},
			{Month: may, Type: TypeSMS, Status: StatusPermanentFailure, Count: 4},
			{Month: may, Type: TypeSMS, Status: StatusDelivered, Count: 6}, // today's live rows
			{Month: may, Type: TypeSMS, Status: StatusCancelled, Count: 50},
			{Month: may, Type: TypeSMS, Status: StatusCreated, Count: 2},
			{Month: apr, Type: TypeEmail, Status: StatusSending, Count: 3},
			{Month: apr, Type: TypeLetter, Status: StatusCancelled, Count: 1},
			{Month: jun, Type: TypeEmail, Status: StatusDelivered, Count: 1000}, // not listed
			{Month: apr, Type: "fax", Status: StatusDelivered, Count: 1000},
		}, []Month{apr, may}, []MonthlyStatistics{
			{
				Month:  apr,
				Email:  TypeTotals{Requested: 3, Sending: 3, ByStatus: []StatusTally{{StatusSending, 3}}},
				Letter: TypeTotals{ByStatus: []StatusTally{{StatusCancelled, 1}}},
			},
			{
				Month: may,
				SMS: TypeTotals{Requested: 102, Delivered: 96, Failed: 4, Sending: 2, ByStatus: []StatusTally{
					{StatusCreated, 2}, {StatusDelivered, 96}, {StatusPermanentFailure, 4}, {StatusCancelled, 50},
				}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ComputeMonthlyStatistics(tt.rows, tt.months)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMonthlyStatisticsWarning(t *testing.T) {
	apr := month(2025, 4)
	stats := ComputeMonthlyStatistics([]MonthlyStatusCount{
		{Month: apr, Type: TypeSMS, Status: StatusDelivered, Count: 969},
		{Month: apr, Type: TypeSMS, Status: StatusTemporaryFailure, Count: 31},
	}, []Month{apr})
	sms := stats[0].SMS
	if sms.FailedPercentage() != "3.1" || !sms.ShowWarning() {
		t.Errorf("31 of 1,000 failed: %q warning=%v, want \"3.1\" true", sms.FailedPercentage(), sms.ShowWarning())
	}
}
