package redis

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// InProcess is a Redis-compatible server running inside this process, for make run
// when no REDIS_URL is given. Its data lives in memory and is lost on Close.
type InProcess struct {
	server *miniredis.Miniredis
}

// StartInProcess starts a Redis-compatible server listening on 127.0.0.1 at a port the
// kernel picks, so several instances (and a system Redis) can run side by side.
func StartInProcess() (*InProcess, error) {
	server := miniredis.NewMiniRedis()
	// miniredis only expires keys when told to. With the clock-driven TTLs every command
	// first ages all TTLs by the wall time elapsed since the previous command, so EX/PX
	// keys vanish on time, TTL answers are exact, and no ticker goroutine is needed.
	server.ClockTTL(true)
	if err := server.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start in-process redis: %w", err)
	}
	return &InProcess{server: server}, nil
}

// Addr returns the host:port the server listens on.
func (p *InProcess) Addr() string {
	return p.server.Addr()
}

// URL returns a redis:// URL for database 0, suitable for redis.ParseURL.
func (p *InProcess) URL() string {
	return "redis://" + p.server.Addr() + "/0"
}

// Close stops the server, drops its connections and discards its data. It is safe to
// call more than once.
func (p *InProcess) Close() {
	p.server.Close()
}
