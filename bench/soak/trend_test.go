package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

// series makes n samples every 10 s of base + rise·(i/(n-1)) + noise.
func series(n int, base, rise float64, noise func(i int) float64) (t, y []float64) {
	for i := range n {
		t = append(t, float64(10*i))
		y = append(y, base+rise*float64(i)/float64(n-1)+noise(i))
	}
	return t, y
}

func TestFitTrendJudgesLeaksAndNoise(t *testing.T) {
	heap := limit{floor: 8 << 20, tolerance: 0.20}
	goroutines := limit{floor: 50, tolerance: 0.10}
	rng := rand.New(rand.NewPCG(1, 2))
	gauss := func(sd float64) func(int) float64 { return func(int) float64 { return rng.NormFloat64() * sd } }
	none := func(int) float64 { return 0 }
	cases := []struct {
		name       string
		l          limit
		base, rise float64
		noise      func(int) float64
		rising     bool
	}{
		{"flat goroutines", goroutines, 620, 0, none, false},
		{"goroutines with requests in flight", goroutines, 620, 0, gauss(8), false},
		{"a goroutine leaked per query", goroutines, 620, 4800, gauss(8), true},
		{"a slow goroutine leak, 20% over the window", goroutines, 620, 124, gauss(8), true},
		{"a rise below the floor", goroutines, 620, 40, none, false},
		{"heap sawtooth around 40 MiB", heap, 40 << 20, 0, func(i int) float64 { return float64(i%5) * (4 << 20) }, false},
		{"heap noise of 15%", heap, 40 << 20, 0, gauss(6 << 20), false},
		{"heap growing 16 MiB over the window", heap, 40 << 20, 16 << 20, gauss(2 << 20), true},
		{"heap growing 16 MiB in noise of 15%: 48 samples make it plain", heap, 40 << 20, 16 << 20, gauss(6 << 20), true},
		{"a falling series", goroutines, 620, -300, gauss(8), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, ys := series(48, c.base, c.rise, c.noise)
			tr, err := fitTrend(ts, ys, c.l)
			if err != nil {
				t.Fatal(err)
			}
			if tr.rising != c.rising {
				t.Errorf("rising %v, want %v (growth %.0f ± %.0f, allowance %.0f)", tr.rising, c.rising, tr.growth, tr.growthStdErr, tr.allowance)
			}
		})
	}
}

// A single spike at the end tilts the line past the allowance; the significance test is
// what keeps it from counting as a leak.
func TestFitTrendSpikeIsNotATrend(t *testing.T) {
	ts, ys := series(48, 620, 0, func(i int) float64 {
		if i == 47 {
			return 600
		}
		return 0
	})
	tr, err := fitTrend(ts, ys, limit{floor: 50, tolerance: 0.10})
	if err != nil {
		t.Fatal(err)
	}
	if tr.growth <= tr.allowance {
		t.Fatalf("growth %.0f within the allowance %.0f: the case no longer tests significance", tr.growth, tr.allowance)
	}
	if tr.rising {
		t.Errorf("a single spike judged rising (growth %.0f ± %.0f, allowance %.0f)", tr.growth, tr.growthStdErr, tr.allowance)
	}
}

func TestFitTrendFindsTheLine(t *testing.T) {
	ts, ys := series(10, 100, 90, func(int) float64 { return 0 })
	tr, err := fitTrend(ts, ys, limit{floor: 1})
	if err != nil {
		t.Fatal(err)
	}
	// 90 over 90 s: 1 a second.
	if math.Abs(tr.slope-1) > 1e-9 || math.Abs(tr.growth-90) > 1e-9 || tr.growthStdErr > 1e-9 || tr.mean != 145 {
		t.Errorf("slope %v growth %v ± %v mean %v, want 1, 90 ± 0, 145", tr.slope, tr.growth, tr.growthStdErr, tr.mean)
	}
	if !tr.rising {
		t.Error("an exact line rising past its floor is not judged rising")
	}
}

func TestFitTrendRefusesTooLittle(t *testing.T) {
	for _, c := range []struct {
		name string
		t, y []float64
	}{
		{"two samples", []float64{0, 10}, []float64{1, 2}},
		{"mismatched", []float64{0, 10, 20}, []float64{1, 2}},
		{"one instant", []float64{5, 5, 5}, []float64{1, 2, 3}},
	} {
		if _, err := fitTrend(c.t, c.y, limit{}); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
