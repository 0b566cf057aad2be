package main

import (
	"context"
	"sync"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/store"
)

// storeGates is the deploy engine's view of the store's gates and of the
// organisation's approval policy: it implements deploy.GateChecker (one
// store.GateStatus per check, for the services of the wave entering an
// environment) and deploy.ApprovalPolicy. The policy (approval_ttl, who
// holds which role or team) is read again only when the organisation's
// objects changed, so a run waiting on a gate costs one gate status per
// look.
type storeGates struct {
	s *store.Store

	mu      sync.Mutex
	version int64
	pol     *gates.Policy
}

func newStoreGates(s *store.Store) *storeGates { return &storeGates{s: s} }

// Blocking implements deploy.GateChecker: the gates env names that are not
// pass or waived for the services, with their reasons.
func (g *storeGates) Blocking(ctx context.Context, release, env string, services []string, now time.Time) ([]deploy.GateBlock, error) {
	pol, err := g.ApprovalPolicy(ctx)
	if err != nil {
		return nil, err
	}
	results, err := g.s.GateStatus(ctx, release, env, services, now, pol)
	if err != nil {
		return nil, err
	}
	var out []deploy.GateBlock
	for _, r := range gates.Blocking(results) {
		out = append(out, deploy.GateBlock{Service: r.Service, Gate: r.Gate, State: string(r.State), Reason: r.Reason})
	}
	return out, nil
}

// ApprovalPolicy implements deploy.ApprovalPolicy: the policy's
// approval_ttl, and who may approve (a person holding one of the named
// roles or teams, their teams' governance roles included). In open mode
// anybody may.
func (g *storeGates) ApprovalPolicy(ctx context.Context) (gates.Policy, error) {
	v, err := g.s.ObjectsVersion(ctx)
	if err != nil {
		return gates.Policy{}, err
	}
	g.mu.Lock()
	if g.pol != nil && g.version == v {
		p := *g.pol
		g.mu.Unlock()
		return p, nil
	}
	g.mu.Unlock()
	org, err := g.s.OrgOf(ctx, model.KindPerson, model.KindPolicy, model.KindTeam)
	if err != nil {
		return gates.Policy{}, err
	}
	p := gatesPolicy(policy.New(org))
	g.mu.Lock()
	g.version, g.pol = v, &p
	g.mu.Unlock()
	return p, nil
}

// gatesPolicy is what the policy says about sign-offs and approvals,
// for the console's evaluation and the engine's (one rule for both): its
// approval_ttl, and (enforced) that a sign-off, waiver or approval counts
// only from someone holding one of the gate's or environment's approvers
// (policy.Policy.MayApprove, as the policy decides a sign-off). In open
// mode, or without a policy, anybody may and four-eyes does not apply.
func gatesPolicy(pol *policy.Policy) gates.Policy {
	if pol == nil {
		return gates.Policy{Open: true}
	}
	p := gates.Policy{ApprovalTTL: pol.TTL(), Open: pol.Mode() == policy.Open}
	if pol.Mode() == policy.Enforced {
		p.MayApprove = pol.MayApprove
	}
	return p
}
