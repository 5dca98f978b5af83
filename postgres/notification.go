package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// NotificationStore reads notifications, their status timelines and the counts computed
// over them from PostgreSQL.
type NotificationStore struct {
	pool *pgxpool.Pool
	// london turns instants into the London dates that "today" and day buckets use
	// (DOMAIN.md §1).
	london *time.Location
}

var _ notifyql.NotificationStore = (*NotificationStore)(nil)

// NewNotificationStore returns a NotificationStore that queries through pool and reckons
// calendar days in loc (Europe/London).
func NewNotificationStore(pool *pgxpool.Pool, loc *time.Location) *NotificationStore {
	return &NotificationStore{pool: pool, london: loc}
}

// notificationColumns are a notification's columns, in the order notificationDest scans
// them. "to" and letter_validation are personal data: they are selected to be shown, never
// logged.
var notificationColumns = []string{
	"id", "service_id", "template_id", "template_version", "notification_type", `"to"`,
	"client_reference", "key_type", "notification_status", "billable_units",
	"rate_multiplier::float8", "international", "phone_prefix", "postage",
	"created_at", "updated_at", "sent_at", "sent_by", "job_id", "job_row_number", "api_key_id",
	"created_by_id", "page_count", "letter_validation"}

// notificationColumnsOf lists notificationColumns, each qualified by alias when it is set.
func notificationColumnsOf(alias string) string {
	qualified := make([]string, len(notificationColumns))
	for i, c := range notificationColumns {
		if alias != "" {
			c = alias + "." + c
		}
		qualified[i] = c
	}
	return "\n\t" + strings.Join(qualified, ", ")
}

// notificationSelectList is notificationColumns of the notifications table unqualified.
var notificationSelectList = notificationColumnsOf("")

// notificationDest is where a row of notificationColumns goes: explicit destinations,
// since pages scan fifty of these rows a request and reflection would cost each one.
func notificationDest(n *notifyql.Notification) []any {
	return []any{&n.ID, &n.ServiceID, &n.TemplateID, &n.TemplateVersion, &n.Type, &n.To,
		&n.ClientReference, &n.KeyType, &n.Status, &n.BillableUnits,
		&n.RateMultiplier, &n.International, &n.PhonePrefix, &n.Postage,
		&n.CreatedAt, &n.UpdatedAt, &n.SentAt, &n.SentBy, &n.JobID, &n.JobRowNumber, &n.APIKeyID,
		&n.CreatedByID, &n.LetterPageCount, &n.LetterValidation}
}

// pageDest is notificationDest for a statement of many rows: the columns that rows repeat
// are scanned through strings (rowStrings).
func pageDest(n *notifyql.Notification, strings *rowStrings) []any {
	return []any{&n.ID, sharedUUID{strings, &n.ServiceID}, sharedUUID{strings, &n.TemplateID}, &n.TemplateVersion,
		sharedText[notifyql.NotificationType]{strings, &n.Type}, &n.To,
		&n.ClientReference, sharedText[notifyql.KeyType]{strings, &n.KeyType},
		sharedText[notifyql.NotificationStatus]{strings, &n.Status}, &n.BillableUnits,
		&n.RateMultiplier, &n.International, newSharedNullText(strings, &n.PhonePrefix), newSharedNullText(strings, &n.Postage),
		&n.CreatedAt, &n.UpdatedAt, &n.SentAt, newSharedNullText(strings, &n.SentBy),
		newSharedNullUUID(strings, &n.JobID), &n.JobRowNumber, newSharedNullUUID(strings, &n.APIKeyID),
		newSharedNullUUID(strings, &n.CreatedByID), &n.LetterPageCount, &n.LetterValidation}
}

var notificationSQL = `
SELECT ` + notificationSelectList + `
  FROM notifications
 WHERE id = $1`

// Notification returns the notification with id. Rows older than their retention window
// leave the table nightly (DOMAIN.md §14), so the table is the retention bound. It returns
// ENOTFOUND when no notification has that id, including when id is not a UUID.
func (s *NotificationStore) Notification(ctx context.Context, id string) (*notifyql.Notification, error) {
	if !notifyql.IsUUID(id) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	}
	n, err := s.oneNotification(ctx, notificationSQL, id)
	if err != nil && notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
		return nil, fmt.Errorf("load notification %s: %w", id, err)
	}
	return n, err
}

var notificationInSQL = `
SELECT ` + notificationSelectList + `
  FROM notifications
 WHERE id = $1
   AND service_id = ANY($2::uuid[])`

// serviceIDsArg is serviceIDs as the argument of `= ANY($n::uuid[])`: an empty array, not
// NULL, for none, since ANY(NULL) is unknown and a caller in no service should find
// nothing in the same way as any other.
func serviceIDsArg(serviceIDs []string) []string {
	if serviceIDs == nil {
		return []string{}
	}
	return serviceIDs
}

// NotificationIn returns the notification with id when it belongs to one of serviceIDs. It
// returns ENOTFOUND when no notification has that id, when it belongs to another service,
// and when id is not a UUID, the first two after the same one statement.
func (s *NotificationStore) NotificationIn(ctx context.Context, id string, serviceIDs []string) (*notifyql.Notification, error) {
	if !notifyql.IsUUID(id) {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	}
	n, err := s.oneNotification(ctx, notificationInSQL, id, serviceIDsArg(serviceIDs))
	if err != nil && notifyql.ErrorCode(err) != notifyql.ENOTFOUND {
		return nil, fmt.Errorf("load notification %s: %w", id, err)
	}
	return n, err
}

// ListNotifications returns one page of a service's notifications, newest first, keyset on
// (created_at, id) (DOMAIN.md §6.1): the test key is excluded, the status filter applies
// as given, and each type is bounded by its own retention window. With a search it returns
// the first First matches (§6.3) with no window, and HasNextPage says more exist. It
// returns EINVALID for a page size outside 1..MaxPageSize, a cursor whose id is not a UUID,
// a cursor with a search, or a filter without a window for a type it lists. The page's
// DataAvailableDays is the caller's to set: it built the windows from the retention.
func (s *NotificationStore) ListNotifications(ctx context.Context, f notifyql.NotificationFilter) (*notifyql.NotificationPage, error) {
	if f.First < 1 || f.First > notifyql.MaxPageSize {
		return nil, notifyql.Errorf(notifyql.EINVALID, "first must be between 1 and %d", notifyql.MaxPageSize)
	}
	if f.After != nil && !notifyql.IsUUID(f.After.ID) {
		return nil, notifyql.Errorf(notifyql.EINVALID, "invalid cursor")
	}
	if f.After != nil && f.Search != nil {
		return nil, notifyql.Errorf(notifyql.EINVALID, "a search shows its first %d matches only: it cannot be paged", notifyql.SearchResultLimit)
	}
	if !f.WindowsAt.IsZero() && len(f.Since) == 0 && f.Search != nil {
		return nil, errors.New("list notifications: a search has no retention windows to read")
	}
	if !notifyql.IsUUID(f.ServiceID) {
		return &notifyql.NotificationPage{Filter: f}, nil
	}
	sql, args, err := listNotificationsQuery(f, s.london)
	if err != nil {
		return nil, err
	}
	joins := relatedJoins(f.Include.RelatedIncludes)
	sql = withRelated(sql, joins)
	page := &notifyql.NotificationPage{Filter: f}
	collect := func(rows pgx.Rows) error {
		defer rows.Close()
		var (
			n       notifyql.Notification
			strings = newRowStrings()
			scan    = scanWith(sql)
		)
		scan.to = relatedDest(pageDest(&n, strings), joins, strings)
		for rows.Next() {
			n = notifyql.Notification{}
			if err := rows.Scan(scan.args...); err != nil {
				return err
			}
			row := n
			page.Notifications = append(page.Notifications, &row)
			addRelated(&row, joins, &page.Related)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page.Notifications) > f.First {
			// The extra row only says that another page follows; what it points at stays
			// in Related, where nothing asks for it.
			page.Notifications, page.HasNextPage = page.Notifications[:f.First], true
		}
		return nil
	}
	if f.Search != nil {
		if err := s.searchNotifications(ctx, f, sql, args, collect, page); err != nil {
			return nil, fmt.Errorf("search notifications of service %s: %w", f.ServiceID, err)
		}
		return page, nil
	}
	// The page and the status counts travel in one round trip.
	// The page's results come back first: the caller goes on with its rows while
	// PostgreSQL is still counting, and the counts follow (NotificationPage.StatusCounts).
	batch := &pgx.Batch{}
	queueGenericPlans(batch)
	withService := len(f.Since) == 0 && !f.WindowsAt.IsZero()
	if withService {
		batch.Queue(servicesWithFactsSQL, []string{f.ServiceID}, keyCutoff(f.WindowsAt))
	}
	batch.Queue(sql, args...)
	from := f.Include.StatusCountsFrom
	if from != nil {
		s.queueWindowCounts(batch, f.ServiceID, *from, f.Include.Now)
	}
	results := s.pool.SendBatch(ctx, batch)
	err = skipPlanMode(results)
	if err == nil && withService {
		page.Related.Services, err = collectServicesWithFacts(results)
	}
	if err == nil {
		err = readRows(results, collect)
	}
	if from == nil || err != nil {
		if closeErr := results.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return nil, fmt.Errorf("list notifications of service %s: %w", f.ServiceID, err)
		}
		return page, nil
	}
	page.StatusCounts = statusCountsLater(results, f.ServiceID)
	return page, nil
}

// readRows reads the next statement's rows of a batch.
func readRows(results pgx.BatchResults, collect func(pgx.Rows) error) error {
	rows, err := results.Query()
	if err != nil {
		return err
	}
	return collect(rows)
}

// statusCountsLater reads the status counts, the last results of a page's batch, while the
// caller goes on with the page, then releases the batch's connection, whether or not
// anyone asks for them. The function it returns waits for them.
func statusCountsLater(results pgx.BatchResults, serviceID string) func() (notifyql.WindowCounts, error) {
	var (
		done   = make(chan struct{})
		counts notifyql.WindowCounts
		err    error
	)
	go func() {
		defer close(done)
		counts, err = readQueuedWindowCounts(results)
		if closeErr := results.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			err = fmt.Errorf("load status counts of service %s: %w", serviceID, err)
		}
	}()
	return func() (notifyql.WindowCounts, error) {
		<-done
		return counts, err
	}
}

// searchNotifications runs a search's page query as an unnamed statement, which
// PostgreSQL plans for the patterns it is given. A cached prepared statement would switch
// to a generic plan after a few runs, and a plan made without the patterns cannot know that
// the trigram indexes find a rare term's few rows far faster than walking the service's
// rows newest first. The status counts, when asked for, follow as StatusCounts runs them.
func (s *NotificationStore) searchNotifications(ctx context.Context, f notifyql.NotificationFilter, sql string, args []any, collect func(pgx.Rows) error, page *notifyql.NotificationPage) error {
	rows, err := s.pool.Query(ctx, sql, append([]any{planEachTime}, args...)...)
	if err != nil {
		return err
	}
	if err := collect(rows); err != nil {
		return err
	}
	if from := f.Include.StatusCountsFrom; from != nil {
		counts, err := s.windowCounts(ctx, f.ServiceID, *from, f.Include.Now)
		page.StatusCounts = func() (notifyql.WindowCounts, error) { return counts, err }
	}
	return nil
}

// listNotificationsQuery builds the page query. The fixed lower bound on created_at (the
// earliest window) and the ORDER BY that matches the (service_id, created_at, id) and
// (service_id, notification_type, created_at, id) indexes let PostgreSQL walk the index
// backwards from the cursor and stop after First+1 matching rows, however large the
// service. A search has no window: its rows come from the trigram indexes.
func listNotificationsQuery(f notifyql.NotificationFilter, london *time.Location) (string, []any, error) {
	var (
		sql  strings.Builder
		args []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// since is the SQL of type t's window start: the filter's own instant, or the
	// service's retention window as the statement reads it (WindowsAt).
	var windowsAt, zone string
	since := func(t notifyql.NotificationType) (string, error) {
		if len(f.Since) == 0 && !f.WindowsAt.IsZero() {
			if windowsAt == "" {
				windowsAt, zone = arg(f.WindowsAt.UTC()), arg(london.String())
			}
			return retentionWindowSQL("$1", arg(string(t)), windowsAt, zone), nil
		}
		since, ok := f.Since[t]
		if !ok {
			return "", notifyql.Errorf(notifyql.EINVALID, "no retention window for %s", t)
		}
		return arg(since.UTC()), nil
	}
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = notifyql.RequestedStatuses()
	}
	statusTexts := make([]string, len(statuses))
	for i, status := range statuses {
		statusTexts[i] = string(status)
	}

	sql.WriteString("SELECT" + notificationSelectList + "\n  FROM notifications\n")
	fmt.Fprintf(&sql, " WHERE service_id = %s\n   AND key_type <> 'test'\n", arg(f.ServiceID))
	fmt.Fprintf(&sql, "   AND notification_status = ANY(%s)\n", arg(statusTexts))
	if !slices.Contains(statuses, notifyql.StatusDelivered) {
		// Redundant with the line above, but lets the planner prove that the partial index
		// of undelivered rows covers the query.
		sql.WriteString("   AND notification_status <> 'delivered'\n")
	}
	switch {
	case f.Search != nil:
		if f.Type != nil {
			fmt.Fprintf(&sql, "   AND notification_type = %s\n", arg(string(*f.Type)))
		}
		fmt.Fprintf(&sql, "   AND %s\n", searchCondition(f.Search, arg))
	case f.Type != nil:
		fmt.Fprintf(&sql, "   AND notification_type = %s\n", arg(string(*f.Type)))
		window, err := since(*f.Type)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&sql, "   AND created_at >= %s\n", window)
	default:
		windows := make([]string, 0, len(notifyql.NotificationTypes))
		bounds := make([]string, 0, len(notifyql.NotificationTypes))
		for _, t := range notifyql.NotificationTypes {
			window, err := since(t)
			if err != nil {
				return "", nil, err
			}
			bounds = append(bounds, window)
			windows = append(windows, fmt.Sprintf("(notification_type = %s AND created_at >= %s)", arg(string(t)), window))
		}
		// The earliest window is the index walk's lower bound.
		earliest := "LEAST(" + strings.Join(bounds, ", ") + ")"
		if len(f.Since) > 0 {
			earliest = arg(earliestOf(f.Since).UTC())
		}
		fmt.Fprintf(&sql, "   AND created_at >= %s\n   AND (%s)\n", earliest,
			strings.Join(windows, "\n        OR "))
	}
	if f.After != nil {
		fmt.Fprintf(&sql, "   AND (created_at, id) < (%s, %s)\n", arg(f.After.CreatedAt.UTC()), arg(f.After.ID))
	}
	fmt.Fprintf(&sql, " ORDER BY created_at DESC, id DESC\n LIMIT %s", arg(f.First+1))
	return sql.String(), args, nil
}

const statusHistorySQL = `
SELECT notification_id, status, at
  FROM notification_status_history
 WHERE notification_id = ANY($1)
 ORDER BY notification_id, at, id`

// StatusHistory returns each notification's status changes, oldest first, ties broken by
// the order they were written (DOMAIN.md §2.5). Notifications without history are absent.
func (s *NotificationStore) StatusHistory(ctx context.Context, notificationIDs []string) (map[string][]notifyql.StatusChange, error) {
	ids := uuidsOnly(notificationIDs)
	history := make(map[string][]notifyql.StatusChange)
	if len(ids) == 0 {
		return history, nil
	}
	rows, err := queryGenericPlan(ctx, s.pool, statusHistorySQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load status history of %d notifications: %w", len(ids), err)
	}
	var (
		notificationID string
		change         notifyql.StatusChange
	)
	_, err = pgx.ForEachRow(rows, []any{&notificationID, &change.Status, &change.At}, func() error {
		history[notificationID] = append(history[notificationID], change)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load status history of %d notifications: %w", len(ids), err)
	}
	return history, nil
}

const bankHolidaysSQL = `
SELECT day
  FROM bank_holidays`

// BankHolidays returns the England and Wales bank holidays from the reference table.
func (s *NotificationStore) BankHolidays(ctx context.Context) (notifyql.Holidays, error) {
	rows, err := s.pool.Query(ctx, bankHolidaysSQL)
	if err != nil {
		return nil, fmt.Errorf("load bank holidays: %w", err)
	}
	holidays := make(notifyql.Holidays)
	var day time.Time
	_, err = pgx.ForEachRow(rows, []any{&day}, func() error {
		holidays[notifyql.DateOf(day)] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load bank holidays: %w", err)
	}
	return holidays, nil
}

// retentionWindowSQL is the SQL of a type's window start as WindowStart computes it: the
// instant the London day began, the service's retention in days (DefaultRetentionDays
// without a row) before the London date of at. service, typ, at and zone are the
// statement's parameters holding the service's id, the type, the instant and the zone's
// name.
func retentionWindowSQL(service, typ, at, zone string) string {
	return fmt.Sprintf(`(((%[3]s::timestamptz AT TIME ZONE %[4]s::text)::date
            - coalesce((SELECT r.days_of_retention FROM service_data_retention r
                         WHERE r.service_id = %[1]s AND r.notification_type = %[2]s::text), %[5]d))::timestamp
            AT TIME ZONE %[4]s::text)`, service, typ, at, zone, notifyql.DefaultRetentionDays)
}

// earliestOf returns the earliest of the windows' starts.
func earliestOf(since map[notifyql.NotificationType]time.Time) time.Time {
	var earliest time.Time
	for _, t := range since {
		if earliest.IsZero() || t.Before(earliest) {
			earliest = t
		}
	}
	return earliest
}
