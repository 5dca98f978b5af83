package typeset

import (
	"strings"
	"testing"

	"notifyql"
)

// lineTexts is the text of each broken line.
func lineTexts(lines []textLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		for _, p := range l.pieces {
			out[i] += p.text
		}
	}
	return out
}

func TestWhiteSpaceCollapsesAsInABrowser(t *testing.T) {
	fs := mustNew(t).fonts
	runs := notifyql.LetterLine{{Text: "  one \t two\n"}, {Text: " three", Bold: true}, {Text: "four\u00a0five  "}}
	got := lineTexts(fs.wrap(runs, bodyStyle, 0))
	if len(got) != 1 || got[0] != "one two threefour\u00a0five" {
		t.Errorf("got %q", got)
	}
	ignorable := notifyql.LetterLine{{Text: "zero\u200bwidth\u00adsoft \u3164 filler\u2028line"}}
	if got := lineTexts(fs.wrap(ignorable, bodyStyle, 0)); len(got) != 1 || got[0] != "zerowidthsoft filler line" {
		t.Errorf("ignorable characters and separators give %q", got)
	}
	if got := fs.wrap(notifyql.LetterLine{{Text: " \n "}}, bodyStyle, 100); len(got) != 1 || len(got[0].pieces) != 0 {
		t.Errorf("a line of white space gives %q, want one empty line", lineTexts(got))
	}
}

// Lines break greedily at spaces only, never at hyphens (RENDERING.md F20), and each is as
// full as it can be.
func TestGreedyBreaksAtSpacesNeverAtHyphens(t *testing.T) {
	fs := mustNew(t).fonts
	source := strings.Repeat("well-known self-service co-operative ", 20)
	width := columnRight - columnLeft
	lines := fs.wrap(text(source), bodyStyle, width)
	texts := lineTexts(lines)
	if len(texts) < 3 {
		t.Fatalf("%d lines: nothing wrapped", len(texts))
	}
	words := strings.Fields(source)
	at := 0
	for i, l := range texts {
		lw := strings.Fields(l)
		for _, w := range lw {
			if w != words[at] {
				t.Fatalf("line %d holds %q where %q was expected: a word was split", i, w, words[at])
			}
			at++
		}
		if lines[i].width > width+1e-9 {
			t.Errorf("line %d is %v mm wide, over %v", i, lines[i].width, width)
		}
		if i < len(texts)-1 {
			next := l + " " + words[at]
			if fs.regular.width(next, bodyStyle.size) <= width {
				t.Errorf("line %d %q had room for %q", i, l, words[at])
			}
		}
	}
	if at != len(words) {
		t.Errorf("%d of %d words drawn", at, len(words))
	}
}

// A word wider than the column starts its own line and breaks where it runs out of room.
func TestLongWordsBreakWhereTheyRunOutOfRoom(t *testing.T) {
	fs := mustNew(t).fonts
	long := strings.Repeat("abcdefghij", 30)
	width := columnRight - columnLeft
	texts := lineTexts(fs.wrap(text("short "+long+" tail"), bodyStyle, width))
	if texts[0] != "short" {
		t.Errorf("first line %q, want the short word alone", texts[0])
	}
	joined := strings.Join(texts[1:], "")
	if !strings.HasPrefix(joined, long) || !strings.HasSuffix(texts[len(texts)-1], " tail") {
		t.Errorf("the long word is not kept whole in order: %q", texts)
	}
	for _, l := range texts[1 : len(texts)-1] {
		w := fs.regular.width(l, bodyStyle.size)
		if w > width+1e-9 || w < width-fs.regular.width("m", bodyStyle.size) {
			t.Errorf("piece %q is %v mm wide: not broken where it ran out of room (%v)", l, w, width)
		}
	}
	// A column narrower than one character still advances.
	if got := fs.wrap(text("WWW"), bodyStyle, 0.1); len(got) != 3 {
		t.Errorf("a column narrower than a character gives %q", lineTexts(got))
	}
}

func TestListsIndentSevenMillimetresAPerLevel(t *testing.T) {
	ts := mustNew(t)
	list := notifyql.LetterBlock{Kind: notifyql.LetterList, Ordered: true, Items: []notifyql.LetterListItem{
		{Blocks: []notifyql.LetterBlock{para("one")}},
		{Blocks: []notifyql.LetterBlock{para("two"), {Kind: notifyql.LetterList, Items: []notifyql.LetterListItem{
			{Blocks: []notifyql.LetterBlock{para("nested")}},
		}}}},
	}}
	l := mustLayout(t, ts, letter(list))
	boxes := map[string]box{}
	for _, b := range textOn(l, 1) {
		boxes[b.text] = b
	}
	checks := []struct {
		text     string
		x0, x1   float64
		sameLine string
	}{
		{"one", 22, 22, ""},
		{"1.", 15, 22 - markerGap, "one"},
		{"two", 22, 22, ""},
		{"2.", 15, 22 - markerGap, "two"},
		{"nested", 29, 29, ""},
		{"•", 22, 29 - markerGap, "nested"},
	}
	for _, c := range checks {
		b, ok := boxes[c.text]
		if !ok {
			t.Errorf("%q is not drawn", c.text)
			continue
		}
		if b.x < c.x0-1e-9 || b.x > c.x1+1e-9 {
			t.Errorf("%q at x %v, want within %v–%v", c.text, b.x, c.x0, c.x1)
		}
		if c.x0 != c.x1 && !near(b.x+b.w, c.x1) {
			t.Errorf("%q ends at %v, want %v: the number sits in the indent before the text", c.text, b.x+b.w, c.x1)
		}
		if c.sameLine != "" && !near(b.y, boxes[c.sameLine].y) {
			t.Errorf("%q is not on the line of %q", c.text, c.sameLine)
		}
	}
	// Items follow one another with no space between.
	if d := boxes["two"].y - boxes["one"].y; !near(d, bodyStyle.lineHeight()) {
		t.Errorf("items are %v mm apart, want one line", d)
	}
}

// A list that opens an item shares the item's first line: both bullets, then the text.
func TestListOpeningAnItemSharesItsLine(t *testing.T) {
	ts := mustNew(t)
	inner := notifyql.LetterBlock{Kind: notifyql.LetterList, Items: []notifyql.LetterListItem{{Blocks: []notifyql.LetterBlock{para("deep")}}}}
	outer := notifyql.LetterBlock{Kind: notifyql.LetterList, Ordered: true, Items: []notifyql.LetterListItem{{Blocks: []notifyql.LetterBlock{inner}}, {}}}
	var got []box
	for _, b := range textOn(mustLayout(t, ts, letter(outer)), 1) {
		if b.size == bodyStyle.size && b.y > firstPageTop+20 {
			got = append(got, b)
		}
	}
	if len(got) != 4 {
		t.Fatalf("%d boxes, want 1., •, deep and 2.: %+v", len(got), got)
	}
	want := []struct {
		text string
		end  float64
	}{{"1.", 22 - markerGap}, {"•", 29 - markerGap}, {"deep", -1}, {"2.", 22 - markerGap}}
	for i, w := range want {
		if got[i].text != w.text || (w.end > 0 && !near(got[i].x+got[i].w, w.end)) {
			t.Errorf("box %d %q ends at %v, want %q ending at %v", i, got[i].text, got[i].x+got[i].w, w.text, w.end)
		}
	}
	if !near(got[0].y, got[2].y) || !near(got[1].y, got[2].y) {
		t.Error("the bullets are not on the first line of the nested item")
	}
	if !near(got[3].y, got[2].y+bodyStyle.lineHeight()) {
		t.Error("the empty second item does not follow on the next line")
	}
}
