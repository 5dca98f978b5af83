package resolvers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
	"notifyql/letterpreview"
)

// validateLetterRequirement is who may validate a letter upload (RENDERING.md §7.4):
// send_messages, on a service with the letter feature.
var validateLetterRequirement = notifyql.Requirement{AnyOf: []notifyql.Permission{notifyql.SendMessages}, Feature: "letter"}

// Validation allowance: each user may validate this many uploads a minute (§7.4).
const (
	validationsPerMinute = 10
	validationBurst      = 10
)

// ValidationLimiter counts a user's validations against their allowance, shared by every
// instance (the rate limiter the HTTP allowances use).
type ValidationLimiter interface {
	Allow(ctx context.Context, key string, perMinute, burst int) (allowed bool, retryAfter time.Duration, err error)
}

// MaxLetterUploadBytes is the largest file validateLetterPdf takes (§7.3); the transport
// refuses larger ones first.
const MaxLetterUploadBytes = 2 << 20

// ValidateLetterPDF checks an uploaded PDF as sending would, without sending or storing
// anything in PostgreSQL (RENDERING.md §6.3, §7.4), and keeps the file briefly in Redis
// for its preview links. The upload's file name is never read.
func (r mutationResolver) ValidateLetterPDF(ctx context.Context, serviceID string, file graphql.Upload) (*graph.LetterValidationResult, error) {
	p, err := notifyql.Authenticated(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := r.serviceByID(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	if err := checkService(ctx, p, svc, validateLetterRequirement); err != nil {
		return nil, err
	}
	if r.renderer == nil {
		return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "letter validation is not available on this server")
	}
	if r.validations != nil {
		allowed, retryAfter, err := r.validations.Allow(ctx, "letter-validations:"+p.User.ID, validationsPerMinute, validationBurst)
		// A limiter that cannot answer lets the validation through, as the request
		// allowances do: the worker pool still bounds the work.
		if err == nil && !allowed {
			return nil, notifyql.Errorf(notifyql.ERATELIMITED, "you may validate %d letters a minute: try again in %d seconds",
				validationsPerMinute, int(retryAfter.Seconds())+1)
		}
	}
	pdf, err := io.ReadAll(io.LimitReader(file.File, MaxLetterUploadBytes+1))
	if err != nil {
		return nil, notifyql.Errorf(notifyql.EINVALID, "the file could not be read")
	}
	if len(pdf) > MaxLetterUploadBytes {
		return nil, notifyql.Errorf(notifyql.ETOOLARGE, "the file is larger than %d bytes", MaxLetterUploadBytes)
	}
	features, err := dataloaders.For(ctx).Features().Load(ctx, svc.ID)
	if err != nil {
		return nil, err
	}
	international := false
	for _, f := range features {
		if f == "international_letters" {
			international = true
		}
	}
	verdict, err := r.renderer.Validate(ctx, pdf, international)
	if err != nil {
		return nil, r.renderer.Fail(ctx, letterpreview.KindValidation, svc.ID, err)
	}
	result := &graph.LetterValidationResult{PageCount: verdict.PageCount, Errors: pointersTo(verdict.Errors)}
	if verdict.PageCount == nil {
		return result, nil
	}
	result.Preview, result.PreviewErr = r.keepUpload(ctx, p, svc.ID, pdf, *verdict.PageCount, notifyql.LetterOverlayPages(verdict.Errors))
	return result, nil
}

// keepUpload keeps the file in Redis under a fresh random id for LetterUploadTTL, and signs
// its preview's links for the uploader, valid as long (§7.4).
func (r mutationResolver) keepUpload(ctx context.Context, p *notifyql.Principal, serviceID string, pdf []byte, pageCount int, overlay []int) (*graph.LetterPreview, error) {
	if r.uploads == nil || r.uploadLinks == nil {
		return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "previews of uploads are not available on this server")
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	src := letterpreview.Source{ID: id, PDF: pdf, OverlayPages: overlay}
	facts, err := r.renderer.Facts(ctx, src)
	if err != nil {
		return nil, r.renderer.Fail(ctx, letterpreview.KindValidation, id, err)
	}
	upload := notifyql.LetterUpload{UserID: p.User.ID, ServiceID: serviceID, PageCount: pageCount, OverlayPages: overlay, PDF: pdf}
	if err := r.uploads.PutLetterUpload(ctx, id, upload, notifyql.LetterUploadTTL); err != nil {
		return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "the preview could not be kept: validate the file again shortly to see its pages")
	}
	return r.signPreview(ctx, r.uploadLinks, facts, letterpreview.UploadPDFPath(serviceID, id),
		func(page int) string { return letterpreview.UploadPNGPath(serviceID, id, page) })
}

type letterValidationResolver struct{ *Resolver }

// Preview is the upload's preview, or the error that kept it from being kept.
func (r letterValidationResolver) Preview(ctx context.Context, v *graph.LetterValidationResult) (*graph.LetterPreview, error) {
	return v.Preview, v.PreviewErr
}
