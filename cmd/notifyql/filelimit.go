package main

import (
	"log/slog"
	"syscall"
)

// raiseOpenFileLimit raises the process's soft limit on open files to its hard limit, and
// logs both. Every connection, WebSocket and database connection holds a descriptor: at the
// soft limit, accepting fails ("too many open files") and new clients are locked out while
// the idle ones stay. Go raises the soft limit at start on most systems already; doing it
// here makes it part of serve's start-up whatever runtime built it, and the log says what
// the server may hold. The hard limit is the operator's (systemd's LimitNOFILE, ulimit -Hn).
func raiseOpenFileLimit(logger *slog.Logger) {
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		logger.Warn("cannot read the open file limit", "error", err)
		return
	}
	soft := limit.Cur
	if limit.Cur < limit.Max {
		raised := limit
		raised.Cur = raised.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			logger.Warn("cannot raise the open file limit to its hard limit", "soft", limit.Cur, "hard", limit.Max, "error", err)
			return
		}
		limit = raised
	}
	logger.Info("open file limit", "soft", limit.Cur, "hard", limit.Max, "soft_before", soft)
}
