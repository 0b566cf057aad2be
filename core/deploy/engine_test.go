package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
)

// fixture is a run of three services over staging and two production
// regions: ledger (rolling), payments (canary 10/50/100), web (blue-green).
func fixture(id string, prodApproval bool) *Run {
	r := &Run{ID: id, Release: "r1", State: RunPending, StartedBy: "alice",
		Environments: []string{"staging", "prod"},
		Stages:       []Stage{{Env: "staging"}, {Env: "prod", Production: true, Approval: prodApproval, BakeTime: model.Duration(10 * time.Minute)}},
		Options:      Options{AutoRollback: true}}
	add := func(wave int, svc, env, region string, st model.Strategy) {
		s := Step{Index: len(r.Steps) + 1, Wave: wave, Kind: KindService, Service: svc, Env: env, Region: region,
			FromVersion: "1.0.0", Version: "1.1.0", Strategy: st, Target: "fake", State: StepPending,
			BakeTime: model.Duration(2 * time.Minute)}
		if st == model.Canary {
			s.CanarySteps = []int{10, 50, 100}
		}
		r.Steps = append(r.Steps, s)
	}
	for _, env := range []struct{ name, region string }{{"staging", ""}, {"prod", "eu"}, {"prod", "us"}} {
		add(1, "ledger", env.name, env.region, model.Rolling)
		add(2, "payments", env.name, env.region, model.Canary)
		add(3, "web", env.name, env.region, model.BlueGreen)
	}
	return r
}

func TestCleanRunSucceeds(t *testing.T) {
	h := newHarness(t)
	h.create(fixture("run-1", false))
	r := h.drive("run-1")
	if r.State != RunSucceeded {
		t.Fatalf("state %s (%s)", r.State, r.Reason)
	}
	for _, s := range r.Steps {
		if s.State != StepDone || s.Attempt != 1 {
			t.Errorf("step %d: %s attempt %d", s.Index, s.State, s.Attempt)
		}
	}
	for key, n := range h.target.deploys {
		if n != 1 {
			t.Errorf("key %s deployed %d times", key, n)
		}
	}
	if got := len(h.target.deploys); got != 9 {
		t.Errorf("%d deployments, want 9", got)
	}
	// Canary weights in order, then blue-green switch.
	traffic := h.target.callsOf("traffic payments/staging/")
	want := []string{
		"traffic payments/staging/ [{1.1.0 10} {1.0.0 90}]",
		"traffic payments/staging/ [{1.1.0 50} {1.0.0 50}]",
		"traffic payments/staging/ [{1.1.0 100} {1.0.0 0}]",
	}
	if strings.Join(traffic, "\n") != strings.Join(want, "\n") {
		t.Errorf("canary traffic:\n%s\nwant:\n%s", strings.Join(traffic, "\n"), strings.Join(want, "\n"))
	}
	if bg := h.target.callsOf("traffic web/prod/us"); len(bg) != 1 || !strings.Contains(bg[0], "{1.1.0 100}") {
		t.Errorf("blue-green switch: %v", bg)
	}
	// Production waves waited the stage's bake time between waves.
	ledger, _ := r.Step(4)
	payments, _ := r.Step(5)
	if payments.StartedAt.Sub(*ledger.EndedAt) < 10*time.Minute {
		t.Errorf("wave 2 in prod started %s after wave 1 ended, want the 10m bake", payments.StartedAt.Sub(*ledger.EndedAt))
	}
}

func TestSmokeCheckFailureRollsBackEverythingInReverse(t *testing.T) {
	h := newHarness(t)
	h.target.failCheck["web@1.1.0"] = "GET / returned 503"
	h.create(fixture("run-1", false))
	r := h.drive("run-1")
	if r.State != RunRolledBack {
		t.Fatalf("state %s (%s)", r.State, r.Reason)
	}
	if !strings.Contains(r.Reason, "smoke checks failed: http-200: GET / returned 503") {
		t.Errorf("reason does not say why: %q", r.Reason)
	}
	rollbacks := h.target.callsOf("rollback ")
	want := []string{"rollback web/staging/ to 1.0.0", "rollback payments/staging/ to 1.0.0", "rollback ledger/staging/ to 1.0.0"}
	if strings.Join(rollbacks, "\n") != strings.Join(want, "\n") {
		t.Errorf("rollbacks:\n%s\nwant:\n%s", strings.Join(rollbacks, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range r.Steps[3:] {
		if s.State != StepPending {
			t.Errorf("step %d in prod is %s; prod must not have been touched", s.Index, s.State)
		}
	}
	web, _ := r.Step(3)
	if web.State != StepRolledBack || !strings.Contains(string(web.Evidence), "503") {
		t.Errorf("failed step: %s evidence %s", web.State, web.Evidence)
	}
	found := false
	for _, a := range h.journal.summaries() {
		found = found || (strings.HasPrefix(a, "deploy auto-rollback") && strings.Contains(a, "503"))
	}
	if !found {
		t.Errorf("no audited auto-rollback with its evidence:\n%s", strings.Join(h.journal.summaries(), "\n"))
	}
}

func TestWithoutAutoRollbackTheRunFailsForAnOperator(t *testing.T) {
	h := newHarness(t)
	h.target.failDeploy["payments@1.1.0"] = "image pull failed"
	r := fixture("run-1", false)
	r.Options.AutoRollback = false
	h.create(r)
	r = h.drive("run-1")
	if r.State != RunFailed || len(h.target.callsOf("rollback")) != 0 {
		t.Fatalf("state %s, rollbacks %v", r.State, h.target.callsOf("rollback"))
	}
	// The operator rolls it back by hand.
	if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdRollback, RunID: "run-1", Actor: "bob", Reason: "bad image"}); err != nil {
		t.Fatal(err)
	}
	r = h.drive("run-1")
	if r.State != RunRolledBack || len(h.target.callsOf("rollback")) != 2 {
		t.Errorf("after operator rollback: %s, rollbacks %v", r.State, h.target.callsOf("rollback"))
	}
}

// verdicts rules v.verdict on v.service at weight v.at, and promotes
// every other canary weight at the end of its bake, as a judge whose
// proofs hold does.
type verdicts struct {
	service string
	at      int // weight at which to rule
	verdict Verdict
	clock   *fakeClock
}

func (v verdicts) Judge(_ context.Context, req CanaryRequest) (Judgement, error) {
	if req.Service == v.service && req.Weight == v.at {
		return Judgement{Verdict: v.verdict, Reason: "errors 4.1% vs 0.2%, e-value 212 >= 100", Evidence: []byte(`{"e_value":212}`)}, nil
	}
	if !v.clock.Now().Before(req.BakeEnds) {
		return Judgement{Verdict: VerdictPromote, Reason: "bake time over; proved error rate <= base + 0.5 pp"}, nil
	}
	return Judgement{Verdict: VerdictContinue}, nil
}

func TestJudgesPromotionIsKeptAsEvidence(t *testing.T) {
	h := newHarness(t)
	h.engine.Judge = verdicts{service: "payments", at: 50, verdict: VerdictPromote, clock: h.clock}
	h.create(fixture("run-1", false))
	r := h.drive("run-1")
	if r.State != RunSucceeded {
		t.Fatalf("state %s", r.State)
	}
	p, _ := r.Step(2)
	var j Judgement
	if err := json.Unmarshal(p.Evidence, &j); err != nil || j.Verdict != VerdictPromote || !strings.Contains(j.Reason, "proved") {
		t.Errorf("promoted canary's evidence %s (%v)", p.Evidence, err)
	}
	if !slices.ContainsFunc(h.journal.summaries(), func(a string) bool {
		return strings.Contains(a, "canary at 50% promoted (judge: errors 4.1%")
	}) {
		t.Errorf("the judge's promotion at 50%% is not audited:\n%s", strings.Join(h.journal.summaries(), "\n"))
	}
}

func TestJudgeRollsBackACanary(t *testing.T) {
	h := newHarness(t)
	h.engine.Judge = verdicts{service: "payments", at: 50, verdict: VerdictRollback, clock: h.clock}
	h.create(fixture("run-1", false))
	r := h.drive("run-1")
	if r.State != RunRolledBack || !strings.Contains(r.Reason, "canary judged worse than baseline: errors 4.1%") {
		t.Fatalf("state %s reason %q", r.State, r.Reason)
	}
	p, _ := r.Step(2)
	if p.Weight != 50 || !strings.Contains(string(p.Evidence), "e_value") {
		t.Errorf("canary step: weight %d evidence %s", p.Weight, p.Evidence)
	}
	if got := h.target.traffic["payments/staging/"]; len(got) != 1 || got[0].Version != "1.0.0" {
		t.Errorf("traffic after rollback: %v", got)
	}
}

type firing struct{ service string }

func (f firing) Firing(_ context.Context, service, env, region string) ([]Alert, error) {
	if service == f.service && env == "prod" {
		return []Alert{{Name: "HighErrorRate", Severity: "critical"}}, nil
	}
	return nil, nil
}

func TestFiringAlertRollsBack(t *testing.T) {
	h := newHarness(t)
	h.engine.Alerts = firing{service: "ledger"}
	h.create(fixture("run-1", false))
	r := h.drive("run-1")
	if r.State != RunRolledBack || !strings.Contains(r.Reason, "alert firing: HighErrorRate") {
		t.Fatalf("state %s reason %q", r.State, r.Reason)
	}
	if n := len(h.target.callsOf("rollback")); n != 4 {
		t.Errorf("%d rollbacks, want 4 (3 staging steps and prod ledger)", n)
	}
}

func TestApprovalBeforeProduction(t *testing.T) {
	h := newHarness(t)
	h.create(fixture("run-1", true))
	approved := false
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(context.Background(), "run-1")
		if r.State == RunAwaitingApproval && !approved {
			// Nothing of prod may have started before the approval.
			for _, s := range r.Steps[3:] {
				if s.State != StepPending {
					t.Errorf("step %d started before approval", s.Index)
				}
			}
			if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "carol"}); err != nil {
				t.Error(err)
			}
			approved = true
		}
	}
	r := h.drive("run-1")
	if r.State != RunSucceeded || len(r.Approvals) != 1 || r.Approvals[0].By != "carol" || r.Approvals[0].Environment != "prod" {
		t.Fatalf("state %s approvals %+v", r.State, r.Approvals)
	}
}

func TestCommandsRefusedInWrongState(t *testing.T) {
	h := newHarness(t)
	h.create(fixture("run-1", false))
	h.drive("run-1")
	for _, c := range []Command{CmdAbort, CmdPause, CmdContinue, CmdSkip} {
		_, err := h.ops.Do(context.Background(), OperatorRequest{Command: c, RunID: "run-1", Actor: "bob", Step: 1, Reason: "x"})
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
			t.Fatalf("%s of a succeeded run: %v", c, err)
		}
		if !strings.Contains(err.Error(), "the run has already ended (succeeded)") {
			t.Errorf("%s: unclear message %q", c, err)
		}
	}
}

func TestPauseAndContinueFromAnotherProcess(t *testing.T) {
	h := newHarness(t)
	h.create(fixture("run-1", false))
	paused, continued := false, false
	h.target.afterApply = func(req Request) {
		if req.Step == 2 && !paused {
			if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdPause, RunID: "run-1", Actor: "bob"}); err != nil {
				t.Error(err)
			}
			paused = true
		}
	}
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(context.Background(), "run-1")
		if r.State == RunPaused && !continued {
			// The deployment in flight was recorded, nothing new started.
			if s, _ := r.Step(2); s.State != StepVerifying {
				t.Errorf("step 2 is %s while paused, want verifying", s.State)
			}
			if s, _ := r.Step(3); s.State != StepPending {
				t.Errorf("step 3 is %s while paused", s.State)
			}
			if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "bob"}); err != nil {
				t.Error(err)
			}
			continued = true
		}
	}
	if r := h.drive("run-1"); r.State != RunSucceeded || !continued {
		t.Fatalf("state %s continued %v", r.State, continued)
	}
}

// A crash right after the target applied a deployment, before the engine
// recorded it: the next driver asks the target and does not deploy again.
func TestCrashAfterDeployIsNotRepeated(t *testing.T) {
	for kill := 1; kill <= 9; kill++ {
		t.Run(fmt.Sprint("kill after deployment ", kill), func(t *testing.T) {
			h := newHarness(t)
			h.create(fixture("run-1", false))
			ctx, crash := context.WithCancel(context.Background())
			n := 0
			h.target.afterApply = func(Request) {
				if n++; n == kill {
					crash()
				}
			}
			if _, err := h.engine.Drive(ctx, "run-1"); !errors.Is(err, context.Canceled) {
				t.Fatalf("first drive: %v", err)
			}
			h.target.afterApply = nil
			// A new process takes over once the dead one's lease expired.
			h.clock.Sleep(context.Background(), time.Minute) //nolint:errcheck
			h.engine = &Engine{Journal: h.journal, Targets: h.target, Clock: h.clock, Owner: "test:2", Poll: time.Second}
			r := h.drive("run-1")
			if r.State != RunSucceeded {
				t.Fatalf("state %s (%s)", r.State, r.Reason)
			}
			for key, c := range h.target.calledWith {
				if c != 1 {
					t.Errorf("Deploy called %d times with key %s", c, key)
				}
			}
		})
	}
}

func TestLeaseKeepsASecondDriverOut(t *testing.T) {
	h := newHarness(t)
	h.create(fixture("run-1", false))
	if err := h.journal.AcquireLease(context.Background(), "run-1", "other:9", h.clock.Now().Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.engine.Drive(context.Background(), "run-1"); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("drive while another holds the lease: %v", err)
	}
	h.clock.Sleep(context.Background(), 16*time.Second) //nolint:errcheck
	if r := h.drive("run-1"); r.State != RunSucceeded {
		t.Fatalf("after the lease expired: %s", r.State)
	}
}

func TestLeaseOfADeadHolderIsTakenAtOnce(t *testing.T) {
	h := newHarness(t)
	h.create(fixture("run-1", false))
	if err := h.journal.AcquireLease(context.Background(), "run-1", "host:4242:x", h.clock.Now().Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	h.engine.Dead = func(owner string) bool { return owner == "host:4242:x" }
	if r := h.drive("run-1"); r.State != RunSucceeded {
		t.Fatalf("take-over from a dead holder: %s", r.State)
	}
}

type failingGate struct{ until time.Time }

func (g *failingGate) Preflight(_ context.Context, _ *Run, s *Step, now time.Time) []Check {
	if now.Before(g.until) {
		return []Check{{Name: "window-open", Message: "release window opens at " + g.until.Format(time.RFC3339)}}
	}
	return []Check{{Name: "window-open", Passed: true}}
}

func TestPreflightFailurePausesAndContinueRetries(t *testing.T) {
	h := newHarness(t)
	gate := &failingGate{until: h.clock.Now().Add(time.Hour)}
	h.engine.Gate = gate
	h.create(fixture("run-1", false))
	retried := false
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(context.Background(), "run-1")
		if r.State == RunPaused && !retried {
			if !strings.Contains(r.Reason, "window-open: release window opens") {
				t.Errorf("pause reason %q", r.Reason)
			}
			if len(h.target.callsOf("deploy")) != 0 {
				t.Error("deployed despite a failed pre-flight")
			}
			gate.until = time.Time{}
			if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "bob"}); err != nil {
				t.Error(err)
			}
			retried = true
		}
	}
	r := h.drive("run-1")
	if r.State != RunSucceeded || !retried {
		t.Fatalf("state %s retried %v", r.State, retried)
	}
	if s, _ := r.Step(1); s.Attempt != 2 {
		t.Errorf("step 1 attempts %d, want 2", s.Attempt)
	}
}

func TestSkipNeedsAReasonAndAnUntouchedStep(t *testing.T) {
	h := newHarness(t)
	r := fixture("run-1", false)
	h.create(r)
	ctx := context.Background()
	if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdSkip, RunID: "run-1", Actor: "bob", Step: 2}); err == nil || !strings.Contains(err.Error(), "needs a reason") {
		t.Errorf("skip without reason: %v", err)
	}
	if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdSkip, RunID: "run-1", Actor: "bob", Step: 99, Reason: "x"}); err == nil || !strings.Contains(err.Error(), "no step 99") {
		t.Errorf("skip of a missing step: %v", err)
	}
	if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdSkip, RunID: "run-1", Actor: "bob", Step: 3, Reason: "web ships next week"}); err != nil {
		t.Fatal(err)
	}
	out := h.drive("run-1")
	if s, _ := out.Step(3); s.State != StepSkipped || out.State != RunSucceeded {
		t.Errorf("skipped step %s, run %s", s.State, out.State)
	}
	if len(h.target.callsOf("deploy web/staging")) != 0 {
		t.Error("a skipped step was deployed")
	}
}

func TestLowTrafficWindowIsWaitedFor(t *testing.T) {
	h := newHarness(t)
	r := fixture("run-1", false)
	at := h.clock.Now().Add(3 * time.Hour)
	for i := range r.Steps {
		if r.Steps[i].Region == "us" {
			r.Steps[i].NotBefore = &at
		}
	}
	h.create(r)
	out := h.drive("run-1")
	if s, _ := out.Step(7); s.StartedAt.Before(at) {
		t.Errorf("us step started %s, before its window at %s", s.StartedAt, at)
	}
	if s, _ := out.Step(4); !s.StartedAt.Before(at) {
		t.Errorf("eu step started %s; it has no window and should not wait", s.StartedAt)
	}
}

func TestBlueGreenDatabaseNeedsATargetThatSaysItCan(t *testing.T) {
	for _, c := range []struct {
		name string
		caps Capabilities
		want RunState
	}{
		{"target cannot", Capabilities{Stateful: true}, RunPaused},
		{"target can", Capabilities{Stateful: true, BlueGreenStateful: true}, RunSucceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.target.caps = &c.caps
			r := fixture("run-1", false)
			r.Steps = r.Steps[:1]
			r.Steps[0].Strategy, r.Steps[0].ServiceKind = model.BlueGreen, model.Database
			h.create(r)
			h.clock.onSleep = func() {
				if cur, _ := h.journal.LoadRun(context.Background(), "run-1"); cur.State == RunPaused {
					if !strings.Contains(cur.Reason, "strategy-fits: blue-green would run two copies of database") {
						t.Errorf("reason: %q", cur.Reason)
					}
					h.ops.Do(context.Background(), OperatorRequest{Command: CmdAbort, RunID: "run-1", Actor: "t"}) //nolint:errcheck
				}
			}
			out := h.drive("run-1")
			if got := out.State; (c.want == RunPaused && got != RunAborted) || (c.want == RunSucceeded && got != RunSucceeded) {
				t.Errorf("state %s", got)
			}
			if c.want == RunPaused && len(h.target.callsOf("deploy")) != 0 {
				t.Error("deployed blue-green on a target that cannot")
			}
		})
	}
}
