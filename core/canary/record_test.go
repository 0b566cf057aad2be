package canary

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

type recorded struct {
	run     string
	step    int
	samples []Sample
}

type fakeRecorder struct {
	got []recorded
	err error
}

func (f *fakeRecorder) Record(_ context.Context, run string, step int, s []Sample) error {
	f.got = append(f.got, recorded{run, step, append([]Sample(nil), s...)})
	return f.err
}

// ticks are observations one second apart: the baseline serves 90
// requests a second with 1 error, the canary 10 with 1 error, from t0.
func ticks(n int) []Observation {
	var out []Observation
	for i := range n {
		k := int64(i)
		out = append(out, Observation{At: t0.Add(time.Duration(i) * time.Second),
			Baseline: Counts{Requests: 1000 + 90*k, Errors: k}, Canary: Counts{Requests: 10 * k, Errors: k},
			BaselineP99Ms: 120, CanaryP99Ms: 180 + float64(i)})
	}
	return out
}

func TestJudgeRecordsSamples(t *testing.T) {
	rec := &fakeRecorder{}
	j := NewJudge(&fakeSource{obs: ticks(15)}, Config{}, nil, WithRecorder(rec, nil))
	req := deploy.CanaryRequest{RunID: "r1", Step: 4, Weight: 10, Since: t0}
	for range 15 {
		if _, err := j.Judge(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	// The first observation is only the reference.
	if len(rec.got) != 14 {
		t.Fatalf("%d batches recorded, want 14", len(rec.got))
	}
	for _, r := range rec.got {
		if r.run != "r1" || r.step != 4 || len(r.samples) != 2 ||
			r.samples[0].Cohort != CohortBaseline || r.samples[1].Cohort != CohortCanary {
			t.Fatalf("batch %+v", r)
		}
	}
	tests := []struct {
		name  string
		batch int
		want  [2]Sample
	}{
		// one second after the first observation: the interval is 1 s
		{"first interval", 0, [2]Sample{
			{At: t0.Add(time.Second), Cohort: CohortBaseline, RPS: 90, ErrorRate: 1.0 / 90, P99Ms: 120},
			{At: t0.Add(time.Second), Cohort: CohortCanary, RPS: 10, ErrorRate: 0.1, P99Ms: 181}}},
		// at 14 s the window reaches back to 4 s: 10 s of traffic
		{"full window", 13, [2]Sample{
			{At: t0.Add(14 * time.Second), Cohort: CohortBaseline, RPS: 90, ErrorRate: 10.0 / 900, P99Ms: 120},
			{At: t0.Add(14 * time.Second), Cohort: CohortCanary, RPS: 10, ErrorRate: 0.1, P99Ms: 194}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := rec.got[tc.batch].samples
			for i := range 2 {
				g, w := got[i], tc.want[i]
				if !g.At.Equal(w.At) || g.Cohort != w.Cohort || !near(g.RPS, w.RPS) || !near(g.ErrorRate, w.ErrorRate) || g.P99Ms != w.P99Ms {
					t.Errorf("sample %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
	if n := len(j.states[stepKey{"r1", 4}].trail.obs); n != 11 {
		t.Errorf("trail keeps %d observations, want 11 (10 s at 1 s and the interval's start)", n)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestTrailEdges(t *testing.T) {
	var tr trail
	o := Observation{At: t0, Baseline: Counts{Requests: 500, Errors: 5}, Canary: Counts{Requests: 50}}
	if s := tr.add(o, 10*time.Second); s != nil {
		t.Fatalf("first observation gave %+v", s)
	}
	// Counters reset (a restarted instance): the new count is the delta.
	// No requests: error rate 0, not NaN.
	o2 := Observation{At: t0.Add(2 * time.Second), Baseline: Counts{Requests: 20, Errors: 2}, Canary: Counts{Requests: 50}}
	s := tr.add(o2, 10*time.Second)
	if len(s) != 2 || s[0].RPS != 10 || s[0].ErrorRate != 0.1 || s[1].RPS != 0 || s[1].ErrorRate != 0 || s[1].P99Ms != 0 {
		t.Fatalf("after reset: %+v", s)
	}
	// Same instant twice: the window still reaches back to the first.
	if s := tr.add(o2, 10*time.Second); len(s) != 2 || s[0].RPS != 10 {
		t.Fatalf("repeated instant gave %+v", s)
	}
	var tr2 trail
	tr2.add(o, 10*time.Second)
	if s := tr2.add(o, 10*time.Second); s != nil {
		t.Fatalf("zero interval gave %+v", s)
	}
	// A clock step back restarts the trail.
	if s := tr.add(Observation{At: t0}, 10*time.Second); s != nil || len(tr.obs) != 1 {
		t.Fatalf("clock back: %+v, trail %d", s, len(tr.obs))
	}
}

func TestRecorderErrorKeepsVerdict(t *testing.T) {
	judge := func(rec Recorder, onErr func(error)) []deploy.Judgement {
		var opts []Option
		if rec != nil {
			opts = append(opts, WithRecorder(rec, onErr))
		}
		j := NewJudge(&fakeSource{obs: ticks(6)}, Config{}, nil, opts...)
		req := deploy.CanaryRequest{RunID: "r1", Step: 1, Weight: 10, Since: t0, BakeEnds: t0.Add(5 * time.Second)}
		var out []deploy.Judgement
		for range 6 {
			jm, err := j.Judge(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, jm)
		}
		return out
	}
	want := judge(nil, nil)
	var errs []error
	got := judge(&fakeRecorder{err: errors.New("disk full")}, func(err error) { errs = append(errs, err) })
	for i := range want {
		if got[i].Verdict != want[i].Verdict || got[i].Reason != want[i].Reason || string(got[i].Evidence) != string(want[i].Evidence) {
			t.Errorf("judgement %d with a failing recorder %+v, without %+v", i, got[i], want[i])
		}
	}
	if len(errs) != 5 || errs[0].Error() != "canary judge: recording samples of run r1 step 1: disk full" {
		t.Errorf("errors reported: %v", errs)
	}
	// Without an error callback a failure is ignored.
	judge(&fakeRecorder{err: errors.New("disk full")}, nil)
}
