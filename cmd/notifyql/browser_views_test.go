package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pageView is what one of the dashboard's views showed (readView in
// browser/dashboard-views.mjs): each of its tables as rows, each row the month or text it
// names and its cells.
type pageView struct {
	Path, Title, Heading, Message, Current, Focused string
	OverviewShown                                   bool
	Tables                                          [][]struct {
		Key   string
		Cells []string
	}
	Bars       []string
	ChartLabel string
	Years      []struct {
		Value, Label string
		Selected     bool
	}
	Messages []struct{ ID, Direction, Text string }
}

// rows are the view's nth table's rows, each its cells, for comparing.
func (v pageView) rows(n int) [][]string {
	if n >= len(v.Tables) {
		return nil
	}
	var rows [][]string
	for _, r := range v.Tables[n] {
		rows = append(rows, r.Cells)
	}
	return rows
}

const viewsQuery = `query($id: ID!, $year: Int, $sms: ID!) { service(id: $id) {
	financialYears { year label current }
	templateUsage(financialYear: $year) { month { key name year } templates { name type count } }
	usage(financialYear: $year) {
		annual { smsFreeAllowance smsSent smsAllowanceRemaining smsCost { display } emailsSent lettersSent letterCost { display } }
		months { month { key name year } smsFreeAllowanceUsedLabel smsCost { display } letterCost { display } total { display } isEmpty } }
	inbox(first: 50) { edges { node { id phoneNumber content } } }
	usageThisYear { emailsSent emailAllowance smsAllowanceRemaining smsCost { amount display } letterCost { display } }
	conversation(inboundSmsId: $sms) { phoneNumber messages { id direction content } } } }`

type apiMonth struct {
	Key, Name string
	Year      int
}

func (m apiMonth) words() string { return fmt.Sprintf("%s %d", m.Name, m.Year) }

type apiMoney struct{ Display string }

type apiTemplateMonth struct {
	Month     apiMonth
	Templates []struct {
		Name, Type string
		Count      int
	}
}

type apiViews struct {
	FinancialYears []struct {
		Year    int
		Label   string
		Current bool
	}
	TemplateUsage []apiTemplateMonth
	Usage         struct {
		Annual struct {
			SMSFreeAllowance      int      `json:"smsFreeAllowance"`
			SMSSent               int      `json:"smsSent"`
			SMSAllowanceRemaining *int     `json:"smsAllowanceRemaining"`
			SMSCost               apiMoney `json:"smsCost"`
			EmailsSent            int
			LettersSent           int
			LetterCost            apiMoney
		}
		Months []struct {
			Month                     apiMonth
			SMSFreeAllowanceUsedLabel string   `json:"smsFreeAllowanceUsedLabel"`
			SMSCost                   apiMoney `json:"smsCost"`
			LetterCost                apiMoney
			Total                     apiMoney
			IsEmpty                   bool
		}
	}
	UsageThisYear struct {
		EmailsSent            int
		EmailAllowance        string
		SMSAllowanceRemaining *int                             `json:"smsAllowanceRemaining"`
		SMSCost               struct{ Amount, Display string } `json:"smsCost"`
		LetterCost            apiMoney
	}
	Inbox struct {
		Edges []struct {
			Node struct{ ID, PhoneNumber, Content string }
		}
	}
	Conversation struct {
		PhoneNumber string
		Messages    []struct {
			ID, Direction string
			Content       *string
		}
	}
}

// askViews asks the API at origin, as token's user, for what the views show of service's
// year, and the conversation that the received text sms opens.
func askViews(t *testing.T, origin, token, service string, year int, sms string) apiViews {
	t.Helper()
	var data struct{ Service apiViews }
	askOrigin(t, origin, token, map[string]any{"query": viewsQuery, "variables": map[string]any{"id": service, "year": year, "sms": sms}}, &data)
	return data.Service
}

var typeWordsByEnum = map[string]string{"EMAIL": "Email", "SMS": "Text message", "LETTER": "Letter"}

// templateUsageRows are the template usage table's rows the API's answer makes.
func (a apiViews) templateUsageRows() [][]string {
	var rows [][]string
	for _, m := range a.TemplateUsage {
		if len(m.Templates) == 0 {
			rows = append(rows, []string{m.Month.words(), "No messages sent", "", "–"})
		}
		for _, u := range m.Templates {
			rows = append(rows, []string{m.Month.words(), u.Name, typeWordsByEnum[u.Type], formatCount(u.Count)})
		}
	}
	return rows
}

// usageRows are the usage view's two tables, the year's and each month's, as the API's
// answer makes them, and the chart's bars' titles.
func (a apiViews) usageRows() (annual, months [][]string, bars []string) {
	y := a.Usage.Annual
	left := 0
	if y.SMSAllowanceRemaining != nil {
		left = *y.SMSAllowanceRemaining
	}
	used := y.SMSFreeAllowance - left
	annual = [][]string{
		{"Free text message allowance", formatCount(y.SMSFreeAllowance)},
		{"Free text messages used", formatCount(used)},
		{"Free text messages left", formatCount(left)},
		{"Text messages sent", formatCount(y.SMSSent)},
		{"Text message charges", y.SMSCost.Display},
		{"Emails sent", formatCount(y.EmailsSent)},
		{"Letters sent", formatCount(y.LettersSent)},
		{"Letter charges", y.LetterCost.Display},
	}
	for _, m := range a.Usage.Months {
		row := []string{m.Month.words(), m.SMSFreeAllowanceUsedLabel, m.SMSCost.Display, m.LetterCost.Display, m.Total.Display}
		if m.IsEmpty {
			row = []string{m.Month.words(), "–", "–", "–", "–"}
		}
		months = append(months, row)
	}
	if y.SMSFreeAllowance > 0 {
		bars = []string{
			fmt.Sprintf("Used: %s of %s free text messages", formatCount(used), formatCount(y.SMSFreeAllowance)),
			fmt.Sprintf("Left: %s of %s free text messages", formatCount(left), formatCount(y.SMSFreeAllowance)),
		}
	}
	return annual, months, bars
}

func (a apiViews) inboxRows() [][]string {
	var rows [][]string
	for _, e := range a.Inbox.Edges {
		rows = append(rows, []string{e.Node.PhoneNumber, e.Node.Content})
	}
	return rows
}

// firstCells are each row's first n cells (the inbox's third, the time received, is
// written in the page's own words).
func firstCells(rows [][]string, n int) [][]string {
	var out [][]string
	for _, r := range rows {
		out = append(out, r[:min(n, len(r))])
	}
	return out
}

func equalRows(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

const (
	insertReceivedTextSQL = `INSERT INTO inbound_sms (service_id, notify_number, user_number, content, provider, created_at)
	VALUES ($1, '07700900500', $2, $3, 'mmg', $4) RETURNING id`
	insertSentTextSQL = `INSERT INTO notifications (service_id, template_id, template_version, notification_type, "to", normalised_to, key_type, notification_status, created_at)
	VALUES ($1, '7e000000-0000-0000-0000-000000000002', 1, 'sms', '07700 900222', '447700900222', 'normal', 'delivered', $2)`
)

// The template usage, usage and inbox views show the API's figures for the current
// financial year: template usage and each month's charges as tables, the free text-message
// allowance used and left as a chart whose bars carry the table's figures; the inbox lists
// the latest text from each number and follows a plain SQL write, its CSV downloads from
// the page's origin with the service's id alone in the URL, and a text opens the
// conversation with its number. Each view's URL opens it again after a reload; the views
// ask over the page's one socket, the CSV aside; axe finds nothing, and the page does not
// scroll sideways at 320 px.
func TestDashboardPageShowsTemplateUsageUsageAndInbox(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, activity: true})
	now := time.Now().UTC()
	api.exec(insertSentTextSQL, serviceA, now.Add(-2*time.Hour))
	var received string
	if err := api.pool.QueryRow(t.Context(), insertReceivedTextSQL, serviceA, "447700900222", "Can I change my appointment?", now.Add(-time.Hour)).Scan(&received); err != nil {
		t.Fatal(err)
	}
	token := tokenFor(t, userManager)
	var years struct {
		Service struct {
			FinancialYears []struct {
				Year    int
				Current bool
			}
		}
	}
	askOrigin(t, api.httpURL, token, map[string]any{"query": `query($id: ID!) { service(id: $id) { financialYears { year current } } }`,
		"variables": map[string]any{"id": serviceA}}, &years)
	year := 0
	for _, y := range years.Service.FinancialYears {
		if y.Current {
			year = y.Year
		}
	}
	browser := startBrowser(t, "dashboard-views.mjs", api.httpURL, token, serviceA, strconv.Itoa(year), received)

	var inbox pageView
	decodeText(t, browser.expect("inbox", 90*time.Second), &inbox)
	before := askViews(t, api.httpURL, token, serviceA, year, received)
	if got, want := firstCells(inbox.rows(0), 2), before.inboxRows(); !equalRows(got, want) {
		t.Errorf("the inbox lists %q, the API %q", got, want)
	}
	api.exec(insertReceivedTextSQL, serviceA, "447700900333", "A text that arrived while the inbox was open", time.Now().UTC())
	browser.reply()

	var shown struct {
		Summary                  []string
		Shown                    map[string]pageView
		InboxAfter               pageView
		CSV                      struct{ Name, Text string }
		Conversation             pageView
		Reloaded                 map[string]pageView
		Widths                   map[string]int
		RequestsInViews, Sockets []string
	}
	decodeText(t, browser.expect("views", 90*time.Second), &shown)
	after := askViews(t, api.httpURL, token, serviceA, year, received)

	// The overview's usage panel: this year's emails, the free texts left (nothing is
	// charged yet) and the letters' cost.
	y := after.UsageThisYear
	if y.SMSCost.Amount != "0" && y.SMSCost.Amount != "0.00" || y.SMSAllowanceRemaining == nil {
		t.Fatalf("the fixture's texts cost %s this year, with %v free left: the test expects them all free", y.SMSCost.Amount, y.SMSAllowanceRemaining)
	}
	wantSummary := []string{
		fmt.Sprintf("%s sent (%s allowance)", formatCount(y.EmailsSent), strings.ToLower(y.EmailAllowance)),
		formatCount(*y.SMSAllowanceRemaining) + " free text messages left",
		y.LetterCost.Display + " spent",
	}
	if !slices.Equal(shown.Summary, wantSummary) {
		t.Errorf("the overview's usage says %q, the API %q", shown.Summary, wantSummary)
	}

	base := "/dashboard/services/" + serviceA
	for section, want := range map[string]struct{ path, heading string }{
		"template-usage": {base + "/templates", "Template usage"},
		"usage":          {base + "/usage", "Usage"},
		"inbox-view":     {base + "/inbox", "Received text messages"},
	} {
		v := shown.Shown[section]
		if v.Path != want.path || v.Heading != want.heading || v.Current != want.heading || !strings.HasPrefix(v.Title, want.heading) ||
			v.OverviewShown || v.Focused != section+"-heading" {
			t.Errorf("the %s link opened %s %q (title %q, current link %q, overview shown %v, focus on %q)",
				want.heading, v.Path, v.Heading, v.Title, v.Current, v.OverviewShown, v.Focused)
		}
	}
	templates := shown.Shown["template-usage"]
	if got, want := templates.rows(0), after.templateUsageRows(); !equalRows(got, want) {
		t.Errorf("the template usage table has %q, the API %q", got, want)
	}
	if !slices.ContainsFunc(after.TemplateUsage, func(m apiTemplateMonth) bool { return len(m.Templates) > 0 }) {
		t.Errorf("the API counts no template used this year: the test's write did not land")
	}
	for i, y := range after.FinancialYears {
		if i >= len(templates.Years) || templates.Years[i].Value != strconv.Itoa(y.Year) || templates.Years[i].Label != y.Label || templates.Years[i].Selected != y.Current {
			t.Errorf("the year selector offers %+v, the API %+v", templates.Years, after.FinancialYears)
			break
		}
	}
	oldestYear := after.FinancialYears[len(after.FinancialYears)-1].Year
	oldest := askViews(t, api.httpURL, token, serviceA, oldestYear, received)
	if got := shown.Shown["template-usage-oldest"]; got.Path != fmt.Sprintf("%s/templates/%d", base, oldestYear) || !equalRows(got.rows(0), oldest.templateUsageRows()) {
		t.Errorf("choosing %d opened %s with %q, the API has %q", oldestYear, got.Path, got.rows(0), oldest.templateUsageRows())
	}

	usage := shown.Shown["usage"]
	annual, months, bars := after.usageRows()
	if !equalRows(usage.rows(0), annual) || !equalRows(usage.rows(1), months) {
		t.Errorf("the usage tables have %q and %q, the API %q and %q", usage.rows(0), usage.rows(1), annual, months)
	}
	if after.Usage.Annual.SMSFreeAllowance == 0 || after.Usage.Annual.SMSSent == 0 {
		t.Errorf("the API's usage has no allowance or no texts sent: %+v", after.Usage.Annual)
	}
	// The chart's two parts are the table's used and left.
	if !slices.Equal(usage.Bars, bars) || usage.ChartLabel == "" {
		t.Errorf("the allowance chart's bars are %q (label %q), the API's figures %q", usage.Bars, usage.ChartLabel, bars)
	}

	// The inbox followed the write: the new text heads it, as it heads the API's.
	if got, want := firstCells(shown.InboxAfter.rows(0), 2), after.inboxRows(); !equalRows(got, want) || len(want) != len(inbox.rows(0))+1 ||
		want[0][1] != "A text that arrived while the inbox was open" {
		t.Errorf("after the write the inbox lists %q, the API %q", got, want)
	}
	if !strings.HasPrefix(shown.CSV.Name, "Received text messages ") || !strings.HasPrefix(shown.CSV.Text, "Phone number,Message,Received\r\n") {
		t.Errorf("the inbox CSV downloaded as %q starting %.40q", shown.CSV.Name, shown.CSV.Text)
	}
	for _, row := range after.inboxRows() {
		if !strings.Contains(shown.CSV.Text, row[0]+","+row[1]) {
			t.Errorf("the inbox CSV has no row for the listed text %q", row)
		}
	}

	// The number the service texted and that wrote back: both texts, in the API's order.
	conversation := shown.Conversation
	if conversation.Path != base+"/inbox/"+received || !strings.HasPrefix(conversation.Title, "Conversation") {
		t.Errorf("the text's row opened %s (%q)", conversation.Path, conversation.Title)
	}
	checkConversation(t, "the conversation", conversation, after)
	if len(after.Conversation.Messages) != 2 {
		t.Errorf("the conversation with the number the service texted has %d texts, want the sent and the received", len(after.Conversation.Messages))
	}
	checkConversation(t, "the conversation reloaded", shown.Reloaded["conversation"], after)

	for section, v := range shown.Reloaded {
		first := shown.Shown[section]
		if section == "conversation" {
			first = conversation
		}
		if section == "inbox-view" {
			first = shown.InboxAfter
		}
		wantPath := first.Path
		if section == "template-usage" || section == "usage" {
			wantPath = fmt.Sprintf("%s/%d", first.Path, year)
		}
		if v.Path != wantPath || v.Heading != first.Heading || fmt.Sprint(firstCellsOfTables(v)) != fmt.Sprint(firstCellsOfTables(first)) {
			t.Errorf("reloading %s opened %s %q %q, want what the link opened: %q", wantPath, v.Path, v.Heading, v.Tables, first.Tables)
		}
	}
	if len(shown.Reloaded) != 4 {
		t.Errorf("%d views reloaded, want 4", len(shown.Reloaded))
	}
	if !slices.Equal(shown.RequestsInViews, []string{"GET /services/" + serviceA + "/inbox.csv"}) {
		t.Errorf("the views made the requests %q, want the inbox CSV alone", shown.RequestsInViews)
	}
	if !slices.Equal(shown.Sockets, slices.Repeat([]string{"/graphql"}, 6)) {
		t.Errorf("the page opened the sockets %q, want one for each of its 6 loads", shown.Sockets)
	}
	checkNoSidewaysScrolling(t, shown.Widths)
	browser.finish(30 * time.Second)
}

// firstCellsOfTables are a view's tables' rows, without the inbox's time received (which
// the page words relative to nothing, but a reload may cross a minute).
func firstCellsOfTables(v pageView) [][][]string {
	var tables [][][]string
	for i := range v.Tables {
		tables = append(tables, firstCells(v.rows(i), 2))
	}
	return tables
}

// checkConversation fails unless the page's conversation is the API's: its number in the
// heading, the same texts in the same order and directions, a received one's words shown.
func checkConversation(t *testing.T, where string, shown pageView, api apiViews) {
	t.Helper()
	if shown.Heading != "Conversation with "+api.Conversation.PhoneNumber {
		t.Errorf("%s is headed %q, the API's number is %q", where, shown.Heading, api.Conversation.PhoneNumber)
	}
	if len(shown.Messages) != len(api.Conversation.Messages) {
		t.Errorf("%s shows %d texts, the API %d", where, len(shown.Messages), len(api.Conversation.Messages))
		return
	}
	for i, m := range api.Conversation.Messages {
		got := shown.Messages[i]
		if got.ID != m.ID || got.Direction != strings.ToLower(m.Direction) || (m.Content != nil && got.Text != *m.Content) {
			t.Errorf("%s: text %d is %+v, the API's %+v", where, i, got, m)
		}
	}
}

// unavailableView is what one view said (read in browser/dashboard-unavailable-views.mjs):
// its element that says whether it is available, and how many rows it shows.
type unavailableView struct {
	Path, Says, Templates, Inbox, UpcomingJobs, UsageSummary string
	Rows                                                     int
}

// Each view a user may not see says it is not available, and the others keep working: a
// member without view_activity but with manage_service opens every view in turn on the
// one page, and sees the overview's totals, templates, inbox and upcoming jobs, the activity's CSV, a
// message's content, the statistics, template usage, the inbox and a conversation not
// available, while the recent messages, the overview's usage, the activity list and usage
// show; a user with view_activity but not manage_service sees usage (the view and the
// overview's panel) not available and template usage shown.
// axe finds nothing in any of them.
func TestDashboardPageSaysWhichViewsAreNotAvailable(t *testing.T) {
	t.Parallel()
	api := startLiveAPIWith(t, liveAPIOptions{pages: true, activity: true})
	api.exec(`INSERT INTO permissions (service_id, user_id, permission) VALUES ($1, $2, 'manage_users'), ($1, $2, 'manage_settings')`, serviceA, userMember)
	var notification, received string
	if err := api.pool.QueryRow(t.Context(), insertFailedEmailSQL+" RETURNING id", serviceA, time.Now().UTC()).Scan(&notification); err != nil {
		t.Fatal(err)
	}
	if err := api.pool.QueryRow(t.Context(), insertReceivedTextSQL, serviceA, "447700900222", "Hello", time.Now().UTC()).Scan(&received); err != nil {
		t.Fatal(err)
	}
	browser := startBrowser(t, "dashboard-unavailable-views.mjs", api.httpURL, tokenFor(t, userMember), serviceA, notification, received, tokenFor(t, userViewer))
	var shown struct {
		Shown                      map[string]unavailableView
		OtherUsage, OtherTemplates unavailableView
	}
	decodeText(t, browser.expect("views", 90*time.Second), &shown)

	base := "/dashboard/services/" + serviceA
	for name, want := range map[string]struct {
		path, says string
		rows       bool
	}{
		"overview":     {base, "Totals not available: ", true},
		"activity":     {base + "/notifications/email", "CSV download not available: ", true},
		"notification": {base + "/notifications/" + notification, "Content not available: ", false},
		"statistics":   {base + "/statistics", "Not available: ", false},
		"templates":    {base + "/templates", "Not available: ", false},
		"usage":        {base + "/usage", "", true},
		"inbox":        {base + "/inbox", "Not available: ", false},
		"conversation": {base + "/inbox/" + received, "Not available: ", false},
	} {
		v, ok := shown.Shown[name]
		says := strings.HasPrefix(v.Says, want.says) && len(v.Says) > len(want.says)
		if want.says == "" {
			says = v.Says == ""
		}
		if !ok || v.Path != want.path || !says || (v.Rows > 0) != want.rows {
			t.Errorf("the %s view at %s said %q with %d rows, want %s saying %q and rows %v", name, v.Path, v.Says, v.Rows, want.path, want.says, want.rows)
		}
	}
	if o := shown.Shown["overview"]; !strings.HasPrefix(o.Templates, "Template statistics not available: ") || !strings.HasPrefix(o.Inbox, "Not available: ") ||
		!strings.HasPrefix(o.UpcomingJobs, "Upcoming jobs not available: ") {
		t.Errorf("the overview's templates say %q, its inbox %q and its upcoming jobs %q, want all three not available", o.Templates, o.Inbox, o.UpcomingJobs)
	}
	if o := shown.Shown["overview"]; !strings.HasSuffix(o.UsageSummary, " spent") {
		t.Errorf("with manage_service the overview's usage says %q, want it shown", o.UsageSummary)
	}
	if u := shown.OtherUsage; u.Path != base+"/usage" || !strings.HasPrefix(u.Says, "Not available: ") || u.Rows != 0 ||
		!strings.HasPrefix(u.UsageSummary, "Not available: ") {
		t.Errorf("without manage_service the usage view said %q with %d rows and the overview's usage %q, want both not available",
			u.Says, u.Rows, u.UsageSummary)
	}
	if tu := shown.OtherTemplates; tu.Path != base+"/templates" || tu.Says != "" || tu.Rows == 0 {
		t.Errorf("with view_activity the template usage view said %q with %d rows, want its table", tu.Says, tu.Rows)
	}
	browser.finish(30 * time.Second)
}
