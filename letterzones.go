package notifyql

import (
	"context"
	"fmt"
	"image"
	"math"
)

// The page geometry of uploaded letters (RENDERING.md §6.2), in millimetres from the
// top-left corner of an A4 page as displayed.

// mmRect is a rectangle in millimetres: X0–X1 across, Y0–Y1 down.
type mmRect struct{ X0, Y0, X1, Y1 float64 }

// grow widens r by d on every side.
func (r mmRect) grow(d float64) mmRect {
	return mmRect{r.X0 - d, r.Y0 - d, r.X1 + d, r.Y1 + d}
}

// intersects reports whether a word's box overlaps r by more than an edge.
func (r mmRect) intersects(w PDFWord) bool {
	return w.Left < r.X1 && w.Right > r.X0 && w.Top < r.Y1 && w.Bottom > r.Y0
}

var (
	printableArea     = mmRect{15, 5, 195, 292}
	page1Body         = mmRect{15, 95, 195, 292}
	page1Contact      = mmRect{125, 5, 195, 95}
	page1Logo         = mmRect{15, 5, 125, 30}
	page1Window       = mmRect{24.6, 39.5, 120, 66.3}
	addressExtraction = mmRect{21.6, 36.5, 123, 69.3}
	notifyTagBox      = mmRect{0, 0, 15.191, 6.149}
)

// allowedZones are where a page may have content: on page 1 the body, contact column, logo
// area and address window; on other pages the printable area.
func allowedZones(page int) []mmRect {
	if page == 1 {
		return []mmRect{page1Body, page1Contact, page1Logo, page1Window}
	}
	return []mmRect{printableArea}
}

// overlayAreas are the areas outside the allowed zones that a preview paints red for
// content-outside-printable-area: the margins of every page, and on page 1 the gaps between
// its zones.
func overlayAreas(page int) []mmRect {
	areas := []mmRect{
		{0, 0, 15, 297}, {195, 0, 210, 297},
		{15, 0, 195, 5}, {15, 292, 195, 297},
	}
	if page == 1 {
		areas = append(areas,
			mmRect{15, 30, 24.6, 95}, mmRect{24.6, 30, 120, 39.5},
			mmRect{120, 30, 125, 95}, mmRect{24.6, 66.3, 120, 95})
	}
	return areas
}

// hiddenNotifyTag is the area of page 1 painted white on a stored upload's preview, to hide
// the NOTIFY tag added when it was sent (§6.1): 130 × 50 px at 150 dpi.
var hiddenNotifyTag = mmRect{0, 0, 22, 8.5}

// overlayColour is the preview's overlay, RGB (255, 0, 0) at 20 % opacity.
var overlayColour = [3]uint32{255, 0, 0}

// mmToPx converts millimetres to whole pixels at dpi, rounding to the nearest.
func mmToPx(mm, dpi float64) int {
	return int(math.Round(mm / 25.4 * dpi))
}

// LetterPageSize is a page's image size at LetterPreviewDPI, as displayed, from its box
// alone (§5.7): A4 portrait is 1240 × 1754.
func LetterPageSize(box PageBox) (widthPx, heightPx int) {
	w, h := box.DisplayedSize()
	return mmToPx(w, LetterPreviewDPI), mmToPx(h, LetterPreviewDPI)
}

// RenderLetterPage rasterises a page at LetterPreviewDPI for display (§5.7, §6.1): with
// opts.HideNotifyTag page 1's tag area is painted white, and with opts.Overlay the areas
// outside the printable zones are tinted red.
func RenderLetterPage(ctx context.Context, doc PDFDocument, page int, opts LetterPageOptions) (*image.RGBA, error) {
	img, err := doc.Render(ctx, page, LetterPreviewDPI)
	if err != nil {
		return nil, fmt.Errorf("render letter page %d: %w", page, err)
	}
	if opts.HideNotifyTag && page == 1 {
		paint(img, hiddenNotifyTag, LetterPreviewDPI, func(p []uint8) { p[0], p[1], p[2], p[3] = 255, 255, 255, 255 })
	}
	if opts.Overlay {
		for _, area := range overlayAreas(page) {
			paint(img, area, LetterPreviewDPI, func(p []uint8) {
				for i, c := range overlayColour {
					// 80 % of the page and 20 % of the overlay, rounded.
					p[i] = uint8((4*uint32(p[i]) + c + 2) / 5)
				}
			})
		}
	}
	return img, nil
}

// paint applies f to each pixel of img inside r. Pixel edges are rounded to whole pixels,
// so areas that share an edge never paint a pixel twice.
func paint(img *image.RGBA, r mmRect, dpi float64, f func(pixel []uint8)) {
	b := img.Rect
	area := image.Rect(
		b.Min.X+mmToPx(r.X0, dpi), b.Min.Y+mmToPx(r.Y0, dpi),
		b.Min.X+mmToPx(r.X1, dpi), b.Min.Y+mmToPx(r.Y1, dpi),
	).Intersect(b)
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			i := img.PixOffset(x, y)
			f(img.Pix[i : i+4 : i+4])
		}
	}
}
