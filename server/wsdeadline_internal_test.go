package server

import (
	"errors"
	"net"
	"testing"
	"time"
)

// deadlineRecorder is a connection that records the deadlines set on it, and refuses
// them once failing is set.
type deadlineRecorder struct {
	net.Conn
	writes  []time.Time
	both    []time.Time
	failing bool
}

var errDeadlineRefused = errors.New("deadline refused")

func (c *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	if c.failing {
		return errDeadlineRefused
	}
	c.writes = append(c.writes, t)
	return nil
}

func (c *deadlineRecorder) SetDeadline(t time.Time) error {
	if c.failing {
		return errDeadlineRefused
	}
	c.both = append(c.both, t)
	return nil
}

func TestSteadyWriteDeadlinePassesOnOnlyChanges(t *testing.T) {
	inner := &deadlineRecorder{}
	conn := &steadyWriteDeadline{Conn: inner}
	first := time.Now().Add(time.Second)
	second := first.Add(time.Second)

	// The first deadline goes through even when zero: the hijacked connection may carry
	// one the HTTP server set.
	must(t, conn.SetWriteDeadline(time.Time{}))
	must(t, conn.SetWriteDeadline(first))
	must(t, conn.SetWriteDeadline(first))
	must(t, conn.SetWriteDeadline(first.Round(0))) // the same instant, without the monotonic reading
	must(t, conn.SetWriteDeadline(second))
	if want := []time.Time{{}, first, second}; !equalTimes(inner.writes, want) {
		t.Errorf("write deadlines passed on = %v, want %v", inner.writes, want)
	}

	// SetDeadline sets the write deadline too: setting it again after is skipped, and
	// setting the one before is not.
	must(t, conn.SetDeadline(first))
	must(t, conn.SetWriteDeadline(first))
	must(t, conn.SetWriteDeadline(second))
	if want := []time.Time{{}, first, second, second}; !equalTimes(inner.writes, want) {
		t.Errorf("after SetDeadline, write deadlines passed on = %v, want %v", inner.writes, want)
	}

	// A deadline the connection refused is not taken as set: the next one, even the same,
	// is tried again.
	inner.failing = true
	if err := conn.SetWriteDeadline(first); !errors.Is(err, errDeadlineRefused) {
		t.Fatalf("SetWriteDeadline on a refusing connection = %v, want its error", err)
	}
	inner.failing = false
	must(t, conn.SetWriteDeadline(first))
	if want := []time.Time{{}, first, second, second, first}; !equalTimes(inner.writes, want) {
		t.Errorf("after a refusal, write deadlines passed on = %v, want %v", inner.writes, want)
	}
	inner.failing = true
	if err := conn.SetDeadline(second); !errors.Is(err, errDeadlineRefused) {
		t.Fatalf("SetDeadline on a refusing connection = %v, want its error", err)
	}
	inner.failing = false
	must(t, conn.SetWriteDeadline(first))
	if want := []time.Time{{}, first, second, second, first, first}; !equalTimes(inner.writes, want) {
		t.Errorf("after a refused SetDeadline, write deadlines passed on = %v, want %v", inner.writes, want)
	}
}

func TestSteadyWriteDeadlineKeepsTheReadLoopsDescriptor(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	// A connection without a descriptor (a pipe here, TLS in use) has none to wait on:
	// the read loop then reads in gorilla.
	if rc := readiness(&steadyWriteDeadline{Conn: server}); rc != nil {
		t.Errorf("readiness of a wrapped pipe = %v, want nil", rc)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	dialed, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	if canAwaitReadable && readiness(&steadyWriteDeadline{Conn: dialed}) == nil {
		t.Error("readiness of a wrapped TCP connection is nil, want its descriptor")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equalTimes(got, want []time.Time) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !got[i].Equal(want[i]) {
			return false
		}
	}
	return true
}
