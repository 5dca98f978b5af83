package typeset

import (
	"strconv"

	"notifyql"
)

// baseline is where text of style st sits in a line box whose top is at top: centred in the
// box by its content area (ascent plus descent), as a browser sets a line.
func (fs *fonts) baseline(top float64, st textStyle) float64 {
	size := st.size * ptToMM
	content := (fs.regular.ascent + fs.regular.descent) * size
	return top + (st.lineHeight()-content)/2 + fs.regular.ascent*size
}

// contentArea is the vertical extent of text of style st on a baseline: where its glyphs
// and a marker's highlight lie.
func (fs *fonts) contentArea(baseline float64, st textStyle) (top, height float64) {
	size := st.size * ptToMM
	return baseline - fs.regular.ascent*size, (fs.regular.ascent + fs.regular.descent) * size
}

// addLine adds a broken line whose line box starts at (x, top): a text box per piece, and a
// highlight under each marker. With clipRight > 0 nothing reaches past that x.
func (l *layout) addLine(fs *fonts, page int, x, top float64, st textStyle, tl textLine, clipRight float64) {
	base := fs.baseline(top, st)
	for _, p := range tl.pieces {
		px, w := x+p.x, p.w
		clip := 0.0
		if clipRight > 0 {
			if px >= clipRight {
				continue
			}
			if px+w > clipRight {
				w = clipRight - px
				clip = clipRight
			}
		}
		if p.marker {
			ht, hh := fs.contentArea(base, st)
			l.boxes = append(l.boxes, box{page: page, kind: boxHighlight, x: px, y: ht, w: w, h: hh})
		}
		l.boxes = append(l.boxes, box{
			page: page, kind: boxText, x: px, y: top, w: w, h: st.lineHeight(), baseline: base,
			text: p.text, bold: p.bold, size: st.size, clipRight: clip,
		})
	}
}

// address adds the address block to the document's first page: at most 7 lines, not
// wrapped but clipped at x 109.6, the last line's box ending at y 66.2.
func (fs *fonts) address(l *layout, lines []notifyql.LetterLine) {
	lines = lines[:min(len(lines), addressMaxLines)]
	h := addressStyle.lineHeight()
	top := addressBottom - float64(len(lines))*h
	for i, line := range lines {
		tl := fs.wrap(line, addressStyle, 0)[0]
		l.addLine(fs, 1, addressLeft, top+float64(i)*h, addressStyle, tl, addressRight)
	}
}

// contact adds the contact block to the document's first page: wrapped at 70 mm, its first
// 11 lines, the last line's box ending at y 82.2.
func (fs *fonts) contact(l *layout, lines []notifyql.LetterLine) {
	var broken []textLine
	for _, line := range lines {
		broken = append(broken, fs.wrap(line, contactStyle, contactWidth)...)
	}
	broken = broken[:min(len(broken), contactMaxLines)]
	h := contactStyle.lineHeight()
	top := contactBottom - float64(len(broken))*h
	for i, tl := range broken {
		l.addLine(fs, 1, contactLeft, top+float64(i)*h, contactStyle, tl, 0)
	}
}

// footerText is a page's footer: "Page n of N", or in a Welsh part "Tudalen n o N".
func footerText(n, of int, welsh bool) string {
	if welsh {
		return "Tudalen " + strconv.Itoa(n) + " o " + strconv.Itoa(of)
	}
	return "Page " + strconv.Itoa(n) + " of " + strconv.Itoa(of)
}

// footer adds a page's footer, right-aligned at x 195 on the baseline y 289; its box is its
// content area, since it has no line box.
func (fs *fonts) footer(l *layout, page, n, of int, welsh bool) {
	tl := fs.wrap(notifyql.LetterLine{{Text: footerText(n, of, welsh)}}, footerStyle, 0)[0]
	top, h := fs.contentArea(footerBaseline, footerStyle)
	for _, p := range tl.pieces {
		l.boxes = append(l.boxes, box{
			page: page, kind: boxText, x: footerRight - tl.width + p.x, y: top, w: p.w, h: h,
			baseline: footerBaseline, text: p.text, size: footerStyle.size,
		})
	}
}
