package notifyql

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// T26: a templated letter's content with its page furniture as printed.
func TestRenderContentLetterT26(t *testing.T) {
	in := ContentInputs{
		Type:            TypeLetter,
		TemplateSubject: "Subject",
		TemplateContent: "Foo",
		Personalisation: []byte(`{"addressline1": "name", "addressline2": "street", "postcode": "SW1 1AA"}`),
		CreatedAt:       time.Date(2001, 1, 1, 12, 0, 0, 0, time.UTC),
	}
	got, err := RenderContent(in)
	if err != nil {
		t.Fatal(err)
	}
	want := MessageContent{
		Subject:       ptr("Subject"),
		Body:          "Foo",
		HTML:          ptr("<p>Foo</p>"),
		LetterAddress: []string{"name", "street", "SW1 1AA"},
		LetterDate:    ptr("1 January 2001"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("content (-want +got):\n%s", diff)
	}

	doc, err := ComposeLetter(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Parts) != 1 {
		t.Fatalf("parts = %d, want 1", len(doc.Parts))
	}
	part := doc.Parts[0]
	wantAddress := []LetterLine{{{Text: "NAME"}}, {{Text: "STREET"}}, {{Text: "SW1 1AA"}}}
	if diff := cmp.Diff(wantAddress, part.Address); diff != "" {
		t.Errorf("address drawn (-want +got):\n%s", diff)
	}
	if part.Contact != nil || part.Date != "1 January 2001" || part.Welsh {
		t.Errorf("part = contact %v, date %q, welsh %v", part.Contact, part.Date, part.Welsh)
	}
	if diff := cmp.Diff(LetterLine{{Text: "Subject"}}, part.Title); diff != "" {
		t.Errorf("title (-want +got):\n%s", diff)
	}
}

// T27: a bilingual letter is its Welsh part, then its English part; only the first part
// carries the address and contact blocks, and each has the date in its own language.
func TestComposeLetterBilingualT27(t *testing.T) {
	in := ContentInputs{
		Type:               TypeLetter,
		LetterLanguages:    "welsh_then_english",
		TemplateSubject:    "Your licence",
		TemplateContent:    "Hello ((name))",
		LetterWelshSubject: "Eich trwydded",
		LetterWelshContent: "Helo ((name))",
		Personalisation:    []byte(`{"name": "Ana", "address_line_1": "A", "address_line_2": "B", "postcode": "CF99 1SN"}`),
		ReplyToText:        "Office\nCardiff",
		CreatedAt:          time.Date(2023, 10, 31, 12, 0, 0, 0, time.UTC),
	}
	doc, err := ComposeLetter(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Parts) != 2 {
		t.Fatalf("parts = %d, want 2", len(doc.Parts))
	}
	welsh, english := doc.Parts[0], doc.Parts[1]
	if !welsh.Welsh || welsh.Date != "31 Hydref 2023" || len(welsh.Address) != 3 || len(welsh.Contact) != 2 {
		t.Errorf("Welsh part: welsh %v, date %q, %d address lines, %d contact lines", welsh.Welsh, welsh.Date, len(welsh.Address), len(welsh.Contact))
	}
	if english.Welsh || english.Date != "31 October 2023" || english.Address != nil || english.Contact != nil {
		t.Errorf("English part: welsh %v, date %q, address %v, contact %v", english.Welsh, english.Date, english.Address, english.Contact)
	}
	if diff := cmp.Diff(LetterLine{{Text: "Eich trwydded"}}, welsh.Title); diff != "" {
		t.Errorf("Welsh title (-want +got):\n%s", diff)
	}

	// The content fields describe the English part.
	got, err := RenderContent(in)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Subject != "Your licence" || got.Body != "Hello Ana" || *got.LetterDate != "31 October 2023" {
		t.Errorf("content = subject %q, body %q, date %q", *got.Subject, got.Body, *got.LetterDate)
	}
	if diff := cmp.Diff([]string{"Office", "Cardiff"}, got.LetterContactBlock); diff != "" {
		t.Errorf("contact block (-want +got):\n%s", diff)
	}
}

// A letter whose address keys are absent shows the seven slots with markers, as printed.
func TestRenderContentLetterMissingAddress(t *testing.T) {
	got, err := RenderContent(ContentInputs{Type: TypeLetter, TemplateContent: "x", Personalisation: []byte(`{"address line 7": null}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"address line 1", "address line 2", "address line 3", "address line 4", "address line 5", "address line 6", "address line 7"}
	if diff := cmp.Diff(want, got.LetterAddress); diff != "" {
		t.Errorf("address (-want +got):\n%s", diff)
	}
}

func TestRenderContentRefusesBadInputs(t *testing.T) {
	for name, in := range map[string]ContentInputs{
		"unknown type":            {Type: "fax"},
		"personalisation array":   {Type: TypeLetter, Personalisation: []byte(`["a"]`)},
		"personalisation garbage": {Type: TypeEmail, Personalisation: []byte(`{"a":`)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := RenderContent(in); err == nil {
				t.Error("RenderContent succeeded")
			}
		})
	}
	if _, err := ComposeLetter(ContentInputs{Type: TypeSMS}); err == nil {
		t.Error("ComposeLetter of a text message succeeded")
	}
}
