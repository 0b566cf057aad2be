package runner

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/internal/journalfile"
	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store/fsmode"
)

// Key states in the journal.
const (
	Started = "started"
	Done    = "done"
	Failed  = "failed"
)

// The operations the journal knows; they are also the phase names.
const (
	OpDeploy     = "deploy"
	OpRollback   = "rollback"
	OpSetTraffic = "set_traffic"
)

// Entry is one line of the journal: a state change of one call.
type Entry struct {
	Key         string              `json:"key,omitempty"`
	Op          string              `json:"op"`
	State       string              `json:"state"`
	At          time.Time           `json:"at"`
	Service     string              `json:"service,omitempty"`
	Environment string              `json:"environment,omitempty"`
	Region      string              `json:"region,omitempty"`
	Version     string              `json:"version,omitempty"`
	Weights     []sdk.TrafficWeight `json:"weights,omitempty"`
	Message     string              `json:"message,omitempty"`
}

func (e Entry) target() sdk.Target {
	return sdk.Target{Service: e.Service, Environment: e.Environment, Region: e.Region}
}

// targetState is what the journal knows of one service in one place.
type targetState struct {
	version   string // last version deployed or rolled back to successfully
	versionAt time.Time
	weights   []sdk.TrafficWeight // last split applied after that version
	failure   *Entry              // the last deploy or rollback, if it failed
}

// Journal is the append-only record of idempotency keys and outcomes.
// Each line is synced to disk before the call that writes it goes on
// (journalfile), so what the journal says was started or done survives a
// crash of the plugin or the machine.
type Journal struct {
	mu       sync.Mutex
	f        *journalfile.File
	keys     map[string]Entry // the last entry of each key
	applied  []string         // keys done, in the order they completed
	targets  map[sdk.Target]*targetState
	inflight map[string]bool // keys whose call runs now
}

// OpenJournal reads the journal at path, creating it if need be, as
// private as the state directory it is in.
func OpenJournal(path string) (*Journal, error) {
	mode, err := fsmode.Of(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{keys: map[string]Entry{}, targets: map[sdk.Target]*targetState{}, inflight: map[string]bool{}}
	if j.f, err = journalfile.Open(path, mode, j.apply); err != nil {
		return nil, err
	}
	return j, nil
}

// apply updates the in-memory view with one entry.
func (j *Journal) apply(e Entry) {
	if e.Key != "" {
		prev, seen := j.keys[e.Key]
		j.keys[e.Key] = e
		if e.State == Done && !(seen && prev.State == Done) {
			j.applied = append(j.applied, e.Key)
		}
	}
	if e.State == Started {
		return
	}
	tgt := e.target()
	ts := j.targets[tgt]
	if ts == nil {
		ts = &targetState{}
	}
	switch e.Op {
	case OpDeploy, OpRollback:
		if e.State == Done {
			ts.version, ts.versionAt, ts.weights, ts.failure = e.Version, e.At, nil, nil
		} else {
			f := e
			ts.failure = &f
		}
	case OpSetTraffic:
		if e.State == Done {
			ts.weights = slices.Clone(e.Weights)
		}
	default:
		return
	}
	j.targets[tgt] = ts
}

// record appends an entry, synced to disk, and then applies it.
func (j *Journal) record(e Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Append(e); err != nil {
		return err
	}
	j.apply(e)
	return nil
}

// Lookup returns the last entry of a key.
func (j *Journal) Lookup(key string) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.keys[key]
	return e, ok
}

// AppliedKeys returns the keys whose call completed successfully, in the
// order they completed.
func (j *Journal) AppliedKeys() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.applied)
}

// Version returns the last version deployed or rolled back to
// successfully at a target, or "".
func (j *Journal) Version(t sdk.Target) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if ts := j.targets[t]; ts != nil {
		return ts.version
	}
	return ""
}

// Services reports, for every service in the journal that want selects
// (an empty field selects all), the last version deployed successfully,
// the last traffic split after it, and the last failure since. Nothing
// here was observed: each message starts "from ORIGIN: ", where origin
// says so, e.g. "the exec plugin's journal, not observed (no status
// command configured)".
func (j *Journal) Services(want sdk.Target, origin string) []sdk.ServiceStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []sdk.ServiceStatus
	for tgt, ts := range j.targets {
		if (want.Service != "" && tgt.Service != want.Service) ||
			(want.Environment != "" && tgt.Environment != want.Environment) ||
			(want.Region != "" && tgt.Region != want.Region) {
			continue
		}
		if ts.version == "" && ts.failure == nil {
			continue
		}
		s := sdk.ServiceStatus{Target: tgt, Healthy: ts.failure == nil}
		switch {
		case len(ts.weights) > 0:
			for _, w := range ts.weights {
				s.Versions = append(s.Versions, sdk.VersionStatus{Version: w.Version, Weight: w.Percent})
			}
		case ts.version != "":
			s.Versions = []sdk.VersionStatus{{Version: ts.version, Weight: 100}}
		}
		var msg string
		if ts.version != "" {
			msg = fmt.Sprintf("from %s: %s deployed at %s", origin, ts.version, ts.versionAt.UTC().Format(time.RFC3339))
		} else {
			msg = fmt.Sprintf("from %s: no successful deployment recorded", origin)
		}
		if ts.failure != nil {
			msg += fmt.Sprintf("; the last %s (to %s, at %s) failed: %s", ts.failure.Op, ts.failure.Version,
				ts.failure.At.UTC().Format(time.RFC3339), ts.failure.Message)
		}
		s.Message = msg
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b sdk.ServiceStatus) int {
		return cmp.Or(cmp.Compare(a.Target.Service, b.Target.Service),
			cmp.Compare(a.Target.Environment, b.Target.Environment), cmp.Compare(a.Target.Region, b.Target.Region))
	})
	return out
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}
