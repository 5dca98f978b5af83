package harness

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

// Database is a load program's own PostgreSQL database, created, migrated and loaded with
// the demo data for one run and dropped after it.
type Database struct {
	Name  string
	admin string // the maintenance database's URL, where it is created and dropped from
	url   string // the database's URL
}

// CreateDatabase makes <prefix><random> on the server of adminURL, migrates it and loads
// the demo profile, all with the notifyql binary as an operator would.
func CreateDatabase(ctx context.Context, adminURL, prefix, binary string) (*Database, error) {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	d := &Database{Name: prefix + hex.EncodeToString(suffix), admin: adminURL}
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL URL: %w", err)
	}
	u.Path = "/" + d.Name
	d.url = u.String()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL to create the soak database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{d.Name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create %s: %w", d.Name, err)
	}
	for _, args := range [][]string{{"migrate", "up"}, {"seed", "--profile", "demo"}} {
		cmd := exec.CommandContext(ctx, binary, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + d.url}
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = d.Drop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("notifyql %v: %w\n%s", args, err, out)
		}
	}
	return d, nil
}

// URLFor is the database's URL naming the connecting program, so that pg_stat_activity
// tells the server's connections from the simulator's and the load program's own.
func (d *Database) URLFor(applicationName string) string {
	u, _ := url.Parse(d.url)
	q := u.Query()
	q.Set("application_name", applicationName)
	u.RawQuery = q.Encode()
	return u.String()
}

// Drop removes the database, ending any session still in it.
func (d *Database) Drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL to drop %s: %w", d.Name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", d.Name, err)
	}
	return nil
}

// Viewer is one demo user who may watch one active service's activity: a client's
// identity and the service it subscribes to and queries.
type Viewer struct {
	Email, ServiceID, ServiceName string
}

// Viewers lists every (user, active service) pair of the demo data where the user has
// view_activity on the service, platform admins on every active service.
func Viewers(ctx context.Context, pool *pgxpool.Pool) ([]Viewer, error) {
	rows, err := pool.Query(ctx, `SELECT u.email_address, s.id, s.name
		FROM users u JOIN services s ON s.active
		WHERE u.state = 'active' AND (u.platform_admin OR EXISTS (
			SELECT 1 FROM permissions p
			WHERE p.user_id = u.id AND p.service_id = s.id AND p.permission = 'view_activity'))
		ORDER BY u.email_address, s.name`)
	if err != nil {
		return nil, fmt.Errorf("list the demo viewers: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Viewer, error) {
		var v Viewer
		err := row.Scan(&v.Email, &v.ServiceID, &v.ServiceName)
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
