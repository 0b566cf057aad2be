package canary

import (
	"math"
	"time"

	"github.com/warroom/warroom/core/model"
)

// Defaults of the regressions a service tolerates: what a canary must be
// proved not to exceed before it is promoted.
const (
	// DefaultErrorTolerance is the largest error-rate increase tolerated,
	// absolute: 0.005 is +0.5 percentage points over the baseline.
	DefaultErrorTolerance = 0.005
	// DefaultLatencyTolerance is the largest increase of the p95 latency
	// tolerated, relative: 0.2 is +20 %.
	DefaultLatencyTolerance = 0.2
	// DefaultBeta bounds the probability of promoting a canary whose
	// regression is at least the tolerance.
	DefaultBeta = 0.05
	// ToleranceQuantile is the quantile the latency tolerance is about.
	ToleranceQuantile = 0.95
)

// Objectives are the SLO a canary is tested against on its own, beside
// the baseline (zero fields: no such test).
type Objectives struct {
	// ErrorRate is the largest error rate the SLO allows: 1 - availability.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// LatencyP99Ms is the SLO's 99th percentile latency in milliseconds.
	LatencyP99Ms float64 `json:"latency_p99_ms,omitempty"`
}

// FromSLO derives a service's canary settings from its SLO: the
// objectives of the SLO-anchored tests, and the error tolerance, which is
// the SLO's error budget rate (1 - availability) but never below
// DefaultErrorTolerance: a smaller regression takes more traffic to rule
// out than a canary step usually gets, and one that breaks the objective
// is caught by the SLO test anyway. The latency tolerance is
// DefaultLatencyTolerance. The rest of cfg is kept.
func FromSLO(cfg Config, slo model.SLO) Config {
	if slo.Availability > 0 && slo.Availability < 100 {
		cfg.Objectives.ErrorRate = 1 - slo.Availability/100
		if cfg.ErrorTolerance == 0 {
			cfg.ErrorTolerance = max(DefaultErrorTolerance, cfg.Objectives.ErrorRate)
		}
	}
	if d := time.Duration(slo.LatencyP99); d > 0 {
		cfg.Objectives.LatencyP99Ms = float64(d) / float64(time.Millisecond)
	}
	return cfg
}

// Traffic is what a plan expects of a canary step, for BakeNeeded.
type Traffic struct {
	// CanaryRPS is the canary's expected requests per second at the step's
	// weight.
	CanaryRPS float64
	// BaseErrorRate is the baseline's error rate (0..1).
	BaseErrorRate float64
	// BaseRPS is the baseline's requests per second during the step (0:
	// no baseline, as at the 100 % step; the pre-deployment baseline is
	// then taken as known).
	BaseRPS float64
	// LatencySigma is the log-standard deviation of the latency
	// distribution, taken as log-normal (0: 0.5, a typical service).
	LatencySigma float64
}

// BakeNeeded is the bake time a healthy canary (error rate and latency
// those of the baseline) needs before the judge can prove both
// tolerances, with cfg's tolerances and beta, at the traffic expected: the
// time the proofs' e-values reach their thresholds when fed the expected
// counts, second by second, by the same code the judge runs. It returns
// false when the proof is not reached within max.
func BakeNeeded(cfg Config, tr Traffic, max time.Duration) (time.Duration, bool) {
	cfg = cfg.withDefaults()
	if tr.CanaryRPS <= 0 {
		return 0, false
	}
	sigma := tr.LatencySigma
	if sigma <= 0 {
		sigma = 0.5
	}
	// The share of a healthy canary's requests above (1 + tolerance) x
	// the p95: P(Z > z95 + ln(1 + tol)/sigma) for log-normal latency.
	z95 := 1.6448536269514722
	exceed := 0.5 * math.Erfc((z95+math.Log1p(cfg.LatencyTolerance)/sigma)/math.Sqrt2)
	errProof, latProof := NewDownwardTest(), NewDownwardTest()
	thrErr, thrLat := math.Log(2/cfg.Beta), math.Log(1/cfg.Beta)
	var baseN, baseX float64
	const step = 10 // s
	for t := step; time.Duration(t)*time.Second <= max; t += step {
		nc := tr.CanaryRPS * step
		lb := tr.BaseErrorRate
		if tr.BaseRPS > 0 {
			baseN += tr.BaseRPS * step
			baseX += tr.BaseRPS * step * tr.BaseErrorRate
			lb = LowerBound(baseX, baseN, cfg.Beta/2)
		}
		errProof.Update(nc, nc*tr.BaseErrorRate, min(lb+cfg.ErrorTolerance, 0.5), 1)
		latProof.Update(nc, nc*exceed, 1-ToleranceQuantile, 1)
		if errProof.LogE() >= thrErr && latProof.LogE() >= thrLat {
			return time.Duration(t) * time.Second, true
		}
	}
	return max, false
}
