package runner

import (
	"fmt"
	"slices"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// Call is one state-changing call: a deploy, a rollback or a traffic
// split.
type Call struct {
	Op      string // OpDeploy, OpRollback or OpSetTraffic
	Key     string // its idempotency key; "" runs it every time
	Target  sdk.Target
	Version string              // deploy: the version deployed; rollback: the one rolled back to
	Weights []sdk.TrafficWeight // set_traffic
	// Now stamps the journal's entries; nil means time.Now.
	Now func() time.Time
}

// Do runs a call at most once per idempotency key:
//
//   - a call with the key running now in this process is refused
//     (CodeFailedPrecondition); one recorded for another operation too
//     (CodeInvalid);
//   - a key whose last state is done or failed is not run again: Do
//     returns its entry with replayed set, and for a failed key a
//     CodeInternal error saying so (see ReplayEvent for the event);
//   - otherwise Do records the key started, calls run and records its
//     outcome: done when run returns "", failed with run's failure
//     message otherwise (and returns that message as a CodeInternal
//     error). An error from run (the call was cancelled or could not
//     start) is returned as is and leaves the key started: it is not
//     applied, so a repeated call runs again.
func (j *Journal) Do(c Call, run func() (failure string, err error)) (prev Entry, replayed bool, err error) {
	release, err := j.claim(c.Op, c.Key)
	if err != nil {
		return Entry{}, false, err
	}
	defer release()
	if e, ok, err := j.replayable(c.Op, c.Key); err != nil {
		return Entry{}, false, err
	} else if ok {
		if e.State == Failed {
			return e, true, sdk.Errorf(sdk.CodeInternal, "%s", replayMessage(e))
		}
		return e, true, nil
	}

	now := c.Now
	if now == nil {
		now = time.Now
	}
	rec := Entry{
		Key: c.Key, Op: c.Op, State: Started, At: now().UTC(), Service: c.Target.Service,
		Environment: c.Target.Environment, Region: c.Target.Region, Version: c.Version,
		Weights: slices.Clone(c.Weights),
	}
	if err := j.record(rec); err != nil {
		return Entry{}, false, fmt.Errorf("%s not started: %w", c.Op, err)
	}
	failure, err := run()
	if err != nil {
		return Entry{}, false, err
	}
	rec.At = now().UTC()
	if failure != "" {
		rec.State, rec.Message = Failed, failure
		if err := j.record(rec); err != nil {
			return Entry{}, false, fmt.Errorf("%s; and the journal: %w", failure, err)
		}
		return Entry{}, false, sdk.Errorf(sdk.CodeInternal, "%s", failure)
	}
	rec.State = Done
	if err := j.record(rec); err != nil {
		return Entry{}, false, fmt.Errorf("the %s succeeded but its outcome could not be recorded: %w", c.Op, err)
	}
	return Entry{}, false, nil
}

// claim marks a key as running in this process; two calls with one key
// at once would both see it unapplied and both run.
func (j *Journal) claim(op, key string) (release func(), err error) {
	if key == "" {
		return func() {}, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.inflight[key] {
		return nil, sdk.Errorf(sdk.CodeFailedPrecondition,
			"a %s with idempotency key %q is running now; wait for it to end", op, key)
	}
	j.inflight[key] = true
	return func() {
		j.mu.Lock()
		delete(j.inflight, key)
		j.mu.Unlock()
	}, nil
}

// replayable returns the completed entry of a key, if any. A key
// recorded for another operation is a caller's mistake.
func (j *Journal) replayable(op, key string) (Entry, bool, error) {
	if key == "" {
		return Entry{}, false, nil
	}
	e, ok := j.Lookup(key)
	if !ok || e.State == Started {
		return Entry{}, false, nil
	}
	if e.Op != op {
		return Entry{}, false, sdk.Errorf(sdk.CodeInvalid,
			"idempotency key %q was used for a %s, not a %s", key, e.Op, op)
	}
	return e, true, nil
}

// ReplayEvent is the done event a replayed deploy or rollback sends
// instead of running again: Replayed set, Failed too if the key had
// failed. At is left for the caller to stamp.
func ReplayEvent(e Entry) sdk.DeployEvent {
	if e.State == Failed {
		return sdk.DeployEvent{Phase: e.Op, Message: replayMessage(e), Done: true, Failed: true, Replayed: true}
	}
	return sdk.DeployEvent{Phase: e.Op, Message: replayMessage(e), Percent: 100, Done: true, Replayed: true}
}

func replayMessage(e Entry) string {
	at := e.At.UTC().Format(time.RFC3339)
	if e.State == Failed {
		return fmt.Sprintf("already attempted with idempotency key %q at %s and it failed; not run again: %s", e.Key, at, e.Message)
	}
	return fmt.Sprintf("already applied with idempotency key %q at %s (%s %s); not run again", e.Key, at, e.Service, e.Version)
}
