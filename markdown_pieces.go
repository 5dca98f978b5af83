package notifyql

import "strings"

// A renderer of the markdown subset writes pieces, not a string: generated tags, text and
// markers stay apart so that typography (§4.7) touches text only and steps over markers,
// and so that the letter blocks can be read back from the same pieces as the letter
// markup, after the same typography.

type pieceKind int

const (
	pieceText pieceKind = iota
	pieceTag
	pieceMarker
)

// tagOp names a generated tag, so nothing ever parses generated HTML back.
type tagOp int

const (
	opNone tagOp = iota
	opOpenP
	opCloseP
	opBr
	opOpenHeading
	opCloseHeading
	opOpenList
	opCloseList
	opOpenItem
	opCloseItem
	opRule
	opOpenInset
	opCloseInset
	opOpenLink
	opCloseLink
	opOpenStrong
	opCloseStrong
	opOpenQR
	opOpenQRPlaceholder
	opCloseQR
)

// piece is one piece of rendered output.
type piece struct {
	kind   pieceKind
	s      string // text, or the tag's HTML
	marker int
	op     tagOp
	// ordered is an opOpenList's kind.
	ordered bool
	// inLink is text inside <a>: smart quotes skip it (§4.7).
	inLink bool
	// verbatim is text typography leaves alone: a QR code's data, which is what the code
	// encodes.
	verbatim bool
}

// context is how a tag affects the "previous character" typography sees: a line break is
// whitespace, a block boundary is the start of text, and inline tags are transparent.
func (p piece) context() (r rune, keep bool) {
	switch p.op {
	case opBr:
		return '\n', false
	case opOpenLink, opCloseLink, opOpenStrong, opCloseStrong:
		return 0, true
	}
	return 0, false
}

// pieceWriter collects pieces.
type pieceWriter struct {
	pieces []piece
	inLink bool
}

func (w *pieceWriter) tag(op tagOp, html string) {
	w.pieces = append(w.pieces, piece{kind: pieceTag, op: op, s: html})
}

// text adds text; done joins adjacent texts into one node.
func (w *pieceWriter) text(s string) {
	if s == "" {
		return
	}
	w.pieces = append(w.pieces, piece{kind: pieceText, s: s, inLink: w.inLink})
}

// done returns the pieces with adjacent texts of the same kind joined, in one pass (joining
// as they come would copy a long text once per piece).
func (w *pieceWriter) done() []piece {
	var out []piece
	for i := 0; i < len(w.pieces); {
		p := w.pieces[i]
		j := i + 1
		if p.kind == pieceText && !p.verbatim {
			var b strings.Builder
			b.WriteString(p.s)
			for ; j < len(w.pieces); j++ {
				q := w.pieces[j]
				if q.kind != pieceText || q.verbatim || q.inLink != p.inLink {
					break
				}
				b.WriteString(q.s)
			}
			p.s = b.String()
		}
		out = append(out, p)
		i = j
	}
	return out
}

func (w *pieceWriter) marker(n int) {
	w.pieces = append(w.pieces, piece{kind: pieceMarker, marker: n})
}

// substituted writes text that may hold markers.
func (w *pieceWriter) substituted(sub Substituted, s string) {
	for _, p := range splitMarkers(sub, s) {
		if p.kind == pieceMarker {
			w.marker(p.marker)
		} else {
			w.text(p.s)
		}
	}
}

// joinPieces writes pieces as one string, markers in their HTML or plain form.
func joinPieces(sub Substituted, pieces []piece, html bool) string {
	var b strings.Builder
	for _, p := range pieces {
		switch p.kind {
		case pieceMarker:
			if html {
				b.WriteString(sub.Markers[p.marker].HTML())
			} else {
				b.WriteString(sub.Markers[p.marker].Plain())
			}
		default:
			b.WriteString(p.s)
		}
	}
	return b.String()
}

// splitMarkers turns substituted text into text and marker pieces.
func splitMarkers(sub Substituted, s string) []piece {
	var w pieceWriter
	start := 0
	for i := 0; i < len(s); i++ {
		if n, end, ok := markerAt(s, i); ok && n < len(sub.Markers) {
			w.text(s[start:i])
			w.marker(n)
			start, i = end, end-1
		}
	}
	w.text(s[start:])
	return w.done()
}
