package deploy

import (
	"fmt"
	"slices"
	"time"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
)

// Stage is an environment as a run goes through it.
type Stage struct {
	Env        string `json:"env"`
	Production bool   `json:"production,omitempty"`
	Approval   bool   `json:"approval,omitempty"` // an operator must let the run in
	// Approvals is the quorum of distinct people that must approve the
	// entry (the environment's approvals, at least 1); Approvers who may
	// (roles or teams; empty: anyone who may approve an entry).
	Approvals int            `json:"approvals,omitempty"`
	Approvers []string       `json:"approvers,omitempty"`
	BakeTime  model.Duration `json:"bake_time,omitempty"`
	// Parallel is the environment's limit of steps of one wave at once
	// (0: DefaultParallel).
	Parallel int `json:"parallel,omitempty"`
}

// NewRunOptions say which run to make from a plan.
type NewRunOptions struct {
	ID           string
	Environments []string // empty: the plan's, in promotion order
	StartedBy    string
	// DefaultTarget is the deploy target of services and environments
	// that name none.
	DefaultTarget string
	Options       Options
	Now           time.Time
}

// NewRun makes a run of a release plan: its steps in the plan's order,
// restricted to the chosen environments.
func NewRun(ix *model.Index, p *plan.Plan, o NewRunOptions) (*Run, error) {
	if p.Blocked() {
		return nil, fmt.Errorf("release %s is blocked (%d blockers): see 'warroom plan %s'", p.Release, len(p.Blockers), p.Release)
	}
	rel, ok := ix.Releases[p.Release]
	if !ok {
		return nil, fmt.Errorf("unknown release %q", p.Release)
	}
	envs := o.Environments
	planned := make([]string, 0, len(p.Environments))
	for _, e := range p.Environments {
		planned = append(planned, e.Name)
	}
	if len(envs) == 0 {
		envs = planned
	}
	for _, e := range envs {
		if !slices.Contains(planned, e) {
			return nil, fmt.Errorf("release %s does not go through environment %q (it goes through %v)", p.Release, e, planned)
		}
	}
	r := &Run{
		ID:        o.ID,
		Release:   p.Release,
		State:     RunPending,
		Emergency: rel.IsEmergency(),
		StartedBy: o.StartedBy,
		CreatedAt: o.Now,
		UpdatedAt: o.Now,
		Options:   o.Options,
	}
	if !rel.Window.End.IsZero() {
		end := rel.Window.End
		r.WindowEnd = &end
	}
	for _, e := range p.Environments {
		if !slices.Contains(envs, e.Name) {
			continue
		}
		r.Environments = append(r.Environments, e.Name)
		st := Stage{Env: e.Name, Production: e.Production, Approval: e.Approval, BakeTime: e.BakeTime}
		if env := ix.Environments[e.Name]; env != nil {
			st.Parallel = env.Parallel
			if env.Approval {
				st.Approvals, st.Approvers = env.Quorum(), slices.Clone(env.Approvers)
			}
		}
		if n := rel.Parallel[e.Name]; n > 0 { // the release's own limit for this environment
			st.Parallel = n
		}
		r.Stages = append(r.Stages, st)
	}
	migrations := map[string]model.Migration{}
	for _, m := range rel.Migrations {
		migrations[m.Name] = m
	}
	for _, ps := range p.Steps {
		if !slices.Contains(r.Environments, ps.Environment) {
			continue
		}
		env := ix.Environments[ps.Environment]
		s := Step{
			Index:    len(r.Steps) + 1,
			Wave:     ps.Wave,
			Env:      ps.Environment,
			Region:   ps.Region,
			State:    StepPending,
			Strategy: ps.Strategy,
		}
		if ps.NotBefore != nil && env != nil && env.Production {
			t := *ps.NotBefore
			s.NotBefore = &t
		}
		switch {
		case ps.Migration != "":
			m := migrations[ps.Migration]
			s.Kind = KindMigration
			s.Migration = ps.Migration
			s.Phase = ps.Phase
			if len(m.Databases) > 0 {
				s.Service = m.Databases[0]
			}
			var step *model.MigrationStep
			switch ps.Phase {
			case model.PhaseExpand:
				step = m.Expand
			case model.PhaseMigrate:
				step = m.Migrate
			case model.PhaseContract:
				step = m.Contract
			}
			s.Settings = map[string]string{"migration": m.Name, "phase": string(ps.Phase)}
			if step != nil {
				s.Reversible = step.Reversible
				if step.Script != "" {
					s.Settings["script"] = step.Script
				}
			}
			s.ServiceKind = model.Database
			s.Strategy = model.Rolling
			if svc := ix.Services[s.Service]; svc != nil {
				s.Target = svc.Deploy.Target
				s.Version = svc.Version
				s.FromVersion = svc.Version
			}
		default:
			s.Kind = KindService
			s.Service = ps.Service
			s.Version = ps.Version
			s.FromVersion = ps.FromVersion
			svc := ix.Services[ps.Service]
			if svc == nil {
				return nil, fmt.Errorf("plan names unknown service %q", ps.Service)
			}
			if it, ok := rel.InScope(ps.Service); ok {
				s.Artifact = it.Artifact
			}
			d := svc.Deploy
			s.ServiceKind = svc.Kind
			if s.ServiceKind == "" {
				s.ServiceKind = model.Stateless
			}
			if s.Strategy == "" {
				s.Strategy = d.Strategy
			}
			if s.Strategy == "" {
				s.Strategy = model.Rolling
			}
			s.Target = d.Target
			s.BatchSize = d.BatchSize
			s.Instances = d.Instances
			s.CanarySteps = d.CanarySteps
			if s.Strategy == model.Canary && len(s.CanarySteps) == 0 {
				s.CanarySteps = []int{10, 50, 100}
			}
			s.BakeTime = d.BakeTime
			if s.Strategy == model.Canary {
				s.BakeExtension = d.BakeExtension
			}
			if len(d.Settings) > 0 {
				s.Settings = map[string]string{}
				for k, v := range d.Settings {
					s.Settings[k] = v
				}
			}
		}
		if s.Target == "" && env != nil {
			s.Target = env.Target
		}
		if s.Target == "" {
			s.Target = o.DefaultTarget
		}
		if s.Target == "" {
			return nil, fmt.Errorf("no deploy target for %s: set deploy.target on the service or target on environment %s", s.Describe(), s.Env)
		}
		r.Steps = append(r.Steps, s)
	}
	if len(r.Steps) == 0 {
		return nil, fmt.Errorf("release %s has no steps in %v", p.Release, envs)
	}
	return r, nil
}

// stage returns the run's stage for an environment.
func (r *Run) stage(env string) Stage {
	for _, s := range r.Stages {
		if s.Env == env {
			return s
		}
	}
	return Stage{Env: env}
}
