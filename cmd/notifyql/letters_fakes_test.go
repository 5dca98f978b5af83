package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	"notifyql"
)

// The API tests preview letters through fake PDF engines: the adapter has tests of its own,
// and these check the edge (links, checks, headers, transport). A fake PDF is text:
//
//	%PDF-fake
//	page 210 297 0          a page's media box in mm and its /Rotate
//	ink 5 100               a black dot at x, y mm on the page before it
//	word Ann 30 45 40 48    a word and its box (left, top, right, bottom) in mm
//	slow                    opening waits until the caller gives up
//
// Anything not starting "%PDF-fake" is unreadable.

// fakeLetterPDF is a fake PDF of n blank A4 pages.
func fakeLetterPDF(n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-fake\n")
	for range n {
		b.WriteString("page 210 297 0\n")
	}
	return b.Bytes()
}

type fakePage struct {
	box   notifyql.PageBox
	ink   [][2]float64
	words []notifyql.PDFWord
}

// fakePDFReader counts the documents it opens, so tests can tell a cached file from a
// rendered one.
type fakePDFReader struct{ opens *atomic.Int32 }

func (r fakePDFReader) Open(ctx context.Context, pdf []byte) (notifyql.PDFDocument, error) {
	if r.opens != nil {
		r.opens.Add(1)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-fake\n")) {
		return nil, fmt.Errorf("fake reader: %w", notifyql.ErrUnreadablePDF)
	}
	doc := &fakeDocument{}
	lines := bufio.NewScanner(bytes.NewReader(pdf))
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) == 0 {
			continue
		}
		num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v }
		switch {
		case f[0] == "slow":
			<-ctx.Done()
			return nil, ctx.Err()
		case f[0] == "page" && len(f) == 4:
			doc.pages = append(doc.pages, fakePage{box: notifyql.PageBox{WidthMM: num(1), HeightMM: num(2), Rotate: int(num(3))}})
		case f[0] == "ink" && len(f) == 3 && len(doc.pages) > 0:
			p := &doc.pages[len(doc.pages)-1]
			p.ink = append(p.ink, [2]float64{num(1), num(2)})
		case f[0] == "word" && len(f) == 6 && len(doc.pages) > 0:
			p := &doc.pages[len(doc.pages)-1]
			p.words = append(p.words, notifyql.PDFWord{Text: f[1], Left: num(2), Top: num(3), Right: num(4), Bottom: num(5),
				Baseline: num(5), FontSize: num(5) - num(3)})
		}
	}
	if len(doc.pages) == 0 {
		return nil, fmt.Errorf("fake reader: no pages: %w", notifyql.ErrUnreadablePDF)
	}
	return doc, nil
}

type fakeDocument struct{ pages []fakePage }

func (d *fakeDocument) PageCount() int { return len(d.pages) }

func (d *fakeDocument) page(n int) (*fakePage, error) {
	if n < 1 || n > len(d.pages) {
		return nil, fmt.Errorf("fake reader: no page %d", n)
	}
	return &d.pages[n-1], nil
}

func (d *fakeDocument) PageBox(n int) (notifyql.PageBox, error) {
	p, err := d.page(n)
	if err != nil {
		return notifyql.PageBox{}, err
	}
	return p.box, nil
}

// Render draws the page white with its ink as 3-pixel black dots.
func (d *fakeDocument) Render(ctx context.Context, n int, dpi float64) (*image.RGBA, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := d.page(n)
	if err != nil {
		return nil, err
	}
	w, h := p.box.DisplayedSize()
	px := func(mm float64) int { return int(math.Round(mm / 25.4 * dpi)) }
	img := image.NewRGBA(image.Rect(0, 0, px(w), px(h)))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, dot := range p.ink {
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				img.SetRGBA(px(dot[0])+dx, px(dot[1])+dy, color.RGBA{A: 0xff})
			}
		}
	}
	return img, nil
}

func (d *fakeDocument) Words(ctx context.Context, n int) ([]notifyql.PDFWord, error) {
	p, err := d.page(n)
	if err != nil {
		return nil, err
	}
	return p.words, nil
}

func (d *fakeDocument) Close() error { return nil }

// fakeTypesetter typesets a letter as a fake PDF of blank A4 pages: one for each part, and
// one more for each page break (a rule, ---, in the template).
type fakeTypesetter struct{}

func (fakeTypesetter) Typeset(ctx context.Context, doc notifyql.LetterDocument) ([]byte, int, error) {
	pages := 0
	for _, part := range doc.Parts {
		pages++
		for _, line := range part.Address {
			for _, run := range line {
				// A typesetter's error may quote the letter: the edge must not pass it on.
				if strings.Contains(run.Text, "EXPLODE") {
					return nil, 0, fmt.Errorf("fake typesetter: cannot set %q", run.Text)
				}
			}
		}
		for _, b := range part.Blocks {
			if b.Kind == notifyql.LetterPageBreak {
				pages++
			}
		}
	}
	return fakeLetterPDF(pages), pages, nil
}

// fakeLetterEngines are the fakes as the API's engines.
func fakeLetterEngines() *letterEngines {
	return &letterEngines{Typesetter: fakeTypesetter{}, Reader: fakePDFReader{opens: &atomic.Int32{}}}
}
