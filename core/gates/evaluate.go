package gates

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/core/model"
)

// Request says what to evaluate: the gates a release's services must
// pass, as of Now, under a policy.
type Request struct {
	Release  string
	Services []string     // the release's scope, in the order results come
	Gates    []model.Gate // the gates required, in the order results come
	// Env is the environment the gates are required by: a waiver given
	// for another environment does not count. "" (a report across
	// environments) counts every waiver.
	Env string
	Now time.Time
	Policy
}

// Policy is what the organisation's policy says about sign-offs.
//
// Open and MayApprove == nil are two rules, not one: MayApprove is the
// approvers check (who may sign off), Open turns off the four-eyes check
// (the starter's own approval counts). Every policy a caller builds from
// the organisation sets both together (open: Open and no MayApprove;
// enforced: MayApprove and not Open), but the zero Policy is neither:
// the deploy engine without an approval policy, or when it cannot read
// one, counts approvals the CLI has already checked against the
// approvers (MayApprove nil) and still keeps the run's starter from
// approving it (Open false). Folding Open into MayApprove == nil would
// let the starter approve their own run there.
type Policy struct {
	// ApprovalTTL is how long a sign-off counts (policy approval_ttl);
	// 0 means DefaultApprovalTTL.
	ApprovalTTL time.Duration
	// MayApprove reports whether person may sign off or waive a gate
	// that names approvers (roles or teams); a sign-off or waiver by
	// someone who may not (any more) does not count. nil: everybody may
	// (open mode, or a caller that checked already).
	MayApprove func(person string, approvers []string) bool
	// Open is open mode (no people declared): anyone may do anything, so
	// the four-eyes rule is not applied, as the store does not apply it
	// (identities are whatever --as says; the rule could hold no one).
	Open bool
}

// Evaluate returns the result of every (service, gate) of the request,
// services outer and gates inner, in the request's order. It is pure and
// linear in the records: index once, look up per cell.
func Evaluate(req Request, rec Records) []Result {
	if req.ApprovalTTL <= 0 {
		req.ApprovalTTL = DefaultApprovalTTL
	}
	ix := index(req, rec)
	out := make([]Result, 0, len(req.Services)*len(req.Gates))
	for _, svc := range req.Services {
		for i := range req.Gates {
			out = append(out, evaluate(req, ix, svc, &req.Gates[i]))
		}
	}
	return out
}

// Blocking returns the results that do not clear.
func Blocking(results []Result) []Result {
	var out []Result
	for _, r := range results {
		if !r.Clears() {
			out = append(out, r)
		}
	}
	return out
}

type key struct{ service, gate string }

type indexed struct {
	evidence map[key]*Evidence
	signOffs map[key][]*SignOff // newest first
	waivers  map[key][]*Waiver  // newest first
}

func index(req Request, rec Records) indexed {
	ix := indexed{
		evidence: make(map[key]*Evidence, len(rec.Evidence)),
		signOffs: map[key][]*SignOff{},
		waivers:  map[key][]*Waiver{},
	}
	for i := range rec.Evidence {
		e := &rec.Evidence[i]
		if e.Release != req.Release {
			continue
		}
		k := key{e.Service, e.Gate}
		if cur := ix.evidence[k]; cur == nil || newer(e.AddedAt, e.ID, cur.AddedAt, cur.ID) {
			ix.evidence[k] = e
		}
	}
	for i := len(rec.SignOffs) - 1; i >= 0; i-- {
		s := &rec.SignOffs[i]
		if s.Release == req.Release {
			k := key{s.Service, s.Gate}
			ix.signOffs[k] = append(ix.signOffs[k], s)
		}
	}
	for i := len(rec.Waivers) - 1; i >= 0; i-- {
		w := &rec.Waivers[i]
		if w.Release == req.Release && (req.Env == "" || w.Env == "" || w.Env == req.Env) {
			k := key{w.Service, w.Gate}
			ix.waivers[k] = append(ix.waivers[k], w)
		}
	}
	return ix
}

func newer(at time.Time, id int64, than time.Time, thanID int64) bool {
	if !at.Equal(than) {
		return at.After(than)
	}
	return id > thanID
}

func evaluate(req Request, ix indexed, svc string, g *model.Gate) Result {
	r := Result{Release: req.Release, Service: svc, Gate: g.Name, Kind: g.Kind}
	k := key{svc, g.Name}
	switch g.Kind {
	case model.GateRehearsal, model.GateDrift:
		r.State = Missing
		r.Reason = fmt.Sprintf("%s: not evaluated yet (%s gates are evaluated by later work)", g.Name, g.Kind)
	case model.GateApproval:
		signOff(req, ix.signOffs[k], g, &r)
	default:
		measured(req, ix.evidence[k], g, &r)
	}
	if r.State != Pass {
		waive(req, ix.waivers[k], g, &r)
	}
	return r
}

// measured sets an evidence kind's result from the current evidence.
func measured(req Request, e *Evidence, g *model.Gate, r *Result) {
	if e == nil {
		r.State = Missing
		r.Threshold = Threshold(g)
		r.Reason = fmt.Sprintf("no %s evidence yet: add it with 'warroom evidence add %s --service %s --gate %s FILE'",
			g.Kind, req.Release, r.Service, g.Name)
		return
	}
	v := e.Value
	at := e.AddedAt
	r.Value, r.Threshold = &v, e.Threshold
	r.EvidenceSHA, r.File, r.AddedBy, r.AddedAt = e.SHA256, e.File, e.AddedBy, &at
	r.State = Fail
	if e.Pass {
		r.State = Pass
	}
	r.Reason = e.Summary + " (" + provenance(req.Now, e) + ")"
}

// provenance is "cover.out sha256:ab12…, added by alice 12:03".
func provenance(now time.Time, e *Evidence) string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteString(" sha256:")
	b.WriteString(ShortHash(e.SHA256))
	if e.BaselineSHA256 != "" {
		fmt.Fprintf(&b, " against %s sha256:%s", e.BaselineFile, ShortHash(e.BaselineSHA256))
	}
	fmt.Fprintf(&b, ", added by %s %s", e.AddedBy, When(now, e.AddedAt))
	return b.String()
}

// signOff sets an approval kind's result from its newest sign-off that
// counts.
func signOff(req Request, list []*SignOff, g *model.Gate, r *Result) {
	r.Threshold = "1 sign-off"
	if len(g.Approvers) > 0 {
		r.Threshold += " by " + strings.Join(g.Approvers, " or ")
	}
	zero := 0.0
	r.Value = &zero
	var expired, barred *SignOff
	for _, s := range list {
		switch {
		case !req.Counts(s.Approver, g.Approvers):
			if barred == nil {
				barred = s
			}
		case req.Now.Before(s.At.Add(req.ApprovalTTL)):
			if r.SignOff == nil {
				r.SignOff = s
			}
			*r.Value++
		case expired == nil:
			expired = s
		}
	}
	switch {
	case r.SignOff != nil:
		s := r.SignOff
		r.State = Pass
		r.Reason = fmt.Sprintf("signed off by %s %s", actor(s.Approver, s.Via), When(req.Now, s.At))
		if s.Reason != "" {
			r.Reason += ": " + s.Reason
		}
	case expired != nil:
		r.State = Expired
		r.SignOff = expired
		r.Reason = fmt.Sprintf("sign-off by %s %s expired %s (approvals count for %s): sign off again with 'warroom gate approve %s --service %s --gate %s'",
			actor(expired.Approver, expired.Via), When(req.Now, expired.At), When(req.Now, expired.At.Add(req.ApprovalTTL)),
			formatTTL(req.ApprovalTTL), req.Release, r.Service, g.Name)
	default:
		r.State = Missing
		r.Reason = fmt.Sprintf("no sign-off yet: %s with 'warroom gate approve %s --service %s --gate %s'",
			whoSigns(g), req.Release, r.Service, g.Name)
		if barred != nil {
			r.Reason += fmt.Sprintf(" (the sign-off by %s does not count: not one of %s)", barred.Approver, strings.Join(g.Approvers, ", "))
		}
	}
}

func whoSigns(g *model.Gate) string {
	if len(g.Approvers) == 0 {
		return "an approver signs off"
	}
	return strings.Join(g.Approvers, " or ") + " signs off"
}

// Counts reports whether a sign-off, waiver or approval by person counts
// where approvers (a gate's or an environment's) are named: always when
// none are or the policy checks nobody (MayApprove nil), else when
// MayApprove says person may. Evaluate, Quorum and the console's list of
// a gate's sign-offs all count by it.
func (p Policy) Counts(person string, approvers []string) bool {
	return p.MayApprove == nil || len(approvers) == 0 || p.MayApprove(person, approvers)
}

// waive turns a result that does not pass into waived (a live waiver) or
// expired (only expired waivers), keeping what was measured.
func waive(req Request, list []*Waiver, g *model.Gate, r *Result) {
	var expired *Waiver
	for _, w := range list {
		if !req.Counts(w.Approver, g.Approvers) {
			continue
		}
		if w.Live(req.Now) {
			r.Waiver = w
			r.State = Waived
			until := "without expiry"
			if !w.Expires.IsZero() {
				until = "until " + When(req.Now, w.Expires)
			}
			r.Reason = fmt.Sprintf("waived by %s %s: %s; was: %s", actor(w.Approver, w.Via), until, w.Reason, r.Reason)
			return
		}
		if expired == nil {
			expired = w
		}
	}
	if expired != nil {
		r.Waiver = expired
		r.State = Expired
		r.Reason = fmt.Sprintf("waiver by %s expired %s; %s", actor(expired.Approver, expired.Via), When(req.Now, expired.Expires), r.Reason)
	}
}

// actor is "alice", or "ci-bot for alice" when a delegate acted.
func actor(person, via string) string {
	if via == "" {
		return person
	}
	return via + " for " + person
}

// ShortHash is the first four hex digits of a sha256 and an ellipsis:
// enough for people to match a file, never taken as the whole hash.
func ShortHash(hex string) string {
	if len(hex) <= 4 {
		return hex
	}
	return hex[:4] + "…"
}

// When is a time for a reason line, in UTC: "12:03" on the day of now,
// "2026-12-05 12:03" on another day.
func When(now, t time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// formatTTL prints a duration the way a policy writes it: "24h", "90m".
func formatTTL(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// Threshold words a gate's pass rule the way evidence measurements do
// ("min 75 %", "max 0 high+", "allow [MIT Apache-2.0]"), for a gate with
// no evidence yet; "" when the gate sets none.
func Threshold(g *model.Gate) string {
	var parts []string
	unit := " %"
	if g.Kind == model.GateSecurity {
		unit = " " + cmp.Or(g.Severity, "low") + "+"
	}
	if g.Min != nil {
		parts = append(parts, "min "+strconv.FormatFloat(*g.Min, 'f', -1, 64)+unit)
	}
	if g.Max != nil {
		parts = append(parts, "max "+strconv.FormatFloat(*g.Max, 'f', -1, 64)+unit)
	}
	if len(g.Allow) > 0 {
		parts = append(parts, "allow ["+strings.Join(g.Allow, " ")+"]")
	}
	return strings.Join(parts, ", ")
}
