package pdfium

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/klippa-app/go-pdfium/enums"
	"github.com/klippa-app/go-pdfium/requests"
)

// maxDPI bounds the resolution a caller may ask for; the spec uses 150 and 200.
const maxDPI = 1200

// ErrPageTooLarge is returned for a page whose bitmap at the asked resolution would exceed
// Options.MaxPagePixels: it is refused before any memory is taken for it.
var ErrPageTooLarge = errors.New("pdfium: page too large to render")

// pixelSize is a side of points at dpi in pixels: round(mm ÷ 25.4 × dpi) (RENDERING.md
// §5.7), so A4 at 150 dpi is 1240 × 1754. It stays a float so that a huge box is compared
// with the bound before any conversion can overflow.
func pixelSize(points, dpi float64) float64 {
	return math.Round(points / 72 * dpi)
}

// Render rasterises a page as displayed (after /Rotate), composited on white, opaque: every
// pixel's alpha is 255. Annotations that need no interaction are drawn, as a viewer does.
func (d *document) Render(ctx context.Context, page int, dpi float64) (*image.RGBA, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !(dpi > 0 && dpi <= maxDPI) {
		return nil, fmt.Errorf("pdfium: resolution %v dpi out of range", dpi)
	}
	p, err := d.page(page)
	if err != nil {
		return nil, err
	}
	var img *image.RGBA
	err = d.guard(ctx, func() error {
		var err error
		img, err = d.render(p, dpi)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pdfium: render page %d: %w", page, err)
	}
	return img, nil
}

func (d *document) render(p requests.Page, dpi float64) (*image.RGBA, error) {
	// The page's size as displayed: PDFium swaps the sides of a page with /Rotate 90 or 270.
	wr, err := d.inst.FPDF_GetPageWidthF(&requests.FPDF_GetPageWidthF{Page: p})
	if err != nil {
		return nil, err
	}
	hr, err := d.inst.FPDF_GetPageHeightF(&requests.FPDF_GetPageHeightF{Page: p})
	if err != nil {
		return nil, err
	}
	wPt, hPt := float64(wr.PageWidth), float64(hr.PageHeight)
	if !(wPt > 0 && hPt > 0) || math.IsInf(wPt, 0) || math.IsInf(hPt, 0) {
		return nil, errors.New("page has no area")
	}
	wf, hf := pixelSize(wPt, dpi), pixelSize(hPt, dpi)
	if wf*hf > float64(d.reader.opts.MaxPagePixels) {
		return nil, ErrPageTooLarge
	}
	if wf < 1 || hf < 1 {
		return nil, errors.New("page smaller than a pixel")
	}
	w, h := int(wf), int(hf)
	// No alpha channel: what PDFium draws is composited onto the white fill.
	bm, err := d.inst.FPDFBitmap_Create(&requests.FPDFBitmap_Create{Width: w, Height: h, Alpha: 0})
	if err != nil {
		return nil, err
	}
	defer d.inst.FPDFBitmap_Destroy(&requests.FPDFBitmap_Destroy{Bitmap: bm.Bitmap})
	if _, err := d.inst.FPDFBitmap_FillRect(&requests.FPDFBitmap_FillRect{
		Bitmap: bm.Bitmap, Width: w, Height: h, Color: 0xFFFFFFFF,
	}); err != nil {
		return nil, err
	}
	if _, err := d.inst.FPDF_RenderPageBitmap(&requests.FPDF_RenderPageBitmap{
		Bitmap: bm.Bitmap, Page: p, SizeX: w, SizeY: h,
		Rotate: enums.FPDF_PAGE_ROTATION_NONE,
		// REVERSE_BYTE_ORDER makes PDFium write RGBx rather than BGRx.
		Flags: enums.FPDF_RENDER_FLAG_ANNOT | enums.FPDF_RENDER_FLAG_REVERSE_BYTE_ORDER,
	}); err != nil {
		return nil, err
	}
	buf, err := d.inst.FPDFBitmap_GetBuffer(&requests.FPDFBitmap_GetBuffer{Bitmap: bm.Bitmap})
	if err != nil {
		return nil, err
	}
	// buf is a view of the instance's memory, valid until the bitmap is destroyed: copy it.
	stride := len(buf.Buffer) / h
	if stride < 4*w {
		return nil, errors.New("bitmap buffer too small")
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		src := buf.Buffer[y*stride : y*stride+4*w]
		dst := img.Pix[y*img.Stride : y*img.Stride+4*w]
		copy(dst, src)
		for x := 3; x < len(dst); x += 4 {
			dst[x] = 0xFF
		}
	}
	return img, nil
}
