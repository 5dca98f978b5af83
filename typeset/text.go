package typeset

import (
	"unicode"

	"notifyql"
)

// textStyle is the type of a run of lines: its size and line height in points, and whether
// every run is bold (a title or heading) or only the runs marked so.
type textStyle struct {
	size, leading float64
	bold          bool
}

// The type of RENDERING.md §5.5.
var (
	bodyStyle    = textStyle{size: 12.5, leading: 16}
	titleStyle   = textStyle{size: 20, leading: 24, bold: true}
	headingStyle = textStyle{size: 14, leading: 18, bold: true}
	addressStyle = textStyle{size: 8, leading: 8.5}
	contactStyle = textStyle{size: 10, leading: 12}
	footerStyle  = textStyle{size: 10, leading: 12}
)

// lineHeight is the style's line box height in millimetres.
func (s textStyle) lineHeight() float64 { return s.leading * ptToMM }

// glyph is one character to draw with its style.
type glyph struct {
	r      rune
	bold   bool
	marker bool
}

// piece is a stretch of a line in one style, x from the line's start, in millimetres.
type piece struct {
	text   string
	bold   bool
	marker bool
	x, w   float64
}

// textLine is one line as broken: its pieces and width in millimetres.
type textLine struct {
	pieces []piece
	width  float64
}

// isCollapsible reports whether r is white space a browser collapses: what the letter
// markup's source can hold between words. No-break spaces are not, and do not break. The
// line and paragraph separators, which letters keep (they have no glyph), count as spaces.
func isCollapsible(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u2028' || r == '\u2029'
}

// isIgnorable reports the characters a browser draws as nothing: format characters (zero
// width spaces and joiners, the soft hyphen, bidirectional marks), variation selectors and
// the other default-ignorable code points, such as the Hangul filler U+3164.
func isIgnorable(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// words splits a line's runs into words, the characters between collapsed white space, each
// with the style of the white space before it (the space drawn when the word is not the
// first on its line). Leading and trailing white space vanish, as in a browser.
func (fs *fonts) words(runs notifyql.LetterLine, st textStyle) (words [][]glyph, spaces []glyph) {
	var cur []glyph
	var pendingSpace *glyph
	for _, run := range runs {
		g := glyph{bold: st.bold || run.Bold, marker: run.Marker}
		for _, r := range run.Text {
			if isCollapsible(r) {
				if len(cur) > 0 {
					words = append(words, cur)
					cur = nil
				}
				if pendingSpace == nil && len(words) > 0 {
					sp := g
					sp.r = ' '
					pendingSpace = &sp
				}
				continue
			}
			if len(cur) == 0 && len(words) > 0 {
				// A word ends only at white space, so a space is pending here.
				spaces = append(spaces, *pendingSpace)
				pendingSpace = nil
			}
			if isIgnorable(r) {
				continue
			}
			g.r = fs.drawable(r)
			cur = append(cur, g)
		}
	}
	if len(cur) > 0 {
		words = append(words, cur)
	}
	// spaces[i] precedes words[i+1].
	return words, spaces
}

// advance is a glyph's width in thousandths of an em.
func (fs *fonts) advance(g glyph) int {
	w := fs.face(g.bold).widths[g.r]
	if w < 0 {
		return 0
	}
	return int(w)
}

// wrap breaks a line of runs into lines no wider than maxW millimetres: greedily at spaces
// only, never at hyphens (RENDERING.md F20). A word wider than maxW starts a line of its own
// and breaks where it runs out of room, at least one character to a line. A line with no
// words gives one empty line, as <br><br> does. maxW ≤ 0 means no limit.
func (fs *fonts) wrap(runs notifyql.LetterLine, st textStyle, maxW float64) []textLine {
	words, spaces := fs.words(runs, st)
	// Widths are summed in thousandths of an em: exact, and what fpdf sums.
	limit := int(^uint(0) >> 1)
	if maxW > 0 {
		limit = int(maxW/(st.size*ptToMM)*1000 + 1e-6)
	}
	var lines [][]glyph
	var cur []glyph
	curW := 0
	for i, word := range words {
		wordW := 0
		for _, g := range word {
			wordW += fs.advance(g)
		}
		if len(cur) > 0 {
			sp := spaces[i-1]
			spW := fs.advance(sp)
			if curW+spW+wordW <= limit {
				cur = append(cur, sp)
				cur = append(cur, word...)
				curW += spW + wordW
				continue
			}
			lines = append(lines, cur)
			cur, curW = nil, 0
		}
		// The word starts a line.
		for wordW > limit && len(word) > 1 {
			n, w := 0, 0
			for n < len(word) && (n == 0 || w+fs.advance(word[n]) <= limit) {
				w += fs.advance(word[n])
				n++
			}
			if n == len(word) {
				break
			}
			lines = append(lines, word[:n])
			word = word[n:]
			wordW -= w
		}
		cur = append(cur, word...)
		curW = wordW
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, cur)
	}
	out := make([]textLine, len(lines))
	for i, l := range lines {
		out[i] = fs.pieces(l, st.size)
	}
	return out
}

// pieces groups a line's glyphs into runs of one style and measures them.
func (fs *fonts) pieces(l []glyph, size float64) textLine {
	var tl textLine
	scale := size * ptToMM / 1000
	x := 0
	for i := 0; i < len(l); {
		j, w := i, 0
		buf := make([]rune, 0, len(l)-i)
		for j < len(l) && l[j].bold == l[i].bold && l[j].marker == l[i].marker {
			buf = append(buf, l[j].r)
			w += fs.advance(l[j])
			j++
		}
		tl.pieces = append(tl.pieces, piece{
			text:   string(buf),
			bold:   l[i].bold,
			marker: l[i].marker,
			x:      float64(x) * scale,
			w:      float64(w) * scale,
		})
		x += w
		i = j
	}
	tl.width = float64(x) * scale
	return tl
}
