package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"notifyql"
)

// Downloads serves the notifications CSV (DOMAIN.md §7.2) on
// GET /services/{id}/download-notifications.csv?message_type=&status=.
type Downloads struct {
	Exports  notifyql.ExportStore
	Services notifyql.ServiceStore
	// Links checks signed links, the alternative to the Authorization header.
	Links *LinkSigner
	// Now is the clock (time.Now when nil) and London the Europe/London zone.
	Now    func() time.Time
	London *time.Location
	// BatchSize is the keyset batch rows are read and flushed in; DownloadBatchSize when 0.
	BatchSize int
}

// NotificationsCSVRoute is the download's route pattern.
const NotificationsCSVRoute = "GET /services/{id}/download-notifications.csv"

// downloadRequest is a parsed download: whose, which rows, and the file's name.
type downloadRequest struct {
	filter   notifyql.ExportFilter
	estimate int64
	filename string
}

// notificationsCSV answers a download. Everything that can be refused is refused before
// the first byte of the file: who asks, the arguments, the permission, the size. The rows
// then stream in keyset batches (streamCSV), each sent under the write timeout, so that
// memory holds one batch whatever the file's size and a client that stops reading is
// dropped.
func (s *Server) notificationsCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := s.cfg.Downloads
	started := time.Now()
	req, err := s.prepareNotificationsCSV(ctx, r)
	if err != nil {
		s.writeError(ctx, w, err)
		return
	}
	batchSize := d.BatchSize
	if batchSize <= 0 {
		batchSize = notifyql.DownloadBatchSize
	}
	// The first batch is read before the headers go out, so that a failing database still
	// gets a proper error response.
	first, err := d.Exports.ExportRows(ctx, req.filter, nil, batchSize)
	if err != nil {
		s.writeError(ctx, w, err)
		return
	}
	setCSVHeaders(w.Header(), "inline", req.filename)
	w.WriteHeader(http.StatusOK)

	out := newBatchWriter(w, s.cfg.DownloadLimits.WriteTimeout)
	rows, err := streamCSV(out, notifyql.NotificationCSVHeader, first, batchSize,
		func(row notifyql.ExportRow) []string { return row.CSVRecord(d.London) },
		func(last notifyql.ExportRow) ([]notifyql.ExportRow, error) {
			after := last.Cursor()
			return d.Exports.ExportRows(ctx, req.filter, &after, batchSize)
		})
	logArgs := []any{"service_id", req.filter.ServiceID,
		"type", req.filter.Type, "rows", rows, "estimate", req.estimate, "duration_ms", time.Since(started).Milliseconds()}
	if err != nil {
		abortDownload(ctx, s.cfg.Logger, "notifications CSV", err, logArgs...)
	}
	s.cfg.Logger.InfoContext(ctx, "notifications CSV served", logArgs...)
}

// prepareNotificationsCSV takes the caller authenticated by link or header
// (authenticateByLinkOrHeader), reads the request's arguments and checks the permission
// (view_activity, §16) and the size limit (§7.2).
func (s *Server) prepareNotificationsCSV(ctx context.Context, r *http.Request) (*downloadRequest, error) {
	d := s.cfg.Downloads
	principal, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	serviceID := r.PathValue("id")
	// A malformed id is reported before the query's faults.
	if err := notifyql.ValidateID("service", serviceID); err != nil {
		return nil, err
	}
	serviceID = notifyql.NormaliseID(serviceID)
	typ, statuses, err := parseDownloadQuery(r.URL)
	if err != nil {
		return nil, err
	}
	svc, err := downloadService(ctx, d.Services, principal, serviceID, notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity}})
	if err != nil {
		return nil, err
	}
	retentions, err := d.Services.RetentionByServiceIDs(ctx, []string{svc.ID})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if d.Now != nil {
		now = d.Now()
	}
	days := retentions[svc.ID].Days(typ)
	estimate, err := d.Exports.ExportEstimate(ctx, svc.ID, typ, notifyql.WindowFirstDate(now, days, d.London))
	if err != nil {
		return nil, err
	}
	if err := notifyql.CheckDirectDownload(estimate); err != nil {
		return nil, err
	}
	return &downloadRequest{
		filter: notifyql.ExportFilter{
			ServiceID: svc.ID,
			Type:      typ,
			Statuses:  notifyql.ExpandStatusFilter(statuses),
			Since:     notifyql.WindowStart(now, days, d.London),
		},
		estimate: estimate,
		filename: notifyql.NotificationCSVFilename(notifyql.LondonDate(now, d.London), typ, svc.Name),
	}, nil
}

// parseDownloadQuery reads message_type (required) and status (optional), each at most once.
func parseDownloadQuery(u *url.URL) (notifyql.NotificationType, []notifyql.NotificationStatus, error) {
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", nil, notifyql.Errorf(notifyql.EINVALID, "the query string is malformed")
	}
	for _, p := range []string{notifyql.DownloadTypeParam, notifyql.DownloadStatusParam} {
		if len(query[p]) > 1 {
			return "", nil, notifyql.Errorf(notifyql.EINVALID, "give %s once", p)
		}
	}
	typ, err := notifyql.ParseNotificationType(query.Get(notifyql.DownloadTypeParam))
	if err != nil {
		return "", nil, err
	}
	statuses, err := notifyql.ParseStatusList(query.Get(notifyql.DownloadStatusParam))
	if err != nil {
		return "", nil, err
	}
	return typ, statuses, nil
}

// contentDisposition is a Content-Disposition value (RFC 6266) for a file name that may hold
// any characters: filename= carries an ASCII stand-in, quoted, for old clients, and
// filename*= the exact name, UTF-8 and percent-encoded (RFC 8187), which clients that know
// it prefer.
func contentDisposition(disposition, filename string) string {
	var fallback, encoded strings.Builder
	for _, r := range filename {
		switch {
		case r == '"' || r == '\\':
			fallback.WriteByte('\\')
			fallback.WriteRune(r)
		case r < 0x20 || r == 0x7f || r > 0x7e:
			fallback.WriteByte('_')
		default:
			fallback.WriteRune(r)
		}
	}
	for _, b := range []byte(filename) {
		if isAttrChar(b) {
			encoded.WriteByte(b)
		} else {
			fmt.Fprintf(&encoded, "%%%02X", b)
		}
	}
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, disposition, fallback.String(), encoded.String())
}

// isAttrChar reports whether b may appear unencoded in an RFC 8187 ext-value.
func isAttrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
