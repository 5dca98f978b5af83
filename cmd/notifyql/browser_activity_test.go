package main

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// activityView is what the activity view showed (readActivity in
// browser/dashboard-activity.mjs).
type activityView struct {
	Path, Query, Title, Heading, Message, Current string
	// Pills are the status pills' counts: total, sending, delivered, failed.
	Pills map[string]int
	Rows  []struct {
		ID    string
		Cells []string
	}
	PageLinks       []string
	Searching       bool
	CSV, CSVMessage string
}

func (v activityView) ids() []string {
	ids := make([]string, len(v.Rows))
	for i, row := range v.Rows {
		ids[i] = row.ID
	}
	return ids
}

// activityQuery is what the test asks the API for, to hold the page to.
const activityQuery = `query($id: ID!, $after: String, $search: NotificationSearch) { service(id: $id) {
	notifications(type: EMAIL, first: 20, after: $after, search: $search) {
		edges { node { id recipient statusLabel } } pageInfo { hasNextPage endCursor }
		statusCounts { total sending delivered failed } }
	downloads(type: EMAIL) { canDownload csvUrl } } }`

type apiActivity struct {
	Notifications struct {
		Edges []struct {
			Node struct{ ID, Recipient, StatusLabel string }
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
		StatusCounts struct{ Total, Sending, Delivered, Failed int }
	}
	Downloads struct {
		CanDownload bool
		CSVURL      *string `json:"csvUrl"`
	}
}

func (a apiActivity) ids() []string {
	var ids []string
	for _, e := range a.Notifications.Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids
}

// askActivity asks the API at origin, as token's user, for service's emails.
func askActivity(t *testing.T, origin, token, service string, after *string, search map[string]string) apiActivity {
	t.Helper()
	var data struct{ Service apiActivity }
	askOrigin(t, origin, token, map[string]any{"query": activityQuery, "variables": map[string]any{"id": service, "after": after, "search": search}}, &data)
	return data.Service
}

// checkActivity fails unless the page showed the API's page: the same notifications in the
// same order with their recipients and status labels, and the API's status counts.
func checkActivity(t *testing.T, where string, shown activityView, api apiActivity) {
	t.Helper()
	if !slices.Equal(shown.ids(), api.ids()) {
		t.Errorf("%s: the page lists %q, the API %q", where, shown.ids(), api.ids())
	}
	for i, e := range api.Notifications.Edges {
		if i < len(shown.Rows) && (len(shown.Rows[i].Cells) != 4 || shown.Rows[i].Cells[0] != e.Node.Recipient || shown.Rows[i].Cells[2] != e.Node.StatusLabel) {
			t.Errorf("%s: row %d shows %q, the API says %+v", where, i, shown.Rows[i].Cells, e.Node)
		}
	}
	c := api.Notifications.StatusCounts
	want := map[string]int{"total": c.Total, "sending": c.Sending, "delivered": c.Delivered, "failed": c.Failed}
	if fmt.Sprint(shown.Pills) != fmt.Sprint(want) {
		t.Errorf("%s: the pills count %v, the API %v", where, shown.Pills, want)
	}
}

// insertEmailToSQL is one more failed email from Service A's first template, to recipient.
const insertEmailToSQL = `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
	VALUES ($1, '7e000000-0000-0000-0000-000000000001', 2, 'email', $3, $3, 'normal', 'permanent-failure', $2)`

var searchHash = regexp.MustCompile(`^[0-9a-f]{128}$`)

// The activity view lists a type's notifications as the API pages them, with the status
// pills' counts, and follows a plain SQL write; pages forward and back by the connection's
// cursors; searches through rememberSearch with only the hash in the URL; opens again on a
// reload of its URL; offers the CSV link to a user with view_activity and says "not
// available" to one without, whose list still shows. Over the one socket, axe finding
// nothing, with no sideways scrolling at 320 px.
func TestDashboardPageShowsActivity(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, activity: true})
	const term = "searched.person@example.org"
	start := time.Now().UTC().Add(-time.Hour)
	// More than a page of emails, two of them to the recipient the page searches for.
	for i := range 24 {
		recipient := fmt.Sprintf("page%d@example.org", i)
		if i%12 == 5 {
			recipient = term
		}
		api.exec(insertEmailToSQL, serviceA, start.Add(time.Duration(i)*time.Second), recipient)
	}
	token := tokenFor(t, userViewer)
	browser := startBrowser(t, "dashboard-activity.mjs", api.httpURL, token, serviceA, term, tokenFor(t, userSender))

	var first activityView
	decodeText(t, browser.expect("listed", 60*time.Second), &first)
	if first.Path != "/dashboard/services/"+serviceA+"/notifications/email" || first.Query != "" ||
		first.Heading != "Emails" || first.Current != "Emails" || !strings.HasPrefix(first.Title, "Emails") {
		t.Errorf("the Emails link opened %+v", first)
	}
	api.exec(insertFailedEmailSQL, serviceA, time.Now().UTC())
	browser.reply()

	var shown struct {
		Updated, Next, Previous, Searched, Reloaded, Restricted activityView
		Widths                                                  map[string]int
		RequestsInView, Sockets                                 []string
	}
	decodeText(t, browser.expect("activity", 90*time.Second), &shown)

	now := askActivity(t, api.httpURL, token, serviceA, nil, nil)
	checkActivity(t, "after the write", shown.Updated, now)
	if shown.Updated.Pills["total"] != first.Pills["total"]+1 || shown.Updated.Pills["failed"] != first.Pills["failed"]+1 {
		t.Errorf("after one more failed email the pills went from %v to %v", first.Pills, shown.Updated.Pills)
	}
	if len(shown.Updated.Rows) == 0 || shown.Updated.Rows[0].Cells[0] != "x@example.org" {
		t.Errorf("the written email does not head the list: %+v", shown.Updated.Rows)
	}
	if !now.Downloads.CanDownload || now.Downloads.CSVURL == nil {
		t.Fatalf("the API offers the viewer no CSV: %+v", now.Downloads)
	}
	wantCSV, _, _ := strings.Cut(*now.Downloads.CSVURL, "?")
	if csv, _, _ := strings.Cut(shown.Updated.CSV, "?"); csv != wantCSV {
		t.Errorf("the CSV link is %q, the API's is %q", shown.Updated.CSV, *now.Downloads.CSVURL)
	}
	if !now.Notifications.PageInfo.HasNextPage || !slices.Contains(shown.Updated.PageLinks, "Next page") {
		t.Fatalf("more than a page of emails: the API says hasNextPage %v, the page links %q", now.Notifications.PageInfo.HasNextPage, shown.Updated.PageLinks)
	}

	second := askActivity(t, api.httpURL, token, serviceA, now.Notifications.PageInfo.EndCursor, nil)
	checkActivity(t, "the second page", shown.Next, second)
	if query, _ := url.ParseQuery(strings.TrimPrefix(shown.Next.Query, "?")); query.Get("after") != *now.Notifications.PageInfo.EndCursor {
		t.Errorf("the second page's address %q does not carry the first page's end cursor", shown.Next.Query)
	}
	if !slices.Contains(shown.Next.PageLinks, "Previous page") {
		t.Errorf("the second page links %q, want a previous page", shown.Next.PageLinks)
	}
	checkActivity(t, "back on the first page", shown.Previous, now)

	// The term went to the API once, in rememberSearch: the address holds its hash alone.
	query, _ := url.ParseQuery(strings.TrimPrefix(shown.Searched.Query, "?"))
	if !searchHash.MatchString(query.Get("search")) || strings.Contains(shown.Searched.Path+shown.Searched.Query, "searched") ||
		strings.Contains(shown.Searched.Title, "searched") || !shown.Searched.Searching {
		t.Errorf("searching went to %s%s (title %q), want the search's hash and never the term", shown.Searched.Path, shown.Searched.Query, shown.Searched.Title)
	}
	matches := askActivity(t, api.httpURL, token, serviceA, nil, map[string]string{"hash": query.Get("search")})
	checkActivity(t, "the search", shown.Searched, matches)
	if len(shown.Searched.Rows) != 2 {
		t.Errorf("the search for the two emails to %s lists %d rows", term, len(shown.Searched.Rows))
	}
	for _, row := range shown.Searched.Rows {
		if row.Cells[0] != term {
			t.Errorf("the search lists an email to %q", row.Cells[0])
		}
	}
	if shown.Reloaded.Path != shown.Searched.Path || shown.Reloaded.Query != shown.Searched.Query {
		t.Errorf("the reload opened %s%s, want %s%s", shown.Reloaded.Path, shown.Reloaded.Query, shown.Searched.Path, shown.Searched.Query)
	}
	checkActivity(t, "the search, reloaded", shown.Reloaded, matches)

	// userSender is a member of Service A without view_activity: the list, but no CSV.
	if len(shown.Restricted.Rows) == 0 || shown.Restricted.CSV != "" || !strings.HasPrefix(shown.Restricted.CSVMessage, "CSV download not available") {
		t.Errorf("without view_activity the view showed %d rows, CSV link %q, %q; want the rows and the CSV not available",
			len(shown.Restricted.Rows), shown.Restricted.CSV, shown.Restricted.CSVMessage)
	}
	if len(shown.RequestsInView) != 0 || len(shown.Sockets) != 3 || slices.ContainsFunc(shown.Sockets, func(s string) bool { return s != "/graphql" }) {
		t.Errorf("the view made the requests %q and opened the sockets %q, want none and one for each page load",
			shown.RequestsInView, shown.Sockets)
	}
	checkNoSidewaysScrolling(t, shown.Widths)
	browser.finish(30 * time.Second)
}
