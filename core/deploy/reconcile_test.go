package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A driver killed while a step bakes; the next one asks the target. If
// the target still runs the step's version, the bake goes on; if it lost
// it, the step is deployed again as a new attempt (a new key), recorded
// and audited as a reconciliation, and no key is deployed twice.
func TestTakeoverReconcilesABakingStepWithTheTarget(t *testing.T) {
	for _, lost := range []bool{false, true} {
		name := map[bool]string{false: "target still runs it", true: "target lost it"}[lost]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.target.reports = true
			h.create(fixture("run-1", false))
			ctx, crash := context.WithCancel(context.Background())
			h.clock.onSleep = func() {
				r, _ := h.journal.LoadRun(context.Background(), "run-1")
				if s, _ := r.Step(1); s.State == StepBaking {
					crash()
				}
			}
			if _, err := h.engine.Drive(ctx, "run-1"); !errors.Is(err, context.Canceled) {
				t.Fatalf("first drive: %v", err)
			}
			h.clock.onSleep = nil
			if lost {
				// The target's processes died with the driver.
				h.target.mu.Lock()
				delete(h.target.running, "ledger/staging/")
				h.target.mu.Unlock()
			}
			h.clock.Sleep(context.Background(), time.Minute) //nolint:errcheck
			h.engine = &Engine{Journal: h.journal, Targets: h.target, Clock: h.clock, Owner: "test:2", Poll: time.Second}
			r := h.drive("run-1")
			if r.State != RunSucceeded {
				t.Fatalf("state %s (%s)", r.State, r.Reason)
			}
			s, _ := r.Step(1)
			wantAttempt := map[bool]int{false: 1, true: 2}[lost]
			if s.Attempt != wantAttempt {
				t.Errorf("step 1 ended at attempt %d, want %d", s.Attempt, wantAttempt)
			}
			if got := h.target.running["ledger/staging/"]; got != "1.1.0" {
				t.Errorf("ledger/staging runs %q, want 1.1.0", got)
			}
			for key, n := range h.target.calledWith {
				if n != 1 {
					t.Errorf("Deploy called %d times with key %s", n, key)
				}
			}
			reconciled := false
			for _, a := range h.journal.summaries() {
				reconciled = reconciled || (strings.HasPrefix(a, "deploy reconcile") && strings.Contains(a, "no longer runs 1.1.0"))
			}
			if reconciled != lost {
				t.Errorf("audited reconciliation: %v, want %v\n%s", reconciled, lost, strings.Join(h.journal.summaries(), "\n"))
			}
		})
	}
}
