package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/warroom/warroom/plugins/sdk"
)

const endpointsFile = "endpoints.json"

// portsFile remembers each target's last proxy port, so that a new fleet
// (a restarted plugin) listens on the same ones when they are free:
// endpoints.json only lists the proxies that run.
const portsFile = "proxy-ports.json"

// metricsFile lists every instance's /metrics URL by cohort
// ("service/env/region@version"), in the targets_file format of the
// scrape monitoring source, so canary analysis can compare the versions
// of a target instance by instance.
const metricsFile = "scrape-targets.json"

// healthInterval is how often the fleet probes every instance's /healthz
// between changes.
const healthInterval = time.Second

// fleet is every demo-service process and proxy of one supervisor (or,
// in tests, of one in-process target). It lives as long as that process:
// its instances die with it (Pdeathsig), and it starts empty.
type fleet struct {
	cfg       atomic.Pointer[config] // replaced whole when settings change: conf
	log       hclog.Logger
	sp        *spawner
	transport *http.Transport
	client    *http.Client // health probes and smoke requests

	mu     sync.Mutex
	groups map[sdk.Target]*group
	procs  int // processes running or being started
	closed bool
	ports  map[string]int // last proxy port of each target, this fleet's or an earlier one's

	writeMu sync.Mutex // endpoints.json
	stop    chan struct{}
	bg      sync.WaitGroup
}

func newFleet(cfg config, log hclog.Logger) *fleet {
	tr := &http.Transport{
		Proxy: nil, // 127.0.0.1 only: never through an HTTP proxy of the environment
		// No cap across hosts: a fleet has a hundred hosts (proxies and
		// instances), and a shared cap of 256 idle connections closed
		// them as fast as the traffic opened them. At thousands of
		// requests a second that left some 70,000 sockets in TIME-WAIT,
		// the ephemeral ports ran out, and smoke checks hung. Per host,
		// 64 stay idle at most.
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	}
	f := &fleet{
		log:       log,
		sp:        newSpawner(),
		transport: tr,
		client:    &http.Client{Transport: tr, Timeout: 30 * time.Second},
		groups:    map[sdk.Target]*group{},
		ports:     readPorts(filepath.Join(cfg.stateDir, portsFile)),
		stop:      make(chan struct{}),
	}
	f.cfg.Store(&cfg)
	// Nothing runs yet: say so before anyone reads an old file.
	f.writeEndpoints()
	f.bg.Add(1)
	go f.monitor()
	return f
}

// conf is the fleet's configuration now.
func (f *fleet) conf() config { return *f.cfg.Load() }

// reconfigure applies new settings to a running fleet (same state dir):
// they take effect at the next use (faults and the binary at the next
// instance start, limits at the next check), except the traffic rate,
// which every proxy's generator takes at once.
func (f *fleet) reconfigure(c config) {
	old := f.cfg.Swap(&c)
	if old.trafficRPS == c.trafficRPS {
		return
	}
	f.mu.Lock()
	groups := make([]*group, 0, len(f.groups))
	for _, g := range f.groups {
		groups = append(groups, g)
	}
	f.mu.Unlock()
	for _, g := range groups {
		g.restartTraffic(c.trafficRPS)
	}
}

// endpointKey names a target in endpoints.json: service/env/region.
func endpointKey(t sdk.Target) string {
	k := t.Service + "/" + t.Environment
	if t.Region != "" {
		k += "/" + t.Region
	}
	return k
}

func readPorts(path string) map[string]int {
	out := map[string]int{}
	if b, err := os.ReadFile(path); err == nil {
		json.Unmarshal(b, &out)
	}
	return out
}

// writeEndpoints writes endpoints.json: every proxy of the fleet.
func (f *fleet) writeEndpoints() {
	f.mu.Lock()
	m := map[string]string{}
	var groups []*group
	if !f.closed {
		for t, g := range f.groups {
			m[endpointKey(t)] = g.url
			groups = append(groups, g)
		}
	}
	ports, _ := json.MarshalIndent(f.ports, "", "  ")
	f.mu.Unlock()
	// Instances are read group by group after the fleet's lock is let go:
	// a group's lock is never taken under the fleet's.
	metrics := map[string][]string{}
	for _, g := range groups {
		for _, in := range g.snapshot() {
			if in.addr != "" && in.running() {
				k := g.key + "@" + in.version
				metrics[k] = append(metrics[k], "http://"+in.addr+"/metrics")
			}
		}
	}
	for _, urls := range metrics {
		sort.Strings(urls)
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	mb, _ := json.MarshalIndent(metrics, "", "  ")
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	f.writeFile(endpointsFile, b)
	f.writeFile(portsFile, ports)
	f.writeFile(metricsFile, mb)
}

// writeFile replaces a file of the state dir atomically.
func (f *fleet) writeFile(name string, b []byte) {
	path := filepath.Join(f.conf().stateDir, name)
	tmp := path + ".tmp"
	err := stateMode(f.conf().stateDir).WriteFile(tmp, append(b, '\n')) // as the state dir: owner-only, or the group's when shared
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		f.log.Warn("cannot write "+name, "path", path, "error", err)
	}
}

// group returns the target's group, creating it (and its proxy and
// traffic generator) if need be.
func (f *fleet) group(t sdk.Target) (*group, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, sdk.Errorf(sdk.CodeUnavailable, "localfleet: the fleet is shutting down")
	}
	if g := f.groups[t]; g != nil {
		f.mu.Unlock()
		return g, nil
	}
	key := endpointKey(t)
	ln, err := listenProxy(f.ports[key])
	if err != nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("localfleet: proxy for %s: %w", key, err)
	}
	f.ports[key] = ln.Addr().(*net.TCPAddr).Port
	g := newGroup(f, t, ln)
	f.groups[t] = g
	f.mu.Unlock()
	f.log.Info("proxy started", "target", key, "url", g.url)
	f.writeEndpoints()
	return g, nil
}

// existing returns the target's group, or nil.
// inUse records a call of the deploy engine about one target, so that
// its traffic goes on (traffic_idle). Only the target of that exact name
// is touched: a question about many (a status of everything) touches
// none.
func (f *fleet) inUse(t sdk.Target) {
	if t.Service == "" || t.Environment == "" {
		return
	}
	if g := f.existing(t); g != nil {
		g.inUse.touch()
	}
}

func (f *fleet) existing(t sdk.Target) *group {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.groups[t]
}

// listenProxy listens on 127.0.0.1, on the previous fleet's port for the
// target if it is free, so that URLs survive a restart of the plugin.
func listenProxy(prev int) (net.Listener, error) {
	if prev > 0 {
		if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(prev))); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// errFull is the refusal of a start beyond max_processes.
var errFull = errors.New("fleet full")

// reserve takes one process slot for requester, making room by evicting
// an idle target if evict_idle is on.
func (f *fleet) reserve(ctx context.Context, requester *group, emit func(string)) error {
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return sdk.Errorf(sdk.CodeUnavailable, "localfleet: the fleet is shutting down")
		}
		if f.procs < f.conf().maxProcesses {
			f.procs++
			f.mu.Unlock()
			return nil
		}
		var candidates []*group
		if f.conf().evictIdle {
			for _, g := range f.groups {
				if g != requester && g.runningCount() > 0 {
					candidates = append(candidates, g)
				}
			}
		}
		usage := f.usageLocked()
		f.mu.Unlock()
		slices.SortFunc(candidates, func(a, b *group) int { return a.lastChanged().Compare(b.lastChanged()) })
		evicted := false
		for _, g := range candidates {
			if !g.tryAcquire() {
				continue // a call is using it
			}
			n := g.evict(fmt.Sprintf("stopped at %s to make room for %s (evict_idle; max_processes %d)",
				time.Now().UTC().Format(time.TimeOnly), endpointKey(requester.target), f.conf().maxProcesses))
			g.release()
			if n > 0 {
				emit(fmt.Sprintf("the fleet is full (max_processes %d): stopped the %d instances of %s, idle longest, to make room",
					f.conf().maxProcesses, n, endpointKey(g.target)))
				evicted = true
				break
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !evicted {
			hint := "raise max_processes, lower max_instances, or set evict_idle=true"
			if f.conf().evictIdle {
				hint = "every other target is busy; raise max_processes or lower max_instances"
			}
			return fmt.Errorf("%w: the fleet already runs %d demo-service processes, its max_processes (%s); %s",
				errFull, f.conf().maxProcesses, usage, hint)
		}
	}
}

// unreserve gives a slot back (a start that made no process).
func (f *fleet) unreserve() {
	f.mu.Lock()
	f.procs--
	f.mu.Unlock()
}

// usageLocked says how many processes each target runs.
func (f *fleet) usageLocked() string {
	type use struct {
		key string
		n   int
	}
	var uses []use
	for t, g := range f.groups {
		if n := g.runningCount(); n > 0 {
			uses = append(uses, use{endpointKey(t), n})
		}
	}
	slices.SortFunc(uses, func(a, b use) int { return cmp.Or(b.n-a.n, cmp.Compare(a.key, b.key)) })
	s := ""
	for i, u := range uses {
		if i == 6 {
			s += fmt.Sprintf(", and %d more targets", len(uses)-i)
			break
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", u.key, u.n)
	}
	if s == "" {
		s = "all starting"
	}
	return s
}

// freeSlots is how many more processes may start now.
func (f *fleet) freeSlots() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conf().maxProcesses - f.procs
}

// monitor probes every instance's /healthz so that readiness (and with
// it the proxy's routing and Status) follows what the processes say.
func (f *fleet) monitor() {
	defer f.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-f.stop
		cancel()
	}()
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		f.refreshHealth(ctx, sdk.Target{})
	}
}

// refreshHealth probes the /healthz of every running instance of the
// targets want selects, concurrently, and records what they answer.
func (f *fleet) refreshHealth(ctx context.Context, want sdk.Target) {
	f.mu.Lock()
	groups := make([]*group, 0, len(f.groups))
	for t, g := range f.groups {
		if matches(want, t) {
			groups = append(groups, g)
		}
	}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, g := range groups {
		for _, in := range g.snapshot() {
			if !in.running() || in.addr == "" || in.starting.Load() {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, err := probe(ctx, f.client, in.addr)
				if in.running() && ctx.Err() == nil {
					in.ready.Store(err == nil && code == http.StatusOK)
				}
			}()
		}
	}
	wg.Wait()
}

// groupCount is how many proxies the fleet runs.
func (f *fleet) groupCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.groups)
}

// runningTotal is how many processes the fleet has.
func (f *fleet) runningTotal() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.procs
}

// close stops everything: traffic, proxies, processes. It returns once
// every process is reaped.
func (f *fleet) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	groups := make([]*group, 0, len(f.groups))
	for _, g := range f.groups {
		groups = append(groups, g)
	}
	f.mu.Unlock()
	close(f.stop)
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.shutdown()
		}()
	}
	wg.Wait()
	f.bg.Wait()
	f.sp.close()
	f.transport.CloseIdleConnections()
	f.writeEndpoints()
}
