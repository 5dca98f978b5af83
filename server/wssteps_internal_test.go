package server

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// goroutinesCreated is the process's count of goroutines started so far.
func goroutinesCreated() uint64 {
	sample := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// A step woken after another has finished runs on the worker that ran that one, with
// the stack it grew, rather than on a new goroutine; steps woken together run at once,
// each on a worker; and a worker left without a step ends.
func TestStepWorkersAreReusedAndEnd(t *testing.T) {
	const idle = 200 * time.Millisecond
	w := newStepWorkers(idle)
	ran := make(chan struct{})
	step := func() { ran <- struct{}{} }
	before := runtime.NumGoroutine()
	created := goroutinesCreated()
	for range 10 {
		w.run(step)
		<-ran
		// The worker is back waiting for a step once it has run this one.
		time.Sleep(5 * time.Millisecond)
	}
	if n := goroutinesCreated() - created; n != 1 {
		t.Errorf("10 steps one after the other started %d goroutines, want 1", n)
	}

	// Steps that block until released all run: none waits for another's worker.
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	for range 3 {
		w.run(func() { started <- struct{}{}; <-release })
	}
	for range 3 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("a step waited for another's worker")
		}
	}
	close(release)

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines %s after the last step, %d before: idle workers did not end", runtime.NumGoroutine(), idle, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A fan-out's steps, woken at once by the thousand, run on the pool's base workers while
// those keep finishing steps: no goroutine for each.
func TestStepWorkersBoundAFanOut(t *testing.T) {
	w := newStepWorkers(200 * time.Millisecond)
	w.stuck = time.Minute // progress is not in question here
	const steps = 2000
	var (
		mu               sync.Mutex
		running, busiest int
		done             sync.WaitGroup
	)
	created := goroutinesCreated()
	done.Add(steps)
	for range steps {
		w.run(func() {
			mu.Lock()
			running++
			busiest = max(busiest, running)
			mu.Unlock()
			time.Sleep(10 * time.Microsecond)
			mu.Lock()
			running--
			mu.Unlock()
			done.Done()
		})
	}
	done.Wait()
	if busiest > w.base {
		t.Errorf("%d steps ran at once, want at most the pool's %d", busiest, w.base)
	}
	if n := goroutinesCreated() - created; n > uint64(w.base) {
		t.Errorf("%d steps woken at once started %d goroutines, want at most %d", steps, n, w.base)
	}
}

// Workers blocked in their steps (writes to clients that stopped reading) hold up the
// steps woken after them by about stepWorkerStuck only: a worker starts for each stuck
// one, and ends once idle.
func TestStepWorkersStartMoreWhenAllAreStuck(t *testing.T) {
	w := newStepWorkers(100 * time.Millisecond)
	w.base = 2
	release := make(chan struct{})
	for range 3 {
		w.run(func() { <-release })
	}
	ran := make(chan struct{})
	w.run(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("a step waited behind workers that never finished")
	}
	// One more worker for each stuck one, no more: base 2 with 3 stuck.
	time.Sleep(5 * w.stuck)
	w.mu.Lock()
	running := len(w.workers)
	w.mu.Unlock()
	if running > 5 {
		t.Errorf("%d workers for 3 stuck steps and a pool of 2, want at most 5", running)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		running, parked := len(w.workers), len(w.parked)
		w.mu.Unlock()
		if running == 0 && parked == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers (%d parked) long after the last step: idle workers did not end", running, parked)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
