package main

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// serveBusyGCPercent is the garbage collector's target while the server is busy (see
// gcTuner). At serve's idle target, 10,000 sockets receiving updates start a collection
// every two or three seconds, and each, marking the long-lived state of every socket for
// a few hundred milliseconds, slows the fan-out running beside it: most of the slowest
// updates waited on one (make bench-live: p99 about 125 ms at 10,000 subscribers with the
// collector off, 200-280 ms at 50).
const serveBusyGCPercent = 200

// Thresholds of gcTuner, in how often the idle target would collect at the allocation
// rate seen: more often than every gcBusyCycle over gcBusyWindow makes the server busy,
// less often than every gcIdleCycle over gcIdleWindow idle again.
const (
	gcBusyCycle  = 5 * time.Second
	gcBusyWindow = 5 * time.Second
	gcIdleCycle  = 20 * time.Second
	gcIdleWindow = 3 * time.Second
	// gcBusyMinLive is the smallest live heap worth the busy target at gcBusyCycle:
	// marking less takes a few milliseconds, so a collection every few seconds costs the
	// fan-out little, while the busy target would keep the heap three times the live one.
	// Under it the server stays, or goes back to, idle unless it is collected many times
	// a second (gcBusySmallCycle): a handful of requests a second to a small server would
	// otherwise look busy and keep it so.
	gcBusyMinLive = 32 << 20
	// gcBusySmallCycle is how often the idle target must collect a heap under
	// gcBusyMinLive, over gcSmallBusyWindow, for that server to count as busy too: more
	// than ten times a second, serving requests by the hundred, the collections, each
	// cheap, add up and every allocation pays its share (a 50-row page took 5.6 ms of CPU at a target of 50,
	// 3.9 ms at 100 and 2.9 ms at 400: BenchmarkNotificationsPage with GOGC set). Such a
	// server goes back to idle once the idle target would collect less often than every
	// gcSmallIdleCycle.
	gcBusySmallCycle  = 100 * time.Millisecond
	gcSmallBusyWindow = 2 * time.Second
	gcSmallIdleCycle  = time.Second
	// gcReleaseGrowth is how much the memory the runtime holds must have grown since it
	// last returned memory, at least, before a calm server returns it again: the larger of
	// this and half of what it held then.
	gcReleaseGrowth = 16 << 20
	// gcReleaseGoroutines is how many goroutines must have ended since the last release, at
	// least, before a calm server returns memory again: the larger of this and half of
	// those that ran then. Connections, sockets and downloads each hold goroutines, and
	// what they held is garbage once they end, though nothing allocates to collect it.
	gcReleaseGoroutines = 256
	// gcSteadyLive is how much the live heap may change over gcBusyWindow for the
	// allocation to count as churn: a server filling with new sockets grows its live
	// heap, and raising the target then would only leave it holding more memory idle.
	gcSteadyLive = 0.10
)

// gcTuner moves the garbage collector's target between an idle one, which keeps idle
// sockets small (their state is most of an idle server's heap, and the target is the
// headroom kept over it), and a busy one while the server allocates fast without
// growing, as it does pushing updates to thousands of sockets. Going back to idle, it
// collects and returns the busy headroom to the operating system at once. Likewise, once
// a burst that grew the server's memory (thousands of requests, sockets, downloads) is
// over and allocation has calmed, it collects and returns what the burst left at once: the
// runtime alone would wait for its next forced collection, two minutes on, and return the
// pages over minutes more. GOMEMLIMIT, when set, bounds the heap whatever the target.
type gcTuner struct {
	idle, busy int
	// set sets the target (debug.SetGCPercent); release collects and returns free memory
	// to the operating system (releaseMemory).
	set     func(percent int)
	release func()
	logger  *slog.Logger

	busyNow bool
	// heldAfterRelease and goroutinesAfterRelease are the memory the runtime held and the
	// goroutines that ran at the first sample after the last release (or the first sample
	// of all); needsHeld says the next sample sets them.
	heldAfterRelease       uint64
	goroutinesAfterRelease uint64
	needsHeld              bool
	samples                []gcSample // one a second, oldest first, spanning gcBusyWindow once there are enough
}

// gcSample is one reading of the collector's counters.
type gcSample struct {
	at         time.Time
	allocated  uint64 // bytes allocated on the heap since the process started
	live       uint64 // the live heap as of the last collection
	held       uint64 // memory the runtime holds from the system, less what it has released
	goroutines uint64 // goroutines running
}

func newGCTuner(idle, busy int, logger *slog.Logger) *gcTuner {
	return &gcTuner{idle: idle, busy: busy, logger: logger, needsHeld: true,
		set:     func(percent int) { debug.SetGCPercent(percent) },
		release: releaseMemory}
}

// releaseMemory collects twice and returns the free memory to the operating system. One
// collection is not enough after a burst: what sync.Pools hold (net/http's per-connection
// read and write buffers, 8 KiB for each connection that was open) survives the first
// collection after its last use in the pools' victim cache, and only the second frees it.
func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// run samples the collector every second until ctx is done, and leaves the idle target.
func (t *gcTuner) run(ctx context.Context) {
	readings := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/sched/goroutines:goroutines"}}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			if t.busyNow {
				t.set(t.idle)
			}
			return
		case now := <-ticker.C:
			metrics.Read(readings)
			t.observe(gcSample{at: now, allocated: readings[0].Value.Uint64(), live: readings[1].Value.Uint64(),
				held: readings[2].Value.Uint64() - readings[3].Value.Uint64(), goroutines: readings[4].Value.Uint64()})
		}
	}
}

// observe takes one sample and switches the target when the thresholds say so.
func (t *gcTuner) observe(s gcSample) {
	t.samples = append(t.samples, s)
	// Keep the newest samples that span gcBusyWindow, and no more.
	for len(t.samples) > 2 && s.at.Sub(t.samples[1].at) >= gcBusyWindow {
		t.samples = t.samples[1:]
	}
	if t.needsHeld {
		t.heldAfterRelease, t.goroutinesAfterRelease, t.needsHeld = s.held, s.goroutines, false
	}
	if !t.busyNow {
		grown := s.held > t.heldAfterRelease+max(gcReleaseGrowth, t.heldAfterRelease/2)
		// The goroutines must have ended a calm window ago already: while thousands of
		// connections are closing, a collection would find most of what they hold still
		// in use, and the next would wait for another burst.
		ended := false
		if first, ok := t.covering(gcIdleWindow); ok {
			enough := max(gcReleaseGoroutines, t.goroutinesAfterRelease/2)
			ended = first.goroutines+enough <= t.goroutinesAfterRelease && s.goroutines+enough <= t.goroutinesAfterRelease
		}
		if (grown || ended) && t.calm() {
			t.release()
			t.needsHeld = true
			t.logger.Info("calm after a burst: memory returned to the system", "held_bytes", s.held,
				"held_after_last_release_bytes", t.heldAfterRelease, "goroutines", s.goroutines,
				"goroutines_after_last_release", t.goroutinesAfterRelease)
			return
		}
		// A large heap must be steady (not filling with new sockets) and churning for
		// gcBusyWindow; a small one must be collected many times a second, which a
		// shorter window shows.
		window, busyCycle := gcBusyWindow, gcBusyCycle
		if s.live < gcBusyMinLive {
			window, busyCycle = gcSmallBusyWindow, gcBusySmallCycle
		}
		first, ok := t.covering(window)
		if !ok || s.live == 0 || s.live >= gcBusyMinLive && !steady(first.live, s.live) {
			return
		}
		if cycle := t.idleCycle(first, s); cycle < busyCycle {
			t.busyNow = true
			t.set(t.busy)
			t.logger.Info("busy: garbage collector target raised", "gc_percent", t.busy,
				"idle_target_cycle", cycle.Round(time.Millisecond).String(), "live_heap_bytes", s.live)
		}
		return
	}
	if t.calm() || s.live < gcBusyMinLive && !t.collectingOften() {
		t.busyNow = false
		t.set(t.idle)
		t.release()
		t.needsHeld = true
		t.samples = t.samples[len(t.samples)-1:]
		t.logger.Info("idle: garbage collector target lowered", "gc_percent", t.idle)
	}
}

// calm reports whether the idle target's headroom would have lasted longer than
// gcIdleCycle at the allocation rate of the last gcIdleWindow.
func (t *gcTuner) calm() bool {
	first, ok := t.covering(gcIdleWindow)
	return ok && t.idleCycle(first, t.samples[len(t.samples)-1]) > gcIdleCycle
}

// collectingOften reports whether the idle target would collect more often than every
// gcSmallIdleCycle at the allocation rate of the last second: a small heap busy so stays
// busy, and one whose allocation has dropped goes back to idle at once.
func (t *gcTuner) collectingOften() bool {
	n := len(t.samples)
	return n >= 2 && t.idleCycle(t.samples[n-2], t.samples[n-1]) < gcSmallIdleCycle
}

// covering returns the newest sample taken at least d before the newest, if any.
func (t *gcTuner) covering(d time.Duration) (gcSample, bool) {
	newest := t.samples[len(t.samples)-1]
	for i := len(t.samples) - 2; i >= 0; i-- {
		if newest.at.Sub(t.samples[i].at) >= d {
			return t.samples[i], true
		}
	}
	return gcSample{}, false
}

// idleCycle is how long the idle target's headroom over the live heap would last at the
// allocation rate between two samples.
func (t *gcTuner) idleCycle(from, to gcSample) time.Duration {
	allocated := float64(to.allocated - from.allocated)
	if allocated <= 0 {
		return math.MaxInt64
	}
	headroom := float64(to.live) * float64(t.idle) / 100
	return time.Duration(headroom / allocated * float64(to.at.Sub(from.at)))
}

// steady reports whether the live heap moved by at most gcSteadyLive between two readings.
func steady(from, to uint64) bool {
	if to == 0 {
		return false
	}
	return math.Abs(float64(to)-float64(from)) <= gcSteadyLive*float64(to)
}
