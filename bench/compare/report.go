package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// cell is one (operation, clients) row: each server's runs, in the order they ran.
type cell struct {
	operation    string
	clients      int
	notifyql     []measurement
	postgraphile []measurement // none for an operation PostGraphile does not answer
	floor        []measurement // notifyql's captured SQL replayed alone
}

// summary is a server's median p50, p99 and requests/s over its runs, each the median of
// its own figure: the run with the median p50 need not be the one with the median rate.
type summary struct {
	P50, P99 time.Duration
	RPS      float64
	Failed   int64 // over all runs
}

func summarise(runs []measurement) (summary, bool) {
	if len(runs) == 0 {
		return summary{}, false
	}
	s := summary{
		P50: median(runs, func(m measurement) time.Duration { return m.P50 }),
		P99: median(runs, func(m measurement) time.Duration { return m.P99 }),
		RPS: median(runs, func(m measurement) float64 { return m.RPS }),
	}
	for _, m := range runs {
		s.Failed += m.Failed
	}
	return s, true
}

// median is the middle value, or the mean of the middle two of an even count.
func median[T time.Duration | float64](runs []measurement, figure func(measurement) T) T {
	values := make([]T, len(runs))
	for i, m := range runs {
		values[i] = figure(m)
	}
	slices.Sort(values)
	n := len(values)
	if n%2 == 1 {
		return values[n/2]
	}
	return (values[n/2-1] + values[n/2]) / 2
}

// writeTable prints the table with the ratios: notifyql's throughput over
// PostGraphile's, and its p50 over PostGraphile's.
func writeTable(w io.Writer, cells []cell) {
	fmt.Fprintln(w, "| operation | clients | notifyql p50 / p99 / rps | PostGraphile p50 / p99 / rps | rps ratio | p50 ratio | the SQL alone p50 |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, c := range cells {
		n, _ := summarise(c.notifyql)
		row := []string{c.operation, fmt.Sprint(c.clients), formatSummary(n), "—", "—", "—", "—"}
		if p, ok := summarise(c.postgraphile); ok {
			row[3] = formatSummary(p)
			row[4] = fmt.Sprintf("%.2f×", n.RPS/p.RPS)
			row[5] = fmt.Sprintf("%.2f×", float64(n.P50)/float64(p.P50))
		}
		if f, ok := summarise(c.floor); ok {
			row[6] = formatLatency(f.P50)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}

func formatSummary(s summary) string {
	out := fmt.Sprintf("%s / %s / %s", formatLatency(s.P50), formatLatency(s.P99), formatRate(s.RPS))
	if s.Failed > 0 {
		out += fmt.Sprintf(" (%d failed)", s.Failed)
	}
	return out
}

// formatLatency prints milliseconds with three significant digits, as the table.
func formatLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

// formatRate prints requests a second as a whole number with thousands separated.
func formatRate(rps float64) string {
	s := fmt.Sprintf("%.0f", rps)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// verdict is one line of the Targets table, judged.
type verdict struct {
	operation string
	clients   int
	target    string
	measured  string
	met       bool
	judged    bool // false when a figure it needs was not measured
}

// Operation names, shared by the table and the targets.
const (
	opPage      = "50-row email page with template names"
	opByID      = "one notification by id"
	opDashboard = "dashboard (totals + template statistics)"
)

// judge checks the targets against the cells; a target whose figures were not
// measured is printed unjudged.
func judge(cells []cell) []verdict {
	find := func(op string, clients int) (n, p, floor summary, okP, okFloor bool) {
		for _, c := range cells {
			if c.operation == op && c.clients == clients {
				n, _ = summarise(c.notifyql)
				p, okP = summarise(c.postgraphile)
				floor, okFloor = summarise(c.floor)
				return n, p, floor, okP, okFloor
			}
		}
		return summary{}, summary{}, summary{}, false, false
	}
	var out []verdict
	for _, op := range []string{opByID, opPage} {
		if n, p, _, ok, _ := find(op, 1); ok {
			out = append(out, verdict{operation: op, clients: 1, target: "p50 ≤ PostGraphile's",
				measured: fmt.Sprintf("%s vs %s", formatLatency(n.P50), formatLatency(p.P50)),
				met:      n.P50 <= p.P50, judged: true})
		}
	}
	byID := verdict{operation: opByID, clients: 1, target: "p50 ≤ 0.5 ms above the SQL alone", measured: "not measured"}
	if n, _, f, _, ok := find(opByID, 1); ok {
		byID.measured = fmt.Sprintf("%s vs the SQL's %s", formatLatency(n.P50), formatLatency(f.P50))
		byID.met, byID.judged = n.P50 <= f.P50+500*time.Microsecond, true
	}
	out = append(out, byID)
	for _, op := range []string{opPage, opByID} {
		for _, clients := range []int{16, 64} {
			n, p, _, ok, _ := find(op, clients)
			if !ok {
				continue
			}
			out = append(out, verdict{operation: op, clients: clients, target: "throughput ≥ 1.5× PostGraphile's",
				measured: fmt.Sprintf("%s vs %s rps (%.2f×)", formatRate(n.RPS), formatRate(p.RPS), n.RPS/p.RPS),
				met:      n.RPS >= 1.5*p.RPS, judged: true})
			out = append(out, verdict{operation: op, clients: clients, target: "p99 no worse than PostGraphile's",
				measured: fmt.Sprintf("%s vs %s", formatLatency(n.P99), formatLatency(p.P99)),
				met:      n.P99 <= p.P99, judged: true})
		}
	}
	dashboard := verdict{operation: opDashboard, clients: 1, target: "p50 ≤ 1.2× its SQL alone under custom plans", measured: "not measured"}
	if n, _, f, _, ok := find(opDashboard, 1); ok {
		dashboard.measured = fmt.Sprintf("%s vs the SQL's %s (%.2f×)", formatLatency(n.P50), formatLatency(f.P50), float64(n.P50)/float64(f.P50))
		dashboard.met, dashboard.judged = float64(n.P50) <= 1.2*float64(f.P50), true
	}
	return append(out, dashboard)
}

func writeTargets(w io.Writer, verdicts []verdict) {
	fmt.Fprintln(w, "| operation | clients | target | measured (notifyql vs the other) | |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, v := range verdicts {
		result := "not judged"
		if v.judged {
			result = "missed"
			if v.met {
				result = "met"
			}
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", v.operation, v.clients, v.target, v.measured, result)
	}
}
