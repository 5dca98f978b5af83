package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// StatementTracer gives every statement run within a trace (a request's, a relay step's, a
// push's) a span, as the pool's ConnConfig.Tracer (compose it with others with Tracers):
// each Query, QueryRow and Exec, each batch and its statements, and each CopyFrom.
// A span is named by what the statement does and to which table ("SELECT notifications",
// StatementName), never by its text's literals or its arguments, which hold phone numbers,
// addresses and search terms; a failed statement's span carries its SQLSTATE, never the
// error's message (a unique violation's message quotes the row).
type StatementTracer struct {
	tracer trace.Tracer
}

var (
	_ pgx.QueryTracer    = (*StatementTracer)(nil)
	_ pgx.BatchTracer    = (*StatementTracer)(nil)
	_ pgx.CopyFromTracer = (*StatementTracer)(nil)
)

// NewStatementTracer returns a tracer whose spans tp makes.
func NewStatementTracer(tp trace.TracerProvider) *StatementTracer {
	return &StatementTracer{tracer: tp.Tracer("notifyql/postgres")}
}

// Tracers runs each of tracers (nil ones left out) on a pool's connections, in order:
// the live path's statement counter beside the statements' spans. It returns nil for
// none, and the tracer itself for one.
func Tracers(tracers ...pgx.QueryTracer) pgx.QueryTracer {
	var set []pgx.QueryTracer
	for _, t := range tracers {
		if t != nil {
			set = append(set, t)
		}
	}
	switch len(set) {
	case 0:
		return nil
	case 1:
		return set[0]
	}
	return multitracer.New(set...)
}

// Attributes, as OpenTelemetry's semantic conventions for databases name them.
const (
	attrDBSystem     = attribute.Key("db.system.name")
	attrDBOperation  = attribute.Key("db.operation.name")
	attrDBCollection = attribute.Key("db.collection.name")
	attrDBBatchSize  = attribute.Key("db.operation.batch.size")
	attrDBStatus     = attribute.Key("db.response.status_code")
	attrDBRows       = attribute.Key("db.response.returned_rows")
)

// statementSpanKey holds, in the context pgx hands back at a statement's end, the span its
// start made: the context's own span may be a caller's.
type statementSpanKey struct{}

func (t *StatementTracer) start(ctx context.Context, name, operation, table string, more ...attribute.KeyValue) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		// Not part of a trace: a background job's statement (the scheduler's, the
		// report worker's), which would otherwise start a trace of one span each time.
		return ctx
	}
	attrs := append([]attribute.KeyValue{attrDBSystem.String("postgresql"), attrDBOperation.String(operation)}, more...)
	if table != "" {
		attrs = append(attrs, attrDBCollection.String(table))
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, statementSpanKey{}, span)
}

func end(ctx context.Context, tag pgconn.CommandTag, err error) {
	if span, ok := ctx.Value(statementSpanKey{}).(trace.Span); ok {
		finish(span, tag, err)
	}
}

// finish records how a statement went on its span, and ends it.
func finish(span trace.Span, tag pgconn.CommandTag, err error) {
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			span.SetAttributes(attrDBStatus.String(pgErr.Code))
			span.SetStatus(codes.Error, "SQLSTATE "+pgErr.Code)
		} else {
			span.SetStatus(codes.Error, "statement failed")
		}
	} else if tag.Select() {
		span.SetAttributes(attrDBRows.Int64(tag.RowsAffected()))
	}
	span.End()
}

// TraceQueryStart starts a Query's, QueryRow's or Exec's span.
func (t *StatementTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	operation, table := summarizeStatement(data.SQL)
	return t.start(ctx, StatementName(operation, table), operation, table)
}

// TraceQueryEnd ends it.
func (t *StatementTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	end(ctx, data.CommandTag, data.Err)
}

// TraceBatchStart starts a batch's span: "BATCH" and the statements' name when they all
// have the same one.
func (t *StatementTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	name, operation, table := "BATCH", "BATCH", ""
	for i, q := range data.Batch.QueuedQueries {
		op, tab := summarizeStatement(q.SQL)
		if i == 0 {
			operation, table = op, tab
		} else if op != operation || tab != table {
			operation, table = "BATCH", ""
			break
		}
	}
	if operation != "BATCH" {
		name = "BATCH " + StatementName(operation, table)
	}
	return t.start(ctx, name, operation, table, attrDBBatchSize.Int(data.Batch.Len()))
}

// TraceBatchQuery gives a batch's statement a span beneath the batch's, from when its
// result began to be read to now: the statements travel together, and are answered in turn.
func (t *StatementTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if _, traced := ctx.Value(statementSpanKey{}).(trace.Span); !traced {
		return
	}
	operation, table := summarizeStatement(data.SQL)
	attrs := []attribute.KeyValue{attrDBSystem.String("postgresql"), attrDBOperation.String(operation)}
	if table != "" {
		attrs = append(attrs, attrDBCollection.String(table))
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}
	if !data.ReadStartTime.IsZero() {
		opts = append(opts, trace.WithTimestamp(data.ReadStartTime))
	}
	_, span := t.tracer.Start(ctx, StatementName(operation, table), opts...)
	finish(span, data.CommandTag, data.Err)
}

// TraceBatchEnd ends the batch's span.
func (t *StatementTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	end(ctx, pgconn.CommandTag{}, data.Err)
}

// TraceCopyFromStart starts a CopyFrom's span, named by its table.
func (t *StatementTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	table := strings.Join(data.TableName, ".")
	return t.start(ctx, StatementName("COPY", table), "COPY", table)
}

// TraceCopyFromEnd ends it.
func (t *StatementTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	end(ctx, data.CommandTag, data.Err)
}

// StatementName is a statement's span name: its operation and, when it has one, the table
// it reads or writes.
func StatementName(operation, table string) string {
	if table == "" {
		return operation
	}
	return operation + " " + table
}

// statementOperations are the keywords that say what a statement does. WITH is not one:
// the statement that a WITH's queries serve comes after them.
var statementOperations = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "COPY": true,
	"BEGIN": true, "COMMIT": true, "ROLLBACK": true, "SAVEPOINT": true, "RELEASE": true,
	"SET": true, "SHOW": true, "LISTEN": true, "UNLISTEN": true, "NOTIFY": true, "CALL": true,
	"TRUNCATE": true, "CREATE": true, "ALTER": true, "DROP": true, "LOCK": true, "VALUES": true,
	"DO": true, "EXPLAIN": true, "ANALYZE": true, "VACUUM": true, "REFRESH": true, "GRANT": true,
}

// tableKeywords are the keywords a statement's table follows.
var tableKeywords = map[string]bool{"FROM": true, "INTO": true, "UPDATE": true, "JOIN": true, "TABLE": true}

// tableQualifiers are the words that may stand between a table keyword and its table.
var tableQualifiers = map[string]bool{"ONLY": true, "LATERAL": true, "IF": true, "NOT": true, "EXISTS": true}

// maxSummaryWord bounds a table name as a span shows it.
const maxSummaryWord = 63

// summarizeStatement reads the statement's operation (its first statement keyword outside
// parentheses, so that a WITH's queries and a column's subquery do not count;
// "STATEMENT" when it has none) and its table (the first named after FROM, INTO, UPDATE,
// JOIN or TABLE outside parentheses, or else inside them). Only unquoted words are read:
// string literals, dollar-quoted text, quoted identifiers, comments and parameters are
// skipped, so that nothing a statement carries as data can become part of its name.
func summarizeStatement(sql string) (operation, table string) {
	var innerOperation, innerTable, previous string
	depth := 0
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = len(sql)
				continue
			}
			i += end + 4
		case c == '\'' || c == '"':
			i = skipQuoted(sql, i, c)
			previous = ""
		case c == '$':
			i = skipDollar(sql, i)
			previous = ""
		case isWordStart(c):
			j := i
			for j < len(sql) && isWordPart(sql[j]) {
				j++
			}
			word := sql[i:j]
			i = j
			upper := strings.ToUpper(word)
			op, tab := &operation, &table
			if depth > 0 {
				op, tab = &innerOperation, &innerTable
			}
			if *op == "" && statementOperations[upper] {
				*op = upper
			} else if *op != "" && *tab == "" && tableKeywords[previous] && !tableKeywords[upper] &&
				!tableQualifiers[upper] && len(word) <= maxSummaryWord && (i >= len(sql) || sql[i] != '(') {
				*tab = strings.ToLower(word)
			}
			if operation != "" && table != "" {
				return operation, table
			}
			if !tableKeywords[previous] || !tableQualifiers[upper] {
				previous = upper // FROM ONLY t: t is still FROM's table
			}
		default:
			switch c {
			case '(':
				depth++
			case ')':
				depth = max(depth-1, 0)
			}
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				previous = ""
			}
			i++
		}
	}
	if operation == "" {
		operation, table = innerOperation, innerTable
	} else if table == "" {
		table = innerTable
	}
	return orStatement(operation), table
}

func orStatement(operation string) string {
	if operation == "" {
		return "STATEMENT"
	}
	return operation
}

func isWordStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isWordPart(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' || c == '.' }

// skipQuoted returns the index just past the quoted text that starts at i with quote (a
// doubled quote stands for itself).
func skipQuoted(sql string, i int, quote byte) int {
	for i++; i < len(sql); i++ {
		if sql[i] == quote {
			if i+1 < len(sql) && sql[i+1] == quote {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(sql)
}

// skipDollar returns the index past a parameter ($1) or dollar-quoted text ($$...$$,
// $tag$...$tag$) that starts at i.
func skipDollar(sql string, i int) int {
	j := i + 1
	for j < len(sql) && (isWordStart(sql[j]) || sql[j] >= '0' && sql[j] <= '9') {
		j++
	}
	if j >= len(sql) || sql[j] != '$' {
		return j // a parameter
	}
	tag := sql[i : j+1]
	end := strings.Index(sql[j+1:], tag)
	if end < 0 {
		return len(sql)
	}
	return j + 1 + end + len(tag)
}
