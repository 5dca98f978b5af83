package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"notifyql"
)

// Unavailable gives the code EUNAVAILABLE to an error that says PostgreSQL could not be
// reached or did not answer in time, and returns nil for any other error (a bad statement
// is a bug, not an outage, and stays internal). The edge shows the coded error to the
// client instead of "internal error": the request may work if tried again shortly, as the
// pool reconnects by itself once the server is back.
//
// It sees: a connection that could not be made (refused, unreachable, or past the connect
// timeout), one that broke under a statement (EOF, reset, closed), a deadline that passed
// while waiting on the server or for a pooled connection, and the server saying it is
// shutting down, starting up, out of connections, or ended the session (SQLSTATE class 08,
// 57P01–57P03, 53300).
func Unavailable(err error) *notifyql.Error {
	if err == nil || !unreachable(err) {
		return nil
	}
	return notifyql.Errorf(notifyql.EUNAVAILABLE, "the database is unavailable right now: try again shortly")
}

func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || // connection_exception
			pgErr.Code == "57P01" || // admin_shutdown (pg_terminate_backend, fast shutdown)
			pgErr.Code == "57P02" || // crash_shutdown
			pgErr.Code == "57P03" || // cannot_connect_now (starting up or shutting down)
			pgErr.Code == "53300" // too_many_connections
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
