package typeset

import (
	"context"
	"errors"
	"slices"

	"notifyql"
)

// The layout step: a LetterDocument becomes pages of positioned boxes, which the drawing
// step paints and the tests measure. Nothing here knows the PDF engine.

type boxKind int

const (
	// boxText is text on a baseline; its box is the line box (content area for the footer).
	boxText boxKind = iota
	// boxHighlight is a marker's #FFDD00 background, over the text's content area.
	boxHighlight
	// boxQR is a QR code's square; its modules are drawn as rectangles inside it.
	boxQR
	// boxFrame is a QR placeholder's dashed box.
	boxFrame
)

// box is one drawn element, in millimetres from the page's top-left corner. Page is
// 1-based over the whole document.
type box struct {
	page       int
	kind       boxKind
	x, y, w, h float64
	baseline   float64
	text       string
	bold       bool
	size       float64
	// clipRight, when positive, clips the text at that x (the address block).
	clipRight float64
	qr        [][]bool
}

// pageInfo is a page's place in its part: part is the part's index, number the page's
// number within the part, of the part's page count.
type pageInfo struct {
	part, number, of int
}

// layout is a composed document.
type layout struct {
	pages []pageInfo
	boxes []box
}

// errNoParts is returned for a document with nothing to print.
var errNoParts = errors.New("a letter document needs at least one part")

// layoutDocument composes every part. Each part starts on a new page and numbers its own.
func (fs *fonts) layoutDocument(ctx context.Context, doc notifyql.LetterDocument) (*layout, error) {
	if len(doc.Parts) == 0 {
		return nil, errNoParts
	}
	l := &layout{}
	for i, p := range doc.Parts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := fs.layoutPart(l, i, p); err != nil {
			return nil, err
		}
	}
	// Furniture and footers are added after the flow; drawing wants page order.
	slices.SortStableFunc(l.boxes, func(a, b box) int { return a.page - b.page })
	return l, nil
}

// layoutPart composes one part: its furniture on its first page (first part only), its
// content flow, and a footer on every page.
func (fs *fonts) layoutPart(l *layout, index int, p notifyql.LetterPart) error {
	f, err := fs.partFlow(p)
	if err != nil {
		return err
	}
	places, pages := paginate(f.rows)
	base := len(l.pages)
	for n := 1; n <= pages; n++ {
		l.pages = append(l.pages, pageInfo{part: index, number: n, of: pages})
	}
	if index == 0 {
		fs.address(l, p.Address)
		fs.contact(l, p.Contact)
	}
	// frameAt holds the index of each placeholder box's box on each page it reaches.
	frameAt := map[[2]int]int{}
	for i, r := range f.rows {
		page := base + places[i].page + 1
		y := places[i].y
		for _, m := range r.marks {
			st := r.st
			if r.kind != rowText {
				st = bodyStyle
			}
			tl := fs.wrap(notifyql.LetterLine{{Text: m.text}}, st, 0)[0]
			x := max(m.x-listIndent, m.x-markerGap-tl.width)
			l.addLine(fs, page, x, y, st, tl, 0)
		}
		switch r.kind {
		case rowText:
			l.addLine(fs, page, r.x, y, r.st, r.line, 0)
		case rowQR:
			l.boxes = append(l.boxes, box{page: page, kind: boxQR, x: r.x, y: y, w: qrSize, h: qrSize, qr: r.qr})
		}
		if r.frame > 0 {
			key := [2]int{r.frame, page}
			at, ok := frameAt[key]
			if !ok {
				fi := f.frames[r.frame-1]
				l.boxes = append(l.boxes, box{page: page, kind: boxFrame, x: fi.x, y: y, w: fi.w})
				at = len(l.boxes) - 1
				frameAt[key] = at
			}
			fb := &l.boxes[at]
			fb.h = max(fb.h, y+r.h-fb.y)
		}
	}
	for n := 1; n <= pages; n++ {
		fs.footer(l, base+n, n, pages, p.Welsh)
	}
	return nil
}
