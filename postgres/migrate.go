package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"notifyql/migrations"
)

// migrationTable is where goose records applied versions (goose's default name).
const migrationTable = "goose_db_version"

// MigrateUp applies every embedded migration the database does not have yet. Instances
// starting together are serialised by a PostgreSQL advisory lock.
func MigrateUp(ctx context.Context, databaseURL string) error {
	return withMigrator(ctx, databaseURL, func(p *goose.Provider) error {
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		return nil
	})
}

// MigrateDown rolls back the newest applied migration, one step.
func MigrateDown(ctx context.Context, databaseURL string) error {
	return withMigrator(ctx, databaseURL, func(p *goose.Provider) error {
		if _, err := p.Down(ctx); err != nil {
			if errors.Is(err, goose.ErrNoNextVersion) {
				return errors.New("migrate down: no migration is applied")
			}
			return fmt.Errorf("migrate down: %w", err)
		}
		return nil
	})
}

// MigrationStatus writes a table of every embedded migration and when it was applied.
func MigrationStatus(ctx context.Context, databaseURL string, w io.Writer) error {
	return withMigrator(ctx, databaseURL, func(p *goose.Provider) error {
		statuses, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migration status: %w", err)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT (UTC)\tFILE")
		for _, s := range statuses {
			appliedAt := "-"
			if s.State == goose.StateApplied {
				appliedAt = s.AppliedAt.UTC().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Source.Version, s.State, appliedAt, s.Source.Path)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write migration status: %w", err)
		}
		return nil
	})
}

// CheckSchema returns nil if the database is at exactly the newest migration version this
// build embeds, and otherwise an error that tells the operator what to do.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	want, err := newestMigrationVersion()
	if err != nil {
		return err
	}
	var hasTable bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, migrationTable).Scan(&hasTable); err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	var have int64
	if hasTable {
		// goose deletes a version's row when it rolls it back, so the greatest is current.
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+migrationTable).Scan(&have); err != nil {
			return fmt.Errorf("check schema version: %w", err)
		}
	}
	switch {
	case have == 0:
		return errors.New("database has no notifyql schema: run `notifyql migrate up`")
	case have < want:
		return fmt.Errorf("database schema is at version %d but this build expects %d: run `notifyql migrate up`", have, want)
	case have > want:
		return fmt.Errorf("database schema version %d is newer than this build knows (%d): upgrade notifyql", have, want)
	}
	return nil
}

// newestMigrationVersion is the greatest version among the embedded migration files.
func newestMigrationVersion() (int64, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return 0, fmt.Errorf("list migrations: %w", err)
	}
	var newest int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", name, err)
		}
		newest = max(newest, v)
	}
	if newest == 0 {
		return 0, errors.New("this build embeds no migrations")
	}
	return newest, nil
}

// withMigrator runs fn with a goose provider over the embedded migrations. goose needs
// database/sql, so the pgx stdlib adapter is used here and nowhere else.
func withMigrator(ctx context.Context, databaseURL string, fn func(*goose.Provider) error) error {
	config, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	db := stdlib.OpenDB(*config)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	provider, err := newMigrator(db)
	if err != nil {
		return err
	}
	return fn(provider)
}

func newMigrator(db *sql.DB) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return provider, nil
}
