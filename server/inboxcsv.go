package server

import (
	"bufio"
	"context"
	"encoding/csv"
	"log/slog"
	"mime"
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

// serve checks the caller, then streams the file in keyset batches, so that memory does
// not grow with the number of texts. Errors before the first byte get a status and a JSON
// body; an error after it aborts the response, so that a client never takes a cut-short
// file for a whole one.
func (h *InboxCSV) serve(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		svc, since, err := h.authorize(ctx, r.PathValue("id"))
		if err != nil {
			writeError(ctx, logger, w, err)
			return
		}
		batchSize := h.BatchSize
		if batchSize <= 0 {
			batchSize = notifyql.DownloadBatchSize
		}
		batch, err := h.Texts.InboundTexts(ctx, svc.ID, since, nil, batchSize)
		if err != nil {
			writeError(ctx, logger, w, err)
			return
		}
		now := h.Now()
		header := w.Header()
		header.Set("Content-Type", "text/csv; charset=utf-8")
		header.Set("Content-Disposition", mime.FormatMediaType("attachment",
			map[string]string{"filename": notifyql.InboxCSVFilename(notifyql.LondonDate(now, h.London))}))
		// Personal data: no cache may keep a copy.
		header.Set("Cache-Control", "no-store")
		header.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)

		buffered := bufio.NewWriterSize(w, 32<<10)
		out := csv.NewWriter(buffered)
		out.UseCRLF = true
		abort := func(err error) {
			logger.ErrorContext(ctx, "inbox download cut short", "service_id", svc.ID, "error", err.Error())
			panic(http.ErrAbortHandler)
		}
		if err := out.Write(notifyql.InboxCSVHeader); err != nil {
			abort(err)
		}
		for {
			for _, m := range batch {
				if err := out.Write(notifyql.InboxCSVRecord(phone.Format(m.UserNumber), m, h.London)); err != nil {
					abort(err)
				}
			}
			out.Flush()
			if err := out.Error(); err != nil {
				abort(err)
			}
			if err := buffered.Flush(); err != nil {
				abort(err)
			}
			if len(batch) < batchSize {
				return
			}
			after := batch[len(batch)-1].Cursor()
			if batch, err = h.Texts.InboundTexts(ctx, svc.ID, since, &after, batchSize); err != nil {
				abort(err)
			}
		}
	})
}

// authorize returns the service the caller may download the inbox of, and the start of its
// SMS retention window: EUNAUTHENTICATED without valid credentials, EINVALID for an id that
// is not a UUID, ENOTFOUND for a service the caller has no relation to, EFORBIDDEN without
// view_activity or the inbound_sms feature.
func (h *InboxCSV) authorize(ctx context.Context, id string) (*notifyql.Service, time.Time, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := notifyql.ValidateID("service", id); err != nil {
		return nil, time.Time{}, err
	}
	id = notifyql.NormaliseID(id)
	services, err := h.Services.ServicesByIDs(ctx, []string{id})
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(services) == 0 {
		return nil, time.Time{}, notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	svc := services[0]
	features, err := h.Services.FeaturesByServiceIDs(ctx, []string{svc.ID})
	if err != nil {
		return nil, time.Time{}, err
	}
	facts := notifyql.ServiceFacts{ID: svc.ID, Active: svc.Active, OrganisationID: svc.OrganisationID, Features: features[svc.ID]}
	if err := p.Check(facts, inboxCSVRequirement); err != nil {
		return nil, time.Time{}, err
	}
	retention, err := h.Services.RetentionByServiceIDs(ctx, []string{svc.ID})
	if err != nil {
		return nil, time.Time{}, err
	}
	return svc, notifyql.WindowStart(h.Now(), retention[svc.ID].Days(notifyql.TypeSMS), h.London), nil
}
