package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"notifyql"
)

// The change triggers (migration 00007) notify this channel once per statement per service.
const changesChannel = "notifyql_changes"

// The access triggers (migration 00008) notify this channel once per statement that changes
// who may see what.
const accessChannel = "notifyql_access"

// changeRelayLockKey is the session advisory lock held by the one instance that relays
// changes. Any other key would do, as long as nothing else uses it.
const changeRelayLockKey int64 = 0x6e71_7265_6c61_79 // "nqrelay"

const (
	tryRelayLockSQL     = `SELECT pg_try_advisory_lock($1)`
	releaseRelayLockSQL = `SELECT pg_advisory_unlock($1)`
	listenChangesSQL    = `LISTEN ` + changesChannel
	listenAccessSQL     = `LISTEN ` + accessChannel
)

const (
	// defaultElectionInterval is how often an instance that is not the relay tries to
	// become it, and so about how long a failover takes.
	defaultElectionInterval = time.Second
	// defaultQuietPing is how long the relay waits for a notification before it checks
	// that its connection is still alive: a connection cut by the network can otherwise
	// look silent for as long as TCP takes to notice.
	defaultQuietPing = 15 * time.Second
)

// ChangeListener relays the change hints the triggers send, on whichever one instance wins
// the relay election. Every instance runs one; at most one at a time listens.
type ChangeListener struct {
	pool   *pgxpool.Pool
	logger *slog.Logger

	// electionInterval and quietPing are fields so that tests can shorten them.
	electionInterval time.Duration
	quietPing        time.Duration

	relay      atomic.Bool
	backendPID atomic.Uint32
}

// ChangeCallbacks are called from the goroutine running ChangeListener.Run, one at a time
// and in order; they should hand work off rather than block, since a blocked callback
// delays every later change. Nil callbacks are skipped.
type ChangeCallbacks struct {
	// Elected is called when this instance becomes the relay and starts listening, having
	// not been it before (or having lost it to another instance since).
	Elected func()
	// Changed is called for each hint, in commit order.
	Changed func(notifyql.Change)
	// AccessChanged is called for each access hint, in commit order with the others.
	AccessChanged func(notifyql.AccessChange)
	// Gap is called when the relay's connection was lost and the relay is listening again
	// on a new one: changes committed in between may have been missed.
	Gap func()
	// Deposed is called when this instance was the relay, lost its connection and found
	// another instance relaying by the time it reconnected.
	Deposed func()
}

// NewChangeListener returns a listener whose connections are configured like the pool's
// but are not taken from it: the relay holds its connection for as long as it runs.
func NewChangeListener(pool *pgxpool.Pool, logger *slog.Logger) *ChangeListener {
	return &ChangeListener{
		pool:             pool,
		logger:           logger,
		electionInterval: defaultElectionInterval,
		quietPing:        defaultQuietPing,
	}
}

// IsRelay reports whether this instance is the relay and listening right now.
func (l *ChangeListener) IsRelay() bool { return l.relay.Load() }

// BackendPID is the PostgreSQL backend process id of the relay's connection, or 0 when
// this instance is not the relay. Operators (and tests) can match it in pg_stat_activity.
func (l *ChangeListener) BackendPID() uint32 {
	if !l.IsRelay() {
		return 0
	}
	return l.backendPID.Load()
}

// Run takes part in the relay election until ctx is done, and while elected reports each
// change to cb. It survives lost connections and restarts of PostgreSQL: it reconnects
// every electionInterval until it can, and tells cb what it may have missed. It returns nil
// once ctx is done, having released the lock and closed its connection. A listener runs
// one Run at a time.
func (l *ChangeListener) Run(ctx context.Context, cb ChangeCallbacks) error {
	wasRelay := false
	for {
		started := time.Now()
		err := l.session(ctx, cb, &wasRelay)
		if ctx.Err() != nil {
			return nil
		}
		l.logger.Warn("change listener lost its connection; reconnecting", "error", err,
			"was_relay", wasRelay)
		// A connection that lived a while and died (a restarted server, a terminated
		// backend) is replaced at once, so that the relay keeps its lock and the gap stays
		// short; one that fails straight away is retried at the election pace.
		if time.Since(started) < l.electionInterval {
			if err := sleepUnlessDone(ctx, l.electionInterval); err != nil {
				return nil
			}
		}
	}
}

// session runs one connection's life: it connects, waits to be elected and listens until
// the connection fails or ctx is done. wasRelay carries over from the previous connection
// whether this instance was the relay when it was lost, to choose between Gap and Elected.
func (l *ChangeListener) session(ctx context.Context, cb ChangeCallbacks, wasRelay *bool) error {
	conn, err := pgx.ConnectConfig(ctx, l.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("connect change listener: %w", err)
	}
	defer l.close(conn)
	return l.elect(ctx, conn, cb, wasRelay)
}

// elect waits on conn until this instance holds the relay lock, then listens.
func (l *ChangeListener) elect(ctx context.Context, conn *pgx.Conn, cb ChangeCallbacks, wasRelay *bool) error {
	for first := true; ; first = false {
		var won bool
		if err := conn.QueryRow(ctx, tryRelayLockSQL, changeRelayLockKey).Scan(&won); err != nil {
			return fmt.Errorf("try relay lock: %w", err)
		}
		if won {
			break
		}
		if first && *wasRelay {
			*wasRelay = false
			l.logger.Info("change relay moved to another instance")
			callIfSet(cb.Deposed)
		}
		if err := sleepUnlessDone(ctx, l.electionInterval); err != nil {
			return err
		}
	}

	if _, err := conn.Exec(ctx, listenChangesSQL); err != nil {
		return fmt.Errorf("listen for changes: %w", err)
	}
	if _, err := conn.Exec(ctx, listenAccessSQL); err != nil {
		return fmt.Errorf("listen for access changes: %w", err)
	}
	l.backendPID.Store(conn.PgConn().PID())
	l.relay.Store(true)
	if *wasRelay {
		l.logger.Info("change relay listening again after a lost connection")
		callIfSet(cb.Gap)
	} else {
		*wasRelay = true
		l.logger.Info("elected change relay")
		callIfSet(cb.Elected)
	}
	return l.listen(ctx, conn, cb)
}

// listen hands each notification to cb until the connection fails or ctx is done.
func (l *ChangeListener) listen(ctx context.Context, conn *pgx.Conn, cb ChangeCallbacks) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, l.quietPing)
		notification, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			l.deliver(notification, cb)
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err) && !conn.IsClosed():
			// Quiet for a while: make sure the silence is real.
			if err := conn.Ping(ctx); err != nil {
				return fmt.Errorf("ping change listener connection: %w", err)
			}
		default:
			return fmt.Errorf("wait for change notification: %w", err)
		}
	}
}

// changePayload is the JSON the change triggers send.
type changePayload struct {
	ServiceID string   `json:"s"`
	Table     string   `json:"t"`
	IDs       []string `json:"ids"`
	More      bool     `json:"more"`
}

func (l *ChangeListener) deliver(notification *pgconn.Notification, cb ChangeCallbacks) {
	if notification.Channel == accessChannel {
		l.deliverAccess(notification, cb)
		return
	}
	if notification.Channel != changesChannel {
		return
	}
	change, err := decodeChange(notification.Payload)
	if err != nil {
		// The payload is not logged: whoever wrote it to our channel may have put
		// anything in it.
		l.logger.Warn("skipping a malformed change notification", "error", err,
			"payload_bytes", len(notification.Payload), "sender_pid", notification.PID)
		return
	}
	if cb.Changed != nil {
		cb.Changed(change)
	}
}

// decodeChange reads one trigger payload, checking that it names a captured table and
// holds only uuids. Its errors never quote the payload.
func decodeChange(payload string) (notifyql.Change, error) {
	var p changePayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return notifyql.Change{}, errors.New("change payload is not the expected JSON")
	}
	switch p.Table {
	case notifyql.TableNotifications, notifyql.TableInboundSMS, notifyql.TableJobs, notifyql.TableReportRequests:
	default:
		return notifyql.Change{}, errors.New("change payload names no captured table")
	}
	if !notifyql.IsUUID(p.ServiceID) {
		return notifyql.Change{}, errors.New("change payload has no valid service id")
	}
	for _, id := range p.IDs {
		if !notifyql.IsUUID(id) {
			return notifyql.Change{}, errors.New("change payload has an invalid row id")
		}
	}
	return notifyql.Change{ServiceID: p.ServiceID, Table: p.Table, IDs: p.IDs, More: p.More}, nil
}

// accessPayload is the JSON the access triggers send.
type accessPayload struct {
	Table      string   `json:"t"`
	UserIDs    []string `json:"u"`
	ServiceIDs []string `json:"s"`
	More       bool     `json:"more"`
}

func (l *ChangeListener) deliverAccess(notification *pgconn.Notification, cb ChangeCallbacks) {
	change, err := decodeAccessChange(notification.Payload)
	if err != nil {
		l.logger.Warn("skipping a malformed access notification", "error", err,
			"payload_bytes", len(notification.Payload), "sender_pid", notification.PID)
		return
	}
	if cb.AccessChanged != nil {
		cb.AccessChanged(change)
	}
}

// decodeAccessChange reads one access trigger payload, checking that it names an access
// table and holds only uuids. Its errors never quote the payload.
func decodeAccessChange(payload string) (notifyql.AccessChange, error) {
	var p accessPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return notifyql.AccessChange{}, errors.New("access payload is not the expected JSON")
	}
	switch p.Table {
	case notifyql.TablePermissions, notifyql.TableUserToService, notifyql.TableUserToOrganisation, notifyql.TableUsers, notifyql.TableServices, notifyql.TableServicePermissions:
	default:
		return notifyql.AccessChange{}, errors.New("access payload names no captured table")
	}
	for _, ids := range [][]string{p.UserIDs, p.ServiceIDs} {
		for _, id := range ids {
			if !notifyql.IsUUID(id) {
				return notifyql.AccessChange{}, errors.New("access payload has an invalid id")
			}
		}
	}
	if p.More {
		return notifyql.AccessChange{All: true}, nil
	}
	change := notifyql.AccessChange{}
	if len(p.UserIDs) > 0 {
		change.UserIDs = p.UserIDs
	}
	if len(p.ServiceIDs) > 0 {
		change.ServiceIDs = p.ServiceIDs
	}
	return change, nil
}

// close lets go of the relay lock, if held, and of the connection. Closing alone would
// release a session lock too; unlocking first hands over without waiting for the server
// to notice the closed socket.
func (l *ChangeListener) close(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if l.relay.Load() && !conn.IsClosed() {
		if _, err := conn.Exec(ctx, releaseRelayLockSQL, changeRelayLockKey); err != nil {
			l.logger.Warn("release change relay lock", "error", err)
		}
	}
	l.relay.Store(false)
	if err := conn.Close(ctx); err != nil {
		l.logger.Warn("close change listener connection", "error", err)
	}
}

func callIfSet(f func()) {
	if f != nil {
		f()
	}
}

// sleepUnlessDone waits for d, or returns ctx's error if ctx ends first.
func sleepUnlessDone(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
