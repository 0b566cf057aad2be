package main

import (
	"os/exec"
	"strings"
	"testing"
)

// planJSON is the plan's JSON contract as CI reads it.
type planJSON struct {
	Release string `json:"release"`
	Waves   []struct {
		Index      int      `json:"index"`
		Services   []string `json:"services"`
		Migrations []struct {
			Migration string `json:"migration"`
			Phase     string `json:"phase"`
		} `json:"migrations"`
	} `json:"waves"`
	Blockers []struct {
		Kind     string   `json:"kind"`
		Message  string   `json:"message"`
		Services []string `json:"services"`
	} `json:"blockers"`
	Warnings []struct {
		Kind string `json:"kind"`
	} `json:"warnings"`
	Steps []struct {
		Environment string `json:"environment"`
		Wave        int    `json:"wave"`
		Service     string `json:"service"`
		Region      string `json:"region"`
	} `json:"steps"`
}

type graphJSON struct {
	Nodes []struct {
		Name string `json:"name"`
	} `json:"nodes"`
	Edges []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"edges"`
}

// Every provider in a demo release's scope comes in an earlier wave than
// its consumers, by the edges `warroom graph -o json` prints.
func TestDemoPlansOrderProvidersBeforeConsumers(t *testing.T) {
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	var releases []struct {
		Name string `json:"name"`
	}
	c.json(&releases, "release", "list")
	if len(releases) < 2 {
		t.Fatalf("demo has %d releases, want at least 2", len(releases))
	}
	var g graphJSON
	c.json(&g, "graph")
	if len(g.Nodes) < 30 || len(g.Edges) == 0 {
		t.Fatalf("graph has %d nodes and %d edges", len(g.Nodes), len(g.Edges))
	}
	sawMigration, sawLibraryWarning := false, false
	for _, r := range releases {
		var p planJSON
		c.json(&p, "plan", r.Name)
		if p.Release != r.Name || len(p.Blockers) != 0 || len(p.Waves) == 0 {
			t.Errorf("plan %s: release %q, %d waves, blockers %+v", r.Name, p.Release, len(p.Waves), p.Blockers)
		}
		wave := map[string]int{}
		for i, w := range p.Waves {
			if w.Index != i+1 {
				t.Errorf("plan %s: wave %d has index %d", r.Name, i+1, w.Index)
			}
			for _, s := range w.Services {
				wave[s] = w.Index
			}
			for _, m := range w.Migrations {
				sawMigration = true
				wave["migration:"+m.Migration+"/"+m.Phase] = w.Index
			}
		}
		checked := 0
		for _, e := range g.Edges {
			cw, cok := wave[e.From]
			pw, pok := wave[e.To]
			if cok && pok {
				checked++
				if pw >= cw {
					t.Errorf("plan %s: provider %s in wave %d, not before its consumer %s in wave %d", r.Name, e.To, pw, e.From, cw)
				}
			}
		}
		if checked == 0 {
			t.Errorf("plan %s: no dependency inside the scope to check; the demo should have some", r.Name)
		}
		for _, w := range p.Warnings {
			sawLibraryWarning = sawLibraryWarning || w.Kind == "library-conflict"
		}
		if len(p.Steps) == 0 {
			t.Errorf("plan %s has no steps", r.Name)
		}
	}
	if !sawMigration || !sawLibraryWarning {
		t.Errorf("the demo releases should show a migration (%v) and a library conflict (%v)", sawMigration, sawLibraryWarning)
	}
}

func TestPlanExitCodes(t *testing.T) {
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	if r := c.run("plan", "no-such-release"); r.code != 1 || !strings.Contains(r.stderr, "known releases are") {
		t.Errorf("unknown release: exit %d, %q", r.code, r.stderr)
	}
	if r := c.run("plan"); r.code != 2 {
		t.Errorf("plan without a release: exit %d, want 2 (usage)", r.code)
	}
	if r := c.run("plan", "x", "-o", "yaml"); r.code != 2 {
		t.Errorf("-o yaml: exit %d, want 2", r.code)
	}
}

func TestListContracts(t *testing.T) {
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	var envs []struct {
		Name  string `json:"name"`
		Order int    `json:"order"`
	}
	c.json(&envs, "env", "list")
	if len(envs) != 5 {
		t.Fatalf("%d environments, want 5", len(envs))
	}
	for i := 1; i < len(envs); i++ {
		if envs[i].Order <= envs[i-1].Order {
			t.Errorf("environments not in promotion order: %+v", envs)
		}
	}
	var rels []struct {
		Name string `json:"name"`
	}
	c.json(&rels, "release", "list")
	for _, r := range rels {
		if r.Name == "" {
			t.Errorf("release without a name: %+v", rels)
		}
	}
	for _, f := range []string{"dot", "mermaid"} {
		out := c.ok("graph", "-o", f)
		if len(out) < 100 {
			t.Errorf("graph -o %s: %q", f, out)
		}
	}
	if r := c.run("env", "list", "--db", c.db+".missing"); r.code != 1 || !strings.Contains(r.stderr, "no database at") {
		t.Errorf("missing database: exit %d, %q", r.code, r.stderr)
	}
}

// The audit trail is tamper-evident from the command line too (the store's
// tests cover each kind of tampering).
func TestAuditVerifyNamesTamperedEvent(t *testing.T) {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		if isCI() {
			t.Fatal("sqlite3 CLI missing in CI: scripts/setup should install it")
		}
		t.Skip("sqlite3 CLI not installed (scripts/setup installs it)")
	}
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	if out := c.ok("audit", "verify"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("verify of an intact chain: %s", out)
	}
	cmd := exec.Command(sqlite3, c.db, "DROP TRIGGER IF EXISTS audit_events_no_update; UPDATE audit_events SET actor = 'mallory' WHERE seq = 1;")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	r := c.run("audit", "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "first bad event is 1") {
		t.Errorf("verify after tampering: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestServiceShowBlastRadius(t *testing.T) {
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	var show struct {
		Owner struct {
			Name       string `json:"name"`
			Kind       string `json:"kind"`
			Escalation []struct {
				Name string `json:"name"`
			} `json:"escalation"`
		} `json:"owner"`
		BlastRadius []struct {
			Name  string `json:"name"`
			Depth int    `json:"depth"`
		} `json:"blast_radius"`
		Summary struct {
			Total  int `json:"total"`
			Direct int `json:"direct"`
		} `json:"blast_summary"`
	}
	c.json(&show, "service", "show", "payments-db")
	if show.Owner.Kind != "team" || len(show.Owner.Escalation) == 0 {
		t.Errorf("owner: %+v", show.Owner)
	}
	if show.Summary.Total == 0 || show.Summary.Total != len(show.BlastRadius) || show.Summary.Direct == 0 {
		t.Errorf("blast radius of payments-db: %+v", show)
	}
	hasPayments := false
	for _, d := range show.BlastRadius {
		hasPayments = hasPayments || (d.Name == "payments" && d.Depth == 1)
	}
	if !hasPayments {
		t.Errorf("payments should be a direct dependent of payments-db: %+v", show.BlastRadius)
	}
	if out := c.ok("service", "show", "payments-db"); !strings.Contains(out, "Blast radius:") || !strings.Contains(out, "Owner: ") {
		t.Errorf("text:\n%s", out)
	}
	if r := c.run("service", "show", "nope"); r.code != 1 {
		t.Errorf("unknown service: exit %d", r.code)
	}
}
