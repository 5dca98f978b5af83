package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// database is the soak's own PostgreSQL database, created, migrated and loaded with the
// demo data for one run and dropped after it.
type database struct {
	name  string
	admin string // the maintenance database's URL, where it is created and dropped from
	url   string // the soak database's URL
}

// createDatabase makes notifyql_soak_<random> on the server of adminURL, migrates it and
// loads the demo profile, all with the notifyql binary as an operator would.
func createDatabase(ctx context.Context, adminURL, binary string) (*database, error) {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	d := &database{name: "notifyql_soak_" + hex.EncodeToString(suffix), admin: adminURL}
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, fmt.Errorf("NOTIFYQL_SOAK_POSTGRES_URL: %w", err)
	}
	u.Path = "/" + d.name
	d.url = u.String()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL to create the soak database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{d.name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create %s: %w", d.name, err)
	}
	for _, args := range [][]string{{"migrate", "up"}, {"seed", "--profile", "demo"}} {
		cmd := exec.CommandContext(ctx, binary, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + d.url}
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = d.drop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("notifyql %v: %w\n%s", args, err, out)
		}
	}
	return d, nil
}

// urlFor is the database's URL naming the connecting program, so that pg_stat_activity
// tells the server's connections from the simulator's and the soak's own.
func (d *database) urlFor(applicationName string) string {
	u, _ := url.Parse(d.url)
	q := u.Query()
	q.Set("application_name", applicationName)
	u.RawQuery = q.Encode()
	return u.String()
}

// drop removes the database, ending any session still in it.
func (d *database) drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL to drop %s: %w", d.name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", d.name, err)
	}
	return nil
}

// viewer is one demo user who may watch one active service's activity: a client's
// identity and the service it subscribes to and queries.
type viewer struct {
	email, serviceID, serviceName string
}

// viewers lists every (user, active service) pair of the demo data where the user has
// view_activity on the service, platform admins on every active service.
func viewers(ctx context.Context, pool *pgxpool.Pool) ([]viewer, error) {
	rows, err := pool.Query(ctx, `SELECT u.email_address, s.id, s.name
		FROM users u JOIN services s ON s.active
		WHERE u.state = 'active' AND (u.platform_admin OR EXISTS (
			SELECT 1 FROM permissions p
			WHERE p.user_id = u.id AND p.service_id = s.id AND p.permission = 'view_activity'))
		ORDER BY u.email_address, s.name`)
	if err != nil {
		return nil, fmt.Errorf("list the demo viewers: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (viewer, error) {
		var v viewer
		err := row.Scan(&v.email, &v.serviceID, &v.serviceName)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("list the demo viewers: %w", err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("the demo data has no user with view_activity on an active service")
	}
	return list, nil
}
