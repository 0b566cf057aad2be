package host

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/warroom/warroom/plugins/sdk"
)

// Status is what List says about one configured plugin. The JSON form is
// the contract of `warroom plugins list -o json`.
type Status struct {
	Name  string     `json:"name"`
	Path  string     `json:"path"`
	Kinds []sdk.Kind `json:"kinds"`
	// Origin says where its configuration came from: built-in, file, or
	// "built-in, overridden by file".
	Origin string `json:"origin"`
	// Version is what the plugin's Info said; empty if it never started.
	Version string `json:"version"`
	Trusted bool   `json:"trusted"`
	// TrustSource is TrustDatabase, TrustBuild, or empty when untrusted.
	TrustSource string `json:"trust_source"`
	// SHA256 is the binary's checksum now; empty if it cannot be read.
	SHA256 string `json:"sha256"`
	// Healthy: the plugin is trusted and runs, and no fault stopped it
	// since it last started.
	Healthy bool `json:"healthy"`
	// LastError is the last fault, kept after a successful restart; Fault
	// is its class.
	LastError string `json:"last_error"`
	Fault     Fault  `json:"fault,omitempty"`
	Running   bool   `json:"running"`
}

// List reports on every configured plugin, in configuration order. A
// trusted plugin that is not running is started (in parallel, each
// bounded by its start and call deadlines) to learn its version and
// health; it stays running until the Host is closed.
func (h *Host) List(ctx context.Context) []Status {
	out := make([]Status, len(h.cfg.Plugins))
	var wg sync.WaitGroup
	for i, pc := range h.cfg.Plugins {
		wg.Go(func() { out[i] = h.sups[pc.Name].status(ctx) })
	}
	wg.Wait()
	return out
}

func (s *supervisor) status(ctx context.Context) Status {
	st := Status{Name: s.cfg.Name, Path: s.cfg.Path, Kinds: slices.Clone(s.cfg.Kinds), Origin: s.cfg.Origin}
	if st.Kinds == nil {
		st.Kinds = []sdk.Kind{}
	}
	tr, err := checkTrust(ctx, s.h.opts.Trust, &s.h.sums, s.cfg.Name, s.cfg.Path)
	switch {
	case err != nil:
		st.LastError = "plugin " + s.cfg.Name + ": " + err.Error()
	case tr.err != nil:
		st.SHA256 = tr.sum
		st.LastError = "plugin " + s.cfg.Name + ": " + tr.err.Error()
		st.Fault = FaultHandshake
		var te *TrustError
		if errors.As(tr.err, &te) {
			st.LastError, st.Fault = te.Error(), FaultUntrusted // it names the plugin
		}
	default:
		st.SHA256, st.Trusted, st.TrustSource = tr.sum, true, tr.source
		// Starting it is how we learn its version and health; a failure
		// is recorded as the last error.
		_, _ = s.acquire(ctx, "Info")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st.Version = s.version
	st.Running = s.cur != nil && s.cur.Running()
	st.Healthy = st.Trusted && st.Running && s.healthy
	if st.LastError == "" && s.lastErr != nil {
		st.LastError = s.lastErr.Error()
		st.Fault = FaultOf(s.lastErr)
	}
	return st
}
