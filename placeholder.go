package notifyql

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// Placeholders (RENDERING.md §2): a template's ((name)) and ((name??text)) filled from a
// notification's personalisation, with markers for what has no value.

// errPersonalisation is the one error NewValues gives: personalisation is personal data, so
// neither the JSON decoder's message (which quotes the offending character) nor any part of
// the text may reach an error.
var errPersonalisation = errors.New("personalisation is not a JSON object")

// Values are a notification's values (§2.2): its personalisation plus the recipient entry,
// looked up by a name's normal form (§2.3).
type Values struct {
	// byName maps a normal form to the raw JSON of the value its first key in byte order
	// holds.
	byName map[string]json.RawMessage
	// recipient is the normal form of the recipient entry's key; "" for letters.
	recipient string
	// redacted makes every name but the recipient's render as the redacted marker (§1.3).
	redacted bool
}

// NewValues builds the values of a notification from its personalisation (a jsonb object's
// text; empty means none), the recipient key ("phone number", "email address", or "" for
// letters) with its value, and whether the template is redacted. The recipient entry
// replaces every key that matches it.
func NewValues(personalisation []byte, recipientKey, recipient string, redacted bool) (Values, error) {
	v := Values{byName: map[string]json.RawMessage{}, redacted: redacted}
	// Values stay raw JSON until shown, so a number keeps its stored text (1.50 stays 1.50)
	// and an object its key order.
	var object map[string]json.RawMessage
	if len(bytes.TrimSpace(personalisation)) > 0 {
		d := json.NewDecoder(bytes.NewReader(personalisation))
		if err := d.Decode(&object); err != nil || d.More() {
			return Values{}, errPersonalisation
		}
	}
	// The first key in byte order wins among keys of one normal form (§2.3), so keys are
	// taken in that order and a later one never replaces an earlier one.
	keys := make([]string, 0, len(object))
	for k := range object {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		n := normalName(k)
		if _, taken := v.byName[n]; !taken {
			v.byName[n] = object[k]
		}
	}
	if recipientKey != "" {
		v.recipient = normalName(recipientKey)
		quoted, _ := json.Marshal(recipient) // a string always marshals
		v.byName[v.recipient] = quoted
	}
	return v, nil
}

// normalName is a name's or key's normal form (§2.3): complete references decoded, spaces,
// underscores and hyphens deleted, lower-cased. &amp; is decoded too: §2.5 keeps it only
// because escaping would write it again, and ((a&amp;b)) names the key "a&b".
func normalName(name string) string {
	name = DecodeReferences(name)
	name = strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' || r == '-' {
			return -1
		}
		return r
	}, name)
	return strings.ToLower(name)
}

// lookup returns the raw value for name, and whether the name is redacted. A JSON null is
// missing (§2.2), as is an absent key.
func (v Values) lookup(name string) (raw json.RawMessage, redacted, ok bool) {
	n := normalName(name)
	if v.redacted && (v.recipient == "" || n != v.recipient) {
		return nil, true, false
	}
	raw, ok = v.byName[n]
	if !ok || string(raw) == "null" {
		return nil, false, false
	}
	return raw, false, true
}

// Text is the text of the value for name (§2.2), in list mode when lists is set, else
// inline; false when the value is missing or redacted. Address lines use it.
func (v Values) Text(name string, lists bool) (string, bool) {
	raw, _, ok := v.lookup(name)
	if !ok {
		return "", false
	}
	return valueText(raw, lists), true
}

// Has reports whether a key matches name, even one holding null: a letter takes
// "address line 7" rather than "postcode" when that key exists (§5.2).
func (v Values) Has(name string) bool {
	_, ok := v.byName[normalName(name)]
	return ok
}

// valueText turns a non-null JSON value into text (§2.2): strings as themselves, numbers
// as stored, booleans and objects as compact JSON (F19), arrays by the list rule.
func valueText(raw json.RawMessage, lists bool) string {
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s) // the decoder already checked it
		return s
	case '[':
		return listText(raw, lists)
	}
	return compactJSON(raw)
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// listText applies the list rule (§2.2) to a JSON array.
func listText(raw json.RawMessage, lists bool) string {
	var elements []json.RawMessage
	_ = json.Unmarshal(raw, &elements)
	items := make([]string, 0, len(elements))
	for _, e := range elements {
		if string(e) == "null" {
			continue
		}
		var item string
		if e[0] == '[' {
			item = compactJSON(e)
		} else {
			item = valueText(e, lists)
		}
		item = strings.TrimFunc(item, func(r rune) bool { return isRenderSpace(r) || isZeroWidth(r) })
		if item != "" {
			items = append(items, item)
		}
	}
	switch {
	case len(items) == 0:
		return ""
	case lists:
		return "\n\n* " + strings.Join(items, "\n* ")
	case len(items) == 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// isTruthy is the conditional rule (§2.4): strings, numbers and booleans whose text,
// lower-cased but not trimmed, is one of the words; arrays and objects never.
func isTruthy(raw json.RawMessage) bool {
	if raw[0] == '[' || raw[0] == '{' {
		return false
	}
	switch strings.ToLower(valueText(raw, false)) {
	case "yes", "y", "true", "t", "1", "include", "show":
		return true
	}
	return false
}

// SubstituteMode is how a template is substituted (§2.5): HTML escapes text and marker
// names, plain keeps them as written; Lists puts array values in list mode.
type SubstituteMode struct {
	HTML, Lists bool
}

// Substitute fills the placeholders of template (§2.1–2.6). Placeholders are found on the
// raw template before anything is decoded (F13), and inserted values are never scanned
// again. Missing and redacted placeholders become markers; a markerStart or markerEnd in
// the template or a value becomes a LiteralMarker, so no text forges a marker.
func (v Values) Substitute(template string, mode SubstituteMode) Substituted {
	var sub Substituted
	var b strings.Builder
	for len(template) > 0 {
		start, end, body, ok := nextPlaceholder(template)
		if !ok {
			sub.appendText(&b, template, mode.HTML)
			break
		}
		sub.appendText(&b, template[:start], mode.HTML)
		v.substituteOne(&sub, &b, body, mode)
		template = template[end:]
	}
	sub.Text = b.String()
	return sub
}

// substituteOne writes the substitution of one placeholder body.
func (v Values) substituteOne(sub *Substituted, b *strings.Builder, body string, mode SubstituteMode) {
	name, text, conditional := strings.Cut(body, "??")
	raw, redacted, ok := v.lookup(name)
	switch {
	case redacted:
		sub.appendMarker(b, Marker{Kind: RedactedMarker})
	case !ok && conditional:
		sub.appendMarker(b, Marker{Kind: MissingConditionalMarker, Name: modeText(name, mode.HTML), Text: modeText(text, mode.HTML)})
	case !ok:
		sub.appendMarker(b, Marker{Kind: MissingMarker, Name: modeText(name, mode.HTML)})
	case conditional:
		if isTruthy(raw) {
			sub.appendText(b, text, mode.HTML)
		}
	default:
		sub.appendText(b, valueText(raw, mode.Lists), mode.HTML)
	}
}

// nextPlaceholder finds the first placeholder of s (§2.1): "((", one or more characters
// other than brackets, "))". It returns its byte span and body. A failed start only ever
// scans a bracket-free run that no later start can begin inside, so the search is linear.
func nextPlaceholder(s string) (start, end int, body string, ok bool) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '(' || s[i+1] != '(' {
			continue
		}
		j := i + 2
		for j < len(s) && s[j] != '(' && s[j] != ')' {
			j++
		}
		if j > i+2 && strings.HasPrefix(s[j:], "))") {
			return i, j + 2, s[i+2 : j], true
		}
	}
	return 0, 0, "", false
}

// modeText is text as the mode shows it: escaped in HTML mode (§2.5), as written in plain.
func modeText(s string, html bool) string {
	if html {
		return EscapeHTMLText(s)
	}
	return s
}

// appendText writes text in the mode's form, turning every markerStart and markerEnd into
// a LiteralMarker. Escaping comes first because a reference such as &#xE000; decodes to one.
func (sub *Substituted) appendText(b *strings.Builder, s string, html bool) {
	s = modeText(s, html)
	for {
		i := strings.IndexAny(s, string(markerStart)+string(markerEnd))
		if i < 0 {
			b.WriteString(s)
			return
		}
		b.WriteString(s[:i])
		r := []rune(s[i : i+3])[0] // both characters are 3 bytes in UTF-8
		sub.appendMarker(b, Marker{Kind: LiteralMarker, Literal: r})
		s = s[i+3:]
	}
}

// appendMarker stores m and writes its sequence.
func (sub *Substituted) appendMarker(b *strings.Builder, m Marker) {
	b.WriteString(encodeMarker(len(sub.Markers)))
	sub.Markers = append(sub.Markers, m)
}

// isRenderSpace is the whitespace of RENDERING.md §3.2.
func isRenderSpace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0D, r >= 0x1C && r <= 0x20, r == 0x85, r == 0xA0, r == 0x1680,
		r >= 0x2000 && r <= 0x200A, r == 0x2028, r == 0x2029, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	}
	return false
}

// isZeroWidth is the zero-width characters of RENDERING.md §3.2.
func isZeroWidth(r rune) bool {
	switch r {
	case 0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF:
		return true
	}
	return false
}
