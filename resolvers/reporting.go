package resolvers

import (
	"context"

	"notifyql"
	"notifyql/graph"
)

// financialYear reads an optional financial-year argument: the current year when it is
// left out, and EINVALID for a year before 2016 or after the current one.
func (r *Resolver) financialYear(arg *int) (notifyql.FinancialYear, error) {
	now := r.now()
	if arg == nil {
		return notifyql.FinancialYearOf(now, r.london), nil
	}
	if err := notifyql.ValidateFinancialYear(*arg, now, r.london); err != nil {
		return 0, err
	}
	return notifyql.FinancialYear(*arg), nil
}

func (r *Resolver) financialYearOption(y notifyql.FinancialYear) *graph.FinancialYearOption {
	return &graph.FinancialYearOption{Year: int(y), Label: y.Label(), Current: y == notifyql.FinancialYearOf(r.now(), r.london)}
}

func (r serviceResolver) FinancialYears(ctx context.Context, s *notifyql.Service) ([]*graph.FinancialYearOption, error) {
	years := notifyql.FinancialYearOptions(r.now(), r.london)
	options := make([]*graph.FinancialYearOption, len(years))
	for i, y := range years {
		options[i] = r.financialYearOption(y)
	}
	return options, nil
}

func (r serviceResolver) MonthlyStatistics(ctx context.Context, s *notifyql.Service, financialYear *int) ([]*notifyql.MonthlyStatistics, error) {
	fy, err := r.financialYear(financialYear)
	if err != nil {
		return nil, err
	}
	now := r.now()
	rows, err := r.reporting.MonthlyStatusCounts(ctx, s.ID, fy, now)
	if err != nil {
		return nil, err
	}
	return pointersTo(notifyql.ComputeMonthlyStatistics(rows, fy.Months(now, r.london))), nil
}

func (r serviceResolver) TemplateUsage(ctx context.Context, s *notifyql.Service, financialYear *int) ([]*notifyql.TemplateUsageMonth, error) {
	fy, err := r.financialYear(financialYear)
	if err != nil {
		return nil, err
	}
	now := r.now()
	rows, err := r.reporting.TemplateUsage(ctx, s.ID, fy, now)
	if err != nil {
		return nil, err
	}
	return pointersTo(notifyql.ComputeTemplateUsage(rows, fy.Months(now, r.london))), nil
}

func (r serviceResolver) Usage(ctx context.Context, s *notifyql.Service, financialYear *int) (*graph.Usage, error) {
	fy, err := r.financialYear(financialYear)
	if err != nil {
		return nil, err
	}
	annual, months, err := r.usage(ctx, s, fy)
	if err != nil {
		return nil, err
	}
	return &graph.Usage{FinancialYear: r.financialYearOption(fy), Annual: &annual, Months: pointersTo(months)}, nil
}

func (r serviceResolver) UsageThisYear(ctx context.Context, s *notifyql.Service) (*notifyql.AnnualUsage, error) {
	annual, _, err := r.usage(ctx, s, notifyql.FinancialYearOf(r.now(), r.london))
	if err != nil {
		return nil, err
	}
	return &annual, nil
}

// usage computes a year's usage from its ft_billing rows, rebuilding London today's rows
// for the service first when the year is the current one (DOMAIN.md §10.5).
func (r *Resolver) usage(ctx context.Context, s *notifyql.Service, fy notifyql.FinancialYear) (notifyql.AnnualUsage, []notifyql.MonthlyUsage, error) {
	now := r.now()
	allowance, err := r.reporting.EnsureAllowance(ctx, s.ID, fy)
	if err != nil {
		return notifyql.AnnualUsage{}, nil, err
	}
	if fy == notifyql.FinancialYearOf(now, r.london) {
		if err := r.billing.RebuildBilling(ctx, s.ID, notifyql.LondonDate(now, r.london)); err != nil {
			return notifyql.AnnualUsage{}, nil, err
		}
	}
	rows, err := r.reporting.BillingRows(ctx, s.ID, fy)
	if err != nil {
		return notifyql.AnnualUsage{}, nil, err
	}
	annual, months := notifyql.ComputeUsage(fy, allowance.FreeSMSFragmentLimit, rows, fy.Months(now, r.london))
	return annual, months, nil
}

func (r serviceResolver) FreeSmsAllowance(ctx context.Context, s *notifyql.Service, financialYear *int) (*graph.FreeSmsAllowance, error) {
	fy, err := r.financialYear(financialYear)
	if err != nil {
		return nil, err
	}
	allowance, err := r.reporting.EnsureAllowance(ctx, s.ID, fy)
	if err != nil {
		return nil, err
	}
	return freeSmsAllowance(allowance), nil
}

func freeSmsAllowance(a *notifyql.AnnualBilling) *graph.FreeSmsAllowance {
	return &graph.FreeSmsAllowance{
		FinancialYear:             int(a.FinancialYear),
		Allowance:                 int(a.FreeSMSFragmentLimit),
		HighVolumeServiceLastYear: a.HighVolumeServiceLastYear,
		HasCustomAllowance:        a.HasCustomAllowance,
	}
}

type mutationResolver struct{ *Resolver }

// SetFreeSmsAllowance changes the current year's allowance (DOMAIN.md §10.1, §16: platform
// admins only). Others are told the service does not exist unless they can open it.
func (r mutationResolver) SetFreeSmsAllowance(ctx context.Context, serviceID string, allowance int) (*graph.FreeSmsAllowance, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if err := notifyql.ValidateAllowance(int64(allowance)); err != nil {
		return nil, err
	}
	svc, err := r.serviceByID(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	if !p.CanOpen(serviceFacts(svc)) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	if !p.User.PlatformAdmin {
		return nil, notifyql.Errorf(notifyql.EFORBIDDEN, "only platform admins can change the free allowance")
	}
	row, err := r.reporting.SetAllowance(ctx, svc.ID, notifyql.FinancialYearOf(r.now(), r.london), int64(allowance))
	if err != nil {
		return nil, err
	}
	return freeSmsAllowance(row), nil
}

type annualUsageResolver struct{ *Resolver }

func (r annualUsageResolver) EmailAllowance(ctx context.Context, u *notifyql.AnnualUsage) (string, error) {
	return "Unlimited", nil
}

type letterChargeResolver struct{ *Resolver }

func (r letterChargeResolver) Postage(ctx context.Context, c *notifyql.LetterCharge) (string, error) {
	return string(c.Group), nil
}

type monthlyUsageResolver struct{ *Resolver }

func (r monthlyUsageResolver) SmsFreeAllowanceUsedLabel(ctx context.Context, u *notifyql.MonthlyUsage) (string, error) {
	return u.FreeAllowanceLabel(), nil
}
