package notifyql

import (
	"errors"
	"fmt"
	"strconv"
)

// RenderContent rebuilds a notification's message as the recipient received it
// (RENDERING.md §3, §4, §5.1) from inputs that hold personal data; its errors never quote
// them. An uploaded (precompiled) letter has no content to render: its content is the PDF.
func RenderContent(in ContentInputs) (MessageContent, error) {
	switch in.Type {
	case TypeSMS:
		return renderSMS(in)
	case TypeEmail:
		return renderEmail(in)
	case TypeLetter:
		return renderLetter(in)
	}
	return MessageContent{}, errors.New("content: unknown notification type")
}

// renderLetter is a templated letter's content: its English part, which is the only part
// or the second one (§5.1), with the page furniture as printed.
func renderLetter(in ContentInputs) (MessageContent, error) {
	letter, err := newLetterInputs(in)
	if err != nil {
		return MessageContent{}, err
	}
	title, _, markup, body, _ := renderLetterText(letter.values, in.TemplateSubject, in.TemplateContent)
	date, err := letterDate(in.CreatedAt, false)
	if err != nil {
		return MessageContent{}, err
	}
	return MessageContent{
		Subject:            &title,
		Body:               body,
		HTML:               &markup,
		LetterAddress:      letter.addressPrinted,
		LetterDate:         &date,
		LetterContactBlock: letter.contactPrinted,
	}, nil
}

// ComposeLetter builds the document a Typesetter draws for a templated letter (§5.5,
// §5.6): the Welsh part first when the letter is bilingual, with the address and contact
// blocks on the first part's first page.
func ComposeLetter(in ContentInputs) (LetterDocument, error) {
	if in.Type != TypeLetter {
		return LetterDocument{}, errors.New("compose: not a letter")
	}
	letter, err := newLetterInputs(in)
	if err != nil {
		return LetterDocument{}, err
	}
	london, err := LoadLondon()
	if err != nil {
		return LetterDocument{}, err
	}
	part := func(subject, content string, welsh bool) LetterPart {
		_, title, _, _, blocks := renderLetterText(letter.values, subject, content)
		return LetterPart{Date: letterDateIn(in.CreatedAt, london, welsh), Title: title, Blocks: blocks, Welsh: welsh}
	}
	english := part(in.TemplateSubject, in.TemplateContent, false)
	if in.LetterLanguages != "welsh_then_english" {
		english.Address, english.Contact = letter.addressDrawn, letter.contactDrawn
		return LetterDocument{Parts: []LetterPart{english}}, nil
	}
	welsh := part(in.LetterWelshSubject, in.LetterWelshContent, true)
	welsh.Address, welsh.Contact = letter.addressDrawn, letter.contactDrawn
	return LetterDocument{Parts: []LetterPart{welsh, english}}, nil
}

// letterInputs are what both parts of a letter share: its values (no recipient entry;
// letters are never redacted, §1.3) and its address and contact blocks.
type letterInputs struct {
	values                         Values
	addressPrinted, contactPrinted []string
	addressDrawn, contactDrawn     []LetterLine
}

func newLetterInputs(in ContentInputs) (letterInputs, error) {
	v, err := NewValues(in.Personalisation, "", "", false)
	if err != nil {
		return letterInputs{}, fmt.Errorf("letter values: %w", err)
	}
	l := letterInputs{values: v}
	l.addressPrinted, l.addressDrawn = LetterAddressBlock(addressSlots(v))
	l.contactPrinted, l.contactDrawn = letterContactBlock(v, in.ReplyToText)
	return l, nil
}

// addressSlots are the seven address slots of §5.2: address lines 1–6, then address line 7
// when that key exists (even when null), else postcode. A slot is nil when its value is
// absent or null.
func addressSlots(v Values) [7]*string {
	var slots [7]*string
	for i := range 6 {
		slots[i] = slotText(v, "address line "+strconv.Itoa(i+1))
	}
	if v.Has("address line 7") {
		slots[6] = slotText(v, "address line 7")
	} else {
		slots[6] = slotText(v, "postcode")
	}
	return slots
}

func slotText(v Values, name string) *string {
	if text, ok := v.Text(name, false); ok {
		return &text
	}
	return nil
}
