package deploy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// RunState is where a run is.
type RunState string

const (
	RunPending          RunState = "pending"
	RunRunning          RunState = "running"
	RunPaused           RunState = "paused"
	RunAwaitingApproval RunState = "awaiting-approval"
	// RunWaiting: the run waits to enter an environment until every gate
	// it requires is pass or waived for the services of its next wave
	// (Run.Wait says which are not); it goes on by itself when they are.
	RunWaiting     RunState = "waiting"
	RunRollingBack RunState = "rolling-back"
	RunSucceeded   RunState = "succeeded"
	RunFailed      RunState = "failed"
	RunAborted     RunState = "aborted"
	RunRolledBack  RunState = "rolled-back"
)

// Terminal reports whether the run has ended.
func (s RunState) Terminal() bool {
	switch s {
	case RunSucceeded, RunFailed, RunAborted, RunRolledBack:
		return true
	}
	return false
}

// StepState is where a step is.
type StepState string

const (
	StepPending     StepState = "pending"
	StepPreflight   StepState = "preflight"
	StepDeploying   StepState = "deploying"
	StepVerifying   StepState = "verifying"
	StepBaking      StepState = "baking"
	StepDone        StepState = "done"
	StepFailed      StepState = "failed"
	StepRollingBack StepState = "rolling-back"
	StepRolledBack  StepState = "rolled-back"
	StepSkipped     StepState = "skipped"
)

// Terminal reports whether the step needs nothing more in a forward run.
func (s StepState) Terminal() bool {
	switch s {
	case StepDone, StepFailed, StepRolledBack, StepSkipped:
		return true
	}
	return false
}

// touched reports whether the step may have changed the target, so a
// rollback must undo it.
func (s StepState) touched() bool {
	switch s {
	case StepDeploying, StepVerifying, StepBaking, StepDone, StepRollingBack:
		return true
	}
	return false
}

// stepTransitions is the step state machine: from -> allowed next states.
var stepTransitions = map[StepState][]StepState{
	StepPending:   {StepPreflight, StepSkipped},
	StepPreflight: {StepDeploying, StepFailed, StepPending},
	StepDeploying: {StepVerifying, StepFailed, StepRollingBack},
	StepVerifying: {StepBaking, StepDone, StepFailed, StepRollingBack},
	StepBaking:    {StepDone, StepFailed, StepRollingBack, StepDeploying},
	StepDone:      {StepRollingBack},
	StepFailed:    {StepRollingBack, StepSkipped, StepPending, StepRolledBack},
	// (A reconciliation may also take a verifying, baking or done step
	// back to deploying, as a new attempt.)
	StepRollingBack: {StepRolledBack, StepFailed},
	StepRolledBack:  {},
	StepSkipped:     {},
}

// CanStep reports whether a step may move from one state to another.
func CanStep(from, to StepState) bool { return slices.Contains(stepTransitions[from], to) }

// ErrRefused is returned (wrapped in a *RefusedError) when a command does
// not fit the run's state.
var ErrRefused = errors.New("refused")

// RefusedError says why a command was refused and what would work.
type RefusedError struct {
	Command string
	RunID   string
	State   RunState
	Why     string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("cannot %s run %s: %s", e.Command, e.RunID, e.Why)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// Command is an operator's command on a run.
type Command string

const (
	CmdPause    Command = "pause"
	CmdContinue Command = "continue"
	CmdAbort    Command = "abort"
	CmdRollback Command = "rollback"
	CmdSkip     Command = "skip"
	CmdResume   Command = "resume"
	CmdRetry    Command = "retry"
)

// runCommands is which run states each command applies to.
var runCommands = map[Command][]RunState{
	CmdPause:    {RunPending, RunRunning, RunAwaitingApproval, RunWaiting},
	CmdContinue: {RunPaused, RunAwaitingApproval},
	CmdAbort:    {RunPending, RunRunning, RunPaused, RunAwaitingApproval, RunWaiting, RunRollingBack},
	CmdRollback: {RunRunning, RunPaused, RunAwaitingApproval, RunWaiting, RunFailed, RunSucceeded},
	CmdSkip:     {RunPending, RunRunning, RunPaused, RunAwaitingApproval, RunWaiting, RunFailed},
	CmdResume:   {RunPending, RunRunning, RunPaused, RunAwaitingApproval, RunWaiting, RunRollingBack},
	CmdRetry:    {RunRunning, RunPaused, RunFailed},
}

// checkCommand refuses a command the run's state does not allow, saying
// which states would.
func checkCommand(cmd Command, r *Run) error {
	allowed := runCommands[cmd]
	if slices.Contains(allowed, r.State) {
		return nil
	}
	if cmd == CmdContinue && r.State == RunWaiting {
		// Nobody continues past a gate: evidence or a waiver lets it in.
		return &RefusedError{Command: string(cmd), RunID: r.ID, State: r.State,
			Why: "the run is waiting on gates (" + r.Reason + "); it goes on by itself once each is pass or waived: add evidence ('warroom evidence add') or waive the gate ('warroom gate waive'); or pause, skip, roll back or abort it"}
	}
	why := fmt.Sprintf("the run is %s", r.State)
	if r.State.Terminal() {
		why = fmt.Sprintf("the run has already ended (%s)", r.State)
	}
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	return &RefusedError{Command: string(cmd), RunID: r.ID, State: r.State,
		Why: fmt.Sprintf("%s; %s applies to runs that are %s", why, cmd, strings.Join(names, ", "))}
}
