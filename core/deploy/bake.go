package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/core/model"
)

// ReasonInsufficient starts the reason of a judged canary whose bake
// ended with neither proof that it is safe nor proof of harm (the canary
// judge's reason starts the same way).
const ReasonInsufficient = "insufficient evidence"

// CanaryEvidence is a judged canary step's evidence (Step.Evidence): the
// judge's judgement that decided its latest weight, or that extended its
// bake, and where the extension stands. Its JSON is the judgement's
// (verdict, reason, evidence) with "bake" beside them.
type CanaryEvidence struct {
	Judgement
	Bake *BakeExtension `json:"bake,omitempty"`
}

// BakeExtension is a canary weight's bake beyond its bake time. It is kept
// in the step's evidence, in the step's own record, so a restart or a
// takeover goes on with the same bound.
type BakeExtension struct {
	Weight  int `json:"weight"`
	Attempt int `json:"attempt"`
	// Started is when this weight's bake began: the bound is counted from
	// it, and the judge is asked about the traffic since.
	Started time.Time `json:"started"`
	// Extensions counts the bake's extensions.
	Extensions int       `json:"extensions"`
	Until      time.Time `json:"until"` // the bake's end after the latest extension
	// Limit is the latest the bake may end: Started + bake_extension x
	// the bake time, or the end of the release window if earlier.
	Limit   time.Time `json:"limit"`
	LimitBy string    `json:"limit_by"`
	// AwaitingOperator: the bake reached Limit with no verdict; the run is
	// paused until an operator promotes the weight ('deploy continue') or
	// rolls the run back.
	AwaitingOperator bool `json:"awaiting_operator,omitempty"`
	// PromotedBy names the operator who promoted the weight without proof.
	PromotedBy string `json:"promoted_by,omitempty"`
}

// canaryEvidence decodes the step's evidence as a canary's, if it is one.
func (s *Step) canaryEvidence() (CanaryEvidence, bool) {
	var ev CanaryEvidence
	if len(s.Evidence) == 0 || s.Evidence[0] != '{' || json.Unmarshal(s.Evidence, &ev) != nil || ev.Verdict == "" {
		return CanaryEvidence{}, false
	}
	return ev, true
}

// Judged returns a canary step's evidence when a judge ruled on it (or an
// operator promoted it over the judge's insufficient evidence).
func (s *Step) Judged() (CanaryEvidence, bool) {
	if s.Strategy != model.Canary {
		return CanaryEvidence{}, false
	}
	return s.canaryEvidence()
}

// Extension returns the extension of the step's current bake, or nil
// when its bake was not extended.
func (s *Step) Extension() *BakeExtension {
	if s.Strategy != model.Canary || s.State != StepBaking || s.BakeUntil == nil {
		return nil
	}
	ev, ok := s.canaryEvidence()
	if !ok || ev.Bake == nil || ev.Bake.Weight != s.Weight || ev.Bake.Attempt != s.Attempt {
		return nil
	}
	return ev.Bake
}

// AwaitsOperator reports whether the step's canary weight baked as long
// as it may with no verdict and waits for an operator's decision.
func (s *Step) AwaitsOperator() bool {
	x := s.Extension()
	return x != nil && x.AwaitingOperator
}

// bakeLimit is the latest a canary weight whose bake started at started
// may bake to: bake_extension x its bake time in all, and never past the
// end of the release window (unless the run was started outside its
// window on purpose).
func (r *Run) bakeLimit(s *Step, started time.Time, bake time.Duration) (time.Time, string) {
	f := s.BakeExtension
	switch {
	case f == 0:
		f = model.DefaultBakeExtension
	case f < 1:
		f = 1
	}
	limit := started.Add(time.Duration(f * float64(bake)))
	by := fmt.Sprintf("bake_extension %g x %s", f, bake)
	if r.WindowEnd != nil && r.Options.OutsideWindow == "" && r.WindowEnd.Before(limit) {
		limit = *r.WindowEnd
		by = "the release window ends " + r.WindowEnd.UTC().Format("2006-01-02 15:04 UTC")
	}
	return limit, by
}

// judgeCanary asks the judge about a canary weight in its bake, and acts
// on the verdict. The judge promotes only on proof, at the end of the
// bake; a bake that ends with no verdict (the judge's continue, or a
// judge that cannot judge) is extended, then waits for an operator: a
// judged canary is never promoted on the clock.
func (e *Engine) judgeCanary(ctx context.Context, d *driven, s *Step, now time.Time, bake time.Duration) error {
	r := d.r
	x := s.Extension()
	started := s.BakeUntil.Add(-bake)
	if x != nil {
		started = x.Started
	}
	if d.firstLook(s.Index) && started.Before(d.since) {
		return e.rebake(ctx, d, s, now, bake)
	}
	ends := *s.BakeUntil
	if x != nil {
		// Extended: the bake time, the weight's minimum soak, is over, and
		// the extension only waits for proof; a proof promotes at the look
		// that finds it, not at the extension's end (which, when the judge
		// could not tell how long it needs, is the bound itself).
		ends = started.Add(bake)
	}
	j, err := e.Judge.Judge(ctx, CanaryRequest{
		RunID: r.ID, Step: s.Index, Service: s.Service, Environment: s.Env, Region: s.Region,
		Baseline: s.FromVersion, Canary: s.Version, Weight: s.Weight,
		Since: started, BakeEnds: ends,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// No reading is no evidence: the bake goes on as if the judge had
		// said continue.
		j = Judgement{Verdict: VerdictContinue, Reason: "the canary judge could not judge: " + err.Error()}
	}
	switch j.Verdict {
	case VerdictRollback:
		return e.fail(ctx, d, s, StepBaking, "canary judged worse than baseline: "+j.Reason, j)
	case VerdictPause:
		return e.commit(ctx, d, 0, "", RunRunning, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
			h.State = RunPaused
			h.Reason = fmt.Sprintf("canary of step %d (%s) paused by the judge: %s", s.Index, s.Describe(), j.Reason)
			return h.Reason, j
		})
	case VerdictPromote:
		return e.promote(ctx, d, s, "judge: "+j.Reason, &j)
	}
	if now.Before(*s.BakeUntil) {
		return e.Clock.Sleep(ctx, min(s.BakeUntil.Sub(now), e.poll()))
	}
	return e.extend(ctx, d, s, j, x, started, bake, now)
}

// firstLook reports whether this driver has not judged step i before,
// and marks it judged.
func (d *driven) firstLook(i int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.judged[i] {
		return false
	}
	if d.judged == nil {
		d.judged = map[int]bool{}
	}
	d.judged[i] = true
	return true
}

// rebake begins a canary weight's bake again when this driver took the
// run over mid-bake (a restart, a takeover): the judge's evidence lives
// in the process that gathered it, so the new judge starts from nothing,
// and judging it against the old bake's clock and bound would wait for
// an operator on no evidence at all. The weight bakes for its full bake
// time again, with its full extension; audited.
func (e *Engine) rebake(ctx context.Context, d *driven, s *Step, now time.Time, bake time.Duration) error {
	return e.commit(ctx, d, s.Index, StepBaking, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
		until := now.Add(bake)
		s.BakeUntil = &until
		if ev, ok := s.canaryEvidence(); ok && ev.Bake != nil {
			// The extension record belonged to the old bake.
			ev.Bake = nil
			if b, err := json.Marshal(ev); err == nil {
				s.Evidence = b
			}
		}
		s.Progress = fmt.Sprintf("canary %d%%, baking again until %s (taken over mid-bake)", s.Weight, clock(until))
		return fmt.Sprintf("step %d %s: canary at %d%%: bake begun again, until %s: this process took the run over mid-bake, and the canary judge's evidence does not outlive the process that gathered it",
			s.Index, s.Describe(), s.Weight, clock(until)), nil
	})
}

// extend handles a judged canary weight whose bake is over with no
// verdict: its bake is extended by about the time the judge says it
// still needs (at least a quarter of the bake time), up to the bound;
// at the bound the run pauses and the step waits for an operator.
// Each is one audited commit with the judge's reason and evidence.
func (e *Engine) extend(ctx context.Context, d *driven, s *Step, j Judgement, x *BakeExtension, started time.Time, bake time.Duration, now time.Time) error {
	r := d.r
	limit, by := r.bakeLimit(s, started, bake)
	n := 0
	if x != nil {
		n = x.Extensions
	}
	ext := BakeExtension{Weight: s.Weight, Attempt: s.Attempt, Started: started, Extensions: n, Until: *s.BakeUntil, Limit: limit, LimitBy: by}
	if now.Before(limit) {
		// A few looks of the judge at least: a scaled-down bake (a demo's)
		// would otherwise be extended, and audited, at every look.
		until := now.Add(max(bake/4, moreNeeded(j)*5/4, 4*e.poll()))
		if until.After(limit) {
			until = limit
		}
		ext.Extensions++
		ext.Until = until
		ev := CanaryEvidence{Judgement: j, Bake: &ext}
		evidence, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("step %d: encoding the judge's evidence: %w", s.Index, err)
		}
		return e.commit(ctx, d, s.Index, StepBaking, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
			s.BakeUntil = &until
			s.Evidence = evidence
			s.Progress = fmt.Sprintf("canary %d%%, bake extended to %s (at most %s): no verdict yet", s.Weight, clock(until), clock(limit))
			what := fmt.Sprintf("step %d %s: canary at %d%%: bake extended to %s (extension %d; at most until %s, %s) because the judge has no verdict: %s",
				s.Index, s.Describe(), s.Weight, clock(until), ext.Extensions, clock(limit), by, j.Reason)
			return what, map[string]any{"run": r.ID, "step": s.Index, "service": s.Service, "env": s.Env, "region": s.Region,
				"weight": s.Weight, "extension": ext.Extensions, "bake_until": until, "limit": limit, "limit_by": by,
				"reason": j.Reason, "evidence": ev}
		})
	}
	reason := j.Reason
	if !strings.HasPrefix(reason, ReasonInsufficient) {
		reason = ReasonInsufficient + ": " + reason
	}
	j.Reason = reason
	ext.AwaitingOperator = true
	ev := CanaryEvidence{Judgement: j, Bake: &ext}
	evidence, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("step %d: encoding the judge's evidence: %w", s.Index, err)
	}
	return e.commit(ctx, d, s.Index, StepBaking, RunRunning, "deploy engine", func(h *RunHeader, s *Step) (string, any) {
		s.Evidence = evidence
		s.Progress = fmt.Sprintf("canary %d%%: waits for an operator (%s)", s.Weight, ReasonInsufficient)
		h.State = RunPaused
		h.Reason = fmt.Sprintf("%s; step %d (%s) at %d%% baked %s (%s) with no verdict and waits for an operator: "+
			"'warroom deploy continue %s' promotes it without proof, 'warroom deploy rollback %s' rolls the run back",
			reason, s.Index, s.Describe(), s.Weight, now.Sub(started).Round(time.Second), by, r.ID, r.ID)
		return h.Reason, map[string]any{"run": r.ID, "step": s.Index, "service": s.Service, "env": s.Env, "region": s.Region,
			"weight": s.Weight, "limit": limit, "limit_by": by, "reason": reason, "evidence": ev, "state": h.State}
	})
}

// moreNeeded is the time the judge's evidence says the proof still needs
// at the current traffic (its insufficient.more_s), or 0.
func moreNeeded(j Judgement) time.Duration {
	var ev struct {
		Insufficient *struct {
			MoreS float64 `json:"more_s"`
		} `json:"insufficient"`
	}
	if len(j.Evidence) == 0 || json.Unmarshal(j.Evidence, &ev) != nil || ev.Insufficient == nil || !(ev.Insufficient.MoreS > 0) {
		return 0
	}
	// A day at most: the bound cuts it anyway, and a duration must not
	// overflow.
	return time.Duration(min(ev.Insufficient.MoreS, 86400) * float64(time.Second))
}

// promoteByOperator promotes a canary weight that waits for an operator
// after its bake ended with insufficient evidence: the operator's
// decision, kept in the step's evidence beside the judge's reason.
func promoteByOperator(s *Step, actor string, now time.Time) (string, map[string]any) {
	ev, _ := s.canaryEvidence()
	judged := ev.Reason
	ev.Verdict = VerdictPromote
	ev.Reason = fmt.Sprintf("promoted by %s without proof ('deploy continue'); the judge said: %s", actor, judged)
	if ev.Bake != nil {
		ev.Bake.AwaitingOperator = false
		ev.Bake.PromotedBy = actor
	}
	s.Evidence, _ = json.Marshal(ev)
	w := s.Weight
	var what string
	if w < 100 {
		s.BakeUntil = nil
		s.Progress = shifting(s.nextWeight())
		what = fmt.Sprintf("step %d (%s): canary at %d%% promoted by %s on insufficient evidence; shifting %d%% of traffic to it", s.Index, s.Describe(), w, actor, s.nextWeight())
	} else {
		s.State = StepDone
		s.Progress = "done (promoted by " + actor + " on insufficient evidence)"
		s.EndedAt = &now
		s.BakeUntil = nil
		what = fmt.Sprintf("step %d (%s): canary at 100%% promoted by %s on insufficient evidence; done", s.Index, s.Describe(), actor)
	}
	return what, map[string]any{"step": s.Index, "service": s.Service, "env": s.Env, "region": s.Region, "weight": w,
		"judge_reason": judged, "evidence": ev}
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }
