package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store/fsmode"
)

// ErrNotConfigured is matched by the error of asking a Host for a plugin
// it has not configured, or for a kind the plugin is not configured for.
var ErrNotConfigured = errors.New("plugin not configured")

// ErrClosed is matched by calls made after the Host was closed.
var ErrClosed = errors.New("plugin host is closed")

// ErrStopped is matched by calls to a plugin that was stopped on purpose
// (Plugin.Kill, Host.Close), including calls in flight at the time.
var ErrStopped = errors.New("the plugin was stopped")

// Options configure a Host.
type Options struct {
	// Trust holds the checksums operators trusted (the store). Nil: only
	// the build's SHA256SUMS is trusted.
	Trust TrustStore
	// LogWriter receives the plugins' logs and go-plugin's; nil discards
	// them. Never point it at a console's screen.
	LogWriter io.Writer
	// StateDir is the root of the plugins' state directories: plugin NAME
	// keeps its state in StateDir/NAME (both created with exactly
	// Mode.Dir(): 0700, or 0770 when shared). Empty: a temporary
	// directory that Close removes (for tests: the state is lost).
	StateDir string
	// Mode is who may use the state directories the host creates; a
	// plugin gives its own files the same (fsmode.Of). Zero: owner-only.
	Mode fsmode.Mode
	// Warn, when set, is told (besides the log) of a plugin binary that
	// others, or the group where Mode is not shared, may write to: whoever
	// can rewrite it runs code as warroom's user once it is trusted again.
	Warn func(msg string)
	// Env is every plugin's whole environment ("KEY=value"); warroom's
	// own environment is not handed down.
	Env []string
	// Faults, when set, is told every fault of a plugin, so that other
	// processes learn of it (the store: plugins list, the console).
	Faults FaultLog
	// Process names this process in the faults it records, for people:
	// "warroom deploy start (pid 4242 on build-1)".
	Process string
}

// FaultLog keeps the last fault of each plugin where every warroom
// process sees it.
type FaultLog interface {
	RecordFault(ctx context.Context, f FaultRecord) error
}

// FaultRecord is one fault of a plugin, as a FaultLog keeps it.
type FaultRecord struct {
	Plugin  string
	Fault   Fault
	Call    string
	Message string
	At      time.Time
	Process string
}

// faultRecordTimeout bounds the recording of a fault: it happens on the
// failing call's path, and a database busy with another writer must not
// hold the caller up. A fault not recorded is lost to other processes,
// not to this one.
const faultRecordTimeout = 500 * time.Millisecond

// Host launches, verifies and supervises the configured plugins. Each is
// started on first use, after its binary's checksum was found trusted,
// and started again on the next use after a crash, a timeout or a
// malformed answer. A Host is safe for concurrent use; Close it to stop
// every plugin process.
type Host struct {
	cfg    *Config
	opts   Options
	logger hclog.Logger
	sups   map[string]*supervisor

	// ctx ends when the Host is closed, abandoning starts in progress.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	live      map[*Plugin]struct{} // processes not yet reaped
	launching sync.WaitGroup       // starts in progress
	closeOnce sync.Once
	tempState string
	sums      sumCache // plugin binaries' checksums, by file identity
}

// New returns a Host for the configuration. It starts nothing.
func New(cfg *Config, opts Options) (*Host, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	h := &Host{
		cfg:    cfg,
		opts:   opts,
		logger: newLogger(opts.LogWriter),
		sups:   make(map[string]*supervisor, len(cfg.Plugins)),
		live:   make(map[*Plugin]struct{}),
	}
	for _, pc := range cfg.Plugins {
		if pc.Name == "" || pc.Path == "" {
			return nil, fmt.Errorf("plugin host: a plugin needs a name and a path (got %q, %q)", pc.Name, pc.Path)
		}
		if h.sups[pc.Name] != nil {
			return nil, fmt.Errorf("plugin host: plugin %q is configured twice", pc.Name)
		}
		h.sups[pc.Name] = &supervisor{h: h, cfg: pc, sem: make(chan struct{}, 1)}
	}
	if h.opts.StateDir == "" {
		dir, err := os.MkdirTemp("", "warroom-plugins-")
		if err != nil {
			return nil, fmt.Errorf("plugin host: state directory: %w", err)
		}
		h.opts.StateDir, h.tempState = dir, dir
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// Config is the Host's configuration.
func (h *Host) Config() *Config { return h.cfg }

// DeployTarget returns the hardened deploy target of the plugin name. The
// plugin starts on the first call, not here; ctx is not kept.
func (h *Host) DeployTarget(_ context.Context, name string) (sdk.DeployTarget, error) {
	s, err := h.supervisor(name, sdk.KindDeployTarget)
	if err != nil {
		return nil, err
	}
	return &deployTarget{b: s}, nil
}

// MonitoringSource returns the hardened monitoring source of the plugin
// name (see DeployTarget).
func (h *Host) MonitoringSource(_ context.Context, name string) (sdk.MonitoringSource, error) {
	s, err := h.supervisor(name, sdk.KindMonitoringSource)
	if err != nil {
		return nil, err
	}
	return &monitoringSource{b: s}, nil
}

// Ticketing returns the hardened ticketing client of the plugin name (see
// DeployTarget).
func (h *Host) Ticketing(_ context.Context, name string) (sdk.Ticketing, error) {
	s, err := h.supervisor(name, sdk.KindTicketing)
	if err != nil {
		return nil, err
	}
	return &ticketing{b: s}, nil
}

func (h *Host) supervisor(name string, kind sdk.Kind) (*supervisor, error) {
	s := h.sups[name]
	if s == nil {
		known := "none"
		if names := h.cfg.Names(); len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("plugin %q: %w (configured plugins: %s)", name, ErrNotConfigured, known)
	}
	if !s.cfg.serves(kind) {
		return nil, fmt.Errorf("plugin %s is configured as %s, not as %s: %w", name, kindNames(s.cfg.Kinds), kind, ErrNotConfigured)
	}
	return s, nil
}

// Close stops every plugin process and waits until they are gone: starts
// in progress are abandoned, running plugins are asked to shut down and
// killed if they do not. Calls after Close fail with ErrClosed. Closing
// twice is safe.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		h.cancel()
		h.launching.Wait()

		h.mu.Lock()
		live := make([]*Plugin, 0, len(h.live))
		for p := range h.live {
			live = append(live, p)
		}
		h.mu.Unlock()
		var wg sync.WaitGroup
		for _, p := range live {
			wg.Go(p.Kill)
		}
		wg.Wait()
		if h.tempState != "" {
			_ = os.RemoveAll(h.tempState)
		}
	})
	return nil
}

// beginLaunch counts a start in progress, unless the Host is closed.
func (h *Host) beginLaunch() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.launching.Add(1)
	return true
}

// register tracks a started plugin until its process is reaped. A plugin
// started while Close was under way is refused (and then killed).
func (h *Host) register(p *Plugin) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.live[p] = struct{}{}
	go func() {
		<-p.gone
		h.mu.Lock()
		delete(h.live, p)
		h.mu.Unlock()
	}()
	return true
}

// stateDir is the state directory of plugin name.
func (h *Host) stateDir(name string) string { return filepath.Join(h.opts.StateDir, name) }
