package server

import (
	"context"
	"net/http"
	"strings"

	"notifyql"
)

// Reports are what the report download needs: the requests and their files, the
// services for the access check, and the signer of download links.
type Reports struct {
	Store    notifyql.ReportStore
	Services notifyql.ServiceStore
	// Links checks signed links, the alternative to the Authorization header.
	Links *LinkSigner
}

// ReportDownloadRoute is the stored reports' route pattern; the file is "{id}.csv".
const ReportDownloadRoute = "GET /report-requests/{file}"

// reportDownload serves GET /report-requests/{id}.csv (DOMAIN.md §13): a stored report,
// streamed from storage a chunk at a time, to its requester only; authenticated by the
// bearer header or a signed link (ReportRequest.downloadUrl).
func (s *Server) reportDownload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := strings.CutSuffix(r.PathValue("file"), ".csv")
	if !ok {
		s.writeError(ctx, w, notifyql.Errorf(notifyql.ENOTFOUND, "not found: reports are at /report-requests/{id}.csv"))
		return
	}
	request, err := s.downloadableReport(ctx, id)
	if err != nil {
		s.writeError(ctx, w, err)
		return
	}
	// Each chunk is one Write, read with its connection back in the pool before it is sent,
	// and sent under the write timeout.
	out := newBatchWriter(w, s.cfg.DownloadLimits.WriteTimeout)
	header := w.Header()
	setCSVHeaders(header, "attachment", notifyql.ReportFilename(request.ID))
	if err := s.cfg.Reports.Store.WriteReportFile(ctx, request.ID, out); err != nil {
		if out.written == 0 {
			for _, h := range []string{"Content-Type", "Content-Disposition", "Cache-Control", "X-Content-Type-Options"} {
				header.Del(h)
			}
			s.writeError(ctx, w, err)
			return
		}
		// Part of the file has gone out: cut the connection, so that the client sees a
		// failed download rather than a short file.
		abortDownload(ctx, s.cfg.Logger, "report download", err, "report_request_id", request.ID, "bytes", out.written)
	}
}

// downloadableReport loads the request and checks that the caller, authenticated by link
// or header (authenticateByLinkOrHeader), may download it now: EINVALID for an id that is not a
// UUID, then the access rules of CheckReportAccess, then ECONFLICT unless it is stored.
func (s *Server) downloadableReport(ctx context.Context, id string) (*notifyql.ReportRequest, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if err := notifyql.ValidateID("report request", id); err != nil {
		return nil, err
	}
	request, err := s.cfg.Reports.Store.ReportRequest(ctx, notifyql.NormaliseID(id))
	if err != nil {
		return nil, err
	}
	services, err := s.cfg.Reports.Services.ServicesByIDs(ctx, []string{request.ServiceID})
	if err != nil {
		return nil, err
	}
	var facts *notifyql.ServiceFacts
	if len(services) == 1 {
		facts = &notifyql.ServiceFacts{ID: services[0].ID, Active: services[0].Active, OrganisationID: services[0].OrganisationID}
	}
	if err := notifyql.CheckReportAccess(p, request, facts); err != nil {
		return nil, err
	}
	if request.Status != notifyql.ReportStored {
		return nil, notifyql.Errorf(notifyql.ECONFLICT, "the report is not ready to download: it is %s", request.Status)
	}
	return request, nil
}
