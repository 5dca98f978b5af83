package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"notifyql"
)

// The CSV downloads (notifications, inbox, stored reports) answer with the same headers and
// stream their rows the same way; this file holds what they share.

// setCSVHeaders sets a CSV file's response headers. Every export holds personal data: no
// cache may keep a copy.
func setCSVHeaders(h http.Header, disposition, filename string) {
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", contentDisposition(disposition, filename))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// streamCSV writes header, then first and each batch next reads after the last row of the
// one before, as CSV with CRLF line ends (DOMAIN.md §7.1). A batch shorter than batchSize is
// the last. Each batch is read whole (next returns with its database connection back in the
// pool), encoded whole, and its rows let go before out sends it: while a slow client takes
// a batch, the download holds that batch's text and nothing of the database. It returns the
// rows written.
func streamCSV[R any](out *batchWriter, header []string, first []R, batchSize int,
	record func(R) []string, next func(after R) ([]R, error)) (int, error) {
	var encoded bytes.Buffer
	cw := csv.NewWriter(&encoded)
	cw.UseCRLF = true
	if err := cw.Write(header); err != nil {
		return 0, fmt.Errorf("write CSV header: %w", err)
	}
	rows, batch := 0, first
	for {
		for _, row := range batch {
			if err := cw.Write(record(row)); err != nil {
				return rows, fmt.Errorf("write CSV row: %w", err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return rows, fmt.Errorf("write CSV: %w", err)
		}
		written, done := len(batch), len(batch) < batchSize
		var last R
		if !done {
			last = batch[len(batch)-1]
		}
		// Only the encoded text is needed from here: the rows are garbage while the client
		// takes it.
		batch = nil
		if _, err := out.Write(encoded.Bytes()); err != nil {
			return rows, err
		}
		rows += written
		encoded.Reset()
		if done {
			return rows, nil
		}
		var err error
		if batch, err = next(last); err != nil {
			return rows, err
		}
	}
}

// downloadService loads the service a download names and checks p against req on it:
// EINVALID for an id that is not a UUID, ENOTFOUND for a service p has no relation to, and
// Principal.Check's refusals (the service's features are loaded when req names one).
func downloadService(ctx context.Context, services notifyql.ServiceStore, p *notifyql.Principal, id string, req notifyql.Requirement) (*notifyql.Service, error) {
	if err := notifyql.ValidateID("service", id); err != nil {
		return nil, err
	}
	found, err := services.ServicesByIDs(ctx, []string{notifyql.NormaliseID(id)})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "service not found")
	}
	svc := found[0]
	facts := notifyql.ServiceFacts{ID: svc.ID, Active: svc.Active, OrganisationID: svc.OrganisationID}
	if req.Feature != "" {
		features, err := services.FeaturesByServiceIDs(ctx, []string{svc.ID})
		if err != nil {
			return nil, err
		}
		facts.Features = features[svc.ID]
	}
	if err := p.Check(facts, req); err != nil {
		return nil, err
	}
	return svc, nil
}

// batchWriter sends a download to its client a batch at a time. Each Write is one batch,
// sent under its own write deadline and flushed: a client that has not taken a batch
// within the timeout is dropped, and the handler, with the batch and its place among the
// user's downloads, is let go. Without a deadline a client that never reads would keep
// the handler waiting in Write for as long as its TCP connection stays open.
type batchWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	// written counts the bytes sent, to tell whether an error can still be answered with a
	// status.
	written int64
}

func newBatchWriter(w http.ResponseWriter, timeout time.Duration) *batchWriter {
	return &batchWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

// Write sends p as one batch. Its errors from the connection are clientGoneErrors.
func (b *batchWriter) Write(p []byte) (int, error) {
	// A writer without deadlines (a test's recorder) has no client to wait for.
	if err := b.rc.SetWriteDeadline(time.Now().Add(b.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, clientGoneError{fmt.Errorf("set the write deadline: %w", err)}
	}
	n, err := b.w.Write(p)
	b.written += int64(n)
	if err != nil {
		return n, clientGoneError{err}
	}
	if err := b.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return n, clientGoneError{err}
	}
	return n, nil
}

// clientGoneError is a download that could not be sent: its client went away or did not
// take a batch in time. It is the client's doing, not a fault of the server.
type clientGoneError struct{ err error }

func (e clientGoneError) Error() string { return "send to the client: " + e.err.Error() }
func (e clientGoneError) Unwrap() error { return e.err }

// abortDownload ends a download whose status line has gone: closing the connection
// mid-body is the only way left to tell the client that the file is incomplete, rather than
// let it end as if whole. A client that went away or stopped reading is logged at info, a
// failure of the server at error; args say which download, never what it holds.
func abortDownload(ctx context.Context, logger *slog.Logger, what string, err error, args ...any) {
	args = append(args, "error", err.Error())
	if errors.As(err, new(clientGoneError)) {
		logger.InfoContext(ctx, what+" dropped: the client went away or stopped reading", args...)
	} else {
		logger.ErrorContext(ctx, what+" stopped", args...)
	}
	panic(http.ErrAbortHandler)
}
