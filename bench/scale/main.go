// Command scale is issue 18's three-instance benchmark, `make bench-scale`: it is a
// program, not a test, and it prints the failover figures of each run.
//
// It builds notifyql, creates a demo database of its own and starts a private
// redis-server (harness.SetUp), then for each run starts three `notifyql serve` processes
// sharing them, and opens --subscribers graphql-transport-ws connections spread
// round-robin over the three (one dashboardTotals(days: 0) subscription each, over the
// demo's active services), with `notifyql simulate` writing to those services. After
// --warmup it kills the instance holding the relay with SIGKILL, as a crash would, and
// stops the simulator at once, so that the database's truth stops moving while no
// instance relays: the writes committed since the dead relay's last tick reach
// subscribers only if another instance takes over and recomputes them. The subscribers
// of the killed instance reconnect to the others, as behind a load balancer. It then
// measures, from the kill:
//
//   - relay: until a surviving instance reports holding the relay's lock
//     (notifyql_live_relay on /metrics, polled every 10 ms);
//   - converged: until every subscriber's latest snapshot equals the database's totals
//     for its service (the same selection queried over HTTP from a survivor once the
//     simulator has stopped), checked every 10 ms.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/internal/harness"
)

// scaleSecret signs the tokens the clients present; the servers are started with it.
const scaleSecret = "bench-scale-secret-at-least-32-bytes-long!"

// scaleSearchSecret keys the search-term hashes: hex, 32 bytes.
const scaleSearchSecret = "62656e63682d7363616c652d7365617263682d7365637265742d33322d627974"

const totalsSelection = `{ email { requested delivered failed sending } sms { requested delivered failed sending } letter { requested delivered failed sending } }`

const (
	subscriptionQuery = `subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) ` + totalsSelection + ` }`
	truthQuery        = `query($id: ID!) { service(id: $id) { totals(days: 0) ` + totalsSelection + ` } }`
)

// instances is how many serve processes share the database and Redis.
const instances = 3

type options struct {
	subscribers int
	runs        int
	rate        float64
	warmup      time.Duration
	within      time.Duration
}

func main() { harness.Main("bench-scale", run) }

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench-scale", flag.ContinueOnError)
	o := options{}
	fs.IntVar(&o.subscribers, "subscribers", 900, "WebSocket subscribers, spread over the three instances")
	fs.IntVar(&o.runs, "runs", 3, "failovers measured, each on three fresh instances")
	fs.Float64Var(&o.rate, "rate", 100, "simulate --rate: new notifications a second")
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "load before the relay is killed")
	fs.DurationVar(&o.within, "within", time.Minute, "how long the subscribers may take to converge")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.subscribers < instances || o.runs < 1 || o.rate <= 0 || o.warmup <= 0 || o.within <= 0 {
		return fmt.Errorf("--subscribers must be at least %d, and --runs, --rate, --warmup and --within positive", instances)
	}
	stage, err := harness.SetUp(ctx, "scale", "NOTIFYQL_BENCH_DATABASE_URL")
	if err != nil {
		return err
	}
	defer stage.Close(ctx)
	pool, err := pgxpool.New(ctx, stage.DB.URLFor("bench-scale"))
	if err != nil {
		return err
	}
	defer pool.Close()
	viewers, err := harness.Viewers(ctx, pool)
	if err != nil {
		return err
	}
	tokens := make(map[string]string)
	services := make(map[string]bool)
	for _, v := range viewers {
		if tokens[v.Email] == "" {
			if tokens[v.Email], err = harness.TokenFor(ctx, pool, scaleSecret, v.Email, 24*time.Hour); err != nil {
				return err
			}
		}
		services[v.ServiceID] = true
	}

	fmt.Printf("%d subscribers over %d instances, simulate --rate %g, relay killed after %s\n\n", o.subscribers, instances, o.rate, o.warmup)
	fmt.Println("run  relay (ms)  converged (ms)  reconnected  subscribers")
	var relays, converged []time.Duration
	for i := 1; i <= o.runs; i++ {
		r, err := failover(ctx, stage, o, viewers, tokens, slices.Sorted(maps.Keys(services)), i)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		fmt.Printf("%3d  %10d  %14d  %11d  %11d\n", i, r.relay.Milliseconds(), r.converged.Milliseconds(), r.reconnected, o.subscribers)
		relays, converged = append(relays, r.relay), append(converged, r.converged)
	}
	fmt.Printf("\nrelay taken over after %s to %s; every subscriber at the database's truth after %s to %s\n",
		slices.Min(relays), slices.Max(relays), slices.Min(converged), slices.Max(converged))
	return nil
}

type result struct {
	relay, converged time.Duration
	reconnected      int
}

// failover is one run: three instances, the subscribers, the simulator, the kill.
func failover(ctx context.Context, stage *harness.Stage, o options, viewers []harness.Viewer, tokens map[string]string, services []string, run int) (result, error) {
	var servers []*harness.Server
	defer func() {
		for _, s := range servers {
			if exited, _ := s.Exited(); !exited {
				s.Stop()
			}
		}
	}()
	for i := range instances {
		s, err := harness.StartServer(ctx, stage.Binary, filepath.Join(stage.Tmp, fmt.Sprintf("run%d-serve%d.log", run, i+1)), []string{
			// The caps are per instance: after the kill, one survivor may hold every
			// subscription of a user.
			"NOTIFYQL_WS_MAX_PER_USER=" + strconv.Itoa(o.subscribers+1),
			"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER=" + strconv.Itoa(o.subscribers+1),
			"NOTIFYQL_RATE_LIMIT_PER_USER=0",
			"NOTIFYQL_RATE_LIMIT_PER_IP=0",
			"NOTIFYQL_MAX_CONNECTIONS_PER_ADDRESS=0",
			"DATABASE_URL=" + stage.DB.URLFor(fmt.Sprintf("serve-%d", i+1)),
			"REDIS_URL=" + stage.Redis.URL,
			"NOTIFYQL_JWT_SECRET=" + scaleSecret,
			"NOTIFYQL_SEARCH_SECRET=" + scaleSearchSecret,
			"NOTIFYQL_ENV=development",
			"NOTIFYQL_DATA_DIR=" + filepath.Join(stage.Tmp, fmt.Sprintf("data%d", i+1)),
		})
		if err != nil {
			return result{}, err
		}
		servers = append(servers, s)
	}
	relay, err := awaitRelay(ctx, servers, 30*time.Second)
	if err != nil {
		return result{}, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subs := make([]*subscriber, o.subscribers)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range subs {
		v := viewers[i%len(viewers)]
		subs[i] = &subscriber{serviceID: v.ServiceID, token: tokens[v.Email], servers: servers, home: i % instances}
		if err := subs[i].connect(ctx); err != nil {
			return result{}, fmt.Errorf("subscriber %d: %w", i, err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); subs[i].read(ctx) }()
	}
	simulator, err := harness.StartSimulator(stage.Binary, stage.DB.URLFor("simulate"), o.rate, services)
	if err != nil {
		return result{}, err
	}
	select {
	case <-ctx.Done():
		simulator.Stop()
		return result{}, ctx.Err()
	case <-time.After(o.warmup):
	}

	killed := time.Now()
	servers[relay].Kill()
	simulator.Stop()
	var survivors []*harness.Server
	for i, s := range servers {
		if i != relay {
			survivors = append(survivors, s)
		}
	}
	var r result
	if _, err := awaitRelay(ctx, survivors, o.within); err != nil {
		return result{}, err
	}
	r.relay = time.Since(killed)

	truth := make(map[string]string, len(services))
	for _, id := range services {
		body, err := harness.PostQuery(ctx, http.DefaultClient, survivors[0].URL, tokens[adminOf(viewers, id)], truthQuery, map[string]any{"id": id})
		if err != nil {
			return result{}, fmt.Errorf("the database's totals of %s: %w", id, err)
		}
		var answer struct {
			Data struct {
				Service struct{ Totals json.RawMessage } `json:"service"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &answer); err != nil {
			return result{}, err
		}
		truth[id] = canonical(answer.Data.Service.Totals)
	}
	for deadline := killed.Add(o.within); ; time.Sleep(10 * time.Millisecond) {
		behind := 0
		for _, s := range subs {
			if s.latestTotals() != truth[s.serviceID] {
				behind++
			}
		}
		if behind == 0 {
			r.converged = time.Since(killed)
			break
		}
		if time.Now().After(deadline) {
			for _, s := range subs {
				if latest := s.latestTotals(); latest != truth[s.serviceID] {
					fmt.Fprintf(os.Stderr, "behind: service %s on instance %d (%d reconnects): %s; the database: %s\n",
						s.serviceID, s.home+1, s.reconnects(), latest, truth[s.serviceID])
					break
				}
			}
			return result{}, fmt.Errorf("%d of %d subscribers still behind the database %s after the kill", behind, len(subs), o.within)
		}
	}
	for _, s := range subs {
		if s.reconnects() > 0 {
			r.reconnected++
		}
	}
	return r, nil
}

// adminOf is a viewer's email who may read service id.
func adminOf(viewers []harness.Viewer, id string) string {
	for _, v := range viewers {
		if v.ServiceID == id {
			return v.Email
		}
	}
	return ""
}

// awaitRelay waits until exactly one of servers reports holding the relay's lock, and
// returns its index.
func awaitRelay(ctx context.Context, servers []*harness.Server, within time.Duration) (int, error) {
	for deadline := time.Now().Add(within); ; time.Sleep(10 * time.Millisecond) {
		holder, holders := -1, 0
		for i, s := range servers {
			m, err := harness.ScrapeMetrics(ctx, http.DefaultClient, s.MetricsURL)
			if err != nil {
				continue
			}
			if v, err := m.Value("notifyql_live_relay"); err == nil && v == 1 {
				holder, holders = i, holders+1
			}
		}
		if holders == 1 {
			return holder, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d instances relay after %s; want one", holders, within)
		}
	}
}

// subscriber is one WebSocket client with one dashboardTotals subscription. When its
// instance dies it subscribes again on the next one, as behind a load balancer.
type subscriber struct {
	serviceID, token string
	servers          []*harness.Server
	home             int

	mu        sync.Mutex
	conn      *websocket.Conn
	latest    string
	reconnect int
}

func (s *subscriber) connect(ctx context.Context) error {
	var errs []error
	for range len(s.servers) {
		server := s.servers[s.home]
		if exited, _ := server.Exited(); !exited {
			conn, err := harness.DialGraphQLWS(ctx, server.URL, s.token)
			if err == nil {
				if err = harness.Subscribe(conn, "1", subscriptionQuery, map[string]any{"id": s.serviceID}); err == nil {
					s.mu.Lock()
					s.conn = conn
					s.mu.Unlock()
					return nil
				}
				conn.Close()
			}
			errs = append(errs, err)
		}
		s.home = (s.home + 1) % len(s.servers)
	}
	return errors.Join(append(errs, errors.New("no instance took the subscription"))...)
}

// read keeps the latest snapshot's totals until ctx ends, reconnecting when the instance
// goes away.
func (s *subscriber) read(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.conn.Close()
	})
	defer stop()
	var buf bytes.Buffer
	for ctx.Err() == nil {
		s.mu.Lock()
		conn := s.conn
		s.mu.Unlock()
		message, err := harness.ReadMessage(conn, &buf)
		if err != nil {
			conn.Close()
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			s.reconnect++
			s.mu.Unlock()
			if err := s.connect(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "a subscriber gave up:", err)
				return
			}
			continue
		}
		var next struct {
			Type    string
			Payload struct {
				Data struct {
					DashboardTotals json.RawMessage `json:"dashboardTotals"`
				} `json:"data"`
			}
		}
		if json.Unmarshal(message, &next) == nil && next.Type == "error" {
			fmt.Fprintf(os.Stderr, "a subscription was refused: %s\n", message)
		}
		if next.Type == "next" && next.Payload.Data.DashboardTotals != nil {
			totals := canonical(next.Payload.Data.DashboardTotals)
			s.mu.Lock()
			s.latest = totals
			s.mu.Unlock()
		}
	}
}

func (s *subscriber) latestTotals() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

func (s *subscriber) reconnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reconnect
}

// canonical is raw re-encoded with its keys sorted, so that equal totals compare equal.
func canonical(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return ""
	}
	out, _ := json.Marshal(v)
	return string(out)
}
