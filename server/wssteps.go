package server

import "time"

// stepWorkerIdle is how long a step worker waits for another woken operation before it
// ends. A live topic's snapshots come a few times a second: the workers of one fan-out
// serve the next.
const stepWorkerIdle = time.Second

// stepWorkers run the steps of woken operations (socketOperation.Wake) on goroutines
// kept between steps. A fan-out wakes thousands of parked subscriptions at once; a new
// goroutine for each would grow a stack from the smallest, copying it at each doubling,
// down through gqlgen's handler to the socket's write, and cost the runtime a goroutine
// start and end each, every snapshot. A worker that has run a step keeps its grown
// stack for the next. There is no bound on the workers but the operations woken at
// once (each runs one step at a time): a bounded pool would let a client that stops
// reading, its write blocked until the write timeout, hold up the others' steps.
type stepWorkers struct {
	// handoff passes a step to a worker waiting for one.
	handoff chan func()
	// idle is how long a worker waits for another step (stepWorkerIdle).
	idle time.Duration
}

func newStepWorkers(idle time.Duration) *stepWorkers {
	return &stepWorkers{handoff: make(chan func()), idle: idle}
}

// run runs step on a waiting worker, or on a new one when none waits. It never waits
// itself: the live hub wakes operations under its lock.
func (w *stepWorkers) run(step func()) {
	select {
	case w.handoff <- step:
	default:
		go w.work(step)
	}
}

// work runs step and then those handed to it, until none comes for w.idle.
func (w *stepWorkers) work(step func()) {
	idle := time.NewTimer(w.idle)
	defer idle.Stop()
	for {
		step()
		// The timer's channel holds no stale tick after a Reset (Go 1.23 timers).
		idle.Reset(w.idle)
		select {
		case step = <-w.handoff:
		case <-idle.C:
			return
		}
	}
}
