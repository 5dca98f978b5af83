package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"notifyql/server"
	"notifyql/web"
)

// The dashboard page's browser tests: clients/node/browser/dashboard-*.mjs drive the page at
// /dashboard in Chromium, with the network closed but for the server, and report what the
// page shows; these tests write to the database in between and check the numbers.

// insertFailedEmailSQL is a sending pipeline's write that changes a service's 7-day totals:
// one more email requested, and failed.
const insertFailedEmailSQL = `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
	VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', 'permanent-failure', $2)`

// insertSendingEmailSQL is an email of Service A still sending, returning its id.
const insertSendingEmailSQL = `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
	VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'y@example.org', 'y@example.org', 'normal', 'sending', $2) RETURNING id`

// The template insertFailedEmailSQL sends from, by its current name.
const failedEmailTemplate = "Payment reminder (renamed)"

// dashboardView is what the page showed (readDashboard in browser/dashboard.mjs).
type dashboardView struct {
	Connection string             `json:"connection"`
	Service    string             `json:"service"`
	Email      dashboardTypeTotal `json:"email"`
	SMS        dashboardTypeTotal `json:"sms"`
	Letter     dashboardTypeTotal `json:"letter"`
	// Inbox is the inbox panel's text: "3 in the last 7 days", or why it is not available.
	Inbox string `json:"inbox"`
	// Templates are the template table's rows: name, type, count.
	Templates [][]string `json:"templates"`
}

type dashboardTypeTotal struct {
	Requested        int    `json:"requested"`
	Delivered        int    `json:"delivered"`
	Failed           int    `json:"failed"`
	FailedPercentage string `json:"failedPercentage"`
	// Warning is whether the failures were highlighted.
	Warning bool `json:"warning"`
}

// templateCount is the count the page showed for the template named name, 0 without a row.
func (v dashboardView) templateCount(t *testing.T, name string) int {
	t.Helper()
	for _, row := range v.Templates {
		if len(row) == 3 && row[0] == name {
			var n int
			if err := json.Unmarshal([]byte(strings.ReplaceAll(row[2], ",", "")), &n); err != nil {
				t.Fatalf("template row %q: %v", row, err)
			}
			return n
		}
	}
	return 0
}

// decodeText decodes the JSON a script put in an event's text.
func decodeText(t *testing.T, event browserEvent, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(event.Text), v); err != nil {
		t.Fatalf("%s: %q: %v", event.Event, event.Text, err)
	}
}

var inboxCount = regexp.MustCompile(`^\d+ in the last 7 days$`)

// checkOneMoreFailedEmail checks that the page went from before to after by exactly one
// more email requested and failed, highlighted as the dashboard rule says, and one more
// message from its template.
func checkOneMoreFailedEmail(t *testing.T, before, after dashboardView) {
	t.Helper()
	if after.Email.Requested != before.Email.Requested+1 || after.Email.Failed != before.Email.Failed+1 ||
		after.Email.Delivered != before.Email.Delivered {
		t.Errorf("emails went from %+v to %+v, want one more requested and failed", before.Email, after.Email)
	}
	if after.SMS != before.SMS || after.Letter != before.Letter {
		t.Errorf("texts or letters changed: %+v %+v, then %+v %+v", before.SMS, before.Letter, after.SMS, after.Letter)
	}
	// DOMAIN.md: the warning shows when the failure rate, rounded to 1 dp, is above 3%.
	rate := math.Round(float64(after.Email.Failed)*1000/float64(after.Email.Requested)) / 10
	if after.Email.Warning != (rate > 3) {
		t.Errorf("emails failing at %.1f%%: warning shown %v", rate, after.Email.Warning)
	}
	if got, want := after.templateCount(t, failedEmailTemplate), before.templateCount(t, failedEmailTemplate)+1; got != want {
		t.Errorf("%s: %d messages, want %d (rows %q)", failedEmailTemplate, got, want, after.Templates)
	}
}

// enforcedDashboardDocuments are trusted documents enforced with the manifest GraphQL Code
// Generator wrote for the page (web/dashboard/src/gql/persisted-documents.json), which
// must be the one the binary embeds.
func enforcedDashboardDocuments(t *testing.T) server.TrustedDocuments {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join("..", "..", "web", "dashboard", "src", "gql", "persisted-documents.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(manifest, web.DashboardDocuments()) {
		t.Fatal("the dashboard's generated manifest is not the one the binary embeds")
	}
	trusted := server.TrustedDocuments{Mode: server.TrustedDocumentsEnforce}
	if err := trusted.AddManifest(manifest); err != nil {
		t.Fatal(err)
	}
	return trusted
}

// requireEnforced fails unless the API at origin refuses an operation its trusted
// documents do not list, named by its hash (refused in development too).
func requireEnforced(t *testing.T, origin string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, origin+"/graphql", strings.NewReader(`{"documentId": "sha256:`+apqHash(unlistedQuery)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokenFor(t, userViewer))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"code":"OPERATION_NOT_TRUSTED"`) {
		t.Errorf("an unlisted operation: %s, want it refused: the trusted documents are not enforced", body)
	}
}

// The page shows a service's live numbers (its upcoming jobs among them) and follows plain
// SQL writes, announcing the
// figures only when their words change (a delivered email leaves it silent), over the one
// socket it opened, with no request after the services list: it never polls. The server
// enforces its trusted documents with the page's generated manifest: the page sends every
// operation by its hash.
func TestDashboardPageUpdatesAfterAWrite(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, trusted: enforcedDashboardDocuments(t)})
	requireEnforced(t, api.httpURL)
	var sending string
	if err := api.pool.QueryRow(t.Context(), insertSendingEmailSQL, serviceA, time.Now().UTC()).Scan(&sending); err != nil {
		t.Fatal(err)
	}
	browser := startBrowser(t, "dashboard-update.mjs", api.httpURL, tokenFor(t, userViewer), serviceA)

	var before dashboardView
	decodeText(t, browser.expect("live", 30*time.Second), &before)
	if before.Connection != "live" || before.Service != "Service A" || !inboxCount.MatchString(before.Inbox) {
		t.Errorf("before the write the page showed %+v, want Service A live with its inbox count", before)
	}
	// Delivering the sending email changes a figure on screen but none of the announced
	// words: the live region says nothing.
	api.exec(`UPDATE notifications SET notification_status = 'delivered' WHERE id = $1`, sending)
	browser.reply()
	var silent struct{ Delivered, Announcement string }
	decodeText(t, browser.expect("silent", 30*time.Second), &silent)
	if silent.Delivered != formatCount(before.Email.Delivered+1) || silent.Announcement != "" {
		t.Errorf("after an email was delivered the page shows %s delivered and announced %q, want %s and nothing",
			silent.Delivered, silent.Announcement, formatCount(before.Email.Delivered+1))
	}
	api.exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
	api.exec(`INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name, notification_count, job_status, scheduled_for)
		VALUES ('10b00000-0000-0000-0000-00000000b0e1', $1, '7e000000-0000-0000-0000-000000000001', 1, 'browser-upcoming.csv', 1234, 'scheduled',
		        date_trunc('minute', now() AT TIME ZONE 'utc') + interval '90 minutes')`, serviceA)
	browser.reply()

	var updated struct {
		Before, After dashboardView
		Announced     struct {
			Announcement, Politeness string
			LiveRegionsInOverview    int
			Animations               int
		}
		Daily                    map[string]dailyType
		Upcoming                 []shownJob
		SignInRequests           []string
		RequestsAfterSubscribing []string
		Sockets                  []string
	}
	decodeText(t, browser.expect("updated", 20*time.Second), &updated)
	delivered := before
	delivered.Email.Delivered++
	checkOneMoreFailedEmail(t, delivered, updated.After)
	// The changed figures are announced politely from one region, the email's among them;
	// the numbers on screen are not live regions that would speak on every push, and
	// nothing moves.
	wantEmails := fmt.Sprintf("Emails, %s requested, %s failed.", formatCount(updated.After.Email.Requested), formatCount(updated.After.Email.Failed))
	if a := updated.Announced; !strings.Contains(a.Announcement, wantEmails) || a.Politeness != "polite" || a.LiveRegionsInOverview != 0 || a.Animations != 0 {
		t.Errorf("announced %+v, want %q politely from the one region, and no animation", a, wantEmails)
	}
	today, week := askDayWindows(t, api.httpURL, tokenFor(t, userViewer), serviceA)
	checkDaily(t, updated.Daily, today, week)
	checkUpcomingJobs(t, updated.Upcoming, api.wsURL, userViewer, serviceA)
	if !slices.Equal(updated.SignInRequests, []string{"POST /graphql"}) {
		t.Errorf("signing in made the requests %q, want the one services query", updated.SignInRequests)
	}
	if len(updated.RequestsAfterSubscribing) != 0 {
		t.Errorf("the page made %d requests after subscribing, want none (it must not poll): %q",
			len(updated.RequestsAfterSubscribing), updated.RequestsAfterSubscribing)
	}
	if !slices.Equal(updated.Sockets, []string{"/graphql"}) {
		t.Errorf("the page opened the sockets %q, want one to /graphql", updated.Sockets)
	}
	browser.finish(20 * time.Second)
}

// severableListener keeps the connections it accepts so that a test can drop them all, as
// a network that fails or a load balancer that restarts would. Hijacked connections (the
// WebSockets) are among them: http.Server forgets those, this does not.
type severableListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *severableListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, conn)
		l.mu.Unlock()
	}
	return conn, err
}

// sever closes every connection accepted so far and says how many there were.
func (l *severableListener) sever() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, conn := range l.conns {
		_ = conn.Close()
	}
	n := len(l.conns)
	l.conns = nil
	return n
}

// When the server's connections drop, the page says it is reconnecting, comes back live by
// itself, and goes on following writes.
func TestDashboardPageReconnects(t *testing.T) {
	t.Parallel()
	var listener *severableListener
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, wrapListener: func(l net.Listener) net.Listener {
		listener = &severableListener{Listener: l}
		return listener
	}})
	browser := startBrowser(t, "dashboard-reconnect.mjs", api.httpURL, tokenFor(t, userViewer), serviceA)
	browser.expect("live", 30*time.Second)
	if listener.sever() == 0 {
		t.Fatal("the page held no connection to drop")
	}
	browser.reply()

	var states []string
	decodeText(t, browser.expect("reconnected", 30*time.Second), &states)
	if !slices.Contains(states, "reconnecting") || states[len(states)-1] != "live" {
		t.Errorf("after the drop the page showed %q, want reconnecting and then live", states)
	}
	api.exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
	api.exec(`INSERT INTO jobs (id, service_id, template_id, template_version, original_file_name, notification_count, job_status, scheduled_for)
		VALUES ('10b00000-0000-0000-0000-00000000b0e1', $1, '7e000000-0000-0000-0000-000000000001', 1, 'browser-upcoming.csv', 1234, 'scheduled',
		        date_trunc('minute', now() AT TIME ZONE 'utc') + interval '90 minutes')`, serviceA)
	browser.reply()

	var updated struct {
		Before, After dashboardView
		Requests      []string
		Sockets       []string
	}
	decodeText(t, browser.expect("updated", 20*time.Second), &updated)
	checkOneMoreFailedEmail(t, updated.Before, updated.After)
	if len(updated.Requests) != 0 {
		t.Errorf("reconnecting, the page made the requests %q, want none", updated.Requests)
	}
	if len(updated.Sockets) != 2 {
		t.Errorf("the page opened the sockets %q, want the first and one reconnection", updated.Sockets)
	}
	browser.finish(20 * time.Second)
}

// Wrong input in the sign-in form gets a clear message and no service picker: nothing,
// text that cannot be a token, and a token the API refuses.
func TestDashboardPageRefusesAWrongToken(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true})
	const garbage = "eyJhbGciOiJIUzI1NiJ9.bm90IGEgdG9rZW4.c2lnbmF0dXJl"
	browser := startBrowser(t, "dashboard-refused.mjs", api.httpURL, garbage)

	var shown struct {
		Blank, Spaces, Garbage string
		PickerVisible          bool
		Connection             string
		TokenLeftInForm        string
		// Answers are the statuses of the API's answers to the page.
		Answers []int
	}
	decodeText(t, browser.expect("refused", 30*time.Second), &shown)
	if shown.Blank != "Paste a token first." {
		t.Errorf("blank input: %q", shown.Blank)
	}
	if !strings.HasPrefix(shown.Spaces, "That is not a token") {
		t.Errorf("text with spaces: %q", shown.Spaces)
	}
	// The API's reason, not the token.
	if shown.Garbage != "Token refused: invalid token." {
		t.Errorf("a refused token: %q, want the API's refusal", shown.Garbage)
	}
	if shown.PickerVisible || shown.Connection != "signed out" || shown.TokenLeftInForm != "" {
		t.Errorf("after a refused token: picker shown %v, connection %q, form holds %q; want no picker, signed out, an empty form",
			shown.PickerVisible, shown.Connection, shown.TokenLeftInForm)
	}
	// The page refuses the first two itself; the API refuses the third, with 200 and the
	// UNAUTHENTICATED error on the services field.
	if !slices.Equal(shown.Answers, []int{200}) {
		t.Errorf("the API answered the page %v, want one answer", shown.Answers)
	}
	browser.finish(20 * time.Second)
}

// A view the user may not see (the inbox, on a service without the inbound_sms feature)
// says so, and the other views stay live.
func TestDashboardPageShowsAnUnavailableInbox(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true})
	browser := startBrowser(t, "dashboard-unavailable.mjs", api.httpURL, tokenFor(t, userOther), serviceB)

	var shown dashboardView
	decodeText(t, browser.expect("shown", 30*time.Second), &shown)
	if !strings.HasPrefix(shown.Inbox, "Not available") || !strings.Contains(shown.Inbox, "inbound_sms") {
		t.Errorf("the inbox panel shows %q, want it not available for want of inbound_sms", shown.Inbox)
	}
	if shown.Connection != "live" || shown.Service != "Service B" || shown.Email.FailedPercentage == "–" {
		t.Errorf("the other views: %+v, want Service B's totals live", shown)
	}
	browser.finish(20 * time.Second)
}

// A token that expires while the page is live gets the socket closed with 4403: the page
// signs out, says why, and does not try the same token again.
func TestDashboardPageSignsOutWhenItsTokenExpires(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true})
	// Long enough for the page to go live first on a busy machine: with 6 s, a slow start
	// of the browser let the token expire before the page had signed in.
	token, err := server.MintToken([]byte(testSecret), userViewer, 15*time.Second, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	browser := startBrowser(t, "dashboard-expired.mjs", api.httpURL, token, serviceA)
	browser.expect("live", 30*time.Second)

	var shown struct {
		Message                         string
		Connection                      string
		PickerVisible, DashboardVisible bool
		Sockets                         []string
	}
	decodeText(t, browser.expect("signed-out", 30*time.Second), &shown)
	if !strings.Contains(shown.Message, "refused the token") || shown.Connection != "signed out" ||
		shown.PickerVisible || shown.DashboardVisible {
		t.Errorf("after the token expired the page showed %+v, want it signed out with the reason", shown)
	}
	if len(shown.Sockets) != 1 {
		t.Errorf("the page opened the sockets %q, want one: an expired token is not retried", shown.Sockets)
	}
	browser.finish(20 * time.Second)
}

// Choosing another service moves the overview's four live panels (totals, templates, inbox,
// upcoming jobs) to it on the same socket, and completes the first service's subscriptions:
// the server holds four, not eight.
func TestDashboardPageSwitchesService(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true})
	browser := startBrowser(t, "dashboard-switch.mjs", api.httpURL, tokenFor(t, userAdmin), serviceA, serviceB)

	var first dashboardView
	decodeText(t, browser.expect("first", 30*time.Second), &first)
	if first.Service != "Service A" || first.Connection != "live" {
		t.Errorf("first the page showed %+v, want Service A live", first)
	}
	subscriptionsSettleAt(t, api, 4)
	browser.reply()

	var second struct {
		Shown   dashboardView
		Sockets []string
	}
	decodeText(t, browser.expect("second", 20*time.Second), &second)
	if second.Shown.Service != "Service B" || second.Shown.Connection != "live" || !strings.HasPrefix(second.Shown.Inbox, "Not available") {
		t.Errorf("after the switch the page showed %+v, want Service B live, without an inbox", second.Shown)
	}
	// Service B has no inbox: its inbox subscription ended with FORBIDDEN, leaving three.
	subscriptionsSettleAt(t, api, 3)
	if len(second.Sockets) != 1 {
		t.Errorf("the page opened the sockets %q, want one for both services", second.Sockets)
	}
	browser.reply()
	browser.finish(20 * time.Second)
}

// subscriptionsSettleAt waits until the server holds want live subscriptions on one socket:
// a page's completes reach the server a little after it shows the next service.
func subscriptionsSettleAt(t *testing.T, api *liveAPI, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		metrics := scrapeMetrics(t, api.metricsURL)
		got, sockets := metrics["notifyql_live_subscriptions"], metrics["notifyql_websocket_connections"]
		if got == want && sockets == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %v subscriptions on %v sockets, want %v on one", got, sockets, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shownJob is a row of the overview's upcoming jobs: the file, when it starts (the time
// element's machine-readable value, and its London text) and its messages.
type shownJob struct{ File, StartsAt, Starts, Messages string }

// checkUpcomingJobs fails unless the overview's upcoming jobs are the API's, in its order,
// asked through the page's own subscription document.
func checkUpcomingJobs(t *testing.T, shown []shownJob, wsURL, userID, service string) {
	t.Helper()
	_, text := dashboardDocument(t, "subscription UpcomingJobs(")
	stream := subscribeOverWebSocket(t, wsURL, userID, text, map[string]any{"serviceId": service})
	var answer struct {
		UpcomingJobs []struct {
			OriginalFileName  string
			NotificationCount int
			ScheduledFor      string
		}
	}
	data, err := json.Marshal(next(t, stream, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		t.Fatal(err)
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	var want []shownJob
	for _, j := range answer.UpcomingJobs {
		at, err := time.Parse(time.RFC3339, j.ScheduledFor)
		if err != nil {
			t.Fatalf("scheduledFor %q: %v", j.ScheduledFor, err)
		}
		want = append(want, shownJob{File: j.OriginalFileName, StartsAt: j.ScheduledFor,
			Starts: at.In(london).Format("Mon 2 Jan, 15:04"), Messages: formatCount(j.NotificationCount)})
	}
	if len(want) == 0 || !slices.Equal(shown, want) {
		t.Errorf("the overview's upcoming jobs are %+v, the API's %+v", shown, want)
	}
}
