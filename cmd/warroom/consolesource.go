package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/store"
	"github.com/warroom/warroom/tui"
)

// pluginListTTL is how long the console reuses the plugin host's report:
// List hashes every plugin binary, too much to do every second.
const pluginListTTL = 5 * time.Second

// consoleSource is the console's Source: the store's snapshot, with the
// recorded change requests and the plugin host's report added.
type consoleSource struct {
	base *tui.StoreSource
	st   *store.Store
	// plugins reports on the configured plugins; nil when the console has
	// no plugin host.
	plugins func(ctx context.Context) ([]host.Status, error)
	// alerts are the firing alerts; nil when there is no plugin host.
	alerts func(ctx context.Context) ([]tui.Alert, bool)
	now    func() time.Time

	// background makes the first report come in the background: starting
	// the plugin host and asking the alert sources takes a quarter of a
	// second, which the first frame does not wait for.
	background bool

	mu sync.Mutex
	// refreshing: a report is being made; settled is closed when the
	// first one is done.
	refreshing bool
	settled    chan struct{}
	// loaded is closed when the first Load is done, whatever its outcome.
	loaded     chan struct{}
	loadedOnce sync.Once
	list       []tui.PluginStatus
	known      bool
	firing     []tui.Alert
	alertsOK   bool
	listedAt   time.Time
	// gen moves when the plugins' report differs from the one before, so
	// that Changed moves too and the console reloads.
	gen int64

	// gov is the person at the keyboard and the policy, kept current;
	// without it, pol and id as given (nil pol: the source says nothing
	// of identity and evaluates gates under the defaults).
	gov *consoleGovernance
	pol *policy.Policy
	id  policy.Identity
	// govMu guards gates, the gate evaluation's cache
	// (consolesource_governance.go).
	govMu sync.Mutex
	gates *gateCache
}

var _ tui.Source = (*consoleSource)(nil)

// newConsoleSource reads st and asks a's plugin host about the plugins.
func newConsoleSource(a *app, st *store.Store) *consoleSource {
	return &consoleSource{
		base: tui.NewStoreSource(st),
		st:   st,
		plugins: func(ctx context.Context) ([]host.Status, error) {
			h, err := a.pluginHost(ctx)
			if err != nil {
				return nil, err
			}
			sts := h.List(ctx)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			// The last faults come from the store: the engine's process
			// (warroom serve, deploy --follow) may have seen them, not
			// this console.
			faults, err := st.PluginFaults(ctx)
			if err != nil {
				return nil, err
			}
			for i, l := range withRecordedFaults(sts, faults) {
				sts[i] = l.Status
			}
			return sts, nil
		},
		alerts: func(ctx context.Context) ([]tui.Alert, bool) {
			src, err := a.alertSources(ctx)
			if err != nil || src == nil {
				return nil, false
			}
			return src.forConsole(ctx)
		},
		now:        time.Now,
		pol:        a.gov.pol,
		id:         a.gov.id,
		background: true,
		settled:    make(chan struct{}),
		loaded:     make(chan struct{}),
	}
}

// settle waits for the first report on the plugins (tests).
func (c *consoleSource) settle(ctx context.Context) error {
	select {
	case <-c.settled:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// consoleVersion folds the plugin report's generation into the store's data
// version: the console only compares versions for equality.
func consoleVersion(storeVersion, gen int64) int64 { return storeVersion + gen<<32 }

// Changed is the store's data version, moved also when the plugins'
// report changed (refreshed at most every pluginListTTL).
func (c *consoleSource) Changed(ctx context.Context) (int64, error) {
	v, err := c.base.Changed(ctx)
	if err != nil {
		return 0, err
	}
	c.refreshPlugins(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	return consoleVersion(v, c.gen), nil
}

// Load is the store's snapshot with the plugins and the change requests.
func (c *consoleSource) Load(ctx context.Context, auditLimit int) (tui.Snapshot, error) {
	defer c.loadedOnce.Do(func() {
		if c.loaded != nil {
			close(c.loaded)
		}
	})
	// The first load reads the store before the plugins' first report
	// starts: starting the plugin host (hashing its binaries, starting
	// processes) would compete for the CPU with the first frame's data.
	c.mu.Lock()
	started := c.refreshing || !c.listedAt.IsZero()
	c.mu.Unlock()
	if started {
		c.refreshPlugins(ctx)
	} else {
		defer c.refreshPlugins(ctx)
	}
	c.mu.Lock()
	gen, list, known := c.gen, slices.Clone(c.list), c.known
	firing, alertsOK := slices.Clone(c.firing), c.alertsOK
	pending := c.listedAt.IsZero()
	c.mu.Unlock()
	snap, err := c.base.Load(ctx, auditLimit)
	if err != nil {
		return snap, err
	}
	snap.Version = consoleVersion(snap.Version, gen)
	snap.Plugins, snap.PluginsKnown, snap.PluginsPending = list, known, pending
	snap.Alerts, snap.AlertsKnown = firing, alertsOK
	recs, err := c.st.Changes(ctx, "")
	if err != nil {
		return snap, fmt.Errorf("console: load change requests: %w", err)
	}
	snap.Changes = make([]tui.ChangeRequest, len(recs))
	for i, r := range recs {
		snap.Changes[i] = changeRequest(r)
	}
	if err := c.addGovernance(ctx, &snap); err != nil {
		return snap, err
	}
	return snap, nil
}

// addGovernance adds the person at the keyboard, every release's gate
// results, what the runs wait on and the canary bakes extended.
func (c *consoleSource) addGovernance(ctx context.Context, snap *tui.Snapshot) error {
	now := c.now()
	c.govMu.Lock()
	defer c.govMu.Unlock()
	if c.gov != nil {
		// A refused --as still shows who the login is; acting says why not.
		pol, id, err := c.gov.current(ctx, c.st)
		if pol == nil {
			return err
		}
		c.pol, c.id = pol, id
	}
	snap.Identity = consoleIdentity(c.pol, c.id)
	res, err := c.gateResults(ctx, snap, now)
	if err != nil {
		return err
	}
	snap.GateResults, snap.GatesKnown = res, true
	snap.Waits = c.consoleWaits(snap, now)
	snap.Bakes = consoleBakes(snap.Runs)
	return nil
}

// refreshPlugins asks the plugin host (and the alert sources) again when
// its last report is older than pluginListTTL and no report is being
// made. Without a host (or when it cannot start) the plugins are unknown,
// and the Plugins screen says so. The first report is made in the
// background (see background); the version moves when it is done, and the
// console reloads.
func (c *consoleSource) refreshPlugins(ctx context.Context) {
	c.mu.Lock()
	fresh := !c.listedAt.IsZero() && c.now().Sub(c.listedAt) < pluginListTTL
	if fresh || c.refreshing {
		c.mu.Unlock()
		return
	}
	c.refreshing = true
	first := c.listedAt.IsZero()
	c.mu.Unlock()
	if first && c.background {
		// Not the Load's context: the load returns, the report goes on.
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			c.report(ctx, first)
		}()
		return
	}
	c.report(ctx, first)
}

// report asks the plugin host and the alert sources, and keeps what they
// said; the version moves when it differs from the last report, or when
// it is the first.
func (c *consoleSource) report(ctx context.Context, first bool) {
	var list []tui.PluginStatus
	known := false
	if c.plugins != nil {
		if sts, err := c.plugins(ctx); err == nil {
			known = true
			list = make([]tui.PluginStatus, len(sts))
			for i, s := range sts {
				list[i] = pluginStatus(s)
			}
		}
	}
	var firing []tui.Alert
	alertsOK := false
	if c.alerts != nil {
		firing, alertsOK = c.alerts(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listedAt, c.refreshing = c.now(), false
	if first || known != c.known || !slices.EqualFunc(list, c.list, pluginStatusEqual) ||
		alertsOK != c.alertsOK || !slices.EqualFunc(firing, c.firing, alertEqual) {
		c.gen++
	}
	c.list, c.known = list, known
	c.firing, c.alertsOK = firing, alertsOK
	if first && c.settled != nil {
		close(c.settled)
	}
}

func alertEqual(a, b tui.Alert) bool { return a == b }

func pluginStatusEqual(a, b tui.PluginStatus) bool {
	return a.Name == b.Name && a.Path == b.Path && slices.Equal(a.Kinds, b.Kinds) && a.Version == b.Version &&
		a.Trusted == b.Trusted && a.TrustSource == b.TrustSource && a.SHA256 == b.SHA256 && a.Healthy == b.Healthy &&
		a.Running == b.Running && a.LastError == b.LastError && a.Fault == b.Fault
}

func pluginStatus(s host.Status) tui.PluginStatus {
	kinds := make([]string, len(s.Kinds))
	for i, k := range s.Kinds {
		kinds[i] = string(k)
	}
	return tui.PluginStatus{
		Name: s.Name, Path: s.Path, Kinds: kinds, Version: s.Version, Trusted: s.Trusted, TrustSource: s.TrustSource,
		SHA256: s.SHA256, Healthy: s.Healthy, Running: s.Running, LastError: s.LastError, Fault: string(s.Fault),
	}
}

func changeRequest(r store.ChangeRecord) tui.ChangeRequest {
	c := tui.ChangeRequest{
		ID: r.ID, Release: r.Release, Title: r.Title, Class: r.Class, State: r.State, Requester: r.Requester,
		Risk: r.Risk, TicketRef: r.TicketRef, System: r.System, URL: r.URL, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	for _, a := range r.Approvals {
		d := "approved"
		if a.Decision == "reject" {
			d = "rejected"
		}
		c.Approvals = append(c.Approvals, tui.ChangeApproval{Approver: policy.ActorString(a.Via, a.Approver), Role: a.Role, Decision: d, Reason: a.Reason, At: a.At})
	}
	return c
}
