package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func TestSummariseTakesEachFiguresMedian(t *testing.T) {
	s, ok := summarise([]measurement{
		{P50: ms(3), P99: ms(10), RPS: 300, Failed: 1},
		{P50: ms(1), P99: ms(30), RPS: 100},
		{P50: ms(2), P99: ms(20), RPS: 500, Failed: 2},
	})
	want := summary{P50: ms(2), P99: ms(20), RPS: 300, Failed: 3}
	if !ok || s != want {
		t.Errorf("summarise = %+v, %t; want %+v", s, ok, want)
	}
	if s, ok := summarise([]measurement{{P50: ms(1), RPS: 100}, {P50: ms(3), RPS: 200}}); !ok || s.P50 != ms(2) || s.RPS != 150 {
		t.Errorf("an even count's median = %+v, want the mean of the middle two", s)
	}
	if _, ok := summarise(nil); ok {
		t.Error("no runs summarised")
	}
}

func TestTableShowsRatiosAndDashesWithoutPostGraphile(t *testing.T) {
	var b strings.Builder
	writeTable(&b, []cell{
		{operation: opPage, clients: 16,
			notifyql:     []measurement{{P50: ms(10), P99: ms(40), RPS: 1500}},
			postgraphile: []measurement{{P50: ms(20), P99: ms(30), RPS: 1000}},
			floor:        []measurement{{P50: ms(4), P99: ms(8), RPS: 4000}}},
		{operation: opDashboard, clients: 1, notifyql: []measurement{{P50: ms(6.34), P99: ms(9.7), RPS: 151}}},
	})
	out := b.String()
	for _, want := range []string{
		"| " + opPage + " | 16 | 10.0 ms / 40.0 ms / 1,500 | 20.0 ms / 30.0 ms / 1,000 | 1.50× | 0.50× | 4.00 ms |",
		"| " + opDashboard + " | 1 | 6.34 ms / 9.70 ms / 151 | — | — | — | — |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestJudgeAppliesTheIssuesTargets(t *testing.T) {
	cells := []cell{
		{operation: opByID, clients: 1,
			notifyql:     []measurement{{P50: ms(0.5), P99: ms(2), RPS: 2000}},
			postgraphile: []measurement{{P50: ms(0.6), P99: ms(2), RPS: 1600}},
			floor:        []measurement{{P50: ms(0.2), P99: ms(1), RPS: 5000}}},
		{operation: opPage, clients: 1,
			notifyql:     []measurement{{P50: ms(7), P99: ms(9), RPS: 140}},
			postgraphile: []measurement{{P50: ms(2), P99: ms(5), RPS: 400}}},
		{operation: opDashboard, clients: 1,
			notifyql: []measurement{{P50: ms(18), P99: ms(25), RPS: 56}},
			floor:    []measurement{{P50: ms(11.1), P99: ms(15), RPS: 90}}},
		{operation: opPage, clients: 64,
			notifyql:     []measurement{{P50: ms(30), P99: ms(50), RPS: 1500}},
			postgraphile: []measurement{{P50: ms(80), P99: ms(60), RPS: 1000}}},
	}
	got := map[string]verdict{}
	for _, v := range judge(cells) {
		got[fmt.Sprintf("%s/%s/%d", v.operation, v.target, v.clients)] = v
	}
	for key, want := range map[string]struct{ judged, met bool }{
		opByID + "/p50 ≤ PostGraphile's/1":                             {true, true},
		opPage + "/p50 ≤ PostGraphile's/1":                             {true, false},
		opPage + "/throughput ≥ 1.5× PostGraphile's/64":                {true, true},
		opPage + "/p99 no worse than PostGraphile's/64":                {true, true},
		opByID + "/p50 ≤ 0.5 ms above the SQL alone/1":                 {true, true},
		opDashboard + "/p50 ≤ 1.2× its SQL alone under custom plans/1": {true, false},
	} {
		v, ok := got[key]
		if !ok {
			t.Errorf("no verdict %s", key)
			continue
		}
		if v.judged != want.judged || v.met != want.met {
			t.Errorf("%s: judged %t met %t, want %t %t (%s)", key, v.judged, v.met, want.judged, want.met, v.measured)
		}
	}
	if len(got) != 6 {
		t.Errorf("%d verdicts for cells at 1 and 64 clients, want 6: %v", len(got), got)
	}
}

func TestFormatRate(t *testing.T) {
	for in, want := range map[float64]string{125: "125", 1373.4: "1,373", 1234567: "1,234,567"} {
		if got := formatRate(in); got != want {
			t.Errorf("formatRate(%v) = %q, want %q", in, got, want)
		}
	}
}
