package notifyql

import (
	"strings"
	"unicode/utf8"
)

// The inline rules of the markdown subset (RENDERING.md §4.3). They read a paragraph's
// lines joined with LF, where each LF is a line break, and give a small tree in which a
// marker is an atomic node: no syntax begins or ends inside one.

type inlineKind int

const (
	inText inlineKind = iota
	inMarker
	inBreak
	inLink
	inURL
)

// inline is one inline node. Text is in the substitution's form (escaped in HTML mode).
type inline struct {
	kind inlineKind
	// text is an inText's text, or an inURL's URL as written.
	text   string
	marker int
	// children are a link's text.
	children []inline
	// dest and title are a link's, as written (they may hold markers).
	dest, title string
	hasTitle    bool
	// plain says the link or URL touches a marker, so email and SMS do not link it (F12).
	plain bool
}

// inlineParser parses the inline rules over a Substituted's text.
type inlineParser struct {
	sub  Substituted
	defs map[string]linkDef

	// What parse found in one pass over the text it reads, so that trying a link at each
	// [ costs no second pass over the rest: s is that text; brackets[i] and parens[i] are
	// the index of the ] or ) that balances a [ or ( at i (-1 for none); balance[i] is the
	// number of ( less the number of ) before i; nextSpace[i] is the first space or LF at
	// or after i (len(s) for none).
	s                  string
	brackets, parens   []int
	balance, nextSpace []int
}

// scanPairs finds the balancing brackets and parentheses of s. Brackets step over escapes
// and markers, as the link text does; parentheses count as the destination does.
func (p inlineParser) scanPairs(s string) (brackets, parens, balance, nextSpace []int) {
	brackets, parens = make([]int, len(s)), make([]int, len(s))
	balance, nextSpace = make([]int, len(s)+1), make([]int, len(s)+1)
	var openBrackets, openParens []int
	for i := 0; i < len(s); i++ {
		brackets[i], parens[i] = -1, -1
		balance[i+1] = balance[i]
		switch s[i] {
		case '(':
			openParens = append(openParens, i)
			balance[i+1]++
		case ')':
			if n := len(openParens); n > 0 {
				parens[openParens[n-1]] = i
				openParens = openParens[:n-1]
			}
			balance[i+1]--
		}
	}
	for i := 0; i < len(s); i++ {
		if _, end, ok := p.markerHere(s, i); ok {
			i = end - 1
			continue
		}
		switch s[i] {
		case '\\':
			i++
		case '[':
			openBrackets = append(openBrackets, i)
		case ']':
			if n := len(openBrackets); n > 0 {
				brackets[openBrackets[n-1]] = i
				openBrackets = openBrackets[:n-1]
			}
		}
	}
	nextSpace[len(s)] = len(s)
	for i := len(s) - 1; i >= 0; i-- {
		nextSpace[i] = nextSpace[i+1]
		if s[i] == ' ' || s[i] == '\n' {
			nextSpace[i] = i
		}
	}
	return brackets, parens, balance, nextSpace
}

// markerHere reports a marker of sub at byte i of s.
func (p inlineParser) markerHere(s string, i int) (index, end int, ok bool) {
	n, end, ok := markerAt(s, i)
	if !ok || n >= len(p.sub.Markers) {
		return 0, 0, false
	}
	return n, end, true
}

// realMarkers reports whether s holds a marker that stands for a placeholder (a literal
// marker character is only text).
func (p inlineParser) realMarkers(s string) bool {
	for i := 0; i < len(s); i++ {
		if n, _, ok := p.markerHere(s, i); ok && p.sub.Markers[n].Kind != LiteralMarker {
			return true
		}
	}
	return false
}

// escapable are the characters a backslash makes literal.
const escapable = "\\`*{}[]()#+-.!_>~|"

// parse returns the inline nodes of s; inLinkText leaves out links and bare URLs.
func (p inlineParser) parse(s string, inLinkText bool) []inline {
	p.s = s
	p.brackets, p.parens, p.balance, p.nextSpace = p.scanPairs(s)
	var out []inline
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, inline{kind: inText, text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		if n, end, ok := p.markerHere(s, i); ok {
			flush()
			out = append(out, inline{kind: inMarker, marker: n})
			i = end
			continue
		}
		c := s[i]
		switch {
		case c == '\n':
			flush()
			out = append(out, inline{kind: inBreak})
			i++
			continue
		case c == '\\' && i+1 < len(s) && strings.IndexByte(escapable, s[i+1]) >= 0:
			text.WriteByte(s[i+1])
			i += 2
			continue
		case c == '!' && i+1 < len(s) && s[i+1] == '[':
			if _, _, _, _, end, ok := p.inlineLink(s, i+1); ok {
				i = end // images are removed
				continue
			}
		case c == '[' && !inLinkText:
			if node, end, ok := p.link(s, i); ok {
				flush()
				out = append(out, node)
				i = end
				continue
			}
		case (c == 'h' || c == 'H') && !inLinkText:
			if end, plain, ok := p.bareURL(s, i); ok {
				flush()
				out = append(out, inline{kind: inURL, text: s[i:end], plain: plain})
				i = end
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		text.WriteString(s[i : i+size])
		i += size
	}
	flush()
	return out
}

// closingBracket finds the ] that balances the [ at s[open], stepping over escapes and
// markers; s is the text parse reads.
func (p inlineParser) closingBracket(s string, open int) int {
	return p.brackets[open]
}

// inlineLink parses [text](dest "title") at s[open] == '['.
func (p inlineParser) inlineLink(s string, open int) (text, dest, title string, hasTitle bool, end int, ok bool) {
	closeAt := p.closingBracket(s, open)
	if closeAt < 0 || closeAt+1 >= len(s) || s[closeAt+1] != '(' {
		return "", "", "", false, 0, false
	}
	// The destination: no spaces, balanced parentheses (F10). It ends at the ) that
	// balances the link's (, or at a space with its parentheses balanced.
	start := closeAt + 2
	i := p.nextSpace[start]
	if c := p.parens[closeAt+1]; c >= 0 && c < i {
		i = c
	} else if p.balance[i] != p.balance[start] {
		return "", "", "", false, 0, false
	}
	dest = s[start:i]
	if dest == "" {
		return "", "", "", false, 0, false
	}
	j := i
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j > i && j < len(s) && (s[j] == '"' || s[j] == '\'') {
		q := s[j]
		k := strings.IndexByte(s[j+1:], q)
		if k < 0 {
			return "", "", "", false, 0, false
		}
		title, hasTitle = s[j+1:j+1+k], true
		j += k + 2
		for j < len(s) && s[j] == ' ' {
			j++
		}
	}
	if j >= len(s) || s[j] != ')' {
		return "", "", "", false, 0, false
	}
	return s[open+1 : closeAt], dest, title, hasTitle, j + 1, true
}

// link parses an inline or reference link at s[open] == '['.
func (p inlineParser) link(s string, open int) (inline, int, bool) {
	if text, dest, title, hasTitle, end, ok := p.inlineLink(s, open); ok {
		return p.linkNode(text, linkDef{dest: dest, title: title, hasTitle: hasTitle}), end, true
	}
	closeAt := p.closingBracket(s, open)
	if closeAt < 0 {
		return inline{}, 0, false
	}
	text := s[open+1 : closeAt]
	label, end := text, closeAt+1
	if end < len(s) && s[end] == '[' {
		if c := strings.IndexByte(s[end:], ']'); c >= 0 && !strings.Contains(s[end+1:end+c], "[") {
			if l := s[end+1 : end+c]; l != "" {
				label = l
			}
			end += c + 1
		}
	}
	def, ok := p.defs[normaliseLabel(label)]
	if !ok || strings.TrimSpace(label) == "" || strings.HasPrefix(label, "^") {
		return inline{}, 0, false
	}
	return p.linkNode(text, def), end, true
}

func (p inlineParser) linkNode(text string, def linkDef) inline {
	return inline{
		kind:     inLink,
		children: p.parse(text, true),
		dest:     def.dest,
		title:    def.title,
		hasTitle: def.hasTitle,
		plain:    p.realMarkers(def.dest) || p.realMarkers(def.title),
	}
}

// bareURL finds a bare http:// or https:// URL at s[i]: characters up to whitespace, <
// (escaped or not) or a marker, less trailing . , : " ' ) and ]. plain says a marker
// follows it directly.
func (p inlineParser) bareURL(s string, i int) (end int, plain, ok bool) {
	rest := strings.ToLower(s[i:min(len(s), i+8)])
	scheme := 0
	switch {
	case strings.HasPrefix(rest, "https://"):
		scheme = 8
	case strings.HasPrefix(rest, "http://"):
		scheme = 7
	default:
		return 0, false, false
	}
	j := i + scheme
	atMarker := false
	for j < len(s) {
		if _, _, ok := markerAt(s, j); ok {
			atMarker = true
			break
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if isSpace(r) || r == '<' || strings.HasPrefix(s[j:], "&lt;") {
			break
		}
		j += size
	}
	runEnd := j
	for j > i+scheme && strings.IndexByte(".,:\"')]", s[j-1]) >= 0 {
		j--
	}
	if j == i+scheme {
		return 0, false, false
	}
	if atMarker && j == runEnd {
		n, _, _ := markerAt(s, j)
		plain = n < len(p.sub.Markers) && p.sub.Markers[n].Kind != LiteralMarker
	}
	return j, plain, true
}
