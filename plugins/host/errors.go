package host

import (
	"errors"
	"fmt"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// Fault is why a call to a plugin failed.
type Fault string

const (
	// FaultCrashed: the plugin process exited, or its connection broke.
	FaultCrashed Fault = "crashed"
	// FaultTimeout: a unary call passed its deadline, or a stream went
	// without an event for its idle timeout.
	FaultTimeout Fault = "timeout"
	// FaultMalformed: the answer could not be decoded or broke the
	// contract (Info without a name, weights that do not sum to 100...).
	FaultMalformed Fault = "malformed"
	// FaultRefused: the plugin answered with an error of its own (an
	// *sdk.Error, whose code is kept). The plugin is healthy.
	FaultRefused Fault = "refused"
	// FaultHandshake: the plugin could not be started: it is not a
	// warroom plugin, speaks another protocol version, did not answer in
	// time, or wrote something else than the handshake on stdout.
	FaultHandshake Fault = "handshake"
	// FaultUntrusted: nobody trusted the binary's checksum (a
	// *TrustError); it was not started.
	FaultUntrusted Fault = "untrusted"
)

// restarts reports whether the fault leaves the plugin stopped, to be
// started again on next use.
func (f Fault) restarts() bool {
	return f == FaultCrashed || f == FaultTimeout || f == FaultMalformed || f == FaultHandshake
}

// CallError is a failed call to a plugin: which plugin, which call, and
// the fault. Every error of a hardened client that is the plugin's doing
// is a *CallError; the caller's own cancellation is not (it matches
// context.Canceled or context.DeadlineExceeded instead).
type CallError struct {
	Plugin string
	Call   string
	Fault  Fault
	Err    error

	// restart is set when a Host will start the plugin again on next use,
	// so the message can say so.
	restart bool
}

func (e *CallError) Error() string {
	if e.Fault == FaultUntrusted {
		// A *TrustError names the plugin and says how to fix it.
		return e.Err.Error()
	}
	msg := fmt.Sprintf("plugin %s: %s: %v", e.Plugin, e.Call, e.Err)
	switch {
	case !e.restart || !e.Fault.restarts():
	case e.Fault == FaultHandshake:
		msg += "; warroom will try to start it again on next use"
	default:
		msg += "; it will be restarted on next use"
	}
	return msg
}

func (e *CallError) Unwrap() error { return e.Err }

// Code is the plugin's code of a refusal, CodeInternal for other faults.
func (e *CallError) Code() sdk.Code { return sdk.CodeOf(e.Err) }

// FaultOf returns the fault of a *CallError in err's chain, or "" when err
// is not a plugin's doing.
func FaultOf(err error) Fault {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce.Fault
	}
	return ""
}

// timeoutError is the Err of a FaultTimeout.
type timeoutError struct {
	after time.Duration
	idle  bool // a stream went quiet, rather than a call running long
}

func (e *timeoutError) Error() string {
	if e.idle {
		return fmt.Sprintf("timed out: no event for %s", e.after)
	}
	return fmt.Sprintf("timed out after %s", e.after)
}

// Timeout makes the error look like a net timeout to callers that ask.
func (e *timeoutError) Timeout() bool { return true }

// crashError is the Err of a FaultCrashed.
type crashError struct {
	exit string // how the process ended, if it did: "exit status 2"
	err  error  // the transport's error
}

func (e *crashError) Error() string {
	switch {
	case e.exit != "":
		return "the plugin crashed (" + e.exit + ")"
	case e.err != nil:
		return "lost the connection to the plugin: " + e.err.Error()
	}
	return "the plugin is not running"
}

func (e *crashError) Unwrap() error { return e.err }

// malformedError is the Err of a FaultMalformed found by the host's own
// checks of an answer (the SDK's client finds others: sdk.ErrMalformed).
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return "malformed answer: " + e.msg }

// Is makes the host's findings match sdk.ErrMalformed like the SDK's.
func (e *malformedError) Is(target error) bool { return target == sdk.ErrMalformed }

func malformed(format string, args ...any) error {
	return &malformedError{msg: fmt.Sprintf(format, args...)}
}

// startError is the Err of a FaultHandshake.
type startError struct{ err error }

func (e *startError) Error() string { return "could not start the plugin: " + e.err.Error() }
func (e *startError) Unwrap() error { return e.err }
