package conformance

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// Options tune a run of the suite.
type Options struct {
	// Settings are the operator's settings for the plugin (`--set`);
	// the suite configures the plugin with its declared defaults
	// overridden by these.
	Settings map[string]string
	// StateDir is the plugin's state directory, handed to Configure.
	StateDir string
	// Sandboxed says the plugin was launched for the suite, with a fresh
	// state directory and no production configuration: only then do the
	// checks that change something run. Check and RunT set it.
	Sandboxed bool
	// CheckTimeout bounds each check (default DefaultCheckTimeout).
	CheckTimeout time.Duration
	// CallTimeout is the deadline of each call to the plugin, and
	// StreamIdleTimeout the longest a stream may go without an event,
	// for the launch Check makes (default: the host's).
	CallTimeout       time.Duration
	StreamIdleTimeout time.Duration
	// StartTimeout bounds the plugin's start-up (default: the host's).
	StartTimeout time.Duration
	// Env is the plugin's whole environment ("KEY=value") for the
	// launches the suite makes; warroom's own is not handed down.
	Env []string
	// LogWriter receives the logs of the plugin processes the suite
	// launches (default: discarded).
	LogWriter io.Writer
}

// suite returns the checks for the kinds a plugin declares, in order.
func suite(kinds []sdk.Kind) []check {
	checks := commonChecks()
	if slices.Contains(kinds, sdk.KindDeployTarget) {
		checks = append(checks, deployChecks()...)
	}
	if slices.Contains(kinds, sdk.KindMonitoringSource) {
		checks = append(checks, monitoringChecks()...)
	}
	if slices.Contains(kinds, sdk.KindTicketing) {
		checks = append(checks, ticketingChecks()...)
	}
	return checks
}

// run runs the suite against subj and adds the results to rep.
func run(ctx context.Context, subj subject, opts Options, rep *Report) {
	s := &state{
		subj:  subj,
		opts:  opts,
		runID: fmt.Sprintf("conformance-%d", time.Now().UnixNano()),
	}
	// Info decides which kinds are checked, so it runs first, alone.
	common := commonChecks()
	runChecks(ctx, s, common[:1], rep)
	if rep.Plugin == "" {
		rep.Plugin = s.info.Name
	}
	all := suite(s.info.Kinds)
	runChecks(ctx, s, all[1:], rep)
}
