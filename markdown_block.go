package notifyql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The block level of the markdown subset (RENDERING.md §4.2). The parser reads substituted
// text, whose markers (§2.6) are atomic: each counts as one non-space column and can never
// begin or end syntax. Blocks keep their inline source (lines of substituted text); the
// inline rules (markdown_inline.go) run when a renderer reads them, after every link
// definition of the document is known.

type mdBlockKind int

const (
	mdParagraph mdBlockKind = iota
	mdHeading
	mdRule
	mdList
	mdInset
)

// mdBlock is one block. A paragraph or heading has lines; a list has items; an inset has
// the blocks inside it.
type mdBlock struct {
	kind    mdBlockKind
	level   int // headings: 1 or 2
	lines   []string
	ordered bool
	items   []*mdItem
	blocks  []mdBlock
}

// mdItem is a list item: its paragraphs and nested lists, in order.
type mdItem struct {
	indent int // the column of its marker
	blocks []mdBlock
}

// linkDef is a link definition (§4.2 kind 6).
type linkDef struct {
	dest, title string
	hasTitle    bool
}

// mdDocument is a parsed document with the link definitions it holds.
type mdDocument struct {
	blocks []mdBlock
	defs   map[string]linkDef
}

// parseMarkdown parses substituted text into blocks.
func parseMarkdown(text string) mdDocument {
	doc := mdDocument{defs: map[string]linkDef{}}
	doc.blocks = parseBlocks(prepareLines(text), doc.defs)
	return doc
}

// prepareLines applies §4.2's preparation: CRLF and CR become LF, tabs expand to 4-column
// stops (a marker is one column), and lines of spaces only become empty.
func prepareLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.IndexByte(l, '\t') >= 0 {
			var b strings.Builder
			col := 0
			for j := 0; j < len(l); {
				if _, end, ok := markerAt(l, j); ok {
					b.WriteString(l[j:end])
					j, col = end, col+1
					continue
				}
				r, size := utf8.DecodeRuneInString(l[j:])
				if r == '\t' {
					n := 4 - col%4
					b.WriteString(strings.Repeat(" ", n))
					col += n
				} else {
					b.WriteString(l[j : j+size])
					col++
				}
				j += size
			}
			l = b.String()
		}
		if strings.Trim(l, " ") == "" {
			l = ""
		}
		lines[i] = l
	}
	return lines
}

type lineKind int

const (
	lineBlank lineKind = iota
	lineRule
	lineHeading
	lineInset
	lineFence
	lineLinkDef
	lineListMarker
	lineParagraph
)

// lineInfo is what classifying a line found.
type lineInfo struct {
	kind    lineKind
	indent  int    // leading spaces
	level   int    // heading level, 1–6
	text    string // heading or item text
	ordered bool   // list marker N.
	def     linkDef
	label   string
}

func leadingSpaces(l string) int {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n
}

// classifyLine returns the first kind of §4.2 that fits the prepared line l.
func classifyLine(l string) lineInfo {
	if l == "" {
		return lineInfo{kind: lineBlank}
	}
	indent := leadingSpaces(l)
	rest := l[indent:]
	info := lineInfo{indent: indent}
	switch {
	case indent <= 3 && isRuleLine(rest):
		info.kind = lineRule
	case isHeadingLine(rest, &info):
		info.kind = lineHeading
	case rest[0] == '^':
		info.kind = lineInset
	case indent <= 3 && (strings.HasPrefix(rest, "```") || strings.HasPrefix(rest, "~~~")):
		info.kind = lineFence
	case isLinkDefLine(rest, &info):
		info.kind = lineLinkDef
	case isListMarkerLine(rest, &info):
		info.kind = lineListMarker
	default:
		info.kind = lineParagraph
	}
	return info
}

// isRuleLine: three or more of *, - and _ in any mix, optionally spaced, and nothing else.
func isRuleLine(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '-', '_':
			n++
		case ' ':
		default:
			return false
		}
	}
	return n >= 3
}

// isHeadingLine: 1–6 #, optional spaces, then at least one character; trailing # and
// spaces are dropped.
func isHeadingLine(s string, info *lineInfo) bool {
	n := 0
	for n < len(s) && s[n] == '#' {
		n++
	}
	if n == 0 || n > 6 {
		return false
	}
	text := strings.TrimLeft(s[n:], " ")
	if text == "" {
		return false
	}
	info.level = n
	info.text = strings.TrimRight(text, "# ")
	return true
}

// isLinkDefLine: [label]: destination, optionally followed by a "title" or 'title'.
func isLinkDefLine(s string, info *lineInfo) bool {
	if s[0] != '[' {
		return false
	}
	close := strings.Index(s, "]:")
	// A label starting with ^ is footnote syntax, which is text (F9).
	if close < 2 || strings.ContainsAny(s[1:close], "[]") || s[1] == '^' {
		return false
	}
	label := s[1:close]
	rest := strings.TrimLeft(s[close+2:], " ")
	end := strings.IndexByte(rest, ' ')
	if end < 0 {
		end = len(rest)
	}
	dest := rest[:end]
	if dest == "" {
		return false
	}
	def := linkDef{dest: dest}
	if tail := strings.Trim(rest[end:], " "); tail != "" {
		if len(tail) < 2 || (tail[0] != '"' && tail[0] != '\'') || tail[len(tail)-1] != tail[0] ||
			strings.IndexByte(tail[1:len(tail)-1], tail[0]) >= 0 {
			return false
		}
		def.title, def.hasTitle = tail[1:len(tail)-1], true
	}
	info.label, info.def = normaliseLabel(label), def
	return true
}

// normaliseLabel makes labels match ignoring case, with whitespace collapsed.
func normaliseLabel(label string) string {
	return strings.ToLower(strings.Join(strings.Fields(label), " "))
}

// isListMarkerLine: •, or *, - or digits followed by ., each of these three followed by a
// space or directly by a letter (F1, F2). The rest, trimmed, is the item's text.
func isListMarkerLine(s string, info *lineInfo) bool {
	if strings.HasPrefix(s, "•") {
		info.text = strings.Trim(s[len("•"):], " ")
		return true
	}
	n := 0
	switch {
	case s[0] == '*' || s[0] == '-':
		n = 1
	case s[0] >= '0' && s[0] <= '9':
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == len(s) || s[n] != '.' {
			return false
		}
		n++
		info.ordered = true
	default:
		return false
	}
	if n == len(s) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(s[n:]); r != ' ' && !unicode.IsLetter(r) {
		return false
	}
	info.text = strings.Trim(s[n:], " ")
	return true
}

// paragraphLine is a paragraph line as kept: indentation means nothing outside lists, and
// trailing spaces go (F21).
func paragraphLine(l string) string {
	return strings.Trim(l, " ")
}

// parseBlocks parses prepared lines into blocks, recording link definitions in defs.
func parseBlocks(lines []string, defs map[string]linkDef) []mdBlock {
	var blocks []mdBlock
	for i := 0; i < len(lines); {
		info := classifyLine(lines[i])
		switch info.kind {
		case lineBlank, lineFence:
			i++
		case lineRule:
			blocks = append(blocks, mdBlock{kind: mdRule})
			i++
		case lineHeading:
			if info.level <= 2 {
				blocks = append(blocks, mdBlock{kind: mdHeading, level: info.level, lines: []string{info.text}})
			} else {
				blocks = append(blocks, mdBlock{kind: mdParagraph, lines: []string{info.text}})
			}
			i++
		case lineInset:
			var inner []string
			for ; i < len(lines) && lines[i] != ""; i++ {
				l := strings.TrimLeft(lines[i], " ")
				if strings.HasPrefix(l, "^") {
					l = strings.TrimPrefix(l[1:], " ")
				}
				inner = append(inner, l)
			}
			blocks = append(blocks, mdBlock{kind: mdInset, blocks: parseBlocks(inner, defs)})
		case lineLinkDef:
			if _, seen := defs[info.label]; !seen {
				defs[info.label] = info.def
			}
			i++
		case lineListMarker:
			var list mdBlock
			list, i = parseList(lines, i, defs)
			blocks = append(blocks, list)
		default:
			para := mdBlock{kind: mdParagraph}
			for ; i < len(lines) && classifyLine(lines[i]).kind == lineParagraph; i++ {
				para.lines = append(para.lines, paragraphLine(lines[i]))
			}
			blocks = append(blocks, para)
		}
	}
	return blocks
}
