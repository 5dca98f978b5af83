package notifyql

// MonthlyStatusCount is a count of notifications of one type and status in one London
// month, the row monthly statistics are computed from (DOMAIN.md §8).
type MonthlyStatusCount struct {
	Month  Month
	Type   NotificationType
	Status NotificationStatus
	Count  int64
}

// MonthlyStatistics are one month's per-type totals.
type MonthlyStatistics struct {
	Month              Month
	Email, SMS, Letter TypeTotals
}

// ComputeMonthlyStatistics returns one entry per given month, in the order given, with the
// totals of §5.2 (cancelled counted in ByStatus only). Months without rows are all zero;
// rows of other months or unknown types are ignored.
func ComputeMonthlyStatistics(rows []MonthlyStatusCount, months []Month) []MonthlyStatistics {
	stats := make([]MonthlyStatistics, len(months))
	index := make(map[Month]int, len(months))
	for i, m := range months {
		stats[i].Month = m
		index[m] = i
	}
	for _, r := range rows {
		i, ok := index[r.Month]
		if !ok {
			continue
		}
		switch r.Type {
		case TypeEmail:
			stats[i].Email.add(r.Status, r.Count)
		case TypeSMS:
			stats[i].SMS.add(r.Status, r.Count)
		case TypeLetter:
			stats[i].Letter.add(r.Status, r.Count)
		}
	}
	return stats
}
