package pdfium

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/klippa-app/go-pdfium/references"
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

// Words lists the words of a page as displayed: runs of characters between white space and
// the spaces and line breaks PDFium infers (it knows the direction of the text, which a test
// on displayed coordinates would not). A word's box joins PDFium's loose boxes (from the
// font's ascent to its descent) of its first and last characters, in millimetres from the
// top-left; its baseline and font size are its first character's. Text is NFKD-normalised,
// so a ligature reads as its letters.
func (d *document) Words(ctx context.Context, page int) ([]notifyql.PDFWord, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.page(page)
	if err != nil {
		return nil, err
	}
	var words []notifyql.PDFWord
	err = d.guard(ctx, func() error {
		var err error
		words, err = d.words(ctx, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pdfium: words of page %d: %w", page, err)
	}
	return words, nil
}

// span is a word: the indexes of its first and last characters.
type span struct{ first, last int }

// separator says whether c ends a word. PDFium gives 0 for a character it cannot map.
func separator(c rune) bool {
	return c == 0 || c == utf8.RuneError || unicode.IsSpace(c) || unicode.IsControl(c)
}

// spans splits a page's characters into words.
func spans(chars []rune) []span {
	var out []span
	start := -1
	for i, c := range chars {
		switch {
		case separator(c) && start >= 0:
			out = append(out, span{start, i - 1})
			start = -1
		case !separator(c) && start < 0:
			start = i
		}
	}
	if start >= 0 {
		out = append(out, span{start, len(chars) - 1})
	}
	return out
}

// words reads the page's words. Each engine call costs a context watch (the price of
// interruptible WebAssembly), so the text comes in one call and positions are read per
// word, not per character.
func (d *document) words(ctx context.Context, p requests.Page) ([]notifyql.PDFWord, error) {
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
	text := tp.TextPage
	defer d.inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: text})
	n, err := d.inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: text})
	if err != nil {
		return nil, err
	}
	if n.Count > maxChars {
		return nil, errors.New("too many characters on the page")
	}
	if n.Count <= 0 {
		return nil, nil
	}
	chars, err := d.pageChars(ctx, text, n.Count)
	if err != nil {
		return nil, err
	}
	var words []notifyql.PDFWord
	for i, sp := range spans(chars) {
		// The guard kills the instance when ctx ends mid-call; checking here as well stops
		// a long page between calls without discarding the instance.
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		l, t, rr, b, err := d.charBox(text, sp.first, toDisplay)
		if err != nil {
			return nil, err
		}
		if sp.last != sp.first {
			l2, t2, r2, b2, err := d.charBox(text, sp.last, toDisplay)
			if err != nil {
				return nil, err
			}
			l, t, rr, b = math.Min(l, l2), math.Min(t, t2), math.Max(rr, r2), math.Max(b, b2)
		}
		origin, err := d.inst.FPDFText_GetCharOrigin(&requests.FPDFText_GetCharOrigin{TextPage: text, Index: sp.first})
		if err != nil {
			return nil, err
		}
		size, err := d.inst.FPDFText_GetFontSize(&requests.FPDFText_GetFontSize{TextPage: text, Index: sp.first})
		if err != nil {
			return nil, err
		}
		_, base := toDisplay(origin.X, origin.Y)
		words = append(words, notifyql.PDFWord{
			Text: norm.NFKD.String(string(chars[sp.first : sp.last+1])),
			Left: l * mmPerPoint, Top: t * mmPerPoint, Right: rr * mmPerPoint, Bottom: b * mmPerPoint,
			Baseline: base * mmPerPoint,
			FontSize: size.FontSize * mmPerPoint,
		})
	}
	return words, nil
}

// pageChars returns the page's n characters, one rune per character index. The text comes
// in one call; should its runes not line up with the indexes (a character PDFium cannot
// map, or one outside the Basic Multilingual Plane cut short), they are read one by one.
func (d *document) pageChars(ctx context.Context, text references.FPDF_TEXTPAGE, n int) ([]rune, error) {
	all, err := d.inst.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: text, Count: n})
	if err != nil {
		return nil, err
	}
	chars := []rune(strings.TrimRight(all.Text, "\x00"))
	if len(chars) == n {
		return chars, nil
	}
	chars = make([]rune, n)
	for i := range n {
		if i%512 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		u, err := d.inst.FPDFText_GetUnicode(&requests.FPDFText_GetUnicode{TextPage: text, Index: i})
		if err != nil {
			return nil, err
		}
		if u.Unicode <= unicode.MaxRune {
			chars[i] = rune(u.Unicode)
		}
	}
	return chars, nil
}

// charBox is a character's loose box as displayed, in points.
func (d *document) charBox(text references.FPDF_TEXTPAGE, i int, toDisplay func(x, y float64) (float64, float64)) (l, t, r, b float64, err error) {
	box, err := d.inst.FPDFText_GetLooseCharBox(&requests.FPDFText_GetLooseCharBox{TextPage: text, Index: i})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	x0, y0 := toDisplay(float64(box.Rect.Left), float64(box.Rect.Top))
	x1, y1 := toDisplay(float64(box.Rect.Right), float64(box.Rect.Bottom))
	return math.Min(x0, x1), math.Min(y0, y1), math.Max(x0, x1), math.Max(y0, y1), nil
}
