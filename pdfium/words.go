package pdfium

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/klippa-app/go-pdfium/requests"
	"golang.org/x/text/unicode/norm"

	"notifyql"
)

// maxChars bounds the characters read from one page; a letter page holds a few thousand.
const maxChars = 200_000

// displayTransform maps PDF user space (points, y up) to the page as displayed (points from
// the top-left, y down) for a page whose visible box is box and whose /Rotate turns it
// clockwise by rotate degrees.
func displayTransform(left, bottom, right, top float64, rotate int) func(x, y float64) (float64, float64) {
	switch rotate {
	case 90:
		return func(x, y float64) (float64, float64) { return y - bottom, x - left }
	case 180:
		return func(x, y float64) (float64, float64) { return right - x, y - bottom }
	case 270:
		return func(x, y float64) (float64, float64) { return top - y, right - x }
	default:
		return func(x, y float64) (float64, float64) { return x - left, top - y }
	}
}

// charInfo is one character of a page, its box and origin already in displayed points.
type charInfo struct {
	r                        rune
	left, top, right, bottom float64
	baseline, size           float64
}

// Words lists the words of a page as displayed: split at white space and at the spaces and
// line breaks PDFium infers, with boxes (PDFium's loose character boxes, from the font's ascent to its
// descent) in millimetres from the top-left, the baseline of the first character, and the
// largest font size. Text is NFKD-normalised, so a ligature reads as its letters.
func (d *document) Words(ctx context.Context, page int) ([]notifyql.PDFWord, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.page(page)
	if err != nil {
		return nil, err
	}
	var chars []charInfo
	err = d.guard(ctx, func() error {
		var err error
		chars, err = d.chars(ctx, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pdfium: words of page %d: %w", page, err)
	}
	return groupWords(chars), nil
}

// chars reads every character of the page. A rune of 0 is a separator: white space, or a
// character PDFium inferred (a space or line break between runs).
func (d *document) chars(ctx context.Context, p requests.Page) ([]charInfo, error) {
	bb, err := d.inst.FPDF_GetPageBoundingBox(&requests.FPDF_GetPageBoundingBox{Page: p})
	if err != nil {
		return nil, err
	}
	rot, err := d.inst.FPDFPage_GetRotation(&requests.FPDFPage_GetRotation{Page: p})
	if err != nil {
		return nil, err
	}
	r := bb.Rect
	toDisplay := displayTransform(float64(min(r.Left, r.Right)), float64(min(r.Bottom, r.Top)),
		float64(max(r.Left, r.Right)), float64(max(r.Bottom, r.Top)), int(rot.PageRotation)*90)

	tp, err := d.inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: p})
	if err != nil {
		return nil, err
	}
	defer d.inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
	n, err := d.inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return nil, err
	}
	if n.Count > maxChars {
		return nil, errors.New("too many characters on the page")
	}
	chars := make([]charInfo, 0, n.Count)
	for i := range n.Count {
		// The guard kills the instance when ctx ends mid-call; checking here as well stops a
		// long page between calls without discarding the instance.
		if i%512 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		u, err := d.inst.FPDFText_GetUnicode(&requests.FPDFText_GetUnicode{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return nil, err
		}
		c := rune(u.Unicode)
		gen, err := d.inst.FPDFText_IsGenerated(&requests.FPDFText_IsGenerated{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return nil, err
		}
		if gen.IsGenerated || c == 0 || unicode.IsSpace(c) || unicode.IsControl(c) || c > unicode.MaxRune {
			chars = append(chars, charInfo{})
			continue
		}
		box, err := d.inst.FPDFText_GetLooseCharBox(&requests.FPDFText_GetLooseCharBox{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return nil, err
		}
		origin, err := d.inst.FPDFText_GetCharOrigin(&requests.FPDFText_GetCharOrigin{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return nil, err
		}
		size, err := d.inst.FPDFText_GetFontSize(&requests.FPDFText_GetFontSize{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return nil, err
		}
		x0, y0 := toDisplay(float64(box.Rect.Left), float64(box.Rect.Top))
		x1, y1 := toDisplay(float64(box.Rect.Right), float64(box.Rect.Bottom))
		_, base := toDisplay(origin.X, origin.Y)
		chars = append(chars, charInfo{
			r:    c,
			left: math.Min(x0, x1), right: math.Max(x0, x1),
			top: math.Min(y0, y1), bottom: math.Max(y0, y1),
			baseline: base, size: size.FontSize,
		})
	}
	return chars, nil
}

// groupWords joins runs of characters into words. Line ends need no test of their own:
// PDFium infers a line break (a generated character) where a text line changes, and it
// knows the direction of the text, which a test on displayed coordinates would not.
func groupWords(chars []charInfo) []notifyql.PDFWord {
	var words []notifyql.PDFWord
	var text strings.Builder
	var cur charInfo
	flush := func() {
		if text.Len() == 0 {
			return
		}
		words = append(words, notifyql.PDFWord{
			Text: norm.NFKD.String(text.String()),
			Left: cur.left * mmPerPoint, Top: cur.top * mmPerPoint,
			Right: cur.right * mmPerPoint, Bottom: cur.bottom * mmPerPoint,
			Baseline: cur.baseline * mmPerPoint,
			FontSize: cur.size * mmPerPoint,
		})
		text.Reset()
	}
	for _, c := range chars {
		if c.r == 0 {
			flush()
			continue
		}
		if text.Len() == 0 {
			cur = c
		} else {
			cur.left, cur.right = math.Min(cur.left, c.left), math.Max(cur.right, c.right)
			cur.top, cur.bottom = math.Min(cur.top, c.top), math.Max(cur.bottom, c.bottom)
			cur.size = math.Max(cur.size, c.size)
		}
		text.WriteRune(c.r)
	}
	flush()
	return words
}
