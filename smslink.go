package notifyql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SMS URL linking (RENDERING.md §3.5): the preview links URLs and bare domains, as a
// phone does, but never a part of an e-mail address or of a longer domain.

// linkSMSURLs links the candidates in s, escaped text holding <br> tags and marker
// sequences; neither is entered. A candidate starts only after a character that cannot
// continue one, so each attempt reads text no other attempt reads, and the pass is linear
// but for paths, which are read again only when a link fails.
func linkSMSURLs(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	copied := 0
	prev := rune(-1) // none
	for i := 0; i < len(s); {
		if s[i] == '<' {
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				break
			}
			i += end + 1
			prev = '>'
			continue
		}
		if _, end, ok := markerAt(s, i); ok {
			i = end
			prev = markerEnd
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !continuesDomain(prev) && prev != '.' {
			if end, linked, ok := smsURLAt(s, i); ok {
				if linked {
					candidate := s[i:end]
					b.WriteString(s[copied:i])
					b.WriteString(`<a class="govuk-link govuk-link--no-visited-state" href="`)
					b.WriteString(LinkHref(candidate))
					b.WriteString(`">`)
					b.WriteString(candidate)
					b.WriteString(`</a>`)
					copied = end
				}
				r, _ = utf8.DecodeLastRuneInString(s[i:end])
				i = end
				prev = r
				continue
			}
		}
		prev = r
		i += size
	}
	b.WriteString(s[copied:])
	return b.String()
}

// continuesDomain reports a letter, digit, "_", "-" or "@": what may not stand directly
// before or after a candidate. (A "." may not stand before one either.)
func continuesDomain(r rune) bool {
	return r == '_' || r == '-' || r == '@' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isLabelRune(r rune) bool {
	return r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// smsURLAt matches a candidate at i: an optional http:// or https://, labels each followed
// by ".", a top-level domain of 2–63 letters, and an optional path from "/", "?" or "#" to
// whitespace, "<" or a marker. ok reports a match; end is where the candidate ends once
// trailing punctuation is removed; linked is false when the match runs into a marker (a URL
// a missing value completes is not a URL, F12).
func smsURLAt(s string, i int) (end int, linked, ok bool) {
	p := i
	for _, scheme := range []string{"https://", "http://"} {
		if len(s)-p >= len(scheme) && strings.EqualFold(s[p:p+len(scheme)], scheme) {
			p += len(scheme)
			break
		}
	}
	// Each label ends in "."; the top-level domain is tried after the last label first, as
	// a greedy pattern would, then after fewer.
	var tldStarts []int
	for q := p; ; {
		run := q
		for run < len(s) {
			r, size := utf8.DecodeRuneInString(s[run:])
			if !isLabelRune(r) {
				break
			}
			run += size
		}
		if run == q || run >= len(s) || s[run] != '.' {
			break
		}
		q = run + 1
		tldStarts = append(tldStarts, q)
	}
	for k := len(tldStarts) - 1; k >= 0; k-- {
		tld, letters := tldStarts[k], 0
		q := tld
		for q < len(s) {
			r, size := utf8.DecodeRuneInString(s[q:])
			if !unicode.IsLetter(r) {
				break
			}
			q += size
			letters++
		}
		if letters < 2 || letters > 63 {
			continue
		}
		if q < len(s) && strings.IndexByte("/?#", s[q]) >= 0 {
			q = pathEnd(s, q)
		} else if next, _ := utf8.DecodeRuneInString(s[q:]); q < len(s) && continuesDomain(next) {
			continue
		}
		if q < len(s) {
			if _, _, atMarker := markerAt(s, q); atMarker {
				return q, false, true
			}
		}
		return trimURLEnd(s, i, q), true, true
	}
	return 0, false, false
}

// pathEnd is where a path starting at q stops: whitespace, "<", a marker or the end.
func pathEnd(s string, q int) int {
	for q < len(s) {
		r, size := utf8.DecodeRuneInString(s[q:])
		if r == '<' || r == markerStart || isRenderSpace(r) {
			break
		}
		q += size
	}
	return q
}

// trimURLEnd removes trailing ".", "," and ":", and a trailing ")" or "]" with no partner
// inside the candidate, repeatedly. The brackets are counted once, so a long run of them
// costs no more than reading it. The top-level domain is letters, so the candidate never
// shrinks into it.
func trimURLEnd(s string, start, end int) int {
	c := s[start:end]
	parens, brackets := strings.Count(c, ")")-strings.Count(c, "("), strings.Count(c, "]")-strings.Count(c, "[")
	for end > start {
		switch s[end-1] {
		case '.', ',', ':':
		case ')':
			if parens <= 0 {
				return end
			}
			parens--
		case ']':
			if brackets <= 0 {
				return end
			}
			brackets--
		default:
			return end
		}
		end--
	}
	return end
}
