package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/store"
	"github.com/warroom/warroom/tui"
)

// The console's gate results at the scale (issue 14: gate status
// of 1,000 services × 8 gates ≤ 100 ms): one release of 1,000 services
// through an environment requiring 8 gates, evidence for every evidence
// gate of every service (6,000 files), a waiver per service of one gate.

var gateBenchKinds = []string{
	"{name: tests, kind: tests, min: 100}",
	"{name: coverage, kind: coverage, min: 75}",
	"{name: perf, kind: performance, max: 5}",
	"{name: sast, kind: security, severity: high, max: 0}",
	"{name: licences, kind: licence, allow: [MIT]}",
	"{name: e2e, kind: integration, min: 98}",
	"{name: signoff, kind: approval}",
	"{name: rehearsal, kind: rehearsal}",
}

// gateBenchDB builds the database once per benchmark.
func gateBenchDB(b *testing.B) string {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	var y strings.Builder
	y.WriteString("teams:\n  - {name: platform}\nservices:\n")
	for i := range 1000 {
		fmt.Fprintf(&y, "  - {name: svc-%04d, owner: platform, tier: 2, version: 1.0.0}\n", i)
	}
	y.WriteString("gates:\n")
	names := make([]string, len(gateBenchKinds))
	for i, g := range gateBenchKinds {
		fmt.Fprintf(&y, "  - %s\n", g)
		names[i] = strings.TrimPrefix(strings.Split(g, ",")[0], "{name: ")
	}
	fmt.Fprintf(&y, "environments:\n  - {name: prod, order: 1, gates: [%s]}\n", strings.Join(names, ", "))
	y.WriteString("releases:\n  - name: big\n    window: {start: \"2026-12-01T09:00:00Z\", end: \"2026-12-01T13:00:00Z\"}\n    scope:\n")
	for i := range 1000 {
		fmt.Fprintf(&y, "      - {service: svc-%04d, version: 1.1.0}\n", i)
	}
	f := filepath.Join(dir, "org.yaml")
	if err := os.WriteFile(f, []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	set, errs := spec.ParseFiles([]string{f})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	path := filepath.Join(dir, "gates.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, _, err := applySet(ctx, s, "bench", "apply", set, spec.Options{}); err != nil {
		b.Fatal(err)
	}
	var recs []store.EvidenceRecord
	for i := range 1000 {
		for _, g := range names[:6] {
			content := fmt.Sprintf("svc-%04d %s\n", i, g)
			sum := sha256.Sum256([]byte(content))
			recs = append(recs, store.EvidenceRecord{Release: "big", Service: fmt.Sprintf("svc-%04d", i), Gate: g, Format: "junit",
				File:  store.EvidenceFile{Name: g + ".xml", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), Content: strings.NewReader(content)},
				Value: 97.5, Threshold: "min 98 %", Pass: i%3 != 0, Summary: "pass rate 97.5 % < min 98 %"})
		}
	}
	if _, _, err := s.AddEvidence(ctx, "ci-bot", "evidence import", recs...); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if _, _, err := s.WaiveGate(ctx, store.ParseActor("jonas"), store.WaiverRequest{Release: "big", Service: fmt.Sprintf("svc-%04d", i),
			Gate: "e2e", Reason: "bench", Expires: time.Now().Add(72 * time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	return path
}

// processCPU is the CPU time this process has used: the machine is
// shared, so the benchmarks report it beside the wall time
// (cpu-ms/op; it includes the garbage collector's work).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func gateBenchSource(b *testing.B, path string) (*store.Store, *consoleSource) {
	b.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, &consoleSource{base: tui.NewStoreSource(st), st: st, now: time.Now}
}

func checkBigResults(b *testing.B, snap tui.Snapshot) {
	b.Helper()
	if n := len(snap.GateResults["big"]); n != 8000 {
		b.Fatalf("%d results, want 8,000", n)
	}
}

// BenchmarkConsoleGatesEvaluate: the source's gate results made from
// nothing: the records read (three queries) and 8,000 results evaluated
// and converted. This is what a load pays when evidence, a waiver or a
// sign-off landed. Target: 100 ms.
func BenchmarkConsoleGatesEvaluate(b *testing.B) {
	_, src := gateBenchSource(b, gateBenchDB(b))
	ctx := context.Background()
	snap, err := src.base.Load(ctx, 500)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	c0 := processCPU(b)
	for b.Loop() {
		src.gates = nil
		res, err := src.gateResults(ctx, &snap, time.Now())
		if err != nil || len(res["big"]) != 8000 {
			b.Fatalf("%d results: %v", len(res["big"]), err)
		}
	}
	reportCPU(b, processCPU(b)-c0)
}

// BenchmarkConsoleGatesRunCommit: a run's commit (the console's most
// frequent reload) moves the audit head but writes no gate records: the
// results are the ones made before.
func BenchmarkConsoleGatesRunCommit(b *testing.B) {
	path := gateBenchDB(b)
	st, src := gateBenchSource(b, path)
	ctx := context.Background()
	snap, err := src.Load(ctx, 500)
	if err != nil {
		b.Fatal(err)
	}
	checkBigResults(b, snap)
	var cpu time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if _, err := st.Write(ctx, "engine", "deploy.step", func(context.Context, *store.Tx) (store.Change, error) {
			return store.Change{Summary: "a step moved on"}, nil
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := processCPU(b)
		if snap, err = src.Load(ctx, 500); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU(b) - c0
	}
	reportCPU(b, cpu)
	checkBigResults(b, snap)
}

// BenchmarkConsoleGatesWaiver: a waiver lands (another connection) and
// the console's next Load reads and evaluates the gates again: the whole
// reload a gate decision costs the console. Target: 100 ms.
func BenchmarkConsoleGatesWaiver(b *testing.B) {
	path := gateBenchDB(b)
	_, src := gateBenchSource(b, path)
	w, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	snap, err := src.Load(ctx, 500)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	var cpu time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if _, _, err := w.WaiveGate(ctx, store.ParseActor("jonas"), store.WaiverRequest{Release: "big", Service: fmt.Sprintf("svc-%04d", i%1000),
			Gate: "coverage", Reason: "bench", Expires: time.Now().Add(72 * time.Hour)}); err != nil {
			b.Fatal(err)
		}
		i++
		b.StartTimer()
		c0 := processCPU(b)
		if snap, err = src.Load(ctx, 500); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU(b) - c0
	}
	reportCPU(b, cpu)
	checkBigResults(b, snap)
}

// BenchmarkGateStatusCommand is 'warroom gate status big --env prod' as a
// user runs it, in process: open the database, read the organisation,
// the policy and the gate records, evaluate 1,000 services × 8 gates,
// print the matrix (text) or the results (-o json), exit 3 (blocked).
// The target: 100 ms. The process's start (the Go runtime, about
// 10 ms) is not in it.
func BenchmarkGateStatusCommand(b *testing.B) {
	path := gateBenchDB(b)
	for _, output := range []string{"text", "json"} {
		b.Run(output, func(b *testing.B) {
			ctx := context.Background()
			var out, errs bytes.Buffer
			getenv := func(string) string { return "" }
			c0 := processCPU(b)
			for b.Loop() {
				out.Reset()
				errs.Reset()
				if code := run(ctx, []string{"gate", "status", "big", "--env", "prod", "--db", path, "-o", output}, &out, &errs, getenv); code != exitRefused {
					b.Fatalf("exit %d, want %d (blocked)\n%s", code, exitRefused, errs.String())
				}
			}
			reportCPU(b, processCPU(b)-c0)
			b.ReportMetric(float64(out.Len()), "output-bytes")
			if !strings.Contains(out.String(), "svc-0999") {
				b.Fatalf("no svc-0999 in the output:\n%.500s", out.String())
			}
		})
	}
}
