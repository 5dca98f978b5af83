package notifyql

import (
	"strings"
	"unicode"
)

// Typography (RENDERING.md §4.7): spaces before punctuation, smart quotes, apostrophes in
// email addresses and en dashes. It touches text only: in HTML each text node is done on
// its own, a marker splits nodes and counts as a non-space character, and the node's
// previous character (from the node before it) is the context the rules look back at.

// isSpace is whitespace as §3.2 lists it, which is what a regular expression's \s matches.
func isSpace(r rune) bool { return isRenderSpace(r) }

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// typographyPieces applies typography to the text pieces in place.
func typographyPieces(pieces []piece) {
	// context is the character before a node that the rules look back at: a marker's,
	// through inline tags, whitespace after a line break, none at a block's start.
	// lastNode is the last character of the previous text node or marker whatever tags
	// came between, which decides a node that is exactly one quote.
	var context, lastNode rune
	for i := range pieces {
		p := &pieces[i]
		switch p.kind {
		case pieceMarker:
			context, lastNode = markerStart, markerStart // non-space, not a word character
		case pieceTag:
			if r, keep := p.context(); !keep {
				context = r
			}
		case pieceText:
			if !p.verbatim {
				p.s = typographyText(p.s, context, lastNode, !p.inLink)
			}
			if rs := []rune(p.s); len(rs) > 0 {
				context, lastNode = rs[len(rs)-1], rs[len(rs)-1]
			}
		}
	}
}

// typographyText applies §4.7 to the text node s. context is the character before it (0 at
// the start of the text) and lastNode the last character of the node before it; quotes is
// false inside <a>.
func typographyText(s string, context, lastNode rune, quotes bool) string {
	if s == "" {
		return s
	}
	rs := []rune(s)
	off := 0
	if context != 0 {
		rs = append([]rune{context}, rs...)
		off = 1
	}
	rs = deleteRunesBeforePunctuation(rs, off)
	if quotes {
		smartQuotes(rs, off, lastNode)
	}
	straightenEmailApostrophes(rs, off)
	rs = enDashes(rs, off)
	return string(rs[off:])
}

// deleteRunesBeforePunctuation deletes runs of spaces and tabs directly before , or .
func deleteRunesBeforePunctuation(rs []rune, off int) []rune {
	out := rs[:off:off]
	for i := off; i < len(rs); i++ {
		if rs[i] == ' ' || rs[i] == '\t' {
			j := i
			for j < len(rs) && (rs[j] == ' ' || rs[j] == '\t') {
				j++
			}
			if j < len(rs) && (rs[j] == ',' || rs[j] == '.') {
				i = j - 1
				continue
			}
		}
		out = append(out, rs[i])
	}
	return out
}

const asciiPunctuation = "!\"#$%'()*+,-./:;<=>?@[\\]^_`{|}~"

// opensAfter are what a quote opens after (rule 4), besides whitespace.
var opensAfter = []string{"--", "–", "—", "&ndash;", "&mdash;", "&#8211;", "&#8212;", "&#x2013;", "&#x2014;", "&nbsp;"}

// closes reports a character after which a quote closes (rules 5 and 6).
func closes(r rune) bool {
	return !strings.ContainsRune(" \t\r\n[{(-", r)
}

// smartQuotes applies §4.7 step 2 to rs[off:], in place; rs[:off] is context, and
// lastNode the last character of the node before.
func smartQuotes(rs []rune, off int, lastNode rune) {
	at := func(i int) rune {
		if i < 0 || i >= len(rs) {
			return 0
		}
		return rs[i]
	}
	wordAt := func(i int) bool { r := at(i); return r != 0 && isWordRune(r) }
	open := map[rune]rune{'\'': '‘', '"': '“'}
	closed := map[rune]rune{'\'': '’', '"': '”'}

	// A node that is exactly one quote closes after a node ending in a non-space character.
	if len(rs)-off == 1 && (rs[off] == '\'' || rs[off] == '"') {
		if lastNode != 0 && !isSpace(lastNode) {
			rs[off] = closed[rs[off]]
		} else {
			rs[off] = open[rs[off]]
		}
		return
	}
	// 1. A quote at the very start, then punctuation, then a non-word character or the end.
	if q := at(off); (q == '\'' || q == '"') && at(off+1) != 0 && strings.ContainsRune(asciiPunctuation, at(off+1)) && !wordAt(off+2) {
		rs[off] = closed[q]
	}
	// 2. "' and '" before a word character.
	for _, pair := range [][2]rune{{'"', '\''}, {'\'', '"'}} {
		for i := off; i+2 < len(rs)+1; i++ {
			if at(i) == pair[0] && at(i+1) == pair[1] && wordAt(i+2) {
				rs[i], rs[i+1] = open[pair[0]], open[pair[1]]
			}
		}
	}
	// 3. Decades: ' between a word character and two digits plus s.
	for i := off; i < len(rs); i++ {
		if rs[i] == '\'' && wordAt(i-1) && unicode.IsDigit(at(i+1)) && unicode.IsDigit(at(i+2)) && at(i+3) == 's' {
			rs[i] = '’'
		}
	}
	for _, q := range []rune{'\'', '"'} {
		// 4. Opening after whitespace or a dash, before a word character.
		for i := off; i < len(rs); i++ {
			if rs[i] == q && wordAt(i+1) && opensAt(rs, i) {
				rs[i] = open[q]
			}
		}
		if q == '\'' {
			// 5. Closing after a closing character, not before a digit; as two passes whose
			// matches consume the character before the quote, as upstream's do.
			consumed := 0
			for i := max(off, 1); i < len(rs); i++ {
				if rs[i] == q && i-1 >= consumed && closes(rs[i-1]) && !isSpace(at(i+1)) && !sWord(rs, i+1) && !unicode.IsDigit(at(i+1)) {
					rs[i], consumed = '’', i+1
				}
			}
			consumed = 0
			for i := max(off, 1); i < len(rs); i++ {
				if rs[i] == q && i-1 >= consumed && closes(rs[i-1]) && (isSpace(at(i+1)) && at(i+1) != 0 || sWord(rs, i+1)) {
					rs[i], consumed = '’', i+2
				}
			}
		} else {
			// 6. Closing before whitespace, or after a closing character.
			for i := off; i < len(rs); i++ {
				if rs[i] == q && at(i+1) != 0 && isSpace(at(i+1)) {
					rs[i] = '”'
				}
			}
			consumed := 0
			for i := max(off, 1); i < len(rs); i++ {
				if rs[i] == q && i-1 >= consumed && closes(rs[i-1]) {
					rs[i], consumed = '”', i+1
				}
			}
		}
		// 7. Any left open.
		for i := off; i < len(rs); i++ {
			if rs[i] == q {
				rs[i] = open[q]
			}
		}
	}
}

// sWord reports an "s" at rs[i] that ends a word.
func sWord(rs []rune, i int) bool {
	return i < len(rs) && rs[i] == 's' && (i+1 == len(rs) || !isWordRune(rs[i+1]))
}

// opensAt reports whether the quote at rs[i] follows whitespace, a dash or &nbsp;.
func opensAt(rs []rune, i int) bool {
	if i == 0 {
		return false
	}
	if isSpace(rs[i-1]) {
		return true
	}
	before := string(rs[max(0, i-8):i])
	for _, s := range opensAfter {
		if strings.HasSuffix(before, s) {
			return true
		}
	}
	return false
}

// straightenEmailApostrophes turns ‘ and ’ back into ' in each run of non-whitespace that
// holds an @.
func straightenEmailApostrophes(rs []rune, off int) {
	for i := off; i < len(rs); {
		if isSpace(rs[i]) {
			i++
			continue
		}
		j, at := i, false
		for j < len(rs) && !isSpace(rs[j]) {
			at = at || rs[j] == '@'
			j++
		}
		if at {
			for k := i; k < j; k++ {
				if rs[k] == '‘' || rs[k] == '’' {
					rs[k] = '\''
				}
			}
		}
		i = j
	}
}

func isDash(r rune) bool { return r == '-' || r == '–' || r == '—' }

// enDashes turns a whitespace run after a non-space, 1–3 dashes and a whitespace run into
// " – ".
func enDashes(rs []rune, off int) []rune {
	out := rs[:off:off]
	for i := off; i < len(rs); {
		if isSpace(rs[i]) && i > 0 && !isSpace(rs[i-1]) {
			j := i
			for j < len(rs) && isSpace(rs[j]) {
				j++
			}
			k := j
			for k < len(rs) && k-j < 3 && isDash(rs[k]) {
				k++
			}
			if k > j && k < len(rs) && isSpace(rs[k]) {
				for k < len(rs) && isSpace(rs[k]) {
					k++
				}
				out = append(out, ' ', '–', ' ')
				i = k
				continue
			}
		}
		out = append(out, rs[i])
		i++
	}
	return out
}
