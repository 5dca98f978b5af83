package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The dashboard's views have URLs: clients/node/browser/dashboard-routes.mjs drives the page
// through them and reports what each showed; axe checks each state on the way.

// routedEmail is the message TestDashboardPageOpensTheViewItsURLNames opens by its URL.
const routedEmail = "a0000000-0000-0000-0000-0000000000f1"

// insertRoutedEmailSQL sends routedEmail now, so it heads service A's recent messages.
const insertRoutedEmailSQL = `INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
	VALUES ($1, $2, '7e000000-0000-0000-0000-000000000001', 2, 'email', 'x@example.org', 'x@example.org', 'normal', 'sending', $3)`

// routedView is which view the page showed (readView in browser/dashboard-routes.mjs).
type routedView struct {
	Path, Title, Service, Notification, RouteMessage, TokenInForm string
	SignedOut                                                     bool
}

// Choosing a service and a message puts each view's URL in the address bar; a reload of
// the message's URL asks for the token again (it was in the page's memory only) and then
// opens that message with nothing else chosen, on one new socket and with no request but
// the services list; before it, Back returns to the overview and Forward to the message on
// the same socket; a service the user may not see and an
// address that is no view say so and leave the page usable. At 320, 768 and 1280 px the
// page does not scroll sideways, and axe finds nothing in any of these states.
func TestDashboardPageOpensTheViewItsURLNames(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, trusted: enforcedDashboardDocuments(t)})
	api.exec(insertRoutedEmailSQL, routedEmail, serviceA, time.Now().UTC())
	browser := startBrowser(t, "dashboard-routes.mjs", api.httpURL, tokenFor(t, userViewer), serviceA, routedEmail, serviceB)

	var shown struct {
		Overview, Opened, Back, Forward, Reloaded, Reopened, Forbidden, Nowhere routedView
		Widths                                                                  map[string]int
		Requests                                                                []string
		SocketsBeforeReload, SocketsAfterReload                                 int
	}
	decodeText(t, browser.expect("routes", 90*time.Second), &shown)

	overviewPath := "/dashboard/services/" + serviceA
	messagePath := overviewPath + "/notifications/" + routedEmail
	if shown.Overview.Path != overviewPath || shown.Overview.Service != "Service A" || !strings.HasPrefix(shown.Overview.Title, "Service A") {
		t.Errorf("after choosing the service: %+v, want its overview at %s", shown.Overview, overviewPath)
	}
	if shown.Opened.Path != messagePath || shown.Opened.Notification != routedEmail || !strings.HasPrefix(shown.Opened.Title, "Message") {
		t.Errorf("after opening the message: %+v, want it at %s", shown.Opened, messagePath)
	}
	if shown.Back.Path != overviewPath || shown.Back.Notification != "" || shown.Back.Service != "Service A" {
		t.Errorf("after Back: %+v, want the overview", shown.Back)
	}
	if shown.Forward.Path != messagePath || shown.Forward.Notification != routedEmail {
		t.Errorf("after Forward: %+v, want the message again", shown.Forward)
	}
	if shown.SocketsBeforeReload != 1 {
		t.Errorf("choosing a service, opening a message, Back and Forward opened %d sockets, want one", shown.SocketsBeforeReload)
	}
	if shown.Reloaded.Path != messagePath || !shown.Reloaded.SignedOut || shown.Reloaded.Service != "" || shown.Reloaded.TokenInForm != "" {
		t.Errorf("after the reload: %+v, want the same URL, signed out (the token was in memory only)", shown.Reloaded)
	}
	if shown.Reopened.Path != messagePath || shown.Reopened.Service != "Service A" || shown.Reopened.Notification != routedEmail {
		t.Errorf("signed in again at the message's URL: %+v, want the message open", shown.Reopened)
	}
	if !slices.Equal(shown.Requests, []string{"POST /graphql"}) || shown.SocketsAfterReload != 1 {
		t.Errorf("reopening the view made the requests %q and %d sockets, want the services list and one socket",
			shown.Requests, shown.SocketsAfterReload)
	}
	if shown.Forbidden.Service != "" || !strings.Contains(shown.Forbidden.RouteMessage, "not available to you") || shown.Forbidden.SignedOut {
		t.Errorf("another's service's URL: %+v, want it said not available, signed in", shown.Forbidden)
	}
	if shown.Nowhere.Service != "" || !strings.Contains(shown.Nowhere.RouteMessage, "not a view") {
		t.Errorf("an address that is no view: %+v, want it said", shown.Nowhere)
	}
	checkNoSidewaysScrolling(t, shown.Widths)
	browser.finish(30 * time.Second)
}
