package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"notifyql/internal/harness"
)

const totalsSelection = `{ email { requested delivered failed sending failedPercentage showWarning }
  sms { requested delivered failed sending failedPercentage showWarning }
  letter { requested delivered failed sending failedPercentage showWarning } }`

// The two subscriptions each client holds: the dashboard page's first two.
const (
	totalsSubscription    = `subscription SoakTotals($id: ID!, $days: Int!) { dashboardTotals(serviceId: $id, days: $days) ` + totalsSelection + ` }`
	templatesSubscription = `subscription SoakTemplates($id: ID!, $days: Int!) { templateStatistics(serviceId: $id, days: $days) { templateId count template { name } } }`
)

// The query load alternates between a dashboard and a page of notifications.
var queries = []string{
	`query SoakDashboard($id: ID!) { service(id: $id) { id name totals(days: 7) ` + totalsSelection + `
  templateStatistics(days: 7) { templateId count template { name } } } }`,
	`query SoakNotifications($id: ID!) { service(id: $id) { notifications(first: 20) {
  edges { cursor node { id type status statusLabel createdAt template { name } } }
  pageInfo { hasNextPage endCursor } statusCounts { total sending delivered failed } } } }`,
}

// subscription is one operation a client follows: when its last update came.
type subscription struct {
	client     int
	name       string // the operation id, "totals" or "templates"
	lastUpdate atomic.Int64
}

// subscribers are the WebSocket clients, each with two subscriptions on one service.
type subscribers struct {
	subs    []*subscription
	updates atomic.Int64
	wg      sync.WaitGroup

	mu       sync.Mutex
	failures []string // subscriptions that ended or broke, described
}

func (s *subscribers) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, fmt.Sprintf(format, args...))
}

// ended lists what went wrong with the subscriptions so far.
func (s *subscribers) ended() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.failures...)
}

// stale counts the subscriptions with no update for longer than limit, and the longest
// such wait.
func (s *subscribers) stale(now time.Time, limit time.Duration) (int, time.Duration) {
	count, longest := 0, time.Duration(0)
	for _, sub := range s.subs {
		gap := now.Sub(time.Unix(0, sub.lastUpdate.Load()))
		longest = max(longest, gap)
		if gap > limit {
			count++
		}
	}
	return count, longest
}

// connect opens n clients, 16 at a time, client i as viewers[i % len], half of them on the
// 7-day window and half on today, so that the server keeps several topics per service.
// It returns once every subscription had its first snapshot, or the first failure.
func connect(ctx context.Context, url string, n int, vs []harness.Viewer, tokens map[string]string) (*subscribers, error) {
	s := &subscribers{}
	sem := make(chan struct{}, 16)
	ready := make(chan error, n)
	for i := range n {
		v := vs[i%len(vs)]
		days := 7
		if (i/len(vs))%2 == 1 {
			days = 0
		}
		totals := &subscription{client: i, name: "totals"}
		templates := &subscription{client: i, name: "templates"}
		s.subs = append(s.subs, totals, templates)
		sem <- struct{}{}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			conn, err := harness.DialGraphQLWS(ctx, url, tokens[v.Email])
			if err == nil {
				vars := map[string]any{"id": v.ServiceID, "days": days}
				err = harness.Subscribe(conn, totals.name, totalsSubscription, vars)
				if err == nil {
					err = harness.Subscribe(conn, templates.name, templatesSubscription, vars)
				}
				if err != nil {
					conn.Close()
				}
			}
			<-sem
			if err != nil {
				ready <- fmt.Errorf("client %d (%s on %s): %w", i, v.Email, v.ServiceName, err)
				return
			}
			s.follow(ctx, conn, i, map[string]*subscription{totals.name: totals, templates.name: templates}, ready)
		}()
	}
	timeout := time.After(2 * time.Minute)
	for range n {
		select {
		case err := <-ready:
			if err != nil {
				return s, err
			}
		case <-timeout:
			return s, fmt.Errorf("not every subscription had its first snapshot within 2 minutes")
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
	return s, nil
}

// follow reads one client's messages until ctx ends, noting each update and reporting
// ready once both subscriptions had their first. A subscription that errs or completes,
// or a socket that closes, while the soak runs is a failure.
func (s *subscribers) follow(ctx context.Context, conn *websocket.Conn, client int, subs map[string]*subscription, ready chan<- error) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	waiting := len(subs)
	buf := bytes.NewBuffer(make([]byte, 0, 2048))
	for {
		msg, err := harness.ReadMessage(conn, buf)
		if err != nil {
			if ctx.Err() == nil {
				s.fail("client %d: the socket closed: %v", client, err)
				if waiting > 0 {
					ready <- fmt.Errorf("client %d: the socket closed before its first snapshots: %w", client, err)
				}
			}
			return
		}
		var m struct {
			ID      string
			Type    string
			Payload struct {
				Errors json.RawMessage
			}
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			s.fail("client %d: unreadable message: %v", client, err)
			continue
		}
		switch m.Type {
		case "next":
			sub, ok := subs[m.ID]
			if !ok {
				s.fail("client %d: an update for an operation it did not start: %q", client, m.ID)
				continue
			}
			if len(m.Payload.Errors) > 0 {
				s.fail("client %d: %s update with errors: %.300s", client, m.ID, m.Payload.Errors)
				continue
			}
			first := sub.lastUpdate.Load() == 0
			sub.lastUpdate.Store(time.Now().UnixNano())
			s.updates.Add(1)
			if first {
				if waiting--; waiting == 0 {
					ready <- nil
				}
			}
		case "ping":
			// graphql-transport-ws asks a pong for each ping; this reader is the
			// connection's only writer.
			if err := conn.WriteJSON(map[string]string{"type": "pong"}); err != nil && ctx.Err() == nil {
				s.fail("client %d: answer a ping: %v", client, err)
			}
		case "pong":
		case "error", "complete":
			if ctx.Err() == nil {
				s.fail("client %d: subscription %s ended: %.300s", client, m.ID, msg)
				if waiting > 0 {
					ready <- fmt.Errorf("client %d: subscription %s ended at once: %.300s", client, m.ID, msg)
					waiting = -1
				}
			}
		default:
			s.fail("client %d: unexpected message %.200s", client, msg)
		}
	}
}

func (s *subscribers) wait() { s.wg.Wait() }

// queryLoad sends rate queries a second, spread evenly, alternating over the viewers and
// the operations, from a few workers over kept-alive connections.
type queryLoad struct {
	answered atomic.Int64
	missed   atomic.Int64 // ticks with every worker still busy: the server fell behind
	failed   atomic.Int64
	mu       sync.Mutex
	errors   []string // the first few failures
	wg       sync.WaitGroup
}

const queryWorkers = 8

// The queries run under ctx; stop ends the load, after which the queries in flight finish
// rather than being cancelled (which the server would log as errors).
func startQueries(ctx, stop context.Context, url string, rate float64, vs []harness.Viewer, tokens map[string]string) *queryLoad {
	q := &queryLoad{}
	transport := &http.Transport{MaxIdleConns: queryWorkers, MaxIdleConnsPerHost: queryWorkers, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	work := make(chan int)
	for range queryWorkers {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			for i := range work {
				v := vs[i%len(vs)]
				query := queries[(i/len(vs))%len(queries)]
				_, err := harness.PostQuery(ctx, client, url, tokens[v.Email], query, map[string]any{"id": v.ServiceID})
				switch {
				case err == nil:
					q.answered.Add(1)
				case ctx.Err() != nil:
					return
				default:
					q.failed.Add(1)
					q.mu.Lock()
					if len(q.errors) < 5 {
						q.errors = append(q.errors, fmt.Sprintf("%s on %s: %v", v.Email, v.ServiceName, err))
					}
					q.mu.Unlock()
				}
			}
		}()
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer close(work)
		defer transport.CloseIdleConnections()
		ticker := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer ticker.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop.Done():
				return
			case <-ticker.C:
			}
			select {
			case work <- i:
			default:
				q.missed.Add(1)
			}
		}
	}()
	return q
}

func (q *queryLoad) firstErrors() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.errors...)
}
