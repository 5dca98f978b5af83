package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// ServiceStore reads services and the facts about them from PostgreSQL.
type ServiceStore struct {
	pool *pgxpool.Pool
}

var _ notifyql.ServiceStore = (*ServiceStore)(nil)

// NewServiceStore returns a ServiceStore that queries through pool.
func NewServiceStore(pool *pgxpool.Pool) *ServiceStore {
	return &ServiceStore{pool: pool}
}

// serviceSelectList is shared by every query that loads whole services, in the order
// serviceDest scans them.
const serviceSelectList = `
	id, name, active, restricted, organisation_id, organisation_type,
	coalesce(crown, false) AS crown, prefix_sms, created_at, go_live_at`

// serviceDest is where a row of serviceSelectList's columns goes: explicit destinations,
// since services are read on every operation and reflection would cost each one.
func serviceDest(s *notifyql.Service) []any {
	return []any{&s.ID, &s.Name, &s.Active, &s.Restricted, &s.OrganisationID, &s.OrganisationType,
		&s.Crown, &s.PrefixSMS, &s.CreatedAt, &s.GoLiveAt}
}

// collectServices runs a query of serviceSelectList's columns and returns its services.
func collectServices(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]*notifyql.Service, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var services []*notifyql.Service
	for rows.Next() {
		svc := &notifyql.Service{}
		if err := rows.Scan(serviceDest(svc)...); err != nil {
			return nil, err
		}
		services = append(services, svc)
	}
	return services, rows.Err()
}

const servicesByIDsSQL = `
SELECT ` + serviceSelectList + `
  FROM services
 WHERE id = ANY($1)`

// ServicesByIDs returns the services that exist among ids, in any order. Ids that are not
// UUIDs match nothing.
func (s *ServiceStore) ServicesByIDs(ctx context.Context, ids []string) ([]*notifyql.Service, error) {
	ids = uuidsOnly(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	services, err := collectServices(ctx, s.pool, servicesByIDsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load %d services: %w", len(ids), err)
	}
	return services, nil
}

// serviceWithFactsColumns are the columns of the services row aliased s followed by its
// facts, in the order scanServiceWithFacts reads them; keyCutoff is the parameter that
// holds now − 7 days, the oldest revocation that still counts as having a key (DOMAIN.md
// §3.7). The facts are small lookups by the service's id on their own indexes, so that
// whoever reads a service reads them in the same statement.
func serviceWithFactsColumns(keyCutoff string) string {
	return serviceRowColumns + ",\n       " + serviceFactsColumns(keyCutoff)
}

// serviceRowColumns are a service's own columns, aliased s, in serviceDest's order.
const serviceRowColumns = `s.id, s.name, s.active, s.restricted, s.organisation_id, s.organisation_type,
       coalesce(s.crown, false), s.prefix_sms, s.created_at, s.go_live_at`

// serviceFactsColumns are the facts about the service aliased s: its features, its
// retention as two arrays in the same order, and whether it has an API key unrevoked or
// revoked after keyCutoff.
func serviceFactsColumns(keyCutoff string) string {
	return `array(SELECT p.permission FROM service_permissions p WHERE p.service_id = s.id ORDER BY p.permission),
       array(SELECT r.notification_type FROM service_data_retention r WHERE r.service_id = s.id ORDER BY r.notification_type),
       array(SELECT r.days_of_retention FROM service_data_retention r WHERE r.service_id = s.id ORDER BY r.notification_type),
       EXISTS (SELECT FROM api_keys k WHERE k.service_id = s.id AND (k.expiry_date IS NULL OR k.expiry_date > ` + keyCutoff + `))`
}

// serviceWithFactsScan holds one row of serviceWithFactsColumns while it is scanned.
type serviceWithFactsScan struct {
	facts         notifyql.ServiceWithFacts
	service       notifyql.Service
	retentionType []string
	retentionDays []int32
}

// dest returns the destinations of serviceWithFactsColumns, in their order.
func (sc *serviceWithFactsScan) dest() []any {
	return append(serviceDest(&sc.service), sc.factsDest()...)
}

// factsDest returns the destinations of serviceFactsColumns, in their order.
func (sc *serviceWithFactsScan) factsDest() []any {
	return []any{&sc.facts.Features, &sc.retentionType, &sc.retentionDays, &sc.facts.HasAPIKeys}
}

// result returns the scanned service with its facts.
func (sc *serviceWithFactsScan) result() *notifyql.ServiceWithFacts {
	svc := sc.service
	facts := sc.facts
	facts.Service = &svc
	if facts.Features == nil {
		facts.Features = []string{}
	}
	facts.Retention = make(notifyql.Retention, len(sc.retentionType))
	for i, t := range sc.retentionType {
		facts.Retention[notifyql.NotificationType(t)] = int(sc.retentionDays[i])
	}
	return &facts
}

// keyCutoff is the oldest revocation that still counts as having an API key at now.
func keyCutoff(now time.Time) time.Time { return now.UTC().Add(-7 * 24 * time.Hour) }

var servicesWithFactsSQL = `
SELECT ` + serviceWithFactsColumns("$2") + `
  FROM services s
 WHERE s.id = ANY($1)`

// ServicesWithFactsByIDs returns the services that exist among ids with their features,
// retention and API-key presence at now, in any order, in one statement. Ids that are not
// UUIDs match nothing.
func (s *ServiceStore) ServicesWithFactsByIDs(ctx context.Context, ids []string, now time.Time) ([]*notifyql.ServiceWithFacts, error) {
	ids = uuidsOnly(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := queryGenericPlan(ctx, s.pool, servicesWithFactsSQL, ids, keyCutoff(now))
	if err != nil {
		return nil, fmt.Errorf("load %d services: %w", len(ids), err)
	}
	services, err := scanServicesWithFacts(rows)
	if err != nil {
		return nil, fmt.Errorf("load %d services: %w", len(ids), err)
	}
	return services, nil
}

// collectServicesWithFacts reads the rows of servicesWithFactsSQL, the next statement of a
// batch.
func collectServicesWithFacts(results pgx.BatchResults) ([]*notifyql.ServiceWithFacts, error) {
	rows, err := results.Query()
	if err != nil {
		rows.Close()
		return nil, err
	}
	return scanServicesWithFacts(rows)
}

// scanServicesWithFacts reads rows of serviceWithFactsColumns and closes them.
func scanServicesWithFacts(rows pgx.Rows) ([]*notifyql.ServiceWithFacts, error) {
	defer rows.Close()
	var (
		services []*notifyql.ServiceWithFacts
		sc       serviceWithFactsScan
		dest     = sc.dest()
	)
	for rows.Next() {
		sc = serviceWithFactsScan{}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		services = append(services, sc.result())
	}
	rows.Close()
	return services, rows.Err()
}

const allServicesSQL = `
SELECT ` + serviceSelectList + `
  FROM services
 ORDER BY name, id`

// A user opens the services they are a member of and, as an organisation user, every
// service of their organisations (DOMAIN.md §3.2).
const servicesForUserSQL = `
SELECT ` + serviceSelectList + `
  FROM services
 WHERE id = ANY($1) OR organisation_id = ANY($2)
 ORDER BY name, id`

// ServicesForUser returns the services the principal can open, ordered by name: every
// service for a platform admin, otherwise the services they are a member of plus the
// services of the organisations they belong to. Inactive services are included; the
// permission check decides what a user may do with them.
func (s *ServiceStore) ServicesForUser(ctx context.Context, p *notifyql.Principal) ([]*notifyql.Service, error) {
	if p == nil {
		return nil, nil
	}
	if p.User.PlatformAdmin {
		services, err := collectServices(ctx, s.pool, allServicesSQL)
		if err != nil {
			return nil, fmt.Errorf("load all services: %w", err)
		}
		return services, nil
	}
	memberOf := uuidsOnly(slices.Sorted(maps.Keys(p.Services)))
	var organisations []string
	for id, belongs := range p.Organisations {
		if belongs {
			organisations = append(organisations, id)
		}
	}
	organisations = uuidsOnly(organisations)
	if len(memberOf) == 0 && len(organisations) == 0 {
		return nil, nil
	}
	services, err := collectServices(ctx, s.pool, servicesForUserSQL, memberOf, organisations)
	if err != nil {
		return nil, fmt.Errorf("load services of user %s: %w", p.User.ID, err)
	}
	return services, nil
}

const featuresByServiceIDsSQL = `
SELECT service_id, permission
  FROM service_permissions
 WHERE service_id = ANY($1)
 ORDER BY service_id, permission`

// FeaturesByServiceIDs returns each service's switched-on features (service_permissions),
// sorted. A service with no features is absent from the map.
func (s *ServiceStore) FeaturesByServiceIDs(ctx context.Context, ids []string) (map[string][]string, error) {
	ids = uuidsOnly(ids)
	features := make(map[string][]string)
	if len(ids) == 0 {
		return features, nil
	}
	rows, err := queryGenericPlan(ctx, s.pool, featuresByServiceIDsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load features of %d services: %w", len(ids), err)
	}
	var serviceID, feature string
	_, err = pgx.ForEachRow(rows, []any{&serviceID, &feature}, func() error {
		features[serviceID] = append(features[serviceID], feature)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load features of %d services: %w", len(ids), err)
	}
	return features, nil
}

const retentionByServiceIDsSQL = `
SELECT service_id, notification_type, days_of_retention
  FROM service_data_retention
 WHERE service_id = ANY($1)`

// RetentionByServiceIDs returns each service's retention rows (DOMAIN.md §14). A service
// without rows is absent, and a type without a row is absent from its Retention, whose
// Days method supplies the default.
func (s *ServiceStore) RetentionByServiceIDs(ctx context.Context, ids []string) (map[string]notifyql.Retention, error) {
	ids = uuidsOnly(ids)
	retention := make(map[string]notifyql.Retention)
	if len(ids) == 0 {
		return retention, nil
	}
	rows, err := queryGenericPlan(ctx, s.pool, retentionByServiceIDsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load retention of %d services: %w", len(ids), err)
	}
	var (
		serviceID        string
		notificationType notifyql.NotificationType
		days             int
	)
	_, err = pgx.ForEachRow(rows, []any{&serviceID, &notificationType, &days}, func() error {
		if retention[serviceID] == nil {
			retention[serviceID] = make(notifyql.Retention)
		}
		retention[serviceID][notificationType] = days
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load retention of %d services: %w", len(ids), err)
	}
	return retention, nil
}

// A key counts while unrevoked or revoked less than 7 days ago (DOMAIN.md §3.7); $2 is
// now − 7 days.
const servicesWithAPIKeysSQL = `
SELECT DISTINCT service_id
  FROM api_keys
 WHERE service_id = ANY($1)
   AND (expiry_date IS NULL OR expiry_date > $2)`

// HasAPIKeysByServiceIDs reports, for each of ids, whether the service has an API key that
// is unrevoked or was revoked in the 7 days before now (DOMAIN.md §3.7). Every valid id
// has an entry.
func (s *ServiceStore) HasAPIKeysByServiceIDs(ctx context.Context, ids []string, now time.Time) (map[string]bool, error) {
	ids = uuidsOnly(ids)
	hasKeys := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return hasKeys, nil
	}
	for _, id := range ids {
		hasKeys[id] = false
	}
	rows, err := queryGenericPlan(ctx, s.pool, servicesWithAPIKeysSQL, ids, keyCutoff(now))
	if err != nil {
		return nil, fmt.Errorf("load API keys of %d services: %w", len(ids), err)
	}
	var serviceID string
	_, err = pgx.ForEachRow(rows, []any{&serviceID}, func() error {
		hasKeys[serviceID] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load API keys of %d services: %w", len(ids), err)
	}
	return hasKeys, nil
}

// uuidsOnly keeps the ids that are canonical UUIDs, lower-cased, so that one malformed id
// from a caller matches nothing instead of failing the whole batch, and so that results
// keyed by id use the same spelling PostgreSQL returns.
func uuidsOnly(ids []string) []string {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if notifyql.IsUUID(id) {
			valid = append(valid, notifyql.NormaliseID(id))
		}
	}
	return valid
}

const inboxSummariesSQL = `
SELECT s.id::text AS service_id,
       (SELECT count(*) FROM inbound_sms i WHERE i.service_id = s.id AND i.created_at >= $2) AS count,
       (SELECT max(i.created_at) FROM inbound_sms i WHERE i.service_id = s.id) AS most_recent
  FROM unnest($1::uuid[]) AS s (id)`

// InboxSummariesByServiceIDs counts each service's texts received since `since` and finds
// when the newest arrived (DOMAIN.md §5.4). Every valid id has an entry.
func (s *ServiceStore) InboxSummariesByServiceIDs(ctx context.Context, ids []string, since time.Time) (map[string]notifyql.InboxSummary, error) {
	ids = uuidsOnly(ids)
	summaries := make(map[string]notifyql.InboxSummary, len(ids))
	if len(ids) == 0 {
		return summaries, nil
	}
	rows, err := s.pool.Query(ctx, inboxSummariesSQL, ids, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("summarise the inbox of %d services: %w", len(ids), err)
	}
	var (
		serviceID string
		summary   notifyql.InboxSummary
	)
	_, err = pgx.ForEachRow(rows, []any{&serviceID, &summary.Count, &summary.MostRecent}, func() error {
		summaries[serviceID] = summary
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("summarise the inbox of %d services: %w", len(ids), err)
	}
	return summaries, nil
}
