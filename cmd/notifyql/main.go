// Command notifyql serves the notifyql GraphQL API and runs its chores: migrations, demo
// data, sign-in tokens, fact-table rollups and retention. It is the one place that knows every concrete type.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"go.opentelemetry.io/otel/trace"

	// The Europe/London zone must be there even on machines without a zoneinfo database.
	_ "time/tzdata"

	"notifyql/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "notifyql: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake in the command line: main exits with 2 for it, as flag does.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func exitCode(err error) int {
	var usage *usageError
	if errors.As(err, &usage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

const usage = `usage: notifyql <command> [flags]

commands:
  serve [--addr host:port] [--simulate N]   serve the GraphQL API (default :8080); --simulate
                                            also plays the sending pipeline at N a second
  migrate up|down|status                    change or show the database schema
  seed --profile demo|bench [--seed N]      fill an empty database with generated data
  token --email ADDRESS [--ttl 12h]         print a sign-in token (JWT) for a user
  rollup --from DATE --to DATE              rebuild the fact tables for London days (YYYY-MM-DD)
  retention [--dry-run]                     move what is past retention into history, once
  simulate --rate N [--services ID,ID]      play the sending pipeline against the database
  schema                                    print the GraphQL schema (SDL)

With no DATABASE_URL a private PostgreSQL runs in NOTIFYQL_DATA_DIR (default ./.notifyql);
with no REDIS_URL serve uses an in-process Redis-compatible server.
`

// run is the whole program: args are os.Args (the program name first), getenv reads the
// environment, and output goes to stdout (results) and stderr (JSON logs).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	command, rest := args[1], args[2:]
	if command == "help" || command == "-h" || command == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	commands := map[string]func(context.Context, env, []string) error{
		"serve":     serve,
		"migrate":   migrate,
		"seed":      seedDatabase,
		"token":     token,
		"schema":    schema,
		"rollup":    rollup,
		"retention": retention,
		"simulate":  simulate,
	}
	cmd, ok := commands[command]
	if !ok {
		fmt.Fprint(stderr, usage)
		return usagef("unknown command %q", command)
	}
	// Every problem in the configuration is reported at once, so that one run shows all
	// there is to fix.
	cfg, problems := readConfig(getenv)
	if problems = append(problems, missingSecrets(cfg, command)...); len(problems) > 0 {
		return fmt.Errorf("configuration: %w", configError(problems))
	}
	level := slog.LevelInfo
	if cfg.Development() {
		level = slog.LevelDebug
	}
	logger := slog.New(server.WithRequestIDs(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))).With("command", command)
	return cmd(ctx, env{cfg: cfg, logger: logger, stdout: stdout, stderr: stderr, program: programName(args[0])}, rest)
}

// env is what every command is given.
type env struct {
	cfg    config
	logger *slog.Logger
	stdout io.Writer
	stderr io.Writer
	// program is the command line that runs this binary again, for the commands printed
	// as advice (see programName).
	program string

	// tracing makes spans where serve traces (config.Tracing); nil, tracing nothing,
	// everywhere else.
	tracing trace.TracerProvider
}

// programName is how to run this binary again from the same folder, given its os.Args[0]:
// the path as typed (./bin/notifyql), `go run ./cmd/notifyql` for a binary that go run
// built in its temporary folder, or the bare name when it was found on PATH.
func programName(arg0 string) string {
	switch {
	case strings.Contains(arg0, string(filepath.Separator)+"go-build"):
		return "go run ./cmd/notifyql"
	case strings.ContainsRune(arg0, filepath.Separator):
		return arg0
	default:
		return "notifyql"
	}
}

// newFlagSet returns a flag set for a subcommand that reports errors instead of exiting.
func (e env) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("notifyql "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: notifyql %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, refusing stray positional arguments unless positional allows.
func parseFlags(fs *flag.FlagSet, args []string, positional int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > positional {
		fs.Usage()
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(positional))
	}
	return nil
}
