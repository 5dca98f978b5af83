package notifyql

import (
	"strings"
	"testing"
)

const (
	smsLink    = `<a class="govuk-link govuk-link--no-visited-state"`
	smsWrapper = `<div class="sms-message-wrapper" dir="auto">`
)

func TestRenderSMS(t *testing.T) {
	for _, tt := range []struct {
		name      string
		in        ContentInputs
		body      string
		html      string // the whole html when it starts with "<p", else the wrapper's content
		fragments int
	}{
		{
			name: "T8 prefix on",
			in:   ContentInputs{ServiceName: "a", PrefixSMS: true, TemplateContent: "b"},
			body: "a: b", html: "a: b", fragments: 1,
		},
		{
			name: "T8 prefix off",
			in:   ContentInputs{ServiceName: "a", TemplateContent: "b"},
			body: "b", html: "b", fragments: 1,
		},
		{
			name: "prefix of a blank name",
			in:   ContentInputs{ServiceName: " \t", PrefixSMS: true, TemplateContent: "b"},
			body: "b", html: "b", fragments: 1,
		},
		{
			name: "T9 whitespace",
			in:   ContentInputs{TemplateContent: "The     quick brown fox.\n\n\n\n\nJumps over the lazy dog.   \nSingle linebreak above."},
			body: "The quick brown fox.\n\nJumps over the lazy dog.\nSingle linebreak above.",
			html: "The quick brown fox.<br><br>Jumps over the lazy dog.<br>Single linebreak above.", fragments: 1,
		},
		{
			name: "§3.2 example",
			in:   ContentInputs{TemplateContent: "  Hello  ((name)) ,\r\n\r\n\r\n\tsee you\u200b soon ", Personalisation: []byte(`{"name": "Sam"}`)},
			body: "Hello Sam,\n\nsee you soon", html: "Hello Sam,<br><br>see you soon", fragments: 1,
		},
		{
			name: "T10 downgrading",
			in:   ContentInputs{TemplateContent: "Łōdź It Just Works™ – … a\u200Bb 😬 ç â Ŷ €"},
			body: "Lodz It Just Works? - ... ab ? c â Ŷ €", html: "Lodz It Just Works? - ... ab ? c â Ŷ €", fragments: 1,
		},
		{
			name: "T11 link with quotes",
			in:   ContentInputs{TemplateContent: `https://example.com/"onclick="alert('hi')`},
			body: `https://example.com/"onclick="alert('hi')`,
			html: smsLink + ` href="https://example.com/%22onclick=%22alert%28%27hi%27%29">https://example.com/"onclick="alert('hi')</a>`, fragments: 1,
		},
		{
			name: "T12 missing value",
			in:   ContentInputs{TemplateContent: "Hello ((name)) ,\n\nThis is a message"},
			body: "Hello ((name)),\n\nThis is a message",
			html: `Hello <span class="placeholder">&#40;&#40;name&#41;&#41;</span>,<br><br>This is a message`, fragments: 1,
		},
		{
			name: "T13",
			in: ContentInputs{
				ServiceName: "Dept & Co", PrefixSMS: true, To: "07700 900123", ReplyToText: "GOVUK",
				TemplateContent: "Hi ((name)),\nyour code is ((code)) .\n\n\n\nSee gov.uk/x",
				Personalisation: []byte(`{"name": "<Jo>"}`),
			},
			body: "Dept & Co: Hi <Jo>,\nyour code is ((code)).\n\nSee gov.uk/x",
			html: `<p class="sms-message-sender">From: GOVUK</p><p class="sms-message-recipient">To: 07700 900123</p>` + smsWrapper +
				`Dept &amp; Co: Hi &lt;Jo&gt;,<br>your code is <span class="placeholder">&#40;&#40;code&#41;&#41;</span>.<br><br>See ` +
				smsLink + ` href="http://gov.uk/x">gov.uk/x</a></div>`,
			fragments: 1,
		},
		{
			name: "redacted, with the count of the real values",
			in: ContentInputs{
				TemplateContent: "((code)) ((phone number))", To: "07700 900123", RedactPersonalisation: true,
				Personalisation: []byte(`{"code": "` + strings.Repeat("x", 200) + `"}`),
			},
			body: "[hidden] 07700 900123", html: `<span class="placeholder-redacted">hidden</span> 07700 900123`, fragments: 2,
		},
		{
			name: "inline lists",
			in:   ContentInputs{TemplateContent: "((l))", Personalisation: []byte(`{"l": ["a", "b", "c"]}`)},
			body: "a, b and c", html: "a, b and c", fragments: 1,
		},
		{
			name: "a marker keeps its own spaces and is downgraded",
			in:   ContentInputs{TemplateContent: "x  ((a??b  –  c))"},
			body: "x ((a??b  -  c))", html: `x <span class="placeholder-conditional">&#40;&#40;a??</span>b  -  c&#41;&#41;`, fragments: 1,
		},
		{
			name: "a forged marker is a ?",
			in:   ContentInputs{TemplateContent: "\uE0000\uE001 ((v))", Personalisation: []byte(`{"v": "\uE001"}`)},
			body: "?0? ?", html: "?0? ?", fragments: 1,
		},
		{
			name:      "sender escaped (F14) and blank sender left out",
			in:        ContentInputs{TemplateContent: "x", To: "<b>", ReplyToText: " <i>&amp; "},
			body:      "x",
			html:      `<p class="sms-message-sender">From: &lt;i&gt;&amp;amp;</p><p class="sms-message-recipient">To: &lt;b&gt;</p>` + smsWrapper + `x</div>`,
			fragments: 1,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Type = TypeSMS
			got, err := renderSMS(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Body != tt.body {
				t.Errorf("body = %q, want %q", got.Body, tt.body)
			}
			wantHTML := tt.html
			if !strings.HasPrefix(wantHTML, "<p") {
				wantHTML = `<p class="sms-message-recipient">To: ` + tt.in.To + `</p>` + smsWrapper + wantHTML + `</div>`
			}
			if got.HTML == nil || *got.HTML != wantHTML {
				t.Errorf("html = %v\nwant   %q", quoted(got.HTML), wantHTML)
			}
			if got.FragmentCount == nil || *got.FragmentCount != tt.fragments {
				t.Errorf("fragmentCount = %v, want %d", got.FragmentCount, tt.fragments)
			}
			if got.Subject != nil || got.LetterAddress != nil || got.LetterDate != nil || got.LetterContactBlock != nil {
				t.Errorf("an SMS has letter or email fields: %+v", got)
			}
		})
	}
}

func quoted(s *string) string {
	if s == nil {
		return "nil"
	}
	return `"` + *s + `"`
}

func TestRenderSMSRefusesBadInput(t *testing.T) {
	if _, err := renderSMS(ContentInputs{Type: TypeEmail}); err == nil {
		t.Error("an email rendered as an SMS")
	}
	_, err := renderSMS(ContentInputs{Type: TypeSMS, Personalisation: []byte(`{"a": secret}`)})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad personalisation: %v", err)
	}
}

func TestLinkSMSURLs(t *testing.T) {
	link := func(href, text string) string { return smsLink + ` href="` + href + `">` + text + `</a>` }
	for _, tt := range []struct{ in, want string }{
		{"Visit example.org/help.", "Visit " + link("http://example.org/help", "example.org/help") + "."},
		{"with-subdomain@test.example.com", "with-subdomain@test.example.com"},
		{"firstname.lastname@example.com", "firstname.lastname@example.com"},
		{"(see https://a.example.com/x_(y))", "(see " + link("https://a.example.com/x_%28y%29", "https://a.example.com/x_(y)") + ")"},
		{"[www.gov.uk]", "[" + link("http://www.gov.uk", "www.gov.uk") + "]"},
		{"HTTP://Example.COM, ok", link("HTTP://Example.COM", "HTTP://Example.COM") + ", ok"},
		{"x.c y.1a z.co1 a.b.c", "x.c y.1a z.co1 a.b.c"},
		{"_a.com", link("http://_a.com", "_a.com")},
		{"a.bc.1x", link("http://a.bc", "a.bc") + ".1x"},
		{"go.uk<br>gov.uk?q=a&amp;b:", link("http://go.uk", "go.uk") + "<br>" + link("http://gov.uk?q=a&amp;b", "gov.uk?q=a&amp;b") + ":"},
		{"x.org/p\uE0000\uE001", "x.org/p\uE0000\uE001"},
		{"\uE0000\uE001x.org", "\uE0000\uE001" + link("http://x.org", "x.org")},
		{"1.5 million", "1.5 million"},
		{"tél.fr", link("http://t%C3%A9l.fr", "tél.fr")},
		{"a." + strings.Repeat("b", 64), "a." + strings.Repeat("b", 64)},
	} {
		if got := linkSMSURLs(tt.in); got != tt.want {
			t.Errorf("linkSMSURLs(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestLinkSMSURLsIsLinearInClosingBrackets(t *testing.T) {
	// Each trailing bracket was once counted again from the start of the candidate.
	in := "x.org/(" + strings.Repeat(")", 200000)
	want := smsLink + ` href="http://x.org/%28%29">x.org/()</a>` + strings.Repeat(")", 199999)
	if got := linkSMSURLs(in); got != want {
		t.Errorf("linkSMSURLs of a run of brackets: got %d bytes", len(got))
	}
}

func TestNormaliseSMSWhitespace(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"  Hello  Sam ,\r\n\r\n\r\n\tsee you\u200b soon ", "Hello Sam,\n\nsee you soon"}, // §3.2's example
		{"a\rb\vc\fd\x1ce\x1df\x1eg\u0085h\u2028i\u2029j", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj"},
		{"a\u00a0\u202f\u3000\u1680\u2000\u200a\u205f\x1fb", "a b"},
		{"a \u200b .", "a ."}, // step 3 comes before the zero-width character goes, as the steps are ordered
		{"a\t\t, b . c", "a, b. c"},
		{"\n\n\na\n\n\n\n\nb\n\n", "a\n\nb"},
		{"x \uE0000\uE001 .", "x \uE0000\uE001."},
	} {
		if got := normaliseSMSWhitespace(tt.in); got != tt.want {
			t.Errorf("normaliseSMSWhitespace(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
