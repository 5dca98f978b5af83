package postgres

import (
	"context"
	"errors"
	"fmt"

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

const activeUserWithOrganisationsSQL = `
SELECT ` + userColumns + `,
       ARRAY(SELECT organisation_id::text
             FROM user_to_organisation
             WHERE user_id = users.id
             ORDER BY organisation_id) AS organisation_ids
FROM users
WHERE id = $1 AND state = 'active'`

// A membership with no permission rows is still a membership: hence the LEFT JOIN and the
// empty array in place of {NULL}.
const membershipsSQL = `
SELECT user_to_service.service_id::text AS service_id,
       COALESCE(array_agg(permissions.permission ORDER BY permissions.permission)
                    FILTER (WHERE permissions.permission IS NOT NULL),
                '{}') AS db_permissions
FROM user_to_service
LEFT JOIN permissions
       ON permissions.user_id = user_to_service.user_id
      AND permissions.service_id = user_to_service.service_id
WHERE user_to_service.user_id = $1
GROUP BY user_to_service.service_id`

type principalUserRow struct {
	notifyql.User
	OrganisationIDs []string
}

type membershipRow struct {
	ServiceID     string
	DBPermissions []string
}

// Principal returns the active user with that id, their memberships with the UI permissions
// held on each, and their organisations. It returns ENOTFOUND when no active user has that
// id (including when userID is not a UUID).
func (s *AccessStore) Principal(ctx context.Context, userID string) (*notifyql.Principal, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "user not found")
	}
	// One round trip: the user (with organisations) and their memberships.
	batch := &pgx.Batch{}
	var user principalUserRow
	batch.Queue(activeUserWithOrganisationsSQL, userID).Query(func(rows pgx.Rows) error {
		var err error
		user, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[principalUserRow])
		return err
	})
	var memberships []membershipRow
	batch.Queue(membershipsSQL, userID).Query(func(rows pgx.Rows) error {
		var err error
		memberships, err = pgx.CollectRows(rows, pgx.RowToStructByName[membershipRow])
		return err
	})
	err := s.pool.SendBatch(ctx, batch).Close()
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, notifyql.Errorf(notifyql.ENOTFOUND, "user not found")
	case err != nil:
		return nil, fmt.Errorf("load principal %s: %w", userID, err)
	}

	principal := &notifyql.Principal{
		User:          user.User,
		Services:      make(map[string]notifyql.ServiceAccess, len(memberships)),
		Organisations: make(map[string]bool, len(user.OrganisationIDs)),
	}
	for _, m := range memberships {
		principal.Services[m.ServiceID] = notifyql.ServiceAccess{Permissions: notifyql.UIPermissionsFrom(m.DBPermissions)}
	}
	for _, id := range user.OrganisationIDs {
		principal.Organisations[id] = true
	}
	return principal, nil
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
	rows, err := s.pool.Query(ctx, usersByIDsSQL, valid)
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
