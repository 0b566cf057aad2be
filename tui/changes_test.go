package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
)

// withChangesAndPlugins adds recorded change requests and a plugin host's
// report to the fixture: a change awaiting approval with a rejection, an
// approved one with a long URL, a closed one; plugins healthy, crashed
// with a long error, untrusted and stopped.
func withChangesAndPlugins(f *fakeSource) *fakeSource {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	f.snap.Focus = "2026-11-27-payments"
	f.snap.Changes = []ChangeRequest{
		{ID: "CHG-0003", Release: "2026-11-27-payments", Title: "Payments 3.2 and ledger schema v7", Class: "normal",
			State: "submitted", Requester: "carol", Risk: 40, TicketRef: "CHG-000012", System: "tickets-local",
			URL: "local:CHG-000012", CreatedAt: t0, UpdatedAt: t0.Add(3 * time.Hour),
			Approvals: []ChangeApproval{
				{Approver: "dave", Role: "sre", Decision: "approve", Reason: "dashboards are green", At: t0.Add(time.Hour)},
				{Approver: "erin", Role: "security", Decision: "reject",
					Reason: "the ledger schema change needs the data-protection review signed off before it goes to production in the EU regions", At: t0.Add(3 * time.Hour)},
			}},
		{ID: "CHG-0002", Release: "2026-11-20-notifications-and-webhooks", Title: "Notifications dispatcher 2.0", Class: "standard",
			State: "approved", Requester: "frank", TicketRef: "INC-2026-000000451", System: "servicenow-production",
			URL:       "https://example.service-now.com/nav_to.do?uri=change_request.do?sys_id=5f2a9c1e8b7d4e3f9a0b1c2d3e4f5a6b",
			CreatedAt: t0.Add(-7 * 24 * time.Hour), UpdatedAt: t0.Add(-7*24*time.Hour + time.Hour),
			Approvals: []ChangeApproval{{Approver: "grace", Role: "cab", Decision: "approve", At: t0.Add(-7*24*time.Hour + time.Hour)}}},
		{ID: "CHG-0001", Release: "2026-11-13-search", Title: "Search 1.4", Class: "emergency", State: "closed",
			Requester: "carol", TicketRef: "CHG-000003", System: "tickets-local",
			CreatedAt: t0.Add(-14 * 24 * time.Hour), UpdatedAt: t0.Add(-13 * 24 * time.Hour)},
	}
	sum := "9f2c4b1a7e3d5f6081a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"
	f.snap.PluginsKnown = true
	f.snap.Plugins = []PluginStatus{
		{Name: "localfleet", Path: "/opt/warroom/bin/plugins/localfleet", Kinds: []string{"deploy-target"}, Version: "0.9.1",
			Trusted: true, TrustSource: "build", SHA256: sum, Running: true, Healthy: false, Fault: "crashed",
			LastError: "plugin localfleet: crashed during Deploy (exit status 2): panic: runtime error: index out of range [3] with length 3 in group.go:211 while placing payments in eu-west-1"},
		{Name: "tickets-local", Path: "/opt/warroom/bin/plugins/tickets-local", Kinds: []string{"ticketing"}, Version: "1.2.0",
			Trusted: true, TrustSource: "database", SHA256: sum, Running: true, Healthy: true},
		{Name: "prometheus-eu-and-us", Path: "/usr/local/libexec/warroom/prometheus", Kinds: []string{"monitoring-source"},
			SHA256: sum, Fault: "untrusted", LastError: "plugin prometheus-eu-and-us: binary sha256 9f2c4b1a… is not trusted: run warroom plugins trust prometheus-eu-and-us"},
		{Name: "exec", Path: "/opt/warroom/bin/plugins/exec", Kinds: []string{"deploy-target", "ticketing"},
			Trusted: true, TrustSource: "database", SHA256: sum},
	}
	return f
}

func TestGoldenChangesPlugins(t *testing.T) {
	screens := []struct{ name, key, want string }{
		{"Changes", "7", "Change requests"},
		{"Plugins", "9", "configured"},
	}
	for _, sc := range screens {
		for _, size := range [][2]int{{120, 40}, {80, 24}} {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				tm := teatest.NewTestModel(t, newTestModel(withChangesAndPlugins(fixture())), teatest.WithInitialTermSize(size[0], size[1]))
				teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("run-7f3a")) },
					teatest.WithDuration(5*time.Second))
				tm.Type(sc.key)
				teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(sc.want)) },
					teatest.WithDuration(5*time.Second))
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				view := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).View()
				checkFits(t, view, size[0], size[1])
				golden.RequireEqual(t, []byte(view))
			})
		}
	}
}

func TestChangesScreen(t *testing.T) {
	m := loaded(t, withChangesAndPlugins(fixture()), 80, 24)
	m.Update(keyMsg("7"))
	v := m.View()
	for _, want := range []string{"◷ submitted", "1✓ 1✗", "✗ rejected", "erin (security)",
		"signed off before it goes to", "dashboards are green", "CHG-000012 in tickets-local"} {
		if !strings.Contains(v, want) {
			t.Errorf("first change lacks %q:\n%s", want, v)
		}
	}
	checkFits(t, v, 80, 24)
	m.Update(keyMsg("j"))
	v = m.View()
	// The URL is longer than the screen: it wraps, whole.
	if !strings.Contains(strings.ReplaceAll(v, "\n"+strings.Repeat(" ", fieldLabel), ""),
		"https://example.service-now.com/nav_to.do?uri=change_request.do?sys_id=5f2a9c1e8b7d4e3f9a0b1c2d3e4f5a6b") {
		t.Errorf("URL not shown whole:\n%s", v)
	}
	if !strings.Contains(v, "INC-2026-000000451 in servicenow-production") {
		t.Errorf("ticket not shown whole:\n%s", v)
	}
	checkFits(t, v, 80, 24)

	// n asks the root to file a change for the release in focus.
	_, cmd := m.Update(keyMsg("n"))
	if cmd == nil {
		t.Fatal("n gave no command")
	}
	if msg, ok := cmd().(FileChangeMsg); !ok || msg.Release != "2026-11-27-payments" {
		t.Fatalf("n: %#v", cmd())
	}
}

func TestChangesEmpty(t *testing.T) {
	m := loaded(t, fixture(), 80, 24)
	m.Update(keyMsg("7"))
	v := m.View()
	if !strings.Contains(v, "press n, or run warroom change create RELEASE") {
		t.Errorf("empty list does not say how to file one:\n%s", v)
	}
	checkFits(t, v, 80, 24)
}

func TestPluginsScreen(t *testing.T) {
	m := loaded(t, fixture(), 80, 24)
	m.Update(keyMsg("9"))
	if v := m.View(); !strings.Contains(v, "no plugin host") {
		t.Errorf("no plugin host not said:\n%s", v)
	}
	m = loaded(t, withChangesAndPlugins(fixture()), 80, 24)
	m.Update(keyMsg("9"))
	v := m.View()
	joined := strings.ReplaceAll(v, "\n"+strings.Repeat(" ", fieldLabel), " ")
	for _, want := range []string{"✗ crashed", "✓ healthy", "! untrusted", "– stopped", "4 configured · 1 healthy",
		"in group.go:211 while placing payments in eu-west-1", "[crashed] plugin localfleet"} {
		if !strings.Contains(joined, want) {
			t.Errorf("plugins lack %q:\n%s", want, v)
		}
	}
	checkFits(t, v, 80, 24)
	for range 3 {
		m.Update(keyMsg("j"))
	}
	v = m.View()
	if !strings.Contains(v, "deploy-target, ticketing") || !strings.Contains(v, "unknown: it has not started") {
		t.Errorf("last plugin:\n%s", v)
	}
	checkFits(t, v, 80, 24)
}
