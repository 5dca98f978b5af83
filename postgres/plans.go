package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// How PostgreSQL plans a statement is chosen per statement, where its best plan is known:
// planned for its values at each execution (planEachTime, forceCustomPlansSQL), or planned
// once per connection (genericPlansSQL). Statements that name neither keep PostgreSQL's
// own choice.

// planEachTime, as a query's first argument, sends it as an unnamed statement (one round
// trip, as a cached one takes), which PostgreSQL plans for the values it is given at every
// execution. For statements whose best plan depends on their parameters: a statement from
// pgx's cache is a named prepared statement, which PostgreSQL plans generically from its
// sixth execution on a connection once the generic plan's estimated cost is below the
// custom plans' average. The dashboard's status counts, from its sixth execution, got a
// generic plan that estimated 73 rows where the bench's big service has 4,431, sorted them,
// and took 8–12 ms instead of 4.9–6.3 ms (EXPLAIN ANALYZE on the bench database: 8.5 ms
// generic, 3.5 ms plus 0.2–0.3 ms of planning custom). The history pages' statements
// (monthly statistics, template usage) measured the same either way there, and keep theirs.
// Per statement, not plan_cache_mode on every connection: the hot paths' statements plan
// the same for any values and take generic plans (queueGenericPlans). Results come in the
// text format, which pgx scans into the same Go types.
const planEachTime = pgx.QueryExecModeExec

// forceCustomPlans makes the statements that follow it in a batch be planned for their
// parameters' values, until the batch ends. A batch's statements share the exec mode of
// the connection, so planEachTime cannot apply to one of them; plan_cache_mode, set local
// to the implicit transaction a batch runs in (its statements share one Sync), does the same
// for the cached statements after it, and is back to the connection's own at the batch's
// end, whether the batch succeeds or fails.
const forceCustomPlansSQL = `SELECT set_config('plan_cache_mode', 'force_custom_plan', true)`

// genericPlansSQL makes the statements that follow it in a batch, until the batch ends or a
// forceCustomPlansSQL, use their generic plan: planned once per connection, as the cached
// statement it is. For the hot paths' statements (a page, services with their facts, the
// lookups by id of the loaders), whose plan is the same index walk for any values, but
// which PostgreSQL would otherwise plan afresh at every execution: their parameters (a
// list of ids in `= ANY($1)`, a page's LIMIT, a window's lower bound) can make the generic
// plan's estimated cost higher than a custom plan's, so the generic plan is never chosen. On the bench
// database a page's statement spent 0.3 ms planning for 0.3 ms executing, and a service's
// 0.24 ms for 0.06 ms (log_min_duration_statement, bind against execute). A statement that
// PostgreSQL moves to its generic plan by itself (a notification by id) is better sent
// alone: a batch costs pgx a background read and a goroutine's wake-up.
const genericPlansSQL = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`

// queueGenericPlans queues genericPlansSQL on batch; skipPlanMode reads its result.
func queueGenericPlans(batch *pgx.Batch) { batch.Queue(genericPlansSQL) }

// skipPlanMode reads the result of a plan-mode statement from the front of results.
func skipPlanMode(results pgx.BatchResults) error {
	_, err := results.Exec()
	return err
}

// queryGenericPlan is pool.Query for a statement that runs its generic plan
// (genericPlansSQL), in the same one round trip: the setting goes in a batch before it.
func queryGenericPlan(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) (pgx.Rows, error) {
	batch := &pgx.Batch{}
	queueGenericPlans(batch)
	batch.Queue(sql, args...)
	results := pool.SendBatch(ctx, batch)
	if err := skipPlanMode(results); err != nil {
		_ = results.Close()
		return nil, err
	}
	rows, err := results.Query()
	if err != nil {
		rows.Close()
		_ = results.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, results: results}, nil
}

// batchRows are the rows of a batch's last statement: closing them closes the batch,
// which gives its connection back to the pool.
type batchRows struct {
	pgx.Rows
	results  pgx.BatchResults
	closed   bool
	closeErr error
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.closeErr = r.results.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.closeErr
}
