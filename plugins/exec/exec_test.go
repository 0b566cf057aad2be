package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/internal/runner"
	"github.com/warroom/warroom/plugins/sdk"
)

// ---- helpers ----

func configure(t *testing.T, stateDir string, settings map[string]string) *target {
	t.Helper()
	tg := &target{killGrace: 300 * time.Millisecond}
	if err := tg.Configure(context.Background(), sdk.Config{Settings: settings, StateDir: stateDir}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { tg.journal.Close() })
	return tg
}

func newTarget(t *testing.T, settings map[string]string) (*target, string) {
	t.Helper()
	dir := t.TempDir()
	return configure(t, dir, settings), dir
}

type sink struct {
	mu     sync.Mutex
	events []sdk.DeployEvent
}

func (s *sink) Send(e sdk.DeployEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	return nil
}

func (s *sink) all() []sdk.DeployEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gone reports whether a process no longer exists (a zombie counts as
// gone: it runs nothing and waits only for its reaper).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, "pid file "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		n, err := parseInt(strings.TrimSpace(string(b)))
		pid = n
		return err == nil && n > 0
	})
	return pid
}

func parseInt(s string) (int, error) {
	var n int
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(r-'0')
	}
	return n, nil
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			m[k] = v
		}
	}
	return m
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func wantCode(t *testing.T, err error, code sdk.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %d", code)
	}
	if got := sdk.CodeOf(err); got != code {
		t.Fatalf("code %d, want %d: %v", got, code, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

var api = sdk.Target{Service: "api", Environment: "prod", Region: "eu-west-1"}

// ---- configuration ----

func TestConfigureRefusesUnknownSettingsAndBadTimeouts(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		contains []string
	}{
		{"unknown", map[string]string{"deploy": "true", "deplyo": "x"}, []string{`"deplyo"`, "preflight, deploy, set_traffic", "shell"}},
		{"timeout words", map[string]string{"timeout": "ten minutes"}, []string{"timeout", "ten minutes"}},
		{"timeout negative", map[string]string{"timeout": "-5s"}, []string{"timeout"}},
		{"timeout zero", map[string]string{"timeout": "0s"}, []string{"timeout"}},
		{"workdir missing", map[string]string{"workdir": "/nonexistent/dir"}, []string{"workdir"}},
		{"shell missing", map[string]string{"shell": "/no/such/shell"}, []string{"shell"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := &target{}
			err := tg.Configure(context.Background(), sdk.Config{Settings: tt.settings, StateDir: t.TempDir()})
			wantCode(t, err, sdk.CodeInvalid, tt.contains...)
		})
	}
	t.Run("no state dir", func(t *testing.T) {
		err := (&target{}).Configure(context.Background(), sdk.Config{})
		wantCode(t, err, sdk.CodeInvalid, "state dir")
	})
	t.Run("not configured", func(t *testing.T) {
		_, err := (&target{}).Status(context.Background(), sdk.StatusRequest{})
		wantCode(t, err, sdk.CodeFailedPrecondition)
	})
}

func TestSettingSpecsCoverEveryKnownSetting(t *testing.T) {
	for _, s := range settingSpecs {
		if s.Description == "" {
			t.Errorf("setting %s has no description", s.Name)
		}
	}
	if len(settingSpecs) != 9 {
		t.Errorf("%d settings, want 9", len(settingSpecs))
	}
}

func TestDescribe(t *testing.T) {
	ctx := context.Background()
	plain, _ := newTarget(t, map[string]string{"deploy": "true"})
	caps, err := plain.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if caps.TrafficShifting || !caps.Stateful || !caps.Status ||
		!slices.Equal(caps.Strategies, []string{"rolling", "blue-green", "canary"}) {
		t.Errorf("capabilities %+v", caps)
	}
	shifting, _ := newTarget(t, map[string]string{"set_traffic": "true"})
	if caps, _ := shifting.Describe(ctx); !caps.TrafficShifting {
		t.Error("TrafficShifting false with a set_traffic command")
	}
}

// ---- environment ----

func TestEnvironmentReachesTheScripts(t *testing.T) {
	t.Setenv("WARROOM_TEST_HOST_ONLY", "leak")
	ctx := context.Background()
	tg, dir := newTarget(t, map[string]string{
		"deploy":      "env > deploy.env",
		"rollback":    "env > rollback.env",
		"set_traffic": "env > traffic.env",
		"verify":      "env > verify.env",
		"preflight":   "env > preflight.env",
	})
	err := tg.Deploy(ctx, sdk.DeployRequest{
		IdempotencyKey: "run-1/2/1", Target: api, Version: "1.5.0", FromVersion: "1.4.0",
		Artifact: sdk.Artifact{Digest: "sha256:abc", Ref: "registry/api:1.5.0"},
		Strategy: "canary", BatchSize: 2, Instances: 6, ServiceKind: "stateless",
		Settings: map[string]string{"max-surge": "25%", "Drain_Seconds": "30"},
		RunID:    "run-1", Step: 2, Attempt: 1,
	}, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	got := readEnvFile(t, filepath.Join(dir, "deploy.env"))
	want := map[string]string{
		"WARROOM_PHASE": "deploy", "WARROOM_STATE_DIR": dir,
		"WARROOM_SERVICE": "api", "WARROOM_ENVIRONMENT": "prod", "WARROOM_REGION": "eu-west-1",
		"WARROOM_VERSION": "1.5.0", "WARROOM_FROM_VERSION": "1.4.0",
		"WARROOM_ARTIFACT_DIGEST": "sha256:abc", "WARROOM_ARTIFACT_REF": "registry/api:1.5.0",
		"WARROOM_STRATEGY": "canary", "WARROOM_BATCH_SIZE": "2", "WARROOM_INSTANCES": "6",
		"WARROOM_SERVICE_KIND": "stateless", "WARROOM_RUN_ID": "run-1", "WARROOM_STEP": "2",
		"WARROOM_ATTEMPT": "1", "WARROOM_IDEMPOTENCY_KEY": "run-1/2/1",
		"WARROOM_WEIGHTS": "", "WARROOM_REASON": "", "WARROOM_CHECKS": "",
		"WARROOM_SETTING_MAX_SURGE": "25%", "WARROOM_SETTING_DRAIN_SECONDS": "30",
		"PATH": runner.MinimalPath, "LANG": "C.UTF-8",
	}
	for k, v := range want {
		if gv, ok := got[k]; !ok || gv != v {
			t.Errorf("deploy: %s = %q (set: %v), want %q", k, gv, ok, v)
		}
	}
	if _, ok := got["WARROOM_TEST_HOST_ONLY"]; ok {
		t.Error("the host's environment reached the script")
	}
	if got["HOME"] == "" {
		t.Error("HOME is not set")
	}

	err = tg.Rollback(ctx, sdk.RollbackRequest{
		IdempotencyKey: "run-1/2/rb", Target: api, ToVersion: "1.4.0", FromVersion: "1.5.0",
		Reason: "error rate 5% > 1%", RunID: "run-1", Step: 2,
	}, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	got = readEnvFile(t, filepath.Join(dir, "rollback.env"))
	for k, v := range map[string]string{
		"WARROOM_PHASE": "rollback", "WARROOM_VERSION": "1.4.0", "WARROOM_FROM_VERSION": "1.5.0",
		"WARROOM_REASON": "error rate 5% > 1%", "WARROOM_IDEMPOTENCY_KEY": "run-1/2/rb", "WARROOM_STEP": "2",
	} {
		if got[k] != v {
			t.Errorf("rollback: %s = %q, want %q", k, got[k], v)
		}
	}

	if _, err := tg.SetTraffic(ctx, sdk.SetTrafficRequest{
		IdempotencyKey: "w1", Target: api,
		Weights: []sdk.TrafficWeight{{Version: "1.4.0", Percent: 90}, {Version: "1.5.0", Percent: 10}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := readEnvFile(t, filepath.Join(dir, "traffic.env")); got["WARROOM_WEIGHTS"] != "1.4.0=90,1.5.0=10" ||
		got["WARROOM_IDEMPOTENCY_KEY"] != "w1" {
		t.Errorf("set_traffic env: WEIGHTS=%q KEY=%q", got["WARROOM_WEIGHTS"], got["WARROOM_IDEMPOTENCY_KEY"])
	}

	if _, err := tg.Verify(ctx, sdk.VerifyRequest{Target: api, Version: "1.5.0", Checks: []string{"http", "db"},
		Settings: map[string]string{"url": "http://x"}}); err != nil {
		t.Fatal(err)
	}
	if got := readEnvFile(t, filepath.Join(dir, "verify.env")); got["WARROOM_CHECKS"] != "http,db" ||
		got["WARROOM_SETTING_URL"] != "http://x" || got["WARROOM_VERSION"] != "1.5.0" {
		t.Errorf("verify env: %v", got)
	}

	if _, err := tg.Preflight(ctx, sdk.PreflightRequest{Target: api, Version: "1.5.0", Strategy: "rolling",
		Artifact: sdk.Artifact{Digest: "sha256:def"}}); err != nil {
		t.Fatal(err)
	}
	if got := readEnvFile(t, filepath.Join(dir, "preflight.env")); got["WARROOM_STRATEGY"] != "rolling" ||
		got["WARROOM_ARTIFACT_DIGEST"] != "sha256:def" || got["WARROOM_PHASE"] != "preflight" {
		t.Errorf("preflight env: %v", got)
	}
}

func TestWorkdirAndShell(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	tg := configure(t, dir, map[string]string{"workdir": "scripts", "shell": "sh", "deploy": "pwd > where"})
	if err := tg.Deploy(context.Background(), sdk.DeployRequest{Target: api, Version: "1"}, &sink{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "scripts", "where"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != filepath.Join(dir, "scripts") {
		t.Errorf("ran in %s", got)
	}
}

// ---- deploy and rollback ----

func TestDeployStreamsLinesWithProgressAndPhase(t *testing.T) {
	tg, _ := newTarget(t, map[string]string{"deploy": `
echo "pulling image"
echo "::progress 40 image pulled"
echo "::phase draining"
echo "old instances drained" >&2
echo "::progress 100%"
printf "no newline at the end"`})
	s := &sink{}
	if err := tg.Deploy(context.Background(), sdk.DeployRequest{Target: api, Version: "1.5.0", Instances: 3}, s); err != nil {
		t.Fatal(err)
	}
	type ev struct {
		phase, msg string
		pct        int
	}
	var got []ev
	for _, e := range s.all() {
		if e.At.IsZero() || e.InstancesTotal != 3 || e.Done {
			t.Errorf("event %+v", e)
		}
		got = append(got, ev{e.Phase, e.Message, e.Percent})
	}
	want := []ev{
		{"deploy", "deploy command started", 0},
		{"deploy", "pulling image", 0},
		{"deploy", "image pulled", 40},
		{"draining", "", 40},
		{"draining", "", 100},
		{"draining", "no newline at the end", 100},
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
}

func TestDeployFailureQuotesTheStderrTail(t *testing.T) {
	tg, _ := newTarget(t, map[string]string{"deploy": `
i=1; while [ $i -le 30 ]; do echo "err line $i" >&2; i=$((i+1)); done
echo "still going"
exit 3`})
	err := tg.Deploy(context.Background(), sdk.DeployRequest{IdempotencyKey: "k", Target: api, Version: "1"}, &sink{})
	wantCode(t, err, sdk.CodeInternal, "exited with code 3", "err line 11\n", "err line 30")
	if strings.Contains(err.Error(), "err line 10\n") {
		t.Errorf("more than 20 stderr lines quoted: %v", err)
	}
	if e, _ := tg.journal.Lookup("k"); e.State != runner.Failed || !strings.Contains(e.Message, "code 3") {
		t.Errorf("journal entry %+v", e)
	}
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	// One child sleeps normally, one ignores SIGTERM and needs SIGKILL.
	tg, dir := newTarget(t, map[string]string{"timeout": "500ms", "deploy": `
sleep 60 & echo $! > child.pid
sh -c 'trap "" TERM; exec sleep 60' & echo $! > stubborn.pid
echo "waiting" >&2
sleep 60`})
	start := time.Now()
	err := tg.Deploy(context.Background(), sdk.DeployRequest{IdempotencyKey: "k", Target: api, Version: "1"}, &sink{})
	wantCode(t, err, sdk.CodeInternal, "timed out after 500ms", "process group was killed", "waiting")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Deploy took %s after a 500ms timeout", d)
	}
	for _, f := range []string{"child.pid", "stubborn.pid"} {
		pid := readPid(t, filepath.Join(dir, f))
		waitFor(t, f+" process gone", func() bool { return gone(pid) })
	}
	if e, _ := tg.journal.Lookup("k"); e.State != runner.Failed {
		t.Errorf("a timed-out deploy is recorded %q, want failed", e.State)
	}
}

func TestCancellationKillsTheProcessGroupAndLeavesTheKeyStarted(t *testing.T) {
	tg, dir := newTarget(t, map[string]string{"deploy": `
echo run >> runs
sleep 60 & echo $! > child.pid
wait`})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- tg.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "k", Target: api, Version: "1"}, &sink{})
	}()
	pid := readPid(t, filepath.Join(dir, "child.pid"))
	cancel()
	var err error
	select {
	case err = <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("Deploy did not return after cancellation")
	}
	if !errors.Is(err, runner.ErrCancelled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	waitFor(t, "child gone", func() bool { return gone(pid) })
	if e, _ := tg.journal.Lookup("k"); e.State != runner.Started {
		t.Errorf("cancelled key recorded %q, want started", e.State)
	}
	if st, _ := tg.Status(context.Background(), sdk.StatusRequest{}); slices.Contains(st.AppliedKeys, "k") {
		t.Error("a started key is reported applied")
	}

	// A started key is not applied: the command runs again.
	tg.cfg.commands[phaseDeploy] = "echo run >> runs"
	s := &sink{}
	if err := tg.Deploy(context.Background(), sdk.DeployRequest{IdempotencyKey: "k", Target: api, Version: "1"}, s); err != nil {
		t.Fatal(err)
	}
	if n := lines(t, filepath.Join(dir, "runs")); n != 2 {
		t.Errorf("ran %d times, want 2", n)
	}
	for _, e := range s.all() {
		if e.Replayed {
			t.Error("a started key was replayed")
		}
	}
}

func TestIdempotentDeployRunsOnceAndReplays(t *testing.T) {
	settings := map[string]string{"deploy": `echo "$WARROOM_VERSION" >> count`}
	ctx := context.Background()
	tg, dir := newTarget(t, settings)
	req := sdk.DeployRequest{IdempotencyKey: "run-9/1/1", Target: api, Version: "1.5.0"}
	if err := tg.Deploy(ctx, req, &sink{}); err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	if err := tg.Deploy(ctx, req, s); err != nil {
		t.Fatal(err)
	}
	if n := lines(t, filepath.Join(dir, "count")); n != 1 {
		t.Fatalf("deploy command ran %d times, want 1", n)
	}
	ev := s.all()
	if len(ev) != 1 || !ev[0].Done || !ev[0].Replayed || ev[0].Failed || ev[0].Percent != 100 {
		t.Fatalf("replay events %+v", ev)
	}

	// The journal outlives the plugin process.
	tg.journal.Close()
	tg2 := configure(t, dir, settings)
	s = &sink{}
	if err := tg2.Deploy(ctx, req, s); err != nil {
		t.Fatal(err)
	}
	if n := lines(t, filepath.Join(dir, "count")); n != 1 || len(s.all()) != 1 || !s.all()[0].Replayed {
		t.Fatalf("after reopening: ran %d times, events %+v", n, s.all())
	}

	// A new key runs again.
	req.IdempotencyKey = "run-9/1/2"
	if err := tg2.Deploy(ctx, req, &sink{}); err != nil {
		t.Fatal(err)
	}
	if n := lines(t, filepath.Join(dir, "count")); n != 2 {
		t.Fatalf("ran %d times with two keys, want 2", n)
	}

	// No key, no idempotency.
	req.IdempotencyKey = ""
	tg2.Deploy(ctx, req, &sink{})
	tg2.Deploy(ctx, req, &sink{})
	if n := lines(t, filepath.Join(dir, "count")); n != 4 {
		t.Fatalf("ran %d times, want 4", n)
	}

	// A key is tied to its operation.
	err := tg2.Rollback(ctx, sdk.RollbackRequest{IdempotencyKey: "run-9/1/1", Target: api}, &sink{})
	wantCode(t, err, sdk.CodeInvalid)
}

func TestFailedKeyReplaysTheFailure(t *testing.T) {
	tg, dir := newTarget(t, map[string]string{"rollback": `echo x >> count; echo "no such version" >&2; exit 2`})
	req := sdk.RollbackRequest{IdempotencyKey: "rb", Target: api, ToVersion: "0.9"}
	err := tg.Rollback(context.Background(), req, &sink{})
	wantCode(t, err, sdk.CodeInternal, "no such version")
	s := &sink{}
	err = tg.Rollback(context.Background(), req, s)
	wantCode(t, err, sdk.CodeInternal, "not run again", "no such version")
	if n := lines(t, filepath.Join(dir, "count")); n != 1 {
		t.Errorf("ran %d times, want 1", n)
	}
	ev := s.all()
	if len(ev) != 1 || !ev[0].Done || !ev[0].Failed || !ev[0].Replayed || ev[0].Phase != "rollback" {
		t.Errorf("events %+v", ev)
	}
}

func TestConcurrentCallsWithOneKey(t *testing.T) {
	tg, dir := newTarget(t, map[string]string{"deploy": `while [ ! -f go ]; do sleep 0.02; done`})
	req := sdk.DeployRequest{IdempotencyKey: "k", Target: api, Version: "1"}
	errc := make(chan error, 1)
	go func() { errc <- tg.Deploy(context.Background(), req, &sink{}) }()
	waitFor(t, "first deploy to start", func() bool {
		e, ok := tg.journal.Lookup("k")
		return ok && e.State == runner.Started
	})
	wantCode(t, tg.Deploy(context.Background(), req, &sink{}), sdk.CodeFailedPrecondition, "running now")
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestMissingCommands(t *testing.T) {
	ctx := context.Background()
	tg, _ := newTarget(t, nil)
	// The SDK sends the error as the final done+failed event (see the
	// end-to-end test).
	s := &sink{}
	err := tg.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "k", Target: api, Version: "1"}, s)
	wantCode(t, err, sdk.CodeInvalid, "no deploy command configured: set the deploy setting in the plugin config")
	err = tg.Rollback(ctx, sdk.RollbackRequest{Target: api}, s)
	wantCode(t, err, sdk.CodeInvalid, "no rollback command configured: set the rollback setting")
	if ev := s.all(); len(ev) != 0 {
		t.Errorf("events %+v", ev)
	}
	if _, ok := tg.journal.Lookup("k"); ok {
		t.Error("a deploy that could not run was journaled")
	}
	for _, phase := range []string{"preflight", "verify"} {
		var checks []sdk.Check
		if phase == "preflight" {
			checks, err = tg.Preflight(ctx, sdk.PreflightRequest{Target: api})
		} else {
			checks, err = tg.Verify(ctx, sdk.VerifyRequest{Target: api})
		}
		if err != nil {
			t.Fatal(err)
		}
		want := "no " + phase + " command configured; nothing checked"
		if len(checks) != 1 || !checks[0].Passed || checks[0].Message != want {
			t.Errorf("%s checks %+v", phase, checks)
		}
	}
	_, err = tg.SetTraffic(ctx, sdk.SetTrafficRequest{Target: api, Weights: []sdk.TrafficWeight{{Version: "1", Percent: 100}}})
	wantCode(t, err, sdk.CodeUnimplemented)
}

// ---- traffic ----

func TestSetTrafficValidatesWeights(t *testing.T) {
	tg, dir := newTarget(t, map[string]string{"set_traffic": `echo "$WARROOM_WEIGHTS" >> applied`})
	w := func(v string, p int) sdk.TrafficWeight { return sdk.TrafficWeight{Version: v, Percent: p} }
	bad := []struct {
		name    string
		weights []sdk.TrafficWeight
		want    string
	}{
		{"empty", nil, "no weights"},
		{"sum below", []sdk.TrafficWeight{w("1", 50), w("2", 40)}, "sum to 90"},
		{"sum above", []sdk.TrafficWeight{w("1", 60), w("2", 50)}, "sum to 110"},
		{"negative", []sdk.TrafficWeight{w("1", 110), w("2", -10)}, "outside 0..100"},
		{"above 100", []sdk.TrafficWeight{w("1", 101)}, "outside 0..100"},
		{"duplicate", []sdk.TrafficWeight{w("1", 50), w("1", 50)}, "twice"},
		{"no version", []sdk.TrafficWeight{w("", 100)}, "no version"},
		{"separator", []sdk.TrafficWeight{w("1=2", 100)}, "contains"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tg.SetTraffic(context.Background(), sdk.SetTrafficRequest{Target: api, Weights: tt.weights})
			wantCode(t, err, sdk.CodeInvalid, tt.want)
		})
	}
	if n := lines(t, filepath.Join(dir, "applied")); n != 0 {
		t.Fatalf("the command ran for invalid weights")
	}

	req := sdk.SetTrafficRequest{IdempotencyKey: "t1", Target: api, Weights: []sdk.TrafficWeight{w("1.4.0", 100), w("1.5.0", 0)}}
	got, err := tg.SetTraffic(context.Background(), req)
	if err != nil || !slices.Equal(got, req.Weights) {
		t.Fatalf("SetTraffic = %v, %v", got, err)
	}
	// Replayed with other weights (a confused caller): the recorded ones.
	req2 := req
	req2.Weights = []sdk.TrafficWeight{w("1.5.0", 100)}
	got, err = tg.SetTraffic(context.Background(), req2)
	if err != nil || !slices.Equal(got, req.Weights) {
		t.Fatalf("replay = %v, %v; want the recorded weights", got, err)
	}
	if n := lines(t, filepath.Join(dir, "applied")); n != 1 {
		t.Fatalf("set_traffic ran %d times, want 1", n)
	}
}

// ---- preflight and verify ----

func TestChecks(t *testing.T) {
	tests := []struct {
		name    string
		command string
		want    []sdk.Check // Duration and Evidence not compared
	}{
		{"exit 0", "echo checking; echo 'all 3 hosts reachable'", []sdk.Check{{Name: "verify", Passed: true, Message: "all 3 hosts reachable"}}},
		{"exit 1", "echo 'disk full on db-2' >&2; exit 1", []sdk.Check{{Name: "verify", Passed: false,
			Message: "verify command exited with code 1; last stderr lines:\ndisk full on db-2"}}},
		{"check lines", "echo '::check http pass 200 OK in 12ms'; echo noise; echo '::check db FAIL replica lag 30s'",
			[]sdk.Check{{Name: "http", Passed: true, Message: "200 OK in 12ms"}, {Name: "db", Passed: false, Message: "replica lag 30s"}}},
		{"check lines then exit 2", "echo '::check http pass'; exit 2", []sdk.Check{{Name: "http", Passed: true},
			{Name: "verify", Passed: false, Message: "verify command exited with code 2 (no stderr output)"}}},
		{"malformed", "echo '::check http passed'", []sdk.Check{{Name: "http", Passed: false,
			Message: `malformed line "::check http passed": want ::check NAME pass|fail MESSAGE`}}},
		{"not a directive", "echo '::checker x'", []sdk.Check{{Name: "verify", Passed: true, Message: "::checker x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, _ := newTarget(t, map[string]string{"verify": tt.command})
			got, err := tg.Verify(context.Background(), sdk.VerifyRequest{Target: api, Version: "1"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].Duration, got[i].Evidence = 0, nil
			}
			if !slices.EqualFunc(got, tt.want, func(a, b sdk.Check) bool {
				return a.Name == b.Name && a.Passed == b.Passed && a.Message == b.Message
			}) {
				t.Errorf("checks\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPreflightTimeoutIsAFailedCheck(t *testing.T) {
	tg, _ := newTarget(t, map[string]string{"preflight": "sleep 30", "timeout": "200ms"})
	got, err := tg.Preflight(context.Background(), sdk.PreflightRequest{Target: api})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Passed || !strings.Contains(got[0].Message, "timed out after 200ms") {
		t.Errorf("checks %+v", got)
	}
}

// ---- status ----

func TestStatusFromTheJournal(t *testing.T) {
	ctx := context.Background()
	tg, _ := newTarget(t, map[string]string{
		"deploy":      `[ "$WARROOM_SERVICE" != web ] || { echo "health check failed" >&2; exit 1; }`,
		"set_traffic": "true",
	})
	web := sdk.Target{Service: "web", Environment: "prod", Region: "eu-west-1"}
	staging := sdk.Target{Service: "api", Environment: "staging"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tg.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "a1", Target: api, Version: "1.4.0"}, &sink{}))
	must(tg.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "a2", Target: api, Version: "1.5.0"}, &sink{}))
	_, err := tg.SetTraffic(ctx, sdk.SetTrafficRequest{IdempotencyKey: "t1", Target: api,
		Weights: []sdk.TrafficWeight{{Version: "1.4.0", Percent: 90}, {Version: "1.5.0", Percent: 10}}})
	must(err)
	must(tg.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "s1", Target: staging, Version: "1.6.0"}, &sink{}))
	if err := tg.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "w1", Target: web, Version: "2.0.0"}, &sink{}); err == nil {
		t.Fatal("web deploy did not fail")
	}

	st, err := tg.Status(ctx, sdk.StatusRequest{Target: sdk.Target{Environment: "prod"}})
	must(err)
	if !slices.Equal(st.AppliedKeys, []string{"a1", "a2", "t1", "s1"}) {
		t.Errorf("applied keys %v", st.AppliedKeys)
	}
	if len(st.Services) != 2 {
		t.Fatalf("services %+v", st.Services)
	}
	a, w := st.Services[0], st.Services[1]
	if a.Target != api || !a.Healthy || !slices.Equal(a.Versions, []sdk.VersionStatus{{Version: "1.4.0", Weight: 90}, {Version: "1.5.0", Weight: 10}}) ||
		!strings.Contains(a.Message, "not observed") {
		t.Errorf("api status %+v", a)
	}
	if w.Target != web || w.Healthy || len(w.Versions) != 0 || !strings.Contains(w.Message, "health check failed") {
		t.Errorf("web status %+v", w)
	}

	st, err = tg.Status(ctx, sdk.StatusRequest{Target: sdk.Target{Service: "api", Environment: "staging"}})
	must(err)
	if len(st.Services) != 1 || !slices.Equal(st.Services[0].Versions, []sdk.VersionStatus{{Version: "1.6.0", Weight: 100}}) {
		t.Errorf("staging status %+v", st.Services)
	}
}

func TestStatusFromACommand(t *testing.T) {
	ctx := context.Background()
	tg, dir := newTarget(t, map[string]string{
		"deploy": "true",
		"status": `cat <<EOF
{"services": [{"target": {"service": "$WARROOM_SERVICE"},
  "versions": [{"version": "1.5.0", "instances": 4, "ready": 3, "weight": 100, "colour": "blue"}],
  "healthy": false, "message": "3/4 ready"}],
 "applied_keys": ["from-script", "a1"]}
EOF`,
	})
	if err := tg.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "a1", Target: api, Version: "1.5.0"}, &sink{}); err != nil {
		t.Fatal(err)
	}
	if err := tg.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "a2", Target: api, Version: "1.5.0"}, &sink{}); err != nil {
		t.Fatal(err)
	}
	st, err := tg.Status(ctx, sdk.StatusRequest{Target: api})
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.ServiceStatus{Target: api, Healthy: false, Message: "3/4 ready",
		Versions: []sdk.VersionStatus{{Version: "1.5.0", Instances: 4, Ready: 3, Weight: 100, Colour: "blue"}}}
	if len(st.Services) != 1 || st.Services[0].Target != want.Target || st.Services[0].Message != want.Message ||
		!slices.Equal(st.Services[0].Versions, want.Versions) {
		t.Errorf("status %+v", st)
	}
	if !slices.Equal(st.AppliedKeys, []string{"from-script", "a1", "a2"}) {
		t.Errorf("applied keys %v", st.AppliedKeys)
	}

	for name, tt := range map[string]struct{ command, want string }{
		"not json":      {"echo nope", "not valid status JSON"},
		"unknown field": {`echo '{"services": [], "servces": []}'`, `unknown field "servces"`},
		"empty":         {"true", "printed nothing"},
		"no service":    {`echo '{"services": [{"target": {}}]}'`, "no target.service"},
		"two documents": {`echo '{} {}'`, "more than one"},
	} {
		t.Run(name, func(t *testing.T) {
			tg := configure(t, dir, map[string]string{"status": tt.command})
			_, err := tg.Status(ctx, sdk.StatusRequest{Target: api})
			wantCode(t, err, sdk.CodeInternal, tt.want)
			tg.journal.Close()
		})
	}
	t.Run("failing", func(t *testing.T) {
		tg := configure(t, dir, map[string]string{"status": "echo 'cluster unreachable' >&2; exit 1"})
		_, err := tg.Status(ctx, sdk.StatusRequest{Target: api})
		wantCode(t, err, sdk.CodeUnavailable, "cluster unreachable")
	})
}
