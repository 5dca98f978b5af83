package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"notifyql"
)

// Finding notifications by id (a notification's page, node(id), a subscription's first
// answer) is one statement: each notification with its service's row, which the
// permission check reads, and what the operation's selection asks for beside it (the rows
// it points at, its service's facts, its status history). What is not asked for is not
// read: the service's facts alone cost PostgreSQL more than the rest of a detail's
// statement.

// byIDStatement names one of the statements: what it includes, whether it looks in given
// services only, and whether it finds one id or many.
type byIDStatement struct {
	include notifyql.NotificationIncludes
	scoped  bool
	many    bool
}

// byIDStatements keeps each statement's text once built: there are a few dozen at most.
var byIDStatements sync.Map // byIDStatement → byIDText

type byIDText struct {
	sql string
	// joins are the related rows' joins, in the order of their columns.
	joins []relatedJoin
}

// text returns the statement's SQL. Its parameters are $1, the id (or uuid[] of ids),
// then, in this order and only when used, the services to look in (uuid[]) and the API
// keys' cutoff (now − 7 days) for the service's facts.
func (st byIDStatement) text() byIDText {
	if t, ok := byIDStatements.Load(st); ok {
		return t.(byIDText)
	}
	var (
		columns = []string{notificationColumnsOf("n"), serviceRowColumns}
		from    = []string{"notifications n", "JOIN services s ON s.id = n.service_id"}
		where   = "n.id = $1"
		next    = 2
	)
	if st.many {
		where = "n.id = ANY($1::uuid[])"
	}
	if st.scoped {
		where += "\n   AND n.service_id = ANY($" + strconv.Itoa(next) + "::uuid[])"
		next++
	}
	if st.include.ServiceFacts {
		columns = append(columns, serviceFactsColumns("$"+strconv.Itoa(next)))
	}
	joins := relatedJoins(st.include.RelatedIncludes)
	for _, j := range joins {
		c, join := j.sql("n")
		columns = append(columns, c)
		from = append(from, join)
	}
	if st.include.StatusHistory {
		columns = append(columns, "sh.statuses, sh.ats")
		from = append(from, statusHistoryJoin)
	}
	t := byIDText{
		sql: "SELECT " + strings.Join(columns, ",\n       ") +
			"\n  FROM " + strings.Join(from, "\n  ") +
			"\n WHERE " + where,
		joins: joins,
	}
	byIDStatements.Store(st, t)
	return t
}

// statusHistoryJoin reads a notification's status changes as two arrays, oldest first,
// ties broken by the order they were written, as StatusHistory orders them.
const statusHistoryJoin = `LEFT JOIN LATERAL (SELECT array_agg(h.status ORDER BY h.at, h.id) AS statuses,
                           array_agg(h.at ORDER BY h.at, h.id) AS ats
                      FROM notification_status_history h
                     WHERE h.notification_id = n.id) sh ON true`

// args returns the statement's arguments for ids (a string or a []string).
func (st byIDStatement) args(ids any, scope notifyql.NotificationScope, now time.Time) []any {
	args := []any{ids}
	if st.scoped {
		args = append(args, serviceIDsArg(scope.ServiceIDs))
	}
	if st.include.ServiceFacts {
		args = append(args, keyCutoff(now))
	}
	return args
}

// byIDRow holds one row of a by-id statement while it is scanned.
type byIDRow struct {
	n        notifyql.Notification
	service  serviceWithFactsScan
	statuses []string
	ats      []time.Time
}

// dest returns the destinations of the statement's columns, in their order.
func (r *byIDRow) dest(st byIDStatement, t byIDText, strs *rowStrings) []any {
	dest := append(notificationDest(&r.n), serviceDest(&r.service.service)...)
	if st.include.ServiceFacts {
		dest = append(dest, r.service.factsDest()...)
	}
	dest = relatedDest(dest, t.joins, strs)
	if st.include.StatusHistory {
		dest = append(dest, &r.statuses, &r.ats)
	}
	return dest
}

// add records what the row read beside its notification in related.
func (r *byIDRow) add(st byIDStatement, t byIDText, related *notifyql.Related) {
	if st.include.ServiceFacts {
		related.Services = append(related.Services, r.service.result())
	} else {
		svc := r.service.service
		related.ServiceRows = append(related.ServiceRows, &svc)
	}
	addRelated(&r.n, t.joins, related)
	if st.include.StatusHistory {
		if related.StatusHistory == nil {
			related.StatusHistory = map[string][]notifyql.StatusChange{}
		}
		changes := make([]notifyql.StatusChange, len(r.statuses))
		for i, status := range r.statuses {
			changes[i] = notifyql.StatusChange{Status: notifyql.NotificationStatus(status), At: r.ats[i]}
		}
		related.StatusHistory[r.n.ID] = changes
	}
}

// NotificationsWithRelated is NotificationWithRelated for many ids in one statement: the
// notifications found among ids in scope, in any order, with their services and what
// include names. Ids that are not UUIDs, and those found nowhere in scope, are simply
// absent.
func (s *NotificationStore) NotificationsWithRelated(ctx context.Context, ids []string, scope notifyql.NotificationScope, include notifyql.NotificationIncludes, now time.Time) ([]*notifyql.Notification, *notifyql.Related, error) {
	ids = uuidsOnly(ids)
	related := &notifyql.Related{}
	if len(ids) == 0 {
		return nil, related, nil
	}
	st := byIDStatement{include: include, scoped: !scope.AnyService, many: true}
	t := st.text()
	rows, err := s.pool.Query(ctx, t.sql, st.args(ids, scope, now)...)
	if err != nil {
		return nil, nil, fmt.Errorf("load %d notifications: %w", len(ids), err)
	}
	defer rows.Close()
	var found []*notifyql.Notification
	strs := newRowStrings()
	scan := scanWith(t.sql)
	for rows.Next() {
		var r byIDRow
		scan.to = r.dest(st, t, strs)
		if err := rows.Scan(scan.args...); err != nil {
			return nil, nil, fmt.Errorf("load %d notifications: %w", len(ids), err)
		}
		r.add(st, t, related)
		found = append(found, &r.n)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load %d notifications: %w", len(ids), err)
	}
	return found, related, nil
}

// NotificationWithRelated returns the notification with id, found where scope says, with
// its service and what include names (the service's facts at now, the rows it points at,
// its status history), in one statement. It returns ENOTFOUND when there is no such
// notification in scope, including when id is not a UUID; a notification of another
// service and an id that does not exist cost the same one statement.
func (s *NotificationStore) NotificationWithRelated(ctx context.Context, id string, scope notifyql.NotificationScope, include notifyql.NotificationIncludes, now time.Time) (*notifyql.Notification, *notifyql.Related, error) {
	if !notifyql.IsUUID(id) {
		return nil, nil, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
	}
	st := byIDStatement{include: include, scoped: !scope.AnyService}
	t := st.text()
	var r byIDRow
	if err := s.pool.QueryRow(ctx, t.sql, st.args(id, scope, now)...).Scan(&planned{statement: t.sql, to: r.dest(st, t, newRowStrings())}); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, notifyql.Errorf(notifyql.ENOTFOUND, "notification not found")
		}
		return nil, nil, fmt.Errorf("load notification %s: %w", id, err)
	}
	related := &notifyql.Related{}
	r.add(st, t, related)
	return &r.n, related, nil
}
