package notifyql

import (
	"strings"
	"testing"
)

// Shorthand of RENDERING.md §8.
const (
	tp  = `<p class="govuk-body">`
	ta  = `<a class="govuk-link govuk-link--no-visited-state"`
	tul = `<ul class="govuk-list govuk-list--bullet">`
	tol = `<ol class="govuk-list govuk-list--number">`
	thr = `<hr class="govuk-section-break govuk-section-break--visible">`
)

var (
	t65eq   = strings.Repeat("=", 65)
	t65dash = strings.Repeat("-", 65)
)

// email renders an email with the given content and personalisation.
func email(t *testing.T, subject, content, personalisation string) MessageContent {
	t.Helper()
	c, err := renderEmail(ContentInputs{
		Type: "email", TemplateSubject: subject, TemplateContent: content,
		Personalisation: []byte(personalisation), To: "someone@example.com",
	})
	if err != nil {
		t.Fatalf("renderEmail: %v", err)
	}
	return c
}

// The email cases of RENDERING.md §8; "" means the case says nothing of that field.
func TestEmailCases(t *testing.T) {
	for _, tt := range []struct {
		name, subject, content, personalisation string
		wantSubject, wantHTML, wantBody         string
	}{
		{name: "T14", subject: "first.o’last@example.com", content: "first.o’last@example.com",
			wantSubject: "first.o'last@example.com", wantHTML: tp + "first.o'last@example.com</p>", wantBody: "first.o'last@example.com\n"},
		{name: "T15", content: "# Heading\n\n1. one\n2. two\n3. three\n\n***\n\n# Heading\n\nParagraph\n\nParagraph\n\n^ callout\n\n1. one not four\n1. two not five",
			wantBody: "Heading\n" + t65eq + "\n\n1. one\n2. two\n3. three\n\n" + plainRule + "\n\n\nHeading\n" + t65eq + "\n\nParagraph\n\nParagraph\n\ncallout\n\n1. one not four\n2. two not five\n"},
		{name: "T16 #", content: "# heading", wantHTML: `<h2 class="govuk-heading-l">heading</h2>`, wantBody: "heading\n" + t65eq + "\n"},
		{name: "T16 # no space", content: "#heading", wantHTML: `<h2 class="govuk-heading-l">heading</h2>`, wantBody: "heading\n" + t65eq + "\n"},
		{name: "T16 ##", content: "## heading", wantHTML: `<h3 class="govuk-heading-m">heading</h3>`, wantBody: "heading\n" + t65dash + "\n"},
		{name: "T16 ###", content: "### inset text", wantHTML: tp + "inset text</p>", wantBody: "inset text\n"},
		{name: "T17 *", content: "*one\n*two\n*three\n", wantHTML: tul + "<li>one</li><li>two</li><li>three</li></ul>", wantBody: "• one\n• two\n• three\n"},
		{name: "T17 -", content: "- one\n- two\n- three\n", wantHTML: tul + "<li>one</li><li>two</li><li>three</li></ul>", wantBody: "• one\n• two\n• three\n"},
		{name: "T17 •", content: "• one\n• two\n• three\n", wantHTML: tul + "<li>one</li><li>two</li><li>three</li></ul>", wantBody: "• one\n• two\n• three\n"},
		{name: "T17 +", content: "+ one\n+ two\n+ three\n", wantHTML: tp + "+ one<br>+ two<br>+ three</p>"},
		{name: "T18", content: "^ inset text", wantHTML: `<div class="govuk-inset-text">` + tp + "inset text</p></div>", wantBody: "inset text\n"},
		{name: "T19", content: "Visit our [website](www.example.com/xyz).",
			wantHTML: tp + "Visit our " + ta + ` href="http://www.example.com/xyz">website</a>.</p>`, wantBody: "Visit our website: www.example.com/xyz.\n"},
		{name: "T20", content: "this link is in brackets (http://example.com)",
			wantHTML: tp + "this link is in brackets (" + ta + ` href="http://example.com">http://example.com</a>)</p>`},
		{name: "T20 www", content: "www.example.com", wantHTML: tp + "www.example.com</p>"},
		{name: "T21 bold", content: "something **important**", wantHTML: tp + "something **important**</p>", wantBody: "something **important**\n"},
		{name: "T21 code", content: "variable called `thing`", wantHTML: tp + "variable called `thing`</p>", wantBody: "variable called `thing`\n"},
		{name: "T21 strike", content: "~~Strike~~", wantHTML: tp + "~~Strike~~</p>", wantBody: "~~Strike~~\n"},
		{name: "T21 image", content: "![alt text](http://example.com/image.png)", wantHTML: "", wantBody: "\n"},
		{name: "T22", content: "GOV.UK", wantHTML: tp + "GOV.\u200bUK</p>", wantBody: "GOV.\u200bUK\n"},
		{name: "T22 path", content: "gov.uk/register-to-vote", wantHTML: tp + "gov.uk/register-to-vote</p>", wantBody: "gov.uk/register-to-vote\n"},
		{name: "T22 www", content: "www.gov.uk", wantHTML: tp + "www.gov.uk</p>", wantBody: "www.gov.uk\n"},
		{name: "T22 query", content: "gov.uk?q=", wantHTML: tp + "gov.uk?q=</p>", wantBody: "gov.uk?q=\n"},
		{name: "T23", content: "This is something text with (( this&that )) HTML special character personalisation <>.",
			personalisation: `{"this&that": "some very lovely &"}`,
			wantHTML:        tp + "This is something text with some very lovely &amp; HTML special character personalisation &lt;&gt;.</p>"},
		{name: "T24", content: "https://example.com\"style='text-decoration:blink'",
			wantHTML: tp + ta + ` href="https://example.com%22style=%27text-decoration:blink">https://example.com"style='text-decoration:blink</a>’</p>`},
		{name: "T25 F1", content: "**Important** notice", wantHTML: tp + "**Important** notice</p>"},
		{name: "T25 F2", content: "1.5 million", wantHTML: tp + "1.5 million</p>"},
		{name: "T25 F4", content: "Intro\n• a\n• b", wantHTML: tp + "Intro</p>" + tul + "<li>a</li><li>b</li></ul>"},
		{name: "T25 F3", content: "Para\n---\nMore", wantHTML: tp + "Para</p>" + thr + tp + "More</p>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			subject := tt.subject
			if subject == "" {
				subject = "Subject"
			}
			c := email(t, subject, tt.content, tt.personalisation)
			if tt.wantSubject != "" && *c.Subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", *c.Subject, tt.wantSubject)
			}
			if (tt.wantHTML != "" || tt.name == "T21 image") && *c.HTML != tt.wantHTML {
				t.Errorf("html =\n%q\nwant\n%q", *c.HTML, tt.wantHTML)
			}
			if tt.wantBody != "" && c.Body != tt.wantBody {
				t.Errorf("body =\n%q\nwant\n%q", c.Body, tt.wantBody)
			}
		})
	}
}

// A redacted template shows "hidden" for every value but the recipient's, in every field.
func TestEmailRedacted(t *testing.T) {
	c, err := renderEmail(ContentInputs{
		Type: "email", TemplateSubject: "For ((name))", TemplateContent: "Dear ((name)), to ((email address))\n\n((show??yes))",
		Personalisation: []byte(`{"name": "Jo", "show": "yes"}`), To: "jo@example.com", RedactPersonalisation: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	const hidden = `<span class="placeholder-redacted">hidden</span>`
	if want := "For [hidden]"; *c.Subject != want {
		t.Errorf("subject = %q, want %q", *c.Subject, want)
	}
	if want := tp + "Dear " + hidden + ", to jo@example.com</p>" + tp + hidden + "</p>"; *c.HTML != want {
		t.Errorf("html = %q, want %q", *c.HTML, want)
	}
	if want := "Dear [hidden], to jo@example.com\n\n[hidden]\n"; c.Body != want {
		t.Errorf("body = %q, want %q", c.Body, want)
	}
	if c.FragmentCount != nil || c.LetterAddress != nil || c.LetterDate != nil || c.LetterContactBlock != nil {
		t.Errorf("email content has SMS or letter fields: %+v", c)
	}
}

// Personalisation that is not a JSON object is an error that quotes none of it.
func TestEmailBadPersonalisation(t *testing.T) {
	_, err := renderEmail(ContentInputs{Type: "email", Personalisation: []byte(`["secret"]`)})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("renderEmail error = %v, want one without the personalisation", err)
	}
}
