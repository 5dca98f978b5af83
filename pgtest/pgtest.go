// Package pgtest creates throwaway, migrated PostgreSQL databases for tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"notifyql/migrations"
)

const (
	// BaseURLEnv names the variable holding the URL of a database to administer from. Test
	// databases are created beside it on the same server.
	BaseURLEnv     = "NOTIFYQL_TEST_DATABASE_URL"
	defaultBaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

	// templateLockKey is the advisory lock that guards template databases. Cloning holds it
	// shared, so test binaries clone concurrently; building or dropping a template holds it
	// exclusively.
	templateLockKey int64 = 0x6e71_7465_7374 // "nqtest"

	templatePrefix = "notifyql_tpl_"
	testPrefix     = "notifyql_test_"
	adminTimeout   = 2 * time.Minute
)

// NewDatabase returns the URL of a fresh database with every migration applied. The
// database is dropped when the test ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, true)
}

// NewEmptyDatabase returns the URL of a fresh database with no notifyql schema, for tests
// of migrations themselves. The database is dropped when the test ends.
func NewEmptyDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, false)
}

// NewPool returns a pool connected to a fresh, migrated database. The pool is closed and
// the database dropped when the test ends.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	databaseURL := NewDatabase(tb)
	pool, err := pgxpool.New(context.Background(), databaseURL)
	if err != nil {
		tb.Fatalf("pgtest: open pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func newDatabase(tb testing.TB, migrated bool) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()

	base := baseURL()
	name := testPrefix + randomHex(tb)
	databaseURL, err := withDatabase(base, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s (set %s): %v", redacted(base), BaseURLEnv, err)
	}
	defer admin.Close(ctx)

	source := "template0"
	if migrated {
		source, err = lockedTemplate(ctx, admin, base)
		if err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		defer unlockShared(admin)
	}
	// The cleanup is registered before the database exists so that a failure half-way
	// through still drops whatever was created.
	tb.Cleanup(func() { dropDatabase(tb, base, name) })
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
		" TEMPLATE "+pgx.Identifier{source}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database from %s: %v", source, err)
	}
	return databaseURL
}

// lockedTemplate returns the name of the migrated template database for the embedded
// migrations, building it first if no test binary has yet. It returns holding the shared
// template lock, which the caller releases once it has cloned the template.
func lockedTemplate(ctx context.Context, admin *pgx.Conn, base string) (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := templatePrefix + hash
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock_shared($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("lock templates: %w", err)
	}
	ready, err := templateReady(ctx, admin, name)
	if err != nil || ready {
		if err != nil {
			unlockShared(admin)
		}
		return name, err
	}
	unlockShared(admin)

	if err := buildTemplate(ctx, admin, base, name); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock_shared($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("lock templates: %w", err)
	}
	return name, nil
}

// buildTemplate migrates a new template database under the exclusive lock, unless another
// test binary built it while this one waited for the lock.
func buildTemplate(ctx context.Context, admin *pgx.Conn, base, name string) (err error) {
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return fmt.Errorf("lock templates: %w", err)
	}
	defer func() {
		if _, unlockErr := admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLockKey); unlockErr != nil {
			err = errors.Join(err, fmt.Errorf("unlock templates: %w", unlockErr))
		}
	}()
	ready, err := templateReady(ctx, admin, name)
	if err != nil || ready {
		return err
	}
	// Templates of other migration sets are stale, as is a half-built one of this set.
	stale, err := staleTemplates(ctx, admin)
	if err != nil {
		return err
	}
	for _, old := range stale {
		if err := dropTemplate(ctx, admin, old); err != nil {
			return err
		}
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create template %s: %w", name, err)
	}
	templateURL, err := withDatabase(base, name)
	if err != nil {
		return err
	}
	if err := migrate(ctx, templateURL); err != nil {
		return fmt.Errorf("migrate template %s: %w", name, err)
	}
	// Marking it a template that takes no connections is what makes it ready, and keeps
	// anyone from holding a connection that would stop it being cloned.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+
		" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("mark template %s: %w", name, err)
	}
	return nil
}

func templateReady(ctx context.Context, admin *pgx.Conn, name string) (bool, error) {
	var ready bool
	err := admin.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&ready)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find template %s: %w", name, err)
	}
	return ready, nil
}

func staleTemplates(ctx context.Context, admin *pgx.Conn) ([]string, error) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, templatePrefix)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	return names, nil
}

func dropTemplate(ctx context.Context, admin *pgx.Conn, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE false"); err != nil {
		return fmt.Errorf("unmark template %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop template %s: %w", name, err)
	}
	return nil
}

// migrate applies the embedded migrations with goose. pgtest does this itself, rather than
// through package postgres, so that tests inside package postgres can import pgtest.
func migrate(ctx context.Context, databaseURL string) error {
	config, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	db := stdlib.OpenDB(*config)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return err
	}
	return nil
}

// migrationsHash identifies the embedded migrations: any change to a file name or its
// contents gives a new template.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(content))
		h.Write(content)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func dropDatabase(tb testing.TB, base, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Errorf("pgtest: connect to drop %s: %v", name, err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		tb.Errorf("pgtest: drop %s: %v", name, err)
	}
}

func unlockShared(admin *pgx.Conn) {
	// Closing the connection releases the lock too, so a failure here only delays others.
	admin.Exec(context.Background(), "SELECT pg_advisory_unlock_shared($1)", templateLockKey)
}

func baseURL() string {
	if u := os.Getenv(BaseURLEnv); u != "" {
		return u
	}
	return defaultBaseURL
}

// withDatabase returns base with its database name replaced.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("%s must be a postgres:// URL", BaseURLEnv)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// redacted hides any password in a URL before it reaches test output.
func redacted(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func randomHex(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("pgtest: random name: %v", err)
	}
	return hex.EncodeToString(b)
}
