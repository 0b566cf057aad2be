package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// The binaries, built once: bin/demo-service and bin/plugins/localfleet,
// laid out as `make build` lays them out.
var (
	demoBin   string
	pluginBin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localfleet-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	demoBin = filepath.Join(dir, "bin", "demo-service")
	// Perfect instances (no base errors, no latency of their own), so
	// that the tests count answers exactly; the fleet passes these on.
	os.Setenv("DEMO_BASE_ERROR_RATE", "0")
	os.Setenv("DEMO_MEDIAN_LATENCY", "0")
	pluginBin = filepath.Join(dir, "bin", "plugins", "localfleet")
	build := func(out, pkg string) {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, b)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); build(demoBin, "github.com/warroom/warroom/cmd/demo-service") }()
	go func() { defer wg.Done(); build(pluginBin, ".") }()
	wg.Wait()
	code := m.Run()
	// Nothing the tests started may outlive them: a supervisor whose
	// state dir was removed (the conformance suite's sandbox) ends within
	// a second or two; anything left after that is a bug.
	if left := waitNoneRunning([]string{pluginBin, demoBin}, 15*time.Second); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: processes left running after the tests: %v\n", left)
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitNoneRunning waits until no process runs one of the binaries and
// returns the pids of those still running at the deadline.
func waitNoneRunning(bins []string, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		var left []int
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
			if err == nil && slices.Contains(bins, exe) && !gone(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- helpers ----

var payments = sdk.Target{Service: "payments", Environment: "prod", Region: "eu-west"}

// testTarget configures a target on a fresh state dir with the demo
// service built for the tests and no traffic generator (tests count
// requests exactly). Its cleanup stops the fleet and checks that no
// process of it is left.
func testTarget(t *testing.T, settings map[string]string) (*target, string) {
	t.Helper()
	dir := t.TempDir()
	return configureAt(t, dir, settings), dir
}

func configureAt(t *testing.T, dir string, settings map[string]string) *target {
	t.Helper()
	s := map[string]string{"service_binary": demoBin, "traffic_rps": "0"}
	for k, v := range settings {
		s[k] = v
	}
	tg := newTarget(nil)
	if err := tg.Configure(context.Background(), sdk.Config{Settings: s, StateDir: dir}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { closeAndCheck(t, tg) })
	return tg
}

// closeAndCheck stops the fleet and checks that every process it ran is
// gone.
func closeAndCheck(t *testing.T, tg *target) {
	t.Helper()
	pids := fleetPids(tg)
	tg.Close()
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("demo-service pid %d still runs after the fleet stopped", pid)
		}
	}
}

// fleetPids returns the pid of every process of the fleet.
func fleetPids(tg *target) []int {
	tg.mu.Lock()
	f := tg.fleet
	tg.mu.Unlock()
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var pids []int
	for _, g := range f.groups {
		for _, in := range g.snapshot() {
			pids = append(pids, in.pid)
		}
	}
	return pids
}

// gone reports whether a process no longer exists; a zombie counts as
// gone (it runs nothing and waits only for its reaper).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
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

func (s *sink) messages() string {
	var b strings.Builder
	for _, e := range s.all() {
		fmt.Fprintf(&b, "[%s %d%%] %s\n", e.Phase, e.Percent, e.Message)
	}
	return b.String()
}

type deployOpt func(*sdk.DeployRequest)

func deploy(t *testing.T, tg *target, key, version, from, strategy string, opts ...deployOpt) (*sink, error) {
	t.Helper()
	req := sdk.DeployRequest{
		IdempotencyKey: key, Target: payments, Version: version, FromVersion: from,
		Strategy: strategy, Instances: 2, BatchSize: 1, ServiceKind: "stateless",
	}
	for _, o := range opts {
		o(&req)
	}
	s := &sink{}
	err := tg.Deploy(context.Background(), req, s)
	return s, err
}

func mustDeploy(t *testing.T, tg *target, key, version, from, strategy string, opts ...deployOpt) *sink {
	t.Helper()
	s, err := deploy(t, tg, key, version, from, strategy, opts...)
	if err != nil {
		t.Fatalf("deploy %s %s: %v\nevents:\n%s", strategy, version, err, s.messages())
	}
	return s
}

func setTraffic(t *testing.T, tg *target, key string, w ...sdk.TrafficWeight) []sdk.TrafficWeight {
	t.Helper()
	got, err := tg.SetTraffic(context.Background(), sdk.SetTrafficRequest{IdempotencyKey: key, Target: payments, Weights: w})
	if err != nil {
		t.Fatalf("SetTraffic %v: %v", w, err)
	}
	return got
}

func status(t *testing.T, tg *target) (sdk.ServiceStatus, sdk.Status) {
	t.Helper()
	st, err := tg.Status(context.Background(), sdk.StatusRequest{Target: payments})
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

func versionOf(s sdk.ServiceStatus, v string) sdk.VersionStatus {
	for _, vs := range s.Versions {
		if vs.Version == v {
			return vs
		}
	}
	return sdk.VersionStatus{}
}

// proxyURL is the target's proxy, as endpoints.json says.
func proxyURL(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, endpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("endpoints.json: %v: %s", err, b)
	}
	u := m["payments/prod/eu-west"]
	if u == "" {
		t.Fatalf("endpoints.json has no payments/prod/eu-west: %s", b)
	}
	return u
}

var client = &http.Client{Timeout: 10 * time.Second}

// hit sends n requests to the proxy and counts the versions that
// answered / (and the non-200 answers as "code N").
func hit(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		v, code := get(t, url)
		if code != 200 {
			counts[fmt.Sprintf("code %d", code)]++
			continue
		}
		counts[v]++
	}
	return counts
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := client.Get(url + "/")
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		Version string `json:"version"`
	}
	json.Unmarshal(b, &body)
	return body.Version, resp.StatusCode
}
