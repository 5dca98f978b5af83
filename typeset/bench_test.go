package typeset

import (
	"context"
	"fmt"
	"testing"

	"notifyql"
)

// threePageLetter is a realistic letter of three pages: address, contact block, headings,
// paragraphs, a list, a marker and a QR code.
func threePageLetter() notifyql.LetterDocument {
	var blocks []notifyql.LetterBlock
	for i := range 7 {
		blocks = append(blocks,
			heading(fmt.Sprintf("Section %d", i+1)),
			notifyql.LetterBlock{Kind: notifyql.LetterParagraph, Lines: []notifyql.LetterLine{
				{{Text: "Dear "}, {Text: "((first name))", Marker: true}, {Text: ", your reference is "}, {Text: "gov.uk/pay", Bold: true}},
				text(words(45)),
			}},
			notifyql.LetterBlock{Kind: notifyql.LetterList, Ordered: i%2 == 0, Items: []notifyql.LetterListItem{
				{Blocks: []notifyql.LetterBlock{para(words(12))}},
				{Blocks: []notifyql.LetterBlock{para(words(20))}},
			}},
		)
	}
	blocks = append(blocks, notifyql.LetterBlock{Kind: notifyql.LetterQRCode, QRData: "https://www.gov.uk/pay/reference-123456"})
	return notifyql.LetterDocument{Parts: []notifyql.LetterPart{{
		Address: []notifyql.LetterLine{text("JO BLOGGS"), text("1 HIGH STREET"), text("LONDON"), text("SW1A 1AA")},
		Contact: []notifyql.LetterLine{text("Department of Examples"), text("PO Box 123"), text("0300 123 4567")},
		Date:    "31 October 2023",
		Title:   text("Your application"),
		Blocks:  blocks,
	}}}
}

func TestBenchmarkLetterIsThreePages(t *testing.T) {
	if _, n := mustTypeset(t, mustNew(t), threePageLetter()); n != 3 {
		t.Errorf("the benchmark's letter is %d pages, want 3", n)
	}
}

func BenchmarkTypeset(b *testing.B) {
	ts := mustNew(b)
	doc := threePageLetter()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ts.Typeset(ctx, doc); err != nil {
			b.Fatal(err)
		}
	}
}
