package notifyql

import (
	"testing"
	"time"
)

// The content a notification detail query adds is computed on request (RENDERING.md §1.1);
// these measure that rendering alone, for templates that use every element the demo's do.
// Issue 16's target is that content adds at most 1 ms p50 to a detail query.

const benchEmailTemplate = "# Your application ((reference))\n\nDear ((first name)),\n\n" +
	"We have received your application on ((date)). Here is what happens next:\n\n" +
	"1. We check your documents\n2. We contact your referees\n   - ((referee one))\n   - ((referee two))\n3. We decide\n\n" +
	"^ You must reply within 28 days.\n\n((urgent??Call us today on 0300 123 4567.))\n\n---\n\n" +
	"Read more at https://www.gov.uk/apply-for-something or [sign in](https://example.service.gov.uk/sign-in \"Sign in\").\n\n" +
	"Your documents:((documents))\n\nThanks,\nThe Team at GOV.UK"

var benchPersonalisation = []byte(`{"reference": "ABC-123-456", "first_name": "Alex", "date": "4 December 2026",
	"referee_one": "Sam Jones", "referee_two": "Kim O'Neil", "urgent": "yes",
	"documents": ["passport", "utility bill", "letter from your employer"],
	"address_line_1": "Alex Smith", "address_line_2": "10 Downing Street", "address_line_3": "London", "postcode": "sw1a2aa"}`)

func benchmarkRenderContent(b *testing.B, in ContentInputs) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderContent(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderContentEmail(b *testing.B) {
	benchmarkRenderContent(b, ContentInputs{Type: TypeEmail, TemplateSubject: "Your application ((reference))",
		TemplateContent: benchEmailTemplate, Personalisation: benchPersonalisation, To: "alex@example.org"})
}

func BenchmarkRenderContentSMS(b *testing.B) {
	benchmarkRenderContent(b, ContentInputs{Type: TypeSMS, ServiceName: "Apply Service", PrefixSMS: true,
		TemplateContent: "Hi ((first name)), your reference is ((reference)). ((urgent??Call us today.)) See gov.uk/apply",
		Personalisation: benchPersonalisation, To: "07700 900123"})
}

func BenchmarkRenderContentLetter(b *testing.B) {
	benchmarkRenderContent(b, ContentInputs{Type: TypeLetter, TemplateSubject: "Your application ((reference))",
		TemplateContent: benchEmailTemplate + "\n\nQR: https://www.gov.uk/apply", Personalisation: benchPersonalisation,
		ReplyToText: "Apply Service\nPO Box 123\nLondon", CreatedAt: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)})
}

func BenchmarkComposeLetter(b *testing.B) {
	in := ContentInputs{Type: TypeLetter, TemplateSubject: "Your application ((reference))",
		TemplateContent: benchEmailTemplate, Personalisation: benchPersonalisation, CreatedAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ComposeLetter(in); err != nil {
			b.Fatal(err)
		}
	}
}
