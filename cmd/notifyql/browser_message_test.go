package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The dashboard page's message view: clicking a row of the recent-messages list opens the
// message, whose status follows a write live, whose email body is shown escaped in a
// sandboxed frame, and whose letter pages are shown as images (RENDERING.md §7.1).

// Ids of what TestDashboardPageOpensAMessage adds to the fixture.
const (
	messageEmailTemplate  = "7e000000-0000-0000-0000-0000000000e1"
	messageLetterTemplate = "7e000000-0000-0000-0000-0000000000e2"
	messageEmail          = "a0000000-0000-0000-0000-0000000000e1"
	messageLetter         = "a0000000-0000-0000-0000-0000000000e2"
)

// messageTemplatesSQL adds an email and a letter template with placeholders;
// messageTemplateVersionsSQL copies them as the versions the messages were sent with.
const messageTemplatesSQL = `
INSERT INTO templates (id, service_id, name, template_type, version, content, subject, postage, created_at) VALUES
  ($1, $3, 'Reference email', 'email', 1, E'Dear ((name)),\n\nYour reference is ((ref)).', 'Your reference ((ref))', NULL, '2026-01-01 00:00'),
  ($2, $3, 'Appointment letter', 'letter', 1, E'Dear ((name)),\n\nYour appointment is on ((day)).', 'Your appointment', 'second', '2026-01-01 00:00')`

const messageTemplateVersionsSQL = `
INSERT INTO templates_history (id, service_id, name, template_type, version, content, subject, postage, created_at)
SELECT id, service_id, name, template_type, version, content, subject, postage, created_at FROM templates WHERE id IN ($1, $2)`

// messagesSQL sends one of each, now, with personalisation; the name carries markup that
// must reach the page as text.
const messagesSQL = `
INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, postage, personalisation, created_at) VALUES
  ($1, $3, $4, 1, 'email', 'ann@example.org', 'ann@example.org', 'normal', 'created', NULL,
   '{"name": "Ann <b>Example</b>", "ref": "AB-123"}', $6),
  ($2, $3, $5, 1, 'letter', E'Ann Example\n1 Test Street\nLondon\nSW1A 1AA', 'annexample1teststreetlondonsw1a1aa', 'normal', 'created', 'second',
   '{"address_line_1": "Ann Example", "address_line_2": "1 Test Street", "address_line_3": "London", "postcode": "SW1A 1AA", "name": "Ann", "day": "Monday"}', $6)`

// messageView is what the page showed of the open message (readMessage in
// browser/dashboard-message.mjs).
type messageView struct {
	ViewShown      bool
	Heading        string
	Focused        string
	Status         string
	Message        string
	ContentMessage string
	Subject        *string
	PlainText      *string
	Sandbox        *string
	Address        []string
	Pages          []struct {
		Number                      int
		Alt                         string
		SameOrigin, Complete        bool
		NaturalWidth, NaturalHeight int
	}
	FrameText *string
	FrameBold *int
	// Requests are the fetch and XHR requests the page made to open the letter: none, since
	// queries go over the socket.
	Requests []string
}

// The server enforces its trusted documents with the page's generated manifest, as in
// TestDashboardPageUpdatesAfterAWrite: the message's query and status subscription are
// sent by hash too.
func TestDashboardPageOpensAMessage(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, letters: true, trusted: enforcedDashboardDocuments(t)})
	requireEnforced(t, api.httpURL)
	api.exec(messageTemplatesSQL, messageEmailTemplate, messageLetterTemplate, serviceA)
	api.exec(messageTemplateVersionsSQL, messageEmailTemplate, messageLetterTemplate)
	api.exec(messagesSQL, messageEmail, messageLetter, serviceA, messageEmailTemplate, messageLetterTemplate, time.Now().UTC())
	browser := startBrowser(t, "dashboard-message.mjs", api.httpURL, tokenFor(t, userViewer), serviceA, messageEmail, messageLetter)

	var email messageView
	decodeText(t, browser.expect("email", 40*time.Second), &email)
	if !email.ViewShown || email.Heading != "Email to ann@example.org" || email.Focused != "notification-heading" {
		t.Errorf("the email opened as %+v, want its view shown, headed and focused", email)
	}
	if email.Status != "Delivering" {
		t.Errorf("the email's status shows %q, want Delivering", email.Status)
	}
	if email.Subject == nil || *email.Subject != "Your reference AB-123" {
		t.Errorf("the email's subject shows %s, want it with the reference", shownText(email.Subject))
	}
	// The value's markup is text in the frame, never an element, and the frame runs nothing.
	if email.FrameText == nil || !strings.Contains(*email.FrameText, "Dear Ann <b>Example</b>,") ||
		!strings.Contains(*email.FrameText, "Your reference is AB-123.") {
		t.Errorf("the email's body shows %s, want the values as text", shownText(email.FrameText))
	}
	if email.FrameBold == nil || *email.FrameBold != 0 {
		t.Errorf("the email's frame holds %v <b> elements, want the value's markup escaped", email.FrameBold)
	}
	if email.Sandbox == nil || *email.Sandbox != "" {
		t.Errorf("the email's frame has sandbox=%v, want an empty sandbox (nothing allowed)", email.Sandbox)
	}
	if email.PlainText == nil || !strings.Contains(*email.PlainText, "Your reference is AB-123.") {
		t.Errorf("the plain-text version shows %s", shownText(email.PlainText))
	}

	api.exec(`UPDATE notifications SET notification_status = 'delivered', updated_at = $2 WHERE id = $1`, messageEmail, time.Now().UTC())
	browser.reply()
	var delivered messageView
	decodeText(t, browser.expect("delivered", 20*time.Second), &delivered)
	if delivered.Status != "Delivered" || delivered.FrameText == nil || *delivered.FrameText != *email.FrameText {
		t.Errorf("after delivery the view shows %+v, want Delivered and the same content", delivered)
	}

	var letter messageView
	decodeText(t, browser.expect("letter", 60*time.Second), &letter)
	if letter.Heading != "Letter to Ann Example, 1 Test Street, London, SW1A 1AA" || letter.Subject == nil || *letter.Subject != "Your appointment" {
		t.Errorf("the letter opened as %+v", letter)
	}
	// The lines as printed, after RENDERING.md §5.2's normalisation (printing upper-cases them).
	if !strings.EqualFold(strings.Join(letter.Address, "|"), "Ann Example|1 Test Street|London|SW1A 1AA") {
		t.Errorf("the letter's address shows %q", letter.Address)
	}
	if len(letter.Pages) != 1 {
		t.Fatalf("the letter shows %d page images, want 1: %+v", len(letter.Pages), letter)
	}
	// A4 at 150 dpi (RENDERING.md §5): 1240 × 1754 pixels, from the page's own origin.
	page := letter.Pages[0]
	if page.Number != 1 || page.Alt != "Page 1 of 1" || !page.SameOrigin || !page.Complete || page.NaturalWidth != 1240 || page.NaturalHeight != 1754 {
		t.Errorf("the letter's page image: %+v, want page 1 of 1, loaded, 1240 × 1754", page)
	}
	if letter.FrameText != nil {
		t.Errorf("the letter left the email's frame shown: %q", *letter.FrameText)
	}
	if len(letter.Requests) != 0 {
		t.Errorf("opening the letter made the requests %q, want none: queries go over the socket", letter.Requests)
	}

	var closed struct{ Focused string }
	decodeText(t, browser.expect("closed", 10*time.Second), &closed)
	if closed.Focused != messageLetter {
		t.Errorf("closing the letter left the focus on %q, want its row", closed.Focused)
	}
	browser.finish(20 * time.Second)
}

// shownText quotes a text the page showed, or says it showed none: a pointer printed with
// %v is its address.
func shownText(s *string) string {
	if s == nil {
		return "nothing"
	}
	return fmt.Sprintf("%q", *s)
}
