package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"notifyql"
)

// chVerifyNoLeaks checks, after every other cleanup of the test (pools closed, listeners
// stopped), that the test left no goroutine behind.
func chVerifyNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// chListen returns a connection listening on the change channel, as a test's own observer.
func chListen(t *testing.T, pool *pgxpool.Pool) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, listenChangesSQL); err != nil {
		t.Fatal(err)
	}
	return conn
}

// chEndMarker is the payload chDrain sends after the statements under test.
const chEndMarker = "end of the statements under test"

// chDrain returns the payloads that the statements committed so far sent. It sends a
// marker of its own and reads up to it: notifications reach listeners in commit order.
func chDrain(t *testing.T, pool *pgxpool.Pool, conn *pgx.Conn) []string {
	t.Helper()
	fxExec(t, pool, `SELECT pg_notify('`+changesChannel+`', $1)`, chEndMarker)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var payloads []string
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("wait for notifications: %v", err)
		}
		if n.Payload == chEndMarker {
			return payloads
		}
		payloads = append(payloads, n.Payload)
	}
}

// chDecodeAll decodes payloads and orders them by service, for comparison.
func chDecodeAll(t *testing.T, payloads []string) []notifyql.Change {
	t.Helper()
	changes := []notifyql.Change{}
	for _, p := range payloads {
		c, err := decodeChange(p)
		if err != nil {
			t.Fatalf("decode %q: %v", p, err)
		}
		slices.Sort(c.IDs)
		changes = append(changes, c)
	}
	slices.SortFunc(changes, func(a, b notifyql.Change) int { return strings.Compare(a.ServiceID, b.ServiceID) })
	return changes
}

// chNotificationsSQL inserts $3 sms notifications numbered from $2 for service $1.
const chNotificationsSQL = `
INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", key_type)
SELECT ('c0000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, $1, '` + fxSMSTemplateID + `', 1,
       'sms', '07700900000', 'normal'
  FROM generate_series($2::int, $2::int + $3::int - 1) AS n`

func chNotificationID(n int) string { return fmt.Sprintf("c0000000-0000-4000-8000-%012d", n) }

func TestChangeTriggers(t *testing.T) {
	chVerifyNoLeaks(t)
	pool := newFixturePool(t)
	observer := chListen(t, pool)
	ctx := context.Background()

	t.Run("one row: one compact payload", func(t *testing.T) {
		fxExec(t, pool, chNotificationsSQL, fxAlphaID, 1, 1)
		payloads := chDrain(t, pool, observer)
		want := []string{`{"s":"` + fxAlphaID + `","t":"notifications","ids":["` + chNotificationID(1) + `"],"more":false}`}
		if diff := cmp.Diff(want, payloads); diff != "" {
			t.Errorf("payloads (-want +got):\n%s", diff)
		}
	})

	// Big statements: ids capped at 20, more set, and one notification of well under the
	// 8000-byte NOTIFY limit.
	bigStatements := []struct{ name, sql string }{
		{"insert 10,000 rows", ""},
		{"update 10,000 rows", `UPDATE notifications SET notification_status = 'sending' WHERE id >= 'c0000000-0000-4000-8000-000000000100'`},
		{"delete 10,000 rows", `DELETE FROM notifications WHERE id >= 'c0000000-0000-4000-8000-000000000100'`},
	}
	for _, tt := range bigStatements {
		t.Run(tt.name, func(t *testing.T) {
			if tt.sql == "" {
				fxExec(t, pool, chNotificationsSQL, fxAlphaID, 100, 10_000)
			} else {
				fxExec(t, pool, tt.sql)
			}
			payloads := chDrain(t, pool, observer)
			if len(payloads) != 1 {
				t.Fatalf("got %d notifications, want 1: %q", len(payloads), payloads)
			}
			if len(payloads[0]) > 1000 {
				t.Errorf("payload is %d bytes, want under 1000", len(payloads[0]))
			}
			change := chDecodeAll(t, payloads)[0]
			if change.ServiceID != fxAlphaID || change.Table != notifyql.TableNotifications || !change.More {
				t.Errorf("change = %v, want alpha's notifications with more", change)
			}
			if len(change.IDs) != 20 {
				t.Errorf("change lists %d ids, want 20", len(change.IDs))
			}
			for _, id := range change.IDs {
				if id < chNotificationID(100) || id > chNotificationID(10_099) {
					t.Errorf("id %s is not one the statement touched", id)
				}
			}
		})
	}

	tests := []struct {
		name string
		sql  string
		want []notifyql.Change
	}{
		{
			name: "one statement, two services: one notification each",
			sql: `INSERT INTO notifications (id, service_id, template_id, template_version, notification_type, "to", key_type)
			      VALUES ('` + chNotificationID(2) + `', '` + fxAlphaID + `', '` + fxSMSTemplateID + `', 1, 'sms', '07700900001', 'normal'),
			             ('` + chNotificationID(3) + `', '` + fxBetaID + `', '` + fxSMSTemplateID + `', 1, 'sms', '07700900002', 'normal'),
			             ('` + chNotificationID(4) + `', '` + fxAlphaID + `', '` + fxSMSTemplateID + `', 1, 'sms', '07700900003', 'normal')`,
			want: []notifyql.Change{
				{ServiceID: fxAlphaID, Table: notifyql.TableNotifications, IDs: []string{chNotificationID(2), chNotificationID(4)}},
				{ServiceID: fxBetaID, Table: notifyql.TableNotifications, IDs: []string{chNotificationID(3)}},
			},
		},
		{
			name: "status update",
			sql:  `UPDATE notifications SET notification_status = 'delivered' WHERE id = '` + chNotificationID(3) + `'`,
			want: []notifyql.Change{{ServiceID: fxBetaID, Table: notifyql.TableNotifications, IDs: []string{chNotificationID(3)}}},
		},
		{
			name: "delete",
			sql:  `DELETE FROM notifications WHERE id IN ('` + chNotificationID(2) + `', '` + chNotificationID(4) + `')`,
			want: []notifyql.Change{{ServiceID: fxAlphaID, Table: notifyql.TableNotifications, IDs: []string{chNotificationID(2), chNotificationID(4)}}},
		},
		{
			name: "a statement that touches nothing stays silent",
			sql:  `UPDATE notifications SET notification_status = 'failed' WHERE false`,
			want: []notifyql.Change{},
		},
		{
			name: "inbound sms",
			sql: `INSERT INTO inbound_sms (id, service_id, notify_number, user_number, content, provider)
			      VALUES ('1b000000-0000-4000-8000-000000000001', '` + fxAlphaID + `', '07700900999', '07700900123', 'secret words', 'mmg')`,
			want: []notifyql.Change{{ServiceID: fxAlphaID, Table: notifyql.TableInboundSMS, IDs: []string{"1b000000-0000-4000-8000-000000000001"}}},
		},
		{
			name: "a row moved between services is news to both",
			sql:  `UPDATE inbound_sms SET service_id = '` + fxBetaID + `'`,
			want: []notifyql.Change{
				{ServiceID: fxAlphaID, Table: notifyql.TableInboundSMS, IDs: []string{"1b000000-0000-4000-8000-000000000001"}},
				{ServiceID: fxBetaID, Table: notifyql.TableInboundSMS, IDs: []string{"1b000000-0000-4000-8000-000000000001"}},
			},
		},
		{
			name: "jobs",
			sql:  `UPDATE jobs SET job_status = 'in progress' WHERE id = '` + fxJobID + `'`,
			want: []notifyql.Change{{ServiceID: fxAlphaID, Table: notifyql.TableJobs, IDs: []string{fxJobID}}},
		},
		{
			name: "report requests",
			sql: `INSERT INTO report_requests (id, user_id, service_id, parameter)
			      VALUES ('4e000000-0000-4000-8000-000000000001', '` + fxMemberID + `', '` + fxBetaID + `',
			              '{"notification_type": "sms", "notification_status": "all"}')`,
			want: []notifyql.Change{{ServiceID: fxBetaID, Table: notifyql.TableReportRequests, IDs: []string{"4e000000-0000-4000-8000-000000000001"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pool.Exec(ctx, tt.sql); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, chDecodeAll(t, chDrain(t, pool, observer))); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

// chSafeBuffer is a log destination that a listener goroutine writes while a test reads.
type chSafeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *chSafeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *chSafeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// chListener is a ChangeListener running in the background, its callbacks turned into
// channels.
type chListener struct {
	*ChangeListener
	log     *chSafeBuffer
	elected chan struct{}
	gap     chan struct{}
	changes chan notifyql.Change
	stop    func() error
}

// chStart runs a listener until the test ends or stop is called.
func chStart(t *testing.T, pool *pgxpool.Pool) *chListener {
	t.Helper()
	logs := &chSafeBuffer{}
	l := &chListener{
		ChangeListener: NewChangeListener(pool, slog.New(slog.NewJSONHandler(logs, nil))),
		log:            logs,
		elected:        make(chan struct{}, 10),
		gap:            make(chan struct{}, 10),
		changes:        make(chan notifyql.Change, 100),
	}
	l.electionInterval = 100 * time.Millisecond
	l.quietPing = 50 * time.Millisecond // so that the tests go through the keepalive pings too
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- l.Run(ctx, ChangeCallbacks{
			Elected: func() { l.elected <- struct{}{} },
			Gap:     func() { l.gap <- struct{}{} },
			Changed: func(c notifyql.Change) { l.changes <- c },
		})
	}()
	var once sync.Once
	var runErr error
	l.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10 s of its context ending")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := l.stop(); err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
	return l
}

func chWait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5 s", what)
		panic("unreachable")
	}
}

// chWaitChange waits for the change carrying a given notification id, skipping others.
func chWaitChange(t *testing.T, l *chListener, id string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case c := <-l.changes:
			if c.Table == notifyql.TableNotifications && slices.Contains(c.IDs, id) {
				return
			}
		case <-deadline:
			t.Fatalf("no change for notification %s within 5 s", id)
		}
	}
}

func TestChangeListenerElectsOneRelayAndFailsOver(t *testing.T) {
	chVerifyNoLeaks(t)
	pool := newFixturePool(t)
	listeners := []*chListener{chStart(t, pool), chStart(t, pool)}

	var relay, standby *chListener
	select {
	case <-listeners[0].elected:
		relay, standby = listeners[0], listeners[1]
	case <-listeners[1].elected:
		relay, standby = listeners[1], listeners[0]
	case <-time.After(5 * time.Second):
		t.Fatal("nobody was elected within 5 s")
	}
	// Give the standby several election rounds to (wrongly) win too.
	time.Sleep(5 * standby.electionInterval)
	if !relay.IsRelay() || standby.IsRelay() || len(standby.elected) > 0 {
		t.Fatalf("relay.IsRelay() = %v, standby.IsRelay() = %v, standby elected %d times; want exactly one relay",
			relay.IsRelay(), standby.IsRelay(), len(standby.elected))
	}
	if relay.BackendPID() == 0 || standby.BackendPID() != 0 {
		t.Errorf("BackendPID: relay %d, standby %d; want the relay's only", relay.BackendPID(), standby.BackendPID())
	}

	fxExec(t, pool, chNotificationsSQL, fxAlphaID, 1, 1)
	chWaitChange(t, relay, chNotificationID(1))

	if err := relay.stop(); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	if relay.IsRelay() {
		t.Error("a stopped listener still says it is the relay")
	}
	chWait(t, standby.elected, "election of the standby")
	fxExec(t, pool, chNotificationsSQL, fxBetaID, 2, 1)
	chWaitChange(t, standby, chNotificationID(2))
	if len(standby.changes) > 0 {
		t.Errorf("the standby got %d changes from before it was elected", len(standby.changes))
	}
}

func TestChangeListenerRecoversFromATerminatedBackend(t *testing.T) {
	chVerifyNoLeaks(t)
	pool := newFixturePool(t)
	l := chStart(t, pool)
	chWait(t, l.elected, "election")

	fxExec(t, pool, chNotificationsSQL, fxAlphaID, 1, 1)
	chWaitChange(t, l, chNotificationID(1))

	pid := l.BackendPID()
	fxExec(t, pool, `SELECT pg_terminate_backend($1)`, int32(pid))
	chWait(t, l.gap, "gap after the listener's backend was terminated")
	if !l.IsRelay() || l.BackendPID() == pid {
		t.Errorf("after the gap IsRelay() = %v, BackendPID() = %d (was %d); want relaying on a new backend",
			l.IsRelay(), l.BackendPID(), pid)
	}
	fxExec(t, pool, chNotificationsSQL, fxAlphaID, 2, 1)
	chWaitChange(t, l, chNotificationID(2))
	if len(l.elected) > 0 {
		t.Error("Elected was called again after a gap; want Gap only")
	}
}

func TestChangeListenerSkipsMalformedPayloads(t *testing.T) {
	chVerifyNoLeaks(t)
	pool := newFixturePool(t)
	l := chStart(t, pool)
	chWait(t, l.elected, "election")

	const secret = "someone@example.gov.uk"
	for _, payload := range []string{
		`not json ` + secret,
		`{"s":"` + fxAlphaID + `","t":"users","ids":[],"more":false,"x":"` + secret + `"}`,
		`{"s":"` + secret + `","t":"notifications","ids":[],"more":false}`,
	} {
		fxExec(t, pool, `SELECT pg_notify('notifyql_changes', $1)`, payload)
	}
	fxExec(t, pool, chNotificationsSQL, fxAlphaID, 1, 1)
	got := chWait(t, l.changes, "the change after the malformed ones")
	want := notifyql.Change{ServiceID: fxAlphaID, Table: notifyql.TableNotifications, IDs: []string{chNotificationID(1)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first change delivered (-want +got):\n%s", diff)
	}
	if err := l.stop(); err != nil {
		t.Fatal(err)
	}
	logs := l.log.String()
	if n := strings.Count(logs, "skipping a malformed change notification"); n != 3 {
		t.Errorf("logged %d skipped notifications, want 3:\n%s", n, logs)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the log quotes a payload:\n%s", logs)
	}
}

func TestDecodeChange(t *testing.T) {
	tests := []struct {
		payload string
		want    notifyql.Change
		wantErr bool
	}{
		{
			payload: `{"s":"` + fxAlphaID + `","t":"jobs","ids":["` + fxJobID + `"],"more":true}`,
			want:    notifyql.Change{ServiceID: fxAlphaID, Table: notifyql.TableJobs, IDs: []string{fxJobID}, More: true},
		},
		{payload: `{"s":"` + fxAlphaID + `","t":"jobs","ids":["x"],"more":false}`, wantErr: true},
		{payload: `{"s":"","t":"jobs","ids":[],"more":false}`, wantErr: true},
		{payload: `{"s":"` + fxAlphaID + `","t":"services","ids":[],"more":false}`, wantErr: true},
		{payload: `[]`, wantErr: true},
		{payload: ``, wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeChange(tt.payload)
		if (err != nil) != tt.wantErr {
			t.Errorf("decodeChange(%q) error = %v, want error %v", tt.payload, err, tt.wantErr)
			continue
		}
		if err != nil && strings.Contains(err.Error(), tt.payload) && tt.payload != "" {
			t.Errorf("decodeChange(%q) error quotes the payload: %v", tt.payload, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("decodeChange(%q) (-want +got):\n%s", tt.payload, diff)
		}
	}
}
