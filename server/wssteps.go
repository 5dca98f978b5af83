package server

import (
	"runtime"
	"slices"
	"sync"
	"time"
)

// stepWorkerIdle is how long a step worker waits for another woken operation before it
// ends. A live topic's snapshots come a few times a second: the workers of one fan-out
// serve the next.
const stepWorkerIdle = time.Second

// stepWorkerStuck is how long a worker may be in one step before it counts as stuck:
// blocked writing to a client that stopped reading, until its write timeout. While steps
// wait, the pool starts a worker for each stuck one, so that such clients hold up the
// others' steps by about this long at most.
const stepWorkerStuck = 10 * time.Millisecond

// stepWorkers run the steps of woken operations (socketOperation.Wake) on a pool of
// goroutines that take them in the order they were woken. A fan-out wakes thousands of
// parked subscriptions at once, each step a socket write: a goroutine for each, as many
// at once as were woken, cost more in starting, scheduling and waking them than the
// writes themselves, and a worker that has run a step keeps its grown stack for the next.
//
// The pool keeps base workers that are not stuck (stepWorkerStuck) while steps wait:
// base at first, and one more for each stuck worker. Workers end once idle.
type stepWorkers struct {
	// idle is how long a worker waits for another step (stepWorkerIdle).
	idle time.Duration
	// stuck is how long a step may run before its worker counts as stuck.
	stuck time.Duration
	// base is how many workers that are not stuck the pool keeps while steps wait.
	base int

	mu sync.Mutex
	// queue holds the steps no worker has taken yet, oldest at head; it is empty
	// whenever a worker is parked.
	queue []func()
	head  int
	// workers are the pool's workers; parked are those waiting for a step, the last to
	// park first to be handed one (its stack is the warmest).
	workers []*stepWorker
	parked  []*stepWorker
	// watching is set while a look for stuck workers is due (watchLocked).
	watching bool
}

// stepWorker is one worker of the pool. run hands a parked worker its step through next,
// which holds at most that one; since is when its current step began (zero with none).
type stepWorker struct {
	next  chan func()
	since time.Time
}

func newStepWorkers(idle time.Duration) *stepWorkers {
	return &stepWorkers{idle: idle, stuck: stepWorkerStuck, base: max(8, 4*runtime.GOMAXPROCS(0))}
}

// run has step run by a parked worker, or queues it for the next worker free. It never
// waits: the live hub wakes operations under its lock.
func (w *stepWorkers) run(step func()) {
	w.mu.Lock()
	if n := len(w.parked); n > 0 {
		parked := w.parked[n-1]
		w.parked = w.parked[:n-1]
		w.mu.Unlock()
		parked.next <- step
		return
	}
	w.queue = append(w.queue, step)
	if len(w.workers) < w.base {
		me := w.startLocked()
		w.mu.Unlock()
		go w.work(me)
		return
	}
	w.watchLocked()
	w.mu.Unlock()
}

// startLocked adds a worker to the pool, for the caller to run (work) once it has let go
// of w.mu.
func (w *stepWorkers) startLocked() *stepWorker {
	me := &stepWorker{next: make(chan func(), 1)}
	w.workers = append(w.workers, me)
	return me
}

// work runs queued steps as worker me, and parks for more once there are none, until none
// comes for w.idle.
func (w *stepWorkers) work(me *stepWorker) {
	var idle *time.Timer
	w.mu.Lock()
	for {
		me.since = time.Time{}
		step := w.takeLocked()
		if step == nil {
			w.parked = append(w.parked, me)
			w.mu.Unlock()
			if idle == nil {
				idle = time.NewTimer(w.idle)
			} else {
				// The timer's channel holds no stale tick after a Reset (Go 1.23 timers).
				idle.Reset(w.idle)
			}
			select {
			case step = <-me.next:
			case <-idle.C:
				if w.retire(me) {
					return
				}
				// run took this worker from parked as the timer fired: its step is
				// on the way.
				step = <-me.next
			}
			w.mu.Lock()
		}
		me.since = time.Now()
		w.mu.Unlock()
		step()
		w.mu.Lock()
	}
}

// takeLocked returns the oldest queued step, nil when none waits.
func (w *stepWorkers) takeLocked() func() {
	if w.head == len(w.queue) {
		return nil
	}
	step := w.queue[w.head]
	w.queue[w.head] = nil
	w.head++
	if w.head == len(w.queue) {
		w.queue, w.head = w.queue[:0], 0
	}
	return step
}

// retire ends parked worker me unless run has just taken it to hand it a step.
func (w *stepWorkers) retire(me *stepWorker) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := slices.Index(w.parked, me)
	if i < 0 {
		return false
	}
	w.parked = slices.Delete(w.parked, i, i+1)
	if i := slices.Index(w.workers, me); i >= 0 {
		w.workers = slices.Delete(w.workers, i, i+1)
	}
	return true
}

// watchLocked looks, w.stuck from now and then every w.stuck while steps wait, for stuck
// workers, and starts enough workers to keep base of them not stuck.
func (w *stepWorkers) watchLocked() {
	if w.watching {
		return
	}
	w.watching = true
	time.AfterFunc(w.stuck, w.startForStuck)
}

func (w *stepWorkers) startForStuck() {
	w.mu.Lock()
	w.watching = false
	if w.head == len(w.queue) {
		w.mu.Unlock()
		return
	}
	stuckSince := time.Now().Add(-w.stuck)
	stuck := 0
	for _, worker := range w.workers {
		if !worker.since.IsZero() && worker.since.Before(stuckSince) {
			stuck++
		}
	}
	started := make([]*stepWorker, max(w.base-(len(w.workers)-stuck), 0))
	for i := range started {
		started[i] = w.startLocked()
	}
	w.watchLocked()
	w.mu.Unlock()
	for _, me := range started {
		go w.work(me)
	}
}
