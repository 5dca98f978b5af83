package live

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// slowOutlet is a bytesOutlet whose put takes a while once slow is set, and tells
// onPut of each snapshot it queues: a delivery to many of them holds the hub's lock
// for a long time.
type slowOutlet struct {
	bytesOutlet
	slow  *atomic.Bool
	onPut func()
}

func (o slowOutlet) put(s *snapshot) bool {
	if o.slow.Load() {
		// Busy, as work under the lock is: a sleep this short lasts far longer.
		for start := time.Now(); time.Since(start) < 50*time.Microsecond; {
		}
		o.onPut()
	}
	return o.bytesOutlet.put(s)
}

func TestDeliveryLetsOthersTakeTheLockBetweenChunks(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	in := newInstance(newFakeRedis(), newCountingSnapshotter(), Options{})
	in.hub.deliverChunk = 16
	topic := totalsTopic(serviceA, "7")

	// The first offer asks for the hub's lock from another goroutine (Stats takes it);
	// the offers made after it got the lock are counted.
	var slow atomic.Bool
	var asked sync.Once
	var statsTaken atomic.Bool
	statsDone := make(chan struct{})
	var offersAfterStats atomic.Int64
	onPut := func() {
		asked.Do(func() {
			go func() {
				defer close(statsDone)
				in.hub.Stats()
				statsTaken.Store(true)
			}()
		})
		if statsTaken.Load() {
			offersAfterStats.Add(1)
		}
	}
	const subscribers = 1024 // 1024 × 50 µs: about 50 ms of offers under the lock at once
	for range subscribers {
		out := slowOutlet{bytesOutlet: make(bytesOutlet, 1), slow: &slow, onPut: onPut}
		if _, err := in.hub.Attach(ctx, topic, out, AccessInterest{}); err != nil {
			t.Fatal(err)
		}
	}
	slow.Store(true)
	in.hub.Deliver(topic.String(), []byte(want(topic, 1)))
	<-statsDone
	if n := offersAfterStats.Load(); n == 0 {
		t.Errorf("Stats got the hub's lock only once all %d subscribers had been offered the snapshot: the delivery held the lock throughout", subscribers)
	} else {
		t.Logf("%d of %d offers came after Stats had the lock", n, subscribers)
	}
}

func TestInterleavedDeliveriesLeaveEverySubscriberTheLatest(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	in := newInstance(newFakeRedis(), newCountingSnapshotter(), Options{})
	// Chunks of two: two deliveries of one topic take turns with the lock all the time.
	in.hub.deliverChunk = 2
	topic := totalsTopic(serviceA, "7")
	channels := make([]<-chan []byte, 500)
	for i := range channels {
		channels[i] = mustSubscribe(t, ctx, in.hub, topic)
	}
	for round := range 20 {
		// Two bus deliveries of the same topic at once, as a relay's own delivery and
		// another instance's publication may come: whichever set the topic's latest last,
		// every subscriber must be left with it, not with the other.
		var wg sync.WaitGroup
		for side := range 2 {
			payload := fmt.Appendf(nil, `{"round":%d,"side":%d}`, round, side)
			wg.Go(func() { in.hub.Deliver(topic.String(), payload) })
		}
		wg.Wait()
		in.hub.mu.Lock()
		latest := string(in.hub.topics[topic.String()].latest.payload)
		in.hub.mu.Unlock()
		stale := 0
		for _, ch := range channels {
			if got := string(receive(t, ch)); got != latest {
				stale++
			}
		}
		if stale > 0 {
			t.Fatalf("round %d: %d of %d subscribers were left with the older of two snapshots delivered at once, want each with the latest %s", round, stale, len(channels), latest)
		}
	}
}
