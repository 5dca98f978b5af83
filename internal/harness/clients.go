package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql/server"
)

// TokenFor mints a bearer token signed with secret for the user with the given email.
func TokenFor(ctx context.Context, pool *pgxpool.Pool, secret, email string, ttl time.Duration) (string, error) {
	var id string
	if err := pool.QueryRow(ctx, `SELECT id FROM users WHERE lower(email_address) = lower($1)`, email).Scan(&id); err != nil {
		return "", fmt.Errorf("find the user to sign in as: %w", err)
	}
	return server.MintToken([]byte(secret), id, ttl, time.Now())
}

// PostQuery POSTs one GraphQL operation and returns the body of a 200 answer without
// errors; any other answer is an error quoting the start of the body.
func PostQuery(ctx context.Context, client *http.Client, url, token, query string, variables map[string]any) ([]byte, error) {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errors"`)) {
		return nil, fmt.Errorf("status %d: %.200s", res.StatusCode, body)
	}
	return body, nil
}

// DialGraphQLWS opens a graphql-transport-ws connection to the server's GraphQL endpoint
// (its http:// URL) and signs in with token; it returns once the server acknowledged.
func DialGraphQLWS(ctx context.Context, graphqlURL, token string) (*websocket.Conn, error) {
	wsURL := "ws" + strings.TrimPrefix(graphqlURL, "http")
	// Small buffers: a load program holds thousands of these beside the server it measures.
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 30 * time.Second,
		ReadBufferSize: 1024, WriteBufferSize: 1024}
	conn, _, err := dialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if err := SignIn(conn, token, 30*time.Second); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// SignIn sends connection_init with token as the Authorization payload on a new socket
// (graphql-transport-ws or graphql-ws: both begin so) and waits up to within for the
// server's connection_ack.
func SignIn(conn *websocket.Conn, token string, within time.Duration) error {
	init, _ := json.Marshal(map[string]any{"Authorization": "Bearer " + token})
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": json.RawMessage(init)}); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(within))
	var ack struct {
		Type    string
		Payload json.RawMessage
	}
	if err := conn.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		return fmt.Errorf("want connection_ack, got %q %s, %v", ack.Type, ack.Payload, err)
	}
	return conn.SetReadDeadline(time.Time{})
}

// Subscribe starts the operation query under id on a signed-in connection.
func Subscribe(conn *websocket.Conn, id, query string, variables map[string]any) error {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return err
	}
	return conn.WriteJSON(map[string]any{"id": id, "type": "subscribe", "payload": json.RawMessage(payload)})
}

// ReadMessage reads the next message into buf, whose bytes it returns until the next call:
// one buffer per connection, reused, keeps thousands of messages a second cheap to read.
func ReadMessage(conn *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Metrics is one scrape of a server's /metrics: each sample's value under its name as the
// text format writes it, labels included (`go_goroutines`,
// `notifyql_db_pool_connections{pool="api",state="idle"}`).
type Metrics struct {
	At     time.Time
	Values map[string]float64
}

// ScrapeMetrics reads a server's /metrics at url (Server.MetricsURL).
func ScrapeMetrics(ctx context.Context, client *http.Client, url string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Metrics{}, err
	}
	res, err := client.Do(req)
	if err != nil {
		return Metrics{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer res.Body.Close()
	// promhttp gathers the metrics before it answers: the values are as of about now.
	m := Metrics{At: time.Now(), Values: map[string]float64{}}
	if res.StatusCode != http.StatusOK {
		return m, fmt.Errorf("scrape %s: status %d", url, res.StatusCode)
	}
	scanner := bufio.NewScanner(res.Body)
	scanner.Buffer(nil, 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		// Prometheus' text format writes large counters in exponent form.
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return m, fmt.Errorf("scrape %s: %q: %w", url, line, err)
		}
		m.Values[line[:i]] = v
	}
	if err := scanner.Err(); err != nil {
		return m, fmt.Errorf("scrape %s: %w", url, err)
	}
	return m, nil
}

// Value is the named sample, or an error naming it when the scrape lacks it.
func (m Metrics) Value(name string) (float64, error) {
	v, ok := m.Values[name]
	if !ok {
		return 0, fmt.Errorf("no %s in /metrics", name)
	}
	return v, nil
}

// Counters are the database-wide counters load figures are differences of.
type Counters struct {
	At            time.Time
	Transactions  int64 // pg_stat_database xact_commit + xact_rollback
	HistoryRows   int64 // notification_status_history inserts
	Notifications int64 // notifications inserts
}

// StatusChanges is the number of status moves the counters hold: each status change writes
// a history row, and so does each new notification, whose rows the difference leaves out.
func (c Counters) StatusChanges() int64 { return c.HistoryRows - c.Notifications }

// ReadCounters reads the counters of pool's database.
func ReadCounters(ctx context.Context, pool *pgxpool.Pool) (Counters, error) {
	c := Counters{At: time.Now()}
	// The statistics collector publishes per-backend counts when a transaction ends, at most
	// every PGSTAT_MIN_INTERVAL (1 s): ask for a fresh snapshot.
	if _, err := pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		return c, err
	}
	err := pool.QueryRow(ctx, `SELECT
		(SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()),
		(SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'notification_status_history'),
		(SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'notifications')`).
		Scan(&c.Transactions, &c.HistoryRows, &c.Notifications)
	if err != nil {
		return c, fmt.Errorf("read pg_stat counters: %w", err)
	}
	return c, nil
}
