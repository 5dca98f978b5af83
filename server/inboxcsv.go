package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"notifyql"
	"notifyql/phone"
)

// InboxCSV serves GET /services/{id}/inbox.csv (DOMAIN.md §7.3): every text the service
// received within its SMS retention, newest first, for callers with view_activity on a
// service with the inbound_sms feature (§16).
type InboxCSV struct {
	Services notifyql.ServiceStore
	Texts    notifyql.InboxExportStore
	// Now is the clock and London the Europe/London zone.
	Now    func() time.Time
	London *time.Location
	// BatchSize is how many rows each read fetches; 0 means notifyql.DownloadBatchSize.
	BatchSize int
}

// inboxCSVRequirement is who may download the inbox (DOMAIN.md §16: the CSV needs the
// feature too).
var inboxCSVRequirement = notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}, Feature: "inbound_sms"}

// serve checks the caller, then streams the file in keyset batches (streamCSV), each sent
// under writeTimeout, so that memory does not grow with the number of texts and a client
// that stops reading is dropped. Errors before the first byte get a status and a JSON
// body, which writeError answers; an error after it aborts the response, so that a client
// never takes a cut-short file for a whole one.
func (h *InboxCSV) serve(logger *slog.Logger, writeError func(context.Context, http.ResponseWriter, error), writeTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		svc, since, err := h.authorize(ctx, r.PathValue("id"))
		if err != nil {
			writeError(ctx, w, err)
			return
		}
		batchSize := h.BatchSize
		if batchSize <= 0 {
			batchSize = notifyql.DownloadBatchSize
		}
		batch, err := h.Texts.InboundTexts(ctx, svc.ID, since, nil, batchSize)
		if err != nil {
			writeError(ctx, w, err)
			return
		}
		setCSVHeaders(w.Header(), "attachment", notifyql.InboxCSVFilename(notifyql.LondonDate(h.Now(), h.London)))
		w.WriteHeader(http.StatusOK)

		_, err = streamCSV(newBatchWriter(w, writeTimeout), notifyql.InboxCSVHeader, batch, batchSize,
			func(m notifyql.InboxMessage) []string {
				return notifyql.InboxCSVRecord(phone.Format(phone.InboundNumber(m.UserNumber)), m, h.London)
			},
			func(last notifyql.InboxMessage) ([]notifyql.InboxMessage, error) {
				after := last.Cursor()
				return h.Texts.InboundTexts(ctx, svc.ID, since, &after, batchSize)
			})
		if err != nil {
			abortDownload(ctx, logger, "inbox download", err, "service_id", svc.ID)
		}
	})
}

// authorize returns the service the caller (authenticated by its Authorization header:
// the inbox has no signed links) may download the inbox of, and the start of its SMS
// retention window: EUNAUTHENTICATED without valid credentials, EINVALID for an id that
// is not a UUID, ENOTFOUND for a service the caller has no relation to, EFORBIDDEN without
// view_activity or the inbound_sms feature.
func (h *InboxCSV) authorize(ctx context.Context, id string) (*notifyql.Service, time.Time, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	svc, err := downloadService(ctx, h.Services, p, id, inboxCSVRequirement)
	if err != nil {
		return nil, time.Time{}, err
	}
	retention, err := h.Services.RetentionByServiceIDs(ctx, []string{svc.ID})
	if err != nil {
		return nil, time.Time{}, err
	}
	return svc, notifyql.WindowStart(h.Now(), retention[svc.ID].Days(notifyql.TypeSMS), h.London), nil
}
