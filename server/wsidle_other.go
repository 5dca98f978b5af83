//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package server

import "syscall"

const canAwaitReadable = false

func awaitReadable(syscall.RawConn) {}
