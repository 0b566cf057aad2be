package deploy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/core/calendar"
	"github.com/warroom/warroom/core/model"
)

// PolicyGate is the pre-flight policy of a step, checked against the
// organisation as it is now (a spec applied during a run counts): the
// release window is open, no freeze is in force for the step (unless the
// release passes the freeze's exception policy), and the artifact is the
// one the release's scope names.
type PolicyGate struct {
	// Org loads the current organisation.
	Org func(ctx context.Context) (*model.Org, error)
	// Version, when set, says which version of the organisation is
	// current (the store's objects version): the gate loads and indexes
	// the organisation again only when it moved, not for every step of a
	// 7,000-step run.
	Version func(ctx context.Context) (int64, error)

	mu      sync.Mutex
	version int64
	org     *model.Org
	ix      *model.Index
}

// current returns the organisation and its index, loaded again only when
// its version moved (or always, without Version).
func (g *PolicyGate) current(ctx context.Context) (*model.Org, *model.Index, error) {
	v := int64(-1)
	if g.Version != nil {
		var err error
		if v, err = g.Version(ctx); err != nil {
			return nil, nil, err
		}
		g.mu.Lock()
		org, ix, same := g.org, g.ix, g.org != nil && g.version == v
		g.mu.Unlock()
		if same {
			return org, ix, nil
		}
	}
	org, err := g.Org(ctx)
	if err != nil {
		return nil, nil, err
	}
	ix := model.NewIndex(org)
	if g.Version != nil {
		g.mu.Lock()
		g.version, g.org, g.ix = v, org, ix
		g.mu.Unlock()
	}
	return org, ix, nil
}

// Preflight implements Gate.
func (g *PolicyGate) Preflight(ctx context.Context, r *Run, s *Step, now time.Time) []Check {
	org, ix, err := g.current(ctx)
	if err != nil {
		return []Check{{Name: "policy", Message: "cannot read the organisation: " + err.Error()}}
	}
	rel, ok := ix.Releases[r.Release]
	if !ok {
		return []Check{{Name: "release-exists", Message: fmt.Sprintf("release %s is no longer in the catalogue", r.Release)}}
	}
	var out []Check
	w := rel.Window
	switch {
	case (now.Before(w.Start) || !now.Before(w.End)) && r.Options.OutsideWindow != "":
		out = append(out, Check{Name: "window-open", Passed: true, Message: fmt.Sprintf("outside the release window (%s to %s UTC), allowed by %s: %s",
			w.Start.UTC().Format("2006-01-02 15:04"), w.End.UTC().Format("2006-01-02 15:04"), r.StartedBy, r.Options.OutsideWindow)})
	case now.Before(w.Start) || !now.Before(w.End):
		out = append(out, Check{Name: "window-open", Message: fmt.Sprintf("the release window is %s to %s UTC; it is now %s",
			w.Start.UTC().Format("2006-01-02 15:04"), w.End.UTC().Format("2006-01-02 15:04"), now.UTC().Format("2006-01-02 15:04"))})
	default:
		out = append(out, Check{Name: "window-open", Passed: true, Message: "closes " + w.End.UTC().Format("15:04 UTC")})
	}
	out = append(out, freezeCheck(org, rel, s, now))
	if s.Kind == KindService {
		it, inScope := rel.InScope(s.Service)
		switch {
		case !inScope:
			out = append(out, Check{Name: "artifact", Message: fmt.Sprintf("%s is no longer in the scope of %s", s.Service, rel.Name)})
		case it.Version != s.Version:
			out = append(out, Check{Name: "artifact", Message: fmt.Sprintf("the scope now ships %s %s, the run deploys %s", s.Service, it.Version, s.Version)})
		case it.Artifact.Digest != s.Artifact.Digest:
			out = append(out, Check{Name: "artifact", Message: fmt.Sprintf("the scope's artifact digest of %s changed since the run started (%s, run has %s)",
				s.Service, short(it.Artifact.Digest), short(s.Artifact.Digest))})
		default:
			out = append(out, Check{Name: "artifact", Passed: true, Message: short(s.Artifact.Digest)})
		}
	}
	return out
}

// freezeCheck asks whether a freeze is in force now for the step's
// environment and service.
func freezeCheck(org *model.Org, rel *model.Release, s *Step, now time.Time) Check {
	probe := *rel
	probe.Window = model.Window{Start: now, End: now.Add(time.Minute)}
	probe.Environments = []string{s.Env}
	probe.Scope = nil
	if it, ok := rel.InScope(s.Service); ok {
		probe.Scope = []model.ScopeItem{it}
	}
	var blocking, allowed []string
	for _, c := range calendar.FreezeConflicts(org, &probe) {
		if c.Allowed {
			allowed = append(allowed, c.Item)
		} else {
			blocking = append(blocking, c.Message)
		}
	}
	switch {
	case len(blocking) > 0:
		return Check{Name: "no-freeze", Message: strings.Join(blocking, "; ")}
	case len(allowed) > 0:
		return Check{Name: "no-freeze", Passed: true, Message: "freeze " + strings.Join(allowed, ", ") + " in force; the release passes its exception policy"}
	}
	return Check{Name: "no-freeze", Passed: true}
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	if d == "" {
		return "(none)"
	}
	return d
}
