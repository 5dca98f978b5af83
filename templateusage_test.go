package notifyql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestComputeTemplateUsage(t *testing.T) {
	apr, may, jun := month(2025, 4), month(2025, 5), month(2025, 6)
	row := func(id, name string, m Month, n int64) TemplateUsageRow {
		return TemplateUsageRow{TemplateID: id, Name: name, Type: TypeSMS, Month: m, Count: n}
	}
	tests := []struct {
		name   string
		rows   []TemplateUsageRow
		months []Month
		want   []TemplateUsageMonth
	}{
		{"no months", nil, nil, []TemplateUsageMonth{}},
		{"every month listed, empty ones too", nil, []Month{apr, may}, []TemplateUsageMonth{
			{Month: apr, Templates: []TemplateUsageRow{}}, {Month: may, Templates: []TemplateUsageRow{}},
		}},
		{"summed per template and month, sorted by count, then name, then id", []TemplateUsageRow{
			row("t1", "Reminder", apr, 5),
			row("t2", "Appointment", apr, 7),
			row("t1", "Reminder", apr, 2), // today's live rows
			row("t3", "Appointment", apr, 7),
			row("t4", "Zebra", apr, 9),
			row("t1", "Reminder", may, 1),
			row("t9", "Not listed", jun, 100),
		}, []Month{apr, may}, []TemplateUsageMonth{
			{Month: apr, Templates: []TemplateUsageRow{
				row("t4", "Zebra", apr, 9),
				row("t2", "Appointment", apr, 7),
				row("t3", "Appointment", apr, 7),
				row("t1", "Reminder", apr, 7),
			}},
			{Month: may, Templates: []TemplateUsageRow{row("t1", "Reminder", may, 1)}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ComputeTemplateUsage(tt.rows, tt.months)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTemplateUsageRowIsPrecompiledLetter(t *testing.T) {
	for _, tt := range []struct {
		row  TemplateUsageRow
		want bool
	}{
		{TemplateUsageRow{Name: PrecompiledLetterName, Type: TypeLetter, Hidden: true}, true},
		{TemplateUsageRow{Name: "Letter", Type: TypeLetter, Hidden: false}, false},
		{TemplateUsageRow{Name: "Reminder", Type: TypeSMS}, false},
	} {
		if got := tt.row.IsPrecompiledLetter(); got != tt.want {
			t.Errorf("%+v: IsPrecompiledLetter = %v, want %v", tt.row, got, tt.want)
		}
	}
}
