package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// supervisor keeps one configured plugin running: it starts the plugin on
// first use, and again on the use after a fault stopped it, and
// remembers how it went for List.
type supervisor struct {
	h   *Host
	cfg PluginConfig
	sem chan struct{} // held while starting, so one start at a time

	mu      sync.Mutex
	cur     *Plugin // running, or nil
	healthy bool
	lastErr error
	version string
	source  string // trust source of the running binary
}

// acquire returns the running plugin, starting it if it is not running.
func (s *supervisor) acquire(ctx context.Context, call string) (*Plugin, error) {
	if p := s.current(); p != nil && p.Running() {
		return p, nil
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("plugin %s: %s: %w", s.cfg.Name, call, ctx.Err())
	}
	defer func() { <-s.sem }()
	if p := s.current(); p != nil {
		// Started by another caller while we waited, or died while idle:
		// Plugin.acquire records the death (onStop), then we start anew.
		if _, err := p.acquire(ctx, call); err == nil {
			return p, nil
		}
	}
	return s.launch(ctx, call)
}

func (s *supervisor) current() *Plugin {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// launch verifies the binary and starts it. Its failures are recorded as
// the plugin's last error, except the caller's cancellation and the
// Host closing, which are nobody's fault.
func (s *supervisor) launch(ctx context.Context, call string) (*Plugin, error) {
	h := s.h
	if !h.beginLaunch() {
		return nil, fmt.Errorf("plugin %s: %s: %w", s.cfg.Name, call, ErrClosed)
	}
	defer h.launching.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(h.ctx, cancel)()

	tr, err := checkTrust(ctx, h.opts.Trust, &h.sums, s.cfg.Name, s.cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %s: %w", s.cfg.Name, call, err)
	}
	if tr.err != nil {
		fault := FaultHandshake
		var te *TrustError
		if errors.As(tr.err, &te) {
			fault = FaultUntrusted
		}
		ce := &CallError{Plugin: s.cfg.Name, Call: call, Fault: fault, Err: tr.err, restart: true}
		s.record(nil, ce)
		return nil, ce
	}
	p, err := launch(ctx, launchSpec{
		name:     s.cfg.Name,
		path:     s.cfg.Path,
		sum:      tr.sum,
		kinds:    s.cfg.Kinds,
		settings: s.cfg.Settings,
		stateDir: h.stateDir(s.cfg.Name),
		mode:     h.opts.Mode,
		warn:     h.opts.Warn,
		timeout:  s.cfg.timeout(),
		idle:     s.cfg.streamIdleTimeout(),
		start:    s.cfg.startTimeout(),
		logger:   h.logger.Named(s.cfg.Name),
		env:      h.opts.Env,
		restart:  true,
		call:     call,
		onStop:   s.stopped,
	})
	if err != nil {
		if h.ctx.Err() != nil {
			return nil, fmt.Errorf("plugin %s: %s: %w", s.cfg.Name, call, ErrClosed)
		}
		if FaultOf(err) != "" {
			s.record(nil, err)
		}
		return nil, err
	}
	if !h.register(p) {
		p.Kill()
		return nil, fmt.Errorf("plugin %s: %s: %w", s.cfg.Name, call, ErrClosed)
	}
	s.mu.Lock()
	s.cur, s.healthy, s.version, s.source = p, true, p.info.Version, tr.source
	s.mu.Unlock()
	return p, nil
}

// record notes a fault that left the plugin unusable.
func (s *supervisor) record(p *Plugin, err error) {
	s.mu.Lock()
	if p != nil && s.cur == p {
		s.cur = nil
	}
	s.healthy, s.lastErr = false, err
	s.mu.Unlock()
	s.log(err)
}

// observed is told the error of every call through the supervisor: the
// plugin's refusals, which leave it running, are logged here; the faults
// that stop it are logged by record.
func (s *supervisor) observed(err error) {
	var ce *CallError
	if !errors.As(err, &ce) || ce.Fault != FaultRefused {
		return
	}
	s.log(ce)
}

// log hands a fault to the Host's FaultLog. A call that failed only
// because an earlier fault had stopped the plugin is not a fault of its
// own: the earlier one was logged.
func (s *supervisor) log(err error) {
	fl := s.h.opts.Faults
	var ce *CallError
	if fl == nil || !errors.As(err, &ce) {
		return
	}
	var echo *stoppedError
	if errors.As(ce.Err, &echo) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultRecordTimeout)
	defer cancel()
	rec := FaultRecord{Plugin: s.cfg.Name, Fault: ce.Fault, Call: ce.Call, Message: ce.Error(), At: time.Now(), Process: s.h.opts.Process}
	if err := fl.RecordFault(ctx, rec); err != nil {
		s.h.logger.Named(s.cfg.Name).Warn("could not record the fault for other processes", "fault", ce.Fault, "error", err)
	}
}

// stopped is the running plugin's onStop: a fault makes the plugin
// unhealthy until it is started again.
func (s *supervisor) stopped(p *Plugin, fault *CallError) {
	if fault == nil {
		s.mu.Lock()
		if s.cur == p {
			s.cur = nil
		}
		s.mu.Unlock()
		return
	}
	s.record(p, fault)
}
