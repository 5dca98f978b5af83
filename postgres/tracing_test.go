package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"notifyql/pgtest"
)

// A statement's span is named by its outermost operation and table; nothing it carries as
// data (literals, dollar-quoted text, quoted identifiers, comments, parameters) can become
// part of the name.
func TestSummarizeStatement(t *testing.T) {
	tests := []struct {
		sql, operation, table string
	}{
		{`SELECT id FROM notifications WHERE id = $1`, "SELECT", "notifications"},
		{"\n  select n.id\n  from public.notifications n join templates t on t.id = n.template_id", "SELECT", "public.notifications"},
		{`SELECT (SELECT count(*) FROM service_permissions p WHERE p.service_id = s.id) FROM services s`, "SELECT", "services"},
		{`WITH gone AS (DELETE FROM report_chunks WHERE id = $1 RETURNING id) INSERT INTO report_builds SELECT id FROM gone`, "INSERT", "report_builds"},
		{`UPDATE jobs SET status = 'done' WHERE id = $1`, "UPDATE", "jobs"},
		{`DELETE FROM ONLY inbound_sms WHERE created_at < $1`, "DELETE", "inbound_sms"},
		{`SELECT * FROM unnest($1::uuid[]) AS u(id) JOIN services s ON s.id = u.id`, "SELECT", "services"},
		{`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`, "SELECT", ""},
		{`begin`, "BEGIN", ""},
		{`-- SELECT FROM secrets` + "\n" + `/* DELETE FROM x */ COMMIT`, "COMMIT", ""},
		{`SELECT 'FROM canary_person' FROM "Nightingale Lane" WHERE x = $$FROM canary$$ AND y = $tag$ FROM z $tag$`, "SELECT", ""},
		{`INSERT INTO notifications ("to") VALUES ('07700 900482'), (E'Ms Canary\nPerson')`, "INSERT", "notifications"},
		{`'unterminated FROM canary`, "STATEMENT", ""},
		{`/* unterminated FROM canary`, "STATEMENT", ""},
		{``, "STATEMENT", ""},
	}
	for _, tt := range tests {
		operation, table := summarizeStatement(tt.sql)
		if operation != tt.operation || table != tt.table {
			t.Errorf("summarizeStatement(%q) = %q, %q; want %q, %q", tt.sql, operation, table, tt.operation, tt.table)
		}
	}
}

// Within a trace, each statement, batch and batched statement gets a span named by its
// operation and table, composed with the query counter, which still counts; a failure
// carries its SQLSTATE and not its message (which quotes the row); outside a trace nothing
// is traced. No span holds an argument or a literal.
func TestStatementTracer(t *testing.T) {
	ctx := context.Background()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer provider.Shutdown(ctx)
	counter := &QueryCounter{}
	cfg := pgtest.NewPool(t).Config()
	cfg.ConnConfig.Tracer = Tracers(counter, nil, NewStatementTracer(provider))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS canaries (phone text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	untraced := len(recorder.Ended())
	if untraced != 0 {
		t.Errorf("%d spans for a statement outside any trace", untraced)
	}

	traced, parent := provider.Tracer("test").Start(ctx, "request")
	conn, err := pool.Acquire(traced) // one connection: the temporary table is its own
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	_, _ = conn.Exec(traced, `CREATE TEMP TABLE IF NOT EXISTS canaries (phone text PRIMARY KEY)`)
	if _, err := conn.Exec(traced, `INSERT INTO canaries (phone) VALUES ($1)`, "07700 900482"); err != nil {
		t.Fatal(err)
	}
	_, dup := conn.Exec(traced, `INSERT INTO canaries (phone) VALUES ('07700 900482')`)
	batch := &pgx.Batch{}
	batch.Queue(`SELECT set_config('application_name', 'canary 900482', true)`)
	batch.Queue(`SELECT phone FROM canaries WHERE phone = $1`, "07700 900482")
	if err := conn.SendBatch(traced, batch).Close(); err != nil {
		t.Fatal(err)
	}
	parent.End()
	if dup == nil {
		t.Fatal("the duplicate was inserted")
	}

	type seen struct{ name, parent, status string }
	var got []seen
	byID := map[string]string{parent.SpanContext().SpanID().String(): "request"}
	for _, s := range recorder.Ended() {
		byID[s.SpanContext().SpanID().String()] = s.Name()
	}
	for _, s := range recorder.Ended() {
		if s.Name() == "request" {
			continue
		}
		got = append(got, seen{s.Name(), byID[s.Parent().SpanID().String()], s.Status().Description})
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), "900482") {
				t.Errorf("span %s attribute %s = %q holds an argument or literal", s.Name(), kv.Key, kv.Value.Emit())
			}
		}
		if strings.Contains(s.Name()+s.Status().Description, "900482") {
			t.Errorf("span %s (%s) holds an argument or literal", s.Name(), s.Status().Description)
		}
	}
	want := []seen{
		{"CREATE canaries", "request", ""},
		{"INSERT canaries", "request", ""},
		{"INSERT canaries", "request", "SQLSTATE 23505"},
		{"SELECT", "BATCH", ""},
		{"SELECT canaries", "BATCH", ""},
		{"BATCH", "request", ""},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(seen{})); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if counter.Queries() < 6 {
		t.Errorf("the counter beside the tracer counted %d statements", counter.Queries())
	}
}
