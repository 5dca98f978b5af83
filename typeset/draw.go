package typeset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/go-fonts/liberation/liberationsansbold"
	"github.com/go-fonts/liberation/liberationsansregular"
)

// The drawing step: boxes laid out become PDF operators. Nothing here decides a position.

// frameLine is the width of a QR placeholder's dashed line; it is drawn inside its box.
const frameLine = 0.3

// fixedDate stands in for the creation and modification dates fpdf always writes, so they
// can be found and blanked out (see blankDates).
var fixedDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// draw paints a layout into a PDF whose only metadata is the producer.
func draw(ctx context.Context, l *layout) ([]byte, error) {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetCompression(true)
	// Sorted catalogs and fixed dates make identical input give identical bytes.
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(fixedDate)
	pdf.SetModificationDate(fixedDate)
	pdf.SetProducer("notifyql", false)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.AddUTF8FontFromBytes(fontFamily, "", liberationsansregular.TTF)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", liberationsansbold.TTF)

	at := 0
	for page := 1; page <= len(l.pages); page++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pdf.AddPage()
		end := at
		for end < len(l.boxes) && l.boxes[end].page == page {
			end++
		}
		onPage := l.boxes[at:end]
		at = end
		// Highlights go under the text they mark.
		pdf.SetFillColor(0xFF, 0xDD, 0x00)
		for _, b := range onPage {
			if b.kind == boxHighlight {
				pdf.Rect(b.x, b.y, b.w, b.h, "F")
			}
		}
		pdf.SetFillColor(0, 0, 0)
		pdf.SetDrawColor(0, 0, 0)
		for _, b := range onPage {
			switch b.kind {
			case boxQR:
				drawQR(pdf, b)
			case boxFrame:
				pdf.SetLineWidth(frameLine)
				pdf.SetDashPattern([]float64{1.5, 1}, 0)
				pdf.Rect(b.x+frameLine/2, b.y+frameLine/2, b.w-frameLine, b.h-frameLine, "D")
				pdf.SetDashPattern(nil, 0)
			}
		}
		pdf.SetTextColor(0, 0, 0)
		for _, b := range onPage {
			if b.kind != boxText {
				continue
			}
			style := ""
			if b.bold {
				style = "B"
			}
			pdf.SetFont(fontFamily, style, b.size)
			if b.clipRight > 0 {
				// Clipped across only: accents and descenders may leave the line box.
				pdf.ClipRect(b.x, 0, b.w, pageHeight, false)
			}
			pdf.Text(b.x, b.baseline, b.text)
			if b.clipRight > 0 {
				pdf.ClipEnd()
			}
		}
	}
	if at != len(l.boxes) {
		return nil, errors.New("layout boxes are not in page order")
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("write PDF: %w", err)
	}
	return blankDates(buf.Bytes())
}

// drawQR paints a QR code's dark modules as filled rectangles, one per horizontal run.
func drawQR(pdf *fpdf.Fpdf, b box) {
	n := len(b.qr)
	if n == 0 {
		return
	}
	m := b.w / float64(n)
	for r, cells := range b.qr {
		for c := 0; c < len(cells); {
			if !cells[c] {
				c++
				continue
			}
			start := c
			for c < len(cells) && cells[c] {
				c++
			}
			pdf.Rect(b.x+float64(start)*m, b.y+float64(r)*m, float64(c-start)*m, m, "F")
		}
	}
}

// blankDates overwrites the dates fpdf writes into the document information dictionary with
// spaces, which keeps every byte offset of the cross-reference table valid: the only
// metadata left is the producer, and the output does not depend on the clock.
func blankDates(pdf []byte) ([]byte, error) {
	stamp := fixedDate.Format("20060102150405")
	for _, key := range []string{"/CreationDate (D:" + stamp + ")", "/ModDate (D:" + stamp + ")"} {
		k := []byte(key)
		if bytes.Count(pdf, k) != 1 {
			return nil, fmt.Errorf("PDF information dictionary: %s not found once", key[:strings.IndexByte(key, ' ')])
		}
		i := bytes.Index(pdf, k)
		copy(pdf[i:i+len(k)], bytes.Repeat([]byte{' '}, len(k)))
	}
	return pdf, nil
}
