package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/store"
)

// consoleGovernance is who sits at the console and the policy they act
// under, kept current while the console is open: a command resolves its
// actor once, but a console lives for hours, and people or the policy
// may be applied meanwhile (a console opened in open mode must not stay
// permissive once people are declared). It is read again whenever the
// store's objects version moves; the console's source (header, gate
// evaluation) and its commander (decisions) share it.
type consoleGovernance struct {
	login, as string

	mu      sync.Mutex
	objects int64
	pol     *policy.Policy
	id      policy.Identity
	// refused: --as is not accepted any more (the person acted for, or
	// the delegate, is gone); the console then acts on nothing.
	refused error
}

// newConsoleGovernance starts from the identity the console's command
// resolved (a.gov), as of the store's objects version now.
func newConsoleGovernance(ctx context.Context, a *app, s *store.Store) *consoleGovernance {
	g := &consoleGovernance{login: osLogin(a.getenv), as: asOf(a.gov), objects: -1, pol: a.gov.pol, id: a.gov.id}
	if v, err := s.ObjectsVersion(ctx); err == nil && a.gov.pol != nil {
		g.objects = v
	}
	return g
}

// asOf is the --as the identity was resolved with ("" for none): the
// person a delegate acts for, or in open mode a name that is not the
// login.
func asOf(gov governance) string {
	id := gov.id
	switch {
	case id.Delegate != "":
		return id.Person
	case id.Mode == policy.Open && id.Person != id.Login:
		return id.Person
	}
	return ""
}

// current is the policy and identity as of the store's objects version,
// resolved again when it moved.
func (g *consoleGovernance) current(ctx context.Context, s *store.Store) (*policy.Policy, policy.Identity, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, err := s.ObjectsVersion(ctx)
	if err != nil {
		return nil, policy.Identity{}, fmt.Errorf("console: %w", err)
	}
	if v == g.objects && g.pol != nil {
		return g.pol, g.id, g.refused
	}
	org, err := governanceOrg(ctx, s)
	if err != nil {
		return nil, policy.Identity{}, fmt.Errorf("console: read the people and policy: %w", err)
	}
	pol := policy.New(org)
	id, err := pol.Resolve(g.login, g.as)
	g.refused = nil
	var refused *policy.RefusedError
	if errors.As(err, &refused) {
		// Shown as the login's own person; acting is refused.
		id, _ = pol.Resolve(g.login, "")
		g.refused = fmt.Errorf("the console acts on nothing: %w", refused)
	} else if err != nil {
		return nil, policy.Identity{}, err
	}
	g.pol, g.id, g.objects = pol, id, v
	return pol, id, g.refused
}

// act runs do as the console's current identity: the app's governance
// (which app.authorize and the audit actor read) is brought up to date
// first. Actions are serialised: a person's keys are human-speed, and
// two of them must not see each other's identity half set.
func (c *consoleCommander) act(ctx context.Context, do func() error) error {
	c.actMu.Lock()
	defer c.actMu.Unlock()
	if c.gov == nil {
		c.gov = newConsoleGovernance(ctx, c.a, c.s)
	}
	pol, id, err := c.gov.current(ctx, c.s)
	if err != nil {
		return err
	}
	c.a.gov.pol, c.a.gov.id, c.a.gov.resolved = pol, id, true
	c.a.actor = id.Actor()
	return do()
}
