package store_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// gateBenchWorld is a release of 1,000 services through one environment
// that requires 8 gates (six read evidence, one approval, one rehearsal),
// with every evidence gate's file added twice (history), a sign-off for
// every service and a waiver for every tenth.
func gateBenchWorld(b *testing.B, services int) *store.Store {
	ctx := context.Background()
	clock := &manualClock{t: gateT0}
	s := openStore(b, dbPath(b), store.WithClock(clock.now))
	kinds := []model.GateKind{model.GateTests, model.GateCoverage, model.GatePerformance, model.GateSecurity,
		model.GateLicence, model.GateIntegration, model.GateApproval, model.GateRehearsal}
	var recs []model.Record
	var gateNames, scope []string
	for i, k := range kinds {
		name := fmt.Sprintf("gate-%d-%s", i, k)
		gateNames = append(gateNames, fmt.Sprintf("%q", name))
		recs = append(recs, rec(model.KindGate, name, fmt.Sprintf(`{"name":%q,"kind":%q,"min":75,"approvers":["security"]}`, name, k)))
	}
	for i := range services {
		name := fmt.Sprintf("svc-%04d", i)
		scope = append(scope, fmt.Sprintf(`{"service":%q,"version":"1.1.0"}`, name))
		recs = append(recs, rec(model.KindService, name, fmt.Sprintf(`{"name":%q,"tier":%d,"version":"1.0.0"}`, name, i%4)))
	}
	recs = append(recs,
		rec(model.KindEnvironment, "staging", `{"name":"staging","order":1,"gates":[`+strings.Join(gateNames, ",")+`]}`),
		rec(model.KindRelease, "big", `{"name":"big","window":{"start":"2026-12-06T09:00:00Z","end":"2026-12-06T18:00:00Z"},"scope":[`+strings.Join(scope, ",")+`]}`))
	if _, err := s.Write(ctx, "admin", "apply", putAll(recs)); err != nil {
		b.Fatal(err)
	}
	for round := range 2 {
		clock.advance(time.Minute)
		if _, err := s.Write(ctx, "ci-bot", "evidence import", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
			for i := range services {
				for g, k := range kinds[:6] {
					f := file("report.xml", fmt.Sprintf("round %d service %d gate %d", round, i, g))
					r := store.EvidenceRecord{Release: "big", Service: fmt.Sprintf("svc-%04d", i), Gate: fmt.Sprintf("gate-%d-%s", g, k),
						Format: "junit", File: f, Value: float64(70 + (i+g+round)%30), Threshold: "min 75 %", Summary: "measured"}
					r.Pass = r.Value >= 75
					if _, _, err := tx.AddEvidence(ctx, r); err != nil {
						return store.Change{}, err
					}
				}
			}
			return store.Change{Summary: "evidence"}, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range services {
		svc := fmt.Sprintf("svc-%04d", i)
		if _, _, err := s.ApproveGate(ctx, store.Actor{Person: "carol"}, store.SignOffRequest{Release: "big", Service: svc, Gate: "gate-6-approval"}); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if _, _, err := s.WaiveGate(ctx, store.Actor{Person: "carol"}, store.WaiverRequest{Release: "big", Service: svc, Gate: "gate-1-coverage",
				Reason: "bench", Expires: gateT0.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

// BenchmarkGateStatus is 'warroom gate status' of 1,000 services × 8
// gates without the process: read the releases, environments and gates
// of the organisation, work out the gates
// the environment requires, read the release's gate records (one query
// per table) and evaluate. Target: ≤ 100 ms.
func BenchmarkGateStatus(b *testing.B) {
	ctx := context.Background()
	s := gateBenchWorld(b, 1000)
	now := gateT0.Add(10 * time.Minute)
	var cells int
	b.Run("org+records+evaluate", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			org, err := s.OrgOf(ctx, model.KindRelease, model.KindEnvironment, model.KindGate)
			if err != nil {
				b.Fatal(err)
			}
			sc, err := gates.Required(model.NewIndex(org), "big", "staging")
			if err != nil {
				b.Fatal(err)
			}
			rec, err := s.GateRecords(ctx, "big")
			if err != nil {
				b.Fatal(err)
			}
			cells = len(gates.Evaluate(sc.Request("staging", now), rec))
		}
	})
	if cells != 8000 {
		b.Fatalf("%d cells, want 8000", cells)
	}
	org, err := s.Org(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := gates.Required(model.NewIndex(org), "big", "staging")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("records+evaluate", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			rec, err := s.GateRecords(ctx, "big")
			if err != nil {
				b.Fatal(err)
			}
			gates.Evaluate(sc.Request("staging", now), rec)
		}
	})
}

func BenchmarkGateRecords(b *testing.B) {
	ctx := context.Background()
	s := gateBenchWorld(b, 1000)
	for b.Loop() {
		if _, err := s.GateRecords(ctx, "big"); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU adds the process's CPU time (user and system) per operation
// to a benchmark's figures: on a machine shared with other work the wall
// time per operation measures the neighbours too, the CPU time much less.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
