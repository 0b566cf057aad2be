package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
	"github.com/warroom/warroom/store"
)

// fleetStopTimeout bounds stopping the local fleet: its instances get a
// few seconds each, all at once.
const fleetStopTimeout = 30 * time.Second

// localFleetDir is the state dir of the localfleet plugin of the app's
// database: the fleet's supervisor, journal and endpoints live there.
func (a *app) localFleetDir() string {
	return filepath.Join(filepath.Dir(a.dbPath), "plugin-state", "localfleet")
}

// stopLocalFleet ends the local fleet of this database deliberately when
// warroom quits: its instances and proxies outlive the plugin process
// (so that a run resumes on them), and only this decides that nothing
// needs them any more. With a run unfinished it leaves them for the
// warroom that resumes the run, unless always is set (the demo's
// temporary directory is about to go). A fleet driven by another warroom
// process is left to it. The plugins stop after the fleet.
func (a *app) stopLocalFleet(ctx context.Context, s *store.Store, always bool) {
	dir := a.localFleetDir()
	if !fleetctl.Running(dir) {
		return // none ran, or it ended by itself
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fleetStopTimeout)
	defer cancel()
	if !always && s != nil {
		runs, err := s.Runs(ctx, "", 100)
		if err != nil {
			a.eprintf("warroom: the local fleet keeps running (%v); stop it with `localfleet stop %s`\n", err, dir)
			return
		}
		for _, r := range runs {
			if !r.State.Terminal() {
				a.printf("the local fleet keeps running for run %s (%s), not finished: warroom resumes it on this database; `localfleet stop %s` stops the fleet\n",
					r.ID, r.State, dir)
				return
			}
		}
	}
	st, err := fleetctl.StopUndriven(ctx, dir, os.Getpid())
	// After the fleet: a plugin still running reaps the supervisor it
	// started; none is called any more, so none starts it again.
	a.closePlugins()
	switch {
	case errors.Is(err, fleetctl.ErrDriven):
		a.printf("the local fleet keeps running: %v\n", err)
	case err != nil:
		a.eprintf("warroom: %v\n", err)
	case st.PID != 0:
		a.printf("stopped the local fleet: %d demo-service processes, %d proxies\n", st.Processes, st.Proxies)
	}
}

func (a *app) eprintf(format string, args ...any) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	fmt.Fprintf(a.stderr, format, args...)
}
