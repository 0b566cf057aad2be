package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/gates"
)

// fakeGates blocks the (env, service) pairs it is told to, and records
// every check.
type fakeGates struct {
	mu      sync.Mutex
	blocked map[string][]GateBlock // env -> blocks (any service asked)
	checks  [][]string             // env followed by the services asked
}

func (f *fakeGates) Blocking(_ context.Context, release, env string, services []string, _ time.Time) ([]GateBlock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, append([]string{env}, services...))
	var out []GateBlock
	for _, b := range f.blocked[env] {
		if slices.Contains(services, b.Service) {
			out = append(out, b)
		}
	}
	return out, nil
}

func (f *fakeGates) set(env string, blocks ...GateBlock) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blocked == nil {
		f.blocked = map[string][]GateBlock{}
	}
	f.blocked[env] = blocks
}

func (f *fakeGates) calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.checks)
}

var coverageMissing = GateBlock{Service: "ledger", Gate: "coverage", State: "missing", Reason: "no evidence"}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// A run whose next environment's gates block waits, with what blocks it
// in its header, starts nothing there, checks once per poll (not per
// step), and goes on by itself when the gate clears: each move audited.
func TestRunWaitsOnGatesAndGoesOnWhenTheyClear(t *testing.T) {
	h := newHarness(t)
	fg := &fakeGates{}
	fg.set("staging", coverageMissing)
	h.engine.Gates, h.engine.GatePoll = fg, 5*time.Second
	h.create(fixture("run-1", false))
	looks := 0
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(context.Background(), "run-1")
		if r.State != RunWaiting {
			return
		}
		looks++
		if r.Wait == nil || r.Wait.Env != "staging" || !slices.Equal(r.Wait.Gates, []GateBlock{coverageMissing}) {
			t.Errorf("wait %+v", r.Wait)
		}
		if !strings.Contains(r.Reason, "ledger/coverage missing (no evidence)") {
			t.Errorf("reason %q", r.Reason)
		}
		for _, s := range r.Steps {
			if s.State != StepPending {
				t.Errorf("step %d is %s while the run waits", s.Index, s.State)
			}
		}
		if looks == 3 {
			fg.set("staging") // the evidence arrived
		}
	}
	r := h.drive("run-1")
	if r.State != RunSucceeded || r.Wait != nil {
		t.Fatalf("state %s wait %+v (%s)", r.State, r.Wait, r.Reason)
	}
	sums := h.journal.summaries()
	if n := countPrefix(sums, "deploy engine: run run-1: waiting to enter staging: 1 gate is not pass or waived"); n != 1 {
		t.Errorf("%d audited waits, want 1 (a wait that does not change is not audited again):\n%s", n, strings.Join(sums, "\n"))
	}
	if n := countPrefix(sums, "deploy engine: run run-1: gates clear: entering staging"); n != 1 {
		t.Errorf("%d audited continuations, want 1:\n%s", n, strings.Join(sums, "\n"))
	}
	// One check per group of steps entering an environment (the fixture
	// has 3 in staging and 6 in prod, a wave per region), one per look
	// while waiting (3), and the entry's own once they cleared: never one
	// per step or per poll of a bake.
	calls := fg.calls()
	if want := 9 + 3 + 1; len(calls) != want {
		t.Errorf("%d gate checks, want %d: %v", len(calls), want, calls)
	}
	if !slices.Equal(calls[len(calls)-1], []string{"prod", "web"}) {
		t.Errorf("last check %v, want prod's web wave", calls[len(calls)-1])
	}
}

// An operator may pause, skip, roll back or abort a waiting run; continue
// is refused (no one continues past a gate), and a paused run continued
// waits again on the same gates.
func TestOperatorCommandsOnAWaitingRun(t *testing.T) {
	h := newHarness(t)
	fg := &fakeGates{}
	fg.set("staging", coverageMissing)
	h.engine.Gates = fg
	h.create(fixture("run-1", false))
	ctx := context.Background()
	step := 0
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(ctx, "run-1")
		switch {
		case step == 0 && r.State == RunWaiting:
			_, err := h.ops.Do(ctx, OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "bob"})
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), "goes on by itself once each is pass or waived") {
				t.Errorf("continue of a waiting run: %v", err)
			}
			got, err := h.ops.Do(ctx, OperatorRequest{Command: CmdPause, RunID: "run-1", Actor: "bob"})
			if err != nil || got.State != RunPaused || got.Wait != nil {
				t.Errorf("pause of a waiting run: %v %+v", err, got)
			}
			step++
		case step == 1 && r.State == RunPaused:
			if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "bob"}); err != nil {
				t.Error(err)
			}
			step++
		case step == 2 && r.State == RunWaiting:
			// Waiting again on the same gate; ledger is skipped, then the
			// run waits for nothing of staging's first wave.
			if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdSkip, RunID: "run-1", Actor: "bob", Step: 1, Reason: "not in this release"}); err != nil {
				t.Error(err)
			}
			step++
		case step == 3 && r.State == RunRunning:
			step++
		case step == 4:
			fg.set("prod", GateBlock{Service: "web", Gate: "perf", State: "fail", Reason: "p99 +12 %"})
			step++
		case step == 5 && r.State == RunWaiting:
			if r.Wait == nil || r.Wait.Env != "prod" {
				t.Errorf("wait %+v", r.Wait)
			}
			got, err := h.ops.Do(ctx, OperatorRequest{Command: CmdAbort, RunID: "run-1", Actor: "bob", Reason: "perf"})
			if err != nil || got.State != RunAborted || got.Wait != nil {
				t.Errorf("abort of a waiting run: %v %+v", err, got)
			}
			step++
		}
	}
	r := h.drive("run-1")
	if r.State != RunAborted || step != 6 {
		t.Fatalf("state %s after step %d (%s)", r.State, step, r.Reason)
	}
	if s, _ := r.Step(1); s.State != StepSkipped {
		t.Errorf("step 1 %s", s.State)
	}
	if s, _ := r.Step(9); s.State != StepPending {
		t.Errorf("prod's web in eu started while its gate failed: %s", s.State)
	}
}

// A driver that stops while the run waits leaves it waiting; the next
// one (another process) goes on checking and continues once it clears.
func TestRestartWhileWaiting(t *testing.T) {
	h := newHarness(t)
	fg := &fakeGates{}
	fg.set("staging", coverageMissing)
	h.engine.Gates = fg
	h.create(fixture("run-1", false))
	ctx, cancel := context.WithCancel(context.Background())
	h.clock.onSleep = func() {
		if r, _ := h.journal.LoadRun(context.Background(), "run-1"); r.State == RunWaiting {
			cancel()
		}
	}
	if _, err := h.engine.Drive(ctx, "run-1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("first driver: %v", err)
	}
	r, _ := h.journal.LoadRun(context.Background(), "run-1")
	if r.State != RunWaiting || r.Wait == nil || len(r.Wait.Gates) != 1 {
		t.Fatalf("after the first driver stopped: %s %+v", r.State, r.Wait)
	}
	since := r.Wait.Since
	second := &Engine{Journal: h.journal, Targets: h.target, Clock: h.clock, Owner: "test:2", Poll: time.Second, Gates: fg}
	looks := 0
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(context.Background(), "run-1")
		if r.State == RunWaiting {
			if !r.Wait.Since.Equal(since) {
				t.Errorf("the wait began at %v, now says %v", since, r.Wait.Since)
			}
			if looks++; looks == 2 {
				fg.set("staging")
			}
		}
	}
	r, err := second.Drive(context.Background(), "run-1")
	if err != nil || r.State != RunSucceeded {
		t.Fatalf("second driver: %v %s (%s)", err, r.State, r.Reason)
	}
}

// approvalPolicyFake is a policy: approvals live an hour; the approvers
// are carol, dave and erin (and alice, who started the run).
type approvalPolicyFake struct{}

func (approvalPolicyFake) ApprovalPolicy(context.Context) (gates.Policy, error) {
	return gates.Policy{ApprovalTTL: time.Hour, MayApprove: func(person string, approvers []string) bool {
		return slices.Contains(approvers, "approver") && slices.Contains([]string{"alice", "carol", "dave", "erin"}, person)
	}}, nil
}

// Entering prod needs 2 distinct approvers' live approvals, never the
// starter's: each 'continue' adds one and the run says how many it has;
// an expired one no longer counts; the run enters once the quorum is met,
// and is not asked again for prod's later waves.
func TestApprovalQuorumWithExpiryAndFourEyes(t *testing.T) {
	h := newHarness(t)
	h.engine.Approvals = approvalPolicyFake{}
	h.ops.Approvals = approvalPolicyFake{}
	run := fixture("run-1", true)
	run.Stages[1].Approvals, run.Stages[1].Approvers = 2, []string{"approver"}
	h.create(run)
	ctx := context.Background()
	cont := func(by string) *Run {
		t.Helper()
		r, err := h.ops.Do(ctx, OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: by})
		if err != nil {
			t.Fatalf("continue by %s: %v", by, err)
		}
		return r
	}
	step := 0
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(ctx, "run-1")
		if r.State != RunAwaitingApproval || step > 0 {
			return
		}
		step++
		if w := r.Wait; w == nil || w.Env != "prod" || w.Approval == nil || w.Approval.Have != 0 || w.Approval.Need != 2 {
			t.Fatalf("wait %+v", r.Wait)
		}
		if !strings.HasPrefix(r.Reason, "approval 0/2 to enter prod: no approval yet (0 of 2): 2 more by approver") {
			t.Errorf("reason %q", r.Reason)
		}
		// The starter's approval never counts (the store refuses it too).
		if got := cont("alice"); got.State != RunAwaitingApproval || got.Wait.Approval.Have != 0 ||
			!strings.Contains(got.Reason, "alice's approval does not count: the run was started by alice") {
			t.Errorf("after alice: %s %q", got.State, got.Reason)
		}
		got := cont("carol")
		if got.State != RunAwaitingApproval || got.Wait.Approval.Have != 1 || !slices.Equal(got.Wait.Approval.By, []string{"carol"}) ||
			!strings.HasPrefix(got.Reason, "approval 1/2 to enter prod: approved by carol") {
			t.Errorf("after carol: %s %+v %q", got.State, got.Wait, got.Reason)
		}
		// Two hours later carol's approval has expired.
		h.clock.mu.Lock()
		h.clock.now = h.clock.now.Add(2 * time.Hour)
		h.clock.mu.Unlock()
		if got := cont("dave"); got.State != RunAwaitingApproval || got.Wait.Approval.Have != 1 || !strings.Contains(got.Reason, "1 expired") {
			t.Errorf("after dave: %s %+v %q", got.State, got.Wait, got.Reason)
		}
		if got := cont("erin"); got.State != RunRunning || got.Wait != nil || got.Reason != "" {
			t.Errorf("after erin: %s %+v %q", got.State, got.Wait, got.Reason)
		}
	}
	r := h.drive("run-1")
	if r.State != RunSucceeded || step != 1 || len(r.Approvals) != 4 {
		t.Fatalf("state %s (%s), approvals %+v", r.State, r.Reason, r.Approvals)
	}
	sums := h.journal.summaries()
	if n := countPrefix(sums, "deploy engine: run run-1: awaiting approval to enter prod"); n != 1 {
		t.Errorf("asked %d times for prod's approval, want once:\n%s", n, strings.Join(sums, "\n"))
	}
	if n := countPrefix(sums, "deploy continue: approved run run-1 into prod: approval 1/2"); n != 2 {
		t.Errorf("%d audited partial approvals, want 2 (carol, dave):\n%s", n, strings.Join(sums, "\n"))
	}
}

// The engine counts again before entering: approvals that met the
// quorum by the operator's count but have expired by the time the engine
// looks (or came from someone the policy no longer lets approve) send the
// run back to awaiting approval.
func TestEngineCountsTheQuorumAgain(t *testing.T) {
	h := newHarness(t)
	h.engine.Approvals = approvalPolicyFake{}
	run := fixture("run-1", true)
	run.Stages[1].Approvers = []string{"approver"}
	h.create(run)
	ctx := context.Background()
	asked := 0
	h.clock.onSleep = func() {
		r, _ := h.journal.LoadRun(ctx, "run-1")
		if r.State != RunAwaitingApproval {
			return
		}
		asked++
		by := "mallory" // the operator's default policy lets anyone; the engine's does not
		if asked > 1 {
			by = "carol"
		}
		if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: by}); err != nil {
			t.Error(err)
		}
	}
	r := h.drive("run-1")
	if r.State != RunSucceeded || asked != 2 {
		t.Fatalf("state %s, asked %d times (want 2: mallory's approval does not count)", r.State, asked)
	}
}
