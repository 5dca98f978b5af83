// Package typeset composes templated letters into A4 PDFs with fpdf, in the geometry of the
// letter rules: it implements notifyql.Typesetter.
package typeset

import (
	"context"
	"fmt"

	"notifyql"
)

// Typesetter composes letters. It holds the fonts' metrics, read once, and is safe for
// concurrent use.
type Typesetter struct {
	fonts *fonts
}

var _ notifyql.Typesetter = (*Typesetter)(nil)

// New reads the embedded fonts' metrics.
func New() (*Typesetter, error) {
	fs, err := loadFonts()
	if err != nil {
		return nil, fmt.Errorf("typesetter fonts: %w", err)
	}
	return &Typesetter{fonts: fs}, nil
}

// Typeset returns the PDF of doc and its page count, both parts together. Its errors name
// no text of the letter: a letter is personal data.
func (t *Typesetter) Typeset(ctx context.Context, doc notifyql.LetterDocument) ([]byte, int, error) {
	l, err := t.fonts.layoutDocument(ctx, doc)
	if err != nil {
		return nil, 0, fmt.Errorf("lay out letter: %w", err)
	}
	pdf, err := draw(ctx, l)
	if err != nil {
		return nil, 0, fmt.Errorf("draw letter: %w", err)
	}
	return pdf, len(l.pages), nil
}
