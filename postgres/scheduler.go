package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// Every instance runs the scheduler; for each occurrence of a job exactly one does the
// work. An instance that finds a job due takes a session advisory lock named after the job
// on a connection of its own, checks scheduled_jobs to see whether another instance has
// already finished this occurrence, runs the job and records the occurrence before
// letting go. A failed run records nothing, so the job is tried again on the next tick;
// an instance that dies mid-run loses its session and with it the lock.

// Job is a named chore run on a schedule: every Every (occurrences aligned on multiples of
// Every since the Unix epoch), or once a day DailyAt after UTC midnight. Exactly one of
// Every and DailyAt is set.
type Job struct {
	Name    string
	Every   time.Duration
	DailyAt time.Duration
	Run     func(ctx context.Context) error
}

// occurrence is the start of the job's latest occurrence at or before now.
func (j Job) occurrence(now time.Time) time.Time {
	now = now.UTC()
	if j.Every > 0 {
		return now.Truncate(j.Every)
	}
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	at := midnight.Add(j.DailyAt)
	if at.After(now) {
		at = midnight.AddDate(0, 0, -1).Add(j.DailyAt)
	}
	return at
}

// lockKey derives the job's advisory lock key from its name.
func (j Job) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("notifyql scheduled job: " + j.Name))
	return int64(h.Sum64())
}

func validateJobs(jobs []Job) error {
	names := map[string]bool{}
	for _, j := range jobs {
		switch {
		case j.Name == "":
			return notifyql.Errorf(notifyql.EINVALID, "a scheduled job needs a name")
		case names[j.Name]:
			return notifyql.Errorf(notifyql.EINVALID, "two scheduled jobs are called %q", j.Name)
		case j.Run == nil:
			return notifyql.Errorf(notifyql.EINVALID, "scheduled job %q has nothing to run", j.Name)
		case (j.Every > 0) == (j.DailyAt != 0) || j.Every < 0:
			return notifyql.Errorf(notifyql.EINVALID, "scheduled job %q needs either a positive Every or a DailyAt", j.Name)
		case j.DailyAt < 0 || j.DailyAt >= 24*time.Hour:
			return notifyql.Errorf(notifyql.EINVALID, "scheduled job %q: DailyAt must be within a day", j.Name)
		}
		names[j.Name] = true
	}
	return nil
}

const tryJobLockSQL = `SELECT pg_try_advisory_lock($1)`

const releaseJobLockSQL = `SELECT pg_advisory_unlock($1)`

const jobOccurrenceDoneSQL = `
SELECT EXISTS (SELECT 1 FROM scheduled_jobs WHERE name = $1 AND last_occurrence >= $2)`

const recordJobRunSQL = `
INSERT INTO scheduled_jobs (name, last_occurrence, started_at, finished_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE
   SET last_occurrence = excluded.last_occurrence, started_at = excluded.started_at,
       finished_at = excluded.finished_at`

// releaseTimeout bounds giving a connection back after the context has ended.
const releaseTimeout = 5 * time.Second

// RunScheduler runs jobs when they fall due, checking every tick, until ctx is done, and
// then returns nil. now is the clock (time.Now in production). A failing job is logged and
// tried again on the next tick. With DailyAt a job whose occurrence today has not run yet
// when the scheduler starts (the instance was down at the time) runs at once.
//
// That first pass is start-up catch-up, logged at debug so that it does not bury what a
// starting server prints; runs that fall due later are logged at info. caughtUp, when not
// nil, is called once the first pass is over (or ctx has ended), so a caller can wait for
// it before saying it has started.
func RunScheduler(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, jobs []Job,
	now func() time.Time, tick time.Duration, caughtUp func()) error {
	if err := validateJobs(jobs); err != nil {
		return err
	}
	if tick <= 0 {
		return notifyql.Errorf(notifyql.EINVALID, "the scheduler's tick must be positive")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if caughtUp == nil {
		caughtUp = func() {}
	}
	// However the first pass ends, the caller hears of it once.
	var once sync.Once
	firstPassOver := func() { once.Do(caughtUp) }
	defer firstPassOver()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	level := slog.LevelDebug
	for {
		for _, job := range jobs {
			if ctx.Err() != nil {
				return nil
			}
			if err := runIfDue(ctx, pool, logger, level, job, now); err != nil && ctx.Err() == nil {
				// Job errors are ours or coded, never personal data.
				logger.Error("scheduled job failed; trying again next tick", "job", job.Name, "error", err.Error())
			}
		}
		firstPassOver()
		level = slog.LevelInfo
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// runIfDue runs the job's current occurrence unless another instance holds it or has
// done it, logging its start and end at level.
func runIfDue(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, level slog.Level, job Job, now func() time.Time) (err error) {
	occurrence := job.occurrence(now())
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, tryJobLockSQL, job.lockKey()).Scan(&locked); err != nil {
		return fmt.Errorf("try job lock: %w", err)
	}
	if !locked {
		return nil // another instance is running it
	}
	defer func() {
		// Unlock even when ctx has ended, so that the pooled connection does not keep the
		// lock; if that fails the connection is closed, which releases it.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if _, unlockErr := conn.Exec(unlockCtx, releaseJobLockSQL, job.lockKey()); unlockErr != nil {
			closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
			defer cancelClose()
			_ = conn.Conn().Close(closeCtx)
			err = errors.Join(err, fmt.Errorf("release job lock: %w", unlockErr))
		}
	}()
	var done bool
	if err := conn.QueryRow(ctx, jobOccurrenceDoneSQL, job.Name, occurrence).Scan(&done); err != nil {
		return fmt.Errorf("read job runs: %w", err)
	}
	if done {
		return nil
	}
	started, wallStart := now().UTC(), time.Now()
	logger.Log(ctx, level, "scheduled job started", "job", job.Name, "occurrence", occurrence)
	if err := job.Run(ctx); err != nil {
		return err
	}
	finished := now().UTC()
	if _, err := conn.Exec(ctx, recordJobRunSQL, job.Name, occurrence, started, finished); err != nil {
		return fmt.Errorf("record job run: %w", err)
	}
	logger.Log(ctx, level, "scheduled job finished", "job", job.Name, "occurrence", occurrence,
		"elapsed", time.Since(wallStart).Round(time.Millisecond))
	return nil
}
