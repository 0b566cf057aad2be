package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/warroom/warroom/plugins/conformance"
	"github.com/warroom/warroom/plugins/sdk"
)

// demoBin and pluginBin are built once in TestMain.
var demoBin, pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scrape-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	demoBin = filepath.Join(dir, "demo-service")
	pluginBin = filepath.Join(dir, "scrape")
	for _, b := range []struct{ out, pkg string }{{demoBin, "../../cmd/demo-service"}, {pluginBin, "."}} {
		if out, err := exec.Command("go", "build", "-o", b.out, b.pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// demo runs a demo-service and returns its base URL. Its profile is
// perfect (no base errors, no latency of its own) unless args say
// otherwise, so that counts are exact.
func demo(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(demoBin, append([]string{"--base-error-rate", "0", "--median-latency", "0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("demo-service said %q: %v", line, err)
	}
	return addr
}

func drive(t *testing.T, url string, n int) {
	t.Helper()
	for range n {
		resp, err := http.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

func last(t *testing.T, s *source, metric string, labels map[string]string) float64 {
	t.Helper()
	series, err := s.Query(context.Background(), sdk.QueryRequest{Metric: metric, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Points) == 0 {
		t.Fatalf("%s%v: %+v", metric, labels, series)
	}
	return series[0].Points[len(series[0].Points)-1].V
}

func TestScrapesTheDemoService(t *testing.T) {
	base := demo(t, "--service", "payments", "--version", "3.1.0")
	canary := demo(t, "--service", "payments", "--version", "3.2.0", "--error-rate", "1", "--latency", "100ms")
	drive(t, base, 40)
	drive(t, canary, 20)

	s := newSource()
	err := s.Configure(context.Background(), sdk.Config{Settings: map[string]string{
		"targets":        "baseline=" + base + "/metrics, canary=" + canary + "/metrics",
		"interval":       "1h",
		"slow_threshold": "50ms",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.cancel()
	s.scrapeOnce(context.Background())

	b := map[string]string{"service": "payments", "cohort": "baseline", "version": "3.1.0"}
	c := map[string]string{"service": "payments", "cohort": "canary", "version": "3.2.0"}
	for _, w := range []struct {
		labels map[string]string
		metric string
		want   float64
	}{
		{b, "requests", 40}, {b, "errors", 0}, {b, "slow_requests", 0},
		{c, "requests", 20}, {c, "errors", 20}, {c, "slow_requests", 20},
	} {
		if got := last(t, s, w.metric, w.labels); got != w.want {
			t.Errorf("%s %s = %v, want %v", w.labels["cohort"], w.metric, got, w.want)
		}
	}
	// The latency fault adds 100ms: the canary's requests are all in
	// the bucket (0.1, 0.112] or, on a busy machine, just above.
	if p := last(t, s, "latency_p50", c); p < 0.1 || p > 0.14 {
		t.Errorf("canary p50 = %v, want about 0.1", p)
	}
	if p := last(t, s, "latency_p99", c); p < 0.1 || p > 0.15 {
		t.Errorf("canary p99 = %v, want about 0.11", p)
	}
	// The histogram itself, in Prometheus' le form per cohort: every
	// bucket of the demo service's layout, ascending, cumulative.
	for _, w := range []struct {
		labels map[string]string
		n      float64
	}{{b, 40}, {c, 20}} {
		series, err := s.Query(context.Background(), sdk.QueryRequest{Metric: "latency_bucket", Labels: w.labels})
		if err != nil {
			t.Fatal(err)
		}
		if len(series) != 82 {
			t.Fatalf("%s: %d latency_bucket series, want 82 (81 bounds and +Inf)", w.labels["cohort"], len(series))
		}
		prevLE, prevN := 0.0, 0.0
		for _, sr := range series {
			le, err := strconv.ParseFloat(sr.Labels["le"], 64)
			n := sr.Points[len(sr.Points)-1].V
			if err != nil || le <= prevLE || n < prevN || sr.Labels["cohort"] != w.labels["cohort"] {
				t.Fatalf("%s: bucket le=%q holds %v after le=%v holding %v", w.labels["cohort"], sr.Labels["le"], n, prevLE, prevN)
			}
			prevLE, prevN = le, n
			if le <= 0.1 && w.labels["cohort"] == "canary" && n != 0 {
				t.Errorf("canary: %v requests at most %vs, under the 100ms fault", n, le)
			}
		}
		if prevLE != math.Inf(1) || prevN != w.n {
			t.Errorf("%s: last bucket le=%v holds %v, want +Inf and %v", w.labels["cohort"], prevLE, prevN, w.n)
		}
	}
	if p := last(t, s, "latency_p99", b); p > 0.05 {
		t.Errorf("baseline p99 = %v, want fast", p)
	}

	// More traffic: counters and rates follow, filters by version work.
	drive(t, canary, 8)
	time.Sleep(10 * time.Millisecond)
	s.scrapeOnce(context.Background())
	if got := last(t, s, "requests", map[string]string{"version": "3.2.0"}); got != 28 {
		t.Errorf("canary requests after 8 more = %v", got)
	}
	if got := last(t, s, "errors", map[string]string{"version": "3.2.0"}); got != 28 {
		t.Errorf("canary errors after 8 more = %v", got)
	}
	if r := last(t, s, "requests_per_second", c); r <= 0 {
		t.Errorf("canary rate = %v", r)
	}
	if series, _ := s.Query(context.Background(), sdk.QueryRequest{Metric: "requests", Labels: map[string]string{"service": "cart"}}); len(series) != 0 {
		t.Errorf("a filter on another service found %+v", series)
	}
	if _, err := s.Query(context.Background(), sdk.QueryRequest{Metric: "nope"}); sdk.CodeOf(err) != sdk.CodeInvalid {
		t.Errorf("unknown metric: %v", err)
	}
}

func TestCounterResetsAndTargetsFile(t *testing.T) {
	var mu sync.Mutex
	body := "requests_total{service=\"a\",version=\"1\",code=\"200\"} 10\n"
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprint(w, body)
	})}
	ln, err := newListener()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	state := t.TempDir()
	s := newSource()
	if err := s.Configure(context.Background(), sdk.Config{StateDir: state, Settings: map[string]string{"targets_file": "targets.json", "interval": "1h"}}); err != nil {
		t.Fatal(err)
	}
	defer s.cancel()
	s.scrapeOnce(context.Background()) // no file yet: nothing
	if series, _ := s.Query(context.Background(), sdk.QueryRequest{Metric: "requests"}); len(series) != 0 {
		t.Fatalf("without targets: %+v", series)
	}
	os.WriteFile(filepath.Join(state, "targets.json"), []byte(`{"canary": ["http://`+ln.Addr().String()+`/metrics"]}`), 0o644)
	s.scrapeOnce(context.Background())
	lbl := map[string]string{"cohort": "canary"}
	if got := last(t, s, "requests", lbl); got != 10 {
		t.Errorf("requests = %v", got)
	}
	mu.Lock()
	body = "requests_total{service=\"a\",version=\"1\",code=\"200\"} 3\n" // restarted
	mu.Unlock()
	s.scrapeOnce(context.Background())
	if got := last(t, s, "requests", lbl); got != 13 {
		t.Errorf("requests after a restart of the target = %v, want 13", got)
	}
}

func TestConfigure(t *testing.T) {
	for _, c := range []struct {
		settings map[string]string
		bad      string
	}{
		{map[string]string{"nope": "1"}, `unknown setting "nope"`},
		{map[string]string{"targets": "a"}, "setting targets"},
		{map[string]string{"targets": "a=ftp://x"}, "setting targets"},
		{map[string]string{"interval": "0s"}, "setting interval"},
		{map[string]string{"timeout": "soon"}, "setting timeout"},
		{map[string]string{"targets": "a=http://127.0.0.1:1/metrics,b#2=http://127.0.0.1:2/metrics"}, ""},
		{map[string]string{}, ""},
	} {
		s := newSource()
		err := s.Configure(context.Background(), sdk.Config{Settings: c.settings})
		if s.cancel != nil {
			s.cancel()
		}
		if c.bad == "" {
			if err != nil {
				t.Errorf("%v: %v", c.settings, err)
			}
			continue
		}
		if err == nil || sdk.CodeOf(err) != sdk.CodeInvalid || !strings.Contains(err.Error(), c.bad) {
			t.Errorf("%v: %v, want CodeInvalid %q", c.settings, err, c.bad)
		}
	}
	if (target{Name: "baseline#2"}).cohort() != "baseline" {
		t.Error("an instance suffix is part of the cohort")
	}
}

// collector is a SampleWriter.
type collector struct {
	mu      sync.Mutex
	series  map[sdk.SeriesID]sdk.SeriesDef
	samples []sdk.Sample
	got     chan struct{}
}

func (c *collector) Series(metric string, labels map[string]string) sdk.SeriesID {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := sdk.SeriesID(len(c.series) + 1)
	c.series[id] = sdk.SeriesDef{ID: id, Metric: metric, Labels: labels}
	return id
}

func (c *collector) Write(id sdk.SeriesID, t int64, v float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	def := c.series[id]
	c.samples = append(c.samples, sdk.Sample{Series: &def, T: t, V: v})
	if def.Metric == "requests" && def.Labels["cohort"] == "canary" && v >= 10 {
		select {
		case c.got <- struct{}{}:
		default:
		}
	}
	return nil
}

func (c *collector) Flush() error { return nil }

// TestWatchThroughThePluginBinary launches the built plugin as warroom
// does (go-plugin, gRPC, mTLS) and watches it scrape a demo service.
func TestWatchThroughThePluginBinary(t *testing.T) {
	canary := demo(t, "--service", "payments", "--version", "3.2.0", "--error-rate", "1")
	drive(t, canary, 10)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginSet(),
		Cmd:              exec.Command(pluginBin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	conn := raw.(*sdk.Conn)
	ctx := context.Background()
	if err := conn.Configure(ctx, sdk.Config{StateDir: t.TempDir(), Settings: map[string]string{
		"targets": "canary=" + canary + "/metrics", "interval": "100ms",
	}}); err != nil {
		t.Fatal(err)
	}
	ms := conn.MonitoringSource()
	caps, err := ms.Describe(ctx)
	if err != nil || !caps.Watch || caps.Alerts || caps.Logs || len(caps.Metrics) != len(descriptors) {
		t.Fatalf("describe %+v %v", caps, err)
	}
	if _, err := ms.Logs(ctx, sdk.LogsRequest{}); sdk.CodeOf(err) != sdk.CodeUnimplemented {
		t.Errorf("logs: %v", err)
	}
	if a, err := ms.Alerts(ctx, sdk.AlertsRequest{}); err != nil || len(a) != 0 {
		t.Errorf("alerts %v %v", a, err)
	}

	wctx, cancel := context.WithCancel(ctx)
	c := &collector{series: map[sdk.SeriesID]sdk.SeriesDef{}, got: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- ms.Watch(wctx, sdk.WatchRequest{Metrics: []string{"requests", "errors"}, Labels: map[string]string{"cohort": "canary"}}, c)
	}()
	select {
	case <-c.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no canary requests sample within 10s")
	}
	drive(t, canary, 4)
	time.Sleep(500 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ended with %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var maxReq, maxErr float64
	for _, s := range c.samples {
		switch s.Series.Metric {
		case "requests":
			maxReq = max(maxReq, s.V)
		case "errors":
			maxErr = max(maxErr, s.V)
		default:
			t.Errorf("a sample of %s, not asked for", s.Series.Metric)
		}
		if s.Series.Labels["version"] != "3.2.0" || s.Series.Labels["service"] != "payments" {
			t.Errorf("labels %v", s.Series.Labels)
		}
	}
	if maxReq != 14 || maxErr != 14 {
		t.Errorf("watched requests %v errors %v, want 14 and 14", maxReq, maxErr)
	}
	if len(c.series) != 2 {
		t.Errorf("%d series declared, want 2: %v", len(c.series), c.series)
	}
}

func TestConformance(t *testing.T) {
	base := demo(t, "--service", "payments", "--version", "3.1.0")
	drive(t, base, 5)
	conformance.RunT(t, pluginBin, map[string]string{"targets": "baseline=" + base + "/metrics"})
}
