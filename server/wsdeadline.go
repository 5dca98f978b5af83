package server

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// steadyWriteDeadline is a socket's connection as gorilla writes to it: it passes a write
// deadline on only when it differs from the one set last. gorilla sets the connection's
// write deadline before every frame it writes, and the socket's data frames share one
// deadline for a while (writeEnvelope moves it on only when half of it is gone); setting
// it on the connection takes the poller's locks and looks at its timer each time, about
// a twentieth of the server's CPU in a fan-out to 10,000 sockets.
//
// gorilla sets the write deadline only while it holds its write lock, so the deadline
// set last needs no lock of its own; no other code sets this connection's deadlines
// (the read side sets the read deadline only).
type steadyWriteDeadline struct {
	net.Conn
	writeDeadline time.Time
	// known says whether writeDeadline is the connection's: the connection handed over
	// by the hijack may carry a deadline the HTTP server set.
	known bool
}

func (c *steadyWriteDeadline) SetWriteDeadline(t time.Time) error {
	if c.known && t.Equal(c.writeDeadline) {
		return nil
	}
	c.known = false
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	c.writeDeadline, c.known = t, true
	return nil
}

func (c *steadyWriteDeadline) SetDeadline(t time.Time) error {
	c.known = false
	if err := c.Conn.SetDeadline(t); err != nil {
		return err
	}
	c.writeDeadline, c.known = t, true
	return nil
}

// SyscallConn is the connection's own, for the read loop to wait on (readiness).
func (c *steadyWriteDeadline) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}
