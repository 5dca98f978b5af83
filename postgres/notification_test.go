package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// fxNotification is the part of a notification that lists and counts look at; the rest
// is filled in by insertNotifications.
type fxNotification struct {
	ID        string
	ServiceID string // alpha when empty
	Type      notifyql.NotificationType
	Status    notifyql.NotificationStatus
	Key       notifyql.KeyType // normal when empty
	CreatedAt string           // RFC 3339, UTC
}

func fxNotificationID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func insertNotifications(tb testing.TB, pool *pgxpool.Pool, notifications ...fxNotification) {
	tb.Helper()
	templates := map[notifyql.NotificationType]struct {
		id      string
		version int
	}{
		notifyql.TypeEmail:  {fxEmailTemplateID, 2},
		notifyql.TypeSMS:    {fxSMSTemplateID, 1},
		notifyql.TypeLetter: {fxLetterTemplateID, 1},
	}
	batch := &pgx.Batch{}
	for _, n := range notifications {
		serviceID, key := n.ServiceID, n.Key
		if serviceID == "" {
			serviceID = fxAlphaID
		}
		if key == "" {
			key = notifyql.KeyNormal
		}
		template := templates[n.Type]
		batch.Queue(`
			INSERT INTO notifications (id, service_id, template_id, template_version,
			    notification_type, "to", key_type, notification_status, created_at)
			VALUES ($1, $2, $3, $4, $5, 'someone', $6, $7, $8)`,
			n.ID, serviceID, template.id, template.version, string(n.Type), string(key),
			string(n.Status), fxTime(tb, n.CreatedAt))
	}
	if err := pool.SendBatch(context.Background(), batch).Close(); err != nil {
		tb.Fatalf("insert notifications: %v", err)
	}
}

func fxLondon(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := notifyql.LoadLondon()
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

func TestNotification(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	ctx := context.Background()
	id := fxNotificationID(1)
	fxExec(t, pool, `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type,
		    "to", normalised_to, client_reference, key_type, notification_status, billable_units,
		    rate_multiplier, international, phone_prefix, postage, created_at, updated_at,
		    sent_at, sent_by, job_id, job_row_number, api_key_id, created_by_id, page_count,
		    letter_validation)
		VALUES ($1, $2, $3, 1, 'letter', E'1 Example Street\nLondon\nSW1A 1AA', 'x', 'file.pdf',
		    'normal', 'validation-failed', 2, 1.5, false, NULL, 'second', '2025-07-20 23:30:00',
		    '2025-07-21 08:00:00', '2025-07-21 07:00:00.123456', 'dvla', $4, 4, $5, $6, 3,
		    '{"message": "letter-not-a4-portrait-oriented", "invalid_pages": [1, 3], "page_count": 3}')`,
		id, fxAlphaID, fxLetterTemplateID, fxJobID, fxLiveKeyID, fxMemberID)
	insertNotifications(t, pool, fxNotification{ID: fxNotificationID(2), Type: notifyql.TypeSMS,
		Status: notifyql.StatusCreated, CreatedAt: "2025-07-21T09:00:00Z"})

	got, err := store.Notification(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := &notifyql.Notification{
		ID: id, ServiceID: fxAlphaID, TemplateID: fxLetterTemplateID, TemplateVersion: 1,
		Type: notifyql.TypeLetter, To: "1 Example Street\nLondon\nSW1A 1AA",
		ClientReference: fxPtr("file.pdf"), KeyType: notifyql.KeyNormal,
		Status: notifyql.StatusValidationFailed, BillableUnits: 2, RateMultiplier: fxPtr(1.5),
		Postage: fxPtr(notifyql.PostageSecond), CreatedAt: fxTime(t, "2025-07-20T23:30:00Z"),
		UpdatedAt: fxPtr(fxTime(t, "2025-07-21T08:00:00Z")),
		SentAt:    fxPtr(fxTime(t, "2025-07-21T07:00:00.123456Z")), SentBy: fxPtr("dvla"),
		JobID: fxPtr(fxJobID), JobRowNumber: fxPtr(4), APIKeyID: fxPtr(fxLiveKeyID),
		CreatedByID: fxPtr(fxMemberID), LetterPageCount: fxPtr(3),
		LetterValidation: &notifyql.LetterValidation{
			Message: "letter-not-a4-portrait-oriented", InvalidPages: []int{1, 3}, PageCount: 3,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Notification (-want +got):\n%s", diff)
	}

	got, err = store.Notification(ctx, fxNotificationID(2))
	if err != nil {
		t.Fatal(err)
	}
	if got.RateMultiplier != nil || got.JobID != nil || got.Postage != nil || got.UpdatedAt != nil || got.LetterValidation != nil {
		t.Errorf("nullable columns of a bare notification = %+v, want nil", got)
	}

	for _, missing := range []string{fxMissingID, "not-a-uuid", ""} {
		_, err := store.Notification(ctx, missing)
		if code := notifyql.ErrorCode(err); code != notifyql.ENOTFOUND {
			t.Errorf("Notification(%q) error code = %q (%v), want %q", missing, code, err, notifyql.ENOTFOUND)
		}
	}
}

func TestNotificationIn(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	ctx := context.Background()
	insertNotifications(t, pool, fxNotification{ID: fxNotificationID(1), Type: notifyql.TypeSMS,
		Status: notifyql.StatusCreated, CreatedAt: "2025-07-21T09:00:00Z"})
	for _, tt := range []struct {
		name       string
		id         string
		serviceIDs []string
		wantCode   string
	}{
		{"in one of the services", fxNotificationID(1), []string{fxBetaID, fxAlphaID}, ""},
		{"in another service", fxNotificationID(1), []string{fxBetaID}, notifyql.ENOTFOUND},
		{"in no service", fxNotificationID(1), nil, notifyql.ENOTFOUND},
		{"no such notification", fxMissingID, []string{fxAlphaID}, notifyql.ENOTFOUND},
		{"not a UUID", "not-a-uuid", []string{fxAlphaID}, notifyql.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.NotificationIn(ctx, tt.id, tt.serviceIDs)
			if code := notifyql.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if tt.wantCode == "" && (got.ID != tt.id || got.ServiceID != fxAlphaID) {
				t.Errorf("NotificationIn = %+v, want %s of %s", got, tt.id, fxAlphaID)
			}
		})
	}
}

// listFixture covers each type's retention window at its edge: alpha keeps email 3 days,
// sms 7 (the default) and letters 30. At fxNow (11:00 BST on 21 July 2025) the windows
// start at London midnight of 18 July, 14 July and 21 June.
var listFixture = []fxNotification{
	{ID: fxNotificationID(1), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-17T23:00:00Z"},
	{ID: fxNotificationID(2), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-17T22:59:59Z"},
	{ID: fxNotificationID(3), Type: notifyql.TypeSMS, Status: notifyql.StatusSending, CreatedAt: "2025-07-13T23:00:00Z"},
	{ID: fxNotificationID(4), Type: notifyql.TypeSMS, Status: notifyql.StatusSending, CreatedAt: "2025-07-13T22:59:59.999999Z"},
	{ID: fxNotificationID(5), Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-16T12:00:00Z"},
	{ID: fxNotificationID(6), Type: notifyql.TypeLetter, Status: notifyql.StatusCreated, CreatedAt: "2025-06-20T23:00:00Z"},
	{ID: fxNotificationID(7), Type: notifyql.TypeLetter, Status: notifyql.StatusDelivered, CreatedAt: "2025-06-20T22:00:00Z"},
	{ID: fxNotificationID(8), Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, Key: notifyql.KeyTest, CreatedAt: "2025-07-21T09:00:00Z"},
	{ID: fxNotificationID(9), Type: notifyql.TypeLetter, Status: notifyql.StatusCancelled, CreatedAt: "2025-07-21T08:00:00Z"},
	{ID: fxNotificationID(10), Type: notifyql.TypeEmail, Status: notifyql.StatusPermanentFailure, Key: notifyql.KeyTeam, CreatedAt: "2025-07-20T23:30:00Z"},
	{ID: fxNotificationID(11), ServiceID: fxBetaID, Type: notifyql.TypeEmail, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T09:00:00Z"},
}

func pageIDs(page *notifyql.NotificationPage) []int {
	ids := []int{}
	for _, n := range page.Notifications {
		var id int
		fmt.Sscanf(n.ID[len(n.ID)-12:], "%d", &id)
		ids = append(ids, id)
	}
	return ids
}

func TestListNotifications(t *testing.T) {
	pool := newFixturePool(t)
	loc := fxLondon(t)
	store := NewNotificationStore(pool, loc)
	ctx := context.Background()
	insertNotifications(t, pool, listFixture...)

	alphaRetention := notifyql.Retention{notifyql.TypeEmail: 3, notifyql.TypeLetter: 30}
	since := map[notifyql.NotificationType]time.Time{}
	for _, typ := range notifyql.NotificationTypes {
		since[typ] = alphaRetention.WindowStart(typ, fxNow, loc)
	}
	cursorAt := func(id int) *notifyql.Cursor {
		for _, n := range listFixture {
			if n.ID == fxNotificationID(id) {
				return &notifyql.Cursor{CreatedAt: fxTime(t, n.CreatedAt), ID: n.ID}
			}
		}
		t.Fatalf("no fixture notification %d", id)
		return nil
	}
	requested := notifyql.RequestedStatuses()

	type result struct {
		IDs         []int
		HasNextPage bool
	}
	tests := []struct {
		name     string
		typ      *notifyql.NotificationType
		statuses []notifyql.NotificationStatus
		first    int
		after    *notifyql.Cursor
		want     result
	}{
		{
			name: "every type within its own window, test key and cancelled left out",
			want: result{IDs: []int{10, 1, 5, 3, 6}},
		},
		{
			name: "email window is 3 days",
			typ:  fxPtr(notifyql.TypeEmail),
			want: result{IDs: []int{10, 1}},
		},
		{
			name: "sms window is the default 7 days",
			typ:  fxPtr(notifyql.TypeSMS),
			want: result{IDs: []int{5, 3}},
		},
		{
			name:     "cancelled only when asked for",
			typ:      fxPtr(notifyql.TypeLetter),
			statuses: notifyql.ExpandStatusFilter([]notifyql.NotificationStatus{notifyql.StatusDelivered, notifyql.StatusCancelled}),
			want:     result{IDs: []int{9}},
		},
		{
			name:     "failed group across types",
			statuses: notifyql.StatusesInGroup(notifyql.GroupFailed),
			want:     result{IDs: []int{10}},
		},
		{
			name:     "sending group across types",
			statuses: notifyql.StatusesInGroup(notifyql.GroupSending),
			want:     result{IDs: []int{3, 6}},
		},
		{
			name:  "first page",
			first: 2,
			want:  result{IDs: []int{10, 1}, HasNextPage: true},
		},
		{
			name:  "second page",
			first: 2,
			after: cursorAt(1),
			want:  result{IDs: []int{5, 3}, HasNextPage: true},
		},
		{
			name:  "last page",
			first: 2,
			after: cursorAt(3),
			want:  result{IDs: []int{6}},
		},
		{
			name:  "page exactly as long as what is left",
			first: 1,
			after: cursorAt(3),
			want:  result{IDs: []int{6}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			statuses := tt.statuses
			if statuses == nil {
				statuses = requested
			}
			first := tt.first
			if first == 0 {
				first = notifyql.DefaultPageSize
			}
			filter := notifyql.NotificationFilter{
				ServiceID: fxAlphaID, Type: tt.typ, Statuses: statuses, Since: since,
				First: first, After: tt.after,
			}
			// The windows given, and the windows the statement reads from the service's
			// retention itself: the same page either way.
			withService := filter
			withService.Since, withService.WindowsAt = nil, fxNow
			for _, f := range []notifyql.NotificationFilter{filter, withService} {
				page, err := store.ListNotifications(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				got := result{IDs: pageIDs(page), HasNextPage: page.HasNextPage}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ListNotifications, windows given %t (-want +got):\n%s", f.Since != nil, diff)
				}
				if page.Filter.ServiceID != fxAlphaID || page.Filter.First != first {
					t.Errorf("page.Filter = %+v, want the filter asked for", page.Filter)
				}
				if f.Since != nil && page.Related.Services != nil {
					t.Errorf("a page with its windows given read its service too")
				}
				if f.Since == nil {
					if len(page.Related.Services) != 1 || page.Related.Services[0].Service.ID != fxAlphaID {
						t.Fatalf("a page reading its windows brought back services %+v, want the page's", page.Related.Services)
					}
					if diff := cmp.Diff(alphaRetention, page.Related.Services[0].Retention); diff != "" {
						t.Errorf("the service's retention (-want +got):\n%s", diff)
					}
				}
			}
		})
	}

	t.Run("rows carry their columns", func(t *testing.T) {
		page, err := store.ListNotifications(ctx, notifyql.NotificationFilter{
			ServiceID: fxAlphaID, Type: fxPtr(notifyql.TypeEmail), Statuses: requested, Since: since, First: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []*notifyql.Notification{{
			ID: fxNotificationID(10), ServiceID: fxAlphaID, TemplateID: fxEmailTemplateID,
			TemplateVersion: 2, Type: notifyql.TypeEmail, To: "someone", KeyType: notifyql.KeyTeam,
			Status: notifyql.StatusPermanentFailure, CreatedAt: fxTime(t, "2025-07-20T23:30:00Z"),
		}}
		if diff := cmp.Diff(want, page.Notifications); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("invalid filters", func(t *testing.T) {
		tests := []struct {
			name   string
			filter notifyql.NotificationFilter
		}{
			{"first 0", notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: requested, Since: since}},
			{"first too big", notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: requested, Since: since, First: notifyql.MaxPageSize + 1}},
			{"cursor id not a uuid", notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: requested, Since: since, First: 5,
				After: &notifyql.Cursor{CreatedAt: fxNow, ID: "x"}}},
			{"no window for a type", notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: requested, First: 5,
				Since: map[notifyql.NotificationType]time.Time{notifyql.TypeEmail: fxNow}}},
			{"no window for the filtered type", notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: requested, First: 5,
				Type: fxPtr(notifyql.TypeSMS), Since: map[notifyql.NotificationType]time.Time{notifyql.TypeEmail: fxNow}}},
			{"no windows at all", notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: requested, First: 5}},
		}
		for _, tt := range tests {
			_, err := store.ListNotifications(ctx, tt.filter)
			if code := notifyql.ErrorCode(err); code != notifyql.EINVALID {
				t.Errorf("%s: error code = %q (%v), want %q", tt.name, code, err, notifyql.EINVALID)
			}
		}
		// A search has no windows for the statement to read.
		f := notifyql.NotificationFilter{ServiceID: fxAlphaID, Statuses: requested, First: 5, WindowsAt: fxNow,
			Search: &notifyql.Search{Normalised: "someone", Raw: "someone"}}
		if _, err := store.ListNotifications(ctx, f); err == nil {
			t.Errorf("windows read by the statement with a search: no error")
		}
	})
}

// TestListNotificationsKeysetTies pages through rows that share one created_at: the id
// breaks the tie, so every row comes back exactly once whatever the page size.
func TestListNotificationsKeysetTies(t *testing.T) {
	pool := newFixturePool(t)
	loc := fxLondon(t)
	store := NewNotificationStore(pool, loc)
	ctx := context.Background()

	fixture := []fxNotification{
		{ID: fxNotificationID(100), Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T09:00:00.000001Z"},
		{ID: fxNotificationID(200), Type: notifyql.TypeSMS, Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T08:59:59.999999Z"},
	}
	tiedIDs := []int{}
	for i := 1; i <= 7; i++ {
		// Inserted out of id order so that insertion order cannot stand in for the tie-break.
		id := []int{4, 1, 7, 3, 6, 2, 5}[i-1]
		tiedIDs = append(tiedIDs, id)
		typ := notifyql.NotificationTypes[i%3]
		fixture = append(fixture, fxNotification{ID: fxNotificationID(id), Type: typ,
			Status: notifyql.StatusDelivered, CreatedAt: "2025-07-21T09:00:00Z"})
	}
	insertNotifications(t, pool, fixture...)
	want := []int{100, 7, 6, 5, 4, 3, 2, 1, 200}

	since := map[notifyql.NotificationType]time.Time{}
	for _, typ := range notifyql.NotificationTypes {
		since[typ] = notifyql.Retention{}.WindowStart(typ, fxNow, loc)
	}
	for first := 1; first <= len(want)+1; first++ {
		t.Run(fmt.Sprintf("first=%d", first), func(t *testing.T) {
			var (
				got   []int
				after *notifyql.Cursor
				pages int
			)
			for {
				page, err := store.ListNotifications(ctx, notifyql.NotificationFilter{
					ServiceID: fxAlphaID, Statuses: notifyql.RequestedStatuses(), Since: since,
					First: first, After: after,
				})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				got = append(got, pageIDs(page)...)
				if !page.HasNextPage {
					break
				}
				last := page.Notifications[len(page.Notifications)-1]
				after = &notifyql.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
				if pages > len(want) {
					t.Fatal("paging does not end")
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows over all pages (-want +got):\n%s", diff)
			}
			if wantPages := (len(want) + first - 1) / first; pages != wantPages {
				t.Errorf("took %d pages, want %d", pages, wantPages)
			}
		})
	}
}

func TestStatusHistory(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	ctx := context.Background()
	insertNotifications(t, pool,
		fxNotification{ID: fxNotificationID(1), Type: notifyql.TypeLetter, Status: notifyql.StatusCreated, CreatedAt: "2025-07-21T09:00:00Z"},
		fxNotification{ID: fxNotificationID(2), Type: notifyql.TypeSMS, Status: notifyql.StatusSending, CreatedAt: "2025-07-21T09:30:00Z"},
	)
	// Two changes in one transaction share their time: the serial id orders them.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"sending", "sending", "delivered", "returned-letter"} {
		if _, err := tx.Exec(ctx, `UPDATE notifications SET notification_status = $1 WHERE id = $2`, status, fxNotificationID(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	got, err := store.StatusHistory(ctx, []string{fxNotificationID(1), fxNotificationID(2), fxMissingID, "bad"})
	if err != nil {
		t.Fatal(err)
	}
	changedAt := got[fxNotificationID(1)][len(got[fxNotificationID(1)])-1].At
	want := map[string][]notifyql.StatusChange{
		fxNotificationID(1): {
			{Status: notifyql.StatusCreated, At: fxTime(t, "2025-07-21T09:00:00Z")},
			{Status: notifyql.StatusSending, At: changedAt},
			{Status: notifyql.StatusDelivered, At: changedAt},
			{Status: notifyql.StatusReturnedLetter, At: changedAt},
		},
		fxNotificationID(2): {
			{Status: notifyql.StatusSending, At: fxTime(t, "2025-07-21T09:30:00Z")},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StatusHistory (-want +got):\n%s", diff)
	}
	if changedAt.Location() != time.UTC || time.Since(changedAt) > time.Hour || time.Since(changedAt) < -time.Hour {
		t.Errorf("status change time %v is not the transaction time in UTC", changedAt)
	}
}

func TestBankHolidays(t *testing.T) {
	pool := newFixturePool(t)
	store := NewNotificationStore(pool, fxLondon(t))
	got, err := store.BankHolidays(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range []notifyql.Date{{Year: 2025, Month: time.May, Day: 5}, {Year: 2025, Month: time.December, Day: 25}, {Year: 2018, Month: time.January, Day: 1}} {
		if !got[day] {
			t.Errorf("%s is not a bank holiday, want one", day)
		}
	}
	if got[notifyql.Date{Year: 2025, Month: time.May, Day: 6}] {
		t.Error("2025-05-06 is a bank holiday, want not")
	}
	if len(got) < 70 {
		t.Errorf("got %d bank holidays, want the 2018–2027 list", len(got))
	}
}
