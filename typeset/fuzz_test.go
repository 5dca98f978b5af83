package typeset

import (
	"bytes"
	"context"
	"testing"

	"notifyql"
)

// docGen reads a LetterDocument out of fuzz bytes: every count, flag and string comes from
// them, so the fuzzer reaches any shape, invalid UTF-8 and unknown block kinds included.
type docGen struct {
	data []byte
	at   int
}

func (g *docGen) next() byte {
	if g.at >= len(g.data) {
		return 0
	}
	b := g.data[g.at]
	g.at++
	return b
}

func (g *docGen) str() string {
	n := int(g.next() % 48)
	end := min(g.at+n, len(g.data))
	s := string(g.data[g.at:end])
	g.at = end
	return s
}

func (g *docGen) line() notifyql.LetterLine {
	var l notifyql.LetterLine
	for range g.next() % 4 {
		f := g.next()
		l = append(l, notifyql.LetterRun{Text: g.str(), Bold: f&1 != 0, Marker: f&2 != 0})
	}
	return l
}

func (g *docGen) lines(max byte) []notifyql.LetterLine {
	var out []notifyql.LetterLine
	for range g.next() % max {
		out = append(out, g.line())
	}
	return out
}

func (g *docGen) block(depth int) notifyql.LetterBlock {
	kind := notifyql.LetterBlockKind(g.next() % 7)
	b := notifyql.LetterBlock{Kind: kind}
	switch kind {
	case notifyql.LetterParagraph, notifyql.LetterHeading, notifyql.LetterQRPlaceholder:
		b.Lines = g.lines(8)
	case notifyql.LetterList:
		b.Ordered = g.next()&1 != 0
		for range g.next() % 5 {
			var item notifyql.LetterListItem
			if depth < 6 {
				for range g.next() % 3 {
					item.Blocks = append(item.Blocks, g.block(depth+1))
				}
			}
			b.Items = append(b.Items, item)
		}
	case notifyql.LetterQRCode:
		b.QRData = g.str()
	}
	return b
}

func (g *docGen) document() notifyql.LetterDocument {
	var doc notifyql.LetterDocument
	for range g.next() % 3 {
		p := notifyql.LetterPart{Address: g.lines(10), Contact: g.lines(14), Date: g.str(), Title: g.line(), Welsh: g.next()&1 != 0}
		for range g.next() % 16 {
			p.Blocks = append(p.Blocks, g.block(0))
		}
		doc.Parts = append(doc.Parts, p)
	}
	return doc
}

// FuzzTypeset: no LetterDocument makes the typesetter panic; whatever it typesets has the
// page count it reports, and every element inside the allowed zones.
func FuzzTypeset(f *testing.F) {
	f.Add([]byte("\x01\x03\x01\x05hello\x02\x00\x05world\x01\x00\x03\x00\x02\x01\x05title\x04\x00\x02\x01\x00\x0aparagraph!\x04\x01\x03\x02\x00\x01\x01\x00\x02hi"))
	f.Add([]byte("\x02\x09\x01\x02\x2fWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW\x00\x07\x05\x05https://example.com\x03\xff\xfe\xfd"))
	f.Add(bytes.Repeat([]byte{1, 3, 2, 7, 4, 1, 2, 5, 0xe2, 0x80, 0x94}, 40))
	ts := mustNew(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &docGen{data: data}
		doc := g.document()
		pdf, n, err := ts.Typeset(context.Background(), doc)
		if err != nil {
			return
		}
		if n < len(doc.Parts) || pdfPageCount(pdf) != n || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Fatalf("pageCount %d for %d parts, %d pages in the PDF", n, len(doc.Parts), pdfPageCount(pdf))
		}
		l, err := ts.fonts.layoutDocument(context.Background(), doc)
		if err != nil {
			t.Fatalf("typeset, but the layout fails: %v", err)
		}
		for _, b := range l.boxes {
			if !inAllowedZone(b.page, b.x, b.y, b.x+b.w, b.y+b.h) {
				t.Fatalf("page %d: %v box at x %.2f–%.2f y %.2f–%.2f is outside the allowed zones", b.page, b.kind, b.x, b.x+b.w, b.y, b.y+b.h)
			}
		}
	})
}
