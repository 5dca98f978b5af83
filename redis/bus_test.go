package redis

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// machineRedisAddr is the shared Redis that make test starts; tests on it use topic
// names of their own and never stop it.
const machineRedisAddr = "127.0.0.1:6379"

// unreachableRedisAddr is a port that was just free: nothing listens there, so every call
// to it is refused.
func unreachableRedisAddr(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().String()
}

// waitFor is how long a test waits for something that should happen at once.
const waitFor = 5 * time.Second

type busMessage struct {
	topic   string
	payload string
}

// runningBus is a Bus whose Run loop a test started, with what it handed over.
type runningBus struct {
	*Bus
	messages chan busMessage
	gaps     chan struct{}
	stop     func()
}

// MustRunBus starts bus.Run on a goroutine. The returned stop cancels it, waits for Run
// to return and fails the test unless it returned nil.
func MustRunBus(tb testing.TB, bus *Bus) *runningBus {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	running := &runningBus{
		Bus:      bus,
		messages: make(chan busMessage, 100),
		gaps:     make(chan struct{}, 100),
	}
	done := make(chan error, 1)
	go func() {
		done <- bus.Run(ctx,
			func(topic string, payload []byte) { running.messages <- busMessage{topic, string(payload)} },
			func() { running.gaps <- struct{}{} },
		)
	}()
	var once sync.Once
	running.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("Run returned %v after its context ended; want nil", err)
				}
			case <-time.After(waitFor):
				tb.Errorf("Run did not return within %s of its context ending", waitFor)
			}
		})
	}
	return running
}

// expectMessage waits for the next message and fails unless it is want.
func (r *runningBus) expectMessage(tb testing.TB, want busMessage) {
	tb.Helper()
	select {
	case got := <-r.messages:
		if got != want {
			tb.Fatalf("received %+v; want %+v", got, want)
		}
	case <-time.After(waitFor):
		tb.Fatalf("no message within %s; want %+v", waitFor, want)
	}
}

func newClient(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr})
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// uniqueTopic names a topic no other test (or earlier run) uses on the shared Redis.
func uniqueTopic(tb testing.TB, name string) string {
	return fmt.Sprintf("test:%s:%s:%d", tb.Name(), name, time.Now().UnixNano())
}

// waitForSubscribers waits until want connections are subscribed to topic's channel.
func waitForSubscribers(tb testing.TB, client *goredis.Client, topic string, want int64) {
	tb.Helper()
	channel := liveChannelPrefix + topic
	deadline := time.Now().Add(waitFor)
	for {
		counts, err := client.PubSubNumSub(context.Background(), channel).Result()
		if err == nil && counts[channel] == want {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("PUBSUB NUMSUB %s = %v, %v after %s; want %d", channel, counts, err, waitFor, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBusDeliversPublishedSnapshots(t *testing.T) {
	defer goleak.VerifyNone(t)
	client := newClient(machineRedisAddr)
	defer client.Close()
	ctx := context.Background()

	before, during := uniqueTopic(t, "before"), uniqueTopic(t, "during")
	bus := MustRunBusSubscribed(t, NewBus(client, quietLogger()), before)
	defer bus.stop()

	waitForSubscribers(t, client, before, 1)
	if err := bus.Publish(ctx, before, []byte("snapshot 1")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	bus.expectMessage(t, busMessage{before, "snapshot 1"})

	if err := bus.Subscribe(ctx, during); err != nil {
		t.Fatalf("Subscribe while running: %v", err)
	}
	waitForSubscribers(t, client, during, 1)
	if err := bus.Publish(ctx, during, []byte("snapshot 2")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	bus.expectMessage(t, busMessage{during, "snapshot 2"})

	// Redis delivers one connection's messages in publish order, so once the snapshot
	// of a still-subscribed topic arrives, one for an unsubscribed topic never will.
	if err := bus.Unsubscribe(ctx, before); err != nil {
		t.Fatalf("Unsubscribe while running: %v", err)
	}
	waitForSubscribers(t, client, before, 0)
	if err := bus.Publish(ctx, before, []byte("unwanted")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := bus.Publish(ctx, during, []byte("snapshot 3")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	bus.expectMessage(t, busMessage{during, "snapshot 3"})

	bus.stop()
	waitForSubscribers(t, client, during, 0)
	if len(bus.gaps) != 0 {
		t.Errorf("onGap called %d times on a connection that never broke; want 0", len(bus.gaps))
	}
}

func TestBusPublishManyDeliversEverySnapshot(t *testing.T) {
	defer goleak.VerifyNone(t)
	client := newClient(machineRedisAddr)
	defer client.Close()
	ctx := context.Background()

	want := make(map[string]string)
	snapshots := make(map[string][]byte)
	for i := range 50 {
		topic := uniqueTopic(t, strconv.Itoa(i))
		want[topic] = fmt.Sprintf("snapshot %d", i)
		snapshots[topic] = []byte(want[topic])
	}
	bus := MustRunBusSubscribed(t, NewBus(client, quietLogger()), slices.Collect(maps.Keys(want))...)
	defer bus.stop()
	for topic := range want {
		waitForSubscribers(t, client, topic, 1)
	}

	if failed, err := bus.PublishMany(ctx, snapshots); err != nil || failed != nil {
		t.Fatalf("PublishMany = %v, %v; want no failures", failed, err)
	}
	got := make(map[string]string)
	for range want {
		select {
		case m := <-bus.messages:
			got[m.topic] = m.payload
		case <-time.After(waitFor):
			t.Fatalf("received %d of %d snapshots within %s", len(got), len(want), waitFor)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("received %v; want %v", got, want)
	}
	if failed, err := bus.PublishMany(ctx, nil); err != nil || failed != nil {
		t.Errorf("PublishMany(nothing) = %v, %v; want nothing", failed, err)
	}
}

func TestBusPublishManyReportsAnUnreachableRedis(t *testing.T) {
	defer goleak.VerifyNone(t)
	server := MustStartPrivateRedis(t)
	defer server.kill() // before goleak: exec copies the server's output on a goroutine
	client := newClient(server.addr())
	defer client.Close()
	ctx := context.Background()
	bus := NewBus(client, quietLogger())
	snapshots := map[string][]byte{"b": []byte("2"), "a": []byte("1"), "c": []byte("3")}

	if failed, err := bus.PublishMany(ctx, snapshots); err != nil || failed != nil {
		t.Fatalf("PublishMany while Redis is up = %v, %v; want no failures", failed, err)
	}
	server.kill()
	failed, err := bus.PublishMany(ctx, snapshots)
	if err == nil || !slices.Equal(failed, []string{"a", "b", "c"}) {
		t.Errorf("PublishMany with Redis down = %v, %v; want every topic failed and an error", failed, err)
	}
}

// MustRunBusSubscribed subscribes bus to topics before starting Run, as an instance does
// when subscribers arrive before the bus is up.
func MustRunBusSubscribed(tb testing.TB, bus *Bus, topics ...string) *runningBus {
	tb.Helper()
	if err := bus.Subscribe(context.Background(), topics...); err != nil {
		tb.Fatalf("Subscribe before Run: %v", err)
	}
	return MustRunBus(tb, bus)
}

func TestBusRunRefusesASecondRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	client := newClient(machineRedisAddr)
	defer client.Close()
	bus := MustRunBus(t, NewBus(client, quietLogger()))
	defer bus.stop()

	topic := uniqueTopic(t, "topic")
	if err := bus.Subscribe(context.Background(), topic); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	waitForSubscribers(t, client, topic, 1) // the first Run is up
	if err := bus.Run(context.Background(), func(string, []byte) {}, func() {}); err == nil {
		t.Errorf("a second Run on the same Bus returned nil; want an error")
	}
}

func TestBusWatchedListsUnexpiredTopics(t *testing.T) {
	defer goleak.VerifyNone(t)
	client := newClient(machineRedisAddr)
	defer client.Close()
	ctx := context.Background()
	bus := NewBus(client, quietLogger())

	long, short, renewed := uniqueTopic(t, "long"), uniqueTopic(t, "short"), uniqueTopic(t, "renewed")
	defer client.ZRem(ctx, watchedTopicsKey, long, short, renewed)

	if err := bus.Watch(ctx, []string{long, short, renewed}, 300*time.Millisecond); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if err := bus.Watch(ctx, []string{long, renewed}, time.Minute); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	// Another instance renewing with a shorter ttl must not cut the registration short.
	if err := bus.Watch(ctx, []string{renewed}, 100*time.Millisecond); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if err := bus.Watch(ctx, nil, time.Minute); err != nil {
		t.Fatalf("Watch with no topics: %v", err)
	}

	watched := mustWatched(t, bus)
	for _, topic := range []string{long, short, renewed} {
		if !slices.Contains(watched, topic) {
			t.Errorf("Watched() right after Watch lacks %s", topic)
		}
	}
	if !slices.IsSorted(watched) {
		t.Errorf("Watched() = %v; want it sorted", watched)
	}

	time.Sleep(400 * time.Millisecond)
	watched = mustWatched(t, bus)
	if slices.Contains(watched, short) {
		t.Errorf("Watched() still lists %s after its ttl", short)
	}
	for _, topic := range []string{long, renewed} {
		if !slices.Contains(watched, topic) {
			t.Errorf("Watched() lacks %s, renewed for a minute", topic)
		}
	}
	if err := client.ZScore(ctx, watchedTopicsKey, short).Err(); err != goredis.Nil {
		t.Errorf("ZSCORE of the expired %s = %v; want it trimmed (redis.Nil)", short, err)
	}
}

func mustWatched(tb testing.TB, bus *Bus) []string {
	tb.Helper()
	watched, err := bus.Watched(context.Background())
	if err != nil {
		tb.Fatalf("Watched: %v", err)
	}
	return watched
}

func TestBusWatchWorksOnTheInProcessServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	server, err := StartInProcess()
	if err != nil {
		t.Fatalf("StartInProcess: %v", err)
	}
	defer server.Close()
	client := newClient(server.Addr())
	defer client.Close()
	bus := NewBus(client, quietLogger())
	ctx := context.Background()

	if err := bus.Watch(ctx, []string{"b", "a"}, time.Minute); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if err := bus.Watch(ctx, []string{"a"}, time.Millisecond); err != nil {
		t.Fatalf("Watch with a shorter ttl: %v", err)
	}
	time.Sleep(10 * time.Millisecond)
	if got := mustWatched(t, bus); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Watched() = %v; want [a b]", got)
	}
}

// privateRedis is a redis-server of the test's own, which it may kill and restart.
type privateRedis struct {
	port    int
	command *exec.Cmd
}

func (p *privateRedis) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// MustStartPrivateRedis starts redis-server on a free port and waits until it answers.
func MustStartPrivateRedis(tb testing.TB) *privateRedis {
	tb.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	if err := listener.Close(); err != nil {
		tb.Fatalf("free port %d: %v", port, err)
	}
	server := &privateRedis{port: port}
	server.mustStart(tb)
	tb.Cleanup(server.kill)
	return server
}

func (p *privateRedis) mustStart(tb testing.TB) {
	tb.Helper()
	p.command = exec.Command("redis-server",
		"--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
		"--port", strconv.Itoa(p.port), "--daemonize", "no")
	var output strings.Builder
	p.command.Stdout, p.command.Stderr = &output, &output
	if err := p.command.Start(); err != nil {
		tb.Fatalf("start redis-server on port %d: %v", p.port, err)
	}
	client := newClient(p.addr())
	defer client.Close()
	deadline := time.Now().Add(waitFor)
	for client.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			p.kill()
			tb.Fatalf("redis-server on port %d not answering after %s:\n%s", p.port, waitFor, output.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server at once, as a crash would; it is harmless when already stopped.
func (p *privateRedis) kill() {
	if p.command == nil {
		return
	}
	_ = p.command.Process.Kill()
	_ = p.command.Wait()
	p.command = nil
}

func TestBusRecoversFromARedisRestart(t *testing.T) {
	defer goleak.VerifyNone(t)
	server := MustStartPrivateRedis(t)
	defer server.kill() // before goleak: exec copies the server's output on a goroutine
	busClient := newClient(server.addr())
	defer busClient.Close()
	publisher := newClient(server.addr())
	defer publisher.Close()
	ctx := context.Background()

	topic := uniqueTopic(t, "topic")
	bus := MustRunBusSubscribed(t, NewBus(busClient, quietLogger()), topic)
	defer bus.stop()
	waitForSubscribers(t, publisher, topic, 1)
	if err := bus.Publish(ctx, topic, []byte("before the restart")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	bus.expectMessage(t, busMessage{topic, "before the restart"})

	server.kill()
	// Subscribed while Redis is down: it must be subscribed on reconnect all the same.
	late := uniqueTopic(t, "late")
	_ = bus.Subscribe(ctx, late) // may fail now; the topic stays in the set
	time.Sleep(300 * time.Millisecond)
	server.mustStart(t)

	select {
	case <-bus.gaps:
	case <-time.After(waitFor):
		t.Fatalf("onGap not called within %s of Redis coming back", waitFor)
	}
	// onGap comes only once the subscriptions are back, so nothing published from now
	// on can be missed.
	for i, subscribed := range []string{topic, late} {
		counts, err := publisher.PubSubNumSub(ctx, liveChannelPrefix+subscribed).Result()
		if err != nil || counts[liveChannelPrefix+subscribed] != 1 {
			t.Errorf("topic %d: PUBSUB NUMSUB right after onGap = %v, %v; want 1", i, counts, err)
		}
	}
	if err := bus.Publish(ctx, topic, []byte("after the restart")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	bus.expectMessage(t, busMessage{topic, "after the restart"})
	if err := bus.Publish(ctx, late, []byte("late topic")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	bus.expectMessage(t, busMessage{late, "late topic"})

	bus.stop()
	if len(bus.gaps) != 0 {
		t.Errorf("onGap called %d more times after one restart; want once", len(bus.gaps))
	}
}

func TestBusReportsAGapWhenRedisWasDownAtStart(t *testing.T) {
	defer goleak.VerifyNone(t)
	server := MustStartPrivateRedis(t)
	defer server.kill() // before goleak: exec copies the server's output on a goroutine
	server.kill()
	busClient := newClient(server.addr())
	defer busClient.Close()
	ctx := context.Background()

	topic := uniqueTopic(t, "topic")
	bus := MustRunBusSubscribed(t, NewBus(busClient, quietLogger()), topic)
	defer bus.stop()
	time.Sleep(200 * time.Millisecond)
	server.mustStart(t)

	select {
	case <-bus.gaps:
	case <-time.After(waitFor):
		t.Fatalf("onGap not called within %s of Redis first answering", waitFor)
	}
	if err := bus.Publish(ctx, topic, []byte("first")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	bus.expectMessage(t, busMessage{topic, "first"})
}

func TestBusRunsOnTheInProcessServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	server, err := StartInProcess()
	if err != nil {
		t.Fatalf("StartInProcess: %v", err)
	}
	defer server.Close()
	client := newClient(server.Addr())
	defer client.Close()

	bus := MustRunBusSubscribed(t, NewBus(client, quietLogger()), "topic")
	defer bus.stop()
	waitForSubscribers(t, client, "topic", 1)
	if err := bus.Publish(context.Background(), "topic", []byte("snapshot")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	bus.expectMessage(t, busMessage{"topic", "snapshot"})
}

func TestBusPingsAQuietConnectionAndKeepsIt(t *testing.T) {
	defer goleak.VerifyNone(t)
	client := newClient(machineRedisAddr)
	defer client.Close()
	bus := NewBus(client, quietLogger())
	bus.healthInterval = 200 * time.Millisecond
	topic := uniqueTopic(t, "topic")
	running := MustRunBusSubscribed(t, bus, topic)
	defer running.stop()

	waitForSubscribers(t, client, topic, 1)
	time.Sleep(700 * time.Millisecond) // several quiet intervals, each answered
	if err := running.Publish(context.Background(), topic, []byte("still here")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	running.expectMessage(t, busMessage{topic, "still here"})
	running.stop()
	if len(running.gaps) != 0 {
		t.Errorf("onGap called %d times on a healthy quiet connection; want 0", len(running.gaps))
	}
}

func TestBusReplacesASilentlyDeadConnection(t *testing.T) {
	defer goleak.VerifyNone(t)
	proxy := mustStartBlackholingProxy(t, machineRedisAddr)
	defer proxy.close()
	busClient := newClient(proxy.addr())
	defer busClient.Close()
	publisher := newClient(machineRedisAddr)
	defer publisher.Close()
	bus := NewBus(busClient, quietLogger())
	bus.healthInterval = 200 * time.Millisecond
	topic := uniqueTopic(t, "topic")
	running := MustRunBusSubscribed(t, bus, topic)
	defer running.stop()
	waitForSubscribers(t, publisher, topic, 1)

	// The connection stays open but nothing gets through any more, as when a network
	// path dies without a reset: only the unanswered PING can tell.
	proxy.blackholeOpenConnections()
	select {
	case <-running.gaps:
	case <-time.After(waitFor):
		t.Fatalf("onGap not called within %s of the connection going silent", waitFor)
	}
	if err := running.Publish(context.Background(), topic, []byte("after")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	running.expectMessage(t, busMessage{topic, "after"})
}

// blackholingProxy forwards TCP connections to a Redis and can make the open ones
// silently drop everything, while new connections work.
type blackholingProxy struct {
	listener net.Listener
	upstream string
	mu       sync.Mutex
	conns    []*proxiedConn
	wg       sync.WaitGroup
}

type proxiedConn struct {
	client, server net.Conn
	mu             sync.Mutex
	blackholed     bool
}

func mustStartBlackholingProxy(tb testing.TB, upstream string) *blackholingProxy {
	tb.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for the proxy: %v", err)
	}
	proxy := &blackholingProxy{listener: listener, upstream: upstream}
	proxy.wg.Add(1)
	go proxy.accept()
	return proxy
}

func (p *blackholingProxy) addr() string { return p.listener.Addr().String() }

func (p *blackholingProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = client.Close()
			continue
		}
		conn := &proxiedConn{client: client, server: server}
		p.mu.Lock()
		p.conns = append(p.conns, conn)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.forward(conn, client, server)
		go p.forward(conn, server, client)
	}
}

func (p *blackholingProxy) forward(conn *proxiedConn, from, to net.Conn) {
	defer p.wg.Done()
	buffer := make([]byte, 32*1024)
	for {
		n, err := from.Read(buffer)
		if err != nil {
			_ = conn.client.Close()
			_ = conn.server.Close()
			return
		}
		conn.mu.Lock()
		blackholed := conn.blackholed
		conn.mu.Unlock()
		if blackholed {
			continue
		}
		if _, err := to.Write(buffer[:n]); err != nil {
			_ = conn.client.Close()
			_ = conn.server.Close()
			return
		}
	}
}

func (p *blackholingProxy) blackholeOpenConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, conn := range p.conns {
		conn.mu.Lock()
		conn.blackholed = true
		conn.mu.Unlock()
	}
}

// close stops accepting, ends every forwarded connection and waits for its goroutines.
func (p *blackholingProxy) close() {
	_ = p.listener.Close()
	p.mu.Lock()
	for _, conn := range p.conns {
		_ = conn.client.Close()
		_ = conn.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
