package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// clientLogger carries go-redis's own log lines into a structured log.
type clientLogger struct{ logger *slog.Logger }

// Printf logs one of go-redis's lines: trouble with a connection, the pool or a command's
// arguments, worth a warning. Its text names addresses and settings, not keys or values.
func (l clientLogger) Printf(ctx context.Context, format string, args ...any) {
	l.logger.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, args...))
}

// RouteClientLogs makes go-redis write its own log lines through logger, as JSON beside
// everything else the process logs, instead of plain text on stderr. go-redis keeps one
// logger for the whole process, so the last call wins: serve makes it once, at start.
func RouteClientLogs(logger *slog.Logger) {
	goredis.SetLogger(clientLogger{logger: logger})
}
