package postgres

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// QueryCounter counts the statements run on the connections whose ConnConfig.Tracer it
// is: each Query, QueryRow and Exec (BEGIN and COMMIT included, since pgx runs them with
// Exec), each query queued in a batch and each CopyFrom. Preparing a statement for pgx's
// statement cache and pings are part of running a statement or of holding a connection,
// not statements of their own, and are not counted. Beside the statements it counts round
// trips: a batch's statements travel together, so a batch is one. It is safe for
// concurrent use; the zero value counts from 0.
type QueryCounter struct {
	n          atomic.Int64
	roundTrips atomic.Int64
}

var (
	_ pgx.QueryTracer    = (*QueryCounter)(nil)
	_ pgx.BatchTracer    = (*QueryCounter)(nil)
	_ pgx.CopyFromTracer = (*QueryCounter)(nil)
)

// Queries returns how many statements have started so far, failed ones included.
func (c *QueryCounter) Queries() int64 { return c.n.Load() }

// RoundTrips returns how many times a statement or a batch has been sent so far: what a
// request waits for the database, whatever each round trip holds.
func (c *QueryCounter) RoundTrips() int64 { return c.roundTrips.Load() }

// TraceQueryStart counts a Query, QueryRow or Exec.
func (c *QueryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.roundTrips.Add(1)
	return ctx
}

// TraceQueryEnd does nothing: a statement is counted when it starts.
func (c *QueryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart counts every query of the batch: they are all sent at once, in one
// round trip, whether or not the caller reads each result.
func (c *QueryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	c.n.Add(int64(data.Batch.Len()))
	c.roundTrips.Add(1)
	return ctx
}

// TraceBatchQuery does nothing: TraceBatchStart counted the query.
func (c *QueryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd does nothing.
func (c *QueryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TraceCopyFromStart counts a CopyFrom as one statement.
func (c *QueryCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.n.Add(1)
	c.roundTrips.Add(1)
	return ctx
}

// TraceCopyFromEnd does nothing.
func (c *QueryCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}
