package server

import (
	"runtime"
	"runtime/metrics"
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
