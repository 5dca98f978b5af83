package notifyql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// referenceDefaults are the default_annual_allowance rows of DOMAIN.md §3.6 for three of the
// organisation types.
func referenceDefaults() []DefaultAllowance {
	var rows []DefaultAllowance
	add := func(orgType string, byYear map[FinancialYear]int64) {
		for y, n := range byYear {
			rows = append(rows, DefaultAllowance{ValidFrom: y, OrganisationType: orgType, Allowance: n})
		}
	}
	add("central", map[FinancialYear]int64{2016: 250000, 2021: 150000, 2022: 40000, 2023: 40000, 2024: 30000, 2026: 20000})
	add("other", map[FinancialYear]int64{2016: 25000, 2021: 10000, 2022: 10000, 2023: 10000, 2024: 5000, 2026: 5000})
	add("nhs_gp", map[FinancialYear]int64{2016: 25000, 2021: 10000, 2022: 10000, 2023: 10000, 2024: 0, 2026: 0})
	add("nhs_notify", map[FinancialYear]int64{2016: 0})
	return rows
}

func TestDefaultAllowanceFor(t *testing.T) {
	defaults := referenceDefaults()
	central, gp, notify, unknown := "central", "nhs_gp", "nhs_notify", "martian"
	for _, tt := range []struct {
		orgType *string
		fy      FinancialYear
		want    int64
	}{
		{&central, 2016, 250000},
		{&central, 2020, 250000},
		{&central, 2021, 150000},
		{&central, 2024, 30000},
		{&central, 2025, 30000}, // no 2025 row: the 2024 one stays in force
		{&central, 2026, 20000},
		{&central, 2030, 20000},
		{&central, 2015, 0}, // nothing in force yet
		{nil, 2025, 5000},   // no organisation type counts as "other"
		{nil, 2019, 25000},
		{&gp, 2023, 10000},
		{&gp, 2024, 0},
		{&notify, 2025, 0},
		{&unknown, 2025, 0},
	} {
		name := "nil"
		if tt.orgType != nil {
			name = *tt.orgType
		}
		if got := DefaultAllowanceFor(defaults, tt.orgType, tt.fy); got != tt.want {
			t.Errorf("DefaultAllowanceFor(%s, %d) = %d, want %d", name, tt.fy, got, tt.want)
		}
	}
	if got := DefaultAllowanceFor(nil, nil, 2025); got != 0 {
		t.Errorf("with no defaults = %d, want 0", got)
	}
}

func TestDecideAllowance(t *testing.T) {
	custom := &AnnualBilling{ServiceID: "s", FinancialYear: 2024, FreeSMSFragmentLimit: 77777, HasCustomAllowance: true}
	notCustom := &AnnualBilling{ServiceID: "s", FinancialYear: 2024, FreeSMSFragmentLimit: 77777}
	for _, tt := range []struct {
		name      string
		lastUnits int64
		lastYear  *AnnualBilling
		want      AnnualBilling
	}{
		{"default when nothing special", 0, nil, AnnualBilling{FinancialYear: 2025, FreeSMSFragmentLimit: 30000}},
		{"just under the threshold", HighVolumeThreshold - 1, nil, AnnualBilling{FinancialYear: 2025, FreeSMSFragmentLimit: 30000}},
		{"high volume at the threshold", HighVolumeThreshold, nil, AnnualBilling{FinancialYear: 2025, HighVolumeServiceLastYear: true}},
		{"high volume beats a custom allowance", 1000000, custom, AnnualBilling{FinancialYear: 2025, HighVolumeServiceLastYear: true}},
		{"custom allowance carries over", 10, custom, AnnualBilling{FinancialYear: 2025, FreeSMSFragmentLimit: 77777, HasCustomAllowance: true}},
		{"a non-custom allowance does not carry over", 10, notCustom, AnnualBilling{FinancialYear: 2025, FreeSMSFragmentLimit: 30000}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, DecideAllowance(2025, tt.lastUnits, tt.lastYear, 30000)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetAllowance(t *testing.T) {
	current := AnnualBilling{ServiceID: "s", FinancialYear: 2025, FreeSMSFragmentLimit: 0, HighVolumeServiceLastYear: true}
	for _, tt := range []struct {
		name     string
		newLimit int64
		want     AnnualBilling
		wantCode string
	}{
		{"custom", 50000, AnnualBilling{ServiceID: "s", FinancialYear: 2025, FreeSMSFragmentLimit: 50000, HighVolumeServiceLastYear: true, HasCustomAllowance: true}, ""},
		{"back to the default", 30000, AnnualBilling{ServiceID: "s", FinancialYear: 2025, FreeSMSFragmentLimit: 30000, HighVolumeServiceLastYear: true}, ""},
		{"zero is custom", 0, AnnualBilling{ServiceID: "s", FinancialYear: 2025, HighVolumeServiceLastYear: true, HasCustomAllowance: true}, ""},
		{"negative", -1, AnnualBilling{}, EINVALID},
		{"the column's largest", MaxFreeSMSAllowance, AnnualBilling{ServiceID: "s", FinancialYear: 2025, FreeSMSFragmentLimit: MaxFreeSMSAllowance, HighVolumeServiceLastYear: true, HasCustomAllowance: true}, ""},
		{"past the column", MaxFreeSMSAllowance + 1, AnnualBilling{}, EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetAllowance(current, tt.newLimit, 30000)
			if code := ErrorCode(err); code != tt.wantCode {
				t.Fatalf("code = %q, want %q", code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
