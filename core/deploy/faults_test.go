package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The fault codes of the plugin contract, honoured by the engine.

func TestATargetsRefusalWaitsForAnOperator(t *testing.T) {
	h := newHarness(t)
	refusals := 0
	h.target.beforeDeploy = func(r Request) (bool, error) {
		if r.Step == 1 && refusals == 0 {
			refusals++
			return false, fmt.Errorf("%w: the cluster is being upgraded until 21:00", ErrTargetRefused)
		}
		return false, nil
	}
	h.create(fixture("run-1", false))
	continued := false
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(context.Background(), "run-1")
		if r.State != RunPaused || continued {
			return
		}
		if !strings.Contains(r.Reason, "waits for an operator") || !strings.Contains(r.Reason, "the cluster is being upgraded until 21:00") {
			t.Errorf("reason %q", r.Reason)
		}
		if s, _ := r.Step(1); s.State != StepFailed || s.touchedTarget() {
			t.Errorf("refused step is %s, touched %v", s.State, s.touchedTarget())
		}
		continued = true
		if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "ana"}); err != nil {
			t.Error(err)
		}
	}
	r := h.drive("run-1")
	if r.State != RunSucceeded || !continued {
		t.Fatalf("state %s (%s), continued %v", r.State, r.Reason, continued)
	}
	if rb := h.target.callsOf("rollback "); len(rb) != 0 {
		t.Errorf("a refusal was rolled back: %v", rb)
	}
	if s, _ := r.Step(1); s.Attempt != 2 {
		t.Errorf("step 1 attempt %d, want 2 (the refused one, then the retry)", s.Attempt)
	}
}

func TestAnUnavailableTargetIsRetriedWithTheSameKey(t *testing.T) {
	h := newHarness(t)
	fails := 0
	h.target.beforeDeploy = func(r Request) (bool, error) {
		if r.Step == 2 && fails < 2 {
			fails++
			// The first time the target did the work before it went away.
			return fails == 1, fmt.Errorf("%w: the plugin crashed (signal: killed)", ErrTargetUnavailable)
		}
		return false, nil
	}
	h.create(fixture("run-1", false))
	r := h.drive("run-1")
	if r.State != RunSucceeded {
		t.Fatalf("state %s (%s)", r.State, r.Reason)
	}
	s, _ := r.Step(2)
	if s.Attempt != 1 {
		t.Errorf("step 2 attempt %d, want 1: the same key", s.Attempt)
	}
	// The work done before the crash was seen through Status: Deploy
	// was called once and not again after it applied.
	if n := h.target.calledWith["run-1/2/1"]; n != 1 {
		t.Errorf("Deploy called %d times with run-1/2/1, want 1", n)
	}
	retried := 0
	for _, a := range h.journal.summaries() {
		if strings.Contains(a, "target unavailable") && strings.Contains(a, "with the same key") {
			retried++
		}
	}
	if retried != 1 {
		t.Errorf("%d audited retries, want 1", retried)
	}
}

func TestAnUnavailableTargetFailsTheStepAfterTheRetriesWithoutRollback(t *testing.T) {
	h := newHarness(t)
	h.target.reports = true
	h.engine.Retries = 2
	h.target.beforeDeploy = func(r Request) (bool, error) {
		if r.Step == 1 {
			return false, fmt.Errorf("%w: connection refused", ErrTargetUnavailable)
		}
		return false, nil
	}
	h.create(fixture("run-1", false))
	h.clock.onSleep = func() {
		if r, _ := h.journal.LoadRun(context.Background(), "run-1"); r.State == RunPaused {
			if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdAbort, RunID: "run-1", Actor: "ana"}); err != nil {
				t.Error(err)
			}
		}
	}
	r := h.drive("run-1")
	if r.State != RunAborted {
		t.Fatalf("state %s (%s)", r.State, r.Reason)
	}
	if n := h.target.calledWith["run-1/1/1"]; n != 3 {
		t.Errorf("Deploy called %d times, want 3 (once and two retries)", n)
	}
	if rb := h.target.callsOf("rollback "); len(rb) != 0 {
		t.Errorf("a step the target never applied was rolled back: %v", rb)
	}
	if s, _ := r.Step(1); s.State != StepFailed || s.touchedTarget() {
		t.Errorf("step 1 is %s touched %v", s.State, s.touchedTarget())
	}
}

// Smoke checks that could not run (a plugin that hung on a loaded host,
// Unavailable) are asked again, each retry audited, and the step goes
// on; a target that stays down fails the step after the retries.
func TestSmokeChecksThatCouldNotRunAreRetried(t *testing.T) {
	for _, c := range []struct {
		name    string
		fails   int
		succeed bool
	}{
		{"one hang", 1, true},
		{"down for good", 100, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.engine.Retries = 2
			fails := 0
			h.target.beforeVerify = func(r Request) error {
				if r.Step == 1 && fails < c.fails {
					fails++
					return fmt.Errorf("%w: plugin localfleet: Verify: timed out after 10s", ErrTargetUnavailable)
				}
				return nil
			}
			h.create(fixture("run-1", false))
			r := h.drive("run-1")
			retried := 0
			for _, a := range h.journal.summaries() {
				if strings.Contains(a, "smoke checks could not run (") && strings.Contains(a, "timed out after 10s): retry") {
					retried++
				}
			}
			if c.succeed {
				if r.State != RunSucceeded || retried != 1 || fails != 1 {
					t.Fatalf("state %s (%s), %d audited retries, %d failures; want succeeded after 1", r.State, r.Reason, retried, fails)
				}
				return
			}
			if r.State == RunSucceeded || retried != 2 || fails != 3 {
				t.Fatalf("state %s (%s), %d audited retries, %d calls failed; want a failed step after 2 retries", r.State, r.Reason, retried, fails)
			}
			if s, _ := r.Step(1); s.State == StepDone || !strings.Contains(s.Error, "smoke checks could not run") {
				t.Errorf("step 1 is %s: %s", s.State, s.Error)
			}
		})
	}
}

// A hang (a call that timed out after the target did the work) with no
// automatic rollback fails the run; 'deploy retry' tries the step again.
func TestAHungDeployIsRecoveredByRetry(t *testing.T) {
	h := newHarness(t)
	hung := false
	h.target.beforeDeploy = func(r Request) (bool, error) {
		if r.Step == 3 && !hung {
			hung = true
			return true, errors.New(`plugin "fake" did not answer deploy within 10m0s (timeout)`)
		}
		return false, nil
	}
	r := fixture("run-1", false)
	r.Options.AutoRollback = false
	h.create(r)
	if r := h.drive("run-1"); r.State != RunFailed || !strings.Contains(r.Reason, "'deploy retry'") {
		t.Fatalf("state %s (%s), want failed", r.State, r.Reason)
	}
	if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdSkip, RunID: "run-1", Actor: "ana", Step: 3, Reason: "x"}); !errors.Is(err, ErrRefused) {
		t.Errorf("skip of a step that changed the target: %v", err)
	}
	if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdRetry, RunID: "run-1", Actor: "ana", Step: 2}); !errors.Is(err, ErrRefused) {
		t.Errorf("retry of a done step: %v", err)
	}
	if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdRetry, RunID: "run-1", Actor: "ana", Step: 3}); err != nil {
		t.Fatal(err)
	}
	out := h.drive("run-1")
	if out.State != RunSucceeded {
		t.Fatalf("after retry: %s (%s)", out.State, out.Reason)
	}
	if s, _ := out.Step(3); s.Attempt != 2 || h.target.running["web/staging/"] != "1.1.0" {
		t.Errorf("step 3 attempt %d, running %q", s.Attempt, h.target.running["web/staging/"])
	}
}

func TestUnhealthyDuringABakeFailsTheStep(t *testing.T) {
	h := newHarness(t)
	h.target.reports = true
	h.target.sick = map[string]bool{}
	h.create(fixture("run-1", false))
	h.target.afterApply = func(r Request) {
		if r.Step == 1 {
			h.target.sick["ledger/staging/"] = true // the new version crashes after it started
		}
	}
	r := h.drive("run-1")
	if r.State != RunRolledBack {
		t.Fatalf("state %s (%s), want rolled back", r.State, r.Reason)
	}
	if !strings.Contains(r.Reason, "unhealthy during its bake") {
		t.Errorf("reason %q", r.Reason)
	}
	if s, _ := r.Step(2); s.State != StepPending {
		t.Errorf("step 2 is %s: the run went on past an unhealthy step", s.State)
	}
}

func TestBakeScaleZeroMeansNoBake(t *testing.T) {
	h := newHarness(t)
	r := fixture("run-1", false)
	r.Options.NoBake = true
	h.create(r)
	if out := h.drive("run-1"); out.State != RunSucceeded {
		t.Fatalf("state %s", out.State)
	}
	if h.clock.slept >= time.Minute {
		t.Errorf("slept %s with no bake", h.clock.slept)
	}
}
