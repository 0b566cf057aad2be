package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
	"github.com/warroom/warroom/plugins/sdk"
)

// fleetOf is a state dir whose fleet the test stops at its end, even on
// failure, and checks that nothing of it is left: the supervisor and
// every demo-service it ran.
func fleetOf(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// Registered before any plugin launches, so it runs after they are
	// killed (cleanups run last first).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var pids []int
		if h, err := fleetctl.New(dir).Hello(ctx); err == nil {
			pids = append(children(h.PID), h.PID)
		}
		if _, err := fleetctl.Stop(ctx, dir); err != nil {
			t.Errorf("stop the fleet: %v", err)
		}
		for _, pid := range pids {
			if !gone(pid) {
				t.Errorf("pid %d still runs after the fleet was stopped", pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return dir
}

// launchOn launches the plugin binary and configures it on dir; a plugin
// that was just killed may still hold the fleet lock for a moment.
func launchOn(t *testing.T, dir string) *launched {
	t.Helper()
	return launchWith(t, dir, map[string]string{"traffic_rps": "0"})
}

func launchWith(t *testing.T, dir string, settings map[string]string) *launched {
	t.Helper()
	l := launch(t)
	cfg := sdk.Config{StateDir: dir, Settings: settings}
	var err error
	waitFor(t, "the plugin to configure (the fleet lock free)", func() bool {
		err = l.conn.Configure(context.Background(), cfg)
		return err == nil || !strings.Contains(err.Error(), "another warroom process")
	})
	if err != nil {
		t.Fatalf("configure: %v", err)
	}
	return l
}

// startFleet makes a first call, which starts the supervisor.
func startFleet(t *testing.T, l *launched) {
	t.Helper()
	if _, err := l.conn.DeployTarget().Status(context.Background(), sdk.StatusRequest{}); err != nil {
		t.Fatalf("Status: %v", err)
	}
}

// supervisorOf is the pid of the supervisor of dir.
func supervisorOf(t *testing.T, dir string) int {
	t.Helper()
	h, err := fleetctl.New(dir).Hello(context.Background())
	if err != nil {
		t.Fatalf("hello: %v", err)
	}
	return h.PID
}

func sorted(pids []int) []int {
	slices.Sort(pids)
	return pids
}

// killPlugin ends a plugin process with SIGKILL and waits until it is
// gone.
func killPlugin(t *testing.T, l *launched) {
	t.Helper()
	pid := l.cmd.Process.Pid
	l.cmd.Process.Signal(syscall.SIGKILL)
	waitFor(t, "the plugin to die", func() bool { return gone(pid) })
}

func deployThrough(t *testing.T, l *launched, key, version, from, strategy string) *sink {
	t.Helper()
	s := &sink{}
	err := l.conn.DeployTarget().Deploy(context.Background(), sdk.DeployRequest{
		IdempotencyKey: key, Target: payments, Version: version, FromVersion: from,
		Strategy: strategy, Instances: 2, BatchSize: 1, ServiceKind: "stateless",
	}, s)
	if err != nil {
		t.Fatalf("deploy %s %s through the plugin: %v\n%s", strategy, version, err, s.messages())
	}
	return s
}

func trafficThrough(t *testing.T, l *launched, key string, w ...sdk.TrafficWeight) {
	t.Helper()
	if _, err := l.conn.DeployTarget().SetTraffic(context.Background(), sdk.SetTrafficRequest{IdempotencyKey: key, Target: payments, Weights: w}); err != nil {
		t.Fatalf("SetTraffic %v: %v", w, err)
	}
}

func statusThrough(t *testing.T, l *launched) (sdk.ServiceStatus, sdk.Status) {
	t.Helper()
	st, err := l.conn.DeployTarget().Status(context.Background(), sdk.StatusRequest{Target: payments})
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	for _, s := range st.Services {
		if s.Target == payments {
			return s, st
		}
	}
	t.Fatalf("Status does not list %v: %+v", payments, st)
	return sdk.ServiceStatus{}, st
}

// TestFleetOutlivesItsPlugin kills the plugin process (SIGKILL) at
// points of a deployment and starts a new one on the same state dir: it
// adopts the running fleet (same supervisor, same instance pids, same
// versions and weights), the proxy keeps serving while no plugin runs,
// and a deploy repeated with a finished idempotency key is not done
// again.
func TestFleetOutlivesItsPlugin(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, l *launched) (key string)
		// want is the split of 100 requests through the proxy.
		want map[string]int
	}{
		{"after a rolling deploy", func(t *testing.T, l *launched) string {
			deployThrough(t, l, "run/1/1", "3.1.0", "", "rolling")
			deployThrough(t, l, "run/1/2", "3.2.0", "3.1.0", "rolling")
			return "run/1/2"
		}, map[string]int{"3.2.0": 100}},
		{"at a canary weight", func(t *testing.T, l *launched) string {
			deployThrough(t, l, "run/1/1", "3.2.0", "3.1.0", "canary")
			trafficThrough(t, l, "run/1/1/w10", sdk.TrafficWeight{Version: "3.2.0", Percent: 10}, sdk.TrafficWeight{Version: "3.1.0", Percent: 90})
			return "run/1/1"
		}, map[string]int{"3.2.0": 10, "3.1.0": 90}},
		{"after a blue-green switch", func(t *testing.T, l *launched) string {
			deployThrough(t, l, "run/1/1", "3.2.0", "3.1.0", "blue-green")
			trafficThrough(t, l, "run/1/1/switch", sdk.TrafficWeight{Version: "3.2.0", Percent: 100}, sdk.TrafficWeight{Version: "3.1.0", Percent: 0})
			return "run/1/1"
		}, map[string]int{"3.2.0": 100}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := fleetOf(t)
			a := launchOn(t, dir)
			key := tc.setup(t, a)
			sup := supervisorOf(t, dir)
			pids := sorted(children(sup))
			if len(pids) == 0 {
				t.Fatal("the supervisor runs no demo-service")
			}
			before, _ := statusThrough(t, a)
			url := proxyURL(t, dir)
			if got := hit(t, url, 100); !equalCounts(got, tc.want) {
				t.Fatalf("before the kill: %v, want %v", got, tc.want)
			}

			killPlugin(t, a)
			// No plugin runs: the proxy still serves, with the same split.
			if got := hit(t, url, 100); !equalCounts(got, tc.want) {
				t.Errorf("with no plugin running: %v, want %v", got, tc.want)
			}

			adopting := time.Now()
			b := launchOn(t, dir)
			t.Logf("a new plugin process launched and adopted the fleet in %s", time.Since(adopting).Round(time.Millisecond))
			if got := supervisorOf(t, dir); got != sup {
				t.Errorf("supervisor pid %d after the restart, want %d (adopted)", got, sup)
			}
			if got := sorted(children(sup)); !slices.Equal(got, pids) {
				t.Errorf("instances %v after the restart, want the same pids %v", got, pids)
			}
			after, st := statusThrough(t, b)
			if !slices.Equal(after.Versions, before.Versions) || !after.Healthy {
				t.Errorf("status after the restart %+v, want the versions of before %+v", after, before)
			}
			if !slices.Contains(st.AppliedKeys, key) {
				t.Errorf("applied keys %v lack %s", st.AppliedKeys, key)
			}
			if got := hit(t, url, 100); !equalCounts(got, tc.want) {
				t.Errorf("after the restart: %v, want %v", got, tc.want)
			}
			// The finished key is not deployed again.
			s := deployThrough(t, b, key, "3.2.0", "3.1.0", "canary")
			if ev := s.all(); len(ev) != 1 || !ev[0].Replayed {
				t.Errorf("repeated deploy with key %s: events %+v, want one replayed", key, ev)
			}
			if got := sorted(children(sup)); !slices.Equal(got, pids) {
				t.Errorf("instances %v after the repeated deploy, want %v untouched", got, pids)
			}
			// The adopted fleet is driven as before: promote and serve.
			trafficThrough(t, b, key+"/promote", sdk.TrafficWeight{Version: "3.2.0", Percent: 100}, sdk.TrafficWeight{Version: "3.1.0", Percent: 0})
			if got := hit(t, url, 20); got["3.2.0"] != 20 {
				t.Errorf("after promoting on the adopted fleet: %v", got)
			}
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestDeployInterruptedByThePluginsDeathIsDoneOnRepeat kills the plugin
// in the middle of a deploy: the supervisor cancels it (the key stays
// unfinished), and the repeat with the same key, from a new plugin
// process, completes it on the adopted fleet.
func TestDeployInterruptedByThePluginsDeathIsDoneOnRepeat(t *testing.T) {
	dir := fleetOf(t)
	a := launchOn(t, dir)
	deployThrough(t, a, "run/1/1", "3.1.0", "", "rolling")
	// 3.2.0 takes a second to become healthy: the kill comes before.
	s := &streamSink{started: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- a.conn.DeployTarget().Deploy(context.Background(), sdk.DeployRequest{
			IdempotencyKey: "run/1/2", Target: payments, Version: "3.2.0", FromVersion: "3.1.0",
			Strategy: "canary", Instances: 2, Settings: map[string]string{"fault.slow-start": "1s"},
		}, s)
	}()
	select {
	case <-s.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the deploy did not start an instance")
	}
	killPlugin(t, a)
	if err := <-done; err == nil {
		t.Fatal("the deploy succeeded although its plugin was killed")
	}
	b := launchOn(t, dir)
	_, st := statusThrough(t, b)
	if slices.Contains(st.AppliedKeys, "run/1/2") {
		t.Fatalf("the interrupted key is listed as applied: %v", st.AppliedKeys)
	}
	r := deployThrough(t, b, "run/1/2", "3.2.0", "3.1.0", "canary")
	if ev := r.all(); len(ev) == 0 || ev[0].Replayed {
		t.Fatalf("the repeat was replayed, not done: %+v", ev)
	}
	svc, st := statusThrough(t, b)
	if v := versionOf(svc, "3.2.0"); v.Ready != 2 || v.Weight != 0 || versionOf(svc, "3.1.0").Weight != 100 {
		t.Errorf("after the repeat: %+v", svc)
	}
	if !slices.Contains(st.AppliedKeys, "run/1/2") {
		t.Errorf("applied keys %v lack run/1/2", st.AppliedKeys)
	}
}

// streamSink signals the first instance start of a deploy.
type streamSink struct {
	sink
	started chan struct{}
	once    bool
}

func (s *streamSink) Send(e sdk.DeployEvent) error {
	s.sink.Send(e)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Phase == "starting" && strings.Contains(e.Message, "3.2.0") && !s.once {
		s.once = true
		close(s.started)
	}
	return nil
}

// TestStopLeavesNothingRunning stops a fleet with `localfleet stop`: the
// supervisor and every instance are gone when it returns, the socket is
// removed, and no proxy is listed.
func TestStopLeavesNothingRunning(t *testing.T) {
	dir := fleetOf(t)
	a := launchOn(t, dir)
	deployThrough(t, a, "run/1/1", "3.2.0", "3.1.0", "canary")
	sup := supervisorOf(t, dir)
	pids := append(children(sup), sup)
	if len(pids) != 5 {
		t.Fatalf("pids %v: want the supervisor and 4 instances", pids)
	}
	url := proxyURL(t, dir)
	a.client.Kill() // warroom's graceful stop of the plugin leaves the fleet
	if got := hit(t, url, 10); got["3.1.0"] != 10 {
		t.Fatalf("after the plugin stopped gracefully: %v", got)
	}

	out, err := exec.Command(pluginBin, "stop", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("localfleet stop: %v\n%s", err, out)
	}
	want := "stopped the local fleet of " + dir + ": supervisor pid " + strconv.Itoa(sup) + ", 4 demo-service processes, 1 proxies"
	if !strings.Contains(string(out), want) {
		t.Errorf("localfleet stop said %q, want %q", out, want)
	}
	// Stop returns once the supervisor is gone: no waiting here.
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("pid %d still runs after localfleet stop returned", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, fleetctl.SocketFile)); !os.IsNotExist(err) {
		t.Errorf("socket after stop: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, endpointsFile)); strings.TrimSpace(string(b)) != "{}" {
		t.Errorf("endpoints.json after stop: %s", b)
	}
	if _, err := client.Get(url + "/"); err == nil {
		t.Errorf("the proxy %s still answers after stop", url)
	}
	out, err = exec.Command(pluginBin, "stop", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no local fleet runs for "+dir) {
		t.Errorf("stop with nothing running: %v: %s", err, out)
	}
}

// TestOnePluginPerFleetAndOwnerOnlyFiles: a second plugin process on a
// state dir whose fleet another one drives is refused and names it; the
// supervisor's files are its owner's only.
func TestOnePluginPerFleetAndOwnerOnlyFiles(t *testing.T) {
	dir := fleetOf(t)
	a := launchOn(t, dir)
	deployThrough(t, a, "run/1/1", "3.1.0", "", "rolling")
	b := launch(t)
	err := b.conn.Configure(context.Background(), sdk.Config{StateDir: dir, Settings: map[string]string{"traffic_rps": "0"}})
	want := "another warroom process (pid " + strconv.Itoa(os.Getpid()) + ") runs this local fleet"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second plugin on one state dir: %v, want %q", err, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want owner-only", e.Name(), perm)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v", fi.Mode().Perm())
	}
}

// TestSupervisorDeathIsToldAndANewFleetStarts: a supervisor killed with
// SIGKILL takes its instances with it (no orphans); the plugin's next
// call starts a new supervisor, whose status says nothing runs and still
// lists the applied keys.
func TestSupervisorDeathIsToldAndANewFleetStarts(t *testing.T) {
	dir := fleetOf(t)
	a := launchOn(t, dir)
	deployThrough(t, a, "run/1/1", "3.1.0", "", "rolling")
	sup := supervisorOf(t, dir)
	pids := append(children(sup), sup)
	syscall.Kill(sup, syscall.SIGKILL)
	waitFor(t, "the supervisor's instances to die with it", allGone(pids))
	svc, st := statusThrough(t, a)
	if len(svc.Versions) != 0 || svc.Healthy || !strings.Contains(svc.Message, "nothing runs") {
		t.Errorf("status after the supervisor died: %+v", svc)
	}
	if !slices.Contains(st.AppliedKeys, "run/1/1") {
		t.Errorf("applied keys %v", st.AppliedKeys)
	}
	if got := supervisorOf(t, dir); got == sup {
		t.Errorf("no new supervisor")
	}
}

// TestSupervisorEndsWithItsStateDir: removing the state dir ends the
// supervisor and its fleet.
func TestSupervisorEndsWithItsStateDir(t *testing.T) {
	dir, err := os.MkdirTemp("", "localfleet-gone-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	a := launchOn(t, dir)
	deployThrough(t, a, "run/1/1", "3.1.0", "", "rolling")
	sup := supervisorOf(t, dir)
	pids := append(children(sup), sup)
	t.Cleanup(func() {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	killPlugin(t, a)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the supervisor and its instances to end with the state dir", allGone(pids))
}

// TestAdoptionWithOtherSettings: the warroom that resumes a run may
// configure the plugin otherwise than the one that started it (the demo
// sets faults, `deploy resume` does not): it adopts the running fleet,
// and the new settings apply from then on.
func TestAdoptionWithOtherSettings(t *testing.T) {
	dir := fleetOf(t)
	a := launchWith(t, dir, map[string]string{"traffic_rps": "0", "faults": "payments@3.3.0=crash-on-start"})
	deployThrough(t, a, "run/1/1", "3.2.0", "3.1.0", "canary")
	sup := supervisorOf(t, dir)
	pids := sorted(children(sup))
	killPlugin(t, a)

	b := launchWith(t, dir, map[string]string{"traffic_rps": "0"})
	if got := sorted(children(supervisorOf(t, dir))); !slices.Equal(got, pids) {
		t.Fatalf("instances %v after adoption with other settings, want %v", got, pids)
	}
	// The fault is gone with the setting that named it.
	deployThrough(t, b, "run/1/2", "3.3.0", "3.2.0", "rolling")
	if got := hit(t, proxyURL(t, dir), 10); got["3.3.0"] != 10 {
		t.Errorf("after deploying 3.3.0 without its fault: %v", got)
	}
}

// TestSupervisorKilledUnderACall: the call in flight fails, naming
// localfleet, the state dir and the supervisor's log; nothing of the
// fleet is left (its instances die with it).
func TestSupervisorKilledUnderACall(t *testing.T) {
	dir := fleetOf(t)
	a := launchOn(t, dir)
	deployThrough(t, a, "run/1/1", "3.1.0", "", "rolling")
	sup := supervisorOf(t, dir)
	s := &streamSink{started: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- a.conn.DeployTarget().Deploy(context.Background(), sdk.DeployRequest{
			IdempotencyKey: "run/1/2", Target: payments, Version: "3.2.0", FromVersion: "3.1.0",
			Strategy: "canary", Instances: 2, Settings: map[string]string{"fault.slow-start": "1m"},
		}, s)
	}()
	select {
	case <-s.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the deploy did not start an instance")
	}
	pids := append(children(sup), sup)
	syscall.Kill(sup, syscall.SIGKILL)
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the deploy did not end when its supervisor was killed")
	}
	for _, want := range []string{"localfleet: deploy: the fleet's supervisor of " + dir + " (pid " + strconv.Itoa(sup) + ") is unreachable", filepath.Join(dir, fleetctl.LogFile)} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("deploy under a killed supervisor: %v, want it to say %q", err, want)
		}
	}
	// Unavailable travels with its code (the stream ends with it, not
	// with a failed done event), so warroom retries with the same key.
	if sdk.CodeOf(err) != sdk.CodeUnavailable {
		t.Errorf("deploy under a killed supervisor: code %v, want CodeUnavailable", sdk.CodeOf(err))
	}
	if ev := s.all(); len(ev) > 0 && ev[len(ev)-1].Done {
		t.Errorf("a done event although the deployment failed with a code: %+v", ev)
	}
	waitFor(t, "the instances to die with their supervisor", allGone(pids))
}

// TestHungSupervisorIsReported: a supervisor that does not answer (here
// stopped with SIGSTOP) makes Configure fail with a clear error, not
// hang.
func TestHungSupervisorIsReported(t *testing.T) {
	dir := fleetOf(t)
	a := launchOn(t, dir)
	startFleet(t, a) // the first call starts the supervisor
	sup := supervisorOf(t, dir)
	killPlugin(t, a)
	syscall.Kill(sup, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(sup, syscall.SIGCONT) }) // runs before fleetOf's stop
	b := launch(t)
	var err error
	waitFor(t, "the fleet lock to be free", func() bool {
		err = b.conn.Configure(context.Background(), sdk.Config{StateDir: dir, Settings: map[string]string{"traffic_rps": "0"}})
		return err == nil || !strings.Contains(err.Error(), "another warroom process")
	})
	want := "localfleet: the fleet's supervisor of " + dir + " (pid " + strconv.Itoa(sup) + ") did not answer within 5s"
	if err == nil || !strings.Contains(err.Error(), want) || sdk.CodeOf(err) != sdk.CodeUnavailable {
		t.Errorf("configure with a hung supervisor: %v (code %v), want Unavailable saying %q", err, sdk.CodeOf(err), want)
	}
}

// TestLongStateDirPath: a state dir whose socket path is longer than a
// socket address takes (107 bytes) still works: the supervisor listens
// from within the dir, clients connect through /proc/self/fd.
func TestLongStateDirPath(t *testing.T) {
	dir := filepath.Join(fleetOf(t), strings.Repeat("a-rather-long-directory-name-", 4), "plugin-state", "localfleet")
	if n := len(filepath.Join(dir, fleetctl.SocketFile)); n <= 107 {
		t.Fatalf("socket path of %d bytes: not long enough for the test", n)
	}
	a := launchOn(t, dir)
	t.Cleanup(func() { fleetctl.Stop(context.Background(), dir) }) // before fleetOf's, which knows the parent only
	deployThrough(t, a, "run/1/1", "3.1.0", "", "rolling")
	sup := supervisorOf(t, dir)
	killPlugin(t, a)
	b := launchOn(t, dir)
	if got := supervisorOf(t, dir); got != sup {
		t.Errorf("supervisor %d, want %d adopted", got, sup)
	}
	if svc, _ := statusThrough(t, b); versionOf(svc, "3.1.0").Ready != 2 {
		t.Errorf("status: %+v", svc)
	}
	pids := append(children(sup), sup)
	st, err := fleetctl.Stop(context.Background(), dir)
	if err != nil || st.PID != sup {
		t.Fatalf("stop: %+v %v", st, err)
	}
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("pid %d runs after stop", pid)
		}
	}
}

// TestSupervisorStartsWithTheFirstCallAndEndsIdle: configuring the
// plugin (as `warroom plugins list` does) starts nothing; the first call
// starts the supervisor; with nothing running and no call for idle_exit,
// it ends.
func TestSupervisorStartsWithTheFirstCallAndEndsIdle(t *testing.T) {
	dir := fleetOf(t)
	a := launchWith(t, dir, map[string]string{"traffic_rps": "0", "idle_exit": "1ms"})
	if _, err := fleetctl.New(dir).Hello(context.Background()); !errors.Is(err, fleetctl.ErrNotRunning) {
		t.Fatalf("a supervisor answers after Configure alone: %v", err)
	}
	startFleet(t, a)
	// From its lock file, which outlives it: asked, it might be gone.
	sup, err := strconv.Atoi(fleetctl.LockHolder(filepath.Join(dir, fleetctl.LockFile)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the idle supervisor to end", func() bool { return gone(sup) })
	if b, _ := os.ReadFile(filepath.Join(dir, fleetctl.LogFile)); !strings.Contains(string(b), "idle: no process and no call for 1ms (idle_exit)") {
		t.Errorf("the supervisor's log does not say why it ended:\n%s", b)
	}
	// The next call starts a new one.
	deployThrough(t, a, "run/1/1", "3.1.0", "", "rolling")
	if got := supervisorOf(t, dir); got == sup {
		t.Errorf("no new supervisor")
	}
}

// TestSharedStateDirSharesTheFleetsFiles: when warroom shares its files
// with the group (--share-group makes the state dir 0770), the fleet's
// files are the group's too (0660), whatever the umask, and never the
// others'; an owner-only dir keeps them 0600 (above).
func TestSharedStateDirSharesTheFleetsFiles(t *testing.T) {
	dir := fleetOf(t)
	if err := os.Chmod(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o077) // the narrowest umask must not narrow a shared file
	t.Cleanup(func() { syscall.Umask(old) })
	a := launchOn(t, dir)
	deployThrough(t, a, "run/1/1", "3.1.0", "", "rolling")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files int
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().IsRegular() {
			files++
			if perm := fi.Mode().Perm(); perm != 0o660 {
				t.Errorf("%s has mode %v, want 0660 in a shared state dir", e.Name(), perm)
			}
		}
	}
	if files == 0 {
		t.Fatal("the fleet wrote no file in its state dir")
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o770 {
		t.Errorf("state dir mode %v, want 0770 kept", fi.Mode().Perm())
	}
}
