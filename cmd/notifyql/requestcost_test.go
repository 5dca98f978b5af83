package main

import (
	"syscall"
	"testing"
	"time"
)

// requestCost measures what the process spends on the requests a benchmark times: CPU
// (user and system, every goroutine of the process: the pool's, and the benchmark's own
// decoding of each answer, included) and goroutines started. With the allocations
// b.ReportAllocs counts, they are the figures issue 17 asks to bring down.
type requestCost struct {
	cpu        time.Duration
	goroutines uint64
}

func measureRequestCost() requestCost {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err)
	}
	return requestCost{
		cpu:        time.Duration(usage.Utime.Nano() + usage.Stime.Nano()),
		goroutines: goroutinesCreated(),
	}
}

// report reports the cost from c to now of requests requests, per request.
func (c requestCost) report(b *testing.B, requests int) {
	if requests == 0 {
		return
	}
	now := measureRequestCost()
	b.ReportMetric(ms(now.cpu-c.cpu)/float64(requests), "cpu-ms/op")
	b.ReportMetric(float64(now.goroutines-c.goroutines)/float64(requests), "goroutines/op")
}
