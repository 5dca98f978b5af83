package notifyql

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// MaxDashboardDays is the longest window the dashboard's "last N days" accepts (DOMAIN.md §5.1).
const MaxDashboardDays = 7

// ValidateDays checks the dashboard window argument: an integer from 0 to 7.
func ValidateDays(days int) error {
	if days < 0 || days > MaxDashboardDays {
		return Errorf(EINVALID, "days must be between 0 and 7")
	}
	return nil
}

// TypeTotals are the dashboard figures of one notification type (DOMAIN.md §5.2). Sending is
// whatever is requested but neither delivered nor failed, so the parts always add up.
// ByStatus is the count of every status that occurs, cancelled included, in
// NotificationStatuses order (DOMAIN.md §8).
type TypeTotals struct {
	Requested, Delivered, Failed, Sending int64
	ByStatus                              []StatusTally
}

// StatusTally is how many notifications of one type have one status.
type StatusTally struct {
	Status NotificationStatus
	Count  int64
}

// FailedPercentage is the display string of the failure rate: "0" when nothing was
// requested, otherwise failed ÷ requested × 100 as an IEEE double, in that order, formatted
// with exactly one decimal. That order reproduces the reference product's rounding.
func (t TypeTotals) FailedPercentage() string {
	if t.Requested == 0 {
		return "0"
	}
	return fmt.Sprintf("%.1f", float64(t.Failed)/float64(t.Requested)*100)
}

// FailurePercentage is FailedPercentage parsed back: the rate rounded to one decimal.
func (t TypeTotals) FailurePercentage() float64 {
	v, err := strconv.ParseFloat(t.FailedPercentage(), 64)
	if err != nil {
		// %.1f of a finite double always parses; NaN or Inf cannot arise from int64 inputs
		// with a non-zero divisor.
		return 0
	}
	return v
}

// ShowWarning reports whether the rounded failure rate is strictly above 3%.
func (t TypeTotals) ShowWarning() bool { return t.FailurePercentage() > 3.0 }

// add counts n notifications of a status; cancelled rows count only in ByStatus.
func (t *TypeTotals) add(s NotificationStatus, n int64) {
	t.tally(s, n)
	if s == StatusCancelled {
		return
	}
	t.Requested += n
	switch g, _ := s.Group(); g {
	case GroupDelivered:
		t.Delivered += n
	case GroupFailed:
		t.Failed += n
	}
	t.Sending = t.Requested - t.Delivered - t.Failed
}

// tally adds n to the status's entry in ByStatus, inserting it where NotificationStatuses
// order puts it; statuses outside that list go last, by name.
func (t *TypeTotals) tally(s NotificationStatus, n int64) {
	if n == 0 {
		return
	}
	at, found := slices.BinarySearchFunc(t.ByStatus, s, func(e StatusTally, s NotificationStatus) int {
		return compareStatusOrder(e.Status, s)
	})
	if found {
		t.ByStatus[at].Count += n
		return
	}
	t.ByStatus = slices.Insert(t.ByStatus, at, StatusTally{Status: s, Count: n})
}

// compareStatusOrder orders statuses as NotificationStatuses lists them, unknown ones last.
func compareStatusOrder(a, b NotificationStatus) int {
	rank := func(s NotificationStatus) int {
		if i := slices.Index(NotificationStatuses, s); i >= 0 {
			return i
		}
		return len(NotificationStatuses)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}

// Totals are the dashboard's per-type figures.
type Totals struct {
	Email, SMS, Letter TypeTotals
}

// Of returns the totals of one type; the zero value for an unknown type.
func (t Totals) Of(typ NotificationType) TypeTotals {
	switch typ {
	case TypeEmail:
		return t.Email
	case TypeSMS:
		return t.SMS
	case TypeLetter:
		return t.Letter
	}
	return TypeTotals{}
}

// ComputeTotals sums status counts into per-type totals, dropping cancelled rows
// (DOMAIN.md §5.2). Rows of unknown types are ignored.
func ComputeTotals(rows []StatusCount) Totals {
	var totals Totals
	for _, r := range rows {
		switch r.Type {
		case TypeEmail:
			totals.Email.add(r.Status, r.Count)
		case TypeSMS:
			totals.SMS.add(r.Status, r.Count)
		case TypeLetter:
			totals.Letter.add(r.Status, r.Count)
		}
	}
	return totals
}

// TemplateStatistic is how many notifications one template was used for.
type TemplateStatistic struct {
	TemplateID string
	Count      int64
}

// ComputeTemplateStatistics sums status counts per template, excluding cancelled, and
// sorts them by count descending, then template id ascending (DOMAIN.md §5.3). Templates
// with nothing left to count are dropped.
func ComputeTemplateStatistics(rows []StatusCount) []TemplateStatistic {
	counts := make(map[string]int64)
	for _, r := range rows {
		if r.Status == StatusCancelled {
			continue
		}
		counts[r.TemplateID] += r.Count
	}
	stats := make([]TemplateStatistic, 0, len(counts))
	for id, n := range counts {
		if n > 0 {
			stats = append(stats, TemplateStatistic{TemplateID: id, Count: n})
		}
	}
	slices.SortFunc(stats, func(a, b TemplateStatistic) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.TemplateID, b.TemplateID)
	})
	return stats
}

// WindowCounts are a window's status counts in the two shapes the dashboard shows them:
// ByStatus, one row per type and status (cancelled included; TemplateID is empty), from
// which ComputeTotals and ComputeStatusCounts work, ordered by type then status as their
// bytes compare; and ByTemplate, the template statistics (ComputeTemplateStatistics' rule
// and order). A busy service's window has a
// few rows per template, type and status; its summary has a few dozen.
type WindowCounts struct {
	ByStatus   []StatusCount
	ByTemplate []TemplateStatistic
}

// StatusCounts are the notifications list's status pills (DOMAIN.md §6.2). Sending is the
// "delivering" pill; Sending + Delivered + Failed == Total always holds.
type StatusCounts struct {
	Total, Sending, Delivered, Failed int64
}

// ComputeStatusCounts sums status counts of one type, or of every type when typ is nil,
// dropping cancelled rows.
func ComputeStatusCounts(rows []StatusCount, typ *NotificationType) StatusCounts {
	var t TypeTotals
	for _, r := range rows {
		if typ != nil && r.Type != *typ {
			continue
		}
		t.add(r.Status, r.Count)
	}
	return StatusCounts{Total: t.Requested, Sending: t.Sending, Delivered: t.Delivered, Failed: t.Failed}
}
