package notifyql

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// allowedTags are the only tags substituted text and the SMS preview may hold: the markers'
// spans and what renderSMS and the linker write. Once they are removed, no "<" or ">" may
// remain: a value never becomes markup.
var allowedTags = regexp.MustCompile(`<br>|</(span|a|p|div)>|<span class="placeholder(-conditional|-no-brackets|-redacted)?">|` +
	`<a class="govuk-link govuk-link--no-visited-state" href="[^"<>]*">|<p class="sms-message-(sender|recipient)">|` +
	`<div class="sms-message-wrapper" dir="auto">`)

// checkMarkers fails when a markerStart or markerEnd of text is not part of a stored marker.
func checkMarkers(t *testing.T, sub Substituted) {
	t.Helper()
	s := sub.Text
	for i := 0; i < len(s); {
		if n, end, ok := markerAt(s, i); ok {
			if n >= len(sub.Markers) {
				t.Fatalf("marker %d of %d in %q", n, len(sub.Markers), s)
			}
			i = end
			continue
		}
		if strings.HasPrefix(s[i:], string(markerStart)) || strings.HasPrefix(s[i:], string(markerEnd)) {
			t.Fatalf("a marker character outside a marker in %q", s)
		}
		i++
	}
}

func checkNoMarkup(t *testing.T, html string) {
	t.Helper()
	if rest := allowedTags.ReplaceAllString(html, ""); strings.ContainsAny(rest, "<>") {
		t.Fatalf("markup outside the allowed tags: %q", html)
	}
}

func FuzzSubstitute(f *testing.F) {
	f.Add("the quick ((colour)) fox", "colour", "<script>alert('foo')</script>", `{"x": [1, "a", null]}`, false, false)
	f.Add("((show_thing??thing)) ((colour))", "colour", "red", `{"show_thing": "yes"}`, false, true)
	f.Add("&lsqb; &amp; &nbsp; &Hat; &timestamp=&times; 200&microg", "a", "&lt;b&gt;", `{}`, true, false)
	f.Add("(((a))) ((a??<b>)) \uE0000\uE001", "a", "&#xE000;0&#xE001;", `{"b": {"k": "<v>"}}`, false, true)
	f.Add("((l))((a))", "l", "x", `{"l": ["<a>", ["<b>"], " "], "a": "</span><span class=\"placeholder\">"}`, true, true)
	f.Fuzz(func(t *testing.T, template, key, value, raw string, redacted, lists bool) {
		// The one error is a constant: nothing of the text can reach it.
		if _, err := NewValues([]byte(raw), "email address", value, redacted); err != nil && err != errPersonalisation {
			t.Fatalf("NewValues: %v", err)
		}
		object := map[string]any{key: value}
		if extra := map[string]any{}; json.Unmarshal([]byte(raw), &extra) == nil {
			for k, v := range extra {
				object[k] = v
			}
		}
		personalisation, err := json.Marshal(object)
		if err != nil {
			return // invalid UTF-8 keys
		}
		v, err := NewValues(personalisation, "", "", redacted)
		if err != nil {
			t.Fatalf("NewValues(%s): %v", personalisation, err)
		}
		htmlSub := v.Substitute(template, SubstituteMode{HTML: true, Lists: lists})
		checkMarkers(t, htmlSub)
		if strings.ContainsAny(htmlSub.Text, "<>") {
			t.Fatalf("unescaped text: %q", htmlSub.Text)
		}
		checkNoMarkup(t, htmlSub.Expand(htmlSub.Text, true))
		plainSub := v.Substitute(template, SubstituteMode{Lists: lists})
		checkMarkers(t, plainSub)
		_ = plainSub.Expand(plainSub.Text, false)
		if redacted && strings.Contains(plainSub.Expand(plainSub.Text, false), value) && !strings.Contains(template, value) && len(value) > 3 {
			t.Fatalf("a redacted value shows: %q", plainSub.Expand(plainSub.Text, false))
		}
	})
}

func FuzzRenderSMS(f *testing.F) {
	f.Add("Hi ((name)),\nyour code is ((code)) .\n\n\n\nSee gov.uk/x", `{"name": "<Jo>"}`, "Dept & Co", "07700 900123", "GOVUK", true, false)
	f.Add(`https://example.com/"onclick="alert('hi')`, `{}`, "", "<b>", "", false, true)
	f.Add("  Hello  ((name)) ,\r\n\r\n\r\n\tsee you\u200b soon ", `{"name": ["a", "b"]}`, "a", "", " ", true, true)
	f.Add("x.org/("+strings.Repeat(")", 5000)+" Łōdź ™ – … 😬 ç â Ŷ € example.org/help. a@b.example.com x.org/((p))", `{"p": null}`, "\uE000", "", "\uE0000\uE001", true, false)
	f.Fuzz(func(t *testing.T, template, personalisation, service, to, replyTo string, prefix, redacted bool) {
		in := ContentInputs{
			Type: TypeSMS, TemplateContent: template, Personalisation: []byte(personalisation),
			ServiceName: service, PrefixSMS: prefix, To: to, ReplyToText: replyTo, RedactPersonalisation: redacted,
		}
		got, err := renderSMS(in)
		if err != nil {
			return // personalisation that is not a JSON object
		}
		if got.HTML == nil || got.FragmentCount == nil || *got.FragmentCount < 1 {
			t.Fatalf("incomplete content: %+v", got)
		}
		checkNoMarkup(t, *got.HTML)
		if strings.ContainsAny(got.Body, string(markerStart)+string(markerEnd)+"\t\r") {
			t.Fatalf("body holds characters an SMS does not carry: %q", got.Body)
		}
		if got.Body != strings.TrimSpace(got.Body) || strings.Contains(got.Body, "\n\n\n") {
			t.Fatalf("body not normalised: %q", got.Body)
		}
		if CleanSMSText(got.Body) != got.Body {
			t.Fatalf("body not downgraded: %q", got.Body)
		}
	})
}
