package notifyql

import "time"

// DefaultRetentionDays is how long notifications of a type stay visible when the service has
// no retention row for it (DOMAIN.md §14).
const DefaultRetentionDays = 7

// Bounds of a per-service retention value.
const (
	MinRetentionDays = 3
	MaxRetentionDays = 90
)

// ValidateRetentionDays checks a per-service retention value: an integer from 3 to 90.
func ValidateRetentionDays(days int) error {
	if days < MinRetentionDays || days > MaxRetentionDays {
		return Errorf(EINVALID, "The number of days must be between 3 and 90")
	}
	return nil
}

// Retention is a service's data retention in days per notification type. Types without an
// entry keep the default; a nil Retention is valid and means defaults throughout.
type Retention map[NotificationType]int

// Days returns the retention of a type, 7 when the service has none set.
func (r Retention) Days(t NotificationType) int {
	if days, ok := r[t]; ok {
		return days
	}
	return DefaultRetentionDays
}

// WindowStart is the earliest created_at that lists, CSVs and reports show for a type:
// London midnight retention-many London dates before today.
func (r Retention) WindowStart(t NotificationType, now time.Time, loc *time.Location) time.Time {
	return WindowStart(now, r.Days(t), loc)
}
