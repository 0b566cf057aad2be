package main

import (
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/internal/journalfile"
	"github.com/warroom/warroom/plugins/sdk"
)

const journalFile = "localfleet-journal.jsonl"

// Operations, as the journal names them.
const (
	opDeploy     = "deploy"
	opRollback   = "rollback"
	opSetTraffic = "set_traffic"
)

// Key states in the journal.
const (
	keyStarted = "started"
	keyDone    = "done"
	keyFailed  = "failed"
)

// entry is one line of the journal: a state change of one call.
type entry struct {
	Key         string              `json:"key,omitempty"`
	Op          string              `json:"op"`
	State       string              `json:"state"`
	At          time.Time           `json:"at"`
	Service     string              `json:"service,omitempty"`
	Environment string              `json:"environment,omitempty"`
	Region      string              `json:"region,omitempty"`
	Version     string              `json:"version,omitempty"`
	FromVersion string              `json:"from_version,omitempty"`
	Strategy    string              `json:"strategy,omitempty"`
	Instances   int                 `json:"instances,omitempty"`
	Weights     []sdk.TrafficWeight `json:"weights,omitempty"`
	Message     string              `json:"message,omitempty"`
}

func (e entry) target() sdk.Target {
	return sdk.Target{Service: e.Service, Environment: e.Environment, Region: e.Region}
}

// journal is the append-only record of idempotency keys and outcomes, as
// in the exec plugin: each line is synced to disk before record returns
// (journalfile).
//
// It records what was asked and how it ended, never what runs: the
// processes die with the plugin, so after a restart the journal's
// picture would be a lie. Status reads the fleet; the journal gives only
// the applied keys and, for a target nothing runs for, what was last
// done to it.
type journal struct {
	mu      sync.Mutex
	f       *journalfile.File
	keys    map[string]entry // the last entry of each key
	applied []string         // keys done, in the order they completed
	last    map[sdk.Target]entry
}

// openJournal reads the journal at path, creating it if need be.
func openJournal(path string) (*journal, error) {
	j := &journal{keys: map[string]entry{}, last: map[sdk.Target]entry{}}
	var err error
	if j.f, err = journalfile.Open(path, stateMode(filepath.Dir(path)), j.apply); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *journal) apply(e entry) {
	if e.Key != "" {
		prev, seen := j.keys[e.Key]
		j.keys[e.Key] = e
		if e.State == keyDone && !(seen && prev.State == keyDone) {
			j.applied = append(j.applied, e.Key)
		}
	}
	if e.State != keyStarted && (e.Op == opDeploy || e.Op == opRollback) {
		j.last[e.target()] = e
	}
}

// record appends an entry, synced to disk, and then applies it.
func (j *journal) record(e entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Append(e); err != nil {
		return err
	}
	j.apply(e)
	return nil
}

// lookup returns the last entry of a key.
func (j *journal) lookup(key string) (entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.keys[key]
	return e, ok
}

// appliedKeys returns the keys whose call completed successfully.
func (j *journal) appliedKeys() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.applied)
}

// lastChanges returns the last finished deploy or rollback of every
// target.
func (j *journal) lastChanges() map[sdk.Target]entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make(map[sdk.Target]entry, len(j.last))
	for k, v := range j.last {
		out[k] = v
	}
	return out
}

func (j *journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}
