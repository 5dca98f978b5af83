package typeset

import (
	"context"
	"strings"
	"testing"

	"notifyql"
)

// mustNew returns a typesetter or stops the test.
func mustNew(tb testing.TB) *Typesetter {
	tb.Helper()
	ts, err := New()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return ts
}

// mustLayout lays out doc or stops the test.
func mustLayout(tb testing.TB, ts *Typesetter, doc notifyql.LetterDocument) *layout {
	tb.Helper()
	l, err := ts.fonts.layoutDocument(context.Background(), doc)
	if err != nil {
		tb.Fatalf("layout: %v", err)
	}
	return l
}

// mustTypeset typesets doc or stops the test.
func mustTypeset(tb testing.TB, ts *Typesetter, doc notifyql.LetterDocument) ([]byte, int) {
	tb.Helper()
	pdf, n, err := ts.Typeset(context.Background(), doc)
	if err != nil {
		tb.Fatalf("Typeset: %v", err)
	}
	return pdf, n
}

// text is a line of one plain run.
func text(s string) notifyql.LetterLine { return notifyql.LetterLine{{Text: s}} }

// para is a paragraph of plain lines.
func para(lines ...string) notifyql.LetterBlock {
	b := notifyql.LetterBlock{Kind: notifyql.LetterParagraph}
	for _, s := range lines {
		b.Lines = append(b.Lines, text(s))
	}
	return b
}

// heading is an h2.
func heading(s string) notifyql.LetterBlock {
	return notifyql.LetterBlock{Kind: notifyql.LetterHeading, Lines: []notifyql.LetterLine{text(s)}}
}

var pageBreak = notifyql.LetterBlock{Kind: notifyql.LetterPageBreak}

// t26 is the letter of RENDERING.md T26.
func t26() notifyql.LetterDocument {
	return notifyql.LetterDocument{Parts: []notifyql.LetterPart{{
		Address: []notifyql.LetterLine{text("NAME"), text("STREET"), text("SW1 1AA")},
		Date:    "1 January 2001",
		Title:   text("Subject"),
		Blocks:  []notifyql.LetterBlock{para("Foo")},
	}}}
}

// words is a paragraph line of n words, long enough to wrap.
func words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = "word"
	}
	return strings.Join(w, " ")
}

// pdfPageCount counts the page objects of a PDF fpdf wrote (their dictionaries are not
// compressed), independently of what Typeset reports.
func pdfPageCount(pdf []byte) int {
	return strings.Count(string(pdf), "/Type /Page\n")
}

// textOn is the text boxes of a page, in order.
func textOn(l *layout, page int) []box {
	var out []box
	for _, b := range l.boxes {
		if b.page == page && b.kind == boxText {
			out = append(out, b)
		}
	}
	return out
}
