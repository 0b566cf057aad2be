package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

// runCLI is warroom in-process as the OS login (no --as).
var runCLI = run

// The acceptance, end to end through the CLI on a clean database
// (people declared, so the policy and four-eyes are enforced): a run
// waits at staging on a missing coverage gate; 'evidence add' of a
// passing profile lets it continue by itself; a failing SARIF blocks
// prod; a waiver by the requester (the run's starter) is refused; a
// waiver by another approver lets it through. Every step is in the audit
// chain, and 'audit verify' passes.
func TestEvidenceGatesEndToEnd(t *testing.T) {
	w := &deployWorld{c: newCLI(t), dir: t.TempDir()}
	now := time.Now().UTC()
	org := fmt.Sprintf(`teams:
  - name: payments
    roles: [operations]
    escalation: [{name: Ana, email: ana@example.com}]
gates:
  - {name: coverage, kind: coverage, min: 75, approvers: [payments]}
  - {name: sast, kind: security, severity: high, max: 0, approvers: [payments]}
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
  - {name: staging, order: 1, gates: [coverage]}
  - name: prod
    order: 2
    production: true
    gates: [sast]
    regions:
      - {name: eu-west, time_zone: Europe/Dublin, low_traffic: {start: "00:00", end: "23:59"}}
releases:
  - name: train
    window: {start: %q, end: %q}
    scope:
      - {service: ledger, version: 1.1.0}
      - {service: checkout, version: 1.1.0}
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339))
	specFile := filepath.Join(w.dir, "org.yaml")
	if err := os.WriteFile(specFile, []byte(org), 0o644); err != nil {
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
	// cara, the captain, and abby, an approver, are both of payments
	// (operations, the gates' approvers): only four-eyes tells them apart.
	saved := gatedPeople
	gatedPeople = [][3]string{{"cara", "captain", "payments"}, {"abby", "approver", "payments"}, {"adam", "admin", ""}}
	t.Cleanup(func() { gatedPeople = saved })
	g := &gatedWorld{deployWorld: w, t: t, login: osUser(func(string) string { return "" })}
	g.as("adam", 0, "--plugins", w.plugins, "plugins", "trust", "scripts")

	write := func(name, text string) string {
		p := filepath.Join(w.dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A passing profile: every statement covered. The failing SARIF has
	// open high findings (testdata/evidence/codescan.sarif); the passing
	// one is gosec's with its one finding suppressed in source.
	cover := write("cover.out", "mode: set\nledger/ledger.go:3.20,5.2 2 1\nledger/ledger.go:7.20,9.2 2 1\n")
	failing := repo("testdata", "evidence", "codescan.sarif")
	passing := demoEvidence("checkout-2026-12", "payments", "gosec.sarif")

	// cara, the captain, starts the run and follows it, waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g.become("cara")
	cmd := exec.CommandContext(ctx, warroomBin, "--plugins", w.plugins, "deploy", "start", "train", "--follow", "--wait")
	cmd.Env = append(os.Environ(), "WARROOM_DB="+w.c.db, "WARROOM_PLUGINS=", "WARROOM_LOG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var run *deploy.Run
	eventually(t, "the run to wait at staging on coverage", func() bool {
		// Until the process has created the run, there is none.
		var o, e bytes.Buffer
		env := func(k string) string {
			if k == "WARROOM_DB" {
				return w.c.db
			}
			return ""
		}
		if code := runCLI(context.Background(), []string{"deploy", "status", "-o", "json"}, &o, &e, env); code != 0 {
			return false
		}
		run = &deploy.Run{}
		return json.Unmarshal(o.Bytes(), run) == nil && run.State == deploy.RunWaiting && run.Wait != nil && run.Wait.Env == "staging"
	})
	for _, b := range run.Wait.Gates {
		if b.Gate != "coverage" || b.State != "missing" {
			t.Errorf("staging blocked by %+v, want coverage missing", b)
		}
	}

	// SARIF for prod first (staging does not require sast): ledger's has
	// open high findings, checkout's none. Then the passing profile for
	// both services: the run enters staging by itself.
	if r := g.as("cara", 0, "evidence", "add", "train", "--service", "ledger", "--gate", "sast", failing); !strings.Contains(r.stdout, "gate sast for ledger is now ✗ fail") {
		t.Errorf("failing SARIF:\n%s", r.stdout)
	}
	g.as("cara", 0, "evidence", "add", "train", "--service", "checkout", "--gate", "sast", passing)
	for _, svc := range []string{"ledger", "checkout"} {
		if r := g.as("cara", 0, "evidence", "add", "train", "--service", svc, "--gate", "coverage", cover); !strings.Contains(r.stdout, "coverage 100.0 % >= min 75 %") {
			t.Errorf("coverage for %s:\n%s", svc, r.stdout)
		}
	}
	eventually(t, "the run to wait at prod on ledger's sast", func() bool {
		run = g.run("")
		return run.State == deploy.RunWaiting && run.Wait != nil && run.Wait.Env == "prod"
	})
	if len(run.Wait.Gates) != 1 || run.Wait.Gates[0].Service != "ledger" || run.Wait.Gates[0].Gate != "sast" || run.Wait.Gates[0].State != "fail" {
		t.Fatalf("prod blocked by %+v, want ledger/sast fail", run.Wait.Gates)
	}
	for _, s := range run.Steps {
		if s.Env == "staging" && s.State != deploy.StepDone {
			t.Errorf("staging step %s: %s", s.Service, s.State)
		}
	}

	// The requester (cara started the run) may not waive: exit 3, audited.
	waive := []string{"gate", "waive", "train", "--service", "ledger", "--gate", "sast", "--reason", "finding is in test code", "--expires", "24h"}
	if r := g.as("cara", exitRefused, waive...); !strings.Contains(r.stderr, "four-eyes") {
		t.Errorf("waiver by the requester:\n%s", r.stderr)
	}
	if run = g.run(""); run.State != deploy.RunWaiting {
		t.Fatalf("after a refused waiver the run is %s", run.State)
	}
	// abby, another approver, may: the run goes on by itself.
	g.as("abby", 0, waive...)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("deploy start --follow --wait: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	if run = g.run(run.ID); run.State != deploy.RunSucceeded {
		t.Fatalf("run %s (%s)", run.State, run.Reason)
	}

	var events []model.AuditEvent
	if err := json.Unmarshal([]byte(g.as("cara", 0, "audit", "list", "-o", "json").stdout), &events); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ command, actor, says string }{
		{"deploy start", "cara", "started run " + run.ID},
		{"", "", "waiting to enter staging"},
		{"evidence add", "cara", "sast of release train: codescan.sarif"},
		{"evidence add", "cara", "coverage of release train: cover.out"},
		{"", "", "gates clear: entering staging"},
		{"", "", "waiting to enter prod"},
		{"policy refuse", "cara", "refused gate.waive: four-eyes rule: cara may not waive gate sast for ledger"},
		{"gate waive", "abby", "waived gate sast for ledger"},
		{"", "", "gates clear: entering prod"},
		{"", "", "succeeded"},
	}
	at := 0
	for _, want := range steps {
		for at < len(events) && !(strings.Contains(events[at].Summary, want.says) &&
			(want.command == "" || events[at].Command == want.command) && (want.actor == "" || events[at].Actor == want.actor)) {
			at++
		}
		if at == len(events) {
			t.Errorf("the audit chain has no %q (%s by %s) in order", want.says, want.command, want.actor)
			at = 0
		}
	}
	if t.Failed() {
		for _, e := range events {
			t.Logf("#%d %s %s: %s", e.Seq, e.Actor, e.Command, e.Summary)
		}
	}
	g.as("cara", 0, "audit", "verify")
}
