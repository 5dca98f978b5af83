package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"notifyql"
	"notifyql/server"
)

// The names one subprotocol gives the messages these tests send and read.
type wsNames struct{ subprotocol, subscribe, data, stop string }

var (
	transportWSNames = wsNames{transportWS, "subscribe", "next", "complete"}
	legacyWSNames    = wsNames{legacyWS, "start", "data", "stop"}
)

// connectAs opens a socket and completes connection_init as userID.
func (f *wsFixture) connectAs(t testing.TB, subprotocol, userID string) *websocket.Conn {
	t.Helper()
	conn := dial(t, f.url, subprotocol, nil)
	send(t, conn, initMessage(mustToken(t, userID, time.Hour)))
	if msg := next(t, conn); msg.Type != "connection_ack" {
		t.Fatalf("after connection_init got %+v, want connection_ack", msg)
	}
	return conn
}

func (n wsNames) start(t testing.TB, conn *websocket.Conn, id, query string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]string{"query": query})
	send(t, conn, fmt.Sprintf(`{"type":%q,"id":%q,"payload":%s}`, n.subscribe, id, payload))
}

// wsError is one GraphQL error in an error message's payload.
type wsError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// startAnswered starts query as id and fails unless the next message, past the
// completions of queries answered before, is its response.
func (n wsNames) startAnswered(t testing.TB, conn *websocket.Conn, id, query string) {
	t.Helper()
	n.start(t, conn, id, query)
	msg := nextFor(t, conn, id)
	if msg.Type != n.data || msg.ID != id {
		t.Fatalf("got %s %s %s, want %s for %s", msg.Type, msg.ID, msg.Payload, n.data, id)
	}
}

// startRefused starts query as id and fails unless the next message, past the completions
// of queries answered before, is its error message, with one error of the code given,
// whose message contains words.
func (n wsNames) startRefused(t testing.TB, conn *websocket.Conn, id, query, code, words string) {
	t.Helper()
	n.start(t, conn, id, query)
	msg := nextFor(t, conn, id)
	var errs []wsError
	if msg.Type != "error" || msg.ID != id || json.Unmarshal(msg.Payload, &errs) != nil || len(errs) != 1 ||
		errs[0].Extensions["code"] != code || !strings.Contains(errs[0].Message, words) {
		t.Fatalf("got %s %s %s, want an error message for %s with code %s saying %q", msg.Type, msg.ID, msg.Payload, id, code, words)
	}
}

// nextFor reads the next message past the completions of queries answered before id's.
func nextFor(t testing.TB, conn *websocket.Conn, id string) wsMessage {
	t.Helper()
	msg := next(t, conn)
	for msg.Type == "complete" && msg.ID != id {
		msg = next(t, conn)
	}
	return msg
}

// completeAndWait stops id and reads until the server says it has ended.
func (n wsNames) completeAndWait(t testing.TB, conn *websocket.Conn, id string) {
	t.Helper()
	send(t, conn, fmt.Sprintf(`{"type":%q,"id":%q}`, n.stop, id))
	for {
		if msg := next(t, conn); msg.Type == "complete" && msg.ID == id {
			return
		}
	}
}

// setState sets a user's state by plain SQL, as an administrator's tool would.
func (f *wsFixture) setState(t testing.TB, userID, state string) {
	t.Helper()
	if _, err := f.pool.Exec(context.Background(), `UPDATE users SET state = $2 WHERE id = $1`, userID, state); err != nil {
		t.Fatal(err)
	}
}

// Every operation on a socket loads its user again: once the user is deactivated, the
// next operation of either kind, on a socket signed in before, is refused with
// UNAUTHENTICATED as an HTTP request with the same token is, and every socket of that
// user is closed with 4403; another user's socket goes on.
func TestSocketOperationsOfADeactivatedUserAreRefused(t *testing.T) {
	f := newWSFixture(t, nil)
	for _, tt := range []struct {
		names wsNames
		query string
	}{
		{transportWSNames, "subscription { me }"},
		{transportWSNames, "{ me }"},
		{legacyWSNames, "subscription { me }"},
		{legacyWSNames, "query { me }"},
	} {
		t.Run(tt.names.subprotocol+" "+tt.query, func(t *testing.T) {
			f.setState(t, wsUserID, "active")
			conn := f.connectAs(t, tt.names.subprotocol, wsUserID)
			second := f.connectAs(t, transportWS, wsUserID)
			other := f.connectAs(t, transportWS, wsOtherUserID)
			tt.names.startAnswered(t, conn, "1", tt.query)

			f.setState(t, wsUserID, "inactive")
			tt.names.startRefused(t, conn, "2", tt.query, "UNAUTHENTICATED", "the user does not exist or is not active")
			for _, c := range []*websocket.Conn{conn, second} {
				if closeErr := expectClose(t, c, 4403, 5*time.Second); closeErr.Text != "Forbidden: the user does not exist or is not active" {
					t.Errorf("close reason %q", closeErr.Text)
				}
			}
			transportWSNames.startAnswered(t, other, "1", tt.query)
		})
	}
}

// An access change that names a deactivated user closes their sockets with 4403, though
// they start no operation; one naming an active user, or another user, closes nothing.
func TestAccessChangeClosesTheSocketsOfARemovedUser(t *testing.T) {
	f := newWSFixture(t, nil)
	for _, change := range []notifyql.AccessChange{{UserIDs: []string{wsOtherUserID, wsUserID}}, {All: true}} {
		t.Run(change.String(), func(t *testing.T) {
			f.setState(t, wsUserID, "active")
			idle := f.connectAs(t, transportWS, wsUserID)
			subscribed := f.connectAs(t, legacyWS, wsUserID)
			legacyWSNames.startAnswered(t, subscribed, "1", "subscription { me }")
			other := f.connectAs(t, transportWS, wsOtherUserID)

			// While the user is active, a change naming them closes nothing: the
			// subscription still answers after it.
			f.server.AccessChanged(change)
			legacyWSNames.completeAndWait(t, subscribed, "1")

			f.setState(t, wsUserID, "inactive")
			f.server.AccessChanged(notifyql.AccessChange{UserIDs: []string{wsOtherUserID}})
			f.server.AccessChanged(change)
			for _, conn := range []*websocket.Conn{idle, subscribed} {
				if closeErr := expectClose(t, conn, 4403, 5*time.Second); closeErr.Text != "Forbidden: the user does not exist or is not active" {
					t.Errorf("close reason %q", closeErr.Text)
				}
			}
			transportWSNames.startAnswered(t, other, "1", "subscription { me }")
		})
	}
}

// A socket runs at most MaxSubscriptionsPerSocket subscriptions and a user at most
// MaxSubscriptionsPerUser across their sockets: the subscribe past either cap gets an error
// message (SUBSCRIPTION_LIMIT) for its id alone, the socket stays open, and completing a
// subscription frees its place. Queries take no place.
func TestSubscriptionCaps(t *testing.T) {
	for _, tt := range []struct{ first, second wsNames }{
		{transportWSNames, legacyWSNames},
		{legacyWSNames, transportWSNames},
	} {
		t.Run(tt.first.subprotocol+" first", func(t *testing.T) {
			f := newWSFixture(t, func(c *server.WebSocketConfig) {
				c.MaxSubscriptionsPerSocket, c.MaxSubscriptionsPerUser = 3, 5
				c.MessageRate, c.MessageBurst = 1000, 1000
			})
			conn := f.connectAs(t, tt.first.subprotocol, wsUserID)
			for i := 1; i <= 3; i++ {
				tt.first.startAnswered(t, conn, fmt.Sprint(i), "subscription { me }")
			}
			tt.first.startRefused(t, conn, "4", "subscription { me }", "SUBSCRIPTION_LIMIT", "this connection holds the most subscriptions allowed (3)")
			tt.first.startAnswered(t, conn, "q", "{ me }")
			tt.first.completeAndWait(t, conn, "2")
			tt.first.startAnswered(t, conn, "4", "subscription { me }")

			// The user's cap, across sockets.
			second := f.connectAs(t, tt.second.subprotocol, wsUserID)
			for i := 1; i <= 2; i++ {
				tt.second.startAnswered(t, second, fmt.Sprint(i), "subscription { me }")
			}
			tt.second.startRefused(t, second, "3", "subscription { me }", "SUBSCRIPTION_LIMIT", "you hold the most subscriptions allowed on this server (5)")
			// Another user is not held back.
			other := f.connectAs(t, transportWS, wsOtherUserID)
			transportWSNames.startAnswered(t, other, "1", "subscription { me }")
			// A place freed on one socket is the user's to take on another.
			tt.first.completeAndWait(t, conn, "1")
			tt.second.startAnswered(t, second, "3", "subscription { me }")
			// Closing a socket frees all of its places.
			third := f.connectAs(t, tt.first.subprotocol, wsUserID)
			tt.first.startRefused(t, third, "1", "subscription { me }", "SUBSCRIPTION_LIMIT", "you hold the most subscriptions allowed on this server (5)")
			conn.Close()
			deadline := time.Now().Add(5 * time.Second)
			for id := 2; ; id++ {
				tt.first.start(t, third, fmt.Sprint(id), "subscription { me }")
				if msg := next(t, third); msg.Type == tt.first.data {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("a closed socket's subscriptions still count against its user")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// allowanceLimiter stands for the shared rate limiter: each key has burst requests, then
// is refused; it records the keys it was asked about.
type allowanceLimiter struct {
	mu   sync.Mutex
	used map[string]int
}

func (l *allowanceLimiter) Allow(_ context.Context, key string, perMinute, burst int) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.used[key] >= burst {
		return false, time.Minute / time.Duration(perMinute), nil
	}
	l.used[key]++
	return true, 0, nil
}

// Operations on a socket are counted against their user's allowance, the one HTTP requests
// spend: past it, a query and a subscribe are each refused (RATE_LIMITED, with when to try
// again), the socket stays open, and HTTP refuses the user too.
func TestSocketOperationsSpendTheUsersRateLimit(t *testing.T) {
	limiter := &allowanceLimiter{used: map[string]int{}}
	f := newWSFixtureWith(t, func(cfg *server.Config) {
		cfg.RateLimiter, cfg.RateLimits = limiter, server.RateLimits{PerUser: 30} // bursts of 3
	})
	token := mustToken(t, wsUserID, time.Hour)
	post := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, f.http, strings.NewReader(`{"query":"{ me }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(); resp.StatusCode != http.StatusOK {
		t.Fatalf("first request over HTTP: %d", resp.StatusCode)
	}
	conn := f.connectAs(t, transportWS, wsUserID)
	transportWSNames.startAnswered(t, conn, "1", "{ me }")
	transportWSNames.startAnswered(t, conn, "2", "subscription { me }")
	transportWSNames.startRefused(t, conn, "3", "{ me }", "RATE_LIMITED", "too many requests: try again in 2 seconds")
	transportWSNames.startRefused(t, conn, "4", "subscription { me }", "RATE_LIMITED", "too many requests: try again in 2 seconds")
	if resp := post(); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("over HTTP after the socket spent the allowance: %d, want 429", resp.StatusCode)
	}
	// The socket is still open, and its running subscription with it.
	transportWSNames.completeAndWait(t, conn, "2")
	limiter.mu.Lock()
	defer limiter.mu.Unlock()
	if want := map[string]int{"user-" + wsUserID: 3}; fmt.Sprint(limiter.used) != fmt.Sprint(want) {
		t.Errorf("allowances spent %v, want %v", limiter.used, want)
	}
}

// A query on a socket is bound by RequestTimeout as over HTTP: one whose admission waits
// on a backend that does not answer is answered UNAVAILABLE once the timeout has passed,
// and what it waited on saw that deadline. A subscription's stream is not bound by it.
func TestSocketOperationsAreBoundByTheRequestTimeout(t *testing.T) {
	limiter := stalledUserLimiter{deadline: make(chan time.Time, 1)}
	f := newWSFixtureWith(t, func(cfg *server.Config) {
		cfg.Limits.RequestTimeout = 300 * time.Millisecond
		cfg.RateLimiter, cfg.RateLimits = limiter, server.RateLimits{PerUser: 60}
	})
	conn := f.connectAs(t, transportWS, wsOtherUserID)
	transportWSNames.startAnswered(t, conn, "1", "subscription { me }")

	stalled := f.connectAs(t, transportWS, wsUserID)
	sent := time.Now()
	transportWSNames.startRefused(t, stalled, "1", "{ me }", "UNAVAILABLE", "the request could not be answered in time: try again shortly")
	// The deadline is RequestTimeout after the operation began, which is after sent.
	if deadline := <-limiter.deadline; deadline.Before(sent.Add(300*time.Millisecond)) || deadline.After(time.Now()) {
		t.Errorf("the limiter saw the deadline %v, want 300ms after the operation began", deadline)
	}

	// The subscription admitted before is still running, well past the timeout.
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, data, err := conn.ReadMessage()
	var netErr interface{ Timeout() bool }
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("the subscription ended: %s %v", data, err)
	}
}

// stalledUserLimiter admits every address and never answers for a user: it records the
// deadline it was given and returns when that passes.
type stalledUserLimiter struct{ deadline chan time.Time }

func (l stalledUserLimiter) Allow(ctx context.Context, key string, _, _ int) (bool, time.Duration, error) {
	if key != "user-"+wsUserID {
		return true, 0, nil
	}
	deadline, _ := ctx.Deadline()
	l.deadline <- deadline
	<-ctx.Done()
	return false, 0, ctx.Err()
}

// Control-frame pings cost the server a pong each: they count against the socket's message
// allowance, and a flood of them (or of pongs nobody asked for) is closed with 4429.
func TestControlFrameFloodsAreClosed(t *testing.T) {
	f := newWSFixture(t, func(c *server.WebSocketConfig) { c.MessageRate, c.MessageBurst = 2, 20 })
	for _, tt := range []struct {
		name  string
		frame int
	}{
		{"pings", websocket.PingMessage},
		{"unsolicited pongs", websocket.PongMessage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := f.connectAs(t, transportWS, wsUserID)
			for range 100 {
				if err := conn.WriteControl(tt.frame, []byte("x"), time.Now().Add(time.Second)); err != nil {
					break // the server has closed
				}
			}
			if closeErr := expectClose(t, conn, 4429, 5*time.Second); closeErr.Text != "Too many messages" {
				t.Errorf("close reason %q", closeErr.Text)
			}
		})
	}
	t.Run("pings within the rate are answered", func(t *testing.T) {
		conn := f.connectAs(t, transportWS, wsUserID)
		pongs := make(chan string, 10)
		conn.SetPongHandler(func(data string) error { pongs <- data; return nil })
		for i := range 5 {
			if err := conn.WriteControl(websocket.PingMessage, []byte(fmt.Sprint(i)), time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		transportWSNames.startAnswered(t, conn, "1", "subscription { me }") // reading handles the pongs that came first
		if len(pongs) != 5 {
			t.Errorf("%d pongs for 5 pings", len(pongs))
		}
	})
}
