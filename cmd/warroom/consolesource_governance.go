package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/tui"
)

// The console's governance data (Snapshot.Identity, GateResults, Waits,
// Bakes), added to the store's snapshot by consoleSource.Load.
//
// Gate results are the costly part (a release of 1,000 services × 8
// gates is 8,000 results with a reason each), and the console reloads on
// every commit of a run in flight. So the records (evidence, sign-offs,
// waivers: three queries per release) are read again only when the
// organisation changed or an audit event since the last read may have
// touched them, and the results are evaluated again only when the records
// changed or the clock passed an instant that changes one (a waiver's
// expiry, a sign-off's approval_ttl, midnight UTC, which changes how a
// reason writes a time). A Load that finds neither returns the results it
// made before.

// gateCache is what the last evaluation read and made.
type gateCache struct {
	org *model.Org // the organisation (pointer) the scopes were built from
	ix  *model.Index
	// auditSeq is the audit event through which the records are read.
	auditSeq int64
	scopes   map[string]gates.Scope // by release; absent: cannot be scoped
	records  map[string]gates.Records
	results  map[string][]tui.GateResult
	// evaluatedAt and stale: the results hold until stale (the first
	// instant after evaluatedAt at which one of them changes by the clock).
	evaluatedAt time.Time
	stale       time.Time
}

// gateQuietCommands are audit commands that never write gate records nor
// the organisation: a run's transitions and operators' commands, policy
// refusals, plugin trust, change requests. Any other command (apply,
// evidence, gate waive and approve, and any added later) makes the
// source read the records again: unknown is treated as relevant.
func gateQuietCommand(cmd string) bool {
	return strings.HasPrefix(cmd, "deploy") || cmd == "policy refuse" || strings.HasPrefix(cmd, "plugins") ||
		strings.HasPrefix(cmd, "change")
}

// identity is the person at the keyboard for the header.
func consoleIdentity(pol *policy.Policy, id policy.Identity) *tui.Identity {
	if pol == nil {
		return nil
	}
	roles := append(slices.Clone(id.Roles), id.Governance...)
	return &tui.Identity{Person: id.Person, Login: id.Login, Roles: roles, Teams: slices.Clone(id.Teams),
		Open: pol.Mode() == policy.Open}
}

// gateResults brings the cache up to date with snap and returns the
// results by release. Every release is evaluated: the console may focus
// any of them.
func (c *consoleSource) gateResults(ctx context.Context, snap *tui.Snapshot, now time.Time) (map[string][]tui.GateResult, error) {
	g := c.gates
	reread := false
	if g == nil || g.org != snap.Org {
		g = &gateCache{org: snap.Org, scopes: map[string]gates.Scope{}}
		if snap.Org != nil {
			g.ix = model.NewIndex(snap.Org)
			for _, rel := range snap.Org.Releases {
				// A release that cannot be scoped (an environment naming an
				// undeclared gate: only a hand-edited database) gets no
				// results; 'warroom gate status' says why.
				if sc, err := gates.Required(g.ix, rel.Name, ""); err == nil {
					g.scopes[rel.Name] = sc
				}
			}
		}
		reread = true
	} else {
		reread = gateRecordsMoved(snap.Audit, g.auditSeq)
	}
	head := g.auditSeq
	if n := len(snap.Audit); n > 0 {
		head = snap.Audit[n-1].Seq
	}
	if reread {
		// The head is read before the records: a write landing in
		// between is read again on the next Load.
		g.records = make(map[string]gates.Records, len(g.scopes))
		for rel := range g.scopes {
			rec, err := c.st.GateRecords(ctx, rel)
			if err != nil {
				return nil, fmt.Errorf("console: %w", err)
			}
			g.records[rel] = rec
		}
		g.results = nil
	}
	g.auditSeq = head
	if g.results == nil || !now.Before(g.stale) {
		g.evaluate(c.pol, now)
	}
	c.gates = g
	return g.results, nil
}

// gateRecordsMoved reports whether an audit event after seq may have
// written gate records or the organisation; also when events after seq
// are missing from the newest ones read (more happened than were loaded),
// and when none were loaded (a console loading no audit events cannot
// tell, so it reads again).
func gateRecordsMoved(evs []model.AuditEvent, seq int64) bool {
	if len(evs) == 0 {
		return true
	}
	if evs[0].Seq > seq+1 {
		return true
	}
	for _, e := range evs {
		if e.Seq > seq && !gateQuietCommand(e.Command) {
			return true
		}
	}
	return false
}

// evaluate evaluates every release's gates as of now, and when that
// stops holding.
func (g *gateCache) evaluate(pol *policy.Policy, now time.Time) {
	gp := gatesPolicy(pol)
	ttl := gp.ApprovalTTL
	if ttl <= 0 {
		ttl = gates.DefaultApprovalTTL
	}
	y, m, d := now.UTC().Date()
	stale := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	soon := func(t time.Time) {
		if t.After(now) && t.Before(stale) {
			stale = t
		}
	}
	g.results = make(map[string][]tui.GateResult, len(g.scopes))
	for rel, sc := range g.scopes {
		rec := g.records[rel]
		for _, w := range rec.Waivers {
			if !w.Expires.IsZero() {
				soon(w.Expires)
			}
		}
		for _, s := range rec.SignOffs {
			soon(s.At.Add(ttl))
		}
		req := sc.Request("", now)
		req.Policy = gp
		g.results[rel] = consoleGateResults(sc, rec, gates.Evaluate(req, rec), gp, ttl, now)
	}
	g.evaluatedAt, g.stale = now, stale
}

type gateKey struct{ service, gate string }

// consoleGateResults turns evaluated results into the console's, with
// the evidence's format and the sign-offs that count.
func consoleGateResults(sc gates.Scope, rec gates.Records, results []gates.Result, gp gates.Policy, ttl time.Duration, now time.Time) []tui.GateResult {
	kinds := make(map[string]*model.Gate, len(sc.Gates))
	for i := range sc.Gates {
		kinds[sc.Gates[i].Name] = &sc.Gates[i]
	}
	formats := make(map[string]string) // by sha256
	for _, e := range rec.Evidence {
		formats[e.SHA256] = e.Format
	}
	var signOffs map[gateKey][]gates.SignOff
	for _, s := range rec.SignOffs {
		g := kinds[s.Gate]
		if g == nil || !now.Before(s.At.Add(ttl)) || !gp.Counts(s.Approver, g.Approvers) {
			continue
		}
		if signOffs == nil {
			signOffs = map[gateKey][]gates.SignOff{}
		}
		k := gateKey{s.Service, s.Gate}
		signOffs[k] = append(signOffs[k], s)
	}
	out := make([]tui.GateResult, len(results))
	for i, r := range results {
		g := kinds[r.Gate]
		cr := tui.GateResult{Service: r.Service, Gate: r.Gate, State: tui.GateState(r.State), Threshold: r.Threshold, Reason: r.Reason}
		if g != nil {
			cr.NotEvaluated = g.Kind == model.GateRehearsal || g.Kind == model.GateDrift
			cr.Value = gateValueText(g, r.Value)
		}
		if r.EvidenceSHA != "" {
			ev := &tui.GateEvidence{SHA256: r.EvidenceSHA, File: r.File, Format: formats[r.EvidenceSHA], AddedBy: r.AddedBy}
			if r.AddedAt != nil {
				ev.AddedAt = *r.AddedAt
			}
			cr.Evidence = ev
		}
		if w := r.Waiver; w != nil {
			cr.Waiver = &tui.GateWaiver{By: policy.ActorString(w.Via, w.Approver), Reason: w.Reason, At: w.At, Expires: w.Expires}
		}
		if g != nil && g.Kind == model.GateApproval {
			cr.Needed = 1
			for _, s := range signOffs[gateKey{r.Service, r.Gate}] {
				cr.Approvals = append(cr.Approvals, tui.GateSignoff{By: policy.ActorString(s.Via, s.Approver), Reason: s.Reason, At: s.At})
			}
		}
		out[i] = cr
	}
	return out
}

// gateValueText is a measurement in its gate kind's unit: "71.2 %" (pass
// rates, coverage, regressions), "2 high+" (security findings), "1
// sign-off"; "" when nothing was measured.
func gateValueText(g *model.Gate, v *float64) string {
	if v == nil {
		return ""
	}
	n := strconv.FormatFloat(math.Round(*v*10)/10, 'f', -1, 64)
	switch g.Kind {
	case model.GateSecurity:
		sev := g.Severity
		if sev == "" {
			sev = "low"
		}
		return n + " " + sev + "+"
	case model.GateLicence:
		return n + " not allowed"
	case model.GateApproval:
		if *v == 1 {
			return "1 sign-off"
		}
		return n + " sign-offs"
	case model.GateRehearsal, model.GateDrift:
		return ""
	}
	return n + " %"
}

// consoleWaits are what the runs in flight wait on: an approval quorum
// (a run awaiting approval to enter an environment), an operator's
// decision (a canary paused for insufficient evidence), and gates that
// keep a waiting run out of an environment.
func (c *consoleSource) consoleWaits(snap *tui.Snapshot, now time.Time) []tui.Wait {
	var out []tui.Wait
	gp := gatesPolicy(c.pol)
	for _, r := range snap.Runs {
		switch {
		case r.State == deploy.RunAwaitingApproval:
			out = append(out, approvalWait(r, snap.Org, gp, now))
		case r.State == deploy.RunPaused && strings.HasPrefix(r.Reason, deploy.ReasonInsufficient):
			out = append(out, operatorWait(r))
		}
		if w, ok := c.gateWait(r, snap, now); ok {
			out = append(out, w)
		}
	}
	return out
}

// nextEnvOf is the environment of the run's first unfinished step.
func nextEnvOf(r *deploy.Run) string {
	for _, s := range r.Steps {
		if !s.State.Terminal() {
			return s.Env
		}
	}
	return ""
}

// approvalWait is the quorum a run awaiting approval waits on, counted
// as the engine counts it (gates.Quorum: one per person, live, by the
// environment's approvers, never the starter).
func approvalWait(r *deploy.Run, org *model.Org, gp gates.Policy, now time.Time) tui.Wait {
	env := nextEnvOf(r)
	need, approvers := 1, []string(nil)
	if org != nil {
		if e := orgEnvironment(org, env); e != nil {
			need, approvers = e.Quorum(), e.Approvers
		}
	}
	var given []gates.EntryApproval
	for _, a := range r.Approvals {
		if a.Environment == env {
			given = append(given, gates.EntryApproval{By: a.By, At: a.At})
		}
	}
	q := gates.Quorum(given, need, r.StartedBy, approvers, now, gp)
	return tui.Wait{RunID: r.ID, Env: env,
		Approval: &tui.ApprovalWait{Have: q.Have, Need: q.Need, Approvers: slices.Clone(approvers), By: q.Approvers}}
}

// operatorWait is a run paused because a canary's bake ended with
// insufficient evidence: the step that waits, and the judge's words
// ("insufficient evidence: 412 requests, about 1900 more needed ...").
func operatorWait(r *deploy.Run) tui.Wait {
	w := tui.Wait{RunID: r.ID, Operator: r.Reason}
	for i := range r.Steps {
		s := &r.Steps[i]
		if !s.AwaitsOperator() {
			continue
		}
		w.Step, w.Env = s.Index, s.Env
		if ev, ok := s.Judged(); ok && ev.Reason != "" {
			w.Operator = ev.Reason
		}
		break
	}
	return w
}

// gateWait is what a waiting run waits on: the blocking (service, gate,
// reason) list the engine recorded on the run when it stopped at the
// environment's entry (deploy.Run.Wait). The engine's word is the one
// that holds the run, so the console shows it rather than evaluating
// again.
func (c *consoleSource) gateWait(r *deploy.Run, _ *tui.Snapshot, _ time.Time) (tui.Wait, bool) {
	if r.State != deploy.RunWaiting || r.Wait == nil {
		return tui.Wait{}, false
	}
	w := tui.Wait{RunID: r.ID, Env: r.Wait.Env}
	for _, b := range r.Wait.Gates {
		w.Gates = append(w.Gates, tui.GateBlock{Service: b.Service, Gate: b.Gate, Reason: b.Reason, State: tui.GateState(b.State)})
	}
	return w, true
}

var bakeKey = []byte(`"bake"`)

// consoleBakes are the canary steps whose bake was extended (or that
// wait for an operator at the extension's bound), from the bake record
// the engine keeps in each canary step's evidence.
func consoleBakes(runs []*deploy.Run) map[tui.StepRef]tui.BakeExtension {
	var out map[tui.StepRef]tui.BakeExtension
	for _, r := range runs {
		for i := range r.Steps {
			s := &r.Steps[i]
			// Most judged steps were never extended: skip them without
			// decoding their evidence (a train has thousands).
			if s.Strategy != model.Canary || !bytes.Contains(s.Evidence, bakeKey) {
				continue
			}
			ev, ok := s.Judged()
			if !ok || ev.Bake == nil || ev.Bake.Attempt != s.Attempt {
				continue
			}
			x := ev.Bake
			if x.Extensions == 0 && !x.AwaitingOperator {
				continue
			}
			// While the step bakes, the record must be its current
			// weight's: an older weight's extension is over.
			if s.State == deploy.StepBaking && x.Weight != s.Weight {
				continue
			}
			bake := scaledBake(r.Options, s.BakeTime)
			if bake <= 0 {
				continue
			}
			if out == nil {
				out = map[tui.StepRef]tui.BakeExtension{}
			}
			out[tui.StepRef{RunID: r.ID, Step: s.Index}] = tui.BakeExtension{
				Factor: bakeFactor(x.Until.Sub(x.Started), bake),
				Max:    bakeFactor(x.Limit.Sub(x.Started), bake),
				Until:  x.Until,
			}
		}
	}
	return out
}

// scaledBake is a step's bake time as its run bakes it: scaled by the
// run's bake scale, none with no bake (deploy.Options' own rule, which
// the engine keeps unexported).
func scaledBake(o deploy.Options, d model.Duration) time.Duration {
	switch {
	case o.NoBake:
		return 0
	case o.BakeScale <= 0:
		return d.Std()
	}
	return time.Duration(float64(d.Std()) * o.BakeScale)
}

// bakeFactor is d in bake times, to two decimals ("2.5×").
func bakeFactor(d, bake time.Duration) float64 {
	return math.Round(float64(d)/float64(bake)*100) / 100
}
