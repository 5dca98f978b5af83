package server

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"notifyql"
	"notifyql/letterpreview"
)

// LetterFiles serves a letter's PDF and page images, and a validated upload's
// (RENDERING.md §7.2), to the caller a link was signed for or the bearer header names.
type LetterFiles struct {
	Notifications notifyql.NotificationStore
	Catalogue     notifyql.CatalogueStore
	Services      notifyql.ServiceStore
	Content       notifyql.ContentStore
	Uploads       notifyql.LetterUploadStore
	Renderer      *letterpreview.Renderer
	// LetterLinks checks a letter's links (15 minutes), UploadLinks an upload's (5).
	LetterLinks *LinkSigner
	UploadLinks *LinkSigner
	// Now is the clock (time.Now when nil) and London the Europe/London zone.
	Now    func() time.Time
	London *time.Location
	// RenderTimeout bounds the rendering of one file (LetterRenderTimeout when 0).
	RenderTimeout time.Duration
}

// LetterRenderTimeout is how long a file may take to render before the request is
// answered 503 (§7.2).
const LetterRenderTimeout = 10 * time.Second

// The routes of a preview's files; a wildcard spans a whole segment, so a page's and an
// upload's file name ("3.png", "{id}.pdf") is read in the handler.
const (
	LetterPDFRoute     = "GET /services/{serviceId}/notifications/{notificationId}/letter.pdf"
	LetterPNGRoute     = "GET /services/{serviceId}/notifications/{notificationId}/letter/{page}"
	UploadPDFRoute     = "GET /services/{serviceId}/letter-uploads/{upload}"
	UploadPNGRoute     = "GET /services/{serviceId}/letter-uploads/{uploadId}/{page}"
	letterCacheControl = "private, no-store"
)

// detailRequirement is the notification-detail permission (RENDERING.md §1.1).
var detailRequirement = notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.ViewActivity, notifyql.SendMessages}}

// uploadIDPattern is an upload id as validateLetterPdf makes it: 128 random bits in hex.
var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// letterFile is what a request asks for, once every check before rendering has passed.
type letterFile struct {
	src letterpreview.Source
	// page is 0 for the PDF.
	page int
	// filename names a PDF in Content-Disposition.
	filename string
}

// letterFileRoutes wraps a preview file's handler as the downloads are wrapped (the
// allowances, the path's text check, the link or header), but without a place among the
// user's downloads at once: a page shows ten images, which a browser fetches together, and
// each is one bounded write, not a stream a slow client can hold.
func (s *Server) letterFileRoutes(rates *rateLimiting) func(links *LinkSigner, handler http.HandlerFunc) http.Handler {
	return func(links *LinkSigner, handler http.HandlerFunc) http.Handler {
		return rates.byIP(s.refuseUnreadableDownloadText(s.authenticateByLinkOrHeader(links)(rates.byUser(handler))))
	}
}

func (s *Server) letterPDF(w http.ResponseWriter, r *http.Request) {
	s.serveLetterFile(w, r, func(ctx context.Context) (*letterFile, error) {
		return s.notificationLetter(ctx, r, 0)
	})
}

func (s *Server) letterPNG(w http.ResponseWriter, r *http.Request) {
	s.serveLetterFile(w, r, func(ctx context.Context) (*letterFile, error) {
		page, ok := pngPage(r.PathValue("page"))
		if !ok {
			return nil, pageNotFound()
		}
		return s.notificationLetter(ctx, r, page)
	})
}

func (s *Server) uploadPDF(w http.ResponseWriter, r *http.Request) {
	s.serveLetterFile(w, r, func(ctx context.Context) (*letterFile, error) {
		id, ok := strings.CutSuffix(r.PathValue("upload"), ".pdf")
		if !ok {
			return nil, pageNotFound()
		}
		return s.uploadLetter(ctx, r, id, 0)
	})
}

func (s *Server) uploadPNG(w http.ResponseWriter, r *http.Request) {
	s.serveLetterFile(w, r, func(ctx context.Context) (*letterFile, error) {
		page, ok := pngPage(r.PathValue("page"))
		if !ok {
			return nil, pageNotFound()
		}
		return s.uploadLetter(ctx, r, r.PathValue("uploadId"), page)
	})
}

// pngPage reads "N.png" for N in 1..10; anything else is no page.
func pngPage(name string) (int, bool) {
	number, ok := strings.CutSuffix(name, ".png")
	if !ok {
		return 0, false
	}
	page, ok := letterpreview.ParsePage(number)
	return page, ok && page <= notifyql.MaxLetterPreviewPages
}

func pageNotFound() error { return notifyql.Errorf(notifyql.ENOTFOUND, "not found") }

// serveLetterFile runs the checks of §7.2 in their order (find: the caller, their
// permission, the letter and the page), answers a matching If-None-Match with 304, then
// renders within the deadline and sends the file.
func (s *Server) serveLetterFile(w http.ResponseWriter, r *http.Request, find func(context.Context) (*letterFile, error)) {
	ctx := r.Context()
	lf := s.cfg.LetterFiles
	file, err := find(ctx)
	if err != nil {
		s.writeError(ctx, w, err)
		return
	}
	what := "pdf"
	if file.page > 0 {
		what = "png-" + letterpreview.PageName(file.page)
	}
	etag := lf.Renderer.ETag(file.src, what)
	header := w.Header()
	header.Set("Cache-Control", letterCacheControl)
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	timeout := lf.RenderTimeout
	if timeout <= 0 {
		timeout = LetterRenderTimeout
	}
	renderCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body []byte
	kind := letterpreview.KindLetterPDF
	if file.page == 0 {
		body, err = lf.Renderer.PDF(renderCtx, file.src)
	} else {
		kind = letterpreview.KindLetterPNG
		body, err = lf.Renderer.PNG(renderCtx, file.src, file.page)
	}
	switch {
	case errors.Is(err, letterpreview.ErrNoSuchPage):
		err = pageNotFound()
	case err != nil && renderCtx.Err() != nil && ctx.Err() == nil:
		err = notifyql.Errorf(notifyql.EUNAVAILABLE, "the letter took too long to render: try again shortly")
	case err != nil:
		err = lf.Renderer.Fail(ctx, kind, file.src.ID, err)
	}
	if err != nil {
		for _, h := range []string{"ETag", "Cache-Control"} {
			header.Del(h)
		}
		s.writeError(ctx, w, err)
		return
	}
	if file.page == 0 {
		header.Set("Content-Type", "application/pdf")
		header.Set("Content-Disposition", `inline; filename="`+file.filename+`"`)
	} else {
		header.Set("Content-Type", "image/png")
	}
	// One write of a bounded file, under the downloads' write timeout: a client that does
	// not take it is dropped rather than holding the handler.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.DownloadLimits.WriteTimeout))
	_, _ = w.Write(body)
}

// etagMatches reports whether an If-None-Match value names etag (or is "*"), by the weak
// comparison RFC 9110 §13.1.2 asks of it.
func etagMatches(ifNoneMatch, etag string) bool {
	for _, candidate := range strings.Split(ifNoneMatch, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || candidate == etag {
			return true
		}
	}
	return false
}

// caller is the authenticated caller of a preview's file: a link that is forged, altered,
// expired or signed for a user who no longer exists is refused 403 (§7.2); a request with
// neither link nor valid header, 401.
func caller(r *http.Request) (*notifyql.Principal, error) {
	p, err := notifyql.Authenticated(r.Context())
	if notifyql.ErrorCode(err) == notifyql.EUNAUTHENTICATED && IsSignedLink(r.URL) {
		return nil, notifyql.Errorf(notifyql.EFORBIDDEN, "%s", notifyql.ErrorMessage(err))
	}
	return p, err
}

// previewService checks that p holds the detail permission on the path's service; 403
// otherwise, for a service p cannot open too, so that the answer says nothing of it.
func (s *Server) previewService(ctx context.Context, p *notifyql.Principal, serviceID string) (*notifyql.Service, error) {
	svc, err := downloadService(ctx, s.cfg.LetterFiles.Services, p, serviceID, detailRequirement)
	switch notifyql.ErrorCode(err) {
	case "":
		return svc, nil
	case notifyql.ENOTFOUND, notifyql.EFORBIDDEN, notifyql.EINVALID:
		return nil, notifyql.Errorf(notifyql.EFORBIDDEN, "you do not have permission to see this letter")
	}
	return nil, err
}

// notificationLetter finds a notification's letter for the caller (§7.2 checks 1–4).
func (s *Server) notificationLetter(ctx context.Context, r *http.Request, page int) (*letterFile, error) {
	lf := s.cfg.LetterFiles
	p, err := caller(r)
	if err != nil {
		return nil, err
	}
	svc, err := s.previewService(ctx, p, r.PathValue("serviceId"))
	if err != nil {
		return nil, err
	}
	id := r.PathValue("notificationId")
	if notifyql.ValidateID("notification", id) != nil {
		return nil, pageNotFound()
	}
	n, err := lf.Notifications.NotificationIn(ctx, notifyql.NormaliseID(id), []string{svc.ID})
	if notifyql.ErrorCode(err) == notifyql.ENOTFOUND || (err == nil && n.Type != notifyql.TypeLetter) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "letter not found")
	}
	if err != nil {
		return nil, err
	}
	reason, err := s.contentReason(ctx, n)
	if err != nil {
		return nil, err
	}
	src, ok, err := letterpreview.NotificationSource(ctx, lf.Content, n, reason)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "this letter has no preview")
	}
	return &letterFile{src: src, page: page, filename: n.ID + ".pdf"}, nil
}

// contentReason is notifyql.ContentUnavailableReason for a letter read by the handler.
func (s *Server) contentReason(ctx context.Context, n *notifyql.Notification) (string, error) {
	lf := s.cfg.LetterFiles
	retentions, err := lf.Services.RetentionByServiceIDs(ctx, []string{n.ServiceID})
	if err != nil {
		return "", err
	}
	versions, err := lf.Catalogue.TemplateVersions(ctx, []notifyql.TemplateVersionKey{{ID: n.TemplateID, Version: n.TemplateVersion}})
	if err != nil {
		return "", err
	}
	precompiled := len(versions) == 1 && versions[0].IsPrecompiledLetter()
	now := time.Now()
	if lf.Now != nil {
		now = lf.Now()
	}
	return notifyql.ContentUnavailableReason(n, precompiled, retentions[n.ServiceID].WindowStart(n.Type, now, lf.London)), nil
}

// uploadLetter finds a validated upload for its uploader (§7.2 checks 1–4).
func (s *Server) uploadLetter(ctx context.Context, r *http.Request, id string, page int) (*letterFile, error) {
	lf := s.cfg.LetterFiles
	p, err := caller(r)
	if err != nil {
		return nil, err
	}
	svc, err := s.previewService(ctx, p, r.PathValue("serviceId"))
	if err != nil {
		return nil, err
	}
	if !uploadIDPattern.MatchString(id) {
		return nil, pageNotFound()
	}
	upload, err := lf.Uploads.LetterUpload(ctx, id)
	if notifyql.ErrorCode(err) == notifyql.ENOTFOUND || (err == nil && upload.ServiceID != svc.ID) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "this upload has expired: validate the file again")
	}
	if err != nil {
		return nil, err
	}
	if upload.UserID != p.User.ID {
		return nil, notifyql.Errorf(notifyql.EFORBIDDEN, "only the user who uploaded a file can see it")
	}
	if page > notifyql.LetterPreviewPages(upload.PageCount) {
		return nil, pageNotFound()
	}
	return &letterFile{src: letterpreview.Source{ID: id, PDF: upload.PDF, OverlayPages: upload.OverlayPages}, page: page, filename: "letter.pdf"}, nil
}
