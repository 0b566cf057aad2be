package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store"
)

// ticketsPlugin builds the tickets-local plugin once per test binary.
func ticketsPlugin(t *testing.T) string { return buildPlugin(t, "tickets-local") }

// changeWorld is an organisation with one release and tickets-local as
// its trusted ticketing plugin.
type changeWorld struct {
	c       *cli
	plugins string
}

func newChangeWorld(t *testing.T) *changeWorld {
	t.Helper()
	w := &changeWorld{c: newCLI(t)}
	dir := t.TempDir()
	spec := `teams:
  - name: payments
    escalation: [{name: Ana, email: ana@example.com}]
services:
  - name: ledger
    owner: payments
    tier: 0
    version: 1.0.0
  - name: checkout
    owner: payments
    tier: 1
    version: 1.0.0
environments:
  - name: prod
    order: 1
    production: true
releases:
  - name: train
    title: Ledger and checkout 1.1
    window: {start: "2026-12-01T09:00:00Z", end: "2026-12-01T13:00:00Z"}
    scope:
      - {service: ledger, version: 1.1.0}
      - {service: checkout, version: 1.1.0}
`
	specFile := filepath.Join(dir, "org.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	w.plugins = filepath.Join(dir, "plugins.yaml")
	cfg := fmt.Sprintf("plugins:\n  - name: tickets\n    path: %s\n    kinds: [ticketing]\n", ticketsPlugin(t))
	if err := os.WriteFile(w.plugins, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w.c.ok("apply", "-f", specFile)
	w.c.ok("--plugins", w.plugins, "plugins", "trust", "tickets")
	return w
}

// approve approves the ticket as someone else would, in the tracker itself.
func (w *changeWorld) approve(t *testing.T, ref, who, role string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := host.LoadConfig(w.plugins, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenExisting(ctx, w.c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := host.New(cfg, host.Options{Trust: s, StateDir: filepath.Join(filepath.Dir(w.c.db), "plugin-state")})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tk, err := h.Ticketing(ctx, "tickets")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Transition(ctx, sdk.TransitionRequest{ID: ref, ToState: "approved", Actor: who, Role: role, Reason: "window is fine"}); err != nil {
		t.Fatal(err)
	}
}

func TestChangeCreateListSync(t *testing.T) {
	w := newChangeWorld(t)
	var created struct {
		store.ChangeRecord
		Changed bool `json:"changed"`
	}
	w.c.json(&created, "--plugins", w.plugins, "change", "create", "train")
	c := created.ChangeRecord
	if !created.Changed || c.ID != "CHG-0001" || c.Release != "train" || c.System != "tickets" || c.TicketRef == "" ||
		c.State != "submitted" || c.Requester != "tester" || c.Class != "normal" || c.Backout != backoutPlan ||
		c.Title != "Ledger and checkout 1.1" {
		t.Fatalf("created: %+v", created)
	}

	// Filing again returns the same change and records nothing new.
	out := w.c.ok("--plugins", w.plugins, "change", "create", "train")
	if !strings.Contains(out, "already filed: change CHG-0001 for release train in tickets as "+c.TicketRef) {
		t.Fatalf("second create:\n%s", out)
	}
	var list []store.ChangeRecord
	w.c.json(&list, "change", "list")
	if len(list) != 1 || list[0].ID != "CHG-0001" {
		t.Fatalf("list: %+v", list)
	}
	if out := w.c.ok("change", "list", "train"); !strings.Contains(out, "CHG-0001") || !strings.Contains(out, "submitted") {
		t.Fatalf("list table:\n%s", out)
	}
	if out := w.c.ok("change", "list", "other"); !strings.Contains(out, "warroom change create RELEASE") {
		t.Fatalf("empty list:\n%s", out)
	}

	// Approved in the tracker: sync records the state and the approval, once.
	w.approve(t, c.TicketRef, "alice", "sre")
	if out := w.c.ok("--plugins", w.plugins, "change", "sync"); !strings.Contains(out, "CHG-0001: approved, 1 approval decisions") {
		t.Fatalf("sync:\n%s", out)
	}
	if out := w.c.ok("--plugins", w.plugins, "change", "sync"); !strings.Contains(out, "up to date") {
		t.Fatalf("second sync:\n%s", out)
	}
	w.c.json(&list, "change", "list", "train")
	if len(list) != 1 || list[0].State != "approved" || len(list[0].Approvals) != 1 ||
		list[0].Approvals[0].Approver != "alice" || list[0].Approvals[0].Decision != "approve" {
		t.Fatalf("after sync: %+v", list)
	}

	// Every step is in the audit trail.
	audit := w.c.ok("audit", "list")
	for _, want := range []string{"filed change CHG-0001 for release train in tickets as " + c.TicketRef,
		"change CHG-0001: state submitted → approved; 1 approval recorded"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q:\n%s", want, audit)
		}
	}
}

func TestChangeCreateRefusals(t *testing.T) {
	w := newChangeWorld(t)
	if r := w.c.run("--plugins", w.plugins, "change", "create", "nope"); r.code != 1 || !strings.Contains(r.stderr, `unknown release "nope"`) {
		t.Errorf("unknown release: %d %s", r.code, r.stderr)
	}
	if r := w.c.run("--plugins", w.plugins, "change", "create", "train", "--class", "urgent"); r.code != exitUsage {
		t.Errorf("bad class: %d %s", r.code, r.stderr)
	}
	if r := w.c.run("--plugins", w.plugins, "change", "create", "train", "--ticketing", "jira"); r.code != 1 ||
		!strings.Contains(r.stderr, `plugin "jira" is not configured for ticketing (ticketing plugins: tickets)`) {
		t.Errorf("unknown plugin: %d %s", r.code, r.stderr)
	}
}
