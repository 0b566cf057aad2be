package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// BenchSet is Go benchmark output: every run's value of every unit of
// every benchmark, as benchstat needs them.
type BenchSet struct {
	// Samples maps a benchmark ("pkg.Name/sub-8", pkg when the output
	// says it) to its units, each with one value per run.
	Samples map[string]map[string][]float64
	units   benchfmt.UnitMetadataMap
}

// readGoBench reads `go test -bench` output with golang.org/x/perf/benchfmt,
// which streams it line by line and tidies units (ns/op becomes sec/op).
func readGoBench(ctx context.Context, r io.Reader, name string) (*Reading, error) {
	br := benchfmt.NewReader(r, name)
	set := &BenchSet{Samples: map[string]map[string][]float64{}}
	n := 0
	for br.Scan() {
		if n++; n%checkEvery == 0 {
			if err := ctxErr(ctx, name); err != nil {
				return nil, err
			}
		}
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			_, line := rec.Pos()
			return nil, &Error{File: name, Line: line, Col: 1, Msg: "malformed benchmark line: " + rec.Msg, Err: rec,
				Hint: `benchmark lines read "BenchmarkName-8  1000  1234 ns/op  56 B/op" (go test -bench . -count 10)`}
		case *benchfmt.Result:
			key := rec.Name.String()
			if pkg := rec.GetConfig("pkg"); pkg != "" {
				key = pkg + "." + key
			}
			units := set.Samples[key]
			if units == nil {
				units = map[string][]float64{}
				set.Samples[key] = units
			}
			for _, v := range rec.Values {
				units[v.Unit] = append(units[v.Unit], v.Value)
			}
		}
	}
	if err := br.Err(); err != nil {
		var le *Error
		if errors.As(err, &le) {
			return nil, le
		}
		return nil, &Error{File: name, Msg: "reading benchmark output: " + err.Error(), Err: err,
			Hint: "give the output of go test -bench"}
	}
	if len(set.Samples) == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "no benchmark results",
			Hint: "give the output of go test -bench . -count 10 (lines starting with Benchmark)"}
	}
	set.units = br.Units()
	return &Reading{Format: FormatGoBench, Benchmarks: set}, nil
}

// BenchDelta is one benchmark's unit compared between baseline and new.
type BenchDelta struct {
	Benchmark, Unit string
	Old, New        float64 // centres (medians)
	// Regression is how much worse the new centre is, in percent
	// (negative: better).
	Regression  float64
	P           float64 // p-value of the test that they differ
	Significant bool    // P below alpha (0.05): the change is not noise
}

// Compare compares new with baseline as benchstat does: per benchmark and
// unit present in both, the medians' change, and a Mann-Whitney U test
// (benchmath.AssumeNothing, or exact where the unit says so) of whether the
// samples differ at alpha 0.05. Units whose direction is unknown (custom
// metrics without "better" metadata) are left out. With fewer than 4
// runs on each side no change can be significant: run -count 10.
func Compare(baseline, new *BenchSet) []BenchDelta {
	var out []BenchDelta
	names := make([]string, 0, len(new.Samples))
	for n := range new.Samples {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, bench := range names {
		old, ok := baseline.Samples[bench]
		if !ok {
			continue
		}
		units := make([]string, 0, len(new.Samples[bench]))
		for u := range new.Samples[bench] {
			units = append(units, u)
		}
		sort.Strings(units)
		for _, unit := range units {
			ov, ok := old[unit]
			if !ok {
				continue
			}
			better := new.units.GetBetter(unit)
			if better == 0 {
				better = baseline.units.GetBetter(unit)
			}
			if better == 0 {
				continue
			}
			assume := new.units.GetAssumption(unit)
			thr := &benchmath.DefaultThresholds
			s1 := benchmath.NewSample(append([]float64(nil), ov...), thr)
			s2 := benchmath.NewSample(append([]float64(nil), new.Samples[bench][unit]...), thr)
			c := assume.Compare(s1, s2)
			o, n := assume.Summary(s1, 0.95).Center, assume.Summary(s2, 0.95).Center
			d := BenchDelta{Benchmark: bench, Unit: unit, Old: o, New: n, P: c.P, Significant: c.P < c.Alpha}
			switch {
			case o == n:
			case o == 0: // from nothing: worse when the unit should be low
				d.Regression = math.Inf(1)
				if (better < 0) != (n > 0) {
					d.Regression = math.Inf(-1)
				}
			case better < 0:
				d.Regression = (n/o - 1) * 100
			default:
				d.Regression = (1 - n/o) * 100
			}
			out = append(out, d)
		}
	}
	return out
}

func (d BenchDelta) String() string {
	return fmt.Sprintf("%s %s %+.1f %% (p=%.3f)", d.Benchmark, d.Unit, d.Regression, d.P)
}
