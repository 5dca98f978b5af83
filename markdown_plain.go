package notifyql

import (
	"strconv"
	"strings"
)

// The plain-text renderer of the markdown subset (RENDERING.md §4.4, plain column), for the
// plain-text email. It reads substituted text in plain mode and writes text and marker
// pieces, which typography then treats as one text (§4.6).

// plainRule is the 65-character =-=-…= line a rule becomes.
var plainRule = strings.Repeat("=-", 32) + "="

type plainRenderer struct {
	in inlineParser
	w  pieceWriter
}

// renderMarkdownPlain renders substituted plain-mode text as plain text, before typography.
func renderMarkdownPlain(sub Substituted) []piece {
	doc := parseMarkdown(sub.Text)
	r := &plainRenderer{in: inlineParser{sub: sub, defs: doc.defs}}
	r.blocks(doc.blocks)
	return r.w.done()
}

func (r *plainRenderer) blocks(blocks []mdBlock) {
	for _, b := range blocks {
		switch b.kind {
		case mdParagraph:
			if nodes := r.parse(b.lines); !isEmptyInline(nodes) {
				r.w.text("\n\n")
				r.inlines(nodes, "\n")
			}
		case mdHeading:
			if nodes := r.parse(b.lines); !isEmptyInline(nodes) {
				r.w.text("\n\n\n")
				r.inlines(nodes, "\n")
				underline := "="
				if b.level == 2 {
					underline = "-"
				}
				r.w.text("\n" + strings.Repeat(underline, 65))
			}
		case mdRule:
			r.w.text("\n\n" + plainRule)
		case mdList:
			r.w.text("\n")
			r.list(b, 0)
		case mdInset:
			r.blocks(b.blocks)
		}
	}
}

func (r *plainRenderer) parse(lines []string) []inline {
	return r.in.parse(strings.Join(lines, "\n"), false)
}

// list writes a list's items at a depth, 2 spaces of indentation per level; an item's
// later paragraphs and broken lines are indented 2 spaces past its marker.
func (r *plainRenderer) list(b mdBlock, depth int) {
	indent := strings.Repeat("  ", depth)
	for n, item := range b.items {
		marker := "• "
		if b.ordered {
			marker = strconv.Itoa(n+1) + ". "
		}
		r.w.text("\n" + indent + marker)
		first := true
		for _, c := range item.blocks {
			if c.kind == mdList {
				r.list(c, depth+1)
				continue
			}
			nodes := r.parse(c.lines)
			if isEmptyInline(nodes) {
				continue
			}
			if !first {
				r.w.text("\n" + indent + "  ")
			}
			r.inlines(nodes, "\n"+indent+"  ")
			first = false
		}
	}
}

// inlines writes inline nodes; br is what a line break becomes.
func (r *plainRenderer) inlines(nodes []inline, br string) {
	for _, n := range nodes {
		switch n.kind {
		case inText:
			r.w.text(n.text)
		case inMarker:
			r.w.marker(n.marker)
		case inBreak:
			r.w.text(br)
		case inURL:
			r.w.text(n.text)
		case inLink:
			r.inlines(n.children, br)
			if n.plain {
				continue // F12: a destination holding a marker is not a link
			}
			if n.hasTitle {
				r.w.text(" (")
				r.substituted(n.title)
				r.w.text(")")
			}
			r.w.text(": ")
			r.substituted(n.dest)
		}
	}
}

func (r *plainRenderer) substituted(s string) {
	r.w.substituted(r.in.sub, s)
}
