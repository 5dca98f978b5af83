package server

import (
	"fmt"
	"testing"
	"time"
)

// An instance applying the allowances alone admits a key's burst, then one request per
// share of the minute, saying how long to wait; each key has its own bucket, and no more
// than localAllowanceKeys are kept.
func TestLocalAllowances(t *testing.T) {
	var a localAllowances
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i := range 6 { // 60 a minute, bursts of 6
		if ok, _ := a.allow("user-a", 60, 6, now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if ok, wait := a.allow("user-a", 60, 6, now); ok || wait != time.Second {
		t.Fatalf("past the burst: admitted %v, wait %s; want refused, 1s", ok, wait)
	}
	if ok, _ := a.allow("user-b", 60, 6, now); !ok {
		t.Fatal("another key was refused for the first one's requests")
	}
	if ok, _ := a.allow("user-a", 60, 6, now.Add(time.Second)); !ok {
		t.Fatal("a second later, the refilled request was refused")
	}
	for i := range localAllowanceKeys + 10 {
		a.allow(fmt.Sprintf("ip-%d", i), 60, 6, now)
	}
	if n := a.buckets.Len(); n != localAllowanceKeys {
		t.Errorf("%d buckets kept, want at most %d", n, localAllowanceKeys)
	}
}
