package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/store"
)

// The demo's governance. The demo organisation declares people (so the
// policy is enforced), among them a captain and a CI delegate. One
// person at the keyboard plays the captain: the demo's people overlay
// adds the OS login to the captain's logins (applied and audited as
// "demo people overlay", and said on the terminal). The demo's CI
// delegate hands over the evidence and starts the runs, so that the
// captain may waive gates and approve production without signing off
// their own run (four-eyes).

// demoCast is who plays what in the demo.
type demoCast struct {
	// Open: the spec declares no people; everyone may do everything and
	// the rest is empty.
	Open bool
	// Captain is the person the OS login acts as.
	Captain model.Person
	// Overlaid: the demo's people overlay added the login to the
	// captain's logins (false when the login already was someone's).
	Overlaid bool
	// CI is the delegate that imports the evidence and starts the runs
	// ("" when the spec declares none: the captain starts them).
	CI string
}

// demoCaptain picks the person the OS login plays: the person who lists
// the login already, else the captain the first release names (by name
// or display name), else the first person holding the captain role.
func demoCaptain(org *model.Org, login string, release string) (model.Person, bool, error) {
	for _, p := range org.People {
		if slices.Contains(p.Logins, login) {
			return p, false, nil
		}
	}
	var named string
	for _, r := range org.Releases {
		if r.Name == release {
			named = r.Captain
		}
	}
	var first *model.Person
	for i, p := range org.People {
		if p.Delegate || !slices.Contains(p.Roles, policy.Captain) {
			continue
		}
		if named != "" && (p.Name == named || p.DisplayName == named) {
			return p, true, nil
		}
		if first == nil {
			first = &org.People[i]
		}
	}
	if first == nil {
		return model.Person{}, false, errors.New("the demo's people declare no captain (a person with roles: [captain], not a delegate) for you to play")
	}
	return *first, true, nil
}

// demoGovernance applies the people overlay that makes the OS login the
// demo's captain, then resolves who acts as the commands do. It returns
// the cast, which the demo prints.
func (a *app) demoGovernance(ctx context.Context, s *store.Store, release, as string) (demoCast, error) {
	org, err := governanceOrg(ctx, s)
	if err != nil {
		return demoCast{}, fmt.Errorf("read the demo's people: %w", err)
	}
	login := osLogin(a.getenv)
	if len(org.People) == 0 {
		a.gov = governance{pol: policy.New(org), resolved: true}
		a.gov.id, _ = a.gov.pol.Resolve(login, as)
		a.actor = a.gov.id.Actor()
		return demoCast{Open: true}, nil
	}
	full, err := s.Org(ctx)
	if err != nil {
		return demoCast{}, err
	}
	captain, overlay, err := demoCaptain(full, login, release)
	if err != nil {
		return demoCast{}, err
	}
	cast := demoCast{Captain: captain, Overlaid: overlay}
	if overlay {
		captain.Logins = append(slices.Clone(captain.Logins), login)
		set := &spec.Set{Files: []string{"(demo people overlay)"},
			Sources: []*spec.Source{{Object: captain, Pos: spec.Pos{File: "(demo people overlay)"}}}}
		if err := a.applyDemo(ctx, s, "demo people overlay", set); err != nil {
			return demoCast{}, err
		}
		cast.Captain = captain
		if org, err = governanceOrg(ctx, s); err != nil {
			return demoCast{}, err
		}
	}
	for _, p := range org.People {
		if p.Delegate {
			cast.CI = p.Name
			break
		}
	}
	a.gov = governance{pol: policy.New(org)}
	id, err := a.gov.pol.Resolve(login, as)
	var refused *policy.RefusedError
	if errors.As(err, &refused) {
		a.gov.id, _ = a.gov.pol.Resolve(login, "")
		return demoCast{}, a.refuse(ctx, s, "warroom demo", refused.Error(), map[string]any{"as": as, "login": login, "why": refused.Why})
	}
	if err != nil {
		return demoCast{}, err
	}
	a.gov.id, a.gov.resolved, a.actor = id, true, id.Actor()
	return cast, nil
}

// starter is who starts the demo's runs and hands over its evidence: the
// CI delegate, acting as itself, or the actor when there is none.
func (c demoCast) starter(actor string) string {
	if c.CI != "" {
		return c.CI
	}
	return actor
}

// describe is the demo's note on who acts, printed before anything runs:
// the overlay is never silent.
func (c demoCast) describe(login, actor string) string {
	if c.Open {
		return fmt.Sprintf("demo: the spec declares no people: open mode, anyone may do anything; you act as %s", actor)
	}
	var b strings.Builder
	who := c.Captain.Name
	if c.Captain.DisplayName != "" {
		who += " (" + c.Captain.DisplayName + ")"
	}
	if c.Overlaid {
		fmt.Fprintf(&b, "demo: you (OS login %s) act as %s, the demo's captain: the demo's people overlay adds %s to %s's logins (audited as \"demo people overlay\")",
			login, who, login, c.Captain.Name)
	} else {
		fmt.Fprintf(&b, "demo: you (OS login %s) act as %s, who lists that login", login, who)
	}
	if actor != c.Captain.Name {
		fmt.Fprintf(&b, "; commands are audited as %q", actor)
	}
	if c.CI != "" {
		fmt.Fprintf(&b, "\ndemo: %s, the demo's CI delegate, hands over the evidence and starts the runs, so that you may waive gates and approve production (nobody signs off a run they started)", c.CI)
	}
	return b.String()
}

// importDemoEvidence records the demo's evidence folder (SPEC/evidence,
// when it has an evidence.yaml) as who, in one transaction, and returns
// a summary: counts, and every file that does not pass its gate.
func importDemoEvidence(ctx context.Context, s *store.Store, specDir, who string) (string, error) {
	dir := filepath.Join(specDir, "evidence")
	if _, err := os.Stat(filepath.Join(dir, evidenceIndexFile)); errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("demo: %s has no evidence folder (evidence/%s): every gate is missing until evidence is added", specDir, evidenceIndexFile), nil
	}
	entries, err := readEvidenceIndex(dir)
	if err != nil {
		return "", fmt.Errorf("demo evidence: %w", err)
	}
	measured, _, _, err := recordEvidence(ctx, s, who, "evidence import", entries)
	if err != nil {
		return "", fmt.Errorf("demo evidence: %w", err)
	}
	var b strings.Builder
	pass := 0
	var fails []string
	for _, m := range measured {
		if m.record.Pass {
			pass++
			continue
		}
		fails = append(fails, fmt.Sprintf("demo:   %s/%s %s: %s", m.entry.Release, m.entry.Service, m.entry.Gate, m.record.Summary))
	}
	fmt.Fprintf(&b, "demo: %s imported %s as evidence import does: %d files, %d pass their gate, %d do not",
		who, dir, len(measured), pass, len(fails))
	for _, f := range fails {
		b.WriteString("\n" + f)
	}
	return b.String(), nil
}
