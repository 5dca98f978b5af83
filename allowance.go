package notifyql

// AnnualBilling is a service's free SMS allowance for one financial year, the
// annual_billing row (DOMAIN.md §3.6).
type AnnualBilling struct {
	ServiceID                 string
	FinancialYear             FinancialYear
	FreeSMSFragmentLimit      int64
	HighVolumeServiceLastYear bool
	HasCustomAllowance        bool
}

// DefaultAllowance is one default_annual_allowance row: the free SMS fragments an
// organisation type gets from a financial year on, until a later row replaces it.
type DefaultAllowance struct {
	ValidFrom        FinancialYear
	OrganisationType string
	Allowance        int64
}

// OrganisationTypeOther is the organisation type a service without one is treated as.
const OrganisationTypeOther = "other"

// HighVolumeThreshold is the number of chargeable SMS units in a year at or above which a
// service gets no free allowance the next year (DOMAIN.md §10.1).
const HighVolumeThreshold = 300000

// DefaultAllowanceFor is the allowance in force for FY fy and an organisation type: the row
// with the greatest ValidFrom ≤ fy. A nil organisation type counts as "other"; with no row
// in force the allowance is 0.
func DefaultAllowanceFor(defaults []DefaultAllowance, orgType *string, fy FinancialYear) int64 {
	want := OrganisationTypeOther
	if orgType != nil {
		want = *orgType
	}
	var best *DefaultAllowance
	for i := range defaults {
		d := &defaults[i]
		if d.OrganisationType != want || d.ValidFrom > fy {
			continue
		}
		if best == nil || d.ValidFrom > best.ValidFrom {
			best = d
		}
	}
	if best == nil {
		return 0
	}
	return best.Allowance
}

// DecideAllowance is the row to create when FY fy has none (DOMAIN.md §10.1): no allowance
// after a high-volume year, otherwise last year's custom allowance, otherwise the default.
// lastYearChargeableUnits is Σ billable_units × rate_multiplier of the service's SMS in
// fy−1; lastYear is that year's row, nil when there is none. ServiceID is left for the
// caller.
func DecideAllowance(fy FinancialYear, lastYearChargeableUnits int64, lastYear *AnnualBilling, defaultAllowance int64) AnnualBilling {
	switch {
	case lastYearChargeableUnits >= HighVolumeThreshold:
		return AnnualBilling{FinancialYear: fy, FreeSMSFragmentLimit: 0, HighVolumeServiceLastYear: true}
	case lastYear != nil && lastYear.HasCustomAllowance:
		return AnnualBilling{FinancialYear: fy, FreeSMSFragmentLimit: lastYear.FreeSMSFragmentLimit, HasCustomAllowance: true}
	default:
		return AnnualBilling{FinancialYear: fy, FreeSMSFragmentLimit: defaultAllowance}
	}
}

// MaxFreeSMSAllowance is the largest free allowance that can be stored:
// annual_billing.free_sms_fragment_limit is a PostgreSQL integer.
const MaxFreeSMSAllowance = 1<<31 - 1

// ValidateAllowance refuses, with EINVALID, a free allowance that is negative or larger
// than its column holds, before it reaches the store.
func ValidateAllowance(limit int64) error {
	switch {
	case limit < 0:
		return Errorf(EINVALID, "the free text message allowance cannot be negative")
	case limit > MaxFreeSMSAllowance:
		return Errorf(EINVALID, "the free text message allowance must be at most %d", MaxFreeSMSAllowance)
	}
	return nil
}

// SetAllowance is the platform admin's change of the allowance: the new limit, marked
// custom exactly when it differs from the organisation default (DOMAIN.md §10.1).
func SetAllowance(current AnnualBilling, newLimit int64, defaultAllowance int64) (AnnualBilling, error) {
	if err := ValidateAllowance(newLimit); err != nil {
		return AnnualBilling{}, err
	}
	current.FreeSMSFragmentLimit = newLimit
	current.HasCustomAllowance = newLimit != defaultAllowance
	return current, nil
}
