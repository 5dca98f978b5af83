package notifyql

import (
	"strings"
)

// The email HTML and letter markup renderers of the markdown subset (RENDERING.md §4.4,
// §5.4). Both read substituted text in HTML mode, so text is already escaped (§2.5) and
// is copied as it is; both write pieces (markdown_pieces.go) for typography to run on.

// htmlStyle is what differs between the email column and the letter column of §4.4.
type htmlStyle struct {
	letter bool
	// Tags; the closing tags follow from them.
	paragraph, heading1, heading2, bullets, numbers string
	rule                                            string
}

var emailStyle = htmlStyle{
	paragraph: `<p class="govuk-body">`,
	heading1:  `<h2 class="govuk-heading-l">`,
	heading2:  `<h3 class="govuk-heading-m">`,
	bullets:   `<ul class="govuk-list govuk-list--bullet">`,
	numbers:   `<ol class="govuk-list govuk-list--number">`,
	rule:      `<hr class="govuk-section-break govuk-section-break--visible">`,
}

var letterStyle = htmlStyle{
	letter:    true,
	paragraph: `<p>`,
	heading1:  `<h2>`,
	heading2:  `<p>`,
	bullets:   `<ul>`,
	numbers:   `<ol>`,
	rule:      `<hr class="page-break">`,
}

// closeTag is the closing tag of an opening tag such as `<p class="x">`.
func closeTag(open string) string {
	name := strings.TrimPrefix(open, "<")
	if i := strings.IndexAny(name, " >"); i >= 0 {
		name = name[:i]
	}
	return "</" + name + ">"
}

const linkOpen = `<a class="govuk-link govuk-link--no-visited-state" href="`

// htmlRenderer renders a document with one style.
type htmlRenderer struct {
	style htmlStyle
	in    inlineParser
	w     pieceWriter
}

// renderMarkdownHTML renders substituted HTML-mode text as email HTML or letter markup,
// before typography.
func renderMarkdownHTML(sub Substituted, style htmlStyle) []piece {
	doc := parseMarkdown(sub.Text)
	r := &htmlRenderer{style: style, in: inlineParser{sub: sub, defs: doc.defs}}
	r.blocks(doc.blocks, !style.letter)
	return r.w.done()
}

// blocks renders blocks; qr is false where QR paragraphs are not looked for (email, and
// inside list items).
func (r *htmlRenderer) blocks(blocks []mdBlock, noQR bool) {
	for _, b := range blocks {
		switch b.kind {
		case mdParagraph:
			if !noQR {
				if data, ok := qrData(b); ok {
					r.qr(data)
					continue
				}
			}
			r.wrapped(b.lines, r.style.paragraph, opOpenP, opCloseP)
		case mdHeading:
			if b.level == 1 {
				r.wrapped(b.lines, r.style.heading1, opOpenHeading, opCloseHeading)
			} else {
				r.wrapped(b.lines, r.style.heading2, opOpenP, opCloseP)
			}
		case mdRule:
			r.w.tag(opRule, r.style.rule)
		case mdList:
			r.list(b)
		case mdInset:
			if r.style.letter {
				r.blocks(b.blocks, noQR)
			} else {
				r.w.tag(opOpenInset, `<div class="govuk-inset-text">`)
				r.blocks(b.blocks, noQR)
				r.w.tag(opCloseInset, `</div>`)
			}
		}
	}
}

// wrapped renders lines as inline text inside a tag; text that renders as nothing (an
// image alone, say) gives no element at all.
func (r *htmlRenderer) wrapped(lines []string, open string, openOp, closeOp tagOp) {
	nodes := r.in.parse(strings.Join(lines, "\n"), false)
	if isEmptyInline(nodes) {
		return
	}
	r.w.tag(openOp, open)
	r.inlines(nodes)
	r.w.tag(closeOp, closeTag(open))
}

// isEmptyInline reports inline text with nothing to show.
func isEmptyInline(nodes []inline) bool {
	for _, n := range nodes {
		if n.kind != inBreak && (n.kind != inText || strings.TrimSpace(n.text) != "") {
			return false
		}
	}
	return true
}

func (r *htmlRenderer) list(b mdBlock) {
	open := r.style.bullets
	if b.ordered {
		open = r.style.numbers
	}
	r.w.pieces = append(r.w.pieces, piece{kind: pieceTag, op: opOpenList, s: open, ordered: b.ordered})
	for _, item := range b.items {
		r.w.tag(opOpenItem, "<li>")
		paragraphs := 0
		for _, c := range item.blocks {
			if c.kind == mdParagraph {
				paragraphs++
			}
		}
		for _, c := range item.blocks {
			switch {
			case c.kind == mdList:
				r.list(c)
			case paragraphs == 1:
				// One paragraph is the item's text itself (F6).
				r.inlines(r.in.parse(strings.Join(c.lines, "\n"), false))
			default:
				r.wrapped(c.lines, r.style.paragraph, opOpenP, opCloseP)
			}
		}
		r.w.tag(opCloseItem, "</li>")
	}
	r.w.tag(opCloseList, closeTag(open))
}

// qrData is a letter paragraph's QR data (§5.4): exactly one line "QR:" + DATA.
func qrData(b mdBlock) (string, bool) {
	if len(b.lines) != 1 {
		return "", false
	}
	l := b.lines[0]
	if len(l) < 3 || !strings.EqualFold(l[:2], "qr") {
		return "", false
	}
	rest := strings.TrimLeft(l[2:], " ")
	if !strings.HasPrefix(rest, ":") {
		return "", false
	}
	data := strings.Trim(rest[1:], " ")
	return data, data != ""
}

// maxQRBytes is the most data a letter's QR code holds (§5.4).
const maxQRBytes = 504

// qr renders a QR paragraph: a code of its data, or a placeholder box when the data holds
// a marker or is too long.
func (r *htmlRenderer) qr(data string) {
	decoded := DecodeReferences(data)
	if r.in.realMarkers(data) || len(decoded) > maxQRBytes {
		r.w.tag(opOpenQRPlaceholder, `<div class="qrcode-placeholder">`)
		for _, p := range splitMarkers(r.in.sub, data) {
			p.verbatim = true
			r.w.pieces = append(r.w.pieces, p)
		}
	} else {
		r.w.tag(opOpenQR, `<div class="qrcode">`)
		r.w.pieces = append(r.w.pieces, piece{kind: pieceText, s: data, verbatim: true})
	}
	r.w.tag(opCloseQR, "</div>")
}

// inlines renders inline nodes.
func (r *htmlRenderer) inlines(nodes []inline) {
	for _, n := range nodes {
		switch n.kind {
		case inText:
			r.w.text(n.text)
		case inMarker:
			r.w.marker(n.marker)
		case inBreak:
			r.w.tag(opBr, "<br>")
		case inLink:
			r.link(n)
		case inURL:
			r.url(n)
		}
	}
}

func (r *htmlRenderer) link(n inline) {
	if r.style.letter {
		// Letters print links as written, markers included.
		r.w.text("[")
		r.inlines(n.children)
		r.w.text("](")
		r.substituted(n.dest)
		if n.hasTitle {
			r.w.text(` "`)
			r.substituted(n.title)
			r.w.text(`"`)
		}
		r.w.text(")")
		return
	}
	if n.plain {
		r.inlines(n.children) // F12: a destination holding a marker is not linked
		return
	}
	open := linkOpen + LinkHref(n.dest) + `"`
	if n.hasTitle {
		open += ` title="` + strings.ReplaceAll(n.title, `"`, "&quot;") + `"`
	}
	r.w.tag(opOpenLink, open+">")
	r.w.inLink = true
	r.inlines(n.children)
	r.w.inLink = false
	r.w.tag(opCloseLink, "</a>")
}

func (r *htmlRenderer) url(n inline) {
	switch {
	case n.plain:
		r.w.text(n.text)
	case r.style.letter:
		r.w.tag(opOpenStrong, "<strong>")
		r.w.text(stripScheme(n.text))
		r.w.tag(opCloseStrong, "</strong>")
	default:
		r.w.tag(opOpenLink, linkOpen+LinkHref(n.text)+`">`)
		r.w.inLink = true
		r.w.text(n.text)
		r.w.inLink = false
		r.w.tag(opCloseLink, "</a>")
	}
}

// substituted writes text that may hold markers.
func (r *htmlRenderer) substituted(s string) {
	r.w.substituted(r.in.sub, s)
}

// stripScheme drops a URL's http:// or https://, in any case.
func stripScheme(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return u[i+3:]
	}
	return u
}
