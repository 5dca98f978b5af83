package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"notifyql/server"
)

// insertLetterFile stores an uploaded letter's PDF as the sending pipeline does.
func insertLetterFile(t *testing.T, api *testAPI, notificationID string, pdf []byte) {
	t.Helper()
	if _, err := api.pool.Exec(context.Background(), `INSERT INTO letter_files (notification_id, pdf) VALUES ($1, $2)`, notificationID, pdf); err != nil {
		t.Fatal(err)
	}
}

// insertEmail adds an email of service A created at createdAt (UTC).
func insertEmail(t *testing.T, api *testAPI, id string, createdAt time.Time) {
	t.Helper()
	if _, err := api.pool.Exec(context.Background(), `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, key_type, notification_status, billable_units, created_at, personalisation)
		VALUES ($1, $2, '7e000000-0000-0000-0000-000000000001', 1, 'email', 'ann@example.org', 'ann@example.org',
		    'normal', 'delivered', 0, $3, '{"name": "Ann"}')`, id, serviceA, createdAt); err != nil {
		t.Fatal(err)
	}
}

const reasonQuery = `query($id: ID!) { notification(id: $id) { contentUnavailableReason } }`

// Content is served inside the retention bound of DOMAIN §14, which ends at London
// midnight, not at the 03:00 move: a row still in notifications but created before that
// midnight has no content, and says why; so has an uploaded PDF (RENDERING.md §1.1).
func TestContentUnavailableReasons(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	// The clock is 15 July 13:00 BST; the email retention of 7 days starts at London
	// midnight on 8 July, 7 July 23:00 UTC.
	inside, outside := "e1000000-0000-0000-0000-000000000001", "e1000000-0000-0000-0000-000000000002"
	insertEmail(t, api, inside, time.Date(2026, 7, 7, 23, 0, 0, 0, time.UTC))
	insertEmail(t, api, outside, time.Date(2026, 7, 7, 22, 59, 59, 0, time.UTC))
	viewer := tokenFor(t, userViewer)

	resp := api.post(t, viewer, reasonQuery, map[string]any{"id": inside})
	resp.requireNoErrors(t)
	if got := resp.at("notification", "contentUnavailableReason"); got != nil {
		t.Errorf("inside retention: reason %v, want null", got)
	}
	resp = api.post(t, viewer, `query($id: ID!) { notification(id: $id) { content { body } contentUnavailableReason } }`, map[string]any{"id": outside})
	resp.requireNoErrors(t)
	if got := resp.at("notification", "contentUnavailableReason"); got != "RETENTION_EXPIRED" {
		t.Errorf("a second before London midnight: reason %v, want RETENTION_EXPIRED", got)
	}
	if got := resp.at("notification", "content"); got != nil {
		t.Errorf("past retention: content %v, want null", got)
	}

	resp = api.post(t, viewer, `query($id: ID!) { notification(id: $id) { content { body } contentUnavailableReason } }`, map[string]any{"id": notificationA5})
	resp.requireNoErrors(t)
	if got := resp.at("notification", "contentUnavailableReason"); got != "UPLOADED_PDF" {
		t.Errorf("uploaded letter: reason %v, want UPLOADED_PDF", got)
	}
	if got := resp.at("notification", "content"); got != nil {
		t.Errorf("uploaded letter: content %v, want null", got)
	}
}

// Content needs the notification-detail permission, whichever way the notification is
// reached (RENDERING.md §1.1, DOMAIN §16).
func TestContentPermissions(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.Limits{})
	query := `query($s: ID!) { service(id: $s) { notifications(first: 5, type: LETTER) { edges { node { id contentUnavailableReason } } } } }`
	for _, tt := range []struct {
		name, user, wantCode string
	}{
		{"viewer", userViewer, ""},
		{"sender", userSender, ""},
		{"platform admin", userAdmin, ""},
		{"member without view_activity or send_messages", userMember, "FORBIDDEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := api.post(t, tokenFor(t, tt.user), query, map[string]any{"s": serviceA})
			path := []any{"service", "notifications", "edges", 0, "node", "contentUnavailableReason"}
			if got := resp.codeAt(path...); got != tt.wantCode {
				t.Fatalf("code %q, want %q: %s", got, tt.wantCode, resp.body)
			}
			if tt.wantCode == "" && resp.at(path...) != "UPLOADED_PDF" {
				t.Errorf("reason %v, want UPLOADED_PDF", resp.at(path...))
			}
		})
	}
	// On an inactive service only platform admins pass; the notification query of another
	// service's member finds nothing.
	resp := api.post(t, tokenFor(t, userOther), reasonQuery, map[string]any{"id": notificationA5})
	if resp.codeAt("notification") != "NOT_FOUND" {
		t.Errorf("another service's user: %s", resp.body)
	}
}

// The rendered fields weigh enough that a page of 50 notifications cannot select them,
// while one notification's detail can (RENDERING.md §7.1).
func TestContentComplexity(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, server.DefaultLimits())
	viewer := tokenFor(t, userViewer)
	for _, field := range []string{"content { body }", "contentUnavailableReason", "letter { preview { pageCount } }", "letter { validationErrors { code } }"} {
		resp := api.post(t, viewer, `query($s: ID!) { service(id: $s) { notifications(first: 50) { edges { node { id `+field+` } } } } }`, map[string]any{"s": serviceA})
		if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Errorf("a page of 50 selecting %s: %s", field, resp.body)
		}
	}
	resp := api.post(t, viewer, `query($id: ID!) { notification(id: $id) { content { body html subject fragmentCount letterAddress letterDate letterContactBlock }
		contentUnavailableReason letter { preview { pageCount pdfUrl expiresAt pages { number pngUrl widthPx heightPx } }
		validationErrors { code title summary pages } } } }`, map[string]any{"id": notificationA5})
	resp.requireNoErrors(t)
}

// previewQuery asks for a letter's preview and validation errors.
const previewQuery = `query($id: ID!) { notification(id: $id) { letter { preview { pageCount pdfUrl expiresAt
	pages { number pngUrl widthPx heightPx } } validationErrors { code title summary pages } } } }`

// An uploaded letter's preview lists pages 1 to 10 with links signed for the caller,
// valid for 15 minutes; its stored verdict is its validation errors (RENDERING.md §6.1,
// §7.2); it has no preview while its virus scan is pending or failed, nor without a file.
func TestUploadedLetterPreview(t *testing.T) {
	t.Parallel()
	api := newTestAPIWith(t, testAPIOptions{letters: fakeLetterEngines()})
	insertLetterFile(t, api, notificationA5, fakeLetterPDF(12))
	viewer := tokenFor(t, userViewer)
	before := time.Now()
	resp := api.post(t, viewer, previewQuery, map[string]any{"id": notificationA5})
	resp.requireNoErrors(t)
	preview := []any{"notification", "letter", "preview"}
	if got := resp.at(append(preview, "pageCount")...); got != float64(12) {
		t.Fatalf("pageCount %v, want 12: %s", got, resp.body)
	}
	pages, _ := resp.at(append(preview, "pages")...).([]any)
	if len(pages) != 10 {
		t.Fatalf("%d pages listed, want 10", len(pages))
	}
	base := "/services/" + serviceA + "/notifications/" + notificationA5 + "/letter"
	for i := range pages {
		page := append(preview, "pages", i)
		if resp.at(append(page, "number")...) != float64(i+1) || resp.at(append(page, "widthPx")...) != float64(1240) || resp.at(append(page, "heightPx")...) != float64(1754) {
			t.Errorf("page %d: %v", i+1, pages[i])
		}
		link, _ := resp.at(append(page, "pngUrl")...).(string)
		checkSignedLink(t, link, fmt.Sprintf("%s/%d.png", base, i+1), userViewer)
	}
	pdfURL, _ := resp.at(append(preview, "pdfUrl")...).(string)
	checkSignedLink(t, pdfURL, base+".pdf", userViewer)
	expires, err := time.Parse(time.RFC3339, fmt.Sprint(resp.at(append(preview, "expiresAt")...)))
	if err != nil || expires.Before(before.Add(15*time.Minute-time.Second)) || expires.After(time.Now().Add(15*time.Minute+time.Second)) {
		t.Errorf("expiresAt %v, want 15 minutes from now", resp.at(append(preview, "expiresAt")...))
	}
	if errs, _ := resp.at("notification", "letter", "validationErrors").([]any); len(errs) != 0 {
		t.Errorf("validationErrors %v, want none", errs)
	}

	// A stored verdict: its errors, with pages ascending and without duplicates.
	if _, err := api.pool.Exec(context.Background(), `UPDATE notifications SET notification_status = 'validation-failed',
		letter_validation = '{"message": "content-outside-printable-area", "invalid_pages": [3, 1, 3], "page_count": 12}' WHERE id = $1`, notificationA5); err != nil {
		t.Fatal(err)
	}
	resp = api.post(t, viewer, previewQuery, map[string]any{"id": notificationA5})
	resp.requireNoErrors(t)
	errs := []any{"notification", "letter", "validationErrors", 0}
	if resp.at(append(errs, "code")...) != "content-outside-printable-area" || fmt.Sprint(resp.at(append(errs, "pages")...)) != "[1 3]" ||
		resp.at(append(errs, "title")...) == "" {
		t.Errorf("validationErrors: %s", resp.body)
	}

	for _, status := range []string{"pending-virus-check", "virus-scan-failed"} {
		if _, err := api.pool.Exec(context.Background(), `UPDATE notifications SET notification_status = $2 WHERE id = $1`, notificationA5, status); err != nil {
			t.Fatal(err)
		}
		resp = api.post(t, viewer, previewQuery, map[string]any{"id": notificationA5})
		resp.requireNoErrors(t)
		if got := resp.at(preview...); got != nil {
			t.Errorf("%s: preview %v, want null", status, got)
		}
	}
	// Without a stored file: no preview.
	insertLetter(t, api, letterID(1), "created", fixtureNow.Add(-time.Hour))
	resp = api.post(t, viewer, previewQuery, map[string]any{"id": letterID(1)})
	resp.requireNoErrors(t)
	if got := resp.at(preview...); got != nil {
		t.Errorf("no file: preview %v, want null", got)
	}
	// Past retention: no preview, no errors.
	insertLetter(t, api, letterID(2), "validation-failed", time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC))
	insertLetterFile(t, api, letterID(2), fakeLetterPDF(1))
	resp = api.post(t, viewer, previewQuery, map[string]any{"id": letterID(2)})
	resp.requireNoErrors(t)
	if resp.at(preview...) != nil || fmt.Sprint(resp.at("notification", "letter", "validationErrors")) != "[]" {
		t.Errorf("past retention: %s", resp.body)
	}
	// The member without the detail permission is refused the notification's detail.
	resp = api.post(t, tokenFor(t, userMember), previewQuery, map[string]any{"id": notificationA5})
	if resp.codeAt("notification") != "FORBIDDEN" || resp.at("notification") != nil {
		t.Errorf("member: %s", resp.body)
	}
}

// checkSignedLink checks that link is path signed for userID, carrying ids only.
func checkSignedLink(t *testing.T, link, path, userID string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Path != path {
		t.Errorf("link %q, want path %s", link, path)
		return
	}
	q := u.Query()
	if q.Get("user") != userID || q.Get("signature") == "" || q.Get("expires") == "" || len(q) != 3 {
		t.Errorf("link %q is not signed for %s alone", link, userID)
	}
	if strings.Contains(link, "@") {
		t.Errorf("link %q carries more than ids", link)
	}
}
