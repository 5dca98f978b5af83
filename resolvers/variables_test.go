package resolvers

import (
	"runtime"
	"testing"
	"time"
)

// Subscriptions that sent equal variables hold one copy of them, others their own; a
// copy nobody holds is forgotten.
func TestSharedVariablesHoldOneCopyOfEqualVariables(t *testing.T) {
	s := NewSharedVariables()
	a := s.share(`{"id":"a"}`, map[string]any{"id": "a"})
	again := s.share(`{"id":"a"}`, map[string]any{"id": "a"})
	other := s.share(`{"id":"b"}`, map[string]any{"id": "b"})
	if a != again {
		t.Error("equal variables are held twice")
	}
	if a == other || (*other)["id"] != "b" {
		t.Errorf("other variables share a's copy: %v", *other)
	}
	if n := s.size(); n != 2 {
		t.Errorf("%d copies held, want 2", n)
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(again)
	runtime.KeepAlive(other)

	// Nothing holds them now: their entries go once the collector has found so.
	for deadline := time.Now().Add(5 * time.Second); s.size() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d copies still held with no subscription holding them", s.size())
		}
		runtime.GC()
	}
}
