package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/graph/graphtest"
	"github.com/warroom/warroom/core/model"
)

func TestPolicyGate(t *testing.T) {
	ix, rel := graphtest.ShopWith(func(org *model.Org, r *model.Release) {
		org.Calendar = append(org.Calendar, model.CalendarItem{Name: "peak", Kind: model.Freeze,
			Start: r.Window.Start.Add(time.Hour), End: r.Window.End.Add(24 * time.Hour)})
	})
	org := ix.Org
	gate := &PolicyGate{Org: func(context.Context) (*model.Org, error) { return org, nil }}
	it := rel.Scope[0]
	step := &Step{Kind: KindService, Service: it.Service, Version: it.Version, Artifact: it.Artifact, Env: "prod"}
	run := &Run{Release: rel.Name}
	failed := func(now time.Time) string {
		return strings.Join(failedChecks(gate.Preflight(context.Background(), run, step, now)), " | ")
	}
	if got := failed(rel.Window.Start.Add(10 * time.Minute)); got != "" {
		t.Errorf("inside the window, before the freeze: %s", got)
	}
	if got := failed(rel.Window.Start.Add(-time.Minute)); !strings.Contains(got, "window-open: the release window is") {
		t.Errorf("before the window: %q", got)
	}
	if got := failed(rel.Window.Start.Add(90 * time.Minute)); !strings.Contains(got, "no-freeze") {
		t.Errorf("in the freeze: %q", got)
	}
	// Break-glass: outside the window with a recorded reason; a freeze
	// still stops it.
	run.Options.OutsideWindow = "INC-4711 hotfix"
	if got := failed(rel.Window.Start.Add(-time.Hour)); got != "" {
		t.Errorf("outside the window with an override: %q", got)
	}
	if got := failed(rel.Window.End.Add(time.Hour)); !strings.Contains(got, "no-freeze") || strings.Contains(got, "window-open") {
		t.Errorf("override in a freeze: %q", got)
	}
	run.Options.OutsideWindow = ""
	step.Artifact.Digest = "sha256:" + strings.Repeat("0", 64)
	if got := failed(rel.Window.Start.Add(10 * time.Minute)); !strings.Contains(got, "artifact: the scope's artifact digest") {
		t.Errorf("changed digest: %q", got)
	}
}

// The gate loads the organisation again only when its version moved, and
// then sees the change (a scope edited during the run).
func TestPolicyGateLoadsTheOrganisationOnlyWhenItChanged(t *testing.T) {
	ix, rel := graphtest.ShopWith(nil)
	org := ix.Org
	loads, version := 0, int64(1)
	gate := &PolicyGate{
		Org:     func(context.Context) (*model.Org, error) { loads++; return org, nil },
		Version: func(context.Context) (int64, error) { return version, nil },
	}
	it := rel.Scope[0]
	step := &Step{Kind: KindService, Service: it.Service, Version: it.Version, Artifact: it.Artifact, Env: "prod"}
	run := &Run{Release: rel.Name}
	now := rel.Window.Start.Add(10 * time.Minute)
	for i := 0; i < 50; i++ {
		if got := failedChecks(gate.Preflight(context.Background(), run, step, now)); len(got) > 0 {
			t.Fatalf("checks failed: %v", got)
		}
	}
	if loads != 1 {
		t.Errorf("%d loads for 50 steps of an unchanged organisation", loads)
	}
	changed := *org
	changed.Releases = nil
	org, version = &changed, 2
	if got := strings.Join(failedChecks(gate.Preflight(context.Background(), run, step, now)), " | "); !strings.Contains(got, "no longer in the catalogue") || loads != 2 {
		t.Errorf("after the release was removed: %q (%d loads)", got, loads)
	}
}
