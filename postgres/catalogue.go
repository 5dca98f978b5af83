package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// CatalogueStore reads what notifications point at: templates, their versions, jobs and
// API keys. Every method is one query, for the dataloaders.
type CatalogueStore struct {
	pool *pgxpool.Pool
}

var _ notifyql.CatalogueStore = (*CatalogueStore)(nil)

// NewCatalogueStore returns a CatalogueStore that queries through pool.
func NewCatalogueStore(pool *pgxpool.Pool) *CatalogueStore {
	return &CatalogueStore{pool: pool}
}

// templateColumnsOf lists a template's columns, qualified by alias, in the order
// templateDest scans them.
func templateColumnsOf(alias string) string {
	return strings.ReplaceAll(`T.id, T.service_id, T.name, T.template_type, T.version, T.hidden, T.archived, T.postage,
       T.created_at, T.updated_at`, "T.", alias+".")
}

// templateDest is where a row of templateColumnsOf goes: explicit destinations, since the
// dashboard reads a template per row of its statistics.
func templateDest(t *notifyql.Template) []any {
	return []any{&t.ID, &t.ServiceID, &t.Name, &t.Type, &t.Version, &t.Hidden, &t.Archived, &t.Postage,
		&t.CreatedAt, &t.UpdatedAt}
}

// nullableTemplate holds templateColumnsOf's columns from a LEFT JOIN, which are all NULL
// when the template has gone.
type nullableTemplate struct {
	id, serviceID, name, typ *string
	version                  *int
	hidden, archived         *bool
	postage                  *notifyql.Postage
	createdAt, updatedAt     *time.Time
}

func (t *nullableTemplate) dest() []any {
	return []any{&t.id, &t.serviceID, &t.name, &t.typ, &t.version, &t.hidden, &t.archived, &t.postage,
		&t.createdAt, &t.updatedAt}
}

// template returns the scanned template, or nil when the join found none.
func (t *nullableTemplate) template() *notifyql.Template {
	if t.id == nil {
		return nil
	}
	return &notifyql.Template{ID: *t.id, ServiceID: *t.serviceID, Name: *t.name, Type: notifyql.NotificationType(*t.typ),
		Version: *t.version, Hidden: *t.hidden, Archived: *t.archived, Postage: t.postage, CreatedAt: *t.createdAt,
		UpdatedAt: t.updatedAt}
}

var templatesByIDsSQL = `
SELECT ` + templateColumnsOf("t") + `
  FROM templates t
 WHERE t.id = ANY($1)`

// TemplatesByIDs returns the current version of the templates that exist among ids, in any
// order.
func (s *CatalogueStore) TemplatesByIDs(ctx context.Context, ids []string) ([]*notifyql.Template, error) {
	ids = uuidsOnly(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := queryGenericPlan(ctx, s.pool, templatesByIDsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load %d templates: %w", len(ids), err)
	}
	templates, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*notifyql.Template, error) {
		t := &notifyql.Template{}
		return t, row.Scan(templateDest(t)...)
	})
	if err != nil {
		return nil, fmt.Errorf("load %d templates: %w", len(ids), err)
	}
	return templates, nil
}

// The keys arrive as two parallel arrays; IN rather than a join so that a key asked for
// twice still yields one row.
const templateVersionsSQL = `
SELECT id, version, name, template_type AS type, hidden
  FROM templates_history
 WHERE (id, version) IN (SELECT * FROM unnest($1::uuid[], $2::integer[]))`

// TemplateVersions returns the templates_history rows that exist among keys, in any order.
func (s *CatalogueStore) TemplateVersions(ctx context.Context, keys []notifyql.TemplateVersionKey) ([]*notifyql.TemplateVersion, error) {
	ids := make([]string, 0, len(keys))
	versions := make([]int32, 0, len(keys))
	for _, key := range keys {
		if notifyql.IsUUID(key.ID) {
			ids = append(ids, notifyql.NormaliseID(key.ID))
			versions = append(versions, int32(key.Version))
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := queryGenericPlan(ctx, s.pool, templateVersionsSQL, ids, versions)
	if err != nil {
		return nil, fmt.Errorf("load %d template versions: %w", len(ids), err)
	}
	templateVersions, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*notifyql.TemplateVersion, error) {
		v := &notifyql.TemplateVersion{}
		return v, row.Scan(&v.ID, &v.Version, &v.Name, &v.Type, &v.Hidden)
	})
	if err != nil {
		return nil, fmt.Errorf("load %d template versions: %w", len(ids), err)
	}
	return templateVersions, nil
}

const jobsByIDsSQL = `
SELECT id, service_id, template_id, template_version, original_file_name, notification_count,
       job_status AS status, scheduled_for, created_by_id, created_at, archived
  FROM jobs
 WHERE id = ANY($1)`

// JobsByIDs returns the jobs that exist among ids, in any order.
func (s *CatalogueStore) JobsByIDs(ctx context.Context, ids []string) ([]*notifyql.Job, error) {
	ids = uuidsOnly(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	jobs, err := collectStructs[notifyql.Job](ctx, s.pool, jobsByIDsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load %d jobs: %w", len(ids), err)
	}
	return jobs, nil
}

// The secret column is never selected.
const apiKeysByIDsSQL = `
SELECT id, service_id, name, key_type, expiry_date
  FROM api_keys
 WHERE id = ANY($1)`

// APIKeysByIDs returns the API keys that exist among ids, in any order, without secrets.
func (s *CatalogueStore) APIKeysByIDs(ctx context.Context, ids []string) ([]*notifyql.APIKey, error) {
	ids = uuidsOnly(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	keys, err := collectStructs[notifyql.APIKey](ctx, s.pool, apiKeysByIDsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load %d API keys: %w", len(ids), err)
	}
	return keys, nil
}

// collectStructs runs a query whose columns are named after T's fields and returns one *T per row.
func collectStructs[T any](ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]*T, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[T])
}
