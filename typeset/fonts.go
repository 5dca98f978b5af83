package typeset

import (
	"fmt"

	"github.com/go-fonts/liberation/liberationsansbold"
	"github.com/go-fonts/liberation/liberationsansregular"
	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The letters are set in Liberation Sans (SIL Open Font License 1.1, whose text is
// LICENSE-LiberationSans.txt beside this file), which has the metrics of the FreeSans
// upstream Notify prints with. fpdf embeds each font as a subset of the glyphs a letter uses.

// fontFamily is the name fpdf knows both faces by.
const fontFamily = "LiberationSans"

// ptToMM converts typographic points to millimetres.
const ptToMM = 25.4 / 72

// faceMetrics are what layout needs of one face: advance widths exactly as fpdf measures them
// (thousandths of an em, rounded per character), so that a line measured here is the line
// fpdf draws, and the vertical metrics that place a baseline in its line box.
type faceMetrics struct {
	// widths[r] is the advance of rune r in thousandths of an em, or -1 when the face has no
	// glyph for it. Only the Basic Multilingual Plane is covered: fpdf's UTF-8 fonts address
	// no other.
	widths []int16
	// ascent and descent are in ems, both positive.
	ascent, descent float64
}

// loadFace reads a TrueType face's metrics.
func loadFace(ttf []byte) (*faceMetrics, error) {
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("parse font: %w", err)
	}
	var buf sfnt.Buffer
	upem := fixed.Int26_6(f.UnitsPerEm())
	// With ppem equal to the units per em, sfnt reports lengths in font units (26.6).
	ppem := upem << 6
	m, err := f.Metrics(&buf, ppem, font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("font metrics: %w", err)
	}
	em := float64(ppem)
	fm := &faceMetrics{
		widths:  make([]int16, 0x10000),
		ascent:  float64(m.Ascent) / em,
		descent: float64(m.Descent) / em,
	}
	for r := range fm.widths {
		fm.widths[r] = -1
		gi, err := f.GlyphIndex(&buf, rune(r))
		if err != nil || gi == 0 {
			continue
		}
		adv, err := f.GlyphAdvance(&buf, gi, ppem, font.HintingNone)
		if err != nil {
			continue
		}
		// fpdf rounds 1000 × advance ÷ units per em for each character.
		w := float64(adv) / em * 1000
		fm.widths[r] = int16(w + 0.5)
	}
	return fm, nil
}

// hasGlyph reports whether the face can draw r.
func (fm *faceMetrics) hasGlyph(r rune) bool {
	return r >= 0 && r < rune(len(fm.widths)) && fm.widths[r] >= 0
}

// fonts are the two faces of a letter.
type fonts struct {
	regular, bold *faceMetrics
}

func loadFonts() (*fonts, error) {
	regular, err := loadFace(liberationsansregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("Liberation Sans regular: %w", err)
	}
	bold, err := loadFace(liberationsansbold.TTF)
	if err != nil {
		return nil, fmt.Errorf("Liberation Sans bold: %w", err)
	}
	return &fonts{regular: regular, bold: bold}, nil
}

func (fs *fonts) face(bold bool) *faceMetrics {
	if bold {
		return fs.bold
	}
	return fs.regular
}

// drawable is the rune drawn for r: itself when both faces have a glyph for it, else "?",
// as the text message downgrade ends, so no letter is drawn with a missing-glyph box and no
// rune reaches fpdf that it cannot address.
func (fs *fonts) drawable(r rune) rune {
	if fs.regular.hasGlyph(r) && fs.bold.hasGlyph(r) {
		return r
	}
	return '?'
}
