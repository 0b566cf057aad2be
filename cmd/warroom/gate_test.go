package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/store"
)

const gateSpec = `teams:
  - {name: appsec, roles: [security]}
services:
  - {name: checkout, tier: 1, version: 1.0.0}
  - {name: ledger, tier: 0, version: 1.0.0}
gates:
  - {name: coverage, kind: coverage, min: 75}
  - {name: security-signoff, kind: approval, approvers: [security]}
  - {name: rollback-rehearsal, kind: rehearsal}
environments:
  - {name: staging, order: 1, gates: [coverage, security-signoff]}
  - {name: prod, order: 2, production: true, gates: [rollback-rehearsal]}
releases:
  - name: r1
    window: {start: "2026-12-01T09:00:00Z", end: "2026-12-01T13:00:00Z"}
    scope:
      - {service: checkout, version: 1.1.0}
      - {service: ledger, version: 1.1.0}
`

// gateCLI is a database with gateSpec applied.
func gateCLI(t *testing.T) *cli {
	t.Helper()
	c := newCLI(t)
	f := filepath.Join(t.TempDir(), "org.yaml")
	if err := os.WriteFile(f, []byte(gateSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok("apply", "-f", f)
	return c
}

// withStore opens the CLI's database for what no command of this branch
// does yet: evidence (its CLI joins with the parsers), people (with the
// policy), runs.
func (c *cli) withStore(fn func(context.Context, *store.Store)) {
	c.t.Helper()
	ctx := context.Background()
	s, err := store.OpenExisting(ctx, c.db)
	if err != nil {
		c.t.Fatal(err)
	}
	defer s.Close()
	fn(ctx, s)
}

func (c *cli) addCoverage(service string, pct float64, by string) {
	c.t.Helper()
	content := fmt.Sprintf("mode: set\n%s %g\n", service, pct)
	sum := sha256.Sum256([]byte(content))
	r := store.EvidenceRecord{Release: "r1", Service: service, Gate: "coverage", Format: "gocover",
		File:  store.EvidenceFile{Name: "cover.out", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), Content: strings.NewReader(content)},
		Value: pct, Threshold: "min 75 %", Pass: pct >= 75}
	r.Summary = fmt.Sprintf("coverage %g %% < min 75 %%", pct)
	if r.Pass {
		r.Summary = fmt.Sprintf("coverage %g %% ≥ min 75 %%", pct)
	}
	c.withStore(func(ctx context.Context, s *store.Store) {
		if _, _, err := s.AddEvidence(ctx, by, "evidence add", r); err != nil {
			c.t.Fatal(err)
		}
	})
}

func TestGateCommands(t *testing.T) {
	c := gateCLI(t)

	// Nothing yet: staging is refused, every cell missing.
	r := c.run("gate", "status", "r1", "--env", "staging")
	if r.code != exitRefused || !strings.Contains(r.stdout, "? missing") ||
		!strings.Contains(r.stderr, "release r1 may not enter staging: 4 gates are not pass or waived") {
		t.Fatalf("status before evidence: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	c.addCoverage("checkout", 71.2, "ci-bot for alice")
	c.addCoverage("ledger", 90, "ci-bot")
	r = c.run("gate", "status", "r1", "--env", "staging", "-o", "json")
	var st gateStatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != exitRefused || err != nil {
		t.Fatalf("status -o json: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if st.Policy != "open" || st.Clear || len(st.Results) != 4 || len(st.Blocking) != 3 || st.Counts["pass"] != 1 || st.Counts["fail"] != 1 || st.Counts["missing"] != 2 ||
		len(st.Gates) != 2 || st.Gates[0].Name != "coverage" || st.Gates[0].RequiredBy[0] != "staging" {
		t.Fatalf("status: %+v", st)
	}
	if res := st.Results[0]; res.Service != "checkout" || res.State != gates.Fail || res.AddedBy != "ci-bot for alice" ||
		!strings.HasPrefix(res.Reason, "coverage 71.2 % < min 75 % (cover.out sha256:") || !strings.HasSuffix(res.Reason, ", added by ci-bot for alice "+gates.When(time.Now(), *res.AddedAt)+")") {
		t.Errorf("checkout/coverage: %+v", res)
	}

	// People declared (enforced mode) and a run started by CI for alice.
	// The test's OS login belongs to the delegate "harness", so that it may
	// act --as each person; ci-bot holds the roles a sign-off needs, so
	// that what refuses it is the four-eyes rule, not its roles.
	login := osUser(func(string) string { return "" })
	people := fmt.Sprintf(`people:
  - {name: alice, logins: [alice-login], roles: [captain]}
  - {name: bob, logins: [bob-login], roles: [approver]}
  - {name: carol, logins: [carol-login], roles: [approver], teams: [appsec]}
  - {name: ci-bot, logins: [ci-login], roles: [operator, approver], teams: [appsec], delegate: true}
  - {name: harness, logins: [%s], roles: [operator], delegate: true}
`, login)
	pf := filepath.Join(t.TempDir(), "people.yaml")
	if err := os.WriteFile(pf, []byte(people), 0o644); err != nil {
		t.Fatal(err)
	}
	set, errs := spec.ParseFiles([]string{pf})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c.withStore(func(ctx context.Context, s *store.Store) {
		if _, _, err := applySet(ctx, s, "test-setup", "apply", set, spec.Options{}); err != nil {
			t.Fatal(err)
		}
		run := &deploy.Run{ID: "run-1", Release: "r1", Environments: []string{"staging", "prod"}, State: deploy.RunRunning,
			StartedBy: "ci-bot for alice", CreatedAt: time.Now()}
		if err := s.CreateRun(ctx, run, deploy.Audit{Actor: run.StartedBy, Command: "deploy start"}); err != nil {
			t.Fatal(err)
		}
	})

	waive := []string{"gate", "waive", "r1", "--service", "checkout", "--gate", "coverage", "--reason", "flaky runner", "--expires", "48h"}
	// (A delegate acting for the run's starter, and the starter's own
	// delegate, are refused alike: TestFourEyes in store, TestFourEyesCLI.)
	for _, who := range []string{"alice"} {
		r = c.run(append([]string{"--as", who}, waive...)...)
		if r.code != exitRefused || !strings.Contains(r.stderr, "four-eyes rule: harness for "+who+" may not waive gate coverage for checkout in release r1") ||
			!strings.Contains(r.stderr, "started run run-1") {
			t.Errorf("waiver by %s: exit %d\n%s%s", who, r.code, r.stdout, r.stderr)
		}
	}
	// alice may not sign off a security gate at all: she holds no
	// security role (the roles refuse before four-eyes is asked).
	r = c.run("--as", "alice", "gate", "approve", "r1", "--service", "checkout", "--gate", "security-signoff")
	if r.code != exitRefused || !strings.Contains(r.stderr, "policy refuses gate.approve to harness for alice") {
		t.Errorf("sign-off by alice: exit %d\n%s", r.code, r.stderr)
	}
	// The refusals are audited; nothing else was written.
	var events []struct {
		Actor, Command, Summary string
	}
	c.json(&events, "--as", "bob", "audit", "list", "--command", "policy refuse")
	if len(events) != 2 || events[0].Actor != "harness for alice" || !strings.HasPrefix(events[0].Summary, "refused gate.waive: four-eyes rule: harness for alice may not") ||
		!strings.HasPrefix(events[1].Summary, "refused warroom gate approve: policy refuses gate.approve to harness for alice") {
		t.Errorf("refusals audited: %+v", events)
	}
	c.json(&st, "--as", "bob", "gate", "status", "r1")
	if st.Policy != "enforced" || st.Counts["waived"] != 0 || st.Counts["pass"] != 1 {
		t.Errorf("a refusal changed the gates: %+v", st.Counts)
	}

	// Someone else may.
	if out := c.ok(append([]string{"--as", "bob"}, waive...)...); !strings.HasPrefix(out, "waived gate coverage for checkout of release r1 until ") ||
		!strings.Contains(out, ": flaky runner (audit #") {
		t.Errorf("waiver by bob: %s", out)
	}
	for _, svc := range []string{"checkout", "ledger"} {
		var so struct {
			gates.SignOff
			AuditSeq int64  `json:"audit_seq"`
			Policy   string `json:"policy"`
		}
		c.json(&so, "--as", "carol", "gate", "approve", "r1", "--service", svc, "--gate", "security-signoff", "--reason", "pen test clean")
		if so.Approver != "carol" || so.Via != "harness" || so.Reason != "pen test clean" || so.AuditSeq == 0 || so.Policy != "enforced" {
			t.Errorf("sign-off: %+v", so)
		}
	}
	out := c.ok("--as", "bob", "gate", "status", "r1", "--env", "staging")
	for _, want := range []string{
		"release r1, gates required by staging",
		"checkout  ~ waived",
		"ledger    ✓ pass",
		"3 pass, 1 waived",
		"checkout/coverage waived: waived by harness for bob until ",
		": flaky runner; was: coverage 71.2 % < min 75 % (cover.out sha256:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status after the waiver lacks %q:\n%s", want, out)
		}
	}
	// Prod's rehearsal is not evaluated yet: prod is refused, the report
	// across environments is not.
	if r := c.run("--as", "bob", "gate", "status", "r1", "--env", "prod"); r.code != exitRefused ||
		!strings.Contains(r.stdout, "rollback-rehearsal: not evaluated yet") {
		t.Errorf("prod: exit %d\n%s", r.code, r.stdout)
	}
	c.ok("--as", "bob", "gate", "status", "r1")
	c.ok("--as", "bob", "audit", "verify")
}

func TestGateCommandErrors(t *testing.T) {
	c := gateCLI(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gate", "status", "r9"}, exitError, `unknown release "r9": known releases are r1`},
		{[]string{"gate", "status", "r1", "--env", "qa"}, exitError, `unknown environment "qa": known environments are staging, prod`},
		{[]string{"gate", "status", "r1", "-o", "yaml"}, exitUsage, "-o yaml is not supported here"},
		{[]string{"gate", "waive", "r1", "--service", "checkout", "--gate", "coverage", "--expires", "48h"}, exitUsage, `required flag(s) "reason" not set`},
		{[]string{"gate", "waive", "r1", "--service", "checkout", "--gate", "coverage", "--reason", "x", "--expires", "soon"}, exitUsage, `--expires "soon": use a duration`},
		{[]string{"gate", "waive", "r1", "--service", "checkout", "--gate", "coverage", "--reason", "x", "--expires", "2020-01-01"}, exitUsage, "2020-01-01 00:00 UTC is not in the future"},
		{[]string{"gate", "waive", "r1", "--service", "payments", "--gate", "coverage", "--reason", "x", "--expires", "1d"}, exitError, `service "payments" is not in the scope of release r1`},
		{[]string{"gate", "waive", "r1", "--service", "checkout", "--gate", "lint", "--reason", "x", "--expires", "1d"}, exitError, `no gate named "lint"`},
		{[]string{"gate", "approve", "r1", "--service", "checkout", "--gate", "coverage"}, exitError, "only approval gates are signed off"},
		{[]string{"gate", "approve", "r1", "--gate", "security-signoff"}, exitUsage, `required flag(s) "service" not set`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := c.run(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q\n%s", r.code, tc.code, tc.want, r.stderr)
			}
		})
	}
	// Nothing of that was written: the only events are the apply's.
	var events []struct{ Command string }
	c.json(&events, "audit", "list")
	if len(events) != 1 || events[0].Command != "apply" {
		t.Errorf("audit after refused commands: %+v", events)
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in, want, err string
	}{
		{"48h", "2026-12-08T12:00:00Z", ""},
		{"90m", "2026-12-06T13:30:00Z", ""},
		{"3d", "2026-12-09T12:00:00Z", ""},
		{"2026-12-08", "2026-12-08T00:00:00Z", ""},
		{"2026-12-08 09:30", "2026-12-08T09:30:00Z", ""},
		{"2026-12-07T10:00:00+02:00", "2026-12-07T08:00:00Z", ""},
		{"-1h", "", "2026-12-06 11:00 UTC is not in the future"},
		{"0d", "", "is not in the future"},
		{"2026-12-06", "", "2026-12-06 00:00 UTC is not in the future"},
		{"99999d", "", "too many days"},
		{"next week", "", "use a duration"},
	} {
		got, err := parseExpiry(tc.in, now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v %v, want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, got, err, tc.want)
		}
	}
}
