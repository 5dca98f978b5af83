//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
)

// Issue 15's socket findings end to end: `notifyql serve` as a process of its own, the npm
// graphql-ws client (clients/node/operations.mjs), and access changed by plain SQL, as an
// administrator's tool would change it. Every operation started on a socket is authorised
// against the database as it is then, exactly as an HTTP request is; a user who is deleted
// or deactivated loses their sockets within the bound of a subscription's re-check; and a
// socket's operations share the user's rate limit and request timeout with HTTP.

// notificationRecipients lists a service's recipients: personal data a removed member
// must no longer read.
const notificationRecipients = `query($id: ID!) { service(id: $id) { notifications { edges { node { to } } } } }`

// socketOperation is one operation the tests start on a socket, under a label.
type socketOperation struct {
	label     string
	query     string
	variables map[string]any
}

// revokedOperations are what a member could do on service A before their access changed:
// read its recipients, cancel a letter (the one given), request a report, and watch its
// dashboard.
func revokedOperations(letter string) []socketOperation {
	return []socketOperation{
		{"query", notificationRecipients, map[string]any{"id": serviceA}},
		{"cancelLetter", cancelLetterMutation, map[string]any{"service": serviceA, "id": letter}},
		{"requestReport", requestReportMutation, map[string]any{"service": serviceA, "type": "EMAIL", "status": "ALL"}},
		{"subscription", liveTotalsQuery, map[string]any{"id": serviceA}},
	}
}

func TestSocketOperationsAgainstServe(t *testing.T) {
	binary := buildNotifyql(t)
	t.Run("a deactivated member's operations on an open socket", func(t *testing.T) { testDeactivatedMember(t, binary) })
	t.Run("a socket whose user is removed closes, though it runs nothing", func(t *testing.T) { testIdleSocketOfARemovedUser(t, binary) })
	t.Run("a member who lost their membership", func(t *testing.T) { testMemberWhoLostTheirMembership(t, binary) })
	t.Run("a revocation under load, over HTTP and sockets", func(t *testing.T) { testRevocationUnderLoad(t, binary) })
	t.Run("the rate limit is the user's, over HTTP and sockets", func(t *testing.T) { testSharedRateLimit(t, binary) })
	t.Run("a stuck operation ends at the request timeout", func(t *testing.T) { testSocketRequestTimeout(t, binary) })
	t.Run("subscriptions past the configured caps", func(t *testing.T) { testSubscriptionCaps(t, binary) })
	t.Run("the nested double spreads, without a token and on a socket", func(t *testing.T) { testHostileDocumentAgainstServe(t, binary) })
}

// mutationWitness is what the revoked mutations would change: a letter they would cancel,
// and the viewer's report requests, counted before their access changes.
type mutationWitness struct {
	world   *liveWorld
	letter  string
	reports int
}

const viewerReportRequests = `SELECT count(*) FROM report_requests WHERE user_id = $1`

func witnessMutations(t *testing.T, world *liveWorld) mutationWitness {
	t.Helper()
	return mutationWitness{world: world, letter: world.insertCancellableLetter(t), reports: world.count(t, viewerReportRequests, userViewer)}
}

// checkNothingChanged fails the test unless the letter is still created and no report was
// requested.
func (w mutationWitness) checkNothingChanged(t *testing.T) {
	t.Helper()
	if status := w.world.letterStatus(t, w.letter); status != "created" {
		t.Errorf("the letter is %s, want it still created", status)
	}
	if after := w.world.count(t, viewerReportRequests, userViewer); after != w.reports {
		t.Errorf("%d report requests after, %d before: a report was requested", after, w.reports)
	}
}

// The reproduction: a member signs in on a socket; by SQL their permissions and
// membership are deleted and they are set inactive; then on the same socket a query, two
// mutations and a new subscription. None returns data, the letter is not cancelled, no
// report is created, nothing streams, and the socket closes with 4403 within 2 s of the
// change.
func testDeactivatedMember(t *testing.T, binary string) {
	world := newLiveWorld(t, binary)
	witness := witnessMutations(t, world)
	srv := world.startServer(t, "serve")
	client := openSocketClient(t, srv.wsURL(), userViewer)

	world.inTransaction(t,
		`DELETE FROM permissions WHERE user_id = '`+userViewer+`'`,
		`DELETE FROM user_to_service WHERE user_id = '`+userViewer+`'`,
		`UPDATE users SET state = 'inactive' WHERE id = '`+userViewer+`'`)
	changed := time.Now()
	refused := map[string]bool{}
	for _, op := range revokedOperations(witness.letter) {
		client.start(op)
		refused[op.label] = false
	}
	// Each operation ends in an error: its refusal (UNAUTHENTICATED), or, when the close
	// overtook that, the close. The close comes within 2 s of the change.
	closed := false
	for !closed || slices.Contains(slices.Collect(maps.Values(refused)), false) {
		within := 5 * time.Second
		if !closed {
			within = time.Until(changed.Add(2 * time.Second))
		}
		ev := client.next(within)
		t.Logf("%s after the change: %s", time.Since(changed).Round(time.Millisecond), ev)
		switch {
		case ev.Event == "closed":
			if ev.Code != 4403 || ev.Reason != "Forbidden: the user does not exist or is not active" {
				t.Fatalf("the socket closed with %d %q, want 4403", ev.Code, ev.Reason)
			}
			closed = true
		case ev.Event == "error" && (ev.Errors == nil || slices.Equal(ev.codes(), []string{"UNAUTHENTICATED"})):
			refused[ev.ID] = true
		default:
			t.Errorf("%s after the user was deactivated: %s %s", ev.ID, ev.Event, ev.Payload)
			refused[ev.ID] = true
		}
	}
	witness.checkNothingChanged(t)
}

// An access change names a user who is then deleted, or deactivated: each of their sockets
// is closed with 4403 within 2 s, though it holds no subscription and sends nothing.
func testIdleSocketOfARemovedUser(t *testing.T, binary string) {
	const departing = "00000000-0000-0000-0000-0000000000d1"
	world := newLiveWorld(t, binary)
	world.inTransaction(t,
		`INSERT INTO users (id, name, email_address) VALUES ('`+departing+`', 'Dee Parting', 'departing@fixture.example')`,
		`INSERT INTO user_to_service (user_id, service_id) VALUES ('`+departing+`', '`+serviceA+`')`,
		`INSERT INTO permissions (service_id, user_id, permission) VALUES ('`+serviceA+`', '`+departing+`', 'view_activity')`)
	srv := world.startServer(t, "serve")
	for _, tt := range []struct{ user, removal string }{
		{userViewer, `UPDATE users SET state = 'inactive' WHERE id = '` + userViewer + `'`},
		{departing, `DELETE FROM users WHERE id = '` + departing + `'`},
	} {
		idle := openSocketClient(t, srv.wsURL(), tt.user)
		bystander := openSocketClient(t, srv.wsURL(), userSender)
		world.inTransaction(t, tt.removal)
		changed := time.Now()
		if ev := idle.next(time.Until(changed.Add(2 * time.Second))); ev.Event != "closed" || ev.Code != 4403 {
			t.Fatalf("%s: got %+v, want the socket closed with 4403", tt.removal, ev)
		}
		// Another user's socket is still open and answering.
		bystander.start(socketOperation{"me", `{ me { id } }`, nil})
		if ev := bystander.next(10 * time.Second); !ev.hasData() {
			t.Fatalf("%s: another user's socket answered %+v", tt.removal, ev)
		}
	}
}

// A member who stays active but loses their membership (and with it their permissions) is
// refused every new operation on an open socket with the codes HTTP gives the same token
// now, and keeps the socket, which answers what they may still ask.
func testMemberWhoLostTheirMembership(t *testing.T, binary string) {
	world := newLiveWorld(t, binary)
	witness := witnessMutations(t, world)
	srv := world.startServer(t, "serve")
	client := openSocketClient(t, srv.wsURL(), userViewer)
	client.start(socketOperation{"before", notificationRecipients, map[string]any{"id": serviceA}})
	if ev := client.next(10 * time.Second); !ev.hasData() {
		t.Fatalf("before the change, the member's query answered %+v", ev)
	}

	world.inTransaction(t,
		`DELETE FROM permissions WHERE user_id = '`+userViewer+`' AND service_id = '`+serviceA+`'`,
		`DELETE FROM user_to_service WHERE user_id = '`+userViewer+`' AND service_id = '`+serviceA+`'`)
	for _, op := range revokedOperations(witness.letter) {
		client.start(op)
		ev := client.nextFor(op.label, 10*time.Second)
		if ev.hasData() {
			t.Errorf("%s answered data after the membership ended: %s", op.label, ev.Payload)
		}
		got := ev.codes()
		if op.label == "subscription" {
			if len(got) != 1 || (got[0] != "NOT_FOUND" && got[0] != "FORBIDDEN") {
				t.Errorf("subscription refused with %v, want NOT_FOUND or FORBIDDEN", got)
			}
			continue
		}
		if want := srv.codesOverHTTP(t, userViewer, op); len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s on the socket refused with %v, over HTTP with %v; want the same refusal", op.label, got, want)
		}
	}
	client.start(socketOperation{"me", `{ me { id } }`, nil})
	if ev := client.nextFor("me", 10*time.Second); !ev.hasData() {
		t.Errorf("the socket no longer answers what the user may still ask: %+v", ev)
	}
	witness.checkNothingChanged(t)
}

// One allowance per user, whichever way they ask: a user who spent it over HTTP is refused
// on a socket (RATE_LIMITED, saying when to try again), and one who spent it on a socket is
// refused over HTTP, and the socket stays open.
func testSharedRateLimit(t *testing.T, binary string) {
	world := newLiveWorld(t, binary)
	// 6 a minute in bursts of 1: a second operation within 10 s is refused.
	world.serverEnv = []string{"NOTIFYQL_RATE_LIMIT_PER_USER=6"}
	srv := world.startServer(t, "serve")
	const me = `{ me { id } }`

	if a := srv.post(t, userViewer, me, nil); a.status != http.StatusOK || len(a.codes()) != 0 {
		t.Fatalf("the viewer's first request over HTTP: %d %v", a.status, a.codes())
	}
	conn := dialSignedIn(t, "graphql-transport-ws", srv.wsURL(), userViewer)
	msg := socketAnswer(t, conn, "1", me)
	var errs []gqlError
	if msg.Type != "error" || json.Unmarshal(msg.Payload, &errs) != nil || len(errs) != 1 ||
		errs[0].Extensions["code"] != "RATE_LIMITED" || !strings.HasPrefix(errs[0].Message, "too many requests: try again in ") {
		t.Errorf("after the allowance went over HTTP, the socket answered %s %s; want RATE_LIMITED saying when to try again", msg.Type, msg.Payload)
	}

	sender := dialSignedIn(t, "graphql-transport-ws", srv.wsURL(), userSender)
	if msg := socketAnswer(t, sender, "1", me); msg.Type != "next" || bytes.Contains(msg.Payload, []byte(`"errors"`)) {
		t.Fatalf("the sender's first operation on a socket: %s %s", msg.Type, msg.Payload)
	}
	if a := srv.post(t, userSender, me, nil); a.status != http.StatusTooManyRequests || !slices.Equal(a.codes(), []string{"RATE_LIMITED"}) {
		t.Errorf("after the allowance went on a socket, HTTP answered %d %v; want 429 RATE_LIMITED", a.status, a.codes())
	}
	// The socket is still open: a subscribe is refused, not the socket closed.
	if msg := socketSubscribe(t, sender, "subscribe", "2", liveTotalsQuery, map[string]any{"id": serviceA}); msg.Type != "error" || !bytes.Contains(msg.Payload, []byte(`"RATE_LIMITED"`)) {
		t.Errorf("a subscribe past the allowance: %s %s; want RATE_LIMITED", msg.Type, msg.Payload)
	}
}

// A query on a socket waiting on a database that does not answer (a table locked by an
// administrator) ends at NOTIFYQL_REQUEST_TIMEOUT with UNAVAILABLE, as the same query over
// HTTP does.
func testSocketRequestTimeout(t *testing.T, binary string) {
	world := newLiveWorld(t, binary)
	world.serverEnv = []string{"NOTIFYQL_REQUEST_TIMEOUT=1s"}
	srv := world.startServer(t, "serve")
	conn := dialSignedIn(t, "graphql-transport-ws", srv.wsURL(), userViewer)

	lockNotifications(t, world.pool)
	msg := socketSubscribe(t, conn, "subscribe", "1", notificationRecipients, map[string]any{"id": serviceA})
	var result struct {
		Errors []gqlError `json:"errors"`
	}
	if msg.Type != "next" || json.Unmarshal(msg.Payload, &result) != nil || len(result.Errors) != 1 ||
		result.Errors[0].Extensions["code"] != "UNAVAILABLE" {
		t.Errorf("the stuck query on a socket answered %s %s; want UNAVAILABLE", msg.Type, msg.Payload)
	}
	if codes := srv.post(t, userViewer, notificationRecipients, map[string]any{"id": serviceA}).codes(); !slices.Equal(codes, []string{"UNAVAILABLE"}) {
		t.Errorf("the same query over HTTP answered %v; want UNAVAILABLE, as on the socket", codes)
	}
}

// Issue 15's hostile document (40 fragments each spreading the next twice: 2^40 paths), sent
// to a real serve without a token over HTTP and by the graphql-ws client on a signed-in
// socket, is refused before validation, within the test binary's timeout (on main it was
// never answered: its analysis walked every path), and the server goes on answering on
// both.
func testHostileDocumentAgainstServe(t *testing.T, binary string) {
	world := newLiveWorld(t, binary)
	srv := world.startServer(t, "serve")
	hostile := nestedDoubleSpreads(40)

	if a := srv.post(t, "", hostile, nil); !slices.Equal(a.codes(), []string{"VALIDATION_LIMIT_EXCEEDED"}) {
		t.Errorf("over HTTP without a token: %d %v; want VALIDATION_LIMIT_EXCEEDED", a.status, a.codes())
	}
	client := openSocketClient(t, srv.wsURL(), userViewer)
	client.start(socketOperation{"hostile", hostile, nil})
	// gqlgen answers an operation refused before it runs with a response of errors alone.
	if ev := client.nextFor("hostile", 30*time.Second); ev.hasData() || !slices.Equal(ev.codes(), []string{"VALIDATION_LIMIT_EXCEEDED"}) {
		t.Errorf("on the socket: %s; want no data and VALIDATION_LIMIT_EXCEEDED", ev)
	}
	client.start(socketOperation{"after", `{ me { id } }`, nil})
	if ev := client.nextFor("after", 10*time.Second); !ev.hasData() {
		t.Errorf("the socket's next operation: %s; want data", ev)
	}
	if a := srv.post(t, userViewer, `{ me { id } }`, nil); a.status != http.StatusOK || len(a.codes()) != 0 {
		t.Errorf("a query over HTTP after them: %d %v", a.status, a.codes())
	}
}

// The caps that configuration sets hold for real subscriptions of either subprotocol: the
// subscribe past the socket's cap, or past the user's across their sockets, is refused
// with SUBSCRIPTION_LIMIT for its id alone, and completing a subscription frees its place.
func testSubscriptionCaps(t *testing.T, binary string) {
	world := newLiveWorld(t, binary)
	world.serverEnv = []string{"NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_SOCKET=2", "NOTIFYQL_WS_MAX_SUBSCRIPTIONS_PER_USER=3"}
	srv := world.startServer(t, "serve")
	window := func(days int) map[string]any { return map[string]any{"id": serviceA, "days": days} }
	const totals = `subscription($id: ID!, $days: Int) { dashboardTotals(serviceId: $id, days: $days) { email { requested } } }`
	wantNext := func(what string, msg wsMessage, next string) {
		t.Helper()
		if msg.Type != next || bytes.Contains(msg.Payload, []byte(`"errors"`)) {
			t.Fatalf("%s: %s %s, want %s", what, msg.Type, msg.Payload, next)
		}
	}
	wantCapped := func(what string, msg wsMessage, cap string) {
		t.Helper()
		var errs []gqlError
		if msg.Type != "error" || json.Unmarshal(msg.Payload, &errs) != nil || len(errs) != 1 ||
			errs[0].Extensions["code"] != "SUBSCRIPTION_LIMIT" || !strings.Contains(errs[0].Message, cap) {
			t.Fatalf("%s: %s %s, want SUBSCRIPTION_LIMIT naming %s", what, msg.Type, msg.Payload, cap)
		}
	}

	first := dialSignedIn(t, "graphql-transport-ws", srv.wsURL(), userViewer)
	wantNext("the socket's first", socketSubscribe(t, first, "subscribe", "1", totals, window(0)), "next")
	wantNext("the socket's second", socketSubscribe(t, first, "subscribe", "2", totals, window(1)), "next")
	wantCapped("the socket's third", socketSubscribe(t, first, "subscribe", "3", totals, window(2)), "this connection holds the most subscriptions allowed (2)")

	legacy := dialSignedIn(t, "graphql-ws", srv.wsURL(), userViewer)
	wantNext("the user's third, on another socket", socketSubscribe(t, legacy, "start", "1", totals, window(3)), "data")
	wantCapped("the user's fourth", socketSubscribe(t, legacy, "start", "2", totals, window(4)), "you hold the most subscriptions allowed on this server (3)")

	// Completing one frees its place: the server says the subscription is complete once
	// its place is free.
	if err := first.WriteJSON(wsMessage{ID: "1", Type: "complete"}); err != nil {
		t.Fatal(err)
	}
	for {
		var msg wsMessage
		if err := first.ReadJSON(&msg); err != nil {
			t.Fatal(err)
		}
		if msg.Type == "complete" && msg.ID == "1" {
			break
		}
	}
	wantNext("after a completion", socketSubscribe(t, legacy, "start", "3", totals, window(5)), "data")
}

// socketSubscribe sends a subscribe (or, in the legacy subprotocol, start) message and
// returns the server's first answer for its id, which must come within 10 s.
func socketSubscribe(t *testing.T, conn *websocket.Conn, messageType, id, query string, variables map[string]any) wsMessage {
	t.Helper()
	const within = 10 * time.Second
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err := conn.WriteJSON(wsMessage{ID: id, Type: messageType, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(within))
	defer conn.SetReadDeadline(time.Time{})
	for {
		var msg wsMessage
		if err := conn.ReadJSON(&msg); err != nil {
			t.Fatalf("no answer to %s within %s: %v", id, within, err)
		}
		if msg.ID == id {
			return msg
		}
	}
}

// socketClient is operations.mjs signed in as one user on one socket of a server.
type socketClient struct {
	t *testing.T
	p *nodeProcess
	// held are events read while waiting for another operation's.
	held []socketEvent
}

// socketEvent is one line operations.mjs prints.
type socketEvent struct {
	ID      string          `json:"id"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
	Errors  []gqlError      `json:"errors"`
	Reason  string          `json:"reason"`
	Code    int             `json:"code"`
}

// openSocketClient starts the client and returns once the server has acknowledged it.
func openSocketClient(t *testing.T, wsURL, userID string) *socketClient {
	t.Helper()
	c := &socketClient{t: t, p: startNode(t, 2*time.Minute, nil, "operations.mjs", wsURL, tokenFor(t, userID))}
	if ev := c.next(10 * time.Second); ev.Event != "connected" {
		t.Fatalf("want the connection acknowledged, got %+v", ev)
	}
	return c
}

func (c *socketClient) start(op socketOperation) {
	c.t.Helper()
	line, _ := json.Marshal(map[string]any{"id": op.label, "query": op.query, "variables": op.variables})
	c.p.send(string(line))
}

// next is the client's next event.
func (c *socketClient) next(within time.Duration) socketEvent {
	c.t.Helper()
	if len(c.held) > 0 {
		ev := c.held[0]
		c.held = c.held[1:]
		return ev
	}
	return c.read(within)
}

// read decodes the next line the client prints.
func (c *socketClient) read(within time.Duration) socketEvent {
	c.t.Helper()
	line := c.p.nextLine(max(within, time.Millisecond))
	var ev socketEvent
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		c.t.Fatalf("the client printed %q: %v", line, err)
	}
	return ev
}

// nextFor is the next event of the operation labelled id (or the socket's close), keeping
// others' for later.
func (c *socketClient) nextFor(id string, within time.Duration) socketEvent {
	c.t.Helper()
	for i, ev := range c.held {
		if ev.ID == id || ev.Event == "closed" {
			c.held = slices.Delete(c.held, i, i+1)
			return ev
		}
	}
	deadline := time.Now().Add(within)
	for {
		ev := c.read(time.Until(deadline))
		if ev.ID == id || ev.Event == "closed" {
			return ev
		}
		c.held = append(c.held, ev)
	}
}

func (ev socketEvent) String() string {
	if ev.Event == "closed" {
		return fmt.Sprintf("closed %d %q", ev.Code, ev.Reason)
	}
	return fmt.Sprintf("%s %s %s codes %v %s", ev.ID, ev.Event, ev.Payload, ev.codes(), ev.Reason)
}

// hasData reports whether the event is a response with any non-null data.
func (ev socketEvent) hasData() bool {
	if ev.Event != "next" {
		return false
	}
	var result struct{ Data map[string]any }
	if json.Unmarshal(ev.Payload, &result) != nil {
		return false
	}
	for _, v := range result.Data {
		if v != nil {
			return true
		}
	}
	return false
}

// codes are the extensions.code of the event's errors: an error message's, or a response's.
func (ev socketEvent) codes() []string {
	errs := ev.Errors
	if ev.Event == "next" {
		var result struct{ Errors []gqlError }
		_ = json.Unmarshal(ev.Payload, &result)
		errs = result.Errors
	}
	return errorCodes(errs)
}

// codesOverHTTP sends op over HTTP as userID and returns the codes of its errors.
func (s *serverProcess) codesOverHTTP(t *testing.T, userID string, op socketOperation) []string {
	t.Helper()
	return s.post(t, userID, op.query, op.variables).codes()
}

// socketAnswer starts query (no variables) on conn as id and returns the server's first
// message for it.
func socketAnswer(t *testing.T, conn *websocket.Conn, id, query string) wsMessage {
	t.Helper()
	return socketSubscribe(t, conn, "subscribe", id, query, nil)
}

// insertCancellableLetter commits a letter of service A created now, which its members
// may cancel until the next print run, and returns its id.
func (w *liveWorld) insertCancellableLetter(t *testing.T) string {
	t.Helper()
	const id = "1e000000-0000-0000-0000-0000000000c1"
	if _, err := w.pool.Exec(context.Background(), `
		INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to",
		    normalised_to, key_type, notification_status, billable_units, postage, created_at)
		VALUES ($1, $2, $3, 1, 'letter', E'A Person\n1 Road\nSW1A 2AA', '1roadsw1a2aa', 'normal', 'created', 1, 'second', now() AT TIME ZONE 'utc')`,
		id, serviceA, precompiledLetterTemplate); err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *liveWorld) letterStatus(t *testing.T, id string) string {
	t.Helper()
	var status string
	if err := w.pool.QueryRow(context.Background(), `SELECT notification_status FROM notifications WHERE id = $1`, id).Scan(&status); err != nil {
		t.Fatal(err)
	}
	return status
}

func (w *liveWorld) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// inTransaction commits the statements together, as one change.
func (w *liveWorld) inTransaction(t *testing.T, statements ...string) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), w.pool, func(tx pgx.Tx) error {
		for _, s := range statements {
			if _, err := tx.Exec(context.Background(), s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("change access: %v", err)
	}
}
