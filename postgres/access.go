package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// AccessStore loads users and what they may reach: memberships, permissions and
// organisations (DOMAIN.md §3.2).
type AccessStore struct {
	pool *pgxpool.Pool
}

var _ notifyql.AccessStore = (*AccessStore)(nil)

// NewAccessStore returns an AccessStore reading from pool.
func NewAccessStore(pool *pgxpool.Pool) *AccessStore {
	return &AccessStore{pool: pool}
}

// The user columns, in the order and under the names of notifyql.User's fields.
const userColumns = `id::text AS id, name, email_address, platform_admin, state`

// principalSQL loads who is asking in one statement: the active user, their
// organisations, and their memberships as two arrays of the same length, the service ids and
// each membership's database permissions joined by spaces. A membership with no permission
// rows is still a membership: its permissions are the empty string.
const principalSQL = `
SELECT users.id::text, users.name, users.email_address, users.platform_admin, users.state,
       ARRAY(SELECT organisation_id::text
               FROM user_to_organisation
              WHERE user_id = users.id
              ORDER BY organisation_id) AS organisation_ids,
       memberships.service_ids, memberships.permissions
  FROM users
 CROSS JOIN LATERAL (
       SELECT coalesce(array_agg(service_id::text ORDER BY service_id), '{}') AS service_ids,
              coalesce(array_agg(held ORDER BY service_id), '{}') AS permissions
         FROM (SELECT user_to_service.service_id,
                      coalesce((SELECT string_agg(permission, ' ' ORDER BY permission)
                                  FROM permissions
                                 WHERE permissions.user_id = user_to_service.user_id
                                   AND permissions.service_id = user_to_service.service_id), '') AS held
                 FROM user_to_service
                WHERE user_to_service.user_id = users.id) AS membership
       ) AS memberships
 WHERE users.id = $1 AND users.state = 'active'`

// Principal returns the active user with that id, their memberships with the UI permissions
// held on each, and their organisations, in one statement. It returns ENOTFOUND when no
// active user has that id (including when userID is not a UUID).
func (s *AccessStore) Principal(ctx context.Context, userID string) (*notifyql.Principal, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "user not found")
	}
	var (
		principal                   notifyql.Principal
		organisations, serviceIDs   []string
		permissionsOfEachMembership []string
	)
	u := &principal.User
	err := s.pool.QueryRow(ctx, principalSQL, userID).Scan(&u.ID, &u.Name, &u.EmailAddress, &u.PlatformAdmin, &u.State,
		&organisations, &serviceIDs, &permissionsOfEachMembership)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "user not found")
	case err != nil:
		return nil, fmt.Errorf("load principal %s: %w", userID, err)
	case len(serviceIDs) != len(permissionsOfEachMembership):
		return nil, fmt.Errorf("load principal %s: %d memberships but %d permission lists", userID, len(serviceIDs), len(permissionsOfEachMembership))
	}
	principal.Services = make(map[string]notifyql.ServiceAccess, len(serviceIDs))
	for i, id := range serviceIDs {
		held := strings.Fields(permissionsOfEachMembership[i])
		principal.Services[id] = notifyql.ServiceAccess{Permissions: notifyql.UIPermissionsFrom(held)}
	}
	principal.Organisations = make(map[string]bool, len(organisations))
	for _, id := range organisations {
		principal.Organisations[id] = true
	}
	return &principal, nil
}

const usersByIDsSQL = `
SELECT ` + userColumns + `
FROM users
WHERE id = ANY($1::uuid[])`

// UsersByIDs returns the users that exist among ids, in any order, whatever their state:
// a departed user still appears as the sender of what they sent. Ids that are not UUIDs
// name no user and are skipped.
func (s *AccessStore) UsersByIDs(ctx context.Context, ids []string) ([]*notifyql.User, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return []*notifyql.User{}, nil
	}
	rows, err := queryGenericPlan(ctx, s.pool, usersByIDsSQL, valid)
	if err != nil {
		return nil, fmt.Errorf("load %d users: %w", len(valid), err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[notifyql.User])
	if err != nil {
		return nil, fmt.Errorf("load %d users: %w", len(valid), err)
	}
	return users, nil
}

// email_address is unique as written, so rows may differ only in case: the exact match
// wins, then address order keeps the answer stable.
const userByEmailSQL = `
SELECT ` + userColumns + `
FROM users
WHERE lower(email_address) = lower($1)
ORDER BY email_address = $1 DESC, email_address
LIMIT 1`

// UserByEmail returns the user whose email address matches, ignoring case, whatever their
// state. It returns ENOTFOUND when there is none. Neither error repeats the address.
func (s *AccessStore) UserByEmail(ctx context.Context, email string) (*notifyql.User, error) {
	rows, err := s.pool.Query(ctx, userByEmailSQL, email)
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	user, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[notifyql.User])
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "no user has that email address")
	case err != nil:
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	return user, nil
}
