package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/store"
	"github.com/warroom/warroom/tui"
)

// The console's governance data over a real database: the demo's
// organisation (an open-mode copy, openDemo) with the demo's people and
// policy declared, the test's OS login one of them.

// govConsole is the demo organisation, governed, with the test's login
// belonging to person as (a setup write outside the policy), and an app
// resolved as the console's command resolves it.
type govConsole struct {
	t     *testing.T
	c     *cli
	login string
	s     *store.Store
	a     *app
}

func newGovConsole(t *testing.T, as string) *govConsole {
	t.Helper()
	g := newDemoConsole(t)
	g.declare(as)
	g.resolve()
	return g
}

// newDemoConsole is the demo organisation with nobody declared (open
// mode), and an app resolved as the console's command resolves it.
func newDemoConsole(t *testing.T) *govConsole {
	t.Helper()
	g := &govConsole{t: t, c: newCLI(t), login: osUser(func(string) string { return "" })}
	g.c.ok("apply", "-f", openDemo(t))
	var err error
	if g.s, err = store.OpenExisting(context.Background(), g.c.db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.s.Close() })
	_, g.a = newRoot(io.Discard, io.Discard, func(string) string { return "" })
	g.a.dbPath = g.c.db
	g.resolve()
	return g
}

// declare applies testdata/demo's people and policy, the test's
// login joining person as's logins (a setup write outside the policy).
func (g *govConsole) declare(as string) {
	t := g.t
	t.Helper()
	people, err := os.ReadFile(repo("testdata", "demo", "people.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(people), "logins: ["+as+"]", "logins: ["+as+", "+g.login+"]", 1)
	if text == string(people) {
		t.Fatalf("testdata/demo/people.yaml declares no 'logins: [%s]'", as)
	}
	f := filepath.Join(t.TempDir(), "people.yaml")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	set, errs := spec.ParseFiles([]string{f, repo("testdata", "demo", "policy.yaml")})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, _, err := applySet(context.Background(), g.s, "test-setup", "apply", set, spec.Options{}); err != nil {
		t.Fatal(err)
	}
}

// resolve resolves the console's identity as root's PersistentPreRunE
// does for the console command (no --as).
func (g *govConsole) resolve() {
	g.t.Helper()
	org, err := governanceOrg(context.Background(), g.s)
	if err != nil {
		g.t.Fatal(err)
	}
	g.a.gov.pol = policy.New(org)
	if g.a.gov.id, err = g.a.gov.pol.Resolve(g.login, ""); err != nil {
		g.t.Fatal(err)
	}
	g.a.gov.resolved = true
	g.a.actor = g.a.gov.id.Actor()
}

func (g *govConsole) source(now time.Time) *consoleSource {
	src := &consoleSource{base: tui.NewStoreSource(g.s), st: g.s, now: func() time.Time { return now },
		pol: g.a.gov.pol, id: g.a.gov.id}
	return src
}

func (g *govConsole) load(src *consoleSource) tui.Snapshot {
	g.t.Helper()
	snap, err := src.Load(context.Background(), 500)
	if err != nil {
		g.t.Fatal(err)
	}
	return snap
}

// addCoverage adds a Go coverage profile for a service of a release, as
// 'evidence add' records it (through the store's API).
func (g *govConsole) addCoverage(release, service string, pct float64, by string) {
	g.t.Helper()
	content := "mode: set\n" + service + ".go:1.1,2.2 1 1\n"
	sum := sha256.Sum256([]byte(content))
	r := store.EvidenceRecord{Release: release, Service: service, Gate: "coverage", Format: "gocover",
		File:  store.EvidenceFile{Name: "cover.out", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), Content: strings.NewReader(content)},
		Value: pct, Threshold: "min 75 %", Pass: pct >= 75, Summary: "coverage 71.2 % < min 75 %"}
	if _, _, err := g.s.AddEvidence(context.Background(), by, "evidence add", r); err != nil {
		g.t.Fatal(err)
	}
}

// requireGates makes environment env require gates too (a setup write
// outside the policy): the demo's environments require only gates that
// read evidence, and some tests need a sign-off or a rehearsal gate.
func (g *govConsole) requireGates(env string, gates ...string) {
	g.t.Helper()
	org, err := g.s.Org(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	for _, e := range org.Environments {
		if e.Name != env {
			continue
		}
		e.Gates = append(e.Gates, gates...)
		set := &spec.Set{Files: []string{"(test)"}, Sources: []*spec.Source{{Object: e, Pos: spec.Pos{File: "(test)"}}}}
		if _, _, err := applySet(context.Background(), g.s, "test-setup", "apply", set, spec.Options{}); err != nil {
			g.t.Fatal(err)
		}
		return
	}
	g.t.Fatalf("no environment %s", env)
}

// auditTail is the commands and summaries of the audit events after seq.
func (g *govConsole) auditAfter(seq int64) []model.AuditEvent {
	g.t.Helper()
	evs, err := g.s.AuditEvents(context.Background(), store.AuditFilter{AfterSeq: seq})
	if err != nil {
		g.t.Fatal(err)
	}
	return evs
}

func (g *govConsole) head() int64 {
	g.t.Helper()
	seq, _, err := g.s.AuditHead(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	return seq
}

func findResult(t *testing.T, rs []tui.GateResult, service, gate string) tui.GateResult {
	t.Helper()
	for _, r := range rs {
		if r.Service == service && r.Gate == gate {
			return r
		}
	}
	t.Fatalf("no result for %s/%s among %d", service, gate, len(rs))
	return tui.GateResult{}
}

// TestConsoleSourceGovernance: identity, every release's gate results
// (evidence, rehearsal, approval), a waiver given through the console's
// gate actor, and a refused sign-off whose reason comes back as text and
// is audited.
func TestConsoleSourceGovernance(t *testing.T) {
	const rel = "storefront-2026-12"
	g := newGovConsole(t, "jonas") // approver, team platform (operations)
	g.requireGates("staging", "uat-sign-off", "rollback-rehearsal")
	now := time.Now().UTC()
	g.addCoverage(rel, "reviews", 71.2, "ci-bot")
	src := g.source(now)
	snap := g.load(src)

	want := tui.Identity{Person: "jonas", Login: g.login, Roles: []string{"approver", "operations"}, Teams: []string{"platform"}}
	if id := snap.Identity; id == nil || id.Person != want.Person || id.Login != want.Login || id.Open ||
		!slices.Equal(id.Roles, want.Roles) || !slices.Equal(id.Teams, want.Teams) {
		t.Fatalf("identity %+v, want %+v", snap.Identity, want)
	}

	if !snap.GatesKnown || len(snap.GateResults) != len(snap.Org.Releases) {
		t.Fatalf("gates known %v, results for %d releases of %d", snap.GatesKnown, len(snap.GateResults), len(snap.Org.Releases))
	}
	// Every release: one result per service in scope × gate its
	// environments require.
	ix := model.NewIndex(snap.Org)
	for _, r := range snap.Org.Releases {
		services, gatesNamed := map[string]bool{}, map[string]bool{}
		for _, it := range r.Scope {
			services[it.Service] = true
		}
		for _, e := range snap.Org.Environments {
			if len(r.Environments) == 0 || slices.Contains(r.Environments, e.Name) {
				for _, n := range ix.Environments[e.Name].Gates {
					gatesNamed[n] = true
				}
			}
		}
		if got, want := len(snap.GateResults[r.Name]), len(services)*len(gatesNamed); got != want || want == 0 {
			t.Errorf("release %s: %d results, want %d services × %d gates", r.Name, got, len(services), len(gatesNamed))
		}
	}
	res := snap.GateResults[rel]
	cov := findResult(t, res, "reviews", "coverage")
	if cov.State != tui.GateFail || cov.Value != "71.2 %" || cov.Threshold != "min 75 %" || cov.Evidence == nil ||
		cov.Evidence.Format != "gocover" || cov.Evidence.File != "cover.out" || cov.Evidence.AddedBy != "ci-bot" ||
		len(cov.Evidence.SHA256) != 64 || cov.Evidence.AddedAt.IsZero() ||
		!strings.Contains(cov.Reason, "coverage 71.2 % < min 75 % (cover.out sha256:") {
		t.Fatalf("reviews/coverage: %+v %+v", cov, cov.Evidence)
	}
	if m := findResult(t, res, "web-bff", "coverage"); m.State != tui.GateMissing || m.Evidence != nil || m.Threshold != "min 75 %" ||
		!strings.Contains(m.Reason, "no coverage evidence yet") {
		t.Fatalf("web-bff/coverage: %+v", m)
	}
	if rh := findResult(t, res, "reviews", "rollback-rehearsal"); !rh.NotEvaluated || rh.State != tui.GateMissing {
		t.Fatalf("rehearsal: %+v", rh)
	}
	if ap := findResult(t, res, "reviews", "uat-sign-off"); ap.Needed != 1 || ap.State != tui.GateMissing || len(ap.Approvals) != 0 {
		t.Fatalf("approval gate: %+v", ap)
	}

	// Nothing changed: the same results, not evaluated again.
	before := src.gates
	if again := g.load(src); src.gates != before || again.GateResults[rel][0].Reason != res[0].Reason {
		t.Fatal("an unchanged load evaluated the gates again")
	}

	// jonas waives coverage (platform is one of its approvers) through
	// the console's gate actor, as 'gate waive' would.
	cmd := &consoleCommander{a: g.a, s: g.s}
	expires := now.Add(48 * time.Hour).Truncate(time.Second)
	if err := cmd.WaiveGate(context.Background(), tui.GateRequest{Release: rel, Service: "reviews", Gate: "coverage",
		Actor: g.a.actor, Reason: "flaky generated code, fix in 4.2.1", Expires: expires}); err != nil {
		t.Fatalf("waive: %v", err)
	}
	snap = g.load(src)
	cov = findResult(t, snap.GateResults[rel], "reviews", "coverage")
	if cov.State != tui.GateWaived || cov.Waiver == nil || cov.Waiver.By != "jonas" || cov.Waiver.Reason != "flaky generated code, fix in 4.2.1" ||
		!cov.Waiver.Expires.Equal(expires) || cov.Value != "71.2 %" || cov.Evidence == nil {
		t.Fatalf("after the waiver: %+v %+v", cov, cov.Waiver)
	}

	// uat-sign-off is business's to approve: refused by the policy, the
	// reason as text, the refusal audited and nothing else written.
	seq := g.head()
	err := cmd.ApproveGate(context.Background(), tui.GateRequest{Release: rel, Service: "reviews", Gate: "uat-sign-off",
		Actor: g.a.actor, Reason: "looks fine"})
	if err == nil {
		t.Fatal("jonas signed off a gate only business may")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("refusal %q is not one line (the console's status line is one)", err)
	}
	for _, w := range []string{"policy refuses gate.approve to jonas", "jonas (holds approver, operations, team platform)",
		"gate uat-sign-off approves only by business", "(recorded as audit event"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q does not say %q", err, w)
		}
	}
	if evs := g.auditAfter(seq); len(evs) != 1 || evs[0].Command != "policy refuse" || evs[0].Actor != "jonas" ||
		!strings.Contains(string(evs[0].Payload), `"warroom gate approve"`) {
		t.Fatalf("audit after the refusal: %+v", evs)
	}
	if ap := findResult(t, g.load(src).GateResults[rel], "reviews", "uat-sign-off"); ap.State != tui.GateMissing || len(ap.Approvals) != 0 {
		t.Fatalf("after a refused sign-off: %+v", ap)
	}

	// Filing a change (n on Changes) is change.create, a captain's or an
	// operator's: jonas, an approver, is refused; nothing is filed.
	seq = g.head()
	if id, err := cmd.FileChange(context.Background(), rel, ""); err == nil || id != "" ||
		!strings.Contains(err.Error(), "policy refuses change.create to jonas") {
		t.Fatalf("jonas filing a change: %q %v", id, err)
	}
	if evs := g.auditAfter(seq); len(evs) != 1 || evs[0].Command != "policy refuse" ||
		!strings.Contains(string(evs[0].Payload), `"warroom change create"`) {
		t.Fatalf("audit after the refused filing: %+v", evs)
	}
	if cs, err := g.s.Changes(context.Background(), rel); err != nil || len(cs) != 0 {
		t.Fatalf("changes after the refused filing: %+v %v", cs, err)
	}
}

// A waiver's expiry changes a result without a write: the source
// evaluates again once the clock passes it.
func TestConsoleSourceGateExpiry(t *testing.T) {
	const rel = "storefront-2026-12"
	g := newGovConsole(t, "jonas")
	now := time.Now().UTC()
	g.addCoverage(rel, "reviews", 71.2, "ci-bot")
	cmd := &consoleCommander{a: g.a, s: g.s}
	if err := cmd.WaiveGate(context.Background(), tui.GateRequest{Release: rel, Service: "reviews", Gate: "coverage",
		Reason: "short", Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clock := now
	src := g.source(now)
	src.now = func() time.Time { return clock }
	if s := findResult(t, g.load(src).GateResults[rel], "reviews", "coverage").State; s != tui.GateWaived {
		t.Fatalf("state %s, want waived", s)
	}
	clock = now.Add(2 * time.Hour)
	if s := findResult(t, g.load(src).GateResults[rel], "reviews", "coverage").State; s != tui.GateExpired {
		t.Fatalf("state %s two hours on, want expired", s)
	}
}

// newTestRun creates a run of release in the store, started by starter,
// after change edits it (a state the engine would have reached).
func (g *govConsole) newTestRun(release, starter string, o deploy.Options, change func(*deploy.Run)) *deploy.Run {
	g.t.Helper()
	ctx := context.Background()
	org, err := g.s.Org(ctx)
	if err != nil {
		g.t.Fatal(err)
	}
	ix := model.NewIndex(org)
	p, err := plan.Build(ix, release)
	if err != nil {
		g.t.Fatal(err)
	}
	r, err := deploy.NewRun(ix, p, deploy.NewRunOptions{ID: "run-" + starter, StartedBy: starter, DefaultTarget: "localfleet",
		Options: o, Now: time.Now().UTC()})
	if err != nil {
		g.t.Fatal(err)
	}
	change(r)
	if err := g.s.CreateRun(ctx, r, deploy.Audit{Actor: starter, Command: "deploy start", Summary: "test run"}); err != nil {
		g.t.Fatal(err)
	}
	return r
}

// TestConsoleSourceWaitsAndBakes: a run awaiting approval shows the
// quorum, a run paused for insufficient evidence the step and the judge's
// words, and the canary's extended bake from the step's evidence.
func TestConsoleSourceWaitsAndBakes(t *testing.T) {
	g := newGovConsole(t, "sofia")
	now := time.Now().UTC().Truncate(time.Second)
	g.newTestRun("storefront-2026-12", "ci-bot", deploy.Options{}, func(r *deploy.Run) {
		r.State = deploy.RunAwaitingApproval
	})
	const judged = "insufficient evidence: 412 requests, about 1900 more needed at the current traffic"
	started := now.Add(-10 * time.Minute)
	var canary int
	g.newTestRun("checkout-2026-12", "amara", deploy.Options{BakeScale: 0.5}, func(r *deploy.Run) {
		for i := range r.Steps {
			s := &r.Steps[i]
			if s.Strategy != model.Canary {
				continue
			}
			bake := time.Duration(float64(s.BakeTime.Std()) * 0.5)
			until := started.Add(5 * bake / 2)
			ev := deploy.CanaryEvidence{Judgement: deploy.Judgement{Verdict: deploy.VerdictContinue, Reason: judged},
				Bake: &deploy.BakeExtension{Weight: 10, Attempt: 1, Started: started, Extensions: 2, Until: until,
					Limit: started.Add(4 * bake), LimitBy: "bake_extension 4", AwaitingOperator: true}}
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			s.State, s.Weight, s.Attempt, s.BakeUntil, s.Evidence, s.StartedAt = deploy.StepBaking, 10, 1, &until, raw, &started
			canary = s.Index
			break
		}
		r.State, r.Reason = deploy.RunPaused, judged+"; step waits for an operator"
	})
	if canary == 0 {
		t.Fatal("checkout-2026-12 has no canary step")
	}
	snap := g.load(g.source(now))

	byRun := map[string]tui.Wait{}
	for _, w := range snap.Waits {
		byRun[w.RunID] = w
	}
	ap := byRun["run-ci-bot"]
	if ap.Approval == nil || ap.Approval.Have != 0 || ap.Approval.Need != 1 || ap.Env != "dev" || ap.Operator != "" {
		t.Fatalf("approval wait: %+v %+v", ap, ap.Approval)
	}
	op := byRun["run-amara"]
	if op.Step != canary || op.Operator != judged || op.Approval != nil {
		t.Fatalf("operator wait: %+v", op)
	}
	b, ok := snap.Bakes[tui.StepRef{RunID: "run-amara", Step: canary}]
	if !ok || b.Factor != 2.5 || b.Max != 4 || b.Until.IsZero() || len(snap.Bakes) != 1 {
		t.Fatalf("bakes: %+v", snap.Bakes)
	}
}

// TestConsoleKeysAuthorized: the console's operator keys are decided by
// the policy through a real database: refused keys say why (and are
// audited, the run untouched), allowed ones act.
func TestConsoleKeysAuthorized(t *testing.T) {
	g := newGovConsole(t, "jonas") // approver: may approve, may not pause or start
	r := g.newTestRun("storefront-2026-12", "ci-bot", deploy.Options{}, func(r *deploy.Run) { r.State = deploy.RunAwaitingApproval })
	cmd := &consoleCommander{a: g.a, s: g.s}
	ctx := context.Background()

	seq := g.head()
	err := cmd.Operate(ctx, deploy.OperatorRequest{Command: deploy.CmdPause, RunID: r.ID, Actor: g.a.actor, Reason: "from the console"})
	var ce *codeError
	if err == nil || !strings.Contains(err.Error(), "policy refuses deploy.pause to jonas") ||
		!strings.Contains(err.Error(), "jonas holds approver, operations, team platform; deploy.pause needs captain or operator (default)") {
		t.Fatalf("pause by an approver: %v", err)
	}
	if !errors.As(err, &ce) || ce.code != exitRefused {
		t.Errorf("refusal %v is not an exit-%d error", err, exitRefused)
	}
	if evs := g.auditAfter(seq); len(evs) != 1 || evs[0].Command != "policy refuse" ||
		!strings.Contains(string(evs[0].Payload), `"warroom deploy pause"`) {
		t.Fatalf("audit after the refused pause: %+v", evs)
	}
	if _, err := cmd.Start(ctx, "checkout-2026-12", g.a.actor); err == nil || !strings.Contains(err.Error(), "policy refuses deploy.start to jonas") {
		t.Fatalf("start by an approver: %v", err)
	}
	if h, err := g.s.RunHeader(ctx, r.ID); err != nil || h.State != deploy.RunAwaitingApproval {
		t.Fatalf("run after the refusals: %v %v", h.State, err)
	}

	// Continue on a run awaiting approval is deploy.approve: jonas may.
	if err := cmd.Operate(ctx, deploy.OperatorRequest{Command: deploy.CmdContinue, RunID: r.ID, Actor: g.a.actor, Reason: "ok"}); err != nil {
		t.Fatalf("approve by an approver: %v", err)
	}
	run, err := g.s.LoadRun(ctx, r.ID)
	if err != nil || len(run.Approvals) != 1 || run.Approvals[0].By != "jonas" {
		t.Fatalf("approvals after continue: %+v %v", run.Approvals, err)
	}
}

// The starter of a run may not approve it from the console either
// (four-eyes), and the refusal says so.
func TestConsoleKeysFourEyes(t *testing.T) {
	g := newGovConsole(t, "sofia") // captain: may approve, but not her own run
	r := g.newTestRun("storefront-2026-12", "sofia", deploy.Options{}, func(r *deploy.Run) { r.State = deploy.RunAwaitingApproval })
	err := (&consoleCommander{a: g.a, s: g.s}).Operate(context.Background(),
		deploy.OperatorRequest{Command: deploy.CmdContinue, RunID: r.ID, Actor: g.a.actor, Reason: "ok"})
	if err == nil || !strings.Contains(err.Error(), "four-eyes") || !strings.Contains(err.Error(), "policy refuses deploy.approve to sofia") {
		t.Fatalf("approving one's own run: %v", err)
	}
}

func TestGateRecordsMoved(t *testing.T) {
	ev := func(seq int64, cmd string) model.AuditEvent { return model.AuditEvent{Seq: seq, Command: cmd} }
	cases := []struct {
		name string
		evs  []model.AuditEvent
		seq  int64
		want bool
	}{
		{"nothing new", []model.AuditEvent{ev(9, "gate waive"), ev(10, "deploy.step")}, 10, false},
		{"run commits only", []model.AuditEvent{ev(10, "gate waive"), ev(11, "deploy.step"), ev(12, "deploy pause"), ev(13, "policy refuse")}, 10, false},
		{"a waiver", []model.AuditEvent{ev(11, "deploy.step"), ev(12, "gate waive")}, 10, true},
		{"evidence", []model.AuditEvent{ev(11, "evidence import")}, 10, true},
		{"apply", []model.AuditEvent{ev(11, "apply")}, 10, true},
		{"a command unknown here", []model.AuditEvent{ev(11, "something new")}, 10, true},
		{"events missing between", []model.AuditEvent{ev(13, "deploy.step")}, 10, true},
		{"no events loaded", nil, 10, true},
	}
	for _, c := range cases {
		if got := gateRecordsMoved(c.evs, c.seq); got != c.want {
			t.Errorf("%s: moved %v, want %v", c.name, got, c.want)
		}
	}
}

// A console opened in open mode does not stay permissive once people are
// declared: its header and its decisions follow the database.
func TestConsoleGovernanceFollowsApply(t *testing.T) {
	g := newDemoConsole(t)
	r := g.newTestRun("storefront-2026-12", "ci-bot", deploy.Options{}, func(r *deploy.Run) { r.State = deploy.RunRunning })
	gov := newConsoleGovernance(context.Background(), g.a, g.s)
	src := g.source(time.Now())
	src.gov = gov
	cmd := &consoleCommander{a: g.a, s: g.s, gov: gov}
	if id := g.load(src).Identity; id == nil || !id.Open || id.Person != g.login {
		t.Fatalf("open mode identity: %+v", id)
	}
	ctx := context.Background()
	if err := cmd.Operate(ctx, deploy.OperatorRequest{Command: deploy.CmdPause, RunID: r.ID, Reason: "open mode"}); err != nil {
		t.Fatalf("pause in open mode: %v", err)
	}
	if err := cmd.Operate(ctx, deploy.OperatorRequest{Command: deploy.CmdResume, RunID: r.ID}); err != nil {
		t.Fatalf("resume in open mode: %v", err)
	}

	g.declare("lena") // a viewer
	if id := g.load(src).Identity; id == nil || id.Open || id.Person != "lena" || !slices.Equal(id.Roles, []string{"viewer", "business", "support"}) {
		t.Fatalf("identity once people are declared: %+v", id)
	}
	err := cmd.Operate(ctx, deploy.OperatorRequest{Command: deploy.CmdPause, RunID: r.ID, Reason: "now enforced"})
	if err == nil || !strings.Contains(err.Error(), "policy refuses deploy.pause to lena") {
		t.Fatalf("pause by a viewer once people are declared: %v", err)
	}
	if h, err := g.s.RunHeader(ctx, r.ID); err != nil || h.State != deploy.RunRunning {
		t.Fatalf("run after the refusal: %s %v", h.State, err)
	}
}
