package notifyql

import (
	"context"
	"errors"
	"image"
)

// Issue 16 in progress: these entry points are declared here so that the edge can be built
// against them while the rules are written. Each is deleted from this file when its rules
// land; the file is gone before the issue is resolved.

var errRenderingPending = errors.New("rendering is not built yet")

// RenderContent rebuilds a notification's message as the recipient received it
// (RENDERING.md §3, §4, §5.1). It is for sms, email and templated letters.
func RenderContent(in ContentInputs) (MessageContent, error) {
	return MessageContent{}, errRenderingPending
}

// ComposeLetter builds the document a Typesetter draws for a templated letter (§5).
func ComposeLetter(in ContentInputs) (LetterDocument, error) {
	return LetterDocument{}, errRenderingPending
}

// ValidateLetterPDF runs the checks of §6.3 on an uploaded PDF.
func ValidateLetterPDF(ctx context.Context, reader PDFReader, pdf []byte, international bool) UploadValidation {
	return UploadValidation{}
}

// StoredLetterValidationErrors maps a stored letter_validation (DOMAIN §3.4) to its errors
// (§6.1); nil gives none.
func StoredLetterValidationErrors(v *LetterValidation) []LetterValidationError {
	return nil
}

// TemplatedLetterErrors are a templated letter's validation errors: the stored
// letter_validation when there is one, else letter-too-long past 10 pages (§5.7).
func TemplatedLetterErrors(pageCount int, stored *LetterValidation) []LetterValidationError {
	return nil
}

// RenderLetterPage rasterises a page at LetterPreviewDPI for display (§5.7, §6.1).
func RenderLetterPage(ctx context.Context, doc PDFDocument, page int, opts LetterPageOptions) (*image.RGBA, error) {
	return nil, errRenderingPending
}

// LetterPageSize is a page's image size at LetterPreviewDPI, from its box alone (§5.7).
func LetterPageSize(box PageBox) (widthPx, heightPx int) {
	return 0, 0
}
