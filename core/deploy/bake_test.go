package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
)

// canaryRun is a run of one canary step, payments in prod/eu at 10 % then
// 100 %, baking 10 minutes at each weight.
func canaryRun(id string) *Run {
	return &Run{ID: id, Release: "r1", State: RunPending, StartedBy: "alice", Environments: []string{"prod"},
		Stages: []Stage{{Env: "prod", Production: true}}, Options: Options{AutoRollback: true},
		Steps: []Step{{Index: 1, Wave: 1, Kind: KindService, Service: "payments", Env: "prod", Region: "eu",
			FromVersion: "1.0.0", Version: "1.1.0", Strategy: model.Canary, Target: "fake", State: StepPending,
			CanarySteps: []int{10, 100}, BakeTime: model.Duration(10 * time.Minute)}}}
}

// scriptJudge answers by rule, and remembers what it was asked.
type scriptJudge struct {
	mu    sync.Mutex
	clock *fakeClock
	rule  func(req CanaryRequest, now time.Time) Judgement
	reqs  []CanaryRequest
}

func (j *scriptJudge) Judge(_ context.Context, req CanaryRequest) (Judgement, error) {
	j.mu.Lock()
	j.reqs = append(j.reqs, req)
	j.mu.Unlock()
	return j.rule(req, j.clock.Now()), nil
}

// sinceByWeight is the Since of each weight's requests; a weight asked
// with two different Since values fails the test.
func (j *scriptJudge) sinceByWeight(t *testing.T) map[int]time.Time {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[int]time.Time{}
	for _, r := range j.reqs {
		if s, ok := out[r.Weight]; ok && !s.Equal(r.Since) {
			t.Errorf("weight %d asked with Since %s and %s: the bake's start moved", r.Weight, s, r.Since)
		}
		out[r.Weight] = r.Since
	}
	return out
}

const shortfall = `{"verdict":"continue","insufficient":{"requests":800,"more_requests":600,"canary_rps":10,"more_s":60}}`

// inconclusive is a judge that never has a verdict: at the end of every
// bake it says what is missing, as canary.Result.Finish does.
func inconclusive(req CanaryRequest, now time.Time) Judgement {
	if now.Before(req.BakeEnds) {
		return Judgement{Verdict: VerdictContinue, Reason: "not yet proved error rate <= base + 0.5 pp"}
	}
	return Judgement{Verdict: VerdictContinue, Evidence: json.RawMessage(shortfall),
		Reason: "insufficient evidence: 800 canary requests, about 600 more needed (1m0s at the current traffic); not yet proved error rate <= base + 0.5 pp"}
}

// driveUntilPaused drives the run until it pauses (or ends) and returns
// it as committed.
func (h *harness) driveUntilPaused(id string) *Run {
	h.t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	h.clock.onSleep = func() {
		if r, _ := h.journal.LoadRun(context.Background(), id); r.State == RunPaused {
			stop()
		}
	}
	defer func() { h.clock.onSleep = nil }()
	if _, err := h.engine.Drive(ctx, id); err != nil && !errors.Is(err, context.Canceled) {
		h.t.Fatalf("drive: %v", err)
	}
	r, err := h.journal.LoadRun(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func stepEvidence(t *testing.T, s *Step) CanaryEvidence {
	t.Helper()
	var ev CanaryEvidence
	if err := json.Unmarshal(s.Evidence, &ev); err != nil {
		t.Fatalf("step %d evidence %s: %v", s.Index, s.Evidence, err)
	}
	return ev
}

func auditWith(h *harness, parts ...string) []string {
	var out []string
	for _, a := range h.journal.summaries() {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(a, p)
		}
		if all {
			out = append(out, a)
		}
	}
	return out
}

// An inconclusive bake is extended, bounded by bake_extension x bake_time
// or by the release window, then the run pauses for an operator: the
// canary is never promoted on the clock.
func TestAnInconclusiveBakeIsExtendedThenWaitsForAnOperator(t *testing.T) {
	start := newFakeClock().Now() // the canary's first shift: nothing before it sleeps
	at := func(d time.Duration) *time.Time { t := start.Add(d); return &t }
	cases := []struct {
		name      string
		factor    float64
		window    *time.Time
		outside   string
		scale     float64
		wantLimit time.Duration // after the weight's bake started
		wantBy    string
		extends   bool
	}{
		{name: "default factor 4", wantLimit: 40 * time.Minute, wantBy: "bake_extension 4 x 10m0s", extends: true},
		{name: "factor 2", factor: 2, wantLimit: 20 * time.Minute, wantBy: "bake_extension 2 x 10m0s", extends: true},
		{name: "factor 1 never extends", factor: 1, wantLimit: 10 * time.Minute, wantBy: "bake_extension 1 x 10m0s"},
		{name: "the window ends first", window: at(25 * time.Minute), wantLimit: 25 * time.Minute, wantBy: "the release window ends", extends: true},
		{name: "the window ends within the bake", window: at(5 * time.Minute), wantLimit: 5 * time.Minute, wantBy: "the release window ends"},
		{name: "outside the window on purpose", window: at(5 * time.Minute), outside: "incident 42", wantLimit: 40 * time.Minute, wantBy: "bake_extension 4", extends: true},
		{name: "bake scale", scale: 0.01, wantLimit: 24 * time.Second, wantBy: "bake_extension 4 x 6s", extends: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			j := &scriptJudge{clock: h.clock, rule: inconclusive}
			h.engine.Judge = j
			r := canaryRun("run-1")
			r.Steps[0].BakeExtension = c.factor
			r.WindowEnd, r.Options.OutsideWindow, r.Options.BakeScale = c.window, c.outside, c.scale
			h.create(r)
			r = h.driveUntilPaused("run-1")

			if r.State != RunPaused || !strings.HasPrefix(r.Reason, "insufficient evidence: 800 canary requests, about 600 more needed") {
				t.Fatalf("run %s, reason %q", r.State, r.Reason)
			}
			for _, want := range []string{"step 1 (payments 1.1.0 in prod/eu) at 10%", "waits for an operator", "'warroom deploy continue run-1' promotes it without proof", "deploy rollback run-1"} {
				if !strings.Contains(r.Reason, want) {
					t.Errorf("reason %q does not say %q", r.Reason, want)
				}
			}
			s := &r.Steps[0]
			if s.State != StepBaking || s.Weight != 10 || !s.AwaitsOperator() {
				t.Fatalf("step %s at %d%%, awaits operator %v", s.State, s.Weight, s.AwaitsOperator())
			}
			if got := h.target.callsOf("traffic "); len(got) != 1 {
				t.Errorf("traffic shifted %v: only 10%% may have been", got)
			}
			ev := stepEvidence(t, s)
			x := ev.Bake
			if !x.Started.Equal(start) || !x.Limit.Equal(start.Add(c.wantLimit)) || !strings.HasPrefix(x.LimitBy, c.wantBy) {
				t.Errorf("extension started %s limit %s by %q; want %s, %s by %q", x.Started, x.Limit, x.LimitBy, start, start.Add(c.wantLimit), c.wantBy)
			}
			if !strings.HasPrefix(ev.Reason, ReasonInsufficient) || !strings.Contains(string(ev.Evidence), `"more_requests":600`) {
				t.Errorf("the step's evidence lost the judge's: %s", s.Evidence)
			}
			// The judge was asked until the limit and not after it; each
			// extension was audited with the judge's shortfall.
			if since := j.sinceByWeight(t); !since[10].Equal(start) {
				t.Errorf("judge asked with Since %s, want the bake's start %s", since[10], start)
			}
			ext := auditWith(h, "bake extended to", "because the judge has no verdict: insufficient evidence: 800 canary requests, about 600 more needed")
			if x.Extensions != len(ext) {
				t.Errorf("%d extensions recorded, %d audited", x.Extensions, len(ext))
			}
			if c.extends && len(ext) == 0 {
				t.Error("the bake was not extended")
			}
			if !c.extends && len(ext) > 0 {
				t.Errorf("extended %d times with no room to: %v", len(ext), ext)
			}
			if now := h.clock.Now(); now.Before(x.Limit) {
				t.Errorf("paused at %s, before the limit %s", now, x.Limit)
			}
			if got := auditWith(h, "promoted"); len(got) > 0 {
				t.Errorf("promoted on the clock: %v", got)
			}
		})
	}
}

// A proof that comes during an extension promotes the weight at the look
// that finds it: the extension waits for proof, not for its own end.
func TestAProofDuringAnExtensionPromotesAtOnce(t *testing.T) {
	h := newHarness(t)
	start := h.clock.Now()
	proved := start.Add(13 * time.Minute) // 3 minutes into the extension
	var promotedAt time.Time              // of the 10 % weight
	h.engine.Judge = &scriptJudge{clock: h.clock, rule: func(req CanaryRequest, now time.Time) Judgement {
		if !now.Before(req.BakeEnds) && !now.Before(proved) {
			if req.Weight == 10 && promotedAt.IsZero() {
				promotedAt = now
			}
			return Judgement{Verdict: VerdictPromote, Reason: "bake over, promoted on proof"}
		}
		// The judge cannot tell how long it needs: the extension goes to
		// the bound at once.
		return inconclusiveUnbounded(req, now)
	}}
	r := canaryRun("run-1")
	h.create(r)
	r = h.drive("run-1")
	if r.State != RunSucceeded {
		t.Fatalf("run %s: %s", r.State, r.Reason)
	}
	if promotedAt.IsZero() || promotedAt.Before(proved) || promotedAt.After(proved.Add(2*h.engine.poll())) {
		t.Errorf("the 10%% weight was promoted at %s; proved at %s, the bound is %s", promotedAt, proved, start.Add(40*time.Minute))
	}
}

// inconclusiveUnbounded is inconclusive with a shortfall the current
// traffic cannot make up (no more_s): the engine extends to its bound.
func inconclusiveUnbounded(req CanaryRequest, now time.Time) Judgement {
	if now.Before(req.BakeEnds) {
		return Judgement{Verdict: VerdictContinue, Reason: "not yet proved error rate <= base + 0.5 pp"}
	}
	return Judgement{Verdict: VerdictContinue, Reason: "insufficient evidence: 10 canary requests, more than the current rates can prove"}
}

// The operator's 'deploy continue' promotes a weight that waits, audited
// as the operator's decision naming the insufficient evidence; the 100 %
// weight is judged by the same rules; resume decides nothing.
func TestAnOperatorPromotesAWeightThatWaits(t *testing.T) {
	h := newHarness(t)
	j := &scriptJudge{clock: h.clock, rule: inconclusive}
	h.engine.Judge = j
	h.create(canaryRun("run-1"))
	ctx := context.Background()

	r := h.driveUntilPaused("run-1")
	if !r.Steps[0].AwaitsOperator() || r.Steps[0].Weight != 10 {
		t.Fatalf("not waiting at 10%%: %s %q", r.State, r.Reason)
	}
	// Resume drives the run here but leaves the decision to an operator.
	got, err := h.ops.Do(ctx, OperatorRequest{Command: CmdResume, RunID: "run-1", Actor: "bob"})
	if err != nil || got.State != RunPaused || !strings.HasPrefix(got.Reason, ReasonInsufficient) {
		t.Fatalf("resume: %v, run %s %q", err, got.State, got.Reason)
	}
	if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "carol"}); err != nil {
		t.Fatal(err)
	}
	if a := auditWith(h, "deploy continue: continued run run-1", "canary at 10% promoted by carol on insufficient evidence"); len(a) != 1 {
		t.Errorf("the operator's promotion is not audited:\n%s", strings.Join(h.journal.summaries(), "\n"))
	}

	// At 100 % the same: extended, then waits.
	r = h.driveUntilPaused("run-1")
	s := &r.Steps[0]
	if r.State != RunPaused || s.Weight != 100 || !s.AwaitsOperator() || !strings.Contains(r.Reason, "at 100%") {
		t.Fatalf("at 100%%: run %s %q, step at %d%% awaits %v", r.State, r.Reason, s.Weight, s.AwaitsOperator())
	}
	if since := j.sinceByWeight(t); !since[100].After(since[10]) {
		t.Errorf("the 100%% bake's start %s is not after the 10%% one's %s", since[100], since[10])
	}
	if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "carol"}); err != nil {
		t.Fatal(err)
	}
	r = h.drive("run-1")
	s = &r.Steps[0]
	if r.State != RunSucceeded || s.State != StepDone || !strings.Contains(s.Progress, "promoted by carol on insufficient evidence") {
		t.Fatalf("run %s %q; step %s %q", r.State, r.Reason, s.State, s.Progress)
	}
	ev := stepEvidence(t, s)
	if ev.Verdict != VerdictPromote || ev.Bake == nil || ev.Bake.PromotedBy != "carol" || ev.Bake.AwaitingOperator ||
		!strings.Contains(ev.Reason, "promoted by carol without proof") || !strings.Contains(ev.Reason, "the judge said: insufficient evidence") {
		t.Errorf("evidence after the operator's promotion: %s", s.Evidence)
	}
}

// While the bake is extended the judge still rules: a rollback verdict
// rolls the run back; an operator's rollback of a waiting run too.
func TestRollbackDuringAnExtension(t *testing.T) {
	t.Run("the judge's verdict", func(t *testing.T) {
		h := newHarness(t)
		start := h.clock.Now()
		h.engine.Judge = &scriptJudge{clock: h.clock, rule: func(req CanaryRequest, now time.Time) Judgement {
			if now.Sub(start) > 15*time.Minute {
				return Judgement{Verdict: VerdictRollback, Reason: "error_rate: 6 % on the canary vs 0.2 % on the baseline; e-value 130 >= 100"}
			}
			return inconclusive(req, now)
		}}
		h.create(canaryRun("run-1"))
		r := h.drive("run-1")
		if r.State != RunRolledBack || !strings.Contains(r.Reason, "canary judged worse than baseline: error_rate: 6 %") {
			t.Fatalf("run %s %q", r.State, r.Reason)
		}
		if len(auditWith(h, "bake extended to")) == 0 {
			t.Error("the rollback did not come during an extension")
		}
		if got := auditWith(h, "promoted"); len(got) > 0 {
			t.Errorf("promoted: %v", got)
		}
	})
	t.Run("the operator's", func(t *testing.T) {
		h := newHarness(t)
		h.engine.Judge = &scriptJudge{clock: h.clock, rule: inconclusive}
		h.create(canaryRun("run-1"))
		h.driveUntilPaused("run-1")
		if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdRollback, RunID: "run-1", Actor: "carol", Reason: "not enough traffic to tell"}); err != nil {
			t.Fatal(err)
		}
		r := h.drive("run-1")
		if r.State != RunRolledBack || r.Steps[0].State != StepRolledBack {
			t.Fatalf("run %s %q, step %s", r.State, r.Reason, r.Steps[0].State)
		}
	})
}

// Without a judge (canary_judge: none) a canary goes on when its bake
// time is over, as documented; with one, a judge's error is no verdict.
func TestAJudgelessCanaryGoesOnWithTheClock(t *testing.T) {
	h := newHarness(t)
	h.create(canaryRun("run-1"))
	r := h.drive("run-1")
	if r.State != RunSucceeded {
		t.Fatalf("run %s %q", r.State, r.Reason)
	}
	if got := h.target.callsOf("traffic "); len(got) != 2 {
		t.Errorf("traffic %v, want 10%% then 100%%", got)
	}
	if n := len(auditWith(h, "(bake time over)")); n != 2 {
		t.Errorf("%d promotions on bake time, want 2:\n%s", n, strings.Join(h.journal.summaries(), "\n"))
	}
}

type brokenJudge struct{}

func (brokenJudge) Judge(context.Context, CanaryRequest) (Judgement, error) {
	return Judgement{}, errors.New("monitoring source unreachable")
}

func TestAJudgeThatCannotJudgeNeverPromotes(t *testing.T) {
	h := newHarness(t)
	h.engine.Judge = brokenJudge{}
	h.create(canaryRun("run-1"))
	r := h.driveUntilPaused("run-1")
	if r.State != RunPaused || !strings.HasPrefix(r.Reason, "insufficient evidence: the canary judge could not judge: monitoring source unreachable") {
		t.Fatalf("run %s %q", r.State, r.Reason)
	}
	if got := h.target.callsOf("traffic "); len(got) != 1 {
		t.Errorf("traffic %v", got)
	}
}

// A process that dies during an extension leaves it in the step's
// record: the next driver goes on with the same start and bound, and the
// judge's proof still promotes.
// TestARestartDuringAnExtensionBakesAgain: a new process's judge has no
// memory of the evidence gathered before (it lives in the process that
// gathered it), so the weight bakes again, from the takeover, with its
// full bound: judged on the old clock it would wait for an operator on no
// evidence at all.
func TestARestartDuringAnExtensionBakesAgain(t *testing.T) {
	h := newHarness(t)
	start := h.clock.Now()
	h.engine.Judge = &scriptJudge{clock: h.clock, rule: inconclusive}
	h.create(canaryRun("run-1"))
	ctx, crash := context.WithCancel(context.Background())
	h.clock.onSleep = func() {
		if r, _ := h.journal.LoadRun(context.Background(), "run-1"); r.Steps[0].Extension() != nil && r.Steps[0].Extension().Extensions == 2 {
			crash()
		}
	}
	if _, err := h.engine.Drive(ctx, "run-1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("first drive: %v", err)
	}
	h.clock.onSleep = nil
	r, _ := h.journal.LoadRun(context.Background(), "run-1")
	before := *r.Steps[0].Extension()

	// A new process, a new judge with no memory, after the lease expired.
	h.clock.Sleep(context.Background(), time.Minute) //nolint:errcheck
	j := &scriptJudge{clock: h.clock, rule: inconclusive}
	h.engine = &Engine{Journal: h.journal, Targets: h.target, Clock: h.clock, Owner: "test:2", Poll: time.Second, Judge: j}
	restart := h.clock.Now()
	r = h.driveUntilPaused("run-1")
	x := r.Steps[0].Extension()
	if x == nil || !x.AwaitingOperator || x.Started.Before(restart) || !x.Limit.Equal(x.Started.Add(4*10*time.Minute)) || !x.Started.After(before.Started) {
		t.Fatalf("after the restart: %+v; before it: %+v (restart at %s)", x, before, restart)
	}
	if since := j.sinceByWeight(t); since[10].Before(restart) {
		t.Errorf("the new judge was asked from %s, before the takeover at %s", since[10], restart)
	}
	if !slices.ContainsFunc(h.journal.summaries(), func(a string) bool { return strings.Contains(a, "bake begun again") }) {
		t.Errorf("the new bake is not audited:\n%s", strings.Join(h.journal.summaries(), "\n"))
	}
	_ = start

	// Proof after a restart promotes as usual.
	h.engine.Judge = &scriptJudge{clock: h.clock, rule: func(req CanaryRequest, now time.Time) Judgement {
		if !now.Before(req.BakeEnds) {
			return Judgement{Verdict: VerdictPromote, Reason: "bake time over; proved error rate <= base + 0.5 pp"}
		}
		return Judgement{Verdict: VerdictContinue}
	}}
	if _, err := h.ops.Do(context.Background(), OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "carol"}); err != nil {
		t.Fatal(err)
	}
	if r = h.drive("run-1"); r.State != RunSucceeded {
		t.Fatalf("run %s %q", r.State, r.Reason)
	}
	if !slices.ContainsFunc(h.journal.summaries(), func(a string) bool { return strings.Contains(a, "done (judge: bake time over; proved") }) {
		t.Errorf("the 100%% weight was not promoted by the judge:\n%s", strings.Join(h.journal.summaries(), "\n"))
	}
}

// A weight that waits is promoted only by continuing a run paused for
// insufficient evidence: continuing a run an operator paused for another
// reason (a pause that crossed the engine's) judges it again, and it
// pauses the run again with its reason.
func TestContinuingARunPausedForAnotherReasonDoesNotPromote(t *testing.T) {
	h := newHarness(t)
	h.engine.Judge = &scriptJudge{clock: h.clock, rule: inconclusive}
	h.create(canaryRun("run-1"))
	ctx := context.Background()
	r := h.driveUntilPaused("run-1")
	hdr := r.Header()
	hdr.Reason = "paused by bob: lunch"
	if _, err := h.journal.Apply(ctx, Change{RunID: "run-1", Header: &hdr}, Audit{Actor: "bob", Command: "deploy pause"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ops.Do(ctx, OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	r = h.driveUntilPaused("run-1")
	if r.State != RunPaused || !strings.HasPrefix(r.Reason, ReasonInsufficient) || !r.Steps[0].AwaitsOperator() || r.Steps[0].Weight != 10 {
		t.Fatalf("run %s %q; step at %d%%", r.State, r.Reason, r.Steps[0].Weight)
	}
	if got := auditWith(h, "promoted"); len(got) > 0 {
		t.Errorf("promoted: %v", got)
	}
}
