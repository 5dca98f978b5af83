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

// stepWorkerStuck is how long woken operations may wait with every worker busy and none
// finishing a step before more workers start: workers blocked writing to clients that
// stopped reading (until their write timeout) must not hold up everyone else's steps.
const stepWorkerStuck = 10 * time.Millisecond

// stepWorkers run the steps of woken operations (socketOperation.Wake) on a pool of
// goroutines that take them in the order they were woken. A fan-out wakes thousands of
// parked subscriptions at once, each step a socket write: a goroutine for each, as many
// at once as were woken, cost more in starting, scheduling and waking them than the
// writes themselves, and a worker that has run a step keeps its grown stack for the next.
//
// The pool is base workers while they keep finishing steps. A worker blocks only in a
// write to a client that stopped reading, until its write timeout; when steps wait and no
// step has finished for stepWorkerStuck, as many workers again start, so that such
// clients hold up the others' steps by that long at most. Workers end once idle.
type stepWorkers struct {
	// idle is how long a worker waits for another step (stepWorkerIdle).
	idle time.Duration
	// stuck is how long steps may wait without progress before more workers start.
	stuck time.Duration
	// base is how many workers start without waiting for stuck.
	base int

	mu sync.Mutex
	// queue holds the steps no worker has taken yet, oldest at head; it is empty
	// whenever a worker is parked.
	queue []func()
	head  int
	// parked are the workers waiting for a step, the last to park first to be handed
	// one (its stack is the warmest).
	parked []*parkedWorker
	// running counts the workers, parked or not; finished counts the steps run.
	running  int
	finished uint64
	// watching is set while a check for progress is due (watchProgress).
	watching bool
}

// parkedWorker is a worker waiting for a step: run hands it one through next, which holds
// at most that one.
type parkedWorker struct{ next chan func() }

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
	if w.running < w.base {
		w.running++
		w.mu.Unlock()
		go w.work()
		return
	}
	w.watchProgressLocked()
	w.mu.Unlock()
}

// work runs queued steps, and parks for more once there are none, until none comes for
// w.idle.
func (w *stepWorkers) work() {
	me := &parkedWorker{next: make(chan func(), 1)}
	var idle *time.Timer
	for {
		w.mu.Lock()
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
		} else {
			w.mu.Unlock()
		}
		step()
		w.mu.Lock()
		w.finished++
		w.mu.Unlock()
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
func (w *stepWorkers) retire(me *parkedWorker) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := slices.Index(w.parked, me)
	if i < 0 {
		return false
	}
	w.parked = slices.Delete(w.parked, i, i+1)
	w.running--
	return true
}

// watchProgressLocked checks, w.stuck from now, that the workers have finished a step
// meanwhile; if not while steps still wait, as many workers again start. It keeps
// checking while steps wait.
func (w *stepWorkers) watchProgressLocked() {
	if w.watching {
		return
	}
	w.watching = true
	finished := w.finished
	time.AfterFunc(w.stuck, func() {
		w.mu.Lock()
		w.watching = false
		if w.head == len(w.queue) {
			w.mu.Unlock()
			return
		}
		more := 0
		if w.finished == finished {
			more = max(w.running, 1)
			w.running += more
		}
		w.watchProgressLocked()
		w.mu.Unlock()
		for range more {
			go w.work()
		}
	})
}
