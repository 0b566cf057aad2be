package canary

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The reasons' fast number formatting writes exactly what strconv
// writes, for the values the judge meets (rates, e-values, thresholds,
// seconds) and at the edges: ties, the boundaries between formats,
// values that round up a digit.
func TestFormatMatchesStrconv(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, 0.1, 0.09999999999999999, 0.10000000000000002, 0.125, 0.135, 0.145, 0.15, 0.25, 0.5, 0.95,
		0.995, 0.9949999999999999, 0.99999, 1.05, 1.25, 1.35, 2.5, 9.95, 9.949999999999999, 9.96, 9.999, 10, 10.5, 11.5, 12.5, 99.5, 119.5, 119.6,
		999999.5, 1e6, 1e9, 1e12, 1e-7, 0.0001, 0.00105, 0.0125, 0.0995, 0.5e-3, 7.5e-4, 1e300, 99.95, 99.94999999999999, 9.995, 9.985, 1.005, 10.05, 30.1, 67.6, -1, -0.5, math.Inf(1), math.NaN(), 400, 800, 40, 20}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 50000 {
		// Log-uniform from 1e-8 to 1e8, and rates and e-values near the
		// formats' rounding points (k/2000 lies on a tie of 'f', 3 in
		// percent: the fast path must hand ties to strconv).
		vals = append(vals, math.Exp(rng.Float64()*36.8-18.4), rng.Float64(), float64(rng.IntN(200000))/2000, float64(rng.IntN(20000))/20)
	}
	for _, v := range vals {
		for prec := range 4 {
			if got, want := string(appendFixed(nil, v, prec)), strconv.FormatFloat(v, 'f', prec, 64); got != want {
				t.Fatalf("appendFixed(%v, %d) = %q, strconv %q", v, prec, got, want)
			}
		}
		if got, want := string(appendG2(nil, v)), strconv.FormatFloat(v, 'g', 2, 64); got != want {
			t.Fatalf("appendG2(%v) = %q, strconv %q", v, got, want)
		}
		for _, x := range []float64{v, 10 * v, 100 * v} {
			if got, want := string(appendG3(nil, x)), strconv.FormatFloat(x, 'g', 3, 64); got != want {
				t.Fatalf("appendG3(%v) = %q, strconv %q", x, got, want)
			}
		}
		if v >= 0 {
			want := strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
			switch {
			case v == 0:
				want = "0%"
			case v < 0.001:
				want = strconv.FormatFloat(100*v, 'f', 3, 64) + "%"
			case v < 0.1:
				want = strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
			}
			if got := pct(v); got != want {
				t.Fatalf("pct(%v) = %q, want %q", v, got, want)
			}
		}
		want := strconv.FormatFloat(v, 'g', 2, 64)
		if v >= 1e6 {
			want = strconv.FormatFloat(v, 'g', 3, 64)
		} else if v >= 10 {
			want = strconv.FormatFloat(v, 'f', 0, 64)
		}
		if got := num(v); got != want {
			t.Fatalf("num(%v) = %q, want %q", v, got, want)
		}
	}
	for _, n := range []int64{0, 7, 999, 1000, 2310, -2310, 1234567, math.MaxInt64, math.MinInt64} {
		s := strconv.FormatInt(n, 10)
		neg := s[0] == '-'
		if neg {
			s = s[1:]
		}
		var want []byte
		for i := range len(s) {
			if i > 0 && (len(s)-i)%3 == 0 {
				want = append(want, ',')
			}
			want = append(want, s[i])
		}
		if neg {
			want = append([]byte{'-'}, want...)
		}
		if got := thousands(n); got != string(want) {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// plain8 agrees with the byte-by-byte test on every kind of byte, at
// every position, and next to bytes that borrow in the word's arithmetic.
func TestPlain8(t *testing.T) {
	special := []byte{0, 1, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 0x7e, 0x7f, 0x80, 0x81, 0xc3, 0xff, 'a', 'Z', '0'}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		var w [8]byte
		for i := range w {
			if rng.IntN(3) == 0 {
				w[i] = special[rng.IntN(len(special))]
			} else {
				w[i] = byte(rng.IntN(256))
			}
		}
		want := true
		for _, c := range w {
			if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
				want = false
			}
		}
		if got := plain8(string(w[:])); got != want {
			t.Fatalf("plain8(%q) = %v, want %v", w, got, want)
		}
	}
}

// constNum writes what num writes, from its cache or not: values that
// collide in it, values asked again, from judgements running at once.
func TestConstNumMatchesNum(t *testing.T) {
	vals := []float64{0, 0.01, 0.0025, 0.05, 0.2, 67.6, 81.12, 1e-300, 3e20, math.Copysign(0, -1), 400}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		vals = append(vals, rng.Float64(), math.Exp(rng.Float64()*80-40))
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			for pass := range 3 {
				for i := range vals {
					v := vals[(i*(g+1)+pass)%len(vals)]
					c, n := jw{}, jw{}
					c.constNum("k", v)
					n.num("k", v)
					if string(c.b) != string(n.b) {
						done <- fmt.Errorf("constNum(%v) = %s, num %s", v, c.b, n.b)
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// exp0 skips math.Exp at 0 on the ground that its exponential is exactly
// 1; the log-sum-exps stay bit for bit what they were only if so.
func TestExpOfZeroIsOne(t *testing.T) {
	for _, z := range []float64{0, math.Copysign(0, -1)} {
		if math.Exp(z) != 1 || exp0(z) != 1 {
			t.Fatalf("exp(%v) = %v", z, math.Exp(z))
		}
	}
}

// An analysis's evidence encoder writes what appendJSON writes, judgement
// after judgement, as the settings and the descriptions it keeps change
// under it.
func TestEvidenceEncoderMatchesAppendJSON(t *testing.T) {
	var evs []Evidence
	for _, cfg := range []Config{{}, {Tolerance: 0.2, Objectives: Objectives{ErrorRate: 0.004}}, {Objectives: Objectives{ErrorRate: 0.01, LatencyP99Ms: 300}}} {
		for _, n := range []int{0, 5, 400} {
			evs = append(evs, run(cfg, 10, tick{Counts{Requests: 900, Errors: 2, Slow: 9}, Counts{Requests: 100, Errors: 1, Slow: 2}}, n).Finish().Evid)
		}
	}
	// Changed in place between judgements: a setting, the start, a
	// description rewritten with the same length, a claim.
	moved := evs[len(evs)-1]
	moved.Alpha, moved.Since = 0.02, moved.Since.Add(time.Second)
	moved.Metrics = append([]MetricEvid(nil), moved.Metrics...)
	moved.Metrics[0].Test = strings.Replace(moved.Metrics[0].Test, "a", "b", 1)
	moved.Proofs = append([]ProofEvid(nil), moved.Proofs...)
	moved.Proofs[0].Claim = "p95 latency \"quoted\" <= 10 ms, a claim long enough to be kept"
	evs = append(evs, moved, evs[0], moved)
	var enc evidenceEnc
	for pass := range 3 {
		for i, ev := range evs {
			if got, want := ev.appendJSONVia(nil, &enc), ev.appendJSON(nil); string(got) != string(want) {
				t.Fatalf("pass %d, evidence %d:\n%s\nwant\n%s", pass, i, got, want)
			}
		}
	}
}
