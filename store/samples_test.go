package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/store"
)

func samplesStore(t testing.TB) *store.Store {
	t.Helper()
	s := openStore(t, dbPath(t))
	if err := s.CreateRun(context.Background(), testRun("run-1"), deploy.Audit{Actor: "alice", Command: "deploy start", Summary: "started"}); err != nil {
		t.Fatal(err)
	}
	return s
}

var s0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// pair is both cohorts' samples at s0 + sec seconds.
func pair(sec int, baseRPS, canRPS, canP99 float64) []store.Sample {
	at := s0.Add(time.Duration(sec) * time.Second)
	return []store.Sample{
		{At: at, Cohort: canary.CohortBaseline, RPS: baseRPS, ErrorRate: 0.001, P99Ms: 120},
		{At: at, Cohort: canary.CohortCanary, RPS: canRPS, ErrorRate: 0.02, P99Ms: canP99},
	}
}

func TestSamplesRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := samplesStore(t)
	var all []store.Sample
	for i := range 5 {
		b := pair(i, 90+float64(i), 10, 150+float64(i))
		if i == 2 {
			b[1].P99Ms = 0 // unknown: no row, read back as 0
		}
		if err := s.AppendSamples(ctx, "run-1", 2, b); err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	// Another step's samples stay apart.
	if err := s.AppendSamples(ctx, "run-1", 3, pair(1, 1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		since time.Time
		limit int
		want  []store.Sample
	}{
		{"all", time.Time{}, 0, all},
		{"since", s0.Add(3 * time.Second), 0, all[6:]},
		{"newest three, oldest first", time.Time{}, 3, all[7:]},
		{"since and limit", s0.Add(time.Second), 4, all[6:]},
		{"nothing yet", s0.Add(time.Hour), 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.CanarySamples(ctx, "run-1", 2, tc.since, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	// Rows: three metrics per sample, two for the unknown p99.
	var n int
	if err := rawDB(t, s.Path()).QueryRow(`SELECT count(*) FROM metric_samples WHERE step_idx = 2`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 29 {
		t.Errorf("%d rows, want 29", n)
	}
}

func TestAppendSamplesRefused(t *testing.T) {
	ctx := context.Background()
	s := samplesStore(t)
	if err := s.AppendSamples(ctx, "run-1", 9, pair(0, 1, 1, 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown step: %v", err)
	}
	if err := s.AppendSamples(ctx, "run-2", 1, pair(0, 1, 1, 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
	bad := pair(0, 1, 1, 1)
	bad[1].Cohort = "green"
	if err := s.AppendSamples(ctx, "run-1", 1, bad); err == nil {
		t.Error("unknown cohort accepted")
	}
	// A refused batch writes nothing, not even its valid part.
	if got, _ := s.CanarySamples(ctx, "run-1", 1, time.Time{}, 0); len(got) != 0 {
		t.Errorf("refused batch left %+v", got)
	}
	if err := s.AppendSamples(ctx, "run-1", 1, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

// BenchmarkAppendSamples: one judge poll's batch (two cohorts, six rows)
// and a buffered minute of them, each in one transaction.
func BenchmarkAppendSamples(b *testing.B) {
	for _, n := range []int{1, 60} {
		b.Run(fmt.Sprintf("polls=%d", n), func(b *testing.B) {
			ctx := context.Background()
			s := samplesStore(b)
			sec := 0
			for b.Loop() {
				var batch []store.Sample
				for range n {
					batch = append(batch, pair(sec, 90, 10, 150)...)
					sec++
				}
				if err := s.AppendSamples(ctx, "run-1", 2, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(6*n), "rows/op")
		})
	}
}
