package postgres

import (
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Scanning a row first plans, for each column, how its bytes become its destination. pgx
// plans afresh for every result it returns, which for a statement of one row (a
// notification's page) costs more than reading the row: a plan is a few allocations a
// column, about a third of such a request's allocations. planned keeps each statement's
// plans, per connection, for as long as the statement's columns and destinations stay
// what they were when planned.

// scanPlanKey names one statement's plans on one connection. A plan may keep the
// connection's type map, which is not safe to share between connections (it memoizes
// as it encodes), so each connection plans for itself.
type scanPlanKey struct {
	types     *pgtype.Map
	statement string
}

// columnPlans are a statement's plans and what they were planned for.
type columnPlans struct {
	oids    []uint32
	formats []int16
	dest    []reflect.Type
	plans   []pgtype.ScanPlan
}

// matches reports whether p was planned for these columns and destinations.
func (p *columnPlans) matches(fields []pgconn.FieldDescription, dest []any) bool {
	if len(p.plans) != len(fields) || len(dest) != len(fields) {
		return false
	}
	for i, f := range fields {
		if p.oids[i] != f.DataTypeOID || p.formats[i] != f.Format || (dest[i] != nil && p.dest[i] != reflect.TypeOf(dest[i])) {
			return false
		}
	}
	return true
}

// maxScanPlanSets bounds the plans kept: each connection ever opened leaves its own, so
// past the bound they are all dropped and planned again as they are used.
const maxScanPlanSets = 1024

var (
	scanPlanSets     sync.Map // scanPlanKey → *columnPlans
	scanPlanSetCount atomic.Int64
)

// planned scans a row of statement into its destinations with plans kept between
// statements: pass it as the only destination of Scan (pgx hands a pgx.RowScanner the row
// itself). A nil destination skips its column, as with pgx's Scan.
type planned struct {
	statement string
	// to are the destinations of the row's columns, in order.
	to []any
	// args is Scan's arguments for the rows of one result (scanWith): the planned itself,
	// boxed once rather than once a row.
	args []any
}

// scanWith returns a planned for the rows of statement; set its destinations, then pass
// its args to each row's Scan.
func scanWith(statement string) *planned {
	p := &planned{statement: statement}
	p.args = []any{p}
	return p
}

// ScanRow implements pgx.RowScanner.
func (p *planned) ScanRow(rows pgx.Rows) error {
	fields := rows.FieldDescriptions()
	types := rows.Conn().TypeMap()
	key := scanPlanKey{types: types, statement: p.statement}
	var plans *columnPlans
	if v, ok := scanPlanSets.Load(key); ok && v.(*columnPlans).matches(fields, p.to) {
		plans = v.(*columnPlans)
	} else {
		if len(fields) != len(p.to) {
			return pgx.ScanArgError{ColumnIndex: min(len(fields), len(p.to)),
				Err: errColumnCount{columns: len(fields), dest: len(p.to)}}
		}
		plans = planColumns(types, fields, p.to)
		if scanPlanSetCount.Add(1) > maxScanPlanSets {
			scanPlanSets.Clear()
			scanPlanSetCount.Store(1)
		}
		scanPlanSets.Store(key, plans)
	}
	values := rows.RawValues()
	for i, dst := range p.to {
		if dst == nil {
			continue
		}
		if err := plans.plans[i].Scan(values[i], dst); err != nil {
			return pgx.ScanArgError{ColumnIndex: i, FieldName: fields[i].Name, Err: err}
		}
	}
	return nil
}

func planColumns(types *pgtype.Map, fields []pgconn.FieldDescription, dest []any) *columnPlans {
	p := &columnPlans{
		oids:    make([]uint32, len(fields)),
		formats: make([]int16, len(fields)),
		dest:    make([]reflect.Type, len(fields)),
		plans:   make([]pgtype.ScanPlan, len(fields)),
	}
	for i, f := range fields {
		p.oids[i], p.formats[i], p.dest[i] = f.DataTypeOID, f.Format, reflect.TypeOf(dest[i])
		p.plans[i] = types.PlanScan(f.DataTypeOID, f.Format, dest[i])
	}
	return p
}

// errColumnCount is a statement whose columns and destinations differ in number.
type errColumnCount struct{ columns, dest int }

func (e errColumnCount) Error() string {
	return "the statement returns " + strconv.Itoa(e.columns) + " columns for " + strconv.Itoa(e.dest) + " destinations"
}
