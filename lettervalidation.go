package notifyql

import (
	"cmp"
	"context"
	"errors"
	"image"
	"math"
	"slices"
	"strings"
)

// letterValidationDPI is the resolution the printable-area check rasterises at (§6.3).
const letterValidationDPI = 200

// A4 in millimetres, and how far a page may be from it (§6.3, check 3).
const (
	a4WidthMM     = 210
	a4HeightMM    = 297
	a4ToleranceMM = 2
)

// errUnreadable stops validation at the first failure of the reader, or at the deadline:
// either way the file is reported as unreadable.
var errUnreadable = errors.New("unreadable")

// ValidateLetterPDF runs the checks of RENDERING.md §6.3 on an uploaded PDF, in order, and
// reports the first failure only. international is the service's international_letters
// feature. The caller bounds ctx (30 seconds); a reader error, or ctx ending, makes the file
// unreadable. Page boxes are all read before any page is rasterised, so a page too large
// to be a letter is never rasterised.
func ValidateLetterPDF(ctx context.Context, reader PDFReader, pdf []byte, international bool) UploadValidation {
	unreadable := UploadValidation{Errors: []LetterValidationError{letterValidationError("unable-to-read-the-file", nil, 0)}}
	if ctx.Err() != nil {
		return unreadable
	}
	doc, err := reader.Open(ctx, pdf)
	if err != nil {
		return unreadable
	}
	defer doc.Close()
	pageCount := doc.PageCount()
	if pageCount < 1 {
		return unreadable
	}
	code, pages, err := firstLetterProblem(ctx, doc, pageCount, international)
	if err != nil || ctx.Err() != nil {
		return unreadable
	}
	verdict := UploadValidation{PageCount: &pageCount, Errors: []LetterValidationError{}}
	if code != "" {
		verdict.Errors = append(verdict.Errors, letterValidationError(code, pages, pageCount))
	}
	return verdict
}

// firstLetterProblem runs checks 2 to 6 of §6.3 and returns the first failure's key and
// pages, or "" when the letter passes.
func firstLetterProblem(ctx context.Context, doc PDFDocument, pageCount int, international bool) (string, []int, error) {
	if pageCount > MaxLetterPages {
		return "letter-too-long", nil, nil
	}

	var pages []int
	for page := 1; page <= pageCount; page++ {
		box, err := doc.PageBox(page)
		if err != nil {
			return "", nil, errUnreadable
		}
		if !isA4Portrait(box) {
			pages = append(pages, page)
		}
	}
	if len(pages) > 0 {
		return "letter-not-a4-portrait-oriented", pages, nil
	}

	for page := 1; page <= pageCount; page++ {
		if ctx.Err() != nil {
			return "", nil, errUnreadable
		}
		img, err := doc.Render(ctx, page, letterValidationDPI)
		if err != nil || img == nil {
			return "", nil, errUnreadable
		}
		if hasContentOutside(img, allowedZones(page), letterValidationDPI) {
			pages = append(pages, page)
		}
	}
	if len(pages) > 0 {
		return "content-outside-printable-area", pages, nil
	}

	for page := 2; page <= pageCount; page++ {
		words, err := doc.Words(ctx, page)
		if err != nil {
			return "", nil, errUnreadable
		}
		if slices.ContainsFunc(words, func(w PDFWord) bool {
			return strings.Contains(w.Text, "NOTIFY") && notifyTagBox.intersects(w)
		}) {
			pages = append(pages, page)
		}
	}
	if len(pages) > 0 {
		return "notify-tag-found-in-content", pages, nil
	}

	words, err := doc.Words(ctx, 1)
	if err != nil {
		return "", nil, errUnreadable
	}
	if problem := NormalisePostalAddress(addressText(words), international).Problem(); problem != "" {
		return problem, []int{1}, nil
	}
	return "", nil, nil
}

// isA4Portrait: the media box is within 2 mm of 210 × 297 unrotated or upside down, or of
// 297 × 210 turned a quarter either way, so that it is displayed portrait.
func isA4Portrait(box PageBox) bool {
	near := func(got, want float64) bool { return math.Abs(got-want) <= a4ToleranceMM }
	switch box.Rotate {
	case 0, 180:
		return near(box.WidthMM, a4WidthMM) && near(box.HeightMM, a4HeightMM)
	case 90, 270:
		return near(box.WidthMM, a4HeightMM) && near(box.HeightMM, a4WidthMM)
	}
	return false
}

// hasContentOutside reports whether any pixel that is not pure white has its centre outside
// every zone, each grown by 1 mm on every side (§6.3, check 4).
func hasContentOutside(img *image.RGBA, zones []mmRect, dpi float64) bool {
	grown := make([]mmRect, len(zones))
	for i, z := range zones {
		grown[i] = z.grow(1)
	}
	b := img.Rect
	pxToMM := func(px int) float64 { return (float64(px) + 0.5) / dpi * 25.4 }
	var across []mmRect // the zones that this row's centre line crosses
	for y := b.Min.Y; y < b.Max.Y; y++ {
		ymm := pxToMM(y - b.Min.Y)
		across = across[:0]
		for _, z := range grown {
			if ymm >= z.Y0 && ymm <= z.Y1 {
				across = append(across, z)
			}
		}
		row := img.Pix[img.PixOffset(b.Min.X, y) : img.PixOffset(b.Min.X, y)+4*b.Dx()]
		for x := 0; x < b.Dx(); x++ {
			p := row[4*x : 4*x+3]
			if p[0] == 255 && p[1] == 255 && p[2] == 255 {
				continue
			}
			xmm := pxToMM(x)
			if !slices.ContainsFunc(across, func(z mmRect) bool { return xmm >= z.X0 && xmm <= z.X1 }) {
				return true
			}
		}
	}
	return false
}

// addressText is the text of page 1's address block (§6.4): the words whose boxes meet the
// extraction box, in lines top to bottom, each left to right. A word starts a new line when
// its baseline is more than half its font size below the previous word's.
func addressText(words []PDFWord) string {
	var inBox []PDFWord
	for _, w := range words {
		if addressExtraction.intersects(w) {
			inBox = append(inBox, w)
		}
	}
	slices.SortStableFunc(inBox, func(a, b PDFWord) int {
		return cmp.Or(cmp.Compare(a.Baseline, b.Baseline), cmp.Compare(a.Left, b.Left))
	})
	var lines [][]PDFWord
	for i, w := range inBox {
		if i == 0 || w.Baseline-inBox[i-1].Baseline > w.FontSize/2 {
			lines = append(lines, nil)
		}
		lines[len(lines)-1] = append(lines[len(lines)-1], w)
	}
	text := make([]string, len(lines))
	for i, line := range lines {
		slices.SortStableFunc(line, func(a, b PDFWord) int { return cmp.Compare(a.Left, b.Left) })
		texts := make([]string, len(line))
		for j, w := range line {
			texts[j] = w.Text
		}
		text[i] = strings.Join(texts, " ")
	}
	return strings.Join(text, "\n")
}
