package postgres

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"notifyql"
)

// relatedJoin reads, beside each notification of a statement, one kind of row it points
// at (its template version, job, creator or API key), so that the operation's loaders have
// them without a statement of their own. A LEFT JOIN on the row's primary key (lookup): a
// notification whose row has gone still comes back, and records the row as missing.
type relatedJoin interface {
	// sql returns the join's columns and its LEFT JOIN clause on the notification
	// aliased n.
	sql(n string) (columns, join string)
	// dest returns the destinations of the columns, scanned into the join's own fields,
	// the text that rows repeat through strings.
	dest(strings *rowStrings) []any
	// add records the scanned row, or its absence, for notification n in r.
	add(n *notifyql.Notification, r *notifyql.Related)
}

// relatedJoins returns the joins include asks for, in a fixed order.
func relatedJoins(include notifyql.RelatedIncludes) []relatedJoin {
	var joins []relatedJoin
	if include.TemplateVersions {
		joins = append(joins, &templateVersionJoin{})
	}
	if include.Jobs {
		joins = append(joins, &jobJoin{})
	}
	if include.CreatedBy {
		joins = append(joins, &userJoin{})
	}
	if include.APIKeys {
		joins = append(joins, &apiKeyJoin{})
	}
	return joins
}

// withRelated wraps a statement whose rows are notificationColumns, in the order its
// ORDER BY gives, so that each row is followed by the joins' columns. The statement runs
// first as it is (its LIMIT before the joins, so that the index walk that finds a page
// stays as it was) and the joins look up its few rows.
func withRelated(sql string, joins []relatedJoin) string {
	if len(joins) == 0 {
		return sql
	}
	var columns, clauses strings.Builder
	for _, j := range joins {
		c, clause := j.sql("page")
		columns.WriteString(",\n       " + c)
		clauses.WriteString("\n  " + clause)
	}
	return fmt.Sprintf("SELECT page.*%s\n  FROM (%s) page%s\n ORDER BY page.created_at DESC, page.id DESC",
		columns.String(), sql, clauses.String())
}

// relatedDest appends the joins' destinations to a notification's.
func relatedDest(dest []any, joins []relatedJoin, strings *rowStrings) []any {
	for _, j := range joins {
		dest = append(dest, j.dest(strings)...)
	}
	return dest
}

// addRelated records what each join scanned for n.
func addRelated(n *notifyql.Notification, joins []relatedJoin, r *notifyql.Related) {
	for _, j := range joins {
		j.add(n, r)
	}
}

// record puts key's row in *rows the first time a notification names it: build's row when
// the join found one, nil when it did not.
func record[K comparable, V any](rows *map[K]*V, key K, found bool, build func() *V) {
	if *rows == nil {
		*rows = make(map[K]*V)
	}
	if _, ok := (*rows)[key]; ok {
		return
	}
	if !found {
		(*rows)[key] = nil
		return
	}
	(*rows)[key] = build()
}

// lookup is a LEFT JOIN that finds a notification's row of table by its primary key, one
// index lookup per notification: the OFFSET 0 keeps PostgreSQL from turning the join into
// a hash of the whole table, which it costs as cheaper for a few hundred rows but which
// took 0.18 ms of a 50-row page's 0.28 ms on the bench database (649 template versions).
// A page's rows keep their order, so the page needs no sort after the joins.
func lookup(table, alias, on string) string {
	return "LEFT JOIN LATERAL (SELECT * FROM " + table + " " + alias + " WHERE " + on + " OFFSET 0) " + alias + " ON true"
}

// The joins' fields are pointers: a LEFT JOIN that found nothing fills them with NULLs.

// templateVersionJoin scans into values, not pointers, and its text through rowStrings: a
// page repeats a few templates on each of its rows, and a copy or a pointer costs an
// allocation for every row that has one. The version's id is the notification's
// template_id, which the join matched.
type templateVersionJoin struct {
	version   pgtype.Int4 // NULL when the join found no row
	name, typ *string
	hidden    pgtype.Bool
}

func (j *templateVersionJoin) sql(n string) (string, string) {
	return "tv.version, tv.name, tv.template_type, tv.hidden",
		lookup("templates_history", "tv", "tv.id = "+n+".template_id AND tv.version = "+n+".template_version")
}

func (j *templateVersionJoin) dest(strings *rowStrings) []any {
	return []any{&j.version, newSharedNullText(strings, &j.name), newSharedNullText(strings, &j.typ), &j.hidden}
}

func (j *templateVersionJoin) add(n *notifyql.Notification, r *notifyql.Related) {
	key := notifyql.TemplateVersionKey{ID: n.TemplateID, Version: n.TemplateVersion}
	record(&r.TemplateVersions, key, j.version.Valid, func() *notifyql.TemplateVersion {
		return &notifyql.TemplateVersion{ID: n.TemplateID, Version: int(j.version.Int32), Name: *j.name,
			Type: notifyql.NotificationType(*j.typ), Hidden: j.hidden.Bool}
	})
}

type jobJoin struct {
	id, serviceID, templateID, fileName, status *string
	templateVersion, count                      *int
	scheduledFor                                *time.Time
	createdByID                                 *string
	createdAt                                   *time.Time
	archived                                    *bool
}

func (j *jobJoin) sql(n string) (string, string) {
	return "j.id, j.service_id, j.template_id, j.template_version, j.original_file_name, j.notification_count, " +
			"j.job_status, j.scheduled_for, j.created_by_id, j.created_at, j.archived",
		lookup("jobs", "j", "j.id = "+n+".job_id")
}

func (j *jobJoin) dest(*rowStrings) []any {
	return []any{&j.id, &j.serviceID, &j.templateID, &j.templateVersion, &j.fileName, &j.count,
		&j.status, &j.scheduledFor, &j.createdByID, &j.createdAt, &j.archived}
}

func (j *jobJoin) add(n *notifyql.Notification, r *notifyql.Related) {
	if n.JobID == nil {
		return
	}
	record(&r.Jobs, *n.JobID, j.id != nil, func() *notifyql.Job {
		return &notifyql.Job{ID: *j.id, ServiceID: *j.serviceID, TemplateID: *j.templateID,
			TemplateVersion: *j.templateVersion, OriginalFileName: *j.fileName, NotificationCount: *j.count,
			Status: *j.status, ScheduledFor: j.scheduledFor, CreatedByID: j.createdByID, CreatedAt: *j.createdAt,
			Archived: *j.archived}
	})
}

type userJoin struct {
	id, name, email, state *string
	platformAdmin          *bool
}

// The columns are AccessStore.UsersByIDs'; the email address is personal data, read for
// the User the loader holds and never logged.
func (j *userJoin) sql(n string) (string, string) {
	return "u.id, u.name, u.email_address, u.platform_admin, u.state",
		lookup("users", "u", "u.id = "+n+".created_by_id")
}

func (j *userJoin) dest(*rowStrings) []any {
	return []any{&j.id, &j.name, &j.email, &j.platformAdmin, &j.state}
}

func (j *userJoin) add(n *notifyql.Notification, r *notifyql.Related) {
	if n.CreatedByID == nil {
		return
	}
	record(&r.Users, *n.CreatedByID, j.id != nil, func() *notifyql.User {
		return &notifyql.User{ID: *j.id, Name: *j.name, EmailAddress: *j.email,
			PlatformAdmin: *j.platformAdmin, State: *j.state}
	})
}

type apiKeyJoin struct {
	id, serviceID, name, keyType *string
	expiryDate                   *time.Time
}

// The secret column is never selected.
func (j *apiKeyJoin) sql(n string) (string, string) {
	return "k.id, k.service_id, k.name, k.key_type, k.expiry_date",
		lookup("api_keys", "k", "k.id = "+n+".api_key_id")
}

func (j *apiKeyJoin) dest(*rowStrings) []any {
	return []any{&j.id, &j.serviceID, &j.name, &j.keyType, &j.expiryDate}
}

func (j *apiKeyJoin) add(n *notifyql.Notification, r *notifyql.Related) {
	if n.APIKeyID == nil {
		return
	}
	record(&r.APIKeys, *n.APIKeyID, j.id != nil, func() *notifyql.APIKey {
		return &notifyql.APIKey{ID: *j.id, ServiceID: *j.serviceID, Name: *j.name,
			KeyType: notifyql.KeyType(*j.keyType), ExpiryDate: j.expiryDate}
	})
}
