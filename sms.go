package notifyql

import (
	"errors"
	"strings"
)

// A text message as sent, with its preview and fragment count (RENDERING.md §3).

// errNotSMS guards renderSMS against being handed another type's inputs.
var errNotSMS = errors.New("render sms: the notification is not a text message")

// renderSMS rebuilds a text message: body is the text as sent (§3.2), html the preview
// (§3.5), fragmentCount the count of §3.4, which uses the real values even when the
// template is redacted, since a count reveals none of them.
func renderSMS(in ContentInputs) (MessageContent, error) {
	if in.Type != TypeSMS {
		return MessageContent{}, errNotSMS
	}
	values, err := NewValues(in.Personalisation, "phone number", in.To, in.RedactPersonalisation)
	if err != nil {
		return MessageContent{}, err
	}
	body := smsText(values, in, false)
	html := `<p class="sms-message-recipient">To: ` + escapeText(in.To) + `</p>` +
		`<div class="sms-message-wrapper" dir="auto">` + smsText(values, in, true) + `</div>`
	if sender := strings.TrimFunc(in.ReplyToText, isRenderSpace); sender != "" {
		html = `<p class="sms-message-sender">From: ` + escapeText(sender) + `</p>` + html
	}
	count := SMSFragments(body)
	if in.RedactPersonalisation {
		real, err := NewValues(in.Personalisation, "phone number", in.To, false)
		if err != nil {
			return MessageContent{}, err
		}
		count = SMSFragments(smsText(real, in, false))
	}
	return MessageContent{Body: body, HTML: &html, FragmentCount: &count}, nil
}

// smsText is the text as sent (§3.2), or with html set the preview's message (§3.5 steps
// 1–5): substituted with inline lists, prefixed, whitespace normalised, downgraded, and in
// HTML with line breaks and links. Markers pass every step whole and are expanded last.
func smsText(values Values, in ContentInputs, html bool) string {
	sub := values.Substitute(in.TemplateContent, SubstituteMode{HTML: html})
	if in.PrefixSMS {
		if name := strings.TrimFunc(in.ServiceName, isRenderSpace); name != "" {
			sub = prependText(sub, name+": ", html)
		}
	}
	sub.Text = normaliseSMSWhitespace(sub.Text)
	sub = downgradeSubstituted(sub)
	if html {
		sub.Text = linkSMSURLs(strings.ReplaceAll(sub.Text, "\n", "<br>"))
	}
	return sub.Expand(sub.Text, html)
}

// prependText puts s, in the mode's form, before the substituted text.
func prependText(sub Substituted, s string, html bool) Substituted {
	out := Substituted{Markers: append([]Marker(nil), sub.Markers...)}
	var b strings.Builder
	out.appendText(&b, s, html)
	out.Text = b.String() + sub.Text
	return out
}

// normaliseSMSWhitespace is steps 3–6 of §3.2. A marker's sequence holds no whitespace,
// comma or full stop, so each step treats it as one non-space character.
func normaliseSMSWhitespace(s string) string {
	s = deleteSpaceBeforePunctuation(s)
	var out strings.Builder
	out.Grow(len(s))
	line := make([]rune, 0, 64)
	flush := func() {
		out.WriteString(collapseLine(line))
		line = line[:0]
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '\r':
			if i+1 < len(rs) && rs[i+1] == '\n' {
				i++
			}
			fallthrough
		case '\n', '\v', '\f', 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
			flush()
			out.WriteByte('\n')
		default:
			line = append(line, r)
		}
	}
	flush()
	return strings.Trim(collapseBlankLines(out.String()), "\n")
}

// deleteSpaceBeforePunctuation deletes every run of spaces and tabs directly before a
// comma or a full stop.
func deleteSpaceBeforePunctuation(s string) string {
	if !strings.ContainsAny(s, " \t") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] != ' ' && s[i] != '\t' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j == len(s) || (s[j] != ',' && s[j] != '.') {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// collapseLine is one line of step 4: non-breaking spaces become spaces, zero-width
// characters go, whitespace runs become one space, and the line is trimmed.
func collapseLine(line []rune) string {
	var b strings.Builder
	space := false
	for _, r := range line {
		switch {
		case isZeroWidth(r):
			continue
		case isRenderSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// collapseBlankLines replaces every run of three or more line feeds with two (step 5).
func collapseBlankLines(s string) string {
	for strings.Contains(s, "\n\n\n") {
		s = strings.ReplaceAll(s, "\n\n\n", "\n\n")
	}
	return s
}

// downgradeSubstituted downgrades the text and the markers' names and texts (§3.3), so
// that a missing placeholder shows what the recipient's phone showed. A LiteralMarker's
// private-use character is not kept, so it becomes the "?" the phone showed.
func downgradeSubstituted(sub Substituted) Substituted {
	out := Substituted{Markers: make([]Marker, len(sub.Markers))}
	for i, m := range sub.Markers {
		m.Name, m.Text = CleanSMSText(m.Name), CleanSMSText(m.Text)
		out.Markers[i] = m
	}
	var b strings.Builder
	b.Grow(len(sub.Text))
	s := sub.Text
	start := 0
	for i := 0; i < len(s); {
		n, end, ok := markerAt(s, i)
		if !ok || n >= len(sub.Markers) {
			i++
			continue
		}
		b.WriteString(CleanSMSText(s[start:i]))
		if m := sub.Markers[n]; m.Kind == LiteralMarker {
			b.WriteString(CleanSMSText(string(m.Literal)))
		} else {
			b.WriteString(s[i:end])
		}
		i, start = end, end
	}
	b.WriteString(CleanSMSText(s[start:]))
	out.Text = b.String()
	return out
}
