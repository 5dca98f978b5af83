package typeset

import (
	"fmt"
	"strings"
	"testing"

	"notifyql"
)

// pagesOf is the pages of the text boxes whose text starts with prefix, in order.
func pagesOf(l *layout, prefix string) []int {
	var out []int
	for _, b := range l.boxes {
		if b.kind == boxText && strings.HasPrefix(b.text, prefix) {
			out = append(out, b.page)
		}
	}
	return out
}

// fillers are n one-line paragraphs.
func fillers(n int) []notifyql.LetterBlock {
	out := make([]notifyql.LetterBlock, n)
	for i := range out {
		out[i] = para(fmt.Sprintf("filler %d", i))
	}
	return out
}

// letter is a one-part letter of blocks.
func letter(blocks ...notifyql.LetterBlock) notifyql.LetterDocument {
	return notifyql.LetterDocument{Parts: []notifyql.LetterPart{{Date: "1 January 2001", Title: text("Title"), Blocks: blocks}}}
}

// A heading is never the last line on a page, wherever the flow puts it.
func TestHeadingIsNeverLastOnAPage(t *testing.T) {
	ts := mustNew(t)
	moved := false
	for n := 0; n < 30; n++ {
		blocks := append(fillers(n), heading("HEADING"), para("after heading"))
		l := mustLayout(t, ts, letter(blocks...))
		h, p := pagesOf(l, "HEADING"), pagesOf(l, "after heading")
		if len(h) != 1 || len(p) != 1 {
			t.Fatalf("%d fillers: heading on %v, paragraph on %v", n, h, p)
		}
		if h[0] != p[0] {
			t.Errorf("%d fillers: the heading is on page %d and the paragraph after it on page %d", n, h[0], p[0])
		}
		if h[0] == 2 && pagesOf(l, fmt.Sprintf("filler %d", n-1))[0] == 1 {
			moved = true
		}
	}
	if !moved {
		t.Error("no filler count put the heading at a page's foot: the test tests nothing")
	}
}

// A paragraph of 4 or more lines keeps at least 2 lines on each page it spans.
func TestParagraphKeepsTwoLinesOnEachPage(t *testing.T) {
	ts := mustNew(t)
	splits := map[string]bool{}
	for _, size := range []int{4, 5, 7, 30} {
		for n := 0; n < 30; n++ {
			var lines []string
			for i := range size {
				lines = append(lines, fmt.Sprintf("P line %d", i))
			}
			l := mustLayout(t, ts, letter(append(fillers(n), para(lines...))...))
			count := map[int]int{}
			for _, p := range pagesOf(l, "P line") {
				count[p]++
			}
			if len(count) > 1 {
				splits[fmt.Sprint(size)] = true
			}
			for page, c := range count {
				if len(count) > 1 && c < 2 {
					t.Errorf("%d-line paragraph after %d fillers: %d line(s) on page %d (%v)", size, n, c, page, count)
				}
			}
		}
	}
	if len(splits) < 4 {
		t.Errorf("only paragraphs of %v lines were split across pages: the test tests too little", splits)
	}
}

// A page break starts a new page; a trailing one adds no page, and two in a row leave an
// empty page as two forced breaks do in a browser.
func TestPageBreaks(t *testing.T) {
	ts := mustNew(t)
	tests := []struct {
		blocks []notifyql.LetterBlock
		pages  int
	}{
		{[]notifyql.LetterBlock{para("a"), pageBreak, para("b")}, 2},
		{[]notifyql.LetterBlock{para("a"), pageBreak}, 1},
		{[]notifyql.LetterBlock{para("a"), pageBreak, pageBreak, para("b")}, 3},
		{[]notifyql.LetterBlock{pageBreak, para("a")}, 2},
	}
	for i, tt := range tests {
		l := mustLayout(t, ts, letter(tt.blocks...))
		if len(l.pages) != tt.pages {
			t.Errorf("case %d: %d pages, want %d", i, len(l.pages), tt.pages)
		}
		if b := pagesOf(l, "b"); len(b) == 1 {
			first := textOn(l, b[0])[0]
			if first.text != "b" || !near(first.y, otherTop) {
				t.Errorf("case %d: the page after the break opens with %q at y %v, want b at 15", i, first.text, first.y)
			}
		}
	}
}

// manyPages is a letter whose content is composed to exactly n pages by page breaks, each
// page holding a paragraph that wraps.
func manyPages(n int) notifyql.LetterDocument {
	var blocks []notifyql.LetterBlock
	for i := range n {
		if i > 0 {
			blocks = append(blocks, pageBreak)
		}
		blocks = append(blocks, para(fmt.Sprintf("page %d %s", i+1, words(80))))
	}
	return letter(blocks...)
}

// RENDERING.md T33: content composed to 1, 3, 10 or 11 pages gives exactly that page count,
// numbered 1 to N.
func TestT33PageCounts(t *testing.T) {
	ts := mustNew(t)
	for _, n := range []int{1, 3, 10, 11} {
		doc := manyPages(n)
		pdf, count := mustTypeset(t, ts, doc)
		if count != n || pdfPageCount(pdf) != n {
			t.Errorf("%d pages composed: pageCount %d, PDF pages %d", n, count, pdfPageCount(pdf))
		}
		l := mustLayout(t, ts, doc)
		for p := 1; p <= n; p++ {
			boxes := textOn(l, p)
			if f := boxes[len(boxes)-1].text; f != fmt.Sprintf("Page %d of %d", p, n) {
				t.Errorf("%d pages: page %d footer %q", n, p, f)
			}
		}
	}
}

// Flowing text, with no page breaks, fills pages in order: 3 pages numbered 1, 2, 3.
func TestFlowingTextFillsPages(t *testing.T) {
	ts := mustNew(t)
	var blocks []notifyql.LetterBlock
	for i := range 12 {
		blocks = append(blocks, para(fmt.Sprintf("para %d %s", i, words(60))))
	}
	l := mustLayout(t, ts, letter(blocks...))
	if len(l.pages) != 3 {
		t.Fatalf("%d pages, want 3", len(l.pages))
	}
	last := 0
	for i := range 12 {
		p := pagesOf(l, fmt.Sprintf("para %d ", i))
		if len(p) != 1 || p[0] < last {
			t.Errorf("paragraph %d starts on %v after page %d", i, p, last)
		}
		last = p[0]
	}
	for p := 1; p <= 3; p++ {
		var bottom float64
		for _, b := range textOn(l, p) {
			if b.baseline != footerBaseline {
				bottom = max(bottom, b.y+b.h)
			}
		}
		if p < 3 && bottom < columnBottom-3*bodyStyle.lineHeight() {
			t.Errorf("page %d ends at y %v: too early for flowing text", p, bottom)
		}
	}
}
