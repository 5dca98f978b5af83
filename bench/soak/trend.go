package main

import (
	"fmt"
	"math"
)

// A limit says how much a series may rise over the judged window before the rise counts as
// a leak: the larger of an absolute floor (what its normal jitter can reach: a few
// goroutines of requests in flight, a GC cycle's worth of heap) and a fraction of its mean.
type limit struct {
	floor     float64
	tolerance float64 // of the mean
}

// allowance is the rise the limit admits for a series with this mean.
func (l limit) allowance(mean float64) float64 {
	return max(l.floor, l.tolerance*mean)
}

// significance is how many standard errors the fitted rise must be above zero to count:
// at 3, a series with no trend at all passes about 999 times in 1000 even with noise.
const significance = 3

// trend is the least-squares line through a series' judged samples and the verdict on it.
type trend struct {
	n                 int
	mean              float64
	slope             float64 // units a second
	growth            float64 // the line's rise over the judged window: slope × its length
	growthStdErr      float64 // the standard error of growth
	allowance         float64
	rising            bool // growth > allowance and growth > significance × growthStdErr
	firstHalf, second float64
}

// fitTrend fits y = a + b·t by least squares (t in seconds) and judges the rise: a series
// is rising when the line's growth over the window is both material (above the limit's
// allowance) and significant (at least `significance` standard errors of the slope, so
// that a single spike or a GC sawtooth, which widens the residuals, cannot pass for a
// leak). The half means are printed beside it, for the reader. It needs three samples.
func fitTrend(t, y []float64, l limit) (trend, error) {
	n := len(t)
	if n != len(y) {
		return trend{}, fmt.Errorf("fit trend: %d times for %d values", n, len(y))
	}
	if n < 3 {
		return trend{}, fmt.Errorf("fit trend: %d samples, want at least 3", n)
	}
	var tMean, yMean float64
	for i := range n {
		tMean += t[i]
		yMean += y[i]
	}
	tMean /= float64(n)
	yMean /= float64(n)
	var sxx, sxy float64
	for i := range n {
		sxx += (t[i] - tMean) * (t[i] - tMean)
		sxy += (t[i] - tMean) * (y[i] - yMean)
	}
	if sxx == 0 {
		return trend{}, fmt.Errorf("fit trend: every sample at the same time")
	}
	slope := sxy / sxx
	intercept := yMean - slope*tMean
	var ssr float64
	for i := range n {
		r := y[i] - (intercept + slope*t[i])
		ssr += r * r
	}
	span := t[n-1] - t[0]
	tr := trend{n: n, mean: yMean, slope: slope, growth: slope * span,
		growthStdErr: math.Sqrt(ssr/float64(n-2)/sxx) * span, allowance: l.allowance(yMean)}
	tr.rising = tr.growth > tr.allowance && tr.growth > significance*tr.growthStdErr
	half := n / 2
	tr.firstHalf, tr.second = meanOf(y[:half]), meanOf(y[n-half:])
	return tr, nil
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
