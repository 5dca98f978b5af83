package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"notifyql"
)

// statusCountsShape is DOMAIN.md §5.1 with today's live rows read from the trigger-kept
// notification_status_counts table, which always equals a GROUP BY over notifications by
// London date of created_at, so today costs a handful of counter rows instead of a scan.
// %[1]s selects the services from $1 and %[2]s lists the columns that precede each row's
// template, type and status; $2 = from, $3 = todayL. Counters that reached zero may linger;
// HAVING drops them. The rows are summed once, over both tables: grouping each table first
// as well only added a second aggregation (about 15% of the query on the bench profile's
// big service).
//
// One service and many get a statement each, from this one text. `service_id = ANY($1)`
// with a single id is planned afresh at every execution (its generic plan is costed for
// many ids), which doubled a typical service's query through pgx's statement cache on the
// bench profile; grouping one service's rows by service_id as well cost its big service
// about 20% more in the sort.
const statusCountsShape = `
SELECT %[2]s template_id, notification_type AS type, notification_status AS status,
       sum(n)::bigint AS count
  FROM (` + windowRowsShape + `) counts
 GROUP BY %[2]s template_id, notification_type, notification_status
HAVING sum(n) <> 0
 ORDER BY %[2]s template_id, notification_type, notification_status`

// windowRowsShape is the window's counted rows, before any sum: the facts of the days before
// today and today's counters. %[1]s selects the services; $2 = from, $3 = todayL.
const windowRowsShape = `SELECT service_id, template_id, notification_type, notification_status, notification_count AS n
          FROM ft_notification_status
         WHERE %[1]s AND key_type <> 'test' AND bst_date >= $2 AND bst_date < $3
        UNION ALL
        SELECT service_id, template_id, notification_type, notification_status, notification_count
          FROM notification_status_counts
         WHERE %[1]s AND key_type <> 'test' AND bst_date = $3`

var (
	// statusCountsSQL is one service's rows: $1 = its id.
	statusCountsSQL = fmt.Sprintf(statusCountsShape, "service_id = $1", "")
	// statusCountsByServiceSQL is several services' rows, each led by its service_id:
	// $1 = their ids (uuid[]).
	statusCountsByServiceSQL = fmt.Sprintf(statusCountsShape, "service_id = ANY($1)", "service_id,")
)

// StatusCounts returns the (template, type, status, count) rows of DOMAIN.md §5.1 for the
// London dates from..todayL inclusive: facts for the days before today and the live
// counters for today, test keys excluded. Cancelled rows are returned; the rules that
// total them drop them (§2.2).
func (s *NotificationStore) StatusCounts(ctx context.Context, serviceID string, from notifyql.Date, now time.Time) ([]notifyql.StatusCount, error) {
	if !notifyql.IsUUID(serviceID) {
		return nil, nil
	}
	today := notifyql.LondonDate(now, s.london)
	rows, err := s.pool.Query(ctx, statusCountsSQL, planEachTime, serviceID, from.Time(), today.Time())
	if err != nil {
		return nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	counts, err := collectStatusCounts(rows)
	if err != nil {
		return nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	return counts, nil
}

// collectStatusCounts reads the rows of statusCountsSQL.
func collectStatusCounts(rows pgx.Rows) ([]notifyql.StatusCount, error) {
	defer rows.Close()
	var (
		counts []notifyql.StatusCount
		c      notifyql.StatusCount
		dest   = []any{&c.TemplateID, &c.Type, &c.Status, &c.Count}
	)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		counts = append(counts, c)
	}
	return counts, rows.Err()
}

// windowSumsSQL is one service's window summed the two ways the dashboard shows it
// (notifyql.WindowCounts), in one aggregation over the window's rows (GROUPING SETS): a
// row per type and status, cancelled included, whose template_id is NULL; and a row per
// template with its count less cancelled, whose type and status are NULL. They are the
// window's few dozen sums, not the few hundred (template, type, status) rows
// statusCountsSQL gives a busy service: reading those, and a template's columns with each,
// was most of what a dashboard cost beyond the statement. $1 = the service's id,
// $2 = from, $3 = todayL.
var windowSumsSQL = `
SELECT template_id, notification_type AS type, notification_status AS status,
       (CASE WHEN GROUPING(template_id) = 0
             THEN sum(n) FILTER (WHERE notification_status <> 'cancelled')
             ELSE sum(n) END)::bigint AS count
  FROM (` + fmt.Sprintf(windowRowsShape, "service_id = $1") + `) counts
 GROUP BY GROUPING SETS ((notification_type, notification_status), (template_id))
HAVING CASE WHEN GROUPING(template_id) = 0
            THEN sum(n) FILTER (WHERE notification_status <> 'cancelled') > 0
            ELSE sum(n) <> 0 END`

// windowCountsOrder puts the type and status sums first, then the templates' largest
// first, then by id: the order of notifyql.WindowCounts.
const windowCountsOrder = `
 ORDER BY w.template_id IS NOT NULL, w.type COLLATE "C", w.status COLLATE "C", w.count DESC, w.template_id`

var (
	// windowCountsSQL is windowSumsSQL's rows in order: the notifications page's pills.
	windowCountsSQL = `SELECT w.template_id, w.type, w.status, w.count FROM (` + windowSumsSQL + `) w` + windowCountsOrder
	// windowCountsWithTemplatesSQL is windowCountsSQL with the current version of each
	// template after its row: the Template's columns in the order nullableTemplate scans
	// them, NULL on the type and status rows and for a template that has gone.
	windowCountsWithTemplatesSQL = `
SELECT w.template_id, w.type, w.status, w.count,
       ` + templateColumnsOf("t") + `
  FROM (` + windowSumsSQL + `) w
  LEFT JOIN templates t ON t.id = w.template_id` + windowCountsOrder
)

// windowCounts returns StatusCounts' window summed as the dashboard shows it, planned for
// its values as StatusCounts' is.
func (s *NotificationStore) windowCounts(ctx context.Context, serviceID string, from notifyql.Date, now time.Time) (notifyql.WindowCounts, error) {
	if !notifyql.IsUUID(serviceID) {
		return notifyql.WindowCounts{}, nil
	}
	today := notifyql.LondonDate(now, s.london)
	rows, err := s.pool.Query(ctx, windowCountsSQL, planEachTime, serviceID, from.Time(), today.Time())
	if err != nil {
		return notifyql.WindowCounts{}, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	counts, _, err := collectWindowCounts(rows, windowCountsStatement)
	if err != nil {
		return notifyql.WindowCounts{}, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	return counts, nil
}

// queueWindowCounts queues windowCounts' statement on batch, with custom plans as
// windowCounts has them; readQueuedWindowCounts reads what it queued.
func (s *NotificationStore) queueWindowCounts(batch *pgx.Batch, serviceID string, from notifyql.Date, now time.Time) {
	today := notifyql.LondonDate(now, s.london)
	batch.Queue(forceCustomPlansSQL)
	batch.Queue(windowCountsSQL, serviceID, from.Time(), today.Time())
}

// readQueuedWindowCounts reads the results of queueWindowCounts, the next of results.
func readQueuedWindowCounts(results pgx.BatchResults) (notifyql.WindowCounts, error) {
	if err := skipPlanMode(results); err != nil {
		return notifyql.WindowCounts{}, err
	}
	rows, err := results.Query()
	if err != nil {
		return notifyql.WindowCounts{}, err
	}
	counts, _, err := collectWindowCounts(rows, windowCountsStatement)
	return counts, err
}

// StatusCountsWithTemplates returns StatusCounts' window summed as the dashboard shows it,
// with the current version of each template the sums name (a template that has gone is
// mapped to nil), in one statement, planned for its values as StatusCounts' is.
func (s *NotificationStore) StatusCountsWithTemplates(ctx context.Context, serviceID string, from notifyql.Date, now time.Time) (notifyql.WindowCounts, map[string]*notifyql.Template, error) {
	if !notifyql.IsUUID(serviceID) {
		return notifyql.WindowCounts{}, nil, nil
	}
	today := notifyql.LondonDate(now, s.london)
	rows, err := s.pool.Query(ctx, windowCountsWithTemplatesSQL, planEachTime, serviceID, from.Time(), today.Time())
	if err != nil {
		return notifyql.WindowCounts{}, nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	counts, templates, err := collectWindowCounts(rows, windowCountsWithTemplatesStatement)
	if err != nil {
		return notifyql.WindowCounts{}, nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	return counts, templates, nil
}

// StatusCountsWithService is StatusCountsWithTemplates with the service and its facts at now
// read in the same round trip: Related holds the service (none when it does not exist) and
// the templates. The counts keep their custom plans.
func (s *NotificationStore) StatusCountsWithService(ctx context.Context, serviceID string, from notifyql.Date, now time.Time) (notifyql.WindowCounts, *notifyql.Related, error) {
	related := &notifyql.Related{}
	if !notifyql.IsUUID(serviceID) {
		return notifyql.WindowCounts{}, related, nil
	}
	today := notifyql.LondonDate(now, s.london)
	batch := &pgx.Batch{}
	queueGenericPlans(batch)
	batch.Queue(servicesWithFactsSQL, []string{serviceID}, keyCutoff(now))
	batch.Queue(forceCustomPlansSQL)
	batch.Queue(windowCountsWithTemplatesSQL, serviceID, from.Time(), today.Time())
	results := s.pool.SendBatch(ctx, batch)
	var counts notifyql.WindowCounts
	err := skipPlanMode(results)
	if err == nil {
		related.Services, err = collectServicesWithFacts(results)
	}
	if err == nil {
		err = skipPlanMode(results)
	}
	if err == nil {
		err = readRows(results, func(rows pgx.Rows) (err error) {
			counts, related.Templates, err = collectWindowCounts(rows, windowCountsWithTemplatesStatement)
			return err
		})
	}
	if closeErr := results.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return notifyql.WindowCounts{}, nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	return counts, related, nil
}

// windowStatement is one of the window's statements as collectWindowCounts reads it: its
// rows name a template or a type and status, never both, and each kind scans only its own
// columns, with plans of its own (scanWith names a statement's plans).
type windowStatement struct {
	sql, statusPlans, templatePlans string
	withTemplates                   bool
}

func newWindowStatement(sql string, withTemplates bool) windowStatement {
	return windowStatement{sql: sql, statusPlans: sql + "\n-- type and status rows",
		templatePlans: sql + "\n-- template rows", withTemplates: withTemplates}
}

var (
	windowCountsStatement              = newWindowStatement(windowCountsSQL, false)
	windowCountsWithTemplatesStatement = newWindowStatement(windowCountsWithTemplatesSQL, true)
)

// collectWindowCounts reads the rows of w's statement and closes them. The templates are
// those it brings when it brings them.
func collectWindowCounts(rows pgx.Rows, w windowStatement) (notifyql.WindowCounts, map[string]*notifyql.Template, error) {
	defer rows.Close()
	var (
		counts      notifyql.WindowCounts
		templates   = make(map[string]*notifyql.Template)
		templateID  string
		typ, status string
		count       int64
		t           nullableTemplate
		statusRow   = scanWith(w.statusPlans)
		templateRow = scanWith(w.templatePlans)
	)
	statusRow.to = []any{nil, &typ, &status, &count}
	templateRow.to = []any{&templateID, nil, nil, &count}
	if w.withTemplates {
		templateRow.to = append(templateRow.to, t.dest()...)
		statusRow.to = append(statusRow.to, make([]any, len(templateRow.to)-len(statusRow.to))...)
	}
	for rows.Next() {
		if rows.RawValues()[0] == nil {
			if err := rows.Scan(statusRow.args...); err != nil {
				return notifyql.WindowCounts{}, nil, err
			}
			counts.ByStatus = append(counts.ByStatus, notifyql.StatusCount{Type: notifyql.NotificationType(typ),
				Status: notifyql.NotificationStatus(status), Count: count})
			continue
		}
		if err := rows.Scan(templateRow.args...); err != nil {
			return notifyql.WindowCounts{}, nil, err
		}
		counts.ByTemplate = append(counts.ByTemplate, notifyql.TemplateStatistic{TemplateID: templateID, Count: count})
		if w.withTemplates {
			templates[templateID] = t.template()
		}
	}
	return counts, templates, rows.Err()
}

// StatusCountsByService returns StatusCounts' rows for each of serviceIDs in one query,
// keyed by the ids as given, each service's rows in StatusCounts' order. Services without
// rows, and ids that are not UUIDs, are absent.
func (s *NotificationStore) StatusCountsByService(ctx context.Context, serviceIDs []string, from notifyql.Date, now time.Time) (map[string][]notifyql.StatusCount, error) {
	// PostgreSQL answers with UUIDs in lower case; asked maps them back to the ids given.
	asked := make(map[string][]string, len(serviceIDs))
	var ids []string
	for _, id := range serviceIDs {
		if !notifyql.IsUUID(id) {
			continue
		}
		key := strings.ToLower(id)
		if _, ok := asked[key]; !ok {
			ids = append(ids, key)
		}
		if !slices.Contains(asked[key], id) {
			asked[key] = append(asked[key], id)
		}
	}
	byService := make(map[string][]notifyql.StatusCount)
	if len(ids) == 0 {
		return byService, nil
	}
	today := notifyql.LondonDate(now, s.london)
	rows, err := s.pool.Query(ctx, statusCountsByServiceSQL, ids, from.Time(), today.Time())
	if err != nil {
		return nil, fmt.Errorf("load status counts of %d services: %w", len(ids), err)
	}
	defer rows.Close()
	// The relay runs this every busy tick for every watched service: tens of thousands of
	// rows that repeat a few hundred ids and a handful of enum values. Each distinct text
	// is made a string once per query rather than once per row.
	var (
		serviceID, templateID [16]byte
		typ, status           pgtype.DriverBytes
		count                 int64
		texts                 = make(map[string]string)
		templates             = make(map[[16]byte]string)
		uuidText              [36]byte
	)
	intern := func(b []byte) string {
		if t, ok := texts[string(b)]; ok {
			return t
		}
		t := string(b)
		texts[t] = t
		return t
	}
	// One array holds every row, and each service's rows are a slice of it: they come
	// sorted by service. The destinations are boxed once, not once per row.
	var (
		all   = make([]notifyql.StatusCount, 0, 256)
		spans []serviceSpan
		dest  = []any{&serviceID, &templateID, &typ, &status, &count}
	)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("load status counts of %d services: %w", len(ids), err)
		}
		template, ok := templates[templateID]
		if !ok {
			formatUUID(&uuidText, templateID)
			template = string(uuidText[:])
			templates[templateID] = template
		}
		if len(spans) == 0 || spans[len(spans)-1].id != serviceID {
			spans = append(spans, serviceSpan{id: serviceID, start: len(all)})
		}
		all = append(all, notifyql.StatusCount{TemplateID: template, Type: notifyql.NotificationType(intern(typ)), Status: notifyql.NotificationStatus(intern(status)), Count: count})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load status counts of %d services: %w", len(ids), err)
	}
	for i, span := range spans {
		end := len(all)
		if i+1 < len(spans) {
			end = spans[i+1].start
		}
		formatUUID(&uuidText, span.id)
		for _, id := range asked[string(uuidText[:])] {
			// Capped, so that a caller's append cannot write over the next service's rows.
			byService[id] = all[span.start:end:end]
		}
	}
	return byService, nil
}

// serviceSpan is where one service's rows start among a query's.
type serviceSpan struct {
	id    [16]byte
	start int
}

// formatUUID writes id in the canonical lower-case form PostgreSQL prints.
func formatUUID(dst *[36]byte, id [16]byte) {
	const digits = "0123456789abcdef"
	j := 0
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = digits[b>>4], digits[b&0x0f]
		j += 2
	}
}
