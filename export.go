package notifyql

import (
	"context"
	"fmt"
	"time"
)

// The notifications CSV (DOMAIN.md §7.2) is served two ways: streamed as a direct download,
// and written by a background worker as a report request (§13). Both read the same rows
// with the same filters and write the same columns; this file holds what they share.

// Export sizes (DOMAIN.md §7.2, §13).
const (
	// DirectDownloadLimit is the largest estimate a direct download is allowed for.
	DirectDownloadLimit = 250_000
	// ReportRequestLimit is the largest estimate a report request is allowed for (platform
	// admins have none).
	ReportRequestLimit = 800_000
	// DownloadBatchSize and ReportBatchSize are the keyset batches each reads in. A
	// download holds one batch, encoded, while its client takes it, and must send it
	// within the write timeout: 1,000 rows is about 130 KB of a typical file.
	DownloadBatchSize = 1_000
	ReportBatchSize   = 2_500
)

// NotificationCSVHeader is the notifications CSV's header row.
var NotificationCSVHeader = []string{"Recipient", "Reference", "Template", "Type", "Sent by", "Sent by email", "Job", "Status", "Time", "API key name"}

// ExportFilter selects the rows of a notifications CSV: one service and type, the expanded
// status filter, created_at >= Since (the type's retention window), test keys left out.
type ExportFilter struct {
	ServiceID string
	Type      NotificationType
	// Statuses is the expanded status filter (ExpandStatusFilter); never empty.
	Statuses []NotificationStatus
	Since    time.Time
}

// ExportRow is one notification as the CSV needs it. Recipient is `to` as stored; the other
// text fields are "" when the notification has none.
type ExportRow struct {
	ID          string
	CreatedAt   time.Time
	Recipient   string
	Reference   string
	Template    string // the template's name at send time
	Type        NotificationType
	SentBy      string
	SentByEmail string
	Job         string // the job's original file name
	Status      NotificationStatus
	APIKeyName  string
}

// Cursor returns the keyset position after this row.
func (r ExportRow) Cursor() Cursor { return Cursor{CreatedAt: r.CreatedAt, ID: r.ID} }

// ExportStore reads the rows of notifications CSVs.
type ExportStore interface {
	// ExportRows returns up to limit rows matching f, newest first (created_at DESC, id
	// DESC), strictly after the keyset position `after` when it is set. A batch shorter
	// than limit is the last.
	ExportRows(ctx context.Context, f ExportFilter, after *Cursor, limit int) ([]ExportRow, error)
	// ExportEstimate is the size estimate of DOMAIN.md §7.2: the sum of
	// ft_billing.notifications_sent for the service and type since the London date
	// `from`.
	ExportEstimate(ctx context.Context, serviceID string, t NotificationType, from Date) (int64, error)
}

// CSVRecord returns the row's cells (DOMAIN.md §7.2), each passed through the formula
// guard; times are London's.
func (r ExportRow) CSVRecord(loc *time.Location) []string {
	cells := []string{
		CSVRecipient(r.Recipient),
		r.Reference,
		r.Template,
		string(r.Type),
		r.SentBy,
		r.SentByEmail,
		r.Job,
		StatusCSVLabel(r.Type, r.Status),
		FormatCSVTime(r.CreatedAt, loc),
		r.APIKeyName,
	}
	for i, c := range cells {
		cells[i] = NeutraliseCell(c)
	}
	return cells
}

// CSVRecipient is the recipient cell: the first line of `to`, with leading whitespace and
// trailing spaces and commas removed.
func CSVRecipient(to string) string {
	first := to
	for i := 0; i < len(to); i++ {
		if to[i] == '\n' || to[i] == '\r' {
			first = to[:i]
			break
		}
	}
	start := 0
	for start < len(first) && isCSVSpace(first[start]) {
		start++
	}
	end := len(first)
	for end > start && (first[end-1] == ' ' || first[end-1] == ',') {
		end--
	}
	return first[start:end]
}

func isCSVSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\v' || b == '\f' }

// NotificationCSVFilename is the direct download's file name: "{today YYYY-MM-DD} - {type}
// - {service name} report.csv".
func NotificationCSVFilename(today Date, t NotificationType, serviceName string) string {
	return fmt.Sprintf("%s - %s - %s report.csv", today, t, serviceName)
}

// InboxCSVFilename is the inbox CSV's file name: "Received text messages {today}.csv".
func InboxCSVFilename(today Date) string {
	return fmt.Sprintf("Received text messages %s.csv", today)
}
