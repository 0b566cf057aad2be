package conformance

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// Result is the outcome of one check.
type Result struct {
	Name    string `json:"name"`
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
	// Skipped marks a check that did not apply (it counts as passed):
	// the message says why.
	Skipped bool `json:"skipped,omitempty"`
}

// Report is the outcome of a run of the suite.
type Report struct {
	Plugin string   `json:"plugin"`
	Passed bool     `json:"passed"`
	Checks []Result `json:"checks"`
}

// Failed returns the checks that failed.
func (r Report) Failed() []Result {
	var out []Result
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c)
		}
	}
	return out
}

func (r *Report) add(res Result) {
	r.Checks = append(r.Checks, res)
	r.Passed = len(r.Failed()) == 0
}

// Default deadlines.
const (
	// DefaultCheckTimeout bounds one check. A check makes a few calls,
	// each bounded by the host's own deadline; this one is the suite's
	// guarantee that it moves on.
	DefaultCheckTimeout = 60 * time.Second
	// abandonGrace is how long a check that ignores its deadline gets
	// before the suite reports it and moves on.
	abandonGrace = 2 * time.Second
)

// subject is what the suite checks: a launched plugin, as the host
// presents it. *host.Plugin is adapted to it; tests use fakes.
type subject interface {
	Info(ctx context.Context) (sdk.Info, error)
	// Configure hands the plugin settings; the suite calls it with the
	// declared defaults and with an unknown setting.
	Configure(ctx context.Context, cfg sdk.Config) error
	DeployTarget() sdk.DeployTarget
	MonitoringSource() sdk.MonitoringSource
	Ticketing() sdk.Ticketing
}

// check is one named check of the suite.
type check struct {
	name string
	// mutates: the check changes the plugin's world (deploys, files a
	// change) and runs only in a sandbox.
	mutates bool
	run     func(ctx context.Context, s *state) (string, error)
}

// skip makes a check pass as not applicable.
type skip struct{ why string }

func (s skip) Error() string { return s.why }

func skipf(format string, args ...any) error { return skip{fmt.Sprintf(format, args...)} }

// state is what checks learn and hand on to later checks of a run.
type state struct {
	subj     subject
	opts     Options
	info     sdk.Info
	infoOK   bool
	runID    string
	caps     *sdk.Capabilities
	mcaps    *sdk.MonitoringCapabilities
	tcaps    *sdk.TicketingCapabilities
	deployed *deployOutcome
	change   *sdk.Change
	// timeouts are the checks the plugin timed out in. After
	// maxTimeouts, stopped fails every later check without calling the
	// plugin, which would only wait out the deadline again and again.
	timeouts []string
	stopped  string
}

const maxTimeouts = 2

func (s *state) timedOut(check string) {
	s.timeouts = append(s.timeouts, check)
	if len(s.timeouts) >= maxTimeouts {
		s.stopped = fmt.Sprintf("the plugin timed out in %s; the other checks would wait out their deadlines too", strings.Join(s.timeouts, " and "))
	}
}

// runChecks runs checks in order, each under its own deadline, and adds
// their results to rep.
func runChecks(ctx context.Context, s *state, checks []check, rep *Report) {
	for _, c := range checks {
		if c.mutates && !s.opts.Sandboxed {
			continue
		}
		rep.add(runOne(ctx, s, c))
	}
}

func runOne(ctx context.Context, s *state, c check) Result {
	res := Result{Name: c.name}
	if err := ctx.Err(); err != nil {
		res.Message = "not run: the suite was interrupted"
		return res
	}
	if s.stopped != "" {
		res.Message = "not run: " + s.stopped
		return res
	}
	timeout := s.opts.CheckTimeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	type outcome struct {
		msg string
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{err: fmt.Errorf("the check itself panicked (a bug of the suite): %v\n%s", r, debug.Stack())}
			}
		}()
		msg, err := c.run(cctx, s)
		done <- outcome{msg, err}
	}()

	var out outcome
	select {
	case out = <-done:
	case <-cctx.Done():
		// The plugin's calls end at the host's deadline; give the check a
		// moment to report what the host said before giving up on it.
		grace := time.NewTimer(abandonGrace)
		defer grace.Stop()
		select {
		case out = <-done:
		case <-grace.C:
			if ctx.Err() != nil {
				res.Message = "interrupted"
				return res
			}
			res.Message = fmt.Sprintf("timeout: no answer within the check's deadline of %s", timeout)
			s.timedOut(c.name)
			return res
		}
	}
	var sk skip
	switch {
	case out.err == nil:
		res.Passed, res.Message = true, out.msg
	case errors.As(out.err, &sk):
		res.Passed, res.Skipped, res.Message = true, true, sk.why
	default:
		res.Message = describeErr(out.err)
		if ctx.Err() != nil {
			res.Message = "interrupted: " + res.Message
		} else if faultOf(out.err) == "timeout" {
			s.timedOut(c.name)
		}
	}
	return res
}

// failf is a failed check's message.
func failf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// malformedf is a failure of the plugin's answer, worded like the host's
// fault of the same name.
func malformedf(format string, args ...any) error {
	return fmt.Errorf("malformed answer: "+format, args...)
}

// callErr wraps the error of a call the check made, for describeErr.
type callErr struct {
	call string
	err  error
}

func (e *callErr) Error() string { return e.call + ": " + e.err.Error() }
func (e *callErr) Unwrap() error { return e.err }

// called names the call an error came from, unless the host's error
// names it already.
func called(call string, err error) error {
	if err == nil || host.FaultOf(err) != "" {
		return err
	}
	return &callErr{call, err}
}

// faultOf is the fault the host found in a call, "" for none: an answer
// of the plugin (a refusal with a code) is not a fault.
func faultOf(err error) string {
	if f := host.FaultOf(err); f != "" && f != host.FaultRefused {
		return string(f)
	}
	return ""
}

// describeErr words a failure: a fault the host classified leads the
// message ("crashed: ...", "timeout: ...", "malformed: ..."), and a
// refusal names its code.
func describeErr(err error) string {
	if f := faultOf(err); f != "" {
		return f + ": " + err.Error()
	}
	if errors.Is(err, sdk.ErrMalformed) {
		msg := err.Error()
		if strings.HasPrefix(msg, "malformed") {
			return msg
		}
		return "malformed: " + msg
	}
	if code, ok := answered(err); ok {
		if ce := (*host.CallError)(nil); errors.As(err, &ce) {
			return fmt.Sprintf("refused with %s: %v", codeName(code), ce)
		}
		var e *sdk.Error
		errors.As(err, &e)
		if ce := (*callErr)(nil); errors.As(err, &ce) {
			return fmt.Sprintf("%s: refused with %s: %s", ce.call, codeName(code), e.Message)
		}
		return fmt.Sprintf("refused with %s: %s", codeName(code), e.Message)
	}
	return err.Error()
}

// codeName is how the suite writes an sdk.Code.
func codeName(c sdk.Code) string {
	switch c {
	case sdk.CodeInvalid:
		return "CodeInvalid"
	case sdk.CodeNotFound:
		return "CodeNotFound"
	case sdk.CodeFailedPrecondition:
		return "CodeFailedPrecondition"
	case sdk.CodeUnavailable:
		return "CodeUnavailable"
	case sdk.CodeUnimplemented:
		return "CodeUnimplemented"
	}
	return "CodeInternal"
}

// answered reports whether err is an answer of the plugin (an *sdk.Error
// it returned in-band) rather than a fault of the call, and its code.
func answered(err error) (sdk.Code, bool) {
	if err == nil || faultOf(err) != "" || errors.Is(err, sdk.ErrMalformed) {
		return 0, false
	}
	var e *sdk.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Code, true
}

// count writes "1 check", "2 checks" ("series" stays).
func count(n int, noun string) string {
	if n != 1 && !strings.HasSuffix(noun, "s") {
		noun += "s"
	}
	return fmt.Sprintf("%d %s", n, noun)
}
