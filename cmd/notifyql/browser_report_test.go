package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"notifyql"
	"notifyql/postgres"
)

// reportView is what the activity view's report section showed (readReport in
// browser/dashboard-report.mjs).
type reportView struct {
	ButtonShown bool
	Progress    string
	// Link is the download link's href, null while none is offered.
	Link *string
}

// "Request a report" in the activity view: requestReport, then the reportRequest
// subscription showing its progress live as the server's report worker builds it, then
// the download link, which opens the CSV on the page's own origin and holds no personal
// data; a user without view_activity is told why the button is not there. Over the one
// socket, axe finding nothing.
func TestDashboardPageRequestsAReport(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, activity: true})
	now := time.Now().UTC()
	for _, recipient := range []string{"first@example.org", "second@example.org"} {
		api.exec(insertEmailToSQL, serviceA, now.Add(-time.Minute), recipient)
	}
	token := tokenFor(t, userViewer)
	browser := startBrowser(t, "dashboard-report.mjs", api.httpURL, token, serviceA, tokenFor(t, userSender))

	var asked struct{ Offered, Requested reportView }
	decodeText(t, browser.expect("requested", 60*time.Second), &asked)
	if !asked.Offered.ButtonShown || asked.Offered.Progress != "" || asked.Offered.Link != nil {
		t.Errorf("the Emails view offers %+v, want the button alone", asked.Offered)
	}
	var id string
	if err := api.pool.QueryRow(context.Background(), `SELECT id FROM report_requests
		WHERE user_id = $1 AND service_id = $2 AND parameter->>'notification_type' = 'email' AND status = 'pending'`,
		userViewer, serviceA).Scan(&id); err != nil {
		t.Fatalf("the page's request is not queued: %v", err)
	}
	if asked.Requested.Progress != "Report requested: waiting to be written." || asked.Requested.Link != nil {
		t.Errorf("once requested the page shows %+v, want it waiting and no link yet", asked.Requested)
	}

	// The server's report worker builds the queue (the fixture's request, then the page's).
	london, err := notifyql.LoadLondon()
	if err != nil {
		t.Fatal(err)
	}
	worker := postgres.NewReportWorker(api.pool, postgres.NewExportStore(api.pool), london, nil, postgres.ReportWorkerOptions{})
	for {
		built, err := worker.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !built {
			break
		}
	}
	browser.reply()

	var shown struct {
		Ready, Restricted       reportView
		RequestsInView, Sockets []string
	}
	decodeText(t, browser.expect("report", 60*time.Second), &shown)
	var stored struct {
		ReportRequest struct {
			Status      string
			DownloadURL *string `json:"downloadUrl"`
		}
	}
	askOrigin(t, api.httpURL, token, map[string]any{"query": `query($id: ID!) { reportRequest(id: $id) { status downloadUrl } }`,
		"variables": map[string]any{"id": id}}, &stored)
	if stored.ReportRequest.Status != "STORED" || stored.ReportRequest.DownloadURL == nil {
		t.Fatalf("the API says the report is %+v", stored.ReportRequest)
	}
	if shown.Ready.Progress != "Your report is ready." || shown.Ready.Link == nil {
		t.Fatalf("once built the page shows %+v, want it ready with its link", shown.Ready)
	}
	link, err := url.Parse(*shown.Ready.Link)
	apiLink, _ := url.Parse(*stored.ReportRequest.DownloadURL)
	if err != nil || link.Host != "" || link.Path != "/report-requests/"+id+".csv" || link.Path != apiLink.Path ||
		link.Query().Get("user") != userViewer || link.Query().Get("signature") == "" {
		t.Fatalf("the page links the report as %q, the API as %q", *shown.Ready.Link, *stored.ReportRequest.DownloadURL)
	}
	// A link of ids and a signature: nothing personal, and it opens without a header.
	if strings.Contains(*shown.Ready.Link, "@") {
		t.Errorf("the report link %q holds personal data", *shown.Ready.Link)
	}
	resp, err := http.Get(api.httpURL + *shown.Ready.Link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the report link answers %d: %s", resp.StatusCode, body)
	}
	var recipients []string
	for _, row := range parseCSV(t, string(body)) {
		recipients = append(recipients, row[0])
	}
	slices.Sort(recipients)
	if !slices.Equal(recipients, []string{"first@example.org", "second@example.org"}) {
		t.Errorf("the report lists %q, want the two emails sent", recipients)
	}

	// userSender is a member of Service A without view_activity.
	if shown.Restricted.ButtonShown || shown.Restricted.Link != nil ||
		shown.Restricted.Progress != "Reports not available: requesting a report needs the view activity permission." {
		t.Errorf("without view_activity the report section shows %+v, want why it is not offered", shown.Restricted)
	}
	if len(shown.RequestsInView) != 0 || len(shown.Sockets) != 2 || slices.ContainsFunc(shown.Sockets, func(s string) bool { return s != "/graphql" }) {
		t.Errorf("the view made the requests %q and opened the sockets %q, want none and one for each page load",
			shown.RequestsInView, shown.Sockets)
	}
	browser.finish(20 * time.Second)
}
