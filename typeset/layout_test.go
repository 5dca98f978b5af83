package typeset

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"notifyql"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestT26Geometry(t *testing.T) {
	ts := mustNew(t)
	l := mustLayout(t, ts, t26())
	if len(l.pages) != 1 {
		t.Fatalf("%d pages, want 1", len(l.pages))
	}
	got := textOn(l, 1)
	want := []struct {
		text       string
		x, y, size float64
		bold       bool
	}{
		{"NAME", addressLeft, addressBottom - 3*8.5*ptToMM, 8, false},
		{"STREET", addressLeft, addressBottom - 2*8.5*ptToMM, 8, false},
		{"SW1 1AA", addressLeft, addressBottom - 8.5*ptToMM, 8, false},
		{"1 January 2001", columnLeft, firstPageTop, 12.5, false},
		{"Subject", columnLeft, firstPageTop + 16*ptToMM + blockSpace, 20, true},
		{"Foo", columnLeft, firstPageTop + 16*ptToMM + blockSpace + 24*ptToMM + blockSpace, 12.5, false},
		{"Page 1 of 1", -1, -1, 10, false},
	}
	if len(got) != len(want) {
		t.Fatalf("%d text boxes, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.text != w.text || g.size != w.size || g.bold != w.bold || (w.x >= 0 && (!near(g.x, w.x) || !near(g.y, w.y))) {
			t.Errorf("box %d = %q size %v bold %v at (%.3f, %.3f), want %q size %v bold %v at (%.3f, %.3f)", i, g.text, g.size, g.bold, g.x, g.y, w.text, w.size, w.bold, w.x, w.y)
		}
	}
	footer := got[len(got)-1]
	if !near(footer.x+footer.w, footerRight) || footer.baseline != footerBaseline {
		t.Errorf("footer ends at x %v on baseline %v, want 195 and 289", footer.x+footer.w, footer.baseline)
	}
}

func TestT26IsOnePage(t *testing.T) {
	pdf, n := mustTypeset(t, mustNew(t), t26())
	if n != 1 || pdfPageCount(pdf) != 1 {
		t.Errorf("pageCount %d, PDF pages %d, want 1", n, pdfPageCount(pdf))
	}
}

// The address block's last line box ends at y 66.2 and the block grows upward, at most 7
// lines, clipped at x 109.6.
func TestAddressBlockEndsAt66point2(t *testing.T) {
	ts := mustNew(t)
	for _, n := range []int{1, 3, 7, 9} {
		doc := t26()
		doc.Parts[0].Address = nil
		for i := range n {
			doc.Parts[0].Address = append(doc.Parts[0].Address, text(fmt.Sprintf("LINE %d %s", i+1, strings.Repeat("M", i*10))))
		}
		var lines []box
		for _, b := range textOn(mustLayout(t, ts, doc), 1) {
			if b.size == addressStyle.size {
				lines = append(lines, b)
			}
		}
		if len(lines) != min(n, 7) {
			t.Errorf("%d address lines drawn of %d, want %d", len(lines), n, min(n, 7))
			continue
		}
		last := lines[len(lines)-1]
		if !near(last.y+last.h, addressBottom) {
			t.Errorf("%d lines: the last line box ends at y %v, want 66.2", n, last.y+last.h)
		}
		for i, b := range lines {
			if !near(b.x, addressLeft) || b.x+b.w > addressRight+1e-9 || !near(b.h, 8.5*ptToMM) {
				t.Errorf("%d lines: line %d at x %v–%v height %v", n, i+1, b.x, b.x+b.w, b.h)
			}
			if i > 0 && !near(b.y, lines[i-1].y+lines[i-1].h) {
				t.Errorf("%d lines: line %d does not follow line %d", n, i+1, i)
			}
			if full := ts.fonts.regular.width(b.text, 8); b.x+full > addressRight && b.clipRight != addressRight {
				t.Errorf("line %d is %v mm wide and not clipped at 109.6", i+1, full)
			}
		}
	}
}

// The contact block ends at y 82.2, wraps at 70 mm and keeps its first 11 lines.
func TestContactBlock(t *testing.T) {
	ts := mustNew(t)
	doc := t26()
	doc.Parts[0].Contact = []notifyql.LetterLine{text("Short"), {}, text(words(100))}
	var lines []box
	for _, b := range textOn(mustLayout(t, ts, doc), 1) {
		if b.size == contactStyle.size && b.baseline != footerBaseline {
			lines = append(lines, b)
		}
	}
	// The empty line draws nothing but keeps its place: 10 boxes for 11 lines.
	if len(lines) != 10 {
		t.Fatalf("%d contact lines drawn, want 10 (11 lines, one empty)", len(lines))
	}
	if lines[0].text != "Short" || !near(lines[1].y, lines[0].y+2*12*ptToMM) {
		t.Errorf("first lines %q at %v, %q at %v: the empty line must keep its place", lines[0].text, lines[0].y, lines[1].text, lines[1].y)
	}
	last := lines[len(lines)-1]
	if !near(last.y+last.h, contactBottom) {
		t.Errorf("the last line box ends at %v, want 82.2", last.y+last.h)
	}
	for i, b := range lines {
		if !near(b.x, contactLeft) || b.w > contactWidth+1e-9 {
			t.Errorf("contact line %q at x %v, %v wide", b.text, b.x, b.w)
		}
		if b.w < contactWidth-15 && b.text != "Short" && i != len(lines)-1 {
			t.Errorf("contact line %q is %v mm wide: wrapped too early", b.text, b.w)
		}
	}
}

// RENDERING.md T27: each part numbers its own pages in its own language, and the English
// part starts on a new page at the first-page column top, with no address or contact block.
func TestBilingualFooters(t *testing.T) {
	ts := mustNew(t)
	welsh := notifyql.LetterPart{
		Address: []notifyql.LetterLine{text("A"), text("B"), text("SW1A 1AA")},
		Contact: []notifyql.LetterLine{text("Contact")},
		Date:    "31 Hydref 2023", Title: text("Teitl"), Welsh: true,
		Blocks: []notifyql.LetterBlock{para("Un"), pageBreak, para("Dau")},
	}
	english := notifyql.LetterPart{
		Address: []notifyql.LetterLine{text("A")}, Contact: []notifyql.LetterLine{text("Contact")},
		Date: "31 October 2023", Title: text("Title"),
		Blocks: []notifyql.LetterBlock{para("One"), pageBreak, para("Two"), pageBreak, para("Three")},
	}
	l := mustLayout(t, ts, notifyql.LetterDocument{Parts: []notifyql.LetterPart{welsh, english}})
	want := []string{"Tudalen 1 o 2", "Tudalen 2 o 2", "Page 1 of 3", "Page 2 of 3", "Page 3 of 3"}
	if len(l.pages) != len(want) {
		t.Fatalf("%d pages, want %d", len(l.pages), len(want))
	}
	for i, w := range want {
		boxes := textOn(l, i+1)
		if f := boxes[len(boxes)-1]; f.text != w || f.baseline != footerBaseline {
			t.Errorf("page %d footer %q, want %q", i+1, f.text, w)
		}
	}
	first := textOn(l, 3)
	if first[0].text != "31 October 2023" || !near(first[0].y, firstPageTop) {
		t.Errorf("the English part opens with %q at y %v, want its date at 104", first[0].text, first[0].y)
	}
	for _, b := range first {
		if b.size == addressStyle.size || b.text == "Contact" {
			t.Errorf("the English part draws furniture: %q", b.text)
		}
	}
	_, n := mustTypeset(t, ts, notifyql.LetterDocument{Parts: []notifyql.LetterPart{welsh, english}})
	if n != 5 {
		t.Errorf("pageCount %d, want 5", n)
	}
}
