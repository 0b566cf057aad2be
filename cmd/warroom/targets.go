package main

import (
	"context"
	"fmt"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// deployTargets gives the engine the configured deploy-target plugins,
// through the plugin host (launched on first use, hardened, closed when
// the command ends).
func (a *app) deployTargets(ctx context.Context) (deploy.Targets, error) {
	h, err := a.pluginHost(ctx)
	if err != nil {
		return nil, err
	}
	return pluginTargets{h: h, m: a.metrics}, nil
}

type deployTargetSource interface {
	DeployTarget(ctx context.Context, name string) (sdk.DeployTarget, error)
}

// pluginTargets adapts plugins (the SDK's types) to the engine's port
// (core's types): core imports nothing outside core.
type pluginTargets struct {
	h deployTargetSource
	m *warroomMetrics // optional: times and counts each call
}

func (p pluginTargets) Target(ctx context.Context, name string) (deploy.Target, error) {
	t, err := p.h.DeployTarget(ctx, name)
	if err != nil {
		return nil, err
	}
	return sdkTarget{t: t, name: name, m: p.m}, nil
}

// sdkTarget adapts one deploy-target plugin; every call is timed, and
// counted if it fails, in warroom's metrics.
type sdkTarget struct {
	t    sdk.DeployTarget
	name string
	m    *warroomMetrics
}

// observe records a call that started at start: defer it with the call's
// error.
func (s sdkTarget) observe(ctx context.Context, call string, start time.Time, err *error) {
	s.m.pluginCall(ctx, s.name, call, start, *err)
}

func target(r deploy.Request) sdk.Target {
	return sdk.Target{Service: r.Service, Environment: r.Environment, Region: r.Region}
}

func artifact(a model.Artifact) sdk.Artifact {
	return sdk.Artifact{Digest: a.Digest, Ref: a.Ref, Source: a.Source}
}

func checks(cs []sdk.Check) []deploy.Check {
	out := make([]deploy.Check, len(cs))
	for i, c := range cs {
		out[i] = deploy.Check{Name: c.Name, Passed: c.Passed, Message: c.Message}
	}
	return out
}

func (s sdkTarget) Describe(ctx context.Context) (_ deploy.Capabilities, err error) {
	defer s.observe(ctx, "describe", time.Now(), &err)
	c, err := s.t.Describe(ctx)
	if err != nil {
		return deploy.Capabilities{}, err
	}
	out := deploy.Capabilities{Stateful: c.Stateful, BlueGreenStateful: c.BlueGreenStateful}
	for _, st := range c.Strategies {
		out.Strategies = append(out.Strategies, model.Strategy(st))
	}
	return out, nil
}

func (s sdkTarget) Preflight(ctx context.Context, r deploy.Request) (_ []deploy.Check, err error) {
	defer s.observe(ctx, "preflight", time.Now(), &err)
	cs, err := s.t.Preflight(ctx, sdk.PreflightRequest{Target: target(r), Version: r.Version, Artifact: artifact(r.Artifact),
		Strategy: string(r.Strategy), Settings: r.Settings})
	return checks(cs), err
}

// sink passes a target's events on and keeps the final one.
type sink struct {
	progress func(deploy.Event)
	last     sdk.DeployEvent
}

func (k *sink) Send(ev sdk.DeployEvent) error {
	k.last = ev
	k.progress(deploy.Event{At: ev.At, Phase: ev.Phase, Message: ev.Message, Percent: ev.Percent})
	return nil
}

func (s sdkTarget) Deploy(ctx context.Context, r deploy.Request, progress func(deploy.Event)) (_ deploy.Outcome, err error) {
	defer s.observe(ctx, "deploy", time.Now(), &err)
	k := &sink{progress: progress}
	err = s.t.Deploy(ctx, sdk.DeployRequest{
		IdempotencyKey: r.IdempotencyKey, Target: target(r), Version: r.Version, FromVersion: r.FromVersion,
		Artifact: artifact(r.Artifact), Strategy: string(r.Strategy), BatchSize: r.BatchSize, Instances: r.Instances,
		ServiceKind: string(r.ServiceKind), Settings: r.Settings, RunID: r.RunID, Step: r.Step, Attempt: r.Attempt,
	}, k)
	return deploy.Outcome{Replayed: k.last.Replayed, Message: k.last.Message}, classify(err)
}

// classify gives the engine the fault codes of the plugin contract: a
// clean refusal (FailedPrecondition) waits for an operator; Unavailable
// or a crashed plugin is retried with the same idempotency key. A call
// that hung past the host's timeout fails the step: the target may be
// midway ('deploy retry' tries again as a new attempt).
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case sdk.CodeOf(err) == sdk.CodeFailedPrecondition:
		return fmt.Errorf("%w: %w", deploy.ErrTargetRefused, err)
	case sdk.CodeOf(err) == sdk.CodeUnavailable || host.FaultOf(err) == host.FaultCrashed:
		return fmt.Errorf("%w: %w", deploy.ErrTargetUnavailable, err)
	}
	return err
}

func (s sdkTarget) SetTraffic(ctx context.Context, r deploy.Request, ws []deploy.Weight) (err error) {
	defer s.observe(ctx, "set_traffic", time.Now(), &err)
	sw := make([]sdk.TrafficWeight, len(ws))
	for i, w := range ws {
		sw[i] = sdk.TrafficWeight{Version: w.Version, Percent: w.Percent}
	}
	_, err = s.t.SetTraffic(ctx, sdk.SetTrafficRequest{IdempotencyKey: r.IdempotencyKey, Target: target(r), Weights: sw})
	return err
}

func (s sdkTarget) Verify(ctx context.Context, r deploy.Request) (_ []deploy.Check, err error) {
	defer s.observe(ctx, "verify", time.Now(), &err)
	cs, err := s.t.Verify(ctx, sdk.VerifyRequest{Target: target(r), Version: r.Version, Settings: r.Settings})
	if host.FaultOf(err) == host.FaultTimeout {
		// Smoke checks only read: one that hung (the host restarts the
		// plugin at the next call) is asked again like Unavailable. A
		// hung Deploy is not: it may have done its work (see classify).
		return nil, fmt.Errorf("%w: %w", deploy.ErrTargetUnavailable, err)
	}
	return checks(cs), classify(err)
}

func (s sdkTarget) Rollback(ctx context.Context, r deploy.Request, progress func(deploy.Event)) (_ deploy.Outcome, err error) {
	defer s.observe(ctx, "rollback", time.Now(), &err)
	k := &sink{progress: progress}
	err = s.t.Rollback(ctx, sdk.RollbackRequest{IdempotencyKey: r.IdempotencyKey, Target: target(r), ToVersion: r.Version,
		FromVersion: r.FromVersion, Reason: r.Reason, RunID: r.RunID, Step: r.Step}, k)
	return deploy.Outcome{Replayed: k.last.Replayed, Message: k.last.Message}, err
}

func (s sdkTarget) Status(ctx context.Context, r deploy.Request) (_ deploy.Status, err error) {
	defer s.observe(ctx, "status", time.Now(), &err)
	st, err := s.t.Status(ctx, sdk.StatusRequest{Target: target(r)})
	if err != nil {
		return deploy.Status{}, err
	}
	out := deploy.Status{AppliedKeys: st.AppliedKeys, Healthy: true}
	for _, ss := range st.Services {
		if ss.Target.Service != r.Service {
			continue
		}
		out.Healthy = out.Healthy && ss.Healthy
		out.Known = true
		for _, v := range ss.Versions {
			out.Versions = append(out.Versions, deploy.VersionStatus{Version: v.Version, Instances: v.Instances, Ready: v.Ready, Weight: v.Weight})
		}
	}
	return out, nil
}
