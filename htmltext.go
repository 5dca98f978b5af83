package notifyql

import (
	"html"
	"strings"
)

// Character references and escaping of template text (RENDERING.md §2.5, §4.3, §4.6).

// EscapeHTMLText is §2.5 step 2 for one piece of text: complete references ending in ";"
// are decoded, &amp; and &nbsp; are kept as written, then &, < and > are escaped. Quotes
// are left alone: this is text, not an attribute value.
func EscapeHTMLText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if kept := keptReference(s[i:]); kept != "" {
				b.WriteString(kept)
				i += len(kept)
				continue
			}
			if decoded, n := referenceAt(s[i:]); n > 0 {
				escapeTextTo(&b, decoded)
				i += n
				continue
			}
		}
		escapeByteTo(&b, s[i])
		i++
	}
	return b.String()
}

// DecodeReferences is §4.6 step 5: every complete reference of §2.5 is decoded, &amp; and
// &nbsp; included; the rest of s is left as it is.
func DecodeReferences(s string) string {
	return decodeReferences(s, true)
}

// decodeReferences decodes the complete references of s; &amp; and &nbsp; only when all is
// set (§2.5 keeps them, §4.6 does not).
func decodeReferences(s string, all bool) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if kept := keptReference(s[i:]); kept != "" && !all {
				b.WriteString(kept)
				i += len(kept)
				continue
			}
			if decoded, n := referenceAt(s[i:]); n > 0 {
				b.WriteString(decoded)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// keptReference is "&amp;" or "&nbsp;" when s starts with one, else "".
func keptReference(s string) string {
	for _, kept := range []string{"&amp;", "&nbsp;"} {
		if strings.HasPrefix(s, kept) {
			return kept
		}
	}
	return ""
}

// referenceAt decodes the complete reference at the start of s (which starts with "&"):
// &#N;, &#xH; or &name; where the whole name, letters and digits, is an HTML5 named
// reference. n is 0 when there is none. html.UnescapeString also decodes the known prefix
// of an unknown name (&timesx; gives "×x;"), so a named candidate counts only when nothing
// of it is left over.
func referenceAt(s string) (decoded string, n int) {
	i := 1
	numeric, hex := false, false
	if i < len(s) && s[i] == '#' {
		numeric = true
		i++
		if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
			hex = true
			i++
		}
	}
	start := i
	for i < len(s) && isReferenceNameByte(s[i], numeric, hex) {
		i++
	}
	if i == start || i >= len(s) || s[i] != ';' {
		return "", 0
	}
	candidate := s[:i+1]
	decoded = html.UnescapeString(candidate)
	if decoded == candidate {
		return "", 0
	}
	if !numeric && strings.HasSuffix(decoded, ";") && candidate != "&semi;" {
		return "", 0
	}
	return decoded, len(candidate)
}

func isReferenceNameByte(c byte, numeric, hex bool) bool {
	isDigit := c >= '0' && c <= '9'
	switch {
	case hex:
		return isDigit || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	case numeric:
		return isDigit
	}
	return isDigit || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// escapeTextTo writes s with &, < and > escaped.
func escapeTextTo(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		escapeByteTo(b, s[i])
	}
}

// escapeByteTo writes c, escaped if it is &, < or >.
func escapeByteTo(b *strings.Builder, c byte) {
	switch c {
	case '&':
		b.WriteString("&amp;")
	case '<':
		b.WriteString("&lt;")
	case '>':
		b.WriteString("&gt;")
	default:
		b.WriteByte(c)
	}
}

// escapeText is s with &, < and > escaped: for text that is not template text, such as an
// SMS sender or recipient, whose references mean nothing.
func escapeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	escapeTextTo(&b, s)
	return b.String()
}

// LinkHref is a link's href (§4.3 Href): "http://" in front unless the destination starts
// with an allowed scheme, which makes javascript: harmless; then every byte but ASCII
// letters, digits and _ . - ~ : / ? # = & ; % is percent-encoded, which also encodes the
// quotes that would end the attribute. dest is already escaped text, so &amp; stays an
// entity.
func LinkHref(dest string) string {
	lower := strings.ToLower(dest)
	prefixed := false
	for _, scheme := range []string{"http:", "https:", "ftp:", "file:", "mailto:", "tel:"} {
		if strings.HasPrefix(lower, scheme) {
			prefixed = true
			break
		}
	}
	var b strings.Builder
	b.Grow(len(dest) + 16)
	if !prefixed {
		b.WriteString("http://")
	}
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(dest); i++ {
		c := dest[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-~:/?#=&;%", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
