package postgres

import (
	"context"
	"fmt"

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

const templatesByIDsSQL = `
SELECT id, service_id, name, template_type AS type, version, hidden, archived, postage,
       created_at, updated_at
  FROM templates
 WHERE id = ANY($1)`

// TemplatesByIDs returns the current version of the templates that exist among ids, in any
// order.
func (s *CatalogueStore) TemplatesByIDs(ctx context.Context, ids []string) ([]*notifyql.Template, error) {
	ids = uuidsOnly(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	templates, err := collectStructs[notifyql.Template](ctx, s.pool, templatesByIDsSQL, ids)
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
	templateVersions, err := collectStructs[notifyql.TemplateVersion](ctx, s.pool, templateVersionsSQL, ids, versions)
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
