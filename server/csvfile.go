package server

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"

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
// one before, as CSV with CRLF line ends (DOMAIN.md §7.1), flushing after each batch so
// that memory holds one batch whatever the file's size. A batch shorter than batchSize is
// the last. It returns the rows written.
func streamCSV[R any](w io.Writer, flush func() error, header []string, first []R, batchSize int,
	record func(R) []string, next func(after R) ([]R, error)) (int, error) {
	cw := csv.NewWriter(w)
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
		rows += len(batch)
		cw.Flush()
		if err := cw.Error(); err != nil {
			return rows, fmt.Errorf("write CSV: %w", err)
		}
		if err := flush(); err != nil {
			return rows, fmt.Errorf("flush CSV: %w", err)
		}
		if len(batch) < batchSize {
			return rows, nil
		}
		var err error
		if batch, err = next(batch[len(batch)-1]); err != nil {
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
