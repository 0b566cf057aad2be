package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

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
// in the exec plugin: each line is fsync'd before record returns.
//
// It records what was asked and how it ended, never what runs: the
// processes die with the plugin, so after a restart the journal's
// picture would be a lie. Status reads the fleet; the journal gives only
// the applied keys and, for a target nothing runs for, what was last
// done to it.
type journal struct {
	mu      sync.Mutex
	f       *os.File
	keys    map[string]entry // the last entry of each key
	applied []string         // keys done, in the order they completed
	last    map[sdk.Target]entry
}

// openJournal reads the journal at path, creating it if need be. A torn
// last line (a crash mid-write) is cut off; any other line that does not
// parse is an error, since dropping it could lose a completed key.
func openJournal(path string) (*journal, error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := stateMode(filepath.Dir(path)).OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if created {
		syncDir(filepath.Dir(path))
	}
	j := &journal{f: f, keys: map[string]entry{}, last: map[sdk.Target]entry{}}
	if err := j.load(path); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// syncDir makes a new directory entry survive a crash.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func (j *journal) load(path string) error {
	r := bufio.NewReader(j.f)
	var offset int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				if err := j.f.Truncate(offset); err != nil {
					return fmt.Errorf("journal %s: cutting off a torn last line: %w", path, err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("journal %s: %w", path, err)
		}
		offset += int64(len(line))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("journal %s line %d is corrupt (%v): repair or remove the line", path, n, err)
		}
		j.apply(e)
	}
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

// record appends an entry and syncs it to disk.
func (j *journal) record(e entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("journal: closed")
	}
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
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
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
