package notifyql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The email's content (RENDERING.md §4): the subject as plain text, the HTML body and the
// plain-text version, rebuilt from the template and the notification's values.

// renderEmail rebuilds an email's subject, HTML body and plain-text body.
func renderEmail(in ContentInputs) (MessageContent, error) {
	v, err := NewValues(in.Personalisation, "email address", in.To, in.RedactPersonalisation)
	if err != nil {
		return MessageContent{}, fmt.Errorf("email values: %w", err)
	}
	subject, _, _ := subjectLine(v, in.TemplateSubject)
	html := emailHTML(v, in.TemplateContent)
	return MessageContent{Subject: &subject, Body: emailPlainText(v, in.TemplateContent), HTML: &html}, nil
}

// subjectLine is §4.1: a subject (or a letter's title) substituted in plain mode with
// inline lists, through typography, with whitespace collapsed. It returns the text and its
// substitution and pieces, whose markers a letter draws highlighted.
func subjectLine(v Values, template string) (string, Substituted, []piece) {
	sub := v.Substitute(template, SubstituteMode{})
	pieces := splitMarkers(sub, sub.Text)
	typographyPieces(pieces)
	for i := range pieces {
		if pieces[i].kind == pieceText {
			pieces[i].s = strings.Map(func(r rune) rune {
				if isZeroWidth(r) {
					return -1
				}
				return r
			}, collapseSpace(pieces[i].s))
		}
	}
	if n := len(pieces); n > 0 {
		if pieces[0].kind == pieceText {
			pieces[0].s = strings.TrimLeftFunc(pieces[0].s, isSpace)
		}
		if pieces[n-1].kind == pieceText {
			pieces[n-1].s = strings.TrimRightFunc(pieces[n-1].s, isSpace)
		}
	}
	return joinPieces(sub, pieces, false), sub, pieces
}

// collapseSpace turns every whitespace run, newlines included, into one space.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if isSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// emailHTML is §4.5: the email's HTML body.
func emailHTML(v Values, template string) string {
	sub := v.Substitute(template, SubstituteMode{HTML: true, Lists: true})
	sub.Text = deleteEmailSeparators(unlinkGovUK(sub.Text))
	pieces := renderMarkdownHTML(sub, emailStyle)
	typographyPieces(pieces)
	return joinPieces(sub, pieces, true)
}

// emailPlainText is §4.6: the plain-text version.
func emailPlainText(v Values, template string) string {
	sub := v.Substitute(template, SubstituteMode{Lists: true})
	sub.Text = deleteEmailSeparators(unlinkGovUK(sub.Text))
	pieces := renderMarkdownPlain(sub)
	typographyPieces(pieces)
	for i := range pieces {
		if pieces[i].kind == pieceText {
			pieces[i].s = DecodeReferences(pieces[i].s)
		}
	}
	return strings.TrimLeftFunc(joinPieces(sub, pieces, false), isSpace) + "\n"
}

// deleteEmailSeparators is §4.5 step 3: U+2028 and U+3164 go. Markers hold neither.
func deleteEmailSeparators(s string) string {
	return strings.NewReplacer("\u2028", "", "\u3164", "").Replace(s)
}

// unlinkGovUK is §4.5 step 2: a zero-width space after the dot of GOV.UK (any case) where
// it starts the text or follows whitespace, optionally after one #, * or ^, and is not
// followed by /, ? or #, so that mail clients do not turn the name into a link. A marker
// is never whitespace, and the digits inside one never spell GOV.UK.
func unlinkGovUK(s string) string {
	if !strings.Contains(strings.ToLower(s), "gov.uk") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+6 <= len(s); i++ {
		if !strings.EqualFold(s[i:i+6], "gov.uk") || !govUKStarts(s, i) {
			continue
		}
		if i+6 < len(s) && strings.IndexByte("/?#", s[i+6]) >= 0 {
			continue
		}
		b.WriteString(s[last : i+4])
		b.WriteString("\u200b")
		last = i + 4
	}
	b.WriteString(s[last:])
	return b.String()
}

// govUKStarts reports whether GOV.UK at s[i] starts the text or follows whitespace,
// optionally after one #, * or ^.
func govUKStarts(s string, i int) bool {
	if i > 0 && strings.IndexByte("#*^", s[i-1]) >= 0 {
		i--
	}
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isSpace(r)
}
