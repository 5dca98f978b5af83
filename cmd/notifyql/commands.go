package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"notifyql"
	"notifyql/postgres"
	"notifyql/postgres/seed"
	"notifyql/server"
)

// migrate changes or shows the schema of DATABASE_URL, or of the private database.
func migrate(ctx context.Context, e env, args []string) (err error) {
	fs := e.newFlagSet("migrate", "migrate up|down|status")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	action := fs.Arg(0)
	switch action {
	case "up", "down", "status":
	case "":
		fs.Usage()
		return usagef("migrate: say up, down or status")
	default:
		fs.Usage()
		return usagef("migrate: unknown action %q (want up, down or status)", action)
	}
	db, err := openDatabase(ctx, e.cfg, e.logger, true)
	if err != nil {
		return err
	}
	defer func() {
		if closeErr := db.Close(ctx); closeErr != nil {
			err = errors.Join(err, closeErr)
		}
	}()
	switch action {
	case "up":
		if err := postgres.MigrateUp(ctx, db.URL); err != nil {
			return err
		}
		e.logger.Info("schema is current")
		return nil
	case "down":
		return postgres.MigrateDown(ctx, db.URL)
	default:
		return postgres.MigrationStatus(ctx, db.URL, e.stdout)
	}
}

// seedDatabase fills an empty database with generated data and prints what it loaded.
func seedDatabase(ctx context.Context, e env, args []string) (err error) {
	fs := e.newFlagSet("seed", "seed --profile demo|bench [--seed N] [--scale F]")
	profile := fs.String("profile", "", "data set to generate: `demo` or bench")
	seedValue := fs.Int64("seed", 1, "random seed: the same seed gives the same data")
	scale := fs.Float64("scale", 1, "multiplies the bench volumes")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *profile != seed.Demo && *profile != seed.Bench {
		fs.Usage()
		return usagef("seed: --profile must be %s or %s", seed.Demo, seed.Bench)
	}
	if *scale <= 0 {
		return usagef("seed: --scale must be positive")
	}
	pool, closeDatabase, err := openCommandPool(ctx, e)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeDatabase()) }()
	report, err := seed.Load(ctx, pool, seed.Options{
		Profile: *profile, Seed: *seedValue, Now: time.Now().UTC(), Logger: e.logger, Scale: *scale,
	})
	if err != nil {
		if notifyql.ErrorCode(err) == notifyql.ECONFLICT {
			return errors.New(notifyql.ErrorMessage(err))
		}
		return err
	}
	return printSeedReport(e, report)
}

func printSeedReport(e env, report *seed.Report) error {
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "seeded profile %s with seed %d in %s\n\n", report.Profile, report.Seed, report.Elapsed.Round(time.Millisecond))
	fmt.Fprintln(w, "table\trows")
	for _, c := range report.Counts {
		fmt.Fprintf(w, "%s\t%d\n", c.Table, c.Rows)
	}
	if len(report.Users) > 0 {
		// Generated users have addresses on reserved example domains: they belong to nobody.
		fmt.Fprintln(w, "\nuser\temail\twhat they can do")
		for _, u := range report.Users {
			fmt.Fprintf(w, "%s\t%s\t%s\n", u.Name, u.Email, u.Summary)
		}
	}
	return w.Flush()
}

// token prints a sign-in JWT for the user with an email address, so a developer can call
// the API as them.
func token(ctx context.Context, e env, args []string) (err error) {
	fs := e.newFlagSet("token", "token --email ADDRESS [--ttl 12h]")
	email := fs.String("email", "", "the user's email `address` (any case)")
	// 12 hours covers a working day, unless configuration allows less.
	defaultTTL := 12 * time.Hour
	if maxTTL := e.cfg.Tokens.MaxTTL; maxTTL > 0 && maxTTL < defaultTTL {
		defaultTTL = maxTTL
	}
	ttl := fs.Duration("ttl", defaultTTL, "how long the token is valid, at most NOTIFYQL_TOKEN_MAX_TTL")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if strings.TrimSpace(*email) == "" {
		fs.Usage()
		return usagef("token: --email is required")
	}
	if *ttl <= 0 {
		return usagef("token: --ttl must be positive, got %s", *ttl)
	}
	if maxTTL := e.cfg.Tokens.MaxTTL; maxTTL > 0 && *ttl > maxTTL {
		return usagef("token: --ttl must be at most %s (NOTIFYQL_TOKEN_MAX_TTL), got %s: the API would refuse the token", maxTTL, *ttl)
	}
	// In private mode the first command run may be this one: the database is made what
	// serve would make it, demo users included, so the printed token works.
	api, err := openAPIDatabase(ctx, e, true)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, api.Close(ctx)) }()
	user, err := postgres.NewAccessStore(api.pool).UserByEmail(ctx, strings.TrimSpace(*email))
	switch {
	case notifyql.ErrorCode(err) == notifyql.ENOTFOUND:
		hasUsers, countErr := seed.HasUsers(ctx, api.pool)
		if countErr == nil && !hasUsers {
			return fmt.Errorf("token: the database has no users yet: load the demo users with `%s seed --profile demo`, which lists them", e.program)
		}
		return errors.New("token: no user has that email address")
	case err != nil:
		return fmt.Errorf("token: %w", err)
	}
	if user.State != "active" {
		return fmt.Errorf("token: user %s is %s, not active: the API would refuse the token", user.ID, user.State)
	}
	signed, err := e.cfg.Tokens.Mint(api.secret, user.ID, *ttl, time.Now())
	if err != nil {
		return err
	}
	e.logger.Info("minted token", "user_id", user.ID, "ttl", ttl.String())
	_, err = fmt.Fprintln(e.stdout, signed)
	return err
}

// schema prints the GraphQL schema in SDL.
func schema(_ context.Context, e env, args []string) error {
	fs := e.newFlagSet("schema", "schema")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	// The schema's shape does not depend on the stores, so none are needed to print it.
	executable, _, err := newSchema(schemaDeps{})
	if err != nil {
		return fmt.Errorf("build GraphQL schema: %w", err)
	}
	_, err = e.stdout.Write(server.SchemaSDL(executable))
	return err
}
