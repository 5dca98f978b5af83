package typeset

import (
	"fmt"
	"strings"
	"testing"

	"notifyql"
)

// rect is a zone of RENDERING.md §6.2, in millimetres.
type rect struct{ x0, x1, y0, y1 float64 }

var (
	printableArea = rect{15, 195, 5, 292}
	// firstPageZones are the allowed zones of page 1: body, contact column, logo area and
	// address window.
	firstPageZones = []rect{{15, 195, 95, 292}, {125, 195, 5, 95}, {15, 125, 5, 30}, {24.6, 120, 39.5, 66.3}}
)

func (r rect) holds(x0, y0, x1, y1 float64) bool {
	const eps = 1e-9
	return x0 >= r.x0-eps && x1 <= r.x1+eps && y0 >= r.y0-eps && y1 <= r.y1+eps
}

// inAllowedZone reports whether a rectangle on a page lies inside one allowed zone.
func inAllowedZone(page int, x0, y0, x1, y1 float64) bool {
	if page != 1 {
		return printableArea.holds(x0, y0, x1, y1)
	}
	for _, z := range firstPageZones {
		if z.holds(x0, y0, x1, y1) {
			return true
		}
	}
	return false
}

// zoneDocuments are letters that reach every kind of element: furniture at its limits,
// long words, lists nested past the column, QR codes and placeholders, markers, page
// breaks, a Welsh part then an English one.
func zoneDocuments() map[string]notifyql.LetterDocument {
	long := strings.Repeat("W", 400)
	marker := notifyql.LetterLine{{Text: "Dear "}, {Text: "((first name))", Marker: true}, {Text: " see "}, {Text: "example.com/x", Bold: true}}
	var address, contact []notifyql.LetterLine
	for i := range 9 {
		address = append(address, text(fmt.Sprintf("ADDRESS LINE %d %s", i+1, long)))
		contact = append(contact, text(fmt.Sprintf("Contact line %d %s", i+1, words(30))))
	}
	nested := notifyql.LetterBlock{Kind: notifyql.LetterList}
	inner := &nested
	for depth := range 25 {
		next := notifyql.LetterBlock{Kind: notifyql.LetterList, Ordered: depth%2 == 0}
		inner.Items = []notifyql.LetterListItem{{Blocks: []notifyql.LetterBlock{para(fmt.Sprintf("level %d %s", depth, words(20)))}}, {}}
		inner.Items[1].Blocks = []notifyql.LetterBlock{next}
		inner = &inner.Items[1].Blocks[0]
	}
	var blocks []notifyql.LetterBlock
	for i := range 12 {
		blocks = append(blocks,
			heading(fmt.Sprintf("Heading %d", i)),
			notifyql.LetterBlock{Kind: notifyql.LetterParagraph, Lines: []notifyql.LetterLine{marker, text(words(60)), text(long)}},
			notifyql.LetterBlock{Kind: notifyql.LetterQRCode, QRData: "https://www.example.com/" + strings.Repeat("x", i*40)},
			notifyql.LetterBlock{Kind: notifyql.LetterQRPlaceholder, Lines: []notifyql.LetterLine{marker, text(long)}},
		)
	}
	blocks = append(blocks, nested, pageBreak, para("after the break"))
	full := notifyql.LetterPart{Address: address, Contact: contact, Date: "31 Hydref 2023", Title: text(words(40)), Blocks: blocks, Welsh: true}
	english := full
	english.Address, english.Contact, english.Date, english.Welsh = nil, nil, "31 October 2023", false
	return map[string]notifyql.LetterDocument{
		"T26":       t26(),
		"full":      {Parts: []notifyql.LetterPart{full}},
		"bilingual": {Parts: []notifyql.LetterPart{full, english}},
	}
}

// Every drawn element lies inside the allowed zones of its page (RENDERING.md §5.5, §6.2),
// glyphs (their content area) as well as their boxes.
func TestEveryElementIsInsideTheAllowedZones(t *testing.T) {
	ts := mustNew(t)
	for name, doc := range zoneDocuments() {
		t.Run(name, func(t *testing.T) {
			l := mustLayout(t, ts, doc)
			for _, b := range l.boxes {
				if !inAllowedZone(b.page, b.x, b.y, b.x+b.w, b.y+b.h) {
					t.Errorf("page %d: %v box %q at x %.2f–%.2f y %.2f–%.2f is outside the allowed zones", b.page, b.kind, b.text, b.x, b.x+b.w, b.y, b.y+b.h)
				}
				if b.kind == boxText {
					top, h := ts.fonts.contentArea(b.baseline, textStyle{size: b.size})
					if !inAllowedZone(b.page, b.x, top, b.x+b.w, top+h) {
						t.Errorf("page %d: the glyphs of %q at y %.2f–%.2f are outside the allowed zones", b.page, b.text, top, top+h)
					}
				}
			}
		})
	}
}

// The content flow stays in its column: x 15–152.5, y 104–282 on a part's first page and
// 15–282 on the others.
func TestContentStaysInsideItsColumn(t *testing.T) {
	ts := mustNew(t)
	for name, doc := range zoneDocuments() {
		t.Run(name, func(t *testing.T) {
			l := mustLayout(t, ts, doc)
			for _, b := range l.boxes {
				info := l.pages[b.page-1]
				furniture := b.page == 1 && b.y+b.h <= contactBottom+1e-9
				footer := b.baseline == footerBaseline
				if furniture || footer {
					continue
				}
				top := otherTop
				if info.number == 1 {
					top = firstPageTop
				}
				if !(rect{columnLeft, columnRight, top, columnBottom}).holds(b.x, b.y, b.x+b.w, b.y+b.h) {
					t.Errorf("page %d (part %d page %d): %v box %q at x %.2f–%.2f y %.2f–%.2f is outside the content column", b.page, info.part, info.number, b.kind, b.text, b.x, b.x+b.w, b.y, b.y+b.h)
				}
			}
			if name != "T26" && len(l.pages) < 3 {
				t.Errorf("only %d pages: the document should reach several", len(l.pages))
			}
		})
	}
}
