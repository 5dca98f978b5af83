//go:build linux || darwin || freebsd || netbsd || openbsd

package server

import "syscall"

const canAwaitReadable = true

// awaitReadable waits until rc has something to read (data, its end, or an error), or its
// read deadline passes, or it is closed: the read that follows finds out which.
func awaitReadable(rc syscall.RawConn) {
	_ = rc.Read(readable)
}

// readable reports whether a read of fd would not block, without reading.
func readable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
}
