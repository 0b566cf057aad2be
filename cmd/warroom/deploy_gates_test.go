package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/store"
)

// gatedWorld is deployWorld's organisation with people (the test's login
// is the delegate ci-bot's, so it acts --as anyone), whose dev requires a
// coverage gate that has no evidence, and whose prod needs the approval
// of two operations people.
type gatedWorld struct {
	*deployWorld
	t     *testing.T
	login string
}

// gatedPeople are the people of gatedWorld: name -> roles, teams.
var gatedPeople = [][3]string{
	{"cara", "captain", ""}, {"adam", "admin", ""},
	{"abby", "approver", "payments"}, {"omar", "approver", "payments"},
}

// become declares the people with the test's OS login as person's, so
// the CLI acts as person (test setup, written outside the policy, as the
// policy tests do: the login is fixed).
func (g *gatedWorld) become(person string) {
	g.t.Helper()
	var b strings.Builder
	b.WriteString("people:\n")
	for _, p := range gatedPeople {
		logins := fmt.Sprintf("[%s-login]", p[0])
		if p[0] == person {
			logins = fmt.Sprintf("[%q, %s-login]", g.login, p[0])
		}
		fmt.Fprintf(&b, "  - {name: %s, logins: %s, roles: [%s], teams: [%s]}\n", p[0], logins, p[1], p[2])
	}
	file := filepath.Join(g.dir, "people.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		g.t.Fatal(err)
	}
	set, errs := spec.ParseFiles([]string{file})
	if len(errs) > 0 {
		g.t.Fatal(errs)
	}
	s, err := store.OpenExisting(context.Background(), g.c.db)
	if err != nil {
		g.t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := applySet(context.Background(), s, "test-setup", "apply", set, spec.Options{}); err != nil {
		g.t.Fatal(err)
	}
}

func newGatedWorld(t *testing.T) *gatedWorld {
	t.Helper()
	w := &deployWorld{c: newCLI(t), dir: t.TempDir()}
	now := time.Now().UTC()
	spec := fmt.Sprintf(`teams:
  - name: payments
    roles: [operations]
    escalation: [{name: Ana, email: ana@example.com}]
gates:
  - name: coverage
    kind: coverage
    min: 75
    approvers: [payments]
services:
  - name: ledger
    owner: payments
    tier: 1
    version: 1.0.0
    deploy: {target: scripts, strategy: rolling}
  - name: checkout
    owner: payments
    tier: 1
    version: 1.0.0
    deploy: {target: scripts, strategy: rolling}
environments:
  - name: dev
    order: 1
    gates: [coverage]
  - name: prod
    order: 2
    production: true
    approval: true
    approvals: 2
    approvers: [operations]
    regions:
      - {name: eu-west, time_zone: Europe/Dublin, low_traffic: {start: "01:00", end: "05:00"}}
releases:
  - name: train
    window: {start: %q, end: %q}
    scope:
      - {service: ledger, version: 1.1.0}
      - {service: checkout, version: 1.1.0}
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339))
	specFile := filepath.Join(w.dir, "org.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	w.plugins = filepath.Join(w.dir, "plugins.yaml")
	cfg := fmt.Sprintf(`canary_judge: none
plugins:
  - name: scripts
    path: %s
    kinds: [deploy-target]
    settings:
      deploy: 'echo "$WARROOM_IDEMPOTENCY_KEY" >> %[2]s/deploys.log'
`, execPlugin(t), w.dir)
	if err := os.WriteFile(w.plugins, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w.c.ok("apply", "-f", specFile)
	g := &gatedWorld{deployWorld: w, t: t, login: osUser(func(string) string { return "" })}
	g.as("adam", 0, "--plugins", w.plugins, "plugins", "trust", "scripts")
	return g
}

// as runs warroom in-process as a person (the login made theirs) and
// checks its exit code.
func (g *gatedWorld) as(person string, code int, args ...string) result {
	g.t.Helper()
	g.become(person)
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "WARROOM_DB" {
			return g.c.db
		}
		return ""
	}
	r := result{code: run(context.Background(), args, &out, &errb, env), stdout: out.String(), stderr: errb.String()}
	if r.code != code {
		g.t.Fatalf("warroom (as %s) %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", person, strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

func (g *gatedWorld) run(id string) *deploy.Run {
	g.t.Helper()
	var r deploy.Run
	args := []string{"deploy", "status", "-o", "json"}
	if id != "" {
		args = append(args, id)
	}
	out := g.as("cara", 0, args...).stdout
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		g.t.Fatalf("deploy status -o json: %v\n%s", err, out)
	}
	return &r
}

// eventually waits, up to a deadline, for cond to hold, looking again
// whenever the database may have moved.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// A run whose next environment requires a gate with no evidence: 'deploy
// start --follow' exits 3 at once naming the gate, and 'deploy status'
// says what it waits on; with --wait, a run followed in another process
// goes on by itself once another approver waived the gate, every step
// audited.
func TestDeployFollowExitsOnGatesAndWaitContinuesAfterAWaiver(t *testing.T) {
	g := newGatedWorld(t)
	r := g.as("cara", exitRefused, "--plugins", g.plugins, "deploy", "start", "train", "--env", "dev", "--follow")
	for _, says := range []string{"waiting", "waits to enter dev on 2 gates", "ledger", "checkout", "coverage", "missing",
		"warroom gate waive train", "the run stays waiting"} {
		if !strings.Contains(r.stdout, says) {
			t.Errorf("deploy start --follow does not say %q:\n%s", says, r.stdout)
		}
	}
	first := g.run("")
	if first.State != deploy.RunWaiting || first.Wait == nil || first.Wait.Env != "dev" || len(first.Wait.Gates) != 2 {
		t.Fatalf("run after --follow: %s %+v", first.State, first.Wait)
	}
	for _, b := range first.Wait.Gates {
		if b.Gate != "coverage" || b.State != "missing" || b.Reason == "" {
			t.Errorf("blocking gate %+v", b)
		}
	}
	if st := g.as("cara", 0, "deploy", "status", first.ID).stdout; !strings.Contains(st, "WAITING") || !strings.Contains(st, "waits to enter dev on 2 gates") {
		t.Errorf("deploy status of a waiting run:\n%s", st)
	}
	// Nobody continues past a gate; an operator may abort.
	if r := g.as("cara", exitRefused, "deploy", "continue", first.ID); !strings.Contains(r.stderr, "goes on by itself once each is pass or waived") {
		t.Errorf("continue of a waiting run: %s", r.stderr)
	}
	g.as("cara", 0, "deploy", "abort", first.ID, "--reason", "followed again below")

	// Followed with --wait in another process, a run waits...
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g.become("cara")
	cmd := exec.CommandContext(ctx, warroomBin, "--plugins", g.plugins, "deploy", "start", "train", "--env", "dev", "--follow", "--wait")
	cmd.Env = append(os.Environ(), "WARROOM_DB="+g.c.db, "WARROOM_PLUGINS=", "WARROOM_LOG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var second *deploy.Run
	eventually(t, "the followed run to wait on its gates", func() bool {
		second = g.run("")
		return second.ID != first.ID && second.State == deploy.RunWaiting
	})
	// ...until an approver other than its starter waives the gate for
	// both services.
	for _, svc := range []string{"ledger", "checkout"} {
		g.as("abby", 0, "gate", "waive", "train", "--service", svc, "--gate", "coverage", "--reason", "coverage tool broken in CI", "--expires", "48h")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("deploy start --follow --wait: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	for _, says := range []string{"waits to enter dev on 2 gates", "gates clear: entering dev", "run " + second.ID + " succeeded"} {
		if !strings.Contains(out.String(), says) {
			t.Errorf("--follow --wait does not say %q:\n%s", says, out.String())
		}
	}
	if got := g.run(second.ID); got.State != deploy.RunSucceeded || got.Wait != nil {
		t.Errorf("run after the waiver: %s %+v", got.State, got.Wait)
	}
	audit := g.as("cara", 0, "audit", "list", "-o", "json").stdout
	for _, says := range []string{"waiting to enter dev: 2 gates are not pass or waived", "gates clear: entering dev", "gate waive"} {
		if !strings.Contains(audit, says) {
			t.Errorf("the audit trail has no %q", says)
		}
	}
	g.as("cara", 0, "audit", "verify")
}

// Entering prod needs two operations people's approvals, never the
// starter's: 'deploy continue' by one says "approval 1/2" and the run
// keeps awaiting; the second lets it in. --follow exits 3 on the wait.
func TestDeployProdApprovalQuorum(t *testing.T) {
	g := newGatedWorld(t)
	for _, svc := range []string{"ledger", "checkout"} {
		g.as("abby", 0, "gate", "waive", "train", "--service", svc, "--gate", "coverage", "--reason", "no coverage tool yet", "--expires", "48h")
	}
	r := g.as("cara", exitRefused, "--plugins", g.plugins, "deploy", "start", "train", "--follow", "--bake-scale", "0", "--ignore-low-traffic")
	if !strings.Contains(r.stdout, "waits for approval to enter prod: 0/2") || !strings.Contains(r.stdout, "not cara (who started it)") {
		t.Errorf("--follow on an approval:\n%s", r.stdout)
	}
	id := g.run("").ID
	// Four-eyes: the starter may not approve (refused, nothing written).
	g.as("cara", exitRefused, "deploy", "continue", id)
	if out := g.as("abby", 0, "deploy", "continue", id).stdout; !strings.Contains(out, "awaiting-approval") || !strings.Contains(out, "approval 1/2 to enter prod") {
		t.Errorf("after the first approval: %s", out)
	}
	// A person counts once.
	g.as("abby", exitRefused, "deploy", "continue", id)
	got := g.run(id)
	if got.State != deploy.RunAwaitingApproval || got.Wait == nil || got.Wait.Approval == nil || got.Wait.Approval.Have != 1 || got.Wait.Approval.Need != 2 {
		t.Fatalf("after abby: %s %+v", got.State, got.Wait)
	}
	if out := g.as("omar", 0, "deploy", "continue", id).stdout; !strings.Contains(out, "is running") {
		t.Errorf("after the second approval: %s", out)
	}
	g.as("cara", 0, "--plugins", g.plugins, "deploy", "resume", id)
	if got := g.run(id); got.State != deploy.RunSucceeded || len(got.Approvals) != 2 {
		t.Errorf("after the quorum: %s %+v", got.State, got.Approvals)
	}
}

// A followed run that waits for an operator (the deploy target cleanly
// refused) ends 'deploy start --follow' with exit 3 at once, saying what
// it waits for; the run stays paused for whoever drives it next.
func TestDeployFollowExitsWhenTheRunWaitsForAnOperator(t *testing.T) {
	const msg = "ledger is frozen until the auditors sign off"
	w := newFaultWorld(t, "refuse "+msg+"\n", "")
	wait, out := w.drive(t, "--bake-scale", "0")
	err, ended := wait(time.Minute)
	var exit *exec.ExitError
	if !ended || !errors.As(err, &exit) || exit.ExitCode() != exitRefused {
		t.Fatalf("deploy start --follow on a run waiting for an operator: ended %v, %v\n%s", ended, err, out)
	}
	for _, says := range []string{"waits for an operator", msg, "'warroom deploy continue", "the run stays paused"} {
		if !strings.Contains(out.String(), says) {
			t.Errorf("--follow does not say %q:\n%s", says, out)
		}
	}
	if r := w.run(t); r.State != deploy.RunPaused {
		t.Errorf("run after --follow exited: %s (%s)", r.State, r.Reason)
	}
}
