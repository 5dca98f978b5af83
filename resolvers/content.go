package resolvers

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
	"notifyql/letterpreview"
)

// Content rebuilds the message as the recipient received it (RENDERING.md §1.1): null with
// a reason (ContentUnavailableReason) past retention or for an uploaded PDF. @hasPermission
// has checked the detail permission on the notification's service.
func (r notificationResolver) Content(ctx context.Context, n *notifyql.Notification) (*notifyql.MessageContent, error) {
	if r.content == nil {
		reason, err := r.contentReason(ctx, n)
		if err != nil || reason != "" {
			return nil, err
		}
		return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "message content is not available on this server")
	}
	// The inputs are read while the reason is worked out, rather than after it: a detail
	// query then waits for one round trip less. They stay in memory and are dropped
	// unless the reason says the content may be served.
	type read struct {
		inputs *notifyql.ContentInputs
		err    error
	}
	pending := make(chan read, 1)
	go func() {
		inputs, err := r.content.ContentInputs(ctx, n.ServiceID, n.ID)
		pending <- read{inputs, err}
	}()
	reason, err := r.contentReason(ctx, n)
	got := <-pending
	if err != nil || reason != "" {
		return nil, err
	}
	if notifyql.ErrorCode(got.err) == notifyql.ENOTFOUND || (got.err == nil && got.inputs == nil) {
		// Moved out of notifications since it was read: it has just passed retention.
		return nil, nil
	}
	if got.err != nil {
		return nil, got.err
	}
	content, err := notifyql.RenderContent(*got.inputs)
	if err != nil {
		return nil, r.renderer.Fail(ctx, contentKind(n.Type), n.ID, err)
	}
	return &content, nil
}

// ContentUnavailableReason says why content is null: RETENTION_EXPIRED or UPLOADED_PDF.
func (r notificationResolver) ContentUnavailableReason(ctx context.Context, n *notifyql.Notification) (*string, error) {
	reason, err := r.contentReason(ctx, n)
	if err != nil || reason == "" {
		return nil, err
	}
	return &reason, nil
}

// contentReason is notifyql.ContentUnavailableReason for n, with the retention of its
// service and the template version it was sent with read through the operation's loaders,
// so that a page of notifications costs one query for each.
func (r *Resolver) contentReason(ctx context.Context, n *notifyql.Notification) (string, error) {
	retention, err := dataloaders.For(ctx).Retention().Load(ctx, n.ServiceID)
	if err != nil {
		return "", err
	}
	precompiled := false
	if n.Type == notifyql.TypeLetter {
		tv, err := dataloaders.Load(ctx, dataloaders.For(ctx).TemplateVersion(), notifyql.TemplateVersionKey{ID: n.TemplateID, Version: n.TemplateVersion})
		if err != nil {
			return "", err
		}
		precompiled = tv != nil && tv.IsPrecompiledLetter()
	}
	return notifyql.ContentUnavailableReason(n, precompiled, retention.WindowStart(n.Type, r.now(), r.london)), nil
}

// contentKind is the failure kind of a type's content (RENDERING.md §1.2).
func contentKind(t notifyql.NotificationType) string {
	switch t {
	case notifyql.TypeSMS:
		return letterpreview.KindSMS
	case notifyql.TypeEmail:
		return letterpreview.KindEmail
	}
	return letterpreview.KindLetterPDF
}

type letterDetailResolver struct{ *Resolver }

// Preview hands out a letter's PDF and page images by links signed for the caller, valid
// for 15 minutes and signed afresh on every query (RENDERING.md §7.2). @hasPermission on
// Notification.letter has checked the detail permission.
func (r letterDetailResolver) Preview(ctx context.Context, d *graph.LetterDetail) (*graph.LetterPreview, error) {
	n := d.Notification
	src, ok, err := r.letterSource(ctx, n)
	if err != nil || !ok {
		return nil, err
	}
	facts, err := r.renderer.Facts(ctx, src)
	if err != nil {
		return nil, r.renderer.Fail(ctx, letterpreview.KindLetterPDF, n.ID, err)
	}
	return r.signPreview(ctx, r.letterLinks, facts,
		letterpreview.NotificationPDFPath(n.ServiceID, n.ID),
		func(page int) string { return letterpreview.NotificationPNGPath(n.ServiceID, n.ID, page) })
}

// ValidationErrors are the letter's validation failures with their pages: a stored
// letter_validation, or for a templated letter past 10 pages letter-too-long (§5.7,
// §6.1); none outside retention.
func (r letterDetailResolver) ValidationErrors(ctx context.Context, d *graph.LetterDetail) ([]*notifyql.LetterValidationError, error) {
	n := d.Notification
	reason, err := r.contentReason(ctx, n)
	if err != nil {
		return nil, err
	}
	switch {
	case reason == notifyql.ContentRetentionExpired:
		return []*notifyql.LetterValidationError{}, nil
	case reason == notifyql.ContentUploadedPDF:
		return pointersTo(notifyql.StoredLetterValidationErrors(n.LetterValidation)), nil
	case n.LetterValidation != nil:
		// A stored verdict takes precedence: the letter need not be typeset to count it.
		return pointersTo(notifyql.TemplatedLetterErrors(0, n.LetterValidation)), nil
	}
	src, ok, err := r.letterSource(ctx, n)
	if err != nil || !ok {
		return []*notifyql.LetterValidationError{}, err
	}
	facts, err := r.renderer.Facts(ctx, src)
	if err != nil {
		return nil, r.renderer.Fail(ctx, letterpreview.KindLetterPDF, n.ID, err)
	}
	return pointersTo(notifyql.TemplatedLetterErrors(facts.PageCount, nil)), nil
}

// letterSource finds what n's preview is made from; ok is false when it has none.
func (r *Resolver) letterSource(ctx context.Context, n *notifyql.Notification) (letterpreview.Source, bool, error) {
	if n == nil || n.Type != notifyql.TypeLetter || r.content == nil || r.renderer == nil || r.letterLinks == nil {
		return letterpreview.Source{}, false, nil
	}
	reason, err := r.contentReason(ctx, n)
	if err != nil {
		return letterpreview.Source{}, false, err
	}
	return letterpreview.NotificationSource(ctx, r.content, n, reason)
}

// signPreview signs a preview's links for the caller: the PDF and pages 1..min(count, 10).
func (r *Resolver) signPreview(ctx context.Context, links notifyql.LinkSigner, facts letterpreview.Facts, pdfPath string, pngPath func(int) string) (*graph.LetterPreview, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	pdfURL, err := links.SignLink(pdfPath, p.User.ID)
	if err != nil {
		return nil, err
	}
	expires, err := linkExpiry(pdfURL)
	if err != nil {
		return nil, err
	}
	preview := &graph.LetterPreview{PageCount: facts.PageCount, PDFURL: pdfURL, ExpiresAt: expires, Pages: []*graph.LetterPage{}}
	for i, size := range facts.Pages {
		pngURL, err := links.SignLink(pngPath(i+1), p.User.ID)
		if err != nil {
			return nil, err
		}
		preview.Pages = append(preview.Pages, &graph.LetterPage{Number: i + 1, PngURL: pngURL, WidthPx: size.WidthPx, HeightPx: size.HeightPx})
	}
	return preview, nil
}

// linkExpiry reads the expiry a signed link carries, which is when its links stop working.
func linkExpiry(link string) (time.Time, error) {
	u, err := url.Parse(link)
	if err != nil {
		return time.Time{}, err
	}
	seconds, err := strconv.ParseInt(u.Query().Get("expires"), 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(seconds, 0).UTC(), nil
}

type letterValidationErrorResolver struct{ *Resolver }

// Summary is null for keys without one.
func (r letterValidationErrorResolver) Summary(ctx context.Context, e *notifyql.LetterValidationError) (*string, error) {
	if e.Summary == "" {
		return nil, nil
	}
	return &e.Summary, nil
}
