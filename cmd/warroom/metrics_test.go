package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// promtoolCheck runs 'promtool check metrics' (Debian package
// prometheus) on an exposition; without promtool the test is skipped,
// except in CI.
func promtoolCheck(t *testing.T, exposition string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if isCI() {
			t.Fatal("promtool not found: install Debian's prometheus package (scripts/setup)")
		}
		t.Skip("promtool not found: apt-get install prometheus to run this check")
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\nexposition:\n%s", err, out, exposition)
	}
}

// samples parses an exposition into series -> value.
func samples(t *testing.T, exposition string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(exposition, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsExpositionPassesPromtool(t *testing.T) {
	m := newWarroomMetrics()
	ctx := context.Background()
	m.pluginCall(ctx, "scripts", "deploy", time.Now().Add(-300*time.Millisecond), nil)
	m.pluginCall(ctx, "scripts", "verify", time.Now(), errors.New("exit status 1"))
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	m.pluginCall(canceled, "scripts", "deploy", time.Now(), context.Canceled)
	// An operator's rollback of a run first seen running.
	r := &deploy.Run{ID: "run-1", State: deploy.RunRunning, UpdatedAt: time.Now(),
		Steps: []deploy.Step{{Index: 1, State: deploy.StepDone}, {Index: 2, State: deploy.StepBaking}}}
	m.observe(r)
	r2 := r.Clone()
	r2.State, r2.Reason = deploy.RunRollingBack, "rollback requested by ana"
	r2.Steps[1].State = deploy.StepRollingBack
	m.observe(r2)
	j := countedJudge{j: judgeFunc(func() deploy.Verdict { return deploy.VerdictRollback }), m: m}
	if _, err := j.Judge(ctx, deploy.CanaryRequest{}); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	m.writePrometheus(&buf)
	got := samples(t, buf.String())
	for series, want := range map[string]float64{
		`warroom_plugin_call_duration_seconds_count{plugin="scripts",call="deploy"}`:            2,
		`warroom_plugin_call_duration_seconds_bucket{plugin="scripts",call="deploy",le="0.5"}`:  2,
		`warroom_plugin_call_duration_seconds_bucket{plugin="scripts",call="deploy",le="0.25"}`: 1,
		`warroom_plugin_call_failures_total{plugin="scripts",call="verify",fault="error"}`:      1,
		`warroom_plugin_call_failures_total{plugin="scripts",call="deploy",fault="canceled"}`:   1,
		`warroom_run_steps{run="run-1",state="done"}`:                                           1,
		`warroom_run_steps{run="run-1",state="rolling-back"}`:                                   1,
		`warroom_run_steps{run="run-1",state="baking"}`:                                         0,
		`warroom_step_transitions_total{state="rolling-back"}`:                                  1,
		`warroom_step_transitions_total{state="done"}`:                                          0, // first sight is no transition
		`warroom_rollbacks_total{cause="operator"}`:                                             1,
		`warroom_rollbacks_total{cause="automatic"}`:                                            0,
		`warroom_canary_judgements_total{verdict="rollback"}`:                                   1,
		`warroom_canary_judgements_total{verdict="promote"}`:                                    0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	if lag, ok := got["warroom_engine_lag_seconds"]; !ok || lag < 0 || lag > 5 {
		t.Errorf("warroom_engine_lag_seconds = %v (present %v)", lag, ok)
	}
	promtoolCheck(t, buf.String())
}

type judgeFunc func() deploy.Verdict

func (f judgeFunc) Judge(context.Context, deploy.CanaryRequest) (deploy.Judgement, error) {
	return deploy.Judgement{Verdict: f()}, nil
}

func TestMetricsAddrIsCheckedAsAUsageError(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct{ flag, env string }{
		{flag: "localhost"},
		{flag: "127.0.0.1:http-ish"},
		{flag: ":70000"},
		{env: "nonsense"},
	} {
		args := []string{"serve"}
		if tc.flag != "" {
			args = append([]string{"--metrics-addr", tc.flag}, args...)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb, func(k string) string {
			switch k {
			case "WARROOM_DB":
				return c.db
			case "WARROOM_METRICS_ADDR":
				return tc.env
			}
			return ""
		})
		if code != exitUsage || !strings.Contains(errb.String(), "--metrics-addr") {
			t.Errorf("%+v: exit %d, stderr %q; want a usage error about --metrics-addr", tc, code, errb.String())
		}
	}
	if got, err := parseMetricsAddr(":9464"); err != nil || got != "127.0.0.1:9464" {
		t.Errorf(":9464 -> %q, %v", got, err)
	}
}

// metricsServe runs 'warroom serve --metrics-addr 127.0.0.1:0' on the
// world's database and returns the metrics URL and a stop that ends it
// (SIGTERM) and returns its output.
func metricsServe(t *testing.T, w *deployWorld) (url string, stop func() string) {
	t.Helper()
	serve := exec.Command(warroomBin, "--db", w.c.db, "--plugins", w.plugins, "--metrics-addr", "127.0.0.1:0", "serve", "--poll", "200ms")
	var (
		mu  sync.Mutex
		out strings.Builder
	)
	serve.Stdout = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill() })
	addrs := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		re := regexp.MustCompile(`metrics: serving (http://\S+/metrics)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1]
			}
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	select {
	case url = <-addrs:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed no metrics address in 30s\n%s", output())
	}
	return url, func() string {
		_ = serve.Process.Signal(syscall.SIGTERM)
		<-done
		if err := serve.Wait(); err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", err, output())
		}
		return output()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	return string(b)
}

// waitRun waits for a run to end.
func waitRun(t *testing.T, w *deployWorld, id string) deploy.Run {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var cur deploy.Run
		w.c.json(&cur, "deploy", "status", id)
		if cur.State.Terminal() {
			return cur
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not end in 60s (state %s)", id, cur.State)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
}

func TestServeExposesMetricsOfTheRunsItDrives(t *testing.T) {
	w := newDeployWorld(t, "2.0.0")
	url, stop := metricsServe(t, w)
	var run deploy.Run
	w.c.json(&run, "--plugins", w.plugins, "deploy", "start", "train", "--env", "dev", "--ignore-low-traffic")
	if end := waitRun(t, w, run.ID); end.State != deploy.RunSucceeded {
		t.Fatalf("run %s: %s", end.State, end.Reason)
	}
	// The engine's last commit precedes the state the status shows; the
	// metrics are taken in the same goroutine right after it.
	var exposition string
	var got map[string]float64
	for deadline := time.Now().Add(5 * time.Second); ; {
		exposition = scrape(t, url)
		got = samples(t, exposition)
		if got[`warroom_run_steps{run="`+run.ID+`",state="done"}`] == float64(len(run.Steps)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
	if v := got[`warroom_run_steps{run="`+run.ID+`",state="done"}`]; v != float64(len(run.Steps)) || v == 0 {
		t.Errorf("run steps done = %v, want %d\n%s", v, len(run.Steps), exposition)
	}
	if v := got[`warroom_step_transitions_total{state="done"}`]; v < float64(len(run.Steps)) {
		t.Errorf("transitions to done = %v, want >= %d", v, len(run.Steps))
	}
	if v := got[`warroom_plugin_call_duration_seconds_count{plugin="scripts",call="deploy"}`]; v < 2 {
		t.Errorf("deploy calls of the scripts plugin = %v, want >= 2 (ledger, checkout)\n%s", v, exposition)
	}
	if v := got[`warroom_plugin_call_duration_seconds_sum{plugin="scripts",call="deploy"}`]; v <= 0 || v > 60 {
		t.Errorf("deploy call seconds = %v", v)
	}
	if v := got[`warroom_rollbacks_total{cause="automatic"}`] + got[`warroom_rollbacks_total{cause="operator"}`]; v != 0 {
		t.Errorf("rollbacks = %v in a good run", v)
	}
	if v, ok := got["warroom_engine_lag_seconds"]; !ok || v <= 0 || v > 5 {
		t.Errorf("engine lag = %v (present %v)", v, ok)
	}
	promtoolCheck(t, exposition)

	stop()
	if _, err := http.Get(url); err == nil {
		t.Errorf("metrics still served after serve ended")
	}
}

func TestServeMetricsCountAnAutomaticRollback(t *testing.T) {
	w := newDeployWorld(t, "6.6.6")
	url, stop := metricsServe(t, w)
	defer stop()
	var run deploy.Run
	w.c.json(&run, "--plugins", w.plugins, "deploy", "start", "train", "--env", "dev", "--ignore-low-traffic")
	if end := waitRun(t, w, run.ID); end.State != deploy.RunRolledBack {
		t.Fatalf("run %s: %s", end.State, end.Reason)
	}
	var got map[string]float64
	for deadline := time.Now().Add(5 * time.Second); ; {
		got = samples(t, scrape(t, url))
		if got[`warroom_run_steps{run="`+run.ID+`",state="rolled-back"}`] > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
	if v := got[`warroom_rollbacks_total{cause="automatic"}`]; v != 1 {
		t.Errorf("automatic rollbacks = %v, want 1", v)
	}
	if v := got[`warroom_step_transitions_total{state="rolled-back"}`]; v < 1 {
		t.Errorf("transitions to rolled-back = %v", v)
	}
	if v := got[`warroom_plugin_call_duration_seconds_count{plugin="scripts",call="rollback"}`]; v < 1 {
		t.Errorf("rollback calls = %v", v)
	}
}
