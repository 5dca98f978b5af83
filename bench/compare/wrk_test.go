package main

import (
	"testing"
	"time"
)

// wrkReport is what wrk 4.1 --latency printed with the script against a server that
// refused every POST, socket errors added.
const wrkReport = `Running 1s test @ http://127.0.0.1:5998/
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.34ms    2.54ms  17.89ms   80.54%
    Req/Sec   630.71    196.43     1.26k    71.43%
  Latency Distribution
     50%  812.00us
     75%    4.60ms
     90%    6.87ms
     99%    1.27s
  1320 requests in 1.10s, 715.43KB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 1320
Requests/sec:   1199.69
Transfer/sec:    650.22KB
failed answers: 1320
`

func TestParseWrk(t *testing.T) {
	m, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	want := measurement{P50: 812 * time.Microsecond, P99: 1270 * time.Millisecond, RPS: 1199.69, Requests: 1320, Failed: 1325}
	if m != want {
		t.Errorf("parseWrk = %+v, want %+v", m, want)
	}
}

func TestParseWrkRefusesAReportWithoutTheScriptsCount(t *testing.T) {
	// Without the script's line nothing says whether the answers were errors.
	report := wrkReport[:len(wrkReport)-len("failed answers: 1320\n")]
	if _, err := parseWrk(report); err == nil {
		t.Error("parseWrk accepted a report without the failed-answers line")
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"500.00us": 500 * time.Microsecond,
		"2.46ms":   2460 * time.Microsecond,
		"1.50s":    1500 * time.Millisecond,
		"2.00m":    2 * time.Minute,
	} {
		got, err := parseWrkDuration(in)
		if err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWrkDuration("12"); err == nil {
		t.Error("parseWrkDuration accepted a number without a unit")
	}
}
