package main

import (
	"encoding/json"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"notifyql/server"
)

// idleSubscriptions is how many subscriptions the memory test holds: enough that the cost
// of one stands out of the noise of the test's own allocations.
const idleSubscriptions = 400

// maxIdleSubscriptionHeap bounds the heap the server keeps for one idle subscription of
// a dashboard, on top of its socket's: gqlgen's operation state, the stream's plumbing and
// the hub's record. It was 5.2 KiB while each subscription held an operation context of
// its own, its loaders and a map of its socket's operations, and is about 3.8 KiB
// without them; the bound leaves room for the runtime's and the libraries' changes
// without letting the old cost back in.
const maxIdleSubscriptionHeap = 4608

// An idle subscription costs the server a few KiB of heap beyond its socket (the
// benchmark's figure per subscription is the socket's and the subscription's together).
// Every subscriber sends the same dashboard subscription, as the benchmark's do; each is
// on a socket of its own, opened before the heap is first measured.
func TestAnIdleSubscriptionHoldsLittleHeapBeyondItsSocket(t *testing.T) {
	api := startLiveAPIWith(t, liveAPIOptions{webSocket: server.WebSocketConfig{
		MessageRate: 1000, MessageBurst: 200, MaxConnectionsPerUser: idleSubscriptions + 10,
		MaxSubscriptionsPerSocket: 1, MaxSubscriptionsPerUser: idleSubscriptions + 10,
	}})
	// The clients hold as little of their own as gorilla allows, so that the heap measured
	// is mostly the server's.
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second,
		ReadBufferSize: 256, WriteBufferPool: &sync.Pool{}}
	conns := make([]*websocket.Conn, idleSubscriptions)
	for i := range conns {
		conns[i] = dialSignedInWith(t, dialer, api.wsURL, userAdmin)
	}
	// One subscription first, so that what the first costs once (the topic, its snapshot,
	// gqlgen's parsed document) is not counted.
	subscribeAndTakeFirst(t, conns[0], serviceA)
	heapBefore := settledHeap()

	for _, conn := range conns[1:] {
		subscribeAndTakeFirst(t, conn, serviceA)
	}
	heapAfter := settledHeap()
	perSubscription := float64(heapAfter-heapBefore) / float64(len(conns)-1)
	t.Logf("%d idle subscriptions of one dashboard, one a socket: %.0f B of heap each beyond its socket", len(conns)-1, perSubscription)
	if perSubscription > maxIdleSubscriptionHeap {
		t.Errorf("an idle subscription holds %.0f B of heap, want at most %d", perSubscription, maxIdleSubscriptionHeap)
	}
	runtime.KeepAlive(conns)
}

const idleDashboardSubscription = `subscription($id: ID!) { dashboardTotals(serviceId: $id, days: 0) {
  email { requested delivered failed sending failurePercentage showWarning }
  sms { requested delivered failed sending failurePercentage showWarning } } }`

// subscribeAndTakeFirst starts the dashboard subscription of service on conn and reads its
// first snapshot.
func subscribeAndTakeFirst(t *testing.T, conn *websocket.Conn, service string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"query": idleDashboardSubscription, "variables": map[string]any{"id": service}})
	if err := conn.WriteJSON(wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var msg wsMessage
	if err := conn.ReadJSON(&msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "next" {
		t.Fatalf("the subscription sent %s %s, want next", msg.Type, msg.Payload)
	}
}

// settledHeap returns the heap in use once the goroutines that served the last requests
// have ended and the collector has run, and what a subscription's start left has been
// let go.
func settledHeap() uint64 {
	var m runtime.MemStats
	var last uint64
	for i := range 20 {
		time.Sleep(100 * time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(&m)
		if i > 2 && m.HeapAlloc <= last+last/200 {
			break
		}
		last = m.HeapAlloc
	}
	return m.HeapAlloc
}
