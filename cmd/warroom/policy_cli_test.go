package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/store"
)

// The policy through the CLI, against a real database. The test's OS
// login is fixed, so a person is made to act by declaring the login as
// theirs (setLoginOwner, a setup write outside the CLI), or through the
// delegate ci-bot with --as.

// govWorld is an organisation with one person per role, a delegate, two
// gates that no environment requires (coverage, and signoff of kind
// approval) and two releases whose window is open now: train, which the
// cases start runs of, and hotfix, which no run starts, so that the gate
// and change cells act on a release whose gates nobody in them asked for
// (four-eyes: a run's starter requested the gates it waits on).
type govWorld struct {
	t       *testing.T
	db      string
	dir     string
	login   string
	plugins string
	// openMode: no people are declared; setLoginOwner declares none.
	openMode bool
}

// rolePerson is the person holding each role in govWorld; "undeclared"
// is the login no person lists.
var rolePerson = map[string]string{
	"captain": "cara", "operator": "otto", "approver": "abby", "viewer": "vera", "admin": "adam",
}

var roles = []string{"captain", "operator", "approver", "viewer", "admin", "undeclared"}

func newGovWorld(t *testing.T, withPeople bool) *govWorld {
	t.Helper()
	w := &govWorld{t: t, dir: t.TempDir(), login: osUser(func(string) string { return "" })}
	w.db = filepath.Join(w.dir, "warroom.db")
	now := time.Now().UTC()
	org := fmt.Sprintf(`teams:
  - name: platform
    roles: [operations]
services:
  - name: ledger
    owner: platform
    tier: 1
    version: 1.0.0
    deploy: {target: scripts, strategy: rolling}
  - name: checkout
    owner: platform
    tier: 1
    version: 1.0.0
    deploy: {target: scripts, strategy: rolling}
environments:
  - {name: dev, order: 1}
  - name: prod
    order: 2
    approval: true
    approvers: [operations]
    regions:
      - {name: eu-west, time_zone: Europe/Dublin, low_traffic: {start: "01:00", end: "05:00"}}
gates:
  - {name: coverage, kind: coverage, min: 80}
  - {name: signoff, kind: approval}
releases:
  - name: train
    window: {start: %[1]q, end: %[2]q}
    scope:
      - {service: ledger, version: 1.1.0}
      - {service: checkout, version: 1.1.0}
  - name: hotfix
    window: {start: %[1]q, end: %[2]q}
    scope:
      - {service: ledger, version: 1.1.1}
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339))
	w.write("org.yaml", org)
	w.write("scratch.yaml", "teams:\n  - name: scratch\n")
	bin := w.write("plugin-bin", "#!/bin/sh\n")
	w.plugins = w.write("plugins.yaml", fmt.Sprintf("plugins:\n  - name: scripts\n    path: %s\n    kinds: [deploy-target]\n", bin))
	if r := w.run("", "apply", "-f", filepath.Join(w.dir, "org.yaml")); r.code != 0 {
		t.Fatalf("apply: %d %s", r.code, r.stderr)
	}
	if withPeople {
		w.setLoginOwner("")
	}
	return w
}

func (w *govWorld) write(name, text string) string {
	w.t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// run runs warroom in-process as the OS user, with --as when as is set.
func (w *govWorld) run(as string, args ...string) result {
	w.t.Helper()
	var out, errb bytes.Buffer
	env := func(k string) string {
		switch k {
		case "WARROOM_DB":
			return w.db
		case "WARROOM_PLUGINS":
			return w.plugins
		}
		return ""
	}
	if as != "" {
		args = append([]string{"--as", as}, args...)
	}
	code := run(context.Background(), args, &out, &errb, env)
	return result{code, out.String(), errb.String()}
}

// setLoginOwner declares the people, the test's login belonging to
// person owner ("" or "ci-bot": the delegate; "undeclared": nobody). It
// is test setup, written as "test-setup" outside the policy.
func (w *govWorld) setLoginOwner(owner string) {
	w.t.Helper()
	if w.openMode {
		return
	}
	if owner == "" {
		owner = "ci-bot"
	}
	logins := func(name string) string {
		if name == owner {
			return fmt.Sprintf("[%s, %s-login]", w.login, name)
		}
		return fmt.Sprintf("[%s-login]", name)
	}
	var b strings.Builder
	b.WriteString("people:\n")
	for _, role := range []string{"captain", "operator", "approver", "viewer", "admin"} {
		name := rolePerson[role]
		fmt.Fprintf(&b, "  - {name: %s, logins: %s, roles: [%s], teams: [platform]}\n", name, logins(name), role)
	}
	fmt.Fprintf(&b, "  - {name: ci-bot, logins: %s, roles: [operator], delegate: true}\n", logins("ci-bot"))
	set, errs := spec.ParseFiles([]string{w.write("people.yaml", b.String())})
	if len(errs) > 0 {
		w.t.Fatal(errs)
	}
	s := w.open()
	defer s.Close()
	if _, _, err := applySet(context.Background(), s, "test-setup", "apply", set, spec.Options{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *govWorld) open() *store.Store {
	w.t.Helper()
	s, err := store.OpenExisting(context.Background(), w.db)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *govWorld) audit() []model.AuditEvent {
	w.t.Helper()
	s := w.open()
	defer s.Close()
	evs, err := s.AuditEvents(context.Background(), store.AuditFilter{})
	if err != nil {
		w.t.Fatal(err)
	}
	return evs
}

// startRun starts a run of train as person starter (through the CLI: the
// login is made theirs first) and returns its id.
func (w *govWorld) startRun(starter string, envs ...string) string {
	w.t.Helper()
	w.setLoginOwner(starter)
	args := []string{"deploy", "start", "train", "-o", "json"}
	for _, e := range envs {
		args = append(args, "--env", e)
	}
	r := w.run("", args...)
	if r.code != 0 {
		w.t.Fatalf("deploy start as %s: exit %d\n%s", starter, r.code, r.stderr)
	}
	var run struct {
		ID string `json:"run"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &run); err != nil || run.ID == "" {
		w.t.Fatalf("deploy start -o json: %v\n%s", err, r.stdout)
	}
	return run.ID
}

// setRunState moves a run to a state as the engine would (test setup).
func (w *govWorld) setRunState(id string, state deploy.RunState) {
	w.t.Helper()
	s := w.open()
	defer s.Close()
	ctx := context.Background()
	h, err := s.RunHeader(ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	h.State = state
	if _, err := s.Apply(ctx, deploy.Change{RunID: id, Header: &h}, deploy.Audit{Actor: "test-engine", Command: "deploy engine", Summary: "test: run is " + string(state)}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *govWorld) runState(id string) deploy.RunState {
	w.t.Helper()
	s := w.open()
	defer s.Close()
	h, err := s.RunHeader(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return h.State
}

// cliCase is one governed command: prepare puts the database in the
// state the command acts on (as test setup) and returns its arguments;
// a command allowed by the policy then exits want (0 unless the case
// says otherwise).
type cliCase struct {
	action  policy.Action
	prepare func(w *govWorld) []string
	want    int
	// audited, when set, is the audit command an allowed cell writes:
	// the sign-off was recorded, not only not refused.
	audited string
}

var aSHA = strings.Repeat("ab", 32)

// cliCases are the governed commands, one row (at least) per action:
// TestPolicyMatrixCLI and TestOpenModeCLI check that every action has
// one.
var cliCases = []cliCase{
	{policy.Apply, func(w *govWorld) []string {
		return []string{"apply", "-f", filepath.Join(w.dir, "scratch.yaml")}
	}, 0, ""},
	{policy.DeployStart, func(w *govWorld) []string { return []string{"deploy", "start", "train", "--env", "dev"} }, 0, ""},
	{policy.DeployPause, func(w *govWorld) []string { return []string{"deploy", "pause", w.startRun("cara"), "--reason", "x"} }, 0, ""},
	{policy.DeployContinue, func(w *govWorld) []string {
		id := w.startRun("cara")
		w.setRunState(id, deploy.RunPaused)
		return []string{"deploy", "continue", id}
	}, 0, ""},
	{policy.DeployApprove, func(w *govWorld) []string {
		id := w.startRun("otto") // an operator starts it: four-eyes spares every role here
		w.setRunState(id, deploy.RunAwaitingApproval)
		return []string{"deploy", "continue", id}
	}, 0, ""},
	// resume drives the run here; on an aborted run it is refused by the
	// run's state (exit 3, no policy refusal) once the policy allows it.
	{policy.DeployResume, func(w *govWorld) []string {
		id := w.startRun("cara")
		w.setRunState(id, deploy.RunAborted)
		return []string{"deploy", "resume", id}
	}, 3, ""},
	{policy.DeployRollback, func(w *govWorld) []string {
		id := w.startRun("cara")
		w.setRunState(id, deploy.RunPaused)
		return []string{"deploy", "rollback", id, "--reason", "x"}
	}, 0, ""},
	{policy.DeployAbort, func(w *govWorld) []string { return []string{"deploy", "abort", w.startRun("cara")} }, 0, ""},
	{policy.DeploySkip, func(w *govWorld) []string {
		return []string{"deploy", "skip", w.startRun("cara"), "1", "--reason", "x"}
	}, 0, ""},
	{policy.PluginsTrust, func(w *govWorld) []string { return []string{"plugins", "trust", "scripts", "--sha256", aSHA} }, 0, ""},
	// The sign-offs act on hotfix, which nobody in the matrix started a
	// run of, and on a change ci-bot filed: four-eyes spares every role.
	{policy.GateWaive, func(w *govWorld) []string {
		return []string{"gate", "waive", "hotfix", "--service", "ledger", "--gate", "coverage", "--reason", "flaky runner", "--expires", "24h"}
	}, 0, "gate waive"},
	{policy.GateApprove, func(w *govWorld) []string {
		return []string{"gate", "approve", "hotfix", "--service", "ledger", "--gate", "signoff"}
	}, 0, "gate approve"},
	// The first allowed cell files hotfix's change (audited as
	// "change"); the next find it filed, exit 0 and write nothing.
	{policy.ChangeCreate, func(w *govWorld) []string {
		w.addTickets()
		return []string{"change", "create", "hotfix"}
	}, 0, ""},
	{policy.ChangeApprove, func(w *govWorld) []string {
		return []string{"change", "approve", w.fileChange("ci-bot"), "--reason", "risk understood"}
	}, 0, "change approve"},
	// Last: it makes dev require a gate, which the cases above do not
	// expect.
	{policy.EvidenceAdd, func(w *govWorld) []string {
		w.requireUnitTests()
		return []string{"evidence", "add", "train", "--service", "ledger", "--gate", "unit",
			repo("testdata", "demo", "evidence", "checkout-2026-12", "payments", "junit.xml")}
	}, 0, ""},
}

// fileChange records a change request for hotfix filed by requester (an
// audit actor: "ci-bot for cara" is cara through the delegate), as the
// ticketing plugin would have it after 'change create' (test setup: the
// test has no ticketing plugin), and returns its id.
func (w *govWorld) fileChange(requester string) string {
	w.t.Helper()
	s := w.open()
	defer s.Close()
	c, _, err := s.RecordChange(context.Background(), "test-setup", store.ChangeRecord{Release: "hotfix",
		Title: "Release hotfix", Requester: requester, Class: "normal", State: "submitted"})
	if err != nil {
		w.t.Fatal(err)
	}
	return c.ID
}

// addTickets adds tickets-local to the world's plugins, trusted (test
// setup, as the admin), once.
func (w *govWorld) addTickets() {
	w.t.Helper()
	b, err := os.ReadFile(w.plugins)
	if err != nil {
		w.t.Fatal(err)
	}
	if strings.Contains(string(b), "name: tickets") {
		return
	}
	b = fmt.Appendf(b, "  - name: tickets\n    path: %s\n    kinds: [ticketing]\n", ticketsPlugin(w.t))
	if err := os.WriteFile(w.plugins, b, 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.setLoginOwner("adam")
	if r := w.run("", "plugins", "trust", "tickets"); r.code != 0 {
		w.t.Fatalf("plugins trust tickets: %d %s", r.code, r.stderr)
	}
}

// requireUnitTests declares a tests gate, unit, that dev requires (test
// setup, outside the policy).
func (w *govWorld) requireUnitTests() {
	w.t.Helper()
	set, errs := spec.ParseFiles([]string{w.write("gates.yaml", `gates:
  - {name: unit, kind: tests, min: 100}
environments:
  - {name: dev, order: 1, gates: [unit]}
`)})
	if len(errs) > 0 {
		w.t.Fatal(errs)
	}
	s := w.open()
	defer s.Close()
	if _, _, err := applySet(context.Background(), s, "test-setup", "apply", set, spec.Options{}); err != nil {
		w.t.Fatal(err)
	}
}

// defaultAllowed is the default policy as a table: the roles allowed
// each action (admin everywhere).
var defaultAllowed = map[policy.Action][]string{
	policy.Apply: {"captain", "admin"}, policy.DeployStart: {"captain", "operator", "admin"},
	policy.DeployContinue: {"captain", "operator", "admin"}, policy.DeployApprove: {"captain", "approver", "admin"},
	policy.DeployPause: {"captain", "operator", "admin"}, policy.DeployResume: {"captain", "operator", "admin"},
	policy.DeployRollback: {"captain", "operator", "admin"}, policy.DeployAbort: {"captain", "operator", "admin"},
	policy.DeploySkip: {"captain", "operator", "admin"}, policy.GateWaive: {"captain", "approver", "admin"},
	policy.GateApprove: {"captain", "approver", "admin"}, policy.PluginsTrust: {"admin"},
	policy.ChangeApprove: {"captain", "approver", "admin"}, policy.EvidenceAdd: {"captain", "operator", "admin"},
	policy.ChangeCreate: {"captain", "operator", "admin"},
}

func allowedFor(a policy.Action, role string) bool {
	for _, r := range defaultAllowed[a] {
		if r == role {
			return true
		}
	}
	return false
}

// TestPolicyMatrixCLI runs every governed command as every role against
// a real database. An allowed cell exits as the command does and writes
// no refusal; a refused cell exits 3 naming the actor, what they hold
// and what the action needs, changes nothing and writes exactly one
// audit event, "policy refuse", by the actor.
func TestPolicyMatrixCLI(t *testing.T) {
	if len(defaultAllowed) != len(policy.Actions) {
		t.Fatalf("the matrix covers %d of %d actions", len(defaultAllowed), len(policy.Actions))
	}
	checkEveryAction(t)
	w := newGovWorld(t, true)
	for _, c := range cliCases {
		for _, role := range roles {
			t.Run(fmt.Sprintf("%s/%s", c.action, role), func(t *testing.T) {
				w.t = t
				args := c.prepare(w)
				owner := rolePerson[role]
				if role == "undeclared" {
					owner = "undeclared"
				}
				w.setLoginOwner(owner)
				before := w.audit()
				r := w.run("", args...)
				after := w.audit()
				added := after[len(before):]
				actor := owner
				if role == "undeclared" {
					actor = w.login
				}
				checkCell(t, c.action, role, actor, r, added, c.want)
				if allowedFor(c.action, role) && c.audited != "" && !slices.ContainsFunc(added, func(e model.AuditEvent) bool { return e.Command == c.audited }) {
					t.Errorf("allowed, but no %q was audited: %+v", c.audited, added)
				}
			})
		}
	}
}

// checkEveryAction fails unless cliCases has a row for every action.
func checkEveryAction(t *testing.T) {
	t.Helper()
	rows := map[policy.Action]bool{}
	for _, c := range cliCases {
		rows[c.action] = true
	}
	for _, a := range policy.Actions {
		if !rows[a] {
			t.Errorf("no command runs action %s", a)
		}
	}
}

func checkCell(t *testing.T, act policy.Action, role, actor string, r result, added []model.AuditEvent, want int) {
	t.Helper()
	if allowedFor(act, role) {
		if r.code != want || strings.Contains(r.stderr, "policy refuses") {
			t.Errorf("allowed: exit %d, want %d\n%s", r.code, want, r.stderr)
		}
		for _, e := range added {
			if e.Command == "policy refuse" {
				t.Errorf("allowed, but a refusal was audited: %+v", e)
			}
			if e.Actor != actor && e.Actor != "deploy engine" {
				t.Errorf("audited as %q, want %q: %+v", e.Actor, actor, e)
			}
		}
		return
	}
	if r.code != exitRefused {
		t.Errorf("refused: exit %d, want 3\n%s", r.code, r.stderr)
	}
	for _, says := range []string{"policy refuses " + string(act), "login ", string(act) + " needs:"} {
		if !strings.Contains(r.stderr, says) {
			t.Errorf("the refusal does not say %q:\n%s", says, r.stderr)
		}
	}
	if role != "undeclared" && !strings.Contains(r.stderr, "roles "+role) {
		t.Errorf("the refusal does not name the roles held (%s):\n%s", role, r.stderr)
	}
	if role == "undeclared" && !strings.Contains(r.stderr, "so a viewer") {
		t.Errorf("the refusal does not say an undeclared login is a viewer:\n%s", r.stderr)
	}
	if len(added) != 1 || added[0].Command != "policy refuse" || added[0].Actor != actor {
		t.Errorf("a refusal writes exactly its audit event, by %s; got %+v", actor, added)
	}
}

// TestPolicyCheckMatrix: 'policy check' decides every action for every
// role (exit 0 or 3), says why, and writes nothing.
func TestPolicyCheckMatrix(t *testing.T) {
	w := newGovWorld(t, true)
	for _, role := range roles {
		owner := rolePerson[role]
		if role == "undeclared" {
			owner = "undeclared"
		}
		w.setLoginOwner(owner)
		before := w.audit()
		for _, act := range policy.Actions {
			r := w.run("", "policy", "check", string(act), "-o", "json")
			var d policy.Decision
			if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
				t.Fatalf("%s as %s: %v\n%s", act, role, err, r.stdout)
			}
			want := allowedFor(act, role)
			if d.Allowed != want || (r.code == 0) != want || (!want && r.code != exitRefused) || d.Mode != policy.Enforced || len(d.Reasons) == 0 {
				t.Errorf("%s as %s: exit %d, %+v; want allowed %v", act, role, r.code, d, want)
			}
		}
		if after := w.audit(); len(after) != len(before) {
			t.Errorf("policy check wrote %d audit events", len(after)-len(before))
		}
	}
}

// TestFourEyesCLI: the sign-off cases through the CLI. Each row starts a
// run as someone (directly, or a delegate for them), then someone
// approves it into prod.
func TestFourEyesCLI(t *testing.T) {
	w := newGovWorld(t, true)
	for _, c := range []struct {
		name             string
		starter, startAs string // login owner when starting, and --as
		approver, as     string
		allowed          bool
		says             string
	}{
		{"own run", "cara", "", "cara", "", false, "four-eyes: cara asked for run"},
		{"another's run", "cara", "", "abby", "", true, ""},
		{"own run started by a delegate", "ci-bot", "cara", "cara", "", false, "four-eyes: ci-bot for cara asked for run"},
		{"delegate acting for the approver", "ci-bot", "cara", "ci-bot", "abby", false, "four-eyes: ci-bot for cara asked for run"},
		{"approver on a delegate's run for another", "ci-bot", "cara", "abby", "", true, ""},
		{"admin never escapes four-eyes", "adam", "", "adam", "", false, "four-eyes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.t = t
			w.setLoginOwner(c.starter)
			r := w.run(c.startAs, "deploy", "start", "train", "-o", "json")
			if r.code != 0 {
				t.Fatalf("start: %d %s", r.code, r.stderr)
			}
			var run struct {
				ID        string `json:"run"`
				StartedBy string `json:"started_by"`
			}
			_ = json.Unmarshal([]byte(r.stdout), &run)
			if want := policy.ActorString(c.startAs, c.starter); c.startAs != "" && run.StartedBy != "ci-bot for "+c.startAs || c.startAs == "" && run.StartedBy != c.starter {
				t.Fatalf("started by %q, want %q", run.StartedBy, want)
			}
			w.setRunState(run.ID, deploy.RunAwaitingApproval)
			w.setLoginOwner(c.approver)
			check := w.run(c.as, "policy", "check", "deploy.approve", "--run", run.ID)
			before := w.audit()
			r = w.run(c.as, "deploy", "continue", run.ID)
			added := w.audit()[len(before):]
			state := w.runState(run.ID)
			if c.allowed {
				if r.code != 0 || check.code != 0 || state != deploy.RunRunning {
					t.Errorf("allowed: exit %d (check %d), run %s\n%s%s", r.code, check.code, state, r.stderr, check.stdout)
				}
				return
			}
			if r.code != exitRefused || check.code != exitRefused || !strings.Contains(r.stderr, c.says) || !strings.Contains(check.stdout, c.says) {
				t.Errorf("refused: exit %d (check %d), want 3 saying %q\n%s\n%s", r.code, check.code, c.says, r.stderr, check.stdout)
			}
			if state != deploy.RunAwaitingApproval || len(added) != 1 || added[0].Command != "policy refuse" {
				t.Errorf("a refused approval changed the run (%s) or wrote %+v", state, added)
			}
		})
	}
}

// TestDelegateOnly: --as is accepted only from a delegate; anyone else's
// is refused (exit 3, audited), and an undeclared login is a viewer.
func TestDelegateOnly(t *testing.T) {
	w := newGovWorld(t, true)
	w.setLoginOwner("otto")
	before := w.audit()
	r := w.run("cara", "deploy", "start", "train")
	added := w.audit()[len(before):]
	if r.code != exitRefused || !strings.Contains(r.stderr, "otto (login "+w.login+") is not a delegate") ||
		len(added) != 1 || added[0].Command != "policy refuse" || added[0].Actor != "otto" {
		t.Fatalf("--as from an operator: exit %d, %s, audit %+v", r.code, r.stderr, added)
	}
	w.setLoginOwner("ci-bot")
	var who struct {
		Mode, Actor, Person, Delegate string
		Roles                         []string
	}
	r = w.run("cara", "whoami", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &who); err != nil || who.Actor != "ci-bot for cara" || who.Delegate != "ci-bot" || who.Person != "cara" || who.Roles[0] != "captain" {
		t.Fatalf("whoami through the delegate: %v %+v", err, who)
	}
	if !strings.Contains(r.stdout, `"policy": "enforced"`) {
		t.Errorf("whoami -o json does not say the mode:\n%s", r.stdout)
	}
	r = w.run("cara", "deploy", "start", "train")
	evs := w.audit()
	if last := evs[len(evs)-1]; r.code != 0 || last.Actor != "ci-bot for cara" || last.Command != "deploy start" {
		t.Errorf("a delegate's start is audited as %+v (exit %d %s)", last, r.code, r.stderr)
	}
	if r := w.run("nobody", "whoami"); r.code != exitRefused || !strings.Contains(r.stderr, `no person "nobody"`) {
		t.Errorf("--as an unknown person: %d %s", r.code, r.stderr)
	}
	// apply --dry-run writes nothing, so a viewer may look.
	w.setLoginOwner("vera")
	scratch := filepath.Join(w.dir, "scratch.yaml")
	if r := w.run("", "apply", "--dry-run", "-f", scratch); r.code != 0 {
		t.Errorf("a viewer's apply --dry-run: %d %s", r.code, r.stderr)
	}
	if r := w.run("", "apply", "-f", scratch); r.code != exitRefused {
		t.Errorf("a viewer's apply: %d %s", r.code, r.stderr)
	}
}

// TestOpenModeCLI: with no people, every action's command is allowed to
// anyone (it exits as the command does, no refusal is audited), --as is
// taken as given (every event is by olga, whom nobody declared), and each
// command's -o json object says "policy": "open"; so do 'policy check'
// of every action, whoami and deploy status.
func TestOpenModeCLI(t *testing.T) {
	checkEveryAction(t)
	w := newGovWorld(t, false)
	w.openMode = true
	for _, c := range cliCases {
		t.Run(string(c.action), func(t *testing.T) {
			w.t = t
			args := append(c.prepare(w), "-o", "json")
			before := w.audit()
			r := w.run("olga", args...)
			added := w.audit()[len(before):]
			if r.code != c.want || strings.Contains(r.stderr, "policy refuses") {
				t.Errorf("exit %d, want %d\n%s", r.code, c.want, r.stderr)
			}
			for _, e := range added {
				if e.Command == "policy refuse" || (e.Actor != "olga" && e.Actor != "deploy engine") {
					t.Errorf("open mode: %+v, want no refusal and every event by olga (--as taken as given)", e)
				}
			}
			if c.audited != "" && !slices.ContainsFunc(added, func(e model.AuditEvent) bool { return e.Command == c.audited }) {
				t.Errorf("no %q was audited: %+v", c.audited, added)
			}
			if c.want != 0 {
				return // refused by the run's state: no output to read
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(r.stdout), &obj); err != nil {
				t.Fatalf("-o json is not an object: %v\n%s", err, r.stdout)
			}
			if string(obj["policy"]) != `"open"` {
				t.Errorf("-o json says policy %s, want \"open\":\n%s", obj["policy"], r.stdout)
			}
		})
	}
	w.t = t
	for _, act := range policy.Actions {
		r := w.run("someone", "policy", "check", string(act), "-o", "json")
		if r.code != 0 || !strings.Contains(r.stdout, `"policy": "open"`) || !strings.Contains(r.stdout, "open mode") {
			t.Errorf("policy check %s in open mode: %d\n%s", act, r.code, r.stdout)
		}
	}
	r := w.run("someone", "whoami", "-o", "json")
	if !strings.Contains(r.stdout, `"policy": "open"`) || !strings.Contains(r.stdout, `"actor": "someone"`) {
		t.Errorf("whoami in open mode:\n%s", r.stdout)
	}
	r = w.run("", "deploy", "status", "-o", "json")
	if !strings.Contains(r.stdout, `"policy": "open"`) {
		t.Errorf("an object output lacks the mode:\n%s", r.stdout)
	}
}

// TestOpenModeFourEyesCLI: in open mode the store applies no four-eyes
// rule (identities are whatever --as says, so it could hold nobody to
// it): the starter of a run approves it, and waives and signs off the
// gates it waits on, each recorded as them.
func TestOpenModeFourEyesCLI(t *testing.T) {
	w := newGovWorld(t, false)
	w.openMode = true
	r := w.run("olga", "deploy", "start", "train", "-o", "json")
	var run struct {
		ID string `json:"run"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &run); r.code != 0 || err != nil {
		t.Fatalf("deploy start --as olga: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	w.setRunState(run.ID, deploy.RunAwaitingApproval)
	for _, c := range []struct {
		args    []string
		audited string
	}{
		{[]string{"gate", "waive", "train", "--service", "ledger", "--gate", "coverage", "--reason", "flaky runner", "--expires", "24h"}, "gate waive"},
		{[]string{"gate", "approve", "train", "--service", "ledger", "--gate", "signoff"}, "gate approve"},
		{[]string{"deploy", "continue", run.ID}, "deploy continue"},
	} {
		before := w.audit()
		r := w.run("olga", append(c.args, "-o", "json")...)
		added := w.audit()[len(before):]
		if r.code != 0 || !strings.Contains(r.stdout, `"policy": "open"`) || len(added) == 0 ||
			added[0].Command != c.audited || added[0].Actor != "olga" {
			t.Errorf("%s by the run's starter in open mode: exit %d, audit %+v\n%s%s", c.audited, r.code, added, r.stdout, r.stderr)
		}
	}
	if got := w.signOffs(); !slices.Equal(got, []string{"waiver olga -", "sign-off olga -"}) {
		t.Errorf("recorded %q", got)
	}
	if st := w.runState(run.ID); st != deploy.RunRunning {
		t.Errorf("the starter's approval left the run %s", st)
	}
}

// TestOperatorRequest: every operator command on a run maps to its
// action, for the console's keys; continuing a run that awaits approval
// is deploy.approve, with the environment's approvers, the starter and
// the valid approvals so far.
func TestOperatorRequest(t *testing.T) {
	a := &app{gov: governance{pol: policy.New(nil)}}
	now := time.Now()
	r := &deploy.Run{ID: "r1", Release: "train", State: deploy.RunPaused, StartedBy: "ci-bot for cara",
		Steps:     []deploy.Step{{Env: "dev", State: deploy.StepDone}, {Env: "prod", State: deploy.StepPending}},
		Approvals: []deploy.Approval{{Environment: "prod", By: "abby", At: now.Add(-time.Hour)}, {Environment: "prod", By: "otto", At: now.Add(-48 * time.Hour)}}}
	org := &model.Org{Environments: []model.Environment{{Name: "prod", Approvers: []string{"operations"}}}}
	for _, c := range []deploy.Command{deploy.CmdContinue, deploy.CmdPause, deploy.CmdResume, deploy.CmdRollback, deploy.CmdAbort, deploy.CmdSkip, deploy.CmdRetry} {
		req := a.operatorRequest(r, c, org)
		if !policy.Known(req.Action) || req.Run != "r1" {
			t.Errorf("%s maps to %+v", c, req)
		}
	}
	r.State = deploy.RunAwaitingApproval
	req := a.operatorRequest(r, deploy.CmdContinue, org)
	if req.Action != policy.DeployApprove || req.Env != "prod" || req.Requester != "ci-bot for cara" ||
		len(req.Approvers) != 1 || len(req.Prior) != 1 || req.Prior[0] != "abby" {
		t.Errorf("approval request: %+v", req)
	}
}

// TestPolicyCheckContext: the context flags make the check exact, and
// unknown names are errors with the nearest one.
func TestPolicyCheckContext(t *testing.T) {
	w := newGovWorld(t, true)
	w.setLoginOwner("otto")
	r := w.run("", "policy", "check", "deploy.approve", "--env", "prod")
	if r.code != exitRefused || !strings.Contains(r.stdout, "refused: deploy.approve for otto") ||
		!strings.Contains(r.stdout, "needs: approver or captain (default)") || !strings.Contains(r.stdout, "and one of the approvers: operations") {
		t.Errorf("operator approving prod: %d\n%s", r.code, r.stdout)
	}
	w.setLoginOwner("abby")
	if r := w.run("", "policy", "check", "deploy.approve", "--env", "prod"); r.code != 0 || !strings.Contains(r.stdout, "abby holds operations, one of the approvers of environment prod") {
		t.Errorf("approver approving prod: %d\n%s", r.code, r.stdout)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"deploy.aprove"}, exitUsage, `did you mean "deploy.approve"`},
		{[]string{"deploy.approve", "--env", "prd"}, exitError, `unknown environment "prd": did you mean "prod"?`},
		{[]string{"deploy.start", "--release", "trian"}, exitError, `unknown release "trian": did you mean "train"?`},
		{[]string{"deploy.approve", "--run", "run-none"}, exitError, `unknown run "run-none"`},
	} {
		r := w.run("", append([]string{"policy", "check"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.says) {
			t.Errorf("policy check %v: exit %d, want %d saying %q\n%s", c.args, r.code, c.code, c.says, r.stderr)
		}
	}
	r = w.run("", "whoami")
	for _, says := range []string{"person:", "abby", "roles:", "approver", "teams:", "platform (governance roles: operations)", "policy:", "enforced"} {
		if !strings.Contains(r.stdout, says) {
			t.Errorf("whoami does not say %q:\n%s", says, r.stdout)
		}
	}
	r = w.run("", "policy", "show")
	if r.code != 0 || !strings.Contains(r.stdout, "plugins.trust") || !strings.Contains(r.stdout, "approvals expire after 24h") {
		t.Errorf("policy show: %d\n%s", r.code, r.stdout)
	}

	// gate.waive and gate.approve with --release and no --run: the
	// starter of the release's unfinished run asked for the waiver or the
	// sign-off, as the store holds; the check agrees with the command.
	run := w.startRun("cara")
	for _, act := range []string{"gate.waive", "gate.approve"} {
		w.setLoginOwner("cara")
		r = w.run("", "policy", "check", act, "--release", "train", "--gate", "coverage")
		if r.code != exitRefused || !strings.Contains(r.stdout, "four-eyes") || !strings.Contains(r.stdout, run) {
			t.Errorf("%s by the starter of %s, --release alone: exit %d, want 3 naming four-eyes and the run\n%s", act, run, r.code, r.stdout)
		}
		w.setLoginOwner("abby")
		if r = w.run("", "policy", "check", act, "--release", "train", "--gate", "coverage"); r.code != 0 {
			t.Errorf("%s by another approver, --release alone: exit %d\n%s", act, r.code, r.stdout)
		}
	}
}

// party is someone acting through the CLI: the person whose logins
// include the test's (setLoginOwner), and --as when a delegate acts for
// someone.
type party struct{ login, as string }

// actor is the party's audit actor: "ci-bot for cara", or the person.
func (p party) actor() string {
	if p.as != "" {
		return p.login + " for " + p.as
	}
	return p.login
}

// signOffs lists what the sign-off commands wrote for release train,
// each as "waiver|sign-off|change decision PERSON VIA" (the delegate
// acting for the person, "-" for none; a change decision records no
// delegate).
func (w *govWorld) signOffs() []string {
	w.t.Helper()
	s := w.open()
	defer s.Close()
	ctx := context.Background()
	rec, err := s.GateRecords(ctx, "train")
	if err != nil {
		w.t.Fatal(err)
	}
	changes, err := s.Changes(ctx, "train")
	if err != nil {
		w.t.Fatal(err)
	}
	out := []string{}
	for _, wv := range rec.Waivers {
		out = append(out, fmt.Sprintf("waiver %s %s", wv.Approver, cmp.Or(wv.Via, "-")))
	}
	for _, so := range rec.SignOffs {
		out = append(out, fmt.Sprintf("sign-off %s %s", so.Approver, cmp.Or(so.Via, "-")))
	}
	for _, c := range changes {
		for _, a := range c.Approvals {
			out = append(out, fmt.Sprintf("change decision %s %s", a.Approver, cmp.Or(a.Via, "-")))
		}
	}
	return out
}

// TestFourEyesSignOffCLI: four-eyes on waivers, gate sign-offs and change
// decisions, through the CLI. Each row is a fresh organisation where
// asker asks for something: for the gate rows, by starting a run of
// train (the run waits on the release's gates, so its starter asked for
// their waivers and sign-offs); for the change rows, by filing the change
// of train with tickets-local. Then signer runs the command. A refusal
// exits 3 saying the rule, writes nothing but one "policy refuse" audit
// event by the signer; an allowed sign-off is recorded and audited as the
// signer, with the delegate kept. For the gate rows, 'policy check
// ACTION --run RUN --gate G' agrees with the command.
func TestFourEyesSignOffCLI(t *testing.T) {
	tickets := ticketsPlugin(t)
	waive := []string{"gate", "waive", "train", "--service", "ledger", "--gate", "coverage", "--reason", "flaky runner", "--expires", "24h"}
	signOff := []string{"gate", "approve", "train", "--service", "ledger", "--gate", "signoff"}
	approveChange := []string{"change", "approve", "CHANGE"} // CHANGE: the id of the change filed
	rejectChange := []string{"change", "approve", "CHANGE", "--reject"}
	cara, abby, adam := party{login: "cara"}, party{login: "abby"}, party{login: "adam"}
	ciCara, ciAbby := party{login: "ci-bot", as: "cara"}, party{login: "ci-bot", as: "abby"}
	for _, c := range []struct {
		name          string
		asker, signer party
		args          []string
		says          string // the refusal; "" when allowed
	}{
		{"own waiver", cara, cara, waive, "four-eyes rule: cara may not waive gate coverage for ledger in release train: cara started run "},
		{"waiver by another approver", cara, abby, waive, ""},
		{"own waiver of a run a delegate started", ciCara, cara, waive, "four-eyes rule: cara may not waive gate coverage for ledger in release train: cara started run "},
		{"waiver by a delegate acting for the requester", cara, ciCara, waive, "four-eyes rule: ci-bot for cara may not waive gate coverage for ledger in release train: cara started run "},
		{"waiver by the requester's delegate acting for another", ciCara, ciAbby, waive, "four-eyes rule: ci-bot for abby may not waive gate coverage for ledger in release train: ci-bot started run "},
		{"waiver by another approver of a delegate's run", ciCara, abby, waive, ""},
		{"admin's own waiver", adam, adam, waive, "four-eyes rule: adam may not waive gate coverage"},
		{"own sign-off", cara, cara, signOff, "four-eyes rule: cara may not sign off gate signoff for ledger in release train: cara started run "},
		{"sign-off by another approver", cara, abby, signOff, ""},
		{"sign-off by a delegate acting for the requester", cara, ciCara, signOff, "four-eyes rule: ci-bot for cara may not sign off gate signoff"},
		{"own change approval", cara, cara, approveChange, "four-eyes rule: cara may not approve change CHG-0001: cara filed the change (cara)"},
		{"own change rejection", cara, cara, rejectChange, "four-eyes rule: cara may not reject change CHG-0001: cara filed the change"},
		{"own change filed through a delegate", ciCara, cara, approveChange, "four-eyes rule: cara may not approve change CHG-0001: cara filed the change (ci-bot for cara)"},
		{"change approval by a delegate acting for the requester", cara, ciCara, approveChange, "four-eyes rule: ci-bot for cara may not approve change CHG-0001: cara filed the change"},
		{"change approval by the filing delegate acting for another", ciCara, ciAbby, approveChange, "four-eyes rule: ci-bot for abby may not approve change CHG-0001: ci-bot filed the change"},
		{"change approval by another approver", cara, abby, approveChange, ""},
		{"change approval by another approver through a delegate", cara, ciAbby, approveChange, ""},
		{"change filed by a delegate approved by another", ciCara, abby, approveChange, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newGovWorld(t, true)
			w.plugins = w.write("plugins.yaml", fmt.Sprintf("plugins:\n  - name: tickets\n    path: %s\n    kinds: [ticketing]\n", tickets))
			w.setLoginOwner("adam")
			if r := w.run("", "plugins", "trust", "tickets"); r.code != 0 {
				t.Fatalf("plugins trust tickets: %d %s", r.code, r.stderr)
			}
			args := slices.Clone(c.args)
			w.setLoginOwner(c.asker.login)
			if args[0] == "change" {
				var ch store.ChangeRecord
				r := w.run(c.asker.as, "change", "create", "train", "-o", "json")
				if err := json.Unmarshal([]byte(r.stdout), &ch); r.code != 0 || err != nil || ch.Requester != c.asker.actor() {
					t.Fatalf("change create as %s: exit %d, %v, %+v\n%s", c.asker.actor(), r.code, err, ch, r.stderr)
				}
				args[2] = ch.ID
			}
			var check result // 'policy check' of a gate row, which must agree with the command
			if args[0] == "gate" {
				r := w.run(c.asker.as, "deploy", "start", "train", "-o", "json")
				var run struct {
					ID string `json:"run"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &run); r.code != 0 || err != nil {
					t.Fatalf("deploy start as %s: exit %d, %v\n%s", c.asker.actor(), r.code, err, r.stderr)
				}
				w.setLoginOwner(c.signer.login) // policy check writes nothing, so it runs before the snapshot
				check = w.run(c.signer.as, "policy", "check", "gate."+args[1], "--run", run.ID, "--gate", args[6])
			}
			w.setLoginOwner(c.signer.login)
			before, records := w.audit(), w.signOffs()
			r := w.run(c.signer.as, args...)
			added, written := w.audit()[len(before):], w.signOffs()
			if c.says != "" {
				if r.code != exitRefused || !strings.Contains(r.stderr, c.says) || !strings.Contains(r.stderr, "someone else must") {
					t.Errorf("refused: exit %d, want 3 saying %q\n%s", r.code, c.says, r.stderr)
				}
				if len(added) != 1 || added[0].Command != "policy refuse" || added[0].Actor != c.signer.actor() {
					t.Errorf("a refusal writes exactly its audit event, by %s; got %+v", c.signer.actor(), added)
				}
				if !slices.Equal(written, records) {
					t.Errorf("a refusal wrote: %q -> %q", records, written)
				}
				if args[0] == "gate" && (check.code != exitRefused || !strings.Contains(check.stdout, "four-eyes")) {
					t.Errorf("policy check disagrees: exit %d\n%s%s", check.code, check.stdout, check.stderr)
				}
				return
			}
			if args[0] == "gate" && check.code != 0 {
				t.Errorf("policy check disagrees: exit %d\n%s%s", check.code, check.stdout, check.stderr)
			}
			command := strings.Join(args[:2], " ")
			if r.code != 0 || len(added) != 1 || added[0].Command != command || added[0].Actor != c.signer.actor() {
				t.Fatalf("allowed: exit %d, audit %+v; want one %q by %s\n%s", r.code, added, command, c.signer.actor(), r.stderr)
			}
			kind := map[string]string{"gate waive": "waiver", "gate approve": "sign-off", "change approve": "change decision"}[command]
			via := "-"
			if c.signer.as != "" {
				via = c.signer.login
			}
			want := append(slices.Clone(records), fmt.Sprintf("%s %s %s", kind, cmp.Or(c.signer.as, c.signer.login), via))
			if !slices.Equal(written, want) {
				t.Errorf("allowed: recorded %q, want %q", written, want)
			}
		})
	}
}

// TestChangeApproveRole: a change decision is recorded as a role the
// actor holds: --role names one (a role they do not hold is a usage
// error, exit 2, and nothing is written), else their first governance
// role; --reject records a rejection.
func TestChangeApproveRole(t *testing.T) {
	w := newGovWorld(t, true)
	id := w.fileChange("ci-bot")
	w.setLoginOwner("abby") // approver, in platform, which holds operations
	before := w.audit()
	if r := w.run("", "change", "approve", id, "--role", "security"); r.code != exitUsage || !strings.Contains(r.stderr, "--role security: abby holds approver, operations, platform") {
		t.Errorf("a role not held: exit %d\n%s", r.code, r.stderr)
	}
	if n := len(w.audit()) - len(before); n != 0 {
		t.Errorf("a usage error wrote %d audit events", n)
	}
	for _, c := range []struct {
		args []string
		want store.ChangeApproval
	}{
		{nil, store.ChangeApproval{Approver: "abby", Role: "operations", Decision: "approve"}},
		{[]string{"--role", "approver", "--reject", "--reason", "no rollback plan"}, store.ChangeApproval{Approver: "abby", Role: "approver", Decision: "reject", Reason: "no rollback plan"}},
	} {
		r := w.run("", append([]string{"change", "approve", id, "-o", "json"}, c.args...)...)
		var ch store.ChangeRecord
		if err := json.Unmarshal([]byte(r.stdout), &ch); r.code != 0 || err != nil || len(ch.Approvals) == 0 {
			t.Fatalf("change approve %v: exit %d, %v\n%s%s", c.args, r.code, err, r.stdout, r.stderr)
		}
		got := ch.Approvals[len(ch.Approvals)-1]
		got.At = time.Time{}
		if got != c.want {
			t.Errorf("change approve %v recorded %+v, want %+v", c.args, got, c.want)
		}
	}
	if r := w.run("", "change", "approve", "CHG-0999"); r.code != exitError || !strings.Contains(r.stderr, "no change CHG-0999 is recorded") {
		t.Errorf("an unknown change: exit %d\n%s", r.code, r.stderr)
	}
}
