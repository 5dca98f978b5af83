package main

import (
	"log/slog"
	"slices"
	"testing"
	"time"
)

// tunerRun feeds a gcTuner one sample a second and records what it did.
type tunerRun struct {
	t        *gcTuner
	at       time.Time
	sample   gcSample
	set      []int
	releases int
}

func newTunerRun() *tunerRun {
	r := &tunerRun{at: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	r.t = &gcTuner{idle: 50, busy: 200, logger: slog.New(slog.DiscardHandler),
		set:     func(percent int) { r.set = append(r.set, percent) },
		release: func() { r.releases++ }}
	return r
}

// second passes one tick of a second's ticker (which runs a little early or late) in which
// the heap allocated allocated bytes and the live heap became live.
func (r *tunerRun) second(allocated, live uint64) {
	r.at = r.at.Add(time.Second - time.Millisecond)
	r.sample = gcSample{at: r.at, allocated: r.sample.allocated + allocated, live: live}
	r.t.observe(r.sample)
}

const mib = 1 << 20

func TestGCTunerRaisesTheTargetOnlyForSteadyChurn(t *testing.T) {
	// 150 MiB live at 50% leaves 75 MiB of headroom: 30 MiB a second collects every 2.5 s.
	t.Run("steady churn raises it once, after a window", func(t *testing.T) {
		r := newTunerRun()
		for i := range 8 {
			r.second(30*mib, 150*mib)
			if i < 4 && len(r.set) > 0 {
				t.Fatalf("raised after %d s, before a whole window of churn", i+1)
			}
		}
		if !slices.Equal(r.set, []int{200}) || r.releases != 0 {
			t.Fatalf("set %v, released %d times; want the busy target once and no release", r.set, r.releases)
		}
	})
	t.Run("a heap filling with new sockets keeps it", func(t *testing.T) {
		r := newTunerRun()
		for i := range 10 {
			r.second(60*mib, uint64(20+i*15)*mib)
		}
		if len(r.set) != 0 {
			t.Fatalf("set %v while the live heap grew; want the idle target kept", r.set)
		}
	})
	t.Run("slow allocation keeps it", func(t *testing.T) {
		r := newTunerRun()
		for range 10 {
			r.second(10*mib, 150*mib) // a collection every 7.5 s
		}
		if len(r.set) != 0 {
			t.Fatalf("set %v at a collection every 7.5 s; want the idle target kept", r.set)
		}
	})
	t.Run("an idle heap and an empty one keep it", func(t *testing.T) {
		r := newTunerRun()
		for range 10 {
			r.second(0, 150*mib)
		}
		for range 10 {
			r.second(mib, 0)
		}
		if len(r.set) != 0 {
			t.Fatalf("set %v; want the idle target kept", r.set)
		}
	})
}

func TestGCTunerGoesBackToIdleAndReturnsTheMemory(t *testing.T) {
	r := newTunerRun()
	for range 7 {
		r.second(30*mib, 150*mib)
	}
	if !slices.Equal(r.set, []int{200}) {
		t.Fatalf("set %v; want the busy target", r.set)
	}
	// A lull shorter than the idle window changes nothing, nor does churn that slows
	// only to a collection every 10 s.
	r.second(0, 150*mib)
	r.second(0, 150*mib)
	r.second(30*mib, 150*mib)
	for range 5 {
		r.second(7*mib, 150*mib)
	}
	if !slices.Equal(r.set, []int{200}) || r.releases != 0 {
		t.Fatalf("set %v, released %d times during a lull and slower churn; want the busy target kept", r.set, r.releases)
	}
	// Idle for the window: back to the idle target, the headroom returned once.
	for range 6 {
		r.second(100<<10, 150*mib)
	}
	if !slices.Equal(r.set, []int{200, 50}) || r.releases != 1 {
		t.Fatalf("set %v, released %d times; want the idle target back and one release", r.set, r.releases)
	}
	// And busy again when the churn comes back.
	for range 7 {
		r.second(30*mib, 150*mib)
	}
	if !slices.Equal(r.set, []int{200, 50, 200}) {
		t.Fatalf("set %v; want the busy target again", r.set)
	}
}

// burstSecond is second with the memory the runtime holds set to held.
func (r *tunerRun) burstSecond(allocated, live, held uint64) {
	r.at = r.at.Add(time.Second - time.Millisecond)
	r.sample = gcSample{at: r.at, allocated: r.sample.allocated + allocated, live: live, held: held}
	r.t.observe(r.sample)
}

func TestGCTunerReturnsWhatABurstLeftOnceCalm(t *testing.T) {
	// A server holding 30 MiB is attacked: it allocates fast, its live heap grows with the
	// attackers' connections, and it ends up holding 300 MiB.
	burst := func() *tunerRun {
		r := newTunerRun()
		r.t.needsHeld = true
		for range 5 {
			r.burstSecond(mib, 20*mib, 30*mib)
		}
		for i := range 20 {
			r.burstSecond(100*mib, uint64(20+10*i)*mib, uint64(30+14*i)*mib)
		}
		return r
	}
	t.Run("nothing is returned while it allocates", func(t *testing.T) {
		r := burst()
		if r.releases != 0 || len(r.set) != 0 {
			t.Fatalf("released %d times, set %v during the burst; want neither", r.releases, r.set)
		}
	})
	t.Run("once calm, it is returned once", func(t *testing.T) {
		r := burst()
		for i := range 3 {
			r.burstSecond(0, 210*mib, 300*mib)
			if r.releases != 0 {
				t.Fatalf("released after %d calm seconds, before a whole calm window", i+1)
			}
		}
		r.burstSecond(0, 210*mib, 300*mib)
		if r.releases != 1 {
			t.Fatalf("released %d times after a calm window; want once", r.releases)
		}
		// The runtime now holds 40 MiB, and stays calm: nothing more to return.
		for range 20 {
			r.burstSecond(0, 25*mib, 40*mib)
		}
		if r.releases != 1 || len(r.set) != 0 {
			t.Fatalf("released %d times, set %v; want one release and no target change", r.releases, r.set)
		}
		// A second burst, and calm again: returned again, measured from the 40 MiB.
		for range 5 {
			r.burstSecond(100*mib, 60*mib, 70*mib)
		}
		for range 5 {
			r.burstSecond(0, 60*mib, 70*mib)
		}
		if r.releases != 2 {
			t.Fatalf("released %d times after a second burst grew 40 MiB to 70 MiB; want twice", r.releases)
		}
	})
	t.Run("growth within the allowance is kept", func(t *testing.T) {
		r := newTunerRun()
		r.t.needsHeld = true
		r.burstSecond(0, 20*mib, 30*mib)
		for range 20 {
			r.burstSecond(0, 30*mib, 45*mib) // 15 MiB more: under 16 MiB
		}
		if r.releases != 0 {
			t.Fatalf("released %d times for 15 MiB of growth; want none", r.releases)
		}
	})
}

// Connections that sat idle through an attack cost no allocation, so the server was calm
// all along; when they close, what they held is garbage that nothing allocates to collect.
// The tuner returns it once their goroutines have ended.
func TestGCTunerReturnsWhatEndedGoroutinesHeld(t *testing.T) {
	second := func(r *tunerRun, held, goroutines uint64) {
		r.at = r.at.Add(time.Second - time.Millisecond)
		r.sample = gcSample{at: r.at, allocated: r.sample.allocated, live: 60 * mib, held: held, goroutines: goroutines}
		r.t.observe(r.sample)
	}
	r := newTunerRun()
	r.t.needsHeld = true
	for range 10 {
		second(r, 90*mib, 4000) // thousands of idle connections, opened before the first sample
	}
	if r.releases != 0 {
		t.Fatalf("released %d times while the connections were open; want none", r.releases)
	}
	for range 10 {
		second(r, 90*mib, 3900) // a hundred ended: too few to be worth a collection
	}
	if r.releases != 0 {
		t.Fatalf("released %d times after 100 of 4,000 goroutines ended; want none", r.releases)
	}
	// They close over a few seconds: nothing is returned until they all have, a calm
	// window before.
	for _, n := range []uint64{3000, 1500, 20} {
		second(r, 90*mib, n)
	}
	if r.releases != 0 {
		t.Fatalf("released %d times while the connections were closing; want none yet", r.releases)
	}
	for range 10 {
		second(r, 90*mib, 20)
	}
	if r.releases != 1 {
		t.Fatalf("released %d times after the connections closed; want once", r.releases)
	}
}

// A small heap is not worth the busy target: a few requests a second to a server with
// 8 MiB live would collect every few seconds at the idle target, and cheaply. A busy server
// whose live heap falls under the minimum (its thousands of sockets gone) goes back to
// idle at once, though what little it does still allocates.
func TestGCTunerLeavesASmallHeapIdle(t *testing.T) {
	r := newTunerRun()
	for range 10 {
		r.second(2*mib, 8*mib) // idle headroom 4 MiB, a collection every 2 s
	}
	if len(r.set) != 0 {
		t.Fatalf("set %v for an 8 MiB live heap; want the idle target kept", r.set)
	}
	r = newTunerRun()
	for range 8 {
		r.second(30*mib, 150*mib)
	}
	if !slices.Equal(r.set, []int{200}) {
		t.Fatalf("set %v under steady churn; want the busy target", r.set)
	}
	r.second(2*mib, 8*mib)
	if !slices.Equal(r.set, []int{200, 50}) || r.releases != 1 {
		t.Fatalf("set %v, released %d times once the live heap fell to 8 MiB; want the idle target and one release", r.set, r.releases)
	}
}

// A small heap collected many times a second (requests served by the hundred) gets the
// busy target, whatever its size, and goes back to idle, returning the headroom, once its
// allocation slows.
func TestGCTunerRaisesTheTargetForASmallHeapCollectedManyTimesASecond(t *testing.T) {
	r := newTunerRun()
	// 8 MiB live at 50% leaves 4 MiB of headroom: 400 MiB a second collects every 10 ms.
	// Two seconds of it (three ticks after the first) show it, whatever the live heap does
	// meanwhile.
	for i := range 4 {
		r.second(400*mib, uint64(8+4*i)*mib)
	}
	if !slices.Equal(r.set, []int{200}) {
		t.Fatalf("set %v after 4 s of a small heap collected a hundred times a second; want the busy target", r.set)
	}
	// Still busy at 20 collections a second.
	for range 4 {
		r.second(80*mib, 8*mib)
	}
	if !slices.Equal(r.set, []int{200}) {
		t.Fatalf("set %v while the small heap is still collected 20 times a second; want the busy target kept", r.set)
	}
	for range 4 {
		r.second(2*mib, 8*mib)
	}
	if !slices.Equal(r.set, []int{200, 50}) || r.releases != 1 {
		t.Fatalf("set %v, released %d times once allocation slowed; want the idle target and one release", r.set, r.releases)
	}
}
