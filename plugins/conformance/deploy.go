package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/warroom/warroom/plugins/sdk"
)

// Names the suite knows; a target may not invent strategies, since the
// engine plans by them.
var (
	knownStrategies   = []string{"rolling", "blue-green", "canary"}
	knownServiceKinds = []string{"stateless", "stateful", "database", "queue"}
)

// The service the suite deploys, in an environment of its own.
var (
	suiteTarget   = sdk.Target{Service: "conformance-svc", Environment: "conformance"}
	suiteVersion  = "1.1.0"
	suitePrevious = "1.0.0"
)

func deployChecks() []check {
	return []check{
		{name: "deploy-target/describe", run: checkDescribe},
		{name: "deploy-target/status", run: checkStatus},
		{name: "deploy-target/preflight", run: checkPreflight},
		{name: "deploy-target/deploy", mutates: true, run: checkDeploy},
		{name: "deploy-target/deploy-idempotent", mutates: true, run: checkDeployIdempotent},
		{name: "deploy-target/verify", run: checkVerify},
		{name: "deploy-target/set-traffic-invalid", mutates: true, run: checkSetTrafficInvalid},
		{name: "deploy-target/set-traffic", mutates: true, run: checkSetTraffic},
		{name: "deploy-target/rollback", mutates: true, run: checkRollback},
		{name: "deploy-target/status-after", mutates: true, run: checkStatusAfter},
	}
}

// capabilities returns the target's capabilities, asking for them if the
// describe check did not get them.
func (s *state) capabilities(ctx context.Context) (sdk.Capabilities, error) {
	if s.caps != nil {
		return *s.caps, nil
	}
	c, err := s.subj.DeployTarget().Describe(ctx)
	if err != nil {
		return c, called("Describe", err)
	}
	if err := validCapabilities(c); err != nil {
		return c, err
	}
	s.caps = &c
	return c, nil
}

func validCapabilities(c sdk.Capabilities) error {
	var problems []string
	if len(c.Strategies) == 0 {
		problems = append(problems, "no strategy")
	}
	for _, st := range c.Strategies {
		if !slices.Contains(knownStrategies, st) {
			problems = append(problems, fmt.Sprintf("unknown strategy %q (known: %s)", st, strings.Join(knownStrategies, ", ")))
		}
	}
	for _, k := range c.ServiceKinds {
		if !slices.Contains(knownServiceKinds, k) {
			problems = append(problems, fmt.Sprintf("unknown service kind %q (known: %s)", k, strings.Join(knownServiceKinds, ", ")))
		}
	}
	if c.MaxParallel < 0 {
		problems = append(problems, fmt.Sprintf("max_parallel %d is negative", c.MaxParallel))
	}
	if c.BlueGreenStateful && !c.Stateful {
		problems = append(problems, "blue_green_stateful without stateful")
	}
	if len(problems) > 0 {
		return malformedf("Describe: %s", strings.Join(problems, "; "))
	}
	return nil
}

func checkDescribe(ctx context.Context, s *state) (string, error) {
	c, err := s.capabilities(ctx)
	if err != nil {
		return "", err
	}
	msg := "strategies " + strings.Join(c.Strategies, ", ")
	if c.TrafficShifting {
		msg += "; shifts traffic"
	}
	if c.Stateful {
		msg += "; stateful services"
	}
	return msg, nil
}

func checkStatus(ctx context.Context, s *state) (string, error) {
	st, err := s.status(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s, %s", count(len(st.Services), "service"), count(len(st.AppliedKeys), "applied key")), nil
}

// status asks what runs in the suite's environment and checks the answer
// is well formed.
func (s *state) status(ctx context.Context) (sdk.Status, error) {
	st, err := s.subj.DeployTarget().Status(ctx, sdk.StatusRequest{Target: sdk.Target{Environment: suiteTarget.Environment}})
	if err != nil {
		return st, called("Status", err)
	}
	var problems []string
	for i, svc := range st.Services {
		where := fmt.Sprintf("service %d", i+1)
		if svc.Target.Service == "" || svc.Target.Environment == "" {
			problems = append(problems, where+" has no service or environment in its target")
		} else {
			where = svc.Target.Service + "/" + svc.Target.Environment
		}
		sum := 0
		for _, v := range svc.Versions {
			switch {
			case v.Version == "":
				problems = append(problems, where+": a version without a name")
			case v.Instances < 0 || v.Ready < 0 || v.Ready > v.Instances && v.Instances > 0:
				problems = append(problems, fmt.Sprintf("%s %s: %d of %d instances ready", where, v.Version, v.Ready, v.Instances))
			case v.Weight < 0 || v.Weight > 100:
				problems = append(problems, fmt.Sprintf("%s %s: weight %d outside 0..100", where, v.Version, v.Weight))
			}
			sum += v.Weight
		}
		if sum != 0 && sum != 100 {
			problems = append(problems, fmt.Sprintf("%s: weights sum to %d, not 100", where, sum))
		}
	}
	for _, k := range st.AppliedKeys {
		if k == "" {
			problems = append(problems, "an empty applied key")
			break
		}
	}
	if len(problems) > 0 {
		return st, malformedf("Status: %s", strings.Join(problems, "; "))
	}
	return st, nil
}

func validChecks(call string, checks []sdk.Check) (string, error) {
	var problems []string
	passed := 0
	for i, c := range checks {
		if strings.TrimSpace(c.Name) == "" {
			problems = append(problems, fmt.Sprintf("check %d has no name", i+1))
		}
		if c.Duration < 0 {
			problems = append(problems, fmt.Sprintf("check %q has a negative duration", c.Name))
		}
		if c.Passed {
			passed++
		}
	}
	if len(problems) > 0 {
		return "", malformedf("%s: %s", call, strings.Join(problems, "; "))
	}
	if len(checks) == 0 {
		return "", failf("%s returned no check: report at least one named check, even one saying nothing was checked", call)
	}
	names := make([]string, len(checks))
	for i, c := range checks {
		names[i] = c.Name
	}
	return fmt.Sprintf("%s (%s), %d passed", count(len(checks), "check"), strings.Join(names, ", "), passed), nil
}

func (s *state) strategy(ctx context.Context) string {
	if c, err := s.capabilities(ctx); err == nil && len(c.Strategies) > 0 {
		return c.Strategies[0]
	}
	return "rolling"
}

func checkPreflight(ctx context.Context, s *state) (string, error) {
	checks, err := s.subj.DeployTarget().Preflight(ctx, sdk.PreflightRequest{
		Target:   suiteTarget,
		Version:  suiteVersion,
		Artifact: suiteArtifact,
		Strategy: s.strategy(ctx),
	})
	if err != nil {
		return "", called("Preflight", err)
	}
	return validChecks("Preflight", checks)
}

func checkVerify(ctx context.Context, s *state) (string, error) {
	checks, err := s.subj.DeployTarget().Verify(ctx, sdk.VerifyRequest{Target: suiteTarget, Version: suiteVersion})
	if err != nil {
		return "", called("Verify", err)
	}
	return validChecks("Verify", checks)
}

var suiteArtifact = sdk.Artifact{
	Digest: "sha256:" + strings.Repeat("0", 64),
	Ref:    "registry.invalid/conformance-svc:" + suiteVersion,
}

// recorder is the EventSink of the suite: it keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []sdk.DeployEvent
}

func (r *recorder) Send(ev sdk.DeployEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) all() []sdk.DeployEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// deployOutcome is how a deployment or rollback call ended.
type deployOutcome struct {
	key    string
	events []sdk.DeployEvent
	done   sdk.DeployEvent
	err    error // the call's error: nil, or the plugin's in-band failure
	// refused: the plugin turned the call down before it started (an
	// error with a code and no event at all), so nothing happened.
	refused bool
}

func (o deployOutcome) describe() string {
	switch {
	case o.err == nil:
		if o.done.Message == "" {
			return "succeeded"
		}
		return "succeeded: " + o.done.Message
	case o.refused:
		return "refused cleanly before starting: " + describeErr(o.err)
	}
	return "failed cleanly in-band: " + o.done.Message
}

// followDeployment runs a Deploy or Rollback call and checks its events:
// the stream ends with exactly one done event, percentages stay within
// 0..100, and a failure comes as a failed done event, never as a fault.
// A refusal before the start (not configured, say) comes with no event.
func followDeployment(call string, key string, run func(sdk.EventSink) error) (deployOutcome, error) {
	var rec recorder
	err := run(&rec)
	out := deployOutcome{key: key, events: rec.all(), err: err}
	if err != nil {
		if _, ok := answered(err); !ok {
			return out, called(call, err)
		}
		if len(out.events) == 0 {
			out.refused = true
			return out, nil
		}
	}
	var problems []string
	dones := 0
	for i, ev := range out.events {
		if ev.Percent < 0 || ev.Percent > 100 {
			problems = append(problems, fmt.Sprintf("event %d at %d percent", i+1, ev.Percent))
		}
		if ev.InstancesReady < 0 || ev.InstancesTotal < 0 || ev.InstancesTotal > 0 && ev.InstancesReady > ev.InstancesTotal {
			problems = append(problems, fmt.Sprintf("event %d has %d of %d instances ready", i+1, ev.InstancesReady, ev.InstancesTotal))
		}
		if ev.Done {
			dones++
			out.done = ev
			if i != len(out.events)-1 {
				problems = append(problems, fmt.Sprintf("event %d comes after the done event", i+2))
			}
		}
		if !ev.Done && (ev.Failed || ev.Replayed) {
			problems = append(problems, fmt.Sprintf("event %d is failed or replayed but not done", i+1))
		}
	}
	switch {
	case dones == 0:
		problems = append(problems, fmt.Sprintf("the stream of %d events ended without a done event", len(out.events)))
	case dones > 1:
		problems = append(problems, fmt.Sprintf("%d done events, want exactly one", dones))
	case err == nil && out.done.Failed:
		problems = append(problems, "a failed done event, but the call succeeded")
	case err != nil && !out.done.Failed:
		problems = append(problems, "the call failed, but its done event is not failed")
	}
	if len(problems) > 0 {
		return out, malformedf("%s: %s", call, strings.Join(problems, "; "))
	}
	return out, nil
}

func (s *state) deploy(ctx context.Context, key string) (deployOutcome, error) {
	dt := s.subj.DeployTarget()
	req := sdk.DeployRequest{
		IdempotencyKey: key,
		Target:         suiteTarget,
		Version:        suiteVersion,
		FromVersion:    suitePrevious,
		Artifact:       suiteArtifact,
		Strategy:       s.strategy(ctx),
		BatchSize:      1,
		Instances:      1,
		ServiceKind:    "stateless",
		RunID:          s.runID,
		Step:           1,
		Attempt:        1,
	}
	return followDeployment("Deploy", key, func(sink sdk.EventSink) error { return dt.Deploy(ctx, req, sink) })
}

func (s *state) key(step string) string { return s.runID + "/" + step }

func checkDeploy(ctx context.Context, s *state) (string, error) {
	out, err := s.deploy(ctx, s.key("deploy/1"))
	if err != nil {
		return "", err
	}
	s.deployed = &out
	return fmt.Sprintf("%s; %s", count(len(out.events), "event"), out.describe()), nil
}

func checkDeployIdempotent(ctx context.Context, s *state) (string, error) {
	first := s.deployed
	if first == nil {
		out, err := s.deploy(ctx, s.key("deploy/1"))
		if err != nil {
			return "", fmt.Errorf("first deploy: %w", err)
		}
		first = &out
		s.deployed = first
	}
	if first.refused {
		return "", skipf("not checked: the first deploy was refused before it started (%s); give the plugin settings with --set so that it deploys", describeErr(first.err))
	}
	again, err := s.deploy(ctx, first.key)
	if err != nil {
		return "", fmt.Errorf("repeated deploy: %w", err)
	}
	switch {
	case again.done.Replayed && (first.err == nil) == (again.err == nil):
		return "replayed, not done again: " + again.done.Message, nil
	case again.done.Replayed:
		return "", failf("Deploy repeated with idempotency key %q replayed another outcome (first %s, then %s)", first.key, first.describe(), again.describe())
	case first.err != nil:
		// A failed attempt may or may not be recorded: retries carry a
		// new key. Nothing shows whether it acted twice.
		return "", skipf("not checked: the first deploy failed (%s), and a failure need not be replayed; give the plugin settings with --set so that a deploy succeeds", first.done.Message)
	}
	return "", failf("Deploy repeated with idempotency key %q was not reported as replayed (%s): a target must not act twice for one key, and must answer with a done event with Replayed set", first.key, again.describe())
}

// badWeights sum to 90.
var badWeights = []sdk.TrafficWeight{{Version: suitePrevious, Percent: 60}, {Version: suiteVersion, Percent: 30}}

func checkSetTrafficInvalid(ctx context.Context, s *state) (string, error) {
	// Without valid capabilities the refusal is still checked; either
	// code will do then.
	caps, capsErr := s.capabilities(ctx)
	if capsErr != nil {
		if faultOf(capsErr) == "timeout" {
			return "", fmt.Errorf("not checked: %w", capsErr)
		}
		caps = sdk.Capabilities{}
	}
	applied, err := s.subj.DeployTarget().SetTraffic(ctx, sdk.SetTrafficRequest{
		IdempotencyKey: s.key("set-traffic/invalid"),
		Target:         suiteTarget,
		Weights:        badWeights,
	})
	if err == nil {
		sum := 0
		for _, w := range applied {
			sum += w.Percent
		}
		return "", failf("SetTraffic accepted weights summing to 90 (and answered a split summing to %d): refuse them with CodeInvalid", sum)
	}
	code, ok := answered(err)
	if !ok {
		return "", called("SetTraffic", err)
	}
	switch {
	case code == sdk.CodeInvalid:
		return "refused weights summing to 90 with CodeInvalid", nil
	case code == sdk.CodeUnimplemented && !caps.TrafficShifting:
		return "refused with CodeUnimplemented: the target does not shift traffic", nil
	case code == sdk.CodeUnimplemented:
		return "", failf("SetTraffic answered CodeUnimplemented although Describe says traffic_shifting: %v", err)
	}
	return "", failf("SetTraffic refused weights summing to 90 with %s, want CodeInvalid: %v", codeName(code), err)
}

func checkSetTraffic(ctx context.Context, s *state) (string, error) {
	caps, err := s.capabilities(ctx)
	if err != nil {
		return "", fmt.Errorf("not checked: %w", err)
	}
	if !caps.TrafficShifting {
		return "", skipf("not applicable: the target does not shift traffic")
	}
	// All traffic to the version the suite deployed: a split valid for
	// any target that deployed it.
	want := []sdk.TrafficWeight{{Version: suiteVersion, Percent: 100}}
	applied, err := s.subj.DeployTarget().SetTraffic(ctx, sdk.SetTrafficRequest{
		IdempotencyKey: s.key("set-traffic/1"),
		Target:         suiteTarget,
		Weights:        want,
	})
	if err != nil {
		if _, ok := answered(err); ok && s.deployed != nil && s.deployed.err != nil {
			// Nothing was deployed, so there may be nothing to split.
			return "", skipf("not applicable: the deploy did not succeed, and SetTraffic answered %s", describeErr(called("SetTraffic", err)))
		}
		return "", called("SetTraffic", err)
	}
	sum := 0
	for _, w := range applied {
		if w.Percent < 0 || w.Percent > 100 || w.Version == "" {
			return "", malformedf("SetTraffic: applied weight %q=%d", w.Version, w.Percent)
		}
		sum += w.Percent
	}
	if sum != 100 {
		return "", malformedf("SetTraffic: the applied weights sum to %d, not 100", sum)
	}
	return fmt.Sprintf("applied %s", weightsString(applied)), nil
}

func weightsString(ws []sdk.TrafficWeight) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprintf("%s=%d", w.Version, w.Percent)
	}
	return strings.Join(parts, ",")
}

func checkRollback(ctx context.Context, s *state) (string, error) {
	dt := s.subj.DeployTarget()
	key := s.key("rollback/1")
	req := sdk.RollbackRequest{
		IdempotencyKey: key,
		Target:         suiteTarget,
		ToVersion:      suitePrevious,
		FromVersion:    suiteVersion,
		Reason:         "conformance suite",
		RunID:          s.runID,
		Step:           2,
	}
	out, err := followDeployment("Rollback", key, func(sink sdk.EventSink) error { return dt.Rollback(ctx, req, sink) })
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s; %s", count(len(out.events), "event"), out.describe()), nil
}

// checkStatusAfter checks Status once the suite has deployed: still well
// formed, and telling the truth about what the suite deployed.
func checkStatusAfter(ctx context.Context, s *state) (string, error) {
	st, err := s.status(ctx)
	if err != nil {
		return "", err
	}
	d := s.deployed
	if d == nil || d.err != nil {
		return count(len(st.Services), "service") + " (nothing was deployed)", nil
	}
	if caps, err := s.capabilities(ctx); err == nil && !caps.Status {
		return count(len(st.Services), "service") + " (the target does not report real state)", nil
	}
	for _, svc := range st.Services {
		if svc.Target.Service == suiteTarget.Service {
			return fmt.Sprintf("%s, %s among them", count(len(st.Services), "service"), suiteTarget.Service), nil
		}
	}
	return "", failf("Status does not list %s, which the suite deployed", suiteTarget.Service)
}
