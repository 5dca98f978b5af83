package server

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
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
