package main

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"notifyql"
)

// The dashboard page's notification view: the status and its timeline live, a letter's
// pages and validation errors, and "Cancel letter" for a letter the API says can be
// cancelled.

// Ids of what TestDashboardPageShowsANotification adds to the fixture (its templates are
// TestDashboardPageOpensAMessage's).
const (
	viewEmail       = "a0000000-0000-0000-0000-0000000000f1"
	viewCancellable = "a0000000-0000-0000-0000-0000000000f2"
	viewInvalid     = "a0000000-0000-0000-0000-0000000000f3"
	viewPast        = "a0000000-0000-0000-0000-0000000000f4"
	viewOvertaken   = "a0000000-0000-0000-0000-0000000000f5"
	viewRefused     = "a0000000-0000-0000-0000-0000000000f6"
)

// viewNotificationsSQL sends an email and five letters: three just sent (they can be
// cancelled), one that failed validation on page 1, and one sent three days ago, past
// its print run.
const viewNotificationsSQL = `
INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, postage, personalisation, letter_validation, created_at) VALUES
  ($1, $5, $6, 1, 'email', 'ann@example.org', 'ann@example.org', 'normal', 'created', NULL, '{"name": "Ann", "ref": "AB-1"}', NULL, $8::timestamp - interval '3 minutes'),
  ($2, $5, $7, 1, 'letter', E'Ann Example\n1 Test Street\nLondon\nSW1A 1AA', 'annexample1teststreetlondonsw1a1aa', 'normal', 'created', 'second',
   '{"address_line_1": "Ann Example", "address_line_2": "1 Test Street", "address_line_3": "London", "postcode": "SW1A 1AA", "name": "Ann", "day": "Monday"}', NULL, $8::timestamp - interval '2 minutes'),
  ($3, $5, $7, 1, 'letter', E'Bob Example\n2 Test Street\nLondon\nSW1A 1AA', 'bobexample2teststreetlondonsw1a1aa', 'normal', 'validation-failed', 'second',
   '{"address_line_1": "Bob Example", "address_line_2": "2 Test Street", "address_line_3": "London", "postcode": "SW1A 1AA", "name": "Bob", "day": "Monday"}',
   '{"message": "content-outside-printable-area", "invalid_pages": [1], "page_count": 1}', $8::timestamp - interval '1 minute'),
  ($4, $5, $7, 1, 'letter', E'Cat Example\n3 Test Street\nLondon\nSW1A 1AA', 'catexample3teststreetlondonsw1a1aa', 'normal', 'sending', 'second',
   '{"address_line_1": "Cat Example", "address_line_2": "3 Test Street", "address_line_3": "London", "postcode": "SW1A 1AA", "name": "Cat", "day": "Monday"}', NULL, $8::timestamp - interval '3 days'),
  ($9, $5, $7, 1, 'letter', E'Dan Example\n4 Test Street\nLondon\nSW1A 1AA', 'danexample4teststreetlondonsw1a1aa', 'normal', 'created', 'second',
   '{"address_line_1": "Dan Example", "address_line_2": "4 Test Street", "address_line_3": "London", "postcode": "SW1A 1AA", "name": "Dan", "day": "Monday"}', NULL, $8::timestamp - interval '90 seconds'),
  ($10, $5, $7, 1, 'letter', E'Eve Example\n5 Test Street\nLondon\nSW1A 1AA', 'eveexample5teststreetlondonsw1a1aa', 'normal', 'created', 'second',
   '{"address_line_1": "Eve Example", "address_line_2": "5 Test Street", "address_line_3": "London", "postcode": "SW1A 1AA", "name": "Eve", "day": "Monday"}', NULL, $8::timestamp - interval '80 seconds')`

// notificationView is what the view showed (readView in browser/dashboard-notification.mjs).
type notificationView struct {
	Path, ID, Heading, Status, Message string
	Timeline                           []struct{ Status, Words, At, Shown string }
	// Print is the letter's print statement or note; nil when no letter facts are shown.
	Print                     *string
	CancelShown, ConfirmShown bool
	CancelMessage             string
	Errors                    []string
	Pages                     []struct {
		Number     int
		Alt        string
		SameOrigin bool
		Loaded     bool
	}
	Focused string
}

// apiNotification is what the test asks the API, to hold the view to.
type apiNotification struct {
	Status, StatusLabel string
	StatusHistory       []struct {
		Status string
		At     time.Time
	}
	Letter *struct {
		CanBeCancelled             bool
		PrintStatement, StatusNote *string
		ValidationErrors           []struct {
			Code, Title string
			Summary     *string
			Pages       []int
		}
	}
}

const notificationViewQuery = `query($id: ID!) { notification(id: $id) { status statusLabel statusHistory { status at }
	letter { canBeCancelled printStatement statusNote validationErrors { code title summary pages } } } }`

func askNotification(t *testing.T, origin, token, id string) apiNotification {
	t.Helper()
	var data struct{ Notification apiNotification }
	askOrigin(t, origin, token, map[string]any{"query": notificationViewQuery, "variables": map[string]any{"id": id}}, &data)
	return data.Notification
}

// checkNotificationView fails unless the view shows the API's status, its timeline row for
// row (each time in London, to the second), and a letter's print statement.
func checkNotificationView(t *testing.T, where string, shown notificationView, api apiNotification, london *time.Location) {
	t.Helper()
	// A letter's label is blank in some statuses: the page shows a dash.
	if label := cmp.Or(api.StatusLabel, "–"); shown.Status != label {
		t.Errorf("%s: the status shows %q, the API's label is %q", where, shown.Status, api.StatusLabel)
	}
	if len(shown.Timeline) != len(api.StatusHistory) {
		t.Fatalf("%s: the timeline shows %d rows, the API's history has %d: %+v", where, len(shown.Timeline), len(api.StatusHistory), shown.Timeline)
	}
	for i, change := range api.StatusHistory {
		row := shown.Timeline[i]
		at, err := time.Parse(time.RFC3339Nano, row.At)
		// Chromium's en-GB calls September "Sept".
		londonText := strings.Replace(row.Shown, "Sept ", "Sep ", 1)
		if row.Status != change.Status || err != nil || !at.Equal(change.At) || row.Words == "" ||
			londonText != change.At.In(london).Format("2 Jan 2006, 15:04:05") {
			t.Errorf("%s: timeline row %d shows %+v, the API says %s at %s", where, i, row, change.Status, change.At)
		}
	}
	if api.Letter != nil {
		want := api.Letter.StatusNote
		if want == nil || *want == "" {
			want = api.Letter.PrintStatement
		}
		// A failed letter's note repeats its validation error's summary, shown once.
		for _, e := range api.Letter.ValidationErrors {
			if e.Summary != nil && want != nil && *e.Summary == *want {
				want = new("")
			}
		}
		if shown.Print == nil || want == nil || *shown.Print != *want {
			t.Errorf("%s: the letter's print statement shows %s, the API's is %s", where, shownText(shown.Print), shownText(want))
		}
		if shown.CancelShown != api.Letter.CanBeCancelled {
			t.Errorf("%s: the cancel button is shown %v, the API says canBeCancelled %v", where, shown.CancelShown, api.Letter.CanBeCancelled)
		}
	}
}

// The view shows the API's status and timeline and follows a plain SQL write; a letter shows
// its pages from the page's own origin, its print statement and, when it failed
// validation, why; "Cancel letter" asks to confirm, cancels through the API, and the view
// follows; a letter that goes to print while the page asks says it can no longer be
// cancelled, and a refusal shows the API's reason; a letter past its print run, and a
// member without the detail permissions, have no button. The first view opens from its
// URL, as a reload does; nothing but the socket is asked; axe finds nothing.
func TestDashboardPageShowsANotification(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, letters: true})
	api.exec(messageTemplatesSQL, messageEmailTemplate, messageLetterTemplate, serviceA)
	api.exec(messageTemplateVersionsSQL, messageEmailTemplate, messageLetterTemplate)
	api.exec(viewNotificationsSQL, viewEmail, viewCancellable, viewInvalid, viewPast, serviceA, messageEmailTemplate, messageLetterTemplate, time.Now().UTC(), viewOvertaken, viewRefused)
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	token := tokenFor(t, userViewer)
	// userMember is a member of Service A with no permissions: the detail is not theirs.
	browser := startBrowser(t, "dashboard-notification.mjs", api.httpURL, token, serviceA, viewEmail, viewCancellable, viewOvertaken, viewRefused, viewInvalid, viewPast, tokenFor(t, userMember))

	var opened notificationView
	decodeText(t, browser.expect("opened", 60*time.Second), &opened)
	if opened.Path != "/dashboard/services/"+serviceA+"/notifications/"+viewEmail || opened.ID != viewEmail || opened.Heading != "Email to ann@example.org" {
		t.Errorf("the email's URL opened %+v", opened)
	}
	checkNotificationView(t, "the email", opened, askNotification(t, api.httpURL, token, viewEmail), london)

	api.exec(`UPDATE notifications SET notification_status = 'sending', updated_at = $2 WHERE id = $1`, viewEmail, time.Now().UTC())
	browser.reply()
	var updated notificationView
	decodeText(t, browser.expect("updated", 30*time.Second), &updated)
	email := askNotification(t, api.httpURL, token, viewEmail)
	checkNotificationView(t, "the email after the write", updated, email, london)
	if len(updated.Timeline) != 2 || updated.Timeline[1].Status != "SENDING" {
		t.Errorf("after the write the timeline shows %+v, want created then sending", updated.Timeline)
	}

	var letter struct {
		notificationView
		Widths map[string]int
	}
	decodeText(t, browser.expect("letter", 90*time.Second), &letter)
	cancellable := askNotification(t, api.httpURL, token, viewCancellable)
	if cancellable.Letter == nil || !cancellable.Letter.CanBeCancelled {
		t.Fatalf("the API says the letter just sent cannot be cancelled: %+v", cancellable.Letter)
	}
	checkNotificationView(t, "the letter that can be cancelled", letter.notificationView, cancellable, london)
	if len(letter.Pages) != 1 || letter.Pages[0].Alt != "Page 1 of 1" || !letter.Pages[0].SameOrigin || !letter.Pages[0].Loaded {
		t.Errorf("the letter's pages show as %+v, want page 1 of 1 loaded from the page's origin", letter.Pages)
	}
	checkNoSidewaysScrolling(t, letter.Widths)
	browser.reply()

	var cancel struct{ Confirming, Cancelled notificationView }
	decodeText(t, browser.expect("cancelled", 30*time.Second), &cancel)
	if !cancel.Confirming.ConfirmShown || cancel.Confirming.CancelShown || cancel.Confirming.Focused != "cancel-question" {
		t.Errorf("pressing Cancel letter showed %+v, want the confirmation asked, with the focus on it", cancel.Confirming)
	}
	cancelled := askNotification(t, api.httpURL, token, viewCancellable)
	if cancelled.Status != "CANCELLED" {
		t.Fatalf("after the page's cancel the API says %s", cancelled.Status)
	}
	checkNotificationView(t, "the cancelled letter", cancel.Cancelled, cancelled, london)
	if cancel.Cancelled.CancelShown || cancel.Cancelled.ConfirmShown || cancel.Cancelled.CancelMessage != "The letter has been cancelled." ||
		cancel.Cancelled.Focused != "letter-cancel-message" {
		t.Errorf("after cancelling the view shows %+v, want no buttons and the outcome said, with the focus on it", cancel.Cancelled)
	}

	// While the page asks to confirm, the letter goes to print.
	browser.expect("confirming", 30*time.Second)
	api.exec(`UPDATE notifications SET notification_status = 'sending', updated_at = $2 WHERE id = $1`, viewOvertaken, time.Now().UTC())
	browser.reply()
	// While the page asks to confirm, the letter goes to print with the triggers off: no
	// snapshot tells the page, and the API refuses the cancellation.
	browser.expect("asking", 30*time.Second)
	sendUnseen(t, api, viewRefused)
	browser.reply()
	var letters struct {
		Overtaken, Refused, Invalid, Past notificationView
		Requests                          []string
	}
	decodeText(t, browser.expect("letters", 60*time.Second), &letters)
	checkNotificationView(t, "the letter sent to print while the page asked", letters.Overtaken, askNotification(t, api.httpURL, token, viewOvertaken), london)
	if o := letters.Overtaken; o.CancelShown || o.ConfirmShown || o.CancelMessage != "This letter can no longer be cancelled." || o.Focused != "letter-cancel-message" {
		t.Errorf("the letter sent to print while the page asked to confirm shows %+v, want the question gone and why said", o)
	}
	if r := letters.Refused; !strings.HasPrefix(r.CancelMessage, "The letter was not cancelled: We could not cancel this letter. Letter status: sending") ||
		r.Focused != "letter-cancel-message" || r.ConfirmShown {
		t.Errorf("a refused cancellation shows %+v, want the API's reason, with the focus on it", r)
	}
	invalid := askNotification(t, api.httpURL, token, viewInvalid)
	checkNotificationView(t, "the letter that failed validation", letters.Invalid, invalid, london)
	if invalid.Letter == nil || len(invalid.Letter.ValidationErrors) != 1 || len(letters.Invalid.Errors) != 1 {
		t.Fatalf("the letter that failed validation: the API gives %+v, the page lists %q", invalid.Letter, letters.Invalid.Errors)
	}
	verdict := invalid.Letter.ValidationErrors[0]
	// The summary names the page.
	if shown := letters.Invalid.Errors[0]; verdict.Summary == nil || shown != verdict.Title+*verdict.Summary ||
		!strings.Contains(shown, "page 1") || !slices.Equal(verdict.Pages, []int{1}) {
		t.Errorf("the validation error shows %q, the API says %+v", shown, verdict)
	}
	if len(letters.Invalid.Pages) != 1 || !letters.Invalid.Pages[0].Loaded {
		t.Errorf("the letter that failed validation shows the pages %+v, want its one page", letters.Invalid.Pages)
	}
	past := askNotification(t, api.httpURL, token, viewPast)
	if past.Letter == nil || past.Letter.CanBeCancelled {
		t.Fatalf("the API says the letter sent three days ago can be cancelled: %+v", past.Letter)
	}
	checkNotificationView(t, "the letter past its print run", letters.Past, past, london)
	if len(letters.Requests) != 0 {
		t.Errorf("the view made the requests %q, want none: everything goes over the socket", letters.Requests)
	}

	var member struct {
		notificationView
		Sockets []string
	}
	decodeText(t, browser.expect("member", 60*time.Second), &member)
	if member.ID != viewCancellable || member.CancelShown || member.Print != nil || len(member.Timeline) != 0 ||
		!strings.Contains(member.Message, "not available") {
		t.Errorf("a member without the detail permissions sees %+v, want the view saying it is not available and no button", member.notificationView)
	}
	if len(member.Sockets) != 2 || slices.ContainsFunc(member.Sockets, func(s string) bool { return s != "/graphql" }) {
		t.Errorf("the page opened the sockets %q, want one for each page load", member.Sockets)
	}
	browser.finish(20 * time.Second)
}

// sendUnseen marks a letter as sending with the database's triggers off for the write: a
// writer the live path cannot see, so the page still holds its last snapshot.
func sendUnseen(t *testing.T, api *liveAPI, id string) {
	t.Helper()
	err := pgx.BeginFunc(t.Context(), api.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(t.Context(), `UPDATE notifications SET notification_status = 'sending' WHERE id = $1`, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
