package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// versionHeader pins a request to a version: the proxy sends it to an
// instance of that version whatever the weights say (Verify uses it).
const versionHeader = "X-Warroom-Version"

// backendHeader, on the proxy's answers, names the instance that
// answered: "3.2.0#1".
const backendHeader = "X-Warroom-Backend"

// group is one target (service, environment, region): its instances and
// its weighted reverse proxy.
type group struct {
	f      *fleet
	target sdk.Target
	key    string
	op     chan struct{} // holds one token while a change runs

	ln  net.Listener
	srv *http.Server
	url string

	trafficMu   sync.Mutex
	stopTraffic context.CancelFunc // nil: no generator runs
	trafficDone chan struct{}
	inUse       *trafficGate // pauses the generator while the target is idle

	mu        sync.Mutex
	instances []*instance
	strategy  string
	// byInstances: traffic follows instances (every ready instance gets
	// an equal share, whatever its version): rolling. Otherwise weights
	// is the split SetTraffic (or a deploy) asked for.
	byInstances bool
	weights     map[string]int
	colours     map[string]string
	wanted      int // instances per version, from the last deploy
	changedAt   time.Time
	notes       []string // what went wrong since the last change
	swrrSig     string
	swrr        map[string]int
	rr          map[string]int
}

func newGroup(f *fleet, t sdk.Target, ln net.Listener) *group {
	g := &group{
		f:           f,
		target:      t,
		key:         endpointKey(t),
		op:          make(chan struct{}, 1),
		ln:          ln,
		url:         "http://" + ln.Addr().String(),
		byInstances: true,
		weights:     map[string]int{},
		colours:     map[string]string{},
		swrr:        map[string]int{},
		rr:          map[string]int{},
		changedAt:   time.Now(),
		inUse:       newTrafficGate(func() time.Duration { return f.conf().trafficIdle }),
	}
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go g.srv.Serve(ln)
	g.restartTraffic(f.conf().trafficRPS)
	return g
}

// acquire takes the group's change token: one Deploy, Rollback or
// SetTraffic at a time per target.
func (g *group) acquire(ctx context.Context) error {
	select {
	case g.op <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *group) tryAcquire() bool {
	select {
	case g.op <- struct{}{}:
		return true
	default:
		return false
	}
}

func (g *group) release() { <-g.op }

// ---- routing ----

func (g *group) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pin := r.Header.Get(versionHeader)
	// A request without a body can go to another instance when the one
	// picked is unreachable: one being stopped closes its connections,
	// and a rolling step or a rollback must not cost requests.
	retryable := (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		in, why := g.pick(pin)
		if in == nil {
			if lastErr != nil {
				break
			}
			http.Error(w, fmt.Sprintf("localfleet proxy %s: %s", g.key, why), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set(backendHeader, fmt.Sprintf("%s#%d", in.version, in.index))
		if !retryable {
			in.proxy.ServeHTTP(w, r)
			return
		}
		var failed error
		in.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proxyErrKey{}, &failed)))
		if failed == nil {
			return
		}
		// Nothing was written: try another instance.
		lastErr = fmt.Errorf("%s#%d: %w", in.version, in.index, failed)
		in.ready.Store(false) // the monitor sets it again if it answers
	}
	w.Header().Del(backendHeader)
	http.Error(w, fmt.Sprintf("localfleet proxy %s: no instance answered: %v", g.key, lastErr), http.StatusBadGateway)
}

// proxyErrKey carries, in a retryable request's context, where the
// proxy's error handler puts a backend's failure instead of answering.
type proxyErrKey struct{}

// proxyError is every instance proxy's error handler.
func proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := r.Context().Value(proxyErrKey{}).(*error); ok && r.Context().Err() == nil {
		*p = err
		return
	}
	http.Error(w, "localfleet proxy: "+err.Error(), http.StatusBadGateway)
}

// readyByVersion returns the ready instances of each version, by index.
func (g *group) readyByVersionLocked() map[string][]*instance {
	out := map[string][]*instance{}
	for _, in := range g.instances {
		if in.ready.Load() && in.running() {
			out[in.version] = append(out[in.version], in)
		}
	}
	return out
}

// routeWeightsLocked is the split the proxy applies now: the asked
// weights (or instance counts) of the versions that have a ready
// instance.
func (g *group) routeWeightsLocked(ready map[string][]*instance) map[string]int {
	w := map[string]int{}
	for v, ins := range ready {
		if g.byInstances {
			w[v] = len(ins)
		} else if g.weights[v] > 0 {
			w[v] = g.weights[v]
		}
	}
	return w
}

// pick chooses the instance for a request: pinned to a version, or by a
// smooth weighted round robin over versions (deterministic: with weights
// 10/90, every 100 requests are exactly 10 and 90), then round robin over
// the version's ready instances.
func (g *group) pick(pin string) (*instance, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ready := g.readyByVersionLocked()
	version := pin
	if pin != "" {
		if len(ready[pin]) == 0 {
			return nil, fmt.Sprintf("no ready instance of version %s", pin)
		}
	} else {
		w := g.routeWeightsLocked(ready)
		if len(w) == 0 {
			return nil, "no ready instance to route to (" + g.describeWeightsLocked() + ")"
		}
		version = g.swrrPickLocked(w)
	}
	ins := ready[version]
	i := g.rr[version] % len(ins)
	g.rr[version] = i + 1
	return ins[i], ""
}

func (g *group) swrrPickLocked(w map[string]int) string {
	versions := make([]string, 0, len(w))
	for v := range w {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	var sig strings.Builder
	total := 0
	for _, v := range versions {
		fmt.Fprintf(&sig, "%s=%d,", v, w[v])
		total += w[v]
	}
	if sig.String() != g.swrrSig {
		// A new split starts its rotation afresh, so that it is exact.
		g.swrrSig = sig.String()
		clear(g.swrr)
	}
	best := ""
	for _, v := range versions {
		g.swrr[v] += w[v]
		if best == "" || g.swrr[v] > g.swrr[best] {
			best = v
		}
	}
	g.swrr[best] -= total
	return best
}

func (g *group) describeWeightsLocked() string {
	if g.byInstances {
		return "traffic follows instances"
	}
	return "weights " + formatWeights(g.weights)
}

func formatWeights(w map[string]int) string {
	vs := make([]string, 0, len(w))
	for v := range w {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("%s=%d", v, w[v]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// percentages scales weights to whole percents summing to 100 (largest
// remainder; ties to the lower version), or all zero.
func percentages(w map[string]int) map[string]int {
	total := 0
	for _, n := range w {
		total += n
	}
	out := map[string]int{}
	if total == 0 {
		return out
	}
	type rem struct {
		v string
		r int
	}
	var rems []rem
	sum := 0
	for v, n := range w {
		p := n * 100 / total
		out[v] = p
		sum += p
		rems = append(rems, rem{v, n * 100 % total})
	}
	slices.SortFunc(rems, func(a, b rem) int { return cmp.Or(b.r-a.r, cmp.Compare(a.v, b.v)) })
	for i := 0; sum < 100; i++ {
		out[rems[i%len(rems)].v]++
		sum++
	}
	return out
}

// effectivePercentsLocked is the split in percent that the proxy applies
// now.
func (g *group) effectivePercentsLocked() map[string]int {
	return percentages(g.routeWeightsLocked(g.readyByVersionLocked()))
}

// ---- instances ----

func (g *group) snapshot() []*instance {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.instances)
}

func (g *group) runningCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, in := range g.instances {
		if !in.exited() {
			n++
		}
	}
	return n
}

// runningOf returns the running instances of a version, by index.
func (g *group) runningOf(version string) []*instance {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*instance
	for _, in := range g.instances {
		if in.version == version && in.running() {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *instance) int { return a.index - b.index })
	return out
}

// runningOthers returns the running instances of every other version.
func (g *group) runningOthers(version string) []*instance {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*instance
	for _, in := range g.instances {
		if in.version != version && in.running() {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *instance) int {
		return cmp.Or(cmp.Compare(a.version, b.version), a.index-b.index)
	})
	return out
}

// freeIndexes returns the n lowest instance numbers of a version not in
// use.
func (g *group) freeIndexes(version string, n int) []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	used := map[int]bool{}
	for _, in := range g.instances {
		if in.version == version && !in.exited() {
			used[in.index] = true
		}
	}
	var out []int
	for i := 1; len(out) < n; i++ {
		if !used[i] {
			out = append(out, i)
		}
	}
	return out
}

func (g *group) add(in *instance) {
	g.mu.Lock()
	g.instances = append(g.instances, in)
	g.mu.Unlock()
	g.f.writeEndpoints()
}

func (g *group) remove(in *instance) {
	g.mu.Lock()
	g.instances = slices.DeleteFunc(g.instances, func(x *instance) bool { return x == in })
	g.mu.Unlock()
	g.f.writeEndpoints()
}

func (g *group) note(msg string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.notes = append(g.notes, msg)
	if len(g.notes) > 5 {
		g.notes = g.notes[len(g.notes)-5:]
	}
}

// beginChange forgets the instances that exited on their own and the
// notes about them: a change starts from what runs.
func (g *group) beginChange() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.instances = slices.DeleteFunc(g.instances, func(in *instance) bool { return in.exited() })
	g.notes = nil
}

func (g *group) endChange() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.changedAt = time.Now()
}

func (g *group) lastChanged() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changedAt
}

// stopInstances stops instances concurrently and forgets them.
func (g *group) stopInstances(ins []*instance, grace time.Duration) {
	var wg sync.WaitGroup
	for _, in := range ins {
		in.stopping.Store(true)
		in.ready.Store(false)
	}
	for _, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop(grace)
			g.remove(in)
		}()
	}
	wg.Wait()
}

// evict stops every instance (the fleet needs the room) and says why in
// the status; the caller holds the change token.
func (g *group) evict(why string) int {
	g.beginChange()
	ins := g.runningOthers("")
	if len(ins) == 0 {
		return 0
	}
	g.stopInstances(ins, stopGrace)
	g.note(why)
	g.f.log.Info("evicted", "target", g.key, "instances", len(ins), "why", why)
	return len(ins)
}

// restartTraffic stops the proxy's traffic generator and starts one at
// rps (none if 0).
func (g *group) restartTraffic(rps float64) {
	g.trafficMu.Lock()
	defer g.trafficMu.Unlock()
	g.stopTrafficLocked()
	if rps <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	g.stopTraffic, g.trafficDone = cancel, done
	go func() {
		defer close(done)
		generateTraffic(ctx, g.f.client, g.url, rps, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), g.inUse)
	}()
}

func (g *group) stopTrafficLocked() {
	if g.stopTraffic != nil {
		g.stopTraffic()
		<-g.trafficDone
		g.stopTraffic = nil
	}
}

// shutdown stops the traffic, the proxy and every process.
func (g *group) shutdown() {
	g.trafficMu.Lock()
	g.stopTrafficLocked()
	g.trafficMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	g.srv.Shutdown(ctx)
	cancel()
	g.srv.Close()
	g.mu.Lock()
	ins := slices.Clone(g.instances)
	g.mu.Unlock()
	g.stopInstances(ins, time.Second)
}

// ---- traffic ----

// setByInstances makes traffic follow instances (rolling).
func (g *group) setByInstances() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.byInstances = true
	clear(g.weights)
}

// setWeights sets an explicit split.
func (g *group) setWeights(w map[string]int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.byInstances = false
	g.weights = w
}

// freezeWeights turns the split the proxy applies now into an explicit
// one, so that a new version can start beside it with no traffic.
func (g *group) freezeWeights(except string) map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	w := map[string]int{}
	if g.byInstances {
		for v, p := range g.effectivePercentsLocked() {
			if v != except && p > 0 {
				w[v] = p
			}
		}
	} else {
		for v, p := range g.weights {
			if p > 0 {
				w[v] = p
			}
		}
	}
	g.byInstances = false
	g.weights = w
	return w
}
