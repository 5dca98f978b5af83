package notifyql

import (
	"cmp"
	"slices"
)

// BillingRow is ft_billing (DOMAIN.md §3.5, §4.2) as ReportingStore.BillingRows returns it:
// rows summed per day, type, rate, postage, rate multiplier and international, with
// TemplateID and Provider "" (an unsummed row may carry them; ComputeUsage gives the same
// figures either way). Rate is the price per chargeable unit for SMS and per letter for
// letters. Postage is "none" for SMS and email, otherwise the stored post class.
type BillingRow struct {
	Date              Date
	Type              NotificationType
	TemplateID        string
	Provider          string
	RateMultiplier    int
	International     bool
	Rate              Money
	Postage           string
	BillableUnits     int64
	NotificationsSent int64
}

// chargeableUnits is billable_units × rate_multiplier, the units an SMS row consumes.
func (r BillingRow) chargeableUnits() int64 { return r.BillableUnits * int64(r.RateMultiplier) }

// SMSCharge is what was charged at one SMS rate: the units beyond the free allowance.
type SMSCharge struct {
	Rate    SMSRate
	Charged int64
	Cost    Money
}

// AnnualLabel is the annual breakdown line, "700 at 2.33 pence per message".
func (c SMSCharge) AnnualLabel() string {
	return FormatCount(c.Charged) + " at " + c.Rate.PencePerMessage() + " pence per message"
}

// MonthlyLabel is the monthly breakdown line, "300 text messages at 2.33p".
func (c SMSCharge) MonthlyLabel() string {
	return countOf(c.Charged, "text message", "text messages") + " at " + c.Rate.Display()
}

// countOf writes "1 letter" or "1,234 letters".
func countOf(n int64, singular, plural string) string {
	if n == 1 {
		return FormatCount(n) + " " + singular
	}
	return FormatCount(n) + " " + plural
}

// PostageGroup is how the monthly breakdown groups post classes (DOMAIN.md §10.5).
type PostageGroup string

const (
	PostageGroupFirst         PostageGroup = "first class"
	PostageGroupSecond        PostageGroup = "second class"
	PostageGroupEconomy       PostageGroup = "economy mail"
	PostageGroupInternational PostageGroup = "international"
)

// PostageGroupOf maps a stored post class to its group: europe and rest-of-world are both
// international. An unknown class is its own group, so nothing is silently merged.
func PostageGroupOf(postage string) PostageGroup {
	switch Postage(postage) {
	case PostageFirst:
		return PostageGroupFirst
	case PostageSecond:
		return PostageGroupSecond
	case PostageEconomy:
		return PostageGroupEconomy
	case PostageEurope, PostageRestOfWorld:
		return PostageGroupInternational
	}
	return PostageGroup(postage)
}

// comparePostageGroups orders first, second, economy, international, then unknown groups by
// name.
func comparePostageGroups(a, b PostageGroup) int {
	rank := func(g PostageGroup) int {
		switch g {
		case PostageGroupFirst:
			return 0
		case PostageGroupSecond:
			return 1
		case PostageGroupEconomy:
			return 2
		case PostageGroupInternational:
			return 3
		}
		return 4
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}

// LetterCharge is what the letters of one postage group sent at one rate cost.
type LetterCharge struct {
	Group PostageGroup
	Rate  UnitPrice
	Sent  int64
	Cost  Money
}

// Label is the monthly breakdown line, "2 first class letters at £1.49".
func (c LetterCharge) Label() string {
	group := string(c.Group)
	return countOf(c.Sent, group+" letter", group+" letters") + " at " + c.Rate.Display()
}

// AnnualUsage is a financial year's usage (DOMAIN.md §10.4). SMSSent counts chargeable units
// (fragments × multiplier), not messages. SMSAllowanceRemaining is nil when the allowance
// is 0, because the page then shows no remainder at all.
type AnnualUsage struct {
	FinancialYear         FinancialYear
	SMSFreeAllowance      int64
	SMSSent               int64
	SMSAllowanceRemaining *int64
	SMSCost               Money
	SMSBreakdown          []SMSCharge
	EmailsSent            int64
	LettersSent           int64
	LetterCost            Money
}

// MonthlyUsage is one listed month's usage (DOMAIN.md §10.5); email is left out.
type MonthlyUsage struct {
	Month                Month
	SMSFreeAllowanceUsed int64
	SMSCost              Money
	SMSBreakdown         []SMSCharge
	LetterBreakdown      []LetterCharge
	LetterCost           Money
	Total                Money
}

// FreeAllowanceLabel is "400 free text messages", or "1 free text message".
func (m MonthlyUsage) FreeAllowanceLabel() string {
	return countOf(m.SMSFreeAllowanceUsed, "free text message", "free text messages")
}

// IsEmpty reports whether the month has nothing to show: no free use, no SMS cost and no
// letters. The page shows "–" for it.
func (m MonthlyUsage) IsEmpty() bool {
	return m.SMSFreeAllowanceUsed == 0 && m.SMSCost == 0 && len(m.LetterBreakdown) == 0
}

// ComputeUsage applies DOMAIN.md §10.3–10.5 to the ft_billing rows of a service: SMS rows
// consume the free allowance in the order of the §10.3 window (bst_date, template_id,
// provider, rate_multiplier, international), and what is left over is charged at the row's
// rate. Letters cost sent × rate and use no allowance; email costs nothing. Rows dated
// outside fy are ignored. The monthly figures list exactly the given months, in order.
// All sums are exact; only the display methods round.
func ComputeUsage(fy FinancialYear, allowance int64, rows []BillingRow, months []Month) (AnnualUsage, []MonthlyUsage) {
	annual := AnnualUsage{FinancialYear: fy, SMSFreeAllowance: allowance, SMSBreakdown: []SMSCharge{}}
	monthly := make([]MonthlyUsage, len(months))
	index := make(map[Month]int, len(months))
	for i, m := range months {
		monthly[i] = MonthlyUsage{Month: m, SMSBreakdown: []SMSCharge{}, LetterBreakdown: []LetterCharge{}}
		index[m] = i
	}
	monthOf := func(r BillingRow) *MonthlyUsage {
		if i, ok := index[MonthOf(r.Date)]; ok {
			return &monthly[i]
		}
		return nil
	}

	inYear := make([]BillingRow, 0, len(rows))
	for _, r := range rows {
		if !r.Date.Before(fy.FirstDay()) && !r.Date.After(fy.LastDay()) {
			inYear = append(inYear, r)
		}
	}
	// The §10.3 window order. Rate and postage complete the ft_billing key so that the
	// split is the same whatever order the rows arrived in.
	slices.SortStableFunc(inYear, func(a, b BillingRow) int {
		return cmp.Or(
			compareDates(a.Date, b.Date),
			cmp.Compare(a.TemplateID, b.TemplateID),
			cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.RateMultiplier, b.RateMultiplier),
			compareBools(a.International, b.International),
			cmp.Compare(a.Rate, b.Rate),
			cmp.Compare(a.Postage, b.Postage),
		)
	})

	var consumed int64
	for _, r := range inYear {
		switch r.Type {
		case TypeEmail:
			annual.EmailsSent += r.NotificationsSent
		case TypeSMS:
			units := r.chargeableUnits()
			leftBefore := max(allowance-consumed, 0)
			consumed += units
			free := min(leftBefore, units)
			charged := units - free
			cost := r.Rate.Times(charged)
			annual.SMSSent += units
			annual.SMSCost = annual.SMSCost.Plus(cost)
			annual.SMSBreakdown = addSMSCharge(annual.SMSBreakdown, SMSRate(r.Rate), charged, cost)
			if m := monthOf(r); m != nil {
				m.SMSFreeAllowanceUsed += free
				m.SMSCost = m.SMSCost.Plus(cost)
				m.SMSBreakdown = addSMSCharge(m.SMSBreakdown, SMSRate(r.Rate), charged, cost)
			}
		case TypeLetter:
			cost := r.Rate.Times(r.NotificationsSent)
			annual.LettersSent += r.NotificationsSent
			annual.LetterCost = annual.LetterCost.Plus(cost)
			if m := monthOf(r); m != nil && r.NotificationsSent != 0 {
				m.LetterCost = m.LetterCost.Plus(cost)
				m.LetterBreakdown = addLetterCharge(m.LetterBreakdown, PostageGroupOf(r.Postage), UnitPrice(r.Rate), r.NotificationsSent, cost)
			}
		}
	}
	if allowance > 0 {
		remaining := max(allowance-annual.SMSSent, 0)
		annual.SMSAllowanceRemaining = &remaining
	}
	for i := range monthly {
		monthly[i].Total = monthly[i].SMSCost.Plus(monthly[i].LetterCost)
	}
	return annual, monthly
}

// addSMSCharge adds a charge to the breakdown, kept in rate order; nothing charged adds no
// entry, because the breakdown lists only rates something was paid at.
func addSMSCharge(breakdown []SMSCharge, rate SMSRate, charged int64, cost Money) []SMSCharge {
	if charged == 0 {
		return breakdown
	}
	at, found := slices.BinarySearchFunc(breakdown, rate, func(c SMSCharge, r SMSRate) int { return cmp.Compare(c.Rate, r) })
	if !found {
		breakdown = slices.Insert(breakdown, at, SMSCharge{Rate: rate})
	}
	breakdown[at].Charged += charged
	breakdown[at].Cost = breakdown[at].Cost.Plus(cost)
	return breakdown
}

// addLetterCharge adds letters to the breakdown, kept in group order, then rate ascending.
func addLetterCharge(breakdown []LetterCharge, group PostageGroup, rate UnitPrice, sent int64, cost Money) []LetterCharge {
	at, found := slices.BinarySearchFunc(breakdown, LetterCharge{Group: group, Rate: rate}, func(a, b LetterCharge) int {
		return cmp.Or(comparePostageGroups(a.Group, b.Group), cmp.Compare(a.Rate, b.Rate))
	})
	if !found {
		breakdown = slices.Insert(breakdown, at, LetterCharge{Group: group, Rate: rate})
	}
	breakdown[at].Sent += sent
	breakdown[at].Cost = breakdown[at].Cost.Plus(cost)
	return breakdown
}

func compareDates(a, b Date) int {
	return cmp.Or(cmp.Compare(a.Year, b.Year), cmp.Compare(a.Month, b.Month), cmp.Compare(a.Day, b.Day))
}

func compareBools(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
