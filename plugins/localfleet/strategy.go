package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/warroom/warroom/plugins/sdk"
)

// Strategies.
const (
	rolling   = "rolling"
	blueGreen = "blue-green"
	canary    = "canary"
)

// stateKinds are the service kinds that deploy as rolling only.
var stateKinds = []string{"stateful", "database", "queue"}

// progress sends a deployment's events.
type progress struct {
	mu      sync.Mutex
	send    func(sdk.DeployEvent)
	total   int // units of work (instance starts and stops) planned
	done    int
	ready   int // instances of the new version ready
	want    int // instances of the new version wanted
	percent int
}

func (p *progress) event(phase, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.total > 0 {
		p.percent = max(p.percent, min(99, p.done*100/p.total))
	}
	p.send(sdk.DeployEvent{
		Phase: phase, Message: msg, Percent: p.percent,
		InstancesReady: min(p.ready, p.want), InstancesTotal: p.want,
	})
}

// step counts a unit of work done; ready says an instance of the new
// version became ready.
func (p *progress) step(ready bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if ready {
		p.ready++
	}
}

// already counts a ready instance of the new version that was running
// before the deployment.
func (p *progress) already() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ready++
}

func (p *progress) plan(units int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += units
}

// deployPlan is a validated deploy request.
type deployPlan struct {
	target   sdk.Target
	version  string
	from     string
	strategy string
	n        int // instances of the new version
	batch    int
	faults   faultSet
	notes    []string
}

// planDeploy validates a request. Its errors are refusals: nothing was
// done.
func (f *fleet) planDeploy(req sdk.DeployRequest) (deployPlan, error) {
	p := deployPlan{target: req.Target, version: req.Version, from: req.FromVersion}
	p.strategy = req.Strategy
	if p.strategy == "" {
		p.strategy = rolling
	}
	if !slices.Contains([]string{rolling, blueGreen, canary}, p.strategy) {
		return p, invalid("unknown strategy %q: this target offers rolling, blue-green and canary", req.Strategy)
	}
	if slices.Contains(stateKinds, req.ServiceKind) {
		switch p.strategy {
		case blueGreen:
			return p, invalid("%s is a %s service: this target does not deploy stateful services blue-green (Describe: blue_green_stateful false); use rolling",
				req.Target.Service, req.ServiceKind)
		case canary:
			p.notes = append(p.notes, fmt.Sprintf("%s is a %s service: deployed rolling, one batch at a time, instead of canary", req.Target.Service, req.ServiceKind))
			p.strategy = rolling
		}
	}
	p.n = req.Instances
	if p.n <= 0 {
		p.n = defaultInstances
	}
	if p.n > f.conf().maxInstances {
		p.notes = append(p.notes, fmt.Sprintf("%d instances asked for; the local fleet runs %d (max_instances)", p.n, f.conf().maxInstances))
		p.n = f.conf().maxInstances
	}
	p.batch = min(max(req.BatchSize, 1), p.n)
	ff, err := f.conf().faultsFor(req.Target.Service, req.Version)
	if err != nil {
		return p, sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: %v", err)
	}
	rf, err := requestFaults(req.Settings)
	if err != nil {
		return p, invalid("%v", err)
	}
	p.faults = ff.merge(rf)
	if len(p.faults) > 0 {
		p.notes = append(p.notes, fmt.Sprintf("%s %s runs with faults: %s", req.Target.Service, req.Version, p.faults))
	}
	// Faults configured for a version of this service that this deploy
	// does not run are most likely a typo in the version: say so, in the
	// deploy's events and the plugin's log, rather than show a fault
	// that never comes.
	for _, v := range f.conf().faultedVersions(req.Target.Service) {
		if v != req.Version && v != req.FromVersion {
			msg := fmt.Sprintf("warning: faults are configured for %s %s, which this deploy does not run (it deploys %s)", req.Target.Service, v, req.Version)
			p.notes = append(p.notes, msg)
			f.log.Warn(msg)
		}
	}
	if err := checkBinary(f.conf().binary); err != nil {
		return p, sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: the demo service cannot run: %v", err)
	}
	return p, nil
}

// deploy carries out a plan.
func (f *fleet) deploy(ctx context.Context, p deployPlan, pr *progress) error {
	g, err := f.group(p.target)
	if err != nil {
		return err
	}
	if err := g.acquire(ctx); err != nil {
		return err
	}
	defer g.release()
	g.beginChange()
	defer g.endChange()
	svc := p.target.Service
	pr.want = p.n
	for _, n := range p.notes {
		pr.event("plan", n)
	}
	pr.event("plan", fmt.Sprintf("%s %s to %s: %s, %d instances, proxy %s", svc, p.version, g.key, p.strategy, p.n, g.url))

	if p.from != "" && p.from != p.version && g.runningCount() == 0 {
		pr.event("baseline", fmt.Sprintf("nothing runs for %s (a new fleet starts empty): bringing up %s %s first, the version being replaced",
			g.key, svc, p.from))
		ff, err := f.conf().faultsFor(svc, p.from)
		if err != nil {
			return sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: %v", err)
		}
		colour := ""
		if p.strategy == rolling {
			g.setByInstances()
		} else {
			g.setWeights(map[string]int{p.from: 100})
		}
		if p.strategy == blueGreen {
			colour = "blue"
			g.setColour(p.from, colour)
		}
		pr.plan(p.n)
		if err := f.ensure(ctx, g, p.from, p.n, ff, colour, pr, false); err != nil {
			return fmt.Errorf("bringing up the baseline %s %s: %w", svc, p.from, err)
		}
	}

	var err2 error
	switch p.strategy {
	case rolling:
		err2 = f.rolling(ctx, g, p, pr)
	case blueGreen:
		err2 = f.blueGreen(ctx, g, p, pr)
	case canary:
		err2 = f.canary(ctx, g, p, pr)
	}
	g.setStrategy(p.strategy, p.n)
	if err2 != nil {
		return err2
	}
	pr.event("done", fmt.Sprintf("%s %s deployed to %s (%s): %s", svc, p.version, g.key, p.strategy, g.summary()))
	return nil
}

// rolling replaces instances batch by batch: a batch of new instances
// starts and must pass /healthz, then as many old ones stop. Traffic
// follows instances all along.
func (f *fleet) rolling(ctx context.Context, g *group, p deployPlan, pr *progress) error {
	g.setByInstances()
	g.clearColours()
	cur, old := g.runningOf(p.version), g.runningOthers(p.version)
	pr.plan(max(p.n-len(cur), 0) + len(old))
	if len(cur) > p.n {
		f.stopSaying(g, cur[p.n:], "more than the "+fmt.Sprint(p.n)+" instances wanted", pr)
	}
	started := 0
	for batch := 1; ; batch++ {
		cur, old = g.runningOf(p.version), g.runningOthers(p.version)
		if len(cur) >= p.n && len(old) == 0 {
			return nil
		}
		if len(cur) < p.n {
			k := min(p.batch, p.n-len(cur))
			if started+k > 2*p.n {
				// Healthy instances that keep dying (a crash-after fault
				// under traffic) would have this loop start them forever.
				return fmt.Errorf("instances of %s %s keep exiting after becoming healthy: %d started, %d still run",
					g.target.Service, p.version, started, len(cur))
			}
			started += k
			pr.event("batch", fmt.Sprintf("batch %d: starting %d new instance(s) of %s", batch, k, p.version))
			if err := f.startInstances(ctx, g, p.version, g.freeIndexes(p.version, k), p.n, p.faults, "", pr, true); err != nil {
				return err
			}
		}
		if old = g.runningOthers(p.version); len(old) > 0 {
			f.stopSaying(g, old[:min(p.batch, len(old))], "replaced", pr)
		}
	}
}

// blueGreen brings the new colour up beside the live one, idle; the
// switch is SetTraffic's. The colour that was standby since the last
// deploy is stopped first.
func (f *fleet) blueGreen(ctx context.Context, g *group, p deployPlan, pr *progress) error {
	live := g.freezeWeights(p.version)
	f.retire(g, p.version, live, "the standby colour of the last deploy", pr)
	liveColour := ""
	for v := range live {
		if c := g.colour(v); c != "" {
			liveColour = c
		}
	}
	if liveColour == "" {
		liveColour = "blue"
	}
	for v := range live {
		g.setColour(v, liveColour)
	}
	newColour := "green"
	if liveColour == "green" {
		newColour = "blue"
	}
	if _, isLive := live[p.version]; isLive {
		newColour = liveColour
	}
	g.setColour(p.version, newColour)
	pr.plan(max(p.n-len(g.runningOf(p.version)), 0))
	if err := f.ensure(ctx, g, p.version, p.n, p.faults, newColour, pr, true); err != nil {
		return err
	}
	if len(live) == 0 {
		g.setWeights(map[string]int{p.version: 100})
		pr.event("traffic", fmt.Sprintf("nothing else serves %s: %s (%s) takes all the traffic", g.key, p.version, newColour))
		return nil
	}
	pr.event("traffic", fmt.Sprintf("%s (%s) is up beside %s (%s), idle: the traffic stays on %s until it is switched",
		p.version, newColour, versionList(live), liveColour, liveColour))
	return nil
}

// canary starts the canary's instances beside the live version with no
// traffic; SetTraffic moves the weight.
func (f *fleet) canary(ctx context.Context, g *group, p deployPlan, pr *progress) error {
	live := g.freezeWeights(p.version)
	f.retire(g, p.version, live, "no traffic", pr)
	g.clearColours()
	pr.plan(max(p.n-len(g.runningOf(p.version)), 0))
	if err := f.ensure(ctx, g, p.version, p.n, p.faults, "", pr, true); err != nil {
		return err
	}
	if len(live) == 0 {
		g.setWeights(map[string]int{p.version: 100})
		pr.event("traffic", fmt.Sprintf("nothing else serves %s: the canary %s takes all the traffic", g.key, p.version))
		return nil
	}
	pr.event("traffic", fmt.Sprintf("canary %s is up beside %s with 0%% of the traffic; traffic shifts move it", p.version, versionList(live)))
	return nil
}

func versionList(w map[string]int) string {
	vs := make([]string, 0, len(w))
	for v := range w {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}

// retire stops the instances of every version but keep and the live
// ones.
func (f *fleet) retire(g *group, keep string, live map[string]int, why string, pr *progress) {
	var stop []*instance
	for _, in := range g.runningOthers(keep) {
		if _, ok := live[in.version]; !ok {
			stop = append(stop, in)
		}
	}
	if len(stop) > 0 {
		pr.plan(len(stop))
		f.stopSaying(g, stop, why, pr)
		for _, in := range stop {
			g.dropColour(in.version)
		}
	}
}

// stop stops instances, saying so.
func (f *fleet) stopSaying(g *group, ins []*instance, why string, pr *progress) {
	if len(ins) == 0 {
		return
	}
	names := make([]string, len(ins))
	for i, in := range ins {
		names[i] = fmt.Sprintf("%s#%d", in.version, in.index)
	}
	pr.event("stopping", fmt.Sprintf("stopping %s %s (%s)", g.target.Service, strings.Join(names, ", "), why))
	g.stopInstances(ins, stopGrace)
	for range ins {
		pr.step(false)
	}
}

// ensure makes exactly n instances of a version run and be healthy.
func (f *fleet) ensure(ctx context.Context, g *group, version string, n int, faults faultSet, colour string, pr *progress, counts bool) error {
	cur := g.runningOf(version)
	if len(cur) > n {
		f.stopSaying(g, cur[n:], fmt.Sprintf("more than the %d instances wanted", n), pr)
		cur = cur[:n]
	}
	if counts {
		for _, in := range cur {
			if in.ready.Load() {
				pr.already()
			}
		}
	}
	missing := n - len(cur)
	if missing <= 0 {
		return nil
	}
	return f.startInstances(ctx, g, version, g.freeIndexes(version, missing), n, faults, colour, pr, counts)
}

// startInstances starts instances one after the other (each is up in a
// few milliseconds), then waits for all of them to pass /healthz
// together. After a start fails no more are started; the error is the
// first failure by instance number.
func (f *fleet) startInstances(ctx context.Context, g *group, version string, indexes []int, total int, faults faultSet, colour string, pr *progress, counts bool) error {
	errs := make([]error, len(indexes))
	var wg sync.WaitGroup
	for i, idx := range indexes {
		in, err := f.startOne(ctx, g, version, idx, total, faults, colour, pr)
		if err != nil {
			errs[i] = err
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.awaitHealthy(ctx, g, in, total, pr, counts)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// startOne starts one instance and returns once it listens.
func (f *fleet) startOne(ctx context.Context, g *group, version string, idx, total int, faults faultSet, colour string, pr *progress) (*instance, error) {
	svc := g.target.Service
	if err := f.reserve(ctx, g, func(msg string) { pr.event("capacity", msg) }); err != nil {
		return nil, err
	}
	pr.event("starting", fmt.Sprintf("starting %s %s instance %d/%d", svc, version, idx, total))
	spec := startSpec{binary: f.conf().binary, service: svc, version: version, index: idx, colour: colour, faults: faults}
	in, err := startProcess(ctx, f.sp, spec, f.transport, func(in *instance) {
		f.unreserve()
		if !in.stopping.Load() {
			f.log.Warn("instance exited", "target", g.key, "version", in.version, "instance", in.index, "pid", in.pid, "status", in.exitDesc)
		}
	})
	if in == nil {
		f.unreserve()
		return nil, err
	}
	in.starting.Store(true)
	g.add(in)
	if err != nil {
		f.discard(g, in, err)
		return nil, err
	}
	return in, nil
}

// awaitHealthy waits for a started instance to pass /healthz.
func (f *fleet) awaitHealthy(ctx context.Context, g *group, in *instance, total int, pr *progress, counts bool) error {
	svc := g.target.Service
	if err := in.waitHealthy(ctx, f.client, svc, f.conf().healthTimeout); err != nil {
		f.discard(g, in, err)
		return err
	}
	in.starting.Store(false)
	f.log.Info("instance healthy", "target", g.key, "version", in.version, "instance", in.index, "pid", in.pid, "addr", in.addr)
	pr.step(counts)
	pr.event("healthy", fmt.Sprintf("%s %s instance %d/%d healthy at %s (pid %d)", svc, in.version, in.index, total, in.addr, in.pid))
	return nil
}

// discard kills an instance that failed to start and remembers why.
func (f *fleet) discard(g *group, in *instance, err error) {
	in.starting.Store(false)
	in.kill()
	g.remove(in)
	if !errors.Is(err, context.Canceled) {
		g.note(err.Error())
	}
}

// setTraffic applies a split. A version given traffic that has no
// instance is accepted as long as some version given traffic runs: its
// share goes to the others, and Status says so.
func (f *fleet) setTraffic(ctx context.Context, t sdk.Target, weights []sdk.TrafficWeight) error {
	g := f.existing(t)
	if err := f.checkTraffic(g, t, weights); err != nil {
		return err
	}
	if err := g.acquire(ctx); err != nil {
		return err
	}
	defer g.release()
	g.beginChange()
	defer g.endChange()
	if err := f.checkTraffic(g, t, weights); err != nil {
		return err
	}
	w := map[string]int{}
	promoted := ""
	for _, tw := range weights {
		w[tw.Version] = tw.Percent
		if tw.Percent == 100 {
			promoted = tw.Version
		}
	}
	g.setWeights(w)
	f.log.Info("traffic set", "target", g.key, "weights", formatWeights(w))
	if promoted != "" && g.currentStrategy() == canary {
		// A canary at 100% has won: its baseline stops now, to keep the
		// fleet light (a rollback starts it again).
		if old := g.runningOthers(promoted); len(old) > 0 {
			g.stopInstances(old, stopGrace)
			f.log.Info("canary promoted; baseline stopped", "target", g.key, "version", promoted, "stopped", len(old))
		}
	}
	return nil
}

func (f *fleet) checkTraffic(g *group, t sdk.Target, weights []sdk.TrafficWeight) error {
	if g == nil {
		return sdk.Errorf(sdk.CodeFailedPrecondition,
			"localfleet: nothing runs for %s: this fleet has not deployed it since it started (a new fleet starts empty)", endpointKey(t))
	}
	var asked []string
	for _, w := range weights {
		if w.Percent > 0 {
			if len(g.runningOf(w.Version)) > 0 {
				return nil
			}
			asked = append(asked, fmt.Sprintf("%s=%d", w.Version, w.Percent))
		}
	}
	return sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: none of the versions given traffic (%s) runs in %s; it runs %s",
		strings.Join(asked, ","), g.key, g.summary())
}

// rollback puts all traffic back on to (starting its instances if they
// are gone) and stops every other version.
func (f *fleet) rollback(ctx context.Context, req sdk.RollbackRequest, pr *progress) error {
	g, err := f.group(req.Target)
	if err != nil {
		return err
	}
	if err := g.acquire(ctx); err != nil {
		return err
	}
	defer g.release()
	g.beginChange()
	defer g.endChange()
	svc, to := req.Target.Service, req.ToVersion
	n, strategy := g.lastDeploy()
	if n == 0 {
		n = min(defaultInstances, f.conf().maxInstances)
	}
	pr.want = n
	if to != "" {
		ff, err := f.conf().faultsFor(svc, to)
		if err != nil {
			return sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: %v", err)
		}
		cur := g.runningOf(to)
		if len(cur) < n {
			if len(cur) == 0 {
				pr.event("rollback", fmt.Sprintf("%s %s does not run in %s any more: starting it", svc, to, g.key))
			}
			if err := checkBinary(f.conf().binary); err != nil {
				return sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: the demo service cannot run: %v", err)
			}
		}
		pr.plan(max(n-len(cur), 0) + len(g.runningOthers(to)))
		if err := f.ensure(ctx, g, to, n, ff, g.colour(to), pr, true); err != nil {
			return fmt.Errorf("rolling back to %s %s: %w", svc, to, err)
		}
		g.setWeights(map[string]int{to: 100})
		pr.event("traffic", fmt.Sprintf("100%% of %s's traffic is back on %s", g.key, to))
	} else {
		pr.event("rollback", fmt.Sprintf("no version to roll back to in %s: stopping what runs", g.key))
	}
	if others := g.runningOthers(to); len(others) > 0 {
		f.stopSaying(g, others, "rolled back", pr)
	}
	if to == "" {
		g.setWeights(map[string]int{})
	} else if strategy == rolling || strategy == "" {
		g.setByInstances()
	}
	g.keepColourOnly(to)
	pr.event("done", fmt.Sprintf("%s rolled back to %s: %s", g.key, orNothing(to), g.summary()))
	return nil
}

func orNothing(v string) string {
	if v == "" {
		return "nothing"
	}
	return v
}

// ---- small group accessors used by the strategies ----

func (g *group) setStrategy(s string, n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.strategy, g.wanted = s, n
}

func (g *group) currentStrategy() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.strategy
}

func (g *group) lastDeploy() (int, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.wanted, g.strategy
}

func (g *group) colour(v string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.colours[v]
}

func (g *group) setColour(v, c string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.colours[v] = c
}

func (g *group) dropColour(v string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.colours, v)
}

func (g *group) clearColours() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.colours)
}

func (g *group) keepColourOnly(v string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.colours {
		if k != v {
			delete(g.colours, k)
		}
	}
}

// summary says what runs: "3.2.0 2/2 ready 10%, 3.1.0 2/2 ready 90%".
func (g *group) summary() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	vs := g.versionStatusLocked()
	if len(vs) == 0 {
		return "nothing"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s %d/%d ready %d%%", v.Version, v.Ready, v.Instances, v.Weight)
		if v.Colour != "" {
			parts[i] += " (" + v.Colour + ")"
		}
	}
	return strings.Join(parts, ", ")
}
