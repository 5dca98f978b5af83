package postgres

import (
	"bytes"
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
  FROM (SELECT service_id, template_id, notification_type, notification_status, notification_count AS n
          FROM ft_notification_status
         WHERE %[1]s AND key_type <> 'test' AND bst_date >= $2 AND bst_date < $3
        UNION ALL
        SELECT service_id, template_id, notification_type, notification_status, notification_count
          FROM notification_status_counts
         WHERE %[1]s AND key_type <> 'test' AND bst_date = $3) counts
 GROUP BY %[2]s template_id, notification_type, notification_status
HAVING sum(n) <> 0
 ORDER BY %[2]s template_id, notification_type, notification_status`

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

// queueStatusCounts queues StatusCounts' statement on batch, with custom plans as
// StatusCounts has them; readQueuedStatusCounts reads what it queued.
func (s *NotificationStore) queueStatusCounts(batch *pgx.Batch, serviceID string, from notifyql.Date, now time.Time) {
	today := notifyql.LondonDate(now, s.london)
	batch.Queue(forceCustomPlansSQL)
	batch.Queue(statusCountsSQL, serviceID, from.Time(), today.Time())
}

// readQueuedStatusCounts reads the results of queueStatusCounts, the next of results.
func readQueuedStatusCounts(results pgx.BatchResults) ([]notifyql.StatusCount, error) {
	if err := skipPlanMode(results); err != nil {
		return nil, err
	}
	rows, err := results.Query()
	if err != nil {
		return nil, err
	}
	return collectStatusCounts(rows)
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

// statusCountsWithTemplatesSQL is one service's rows, each followed by the current
// version of its template, joined once the rows are grouped (a few hundred templates at
// most, not a join per counted row). Its columns are the Template's in the order
// templateDest scans them; a template that has gone leaves them NULL.
var statusCountsWithTemplatesSQL = `
SELECT c.template_id, c.type, c.status, c.count,
       ` + templateColumnsOf("t") + `
  FROM (` + statusCountsSQL + `) c
  LEFT JOIN templates t ON t.id = c.template_id
 ORDER BY c.template_id, c.type, c.status`

// StatusCountsWithTemplates returns StatusCounts' rows with the current version of each
// template they name (a template that has gone is mapped to nil), in one statement, planned
// for its values as StatusCounts' is.
func (s *NotificationStore) StatusCountsWithTemplates(ctx context.Context, serviceID string, from notifyql.Date, now time.Time) ([]notifyql.StatusCount, map[string]*notifyql.Template, error) {
	if !notifyql.IsUUID(serviceID) {
		return nil, nil, nil
	}
	today := notifyql.LondonDate(now, s.london)
	rows, err := s.pool.Query(ctx, statusCountsWithTemplatesSQL, planEachTime, serviceID, from.Time(), today.Time())
	if err != nil {
		return nil, nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	counts, templates, err := collectStatusCountsWithTemplates(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	return counts, templates, nil
}

// StatusCountsWithService is StatusCountsWithTemplates with the service and its facts at now
// read in the same round trip: Related holds the service (none when it does not exist) and
// the templates. The counts keep their custom plans.
func (s *NotificationStore) StatusCountsWithService(ctx context.Context, serviceID string, from notifyql.Date, now time.Time) ([]notifyql.StatusCount, *notifyql.Related, error) {
	related := &notifyql.Related{}
	if !notifyql.IsUUID(serviceID) {
		return nil, related, nil
	}
	today := notifyql.LondonDate(now, s.london)
	batch := &pgx.Batch{}
	queueGenericPlans(batch)
	batch.Queue(servicesWithFactsSQL, []string{serviceID}, keyCutoff(now))
	batch.Queue(forceCustomPlansSQL)
	batch.Queue(statusCountsWithTemplatesSQL, serviceID, from.Time(), today.Time())
	results := s.pool.SendBatch(ctx, batch)
	var counts []notifyql.StatusCount
	err := skipPlanMode(results)
	if err == nil {
		related.Services, err = collectServicesWithFacts(results)
	}
	if err == nil {
		err = skipPlanMode(results)
	}
	if err == nil {
		err = readRows(results, func(rows pgx.Rows) (err error) {
			counts, related.Templates, err = collectStatusCountsWithTemplates(rows)
			return err
		})
	}
	if closeErr := results.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load status counts of service %s: %w", serviceID, err)
	}
	return counts, related, nil
}

// collectStatusCountsWithTemplates reads the rows of statusCountsWithTemplatesSQL and closes
// them. A busy service has hundreds of rows, a few for each template, and each row repeats
// its template's columns: those are decoded on the first row of each template only (the
// rows come in template order), and the ids, types and statuses the rows repeat become one
// string each. Decoding every column of every row was most of a dashboard's allocations.
func collectStatusCountsWithTemplates(rows pgx.Rows) ([]notifyql.StatusCount, map[string]*notifyql.Template, error) {
	defer rows.Close()
	var (
		counts    []notifyql.StatusCount
		templates = make(map[string]*notifyql.Template)
		c         notifyql.StatusCount
		t         nullableTemplate
		strs      = newRowStrings()
		countDest = []any{sharedUUID{strs, &c.TemplateID}, sharedText[notifyql.NotificationType]{strs, &c.Type},
			sharedText[notifyql.NotificationStatus]{strs, &c.Status}, &c.Count}
		withTemplate = append(slices.Clip(countDest), t.dest()...)
		// countsOnly skips the template's columns: nil destinations.
		countsOnly = append(slices.Clip(countDest), make([]any, len(withTemplate)-len(countDest))...)
		previous   []byte
		scan       = scanWith(statusCountsWithTemplatesSQL)
	)
	for rows.Next() {
		scan.to = withTemplate
		id := rows.RawValues()[0]
		if previous != nil && bytes.Equal(id, previous) {
			scan.to = countsOnly
		}
		previous = append(previous[:0], id...)
		if err := rows.Scan(scan.args...); err != nil {
			return nil, nil, err
		}
		counts = append(counts, c)
		if _, ok := templates[c.TemplateID]; !ok {
			templates[c.TemplateID] = t.template()
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
