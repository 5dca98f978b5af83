package server_test

import (
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"notifyql/server"
)

// idleSockets is how many sockets the cost test holds open: enough that the cost of one
// stands out of the noise of the test's own goroutines and allocations.
const idleSockets = 500

// leanDialer opens the test's client ends with as little of their own as gorilla allows
// (a small read buffer, pooled write buffers), so that the heap measured is mostly the
// server's.
var leanDialer = &websocket.Dialer{HandshakeTimeout: 5 * time.Second, ReadBufferSize: 256, WriteBufferPool: &sync.Pool{}}

// An idle socket costs the server one goroutine, the one that reads it: no goroutine waits
// on its context, writes for it or sends its keep-alives (legacy or not). The heap and
// stack it costs are logged, with the goroutines of a socket running one subscription.
func TestAnIdleSocketCostsOneGoroutine(t *testing.T) {
	f := newWSFixture(t, func(c *server.WebSocketConfig) {
		c.MaxConnectionsPerUser, c.MaxSubscriptionsPerUser = 2*idleSockets, 2*idleSockets
	})
	token := mustToken(t, wsUserID, time.Hour)
	before := settledGoroutines(0)
	heapBefore, stackBefore := memory()

	conns := make([]*websocket.Conn, 0, idleSockets)
	t.Cleanup(func() {
		for _, conn := range conns {
			conn.Close()
		}
	})
	for i := range idleSockets {
		subprotocol := transportWS
		if i%2 == 1 {
			subprotocol = legacyWS
		}
		conn := leanConnect(t, f.url, subprotocol, token)
		conns = append(conns, conn)
		// Clients answer the server's pings (and some ping): the socket waits as it did
		// before them, though the stack signing in grew has not been shrunk yet.
		if err := conn.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := conn.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if open := f.server.OpenWebSockets(); open != idleSockets {
		t.Fatalf("%d sockets open, want %d", open, idleSockets)
	}
	idle := settledGoroutines(before + idleSockets)
	heapIdle, stackIdle := memory()
	perSocket := float64(idle-before) / idleSockets
	t.Logf("%d idle sockets (half graphql-ws), each sent a ping and a pong: %.2f goroutines, %.0f B of heap and %.0f B of goroutine stack a socket (client ends included in the heap)",
		idleSockets, perSocket, float64(heapIdle-heapBefore)/idleSockets, float64(stackIdle-stackBefore)/idleSockets)
	if idle-before > idleSockets+idleSockets/100 {
		t.Errorf("%d goroutines for %d idle sockets (%.2f each), want one each", idle-before, idleSockets, perSocket)
	}

	// One subscription on each: the operation's goroutine waits in gqlgen's response
	// handler (here the test schema's; in the API, the stream's pump).
	for _, conn := range conns {
		names := transportWSNames
		if conn.Subprotocol() == legacyWS {
			names = legacyWSNames
		}
		names.startAnswered(t, conn, "1", "subscription { me }")
	}
	subscribed := settledGoroutines(before + 2*idleSockets)
	heapSubscribed, stackSubscribed := memory()
	t.Logf("with one subscription each: %.2f goroutines, %.0f B of heap and %.0f B of goroutine stack a socket",
		float64(subscribed-before)/idleSockets, float64(heapSubscribed-heapBefore)/idleSockets, float64(stackSubscribed-stackBefore)/idleSockets)
	if subscribed-before > 2*idleSockets+idleSockets/100 {
		t.Errorf("%d goroutines for %d sockets with one subscription each, want two each", subscribed-before, idleSockets)
	}
}

// leanConnect opens a socket with leanDialer and signs in.
func leanConnect(t testing.TB, url, subprotocol, token string) *websocket.Conn {
	t.Helper()
	dialer := *leanDialer
	dialer.Subprotocols = []string{subprotocol}
	conn, resp, err := dialer.Dial(url, http.Header{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	send(t, conn, initMessage(token))
	if msg := next(t, conn); msg.Type != "connection_ack" {
		t.Fatalf("got %+v, want connection_ack", msg)
	}
	return conn
}

// settledGoroutines waits (a few seconds at most) for the goroutines that serving a
// handshake leaves behind for a moment to end, and returns how many goroutines there
// are: at most want, or the count that stopped falling.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	last := runtime.NumGoroutine()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		n := runtime.NumGoroutine()
		if (want > 0 && n <= want) || (want == 0 && n == last) {
			return n
		}
		last = n
	}
	return last
}

// memory returns the heap in use and the goroutine stacks, after collections enough for
// the runtime to shrink the stacks of goroutines that grew them and now wait (it halves
// one at most once a collection).
func memory() (heap, stack int64) {
	for range 5 {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc), int64(m.StackInuse)
}
