package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the demo-service built once for the tests that need a real
// process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "demo-service-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "demo-service")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build demo-service: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRootReportsServiceVersionInstance(t *testing.T) {
	s := newServer("payments", "3.1.0", 2, faults{}, nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	code, body := get(t, ts.URL+"/")
	if code != 200 {
		t.Fatalf("GET / = %d %s", code, body)
	}
	var got struct {
		Service  string `json:"service"`
		Version  string `json:"version"`
		Instance int    `json:"instance"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Service != "payments" || got.Version != "3.1.0" || got.Instance != 2 {
		t.Errorf("GET / = %+v", got)
	}
	if code, _ := get(t, ts.URL+"/healthz"); code != 200 {
		t.Errorf("healthz = %d, want 200", code)
	}
	if code, body := get(t, ts.URL+"/work?ms=5"); code != 200 || !strings.Contains(body, `"worked_ms":5`) {
		t.Errorf("work = %d %s", code, body)
	}
	if code, _ := get(t, ts.URL+"/work?ms=x"); code != 400 {
		t.Errorf("work?ms=x = %d, want 400", code)
	}
	if code, _ := get(t, ts.URL+"/nope"); code != 404 {
		t.Errorf("/nope = %d, want 404", code)
	}
}

// Injected errors are drawn at random for each request: over many
// requests their count is binomial, not every 1/R-th request. The seed
// fixes the sequence, so the test is deterministic; the bound (4.5
// standard deviations) is what any seed should meet.
func TestErrorRateIsRandomAtTheRate(t *testing.T) {
	for _, rate := range []float64{0, 0.05, 0.3, 1} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			s := newServer("payments", "3.2.0", 1, faults{ErrorRate: rate}, nil).withProfile(profile{}, 7)
			const n = 20000
			errs := 0
			for range n {
				if _, fail := s.draw(); fail {
					errs++
				}
			}
			sd := math.Sqrt(n * rate * (1 - rate))
			if d := math.Abs(float64(errs) - n*rate); d > 4.5*sd+1e-9 {
				t.Errorf("%d errors in %d draws at rate %v: %.1f standard deviations off", errs, n, rate, d/sd)
			}
			if rate > 0 && rate < 1 && periodic(s, rate) {
				t.Errorf("errors at rate %v come at a fixed period", rate)
			}
		})
	}
	// Through HTTP: errors are answered 500, health checks never fail.
	s := newServer("payments", "3.2.0", 1, faults{ErrorRate: 1}, nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if code, _ := get(t, ts.URL+"/"); code != 500 {
		t.Errorf("GET / at error rate 1 = %d", code)
	}
	for range 20 {
		if code, _ := get(t, ts.URL+"/healthz"); code != 200 {
			t.Fatalf("healthz = %d under an error-rate fault", code)
		}
	}
}

// periodic reports whether the gaps between errors are all equal, as
// the former every-1/R-th spreading made them.
func periodic(s *server, rate float64) bool {
	gaps := map[int]bool{}
	last := 0
	for i := 1; i <= int(50/rate); i++ {
		if _, fail := s.draw(); fail {
			gaps[i-last] = true
			last = i
		}
	}
	return len(gaps) <= 1
}

// The profile's latency is log-normal around its median: the logarithms
// of many draws pass a Kolmogorov-Smirnov test against the normal
// distribution N(ln median, sigma^2) (fixed seed: deterministic; the
// critical value is the 1 % one, 1.63/sqrt(n)), and a latency fault adds
// exactly its duration.
func TestLatencyIsLogNormalPlusTheFault(t *testing.T) {
	p := profile{BaseErrorRate: 0.003, MedianLatency: 30 * time.Millisecond, LatencySigma: 0.5}
	for _, fault := range []time.Duration{0, 100 * time.Millisecond} {
		s := newServer("payments", "3.2.0", 1, faults{Latency: fault}, nil).withProfile(p, 42)
		const n = 5000
		logs := make([]float64, n)
		errs := 0
		for i := range logs {
			d, fail := s.draw()
			if fail {
				errs++
			}
			own := d - fault
			if own <= 0 {
				t.Fatalf("draw %d: %v with a %v fault leaves no latency of its own", i, d, fault)
			}
			logs[i] = math.Log(float64(own) / float64(time.Millisecond))
		}
		sort.Float64s(logs)
		mu, sigma := math.Log(30), 0.5
		var ks float64
		for i, x := range logs {
			f := 0.5 * math.Erfc(-(x-mu)/(sigma*math.Sqrt2))
			ks = max(ks, math.Abs(f-float64(i)/n), math.Abs(float64(i+1)/n-f))
		}
		if crit := 1.63 / math.Sqrt(n); ks > crit {
			t.Errorf("fault %v: KS distance %.4f of log latency from N(ln 30ms, 0.5^2) > %.4f", fault, ks, crit)
		}
		// Base errors: binomial around 0.3 %.
		if sd := math.Sqrt(n * 0.003 * 0.997); math.Abs(float64(errs)-n*0.003) > 4.5*sd {
			t.Errorf("%d base errors in %d draws at 0.3 %%", errs, n)
		}
	}
}

// One seed, one sequence: the draws a test relies on repeat.
func TestSeedRepeatsTheDraws(t *testing.T) {
	p := profile{BaseErrorRate: 0.2, MedianLatency: 30 * time.Millisecond, LatencySigma: 0.5}
	a := newServer("payments", "3.2.0", 1, faults{}, nil).withProfile(p, 9)
	b := newServer("payments", "3.2.0", 1, faults{}, nil).withProfile(p, 9)
	for i := range 100 {
		da, fa := a.draw()
		db, fb := b.draw()
		if da != db || fa != fb {
			t.Fatalf("draw %d: %v %v vs %v %v with one seed", i, da, fa, db, fb)
		}
	}
}

// Every service has its base error rate, between 0.1 % and 0.5 %, the
// same for all its versions; services differ.
func TestBaseErrorRatePerService(t *testing.T) {
	seen := map[float64]bool{}
	for _, svc := range []string{"checkout", "payments", "cart", "fraud", "refunds", "catalog"} {
		r := serviceBaseErrorRate(svc)
		if r < 0.001 || r >= 0.005 {
			t.Errorf("%s: base error rate %v outside [0.1 %%, 0.5 %%)", svc, r)
		}
		if r != serviceBaseErrorRate(svc) {
			t.Errorf("%s: base error rate not stable", svc)
		}
		seen[r] = true
	}
	if len(seen) < 6 {
		t.Errorf("services share base error rates: %v", seen)
	}
	o, err := parseOptions([]string{"--service", "checkout"}, func(string) string { return "" }, io.Discard)
	if err != nil || o.profile.BaseErrorRate != serviceBaseErrorRate("checkout") ||
		o.profile.MedianLatency != 30*time.Millisecond || o.profile.LatencySigma != 0.5 {
		t.Errorf("default profile %+v (%v)", o.profile, err)
	}
	o, err = parseOptions([]string{"--base-error-rate", "0", "--median-latency", "0", "--latency-sigma", "0", "--seed", "3"}, func(string) string { return "" }, io.Discard)
	if err != nil || o.profile != (profile{}) || o.seed != 3 {
		t.Errorf("explicit profile %+v seed %d (%v)", o.profile, o.seed, err)
	}
}

func TestLatencyIsAdded(t *testing.T) {
	s := newServer("payments", "3.2.0", 1, faults{Latency: 50 * time.Millisecond}, nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for range 5 {
		start := time.Now()
		get(t, ts.URL+"/")
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("request took %v, want at least the fault's 50ms", d)
		}
	}
	start := time.Now()
	get(t, ts.URL+"/healthz")
	if d := time.Since(start); d > 40*time.Millisecond {
		t.Errorf("healthz took %v: the latency fault must not slow health checks", d)
	}
}

func TestSlowStart(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newServer("payments", "3.2.0", 1, faults{SlowStart: 5 * time.Second}, clock)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if code, _ := get(t, ts.URL+"/healthz"); code != 503 {
		t.Errorf("healthz during slow start = %d, want 503", code)
	}
	if code, _ := get(t, ts.URL+"/"); code != 503 {
		t.Errorf("/ during slow start = %d, want 503", code)
	}
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	if code, _ := get(t, ts.URL+"/healthz"); code != 200 {
		t.Errorf("healthz after slow start = %d, want 200", code)
	}
}

func TestMetricsExposed(t *testing.T) {
	s := newServer("payments", "3.2.0", 1, faults{}, nil)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for range 5 {
		get(t, ts.URL+"/")
	}
	s.faults.ErrorRate = 1
	for range 5 {
		get(t, ts.URL+"/")
	}
	get(t, ts.URL+"/healthz") // not counted
	code, body := get(t, ts.URL+"/metrics")
	if code != 200 {
		t.Fatalf("metrics = %d", code)
	}
	for _, want := range []string{
		`requests_total{service="payments",version="3.2.0",code="200"} 5`,
		`requests_total{service="payments",version="3.2.0",code="500"} 5`,
		// Fixed le buckets, every one exposed even when empty.
		`request_duration_seconds_bucket{service="payments",version="3.2.0",le="0.001"} `,
		`request_duration_seconds_bucket{service="payments",version="3.2.0",le="0.0112"} `,
		`request_duration_seconds_bucket{service="payments",version="3.2.0",le="10"} 10`,
		`request_duration_seconds_bucket{service="payments",version="3.2.0",le="+Inf"} 10`,
		`request_duration_seconds_count{service="payments",version="3.2.0"} 10`,
		`request_duration_seconds_sum{service="payments",version="3.2.0"} `,
		"process_resident_memory_bytes ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "/healthz") {
		t.Error("metrics count /healthz")
	}
}

func TestOptionsFromFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"DEMO_SERVICE": "cart", "DEMO_ERROR_RATE": "0.25", "DEMO_LATENCY": "10ms", "DEMO_VERSION": "1.0.0"}
	o, err := parseOptions([]string{"--version", "2.0.0", "--crash-after", "3"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.service != "cart" || o.version != "2.0.0" || o.faults.ErrorRate != 0.25 || o.faults.Latency != 10*time.Millisecond || o.faults.CrashAfter != 3 {
		t.Errorf("options = %+v", o)
	}
	for _, args := range [][]string{{"--error-rate", "1.5"}, {"--latency", "-1s"}, {"--crash-after", "-1"}, {"extra"}} {
		if _, err := parseOptions(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := parseOptions(nil, func(k string) string {
		if k == "DEMO_SLOW_START" {
			return "soon"
		}
		return ""
	}, io.Discard); err == nil || !strings.Contains(err.Error(), "DEMO_SLOW_START") {
		t.Errorf("bad environment value: %v", err)
	}
}

// start runs the real binary and returns its address once it listens.
func start(t *testing.T, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Wait()
		t.Fatalf("no listening line: %v; stderr: %s", err, stderr.String())
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening http://")
	if !ok {
		t.Fatalf("first stdout line %q", line)
	}
	return cmd, addr, &stderr
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit")
	}
	return cmd.ProcessState.ExitCode()
}

func TestProcessCrashOnStart(t *testing.T) {
	cmd := exec.Command(binary, "--service", "payments", "--version", "3.2.0", "--crash-on-start")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "crash-on-start") {
		t.Errorf("crash-on-start: %v, exit %d, output %q", err, cmd.ProcessState.ExitCode(), out)
	}
	if strings.Contains(string(out), "listening") {
		t.Error("crash-on-start listened first")
	}
}

func TestProcessCrashAfter(t *testing.T) {
	cmd, addr, stderr := start(t, "--crash-after", "3")
	for i := range 3 {
		if code, _ := get(t, "http://"+addr+"/"); code != 200 {
			t.Errorf("request %d = %d", i+1, code)
		}
	}
	if code := exitCode(t, cmd); code != 1 {
		t.Errorf("exit %d after 3 requests, want 1; stderr %s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "crash-after") {
		t.Errorf("stderr %q does not say why", stderr)
	}
}

func TestProcessStopsGracefullyOnSIGTERM(t *testing.T) {
	cmd, addr, stderr := start(t, "--service", "payments", "--version", "3.1.0")
	if code, _ := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Fatalf("healthz = %d", code)
	}
	if rss := rssKB(cmd.Process.Pid); rss > 0 {
		t.Logf("RSS of an idle demo-service: %d kB", rss)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0; stderr %s", code, stderr)
	}
}

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb
		}
	}
	return 0
}
