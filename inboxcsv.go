package notifyql

import (
	"context"
	"time"
)

// The inbox CSV (DOMAIN.md §7.3): every text a service received within its SMS retention,
// newest first, streamed in keyset batches.

// InboxCSVHeader is the inbox CSV's header row.
var InboxCSVHeader = []string{"Phone number", "Message", "Received"}

// InboxExportStore reads the rows of inbox CSVs.
type InboxExportStore interface {
	// InboundTexts returns up to limit of the service's texts received since `since`, newest
	// first (created_at DESC, id DESC), strictly after the keyset position `after` when it
	// is set. A batch shorter than limit is the last.
	InboundTexts(ctx context.Context, serviceID string, since time.Time, after *Cursor, limit int) ([]InboxMessage, error)
}

// Cursor returns the keyset position after this text.
func (m InboxMessage) Cursor() Cursor { return Cursor{CreatedAt: m.CreatedAt, ID: m.ID} }

// InboxCSVRecord returns a text's cells: the sender's number in human form (which the
// caller formats: phone number rules are not the root package's), the message cleaned as
// §7.3 says, and when it arrived, London "YYYY-MM-DD HH:MM". Every cell passes the formula
// guard.
func InboxCSVRecord(humanNumber string, m InboxMessage, loc *time.Location) []string {
	return []string{NeutraliseCell(humanNumber), InboxCSVMessage(m.Content), NeutraliseCell(FormatDateTime(m.CreatedAt, loc))}
}
