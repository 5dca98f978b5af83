package notifyql

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Substituted is template text after placeholders are substituted (RENDERING.md §2.5). A
// marker (§2.6) is atomic: Text holds it as markerStart, its index in Markers in decimal,
// then markerEnd, and the later stages (markdown, typography, whitespace, linking) step
// over that sequence as one non-space character. A markerStart or markerEnd that was in
// the template or a value is itself stored as a LiteralMarker, so no text can forge one.
type Substituted struct {
	Text    string
	Markers []Marker
}

const (
	markerStart = '\uE000'
	markerEnd   = '\uE001'
)

// MarkerKind says what a marker stands for.
type MarkerKind int

// The markers of RENDERING.md §2.6.
const (
	// MissingMarker is a placeholder with no value: ((NAME)).
	MissingMarker MarkerKind = iota
	// MissingConditionalMarker is a conditional placeholder with no value: ((NAME??TEXT)).
	MissingConditionalMarker
	// AddressLineMarker is an address slot with no value: "address line N".
	AddressLineMarker
	// RedactedMarker is a value of a redacted template: "hidden".
	RedactedMarker
	// LiteralMarker is a markerStart or markerEnd character of the input, kept as itself.
	LiteralMarker
)

// Marker is one marker. Name and Text are in the form of the substitution's mode: escaped
// in HTML mode (§2.5), as written in plain mode.
type Marker struct {
	Kind MarkerKind
	// Name is the placeholder's name as written; for an AddressLineMarker, "address line N".
	Name string
	// Text is a missing conditional's text.
	Text string
	// Literal is the character a LiteralMarker keeps.
	Literal rune
}

// HTML is the marker as HTML (§2.6).
func (m Marker) HTML() string {
	switch m.Kind {
	case MissingMarker:
		return `<span class="placeholder">&#40;&#40;` + m.Name + `&#41;&#41;</span>`
	case MissingConditionalMarker:
		return `<span class="placeholder-conditional">&#40;&#40;` + m.Name + `??</span>` + m.Text + `&#41;&#41;`
	case AddressLineMarker:
		return `<span class="placeholder-no-brackets">` + m.Name + `</span>`
	case RedactedMarker:
		return `<span class="placeholder-redacted">hidden</span>`
	}
	return string(m.Literal)
}

// Plain is the marker as plain text (§2.6); a letter draws it on #FFDD00 unless it is a
// LiteralMarker.
func (m Marker) Plain() string {
	switch m.Kind {
	case MissingMarker:
		return "((" + m.Name + "))"
	case MissingConditionalMarker:
		return "((" + m.Name + "??" + m.Text + "))"
	case AddressLineMarker:
		return m.Name
	case RedactedMarker:
		return "[hidden]"
	}
	return string(m.Literal)
}

// encodeMarker is the sequence that stands for marker i in Substituted.Text.
func encodeMarker(i int) string {
	return string(markerStart) + strconv.Itoa(i) + string(markerEnd)
}

// markerAt reports whether a marker sequence starts at byte i of s, and if so its index in
// Markers and the byte just past it.
func markerAt(s string, i int) (index, end int, ok bool) {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r != markerStart {
		return 0, 0, false
	}
	j := i + size
	k := strings.IndexRune(s[j:], markerEnd)
	if k <= 0 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(s[j : j+k])
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return n, j + k + utf8.RuneLen(markerEnd), true
}

// Expand replaces each marker of s (a piece of Text) with its HTML or plain form.
func (sub Substituted) Expand(s string, html bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if n, end, ok := markerAt(s, i); ok && n < len(sub.Markers) {
			if html {
				b.WriteString(sub.Markers[n].HTML())
			} else {
				b.WriteString(sub.Markers[n].Plain())
			}
			i = end
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
