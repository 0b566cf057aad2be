package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

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

// Recorded answer shapes (Prometheus 2.x / VictoriaMetrics 1.79).
const (
	matrixJSON = `{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"service":"payments","version":"3.2.0"},"values":[[1700000000,"10"],[1700000015,"12.5"],[1700000030,"NaN"]]},
 {"metric":{"__name__":"x","service":"payments","version":"3.1.0"},"values":[[1700000000.5,"1"]]}]}}`
	vectorJSON = `{"status":"success","data":{"resultType":"vector","result":[
 {"metric":{"service":"payments","version":"3.1.0"},"value":[1700000100.123,"0.25"]},
 {"metric":{"service":"payments","version":"3.2.0"},"value":[1700000100.123,"+Inf"]}]}}`
	errorJSON    = `{"status":"error","errorType":"bad_data","error":"1:10: parse error: unexpected \"}\""}`
	vmErrorJSON  = `{"status":"error","errorType":"422","error":"error when executing query=\"foo(\": cannot parse"}`
	amAlertsJSON = `[{"annotations":{"summary":"errors up"},"endsAt":"2999-01-01T00:00:00Z","fingerprint":"a1b2c3","receivers":[{"name":"null"}],"startsAt":"2024-05-01T10:00:00Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2024-05-01T10:00:00Z","labels":{"alertname":"HighErrorRate","service":"payments","severity":"critical"}},
 {"annotations":{},"endsAt":"2999-01-01T00:00:00Z","fingerprint":"d4e5f6","receivers":[{"name":"null"}],"startsAt":"2024-05-01T10:01:00Z","status":{"inhibitedBy":[],"silencedBy":["s1"],"state":"suppressed"},"updatedAt":"2024-05-01T10:00:00Z","labels":{"alertname":"Slow","service":"payments"}},
 {"annotations":{},"endsAt":"2001-01-01T00:00:00Z","fingerprint":"0000ff","receivers":[{"name":"null"}],"startsAt":"2000-05-01T10:01:00Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2024-05-01T10:00:00Z","labels":{"alertname":"Old","service":"payments"}}]`
)

// fakeAPI serves answer for every request and records the requests.
type fakeAPI struct {
	mu     sync.Mutex
	reqs   []*http.Request
	status int
	body   string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	status, body := f.status, f.body
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status == 0 {
		status = 200
	}
	w.WriteHeader(status)
	w.Write([]byte(body))
}

func (f *fakeAPI) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func configured(t *testing.T, settings map[string]string) *source {
	t.Helper()
	s := newSource()
	if err := s.Configure(context.Background(), sdk.Config{Settings: settings, StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	return s
}

func serve(t *testing.T, status int, body string) (*fakeAPI, string) {
	f := &fakeAPI{status: status, body: body}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func TestConfig(t *testing.T) {
	ctx := context.Background()
	s := newSource()
	wantCode(t, s.Configure(ctx, sdk.Config{Settings: map[string]string{"url": "http://x", "ulr": "y"}}), sdk.CodeInvalid, `unknown setting "ulr"`)
	wantCode(t, s.Configure(ctx, sdk.Config{}), sdk.CodeInvalid, "url is required")
	wantCode(t, s.Configure(ctx, sdk.Config{Settings: map[string]string{"url": "localhost:9090"}}), sdk.CodeInvalid, "setting url")
	wantCode(t, s.Configure(ctx, sdk.Config{Settings: map[string]string{"url": "http://x", "timeout": "soon"}}), sdk.CodeInvalid, "timeout")
	wantCode(t, s.Configure(ctx, sdk.Config{Settings: map[string]string{"url": "http://x", "window": "1 minute"}}), sdk.CodeInvalid, "window")
	wantCode(t, s.Configure(ctx, sdk.Config{Settings: map[string]string{"url": "http://x", "metrics": "bad={{.x"}}), sdk.CodeInvalid, "metric bad")
	wantCode(t, s.Configure(ctx, sdk.Config{Settings: map[string]string{"url": "http://x", "metrics": "novalue"}}), sdk.CodeInvalid, "NAME=TEMPLATE")
	wantCode(t, s.Configure(ctx, sdk.Config{Settings: map[string]string{"url": "http://x", "metrics_file": "nope.json"}}), sdk.CodeInvalid, "metrics_file")
	wantCode(t, s.Configure(ctx, sdk.Config{Settings: map[string]string{"url": "http://x", "only_configured": "true"}}), sdk.CodeInvalid, "no metrics")
	_, err := s.Query(ctx, sdk.QueryRequest{Metric: "requests"})
	wantCode(t, err, sdk.CodeFailedPrecondition)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.json"), []byte(`{"cpu": "sum(rate(cpu_seconds_total{job=\"{{.job}}\"}[{{.window}}]))", "requests": "sum(up)"}`), 0o644)
	if err := s.Configure(ctx, sdk.Config{StateDir: dir, Settings: map[string]string{
		"url": "http://127.0.0.1:1/", "metrics_file": "m.json", "metrics": "up=up{ {{- .matchers -}} }; mem = process_resident_memory_bytes",
	}}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := s.config()
	if cfg.url != "http://127.0.0.1:1" || cfg.timeout != 5*time.Second || cfg.step != 15*time.Second || cfg.interval != 5*time.Second {
		t.Errorf("defaults: %+v", cfg)
	}
	caps, err := s.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range caps.Metrics {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, ","); got != "cpu,error_ratio,errors,errors_per_second,latency_p50,latency_p99,mem,requests,requests_per_second,up" {
		t.Errorf("metrics %s", got)
	}
	if caps.Alerts || !caps.Watch || caps.Logs {
		t.Errorf("caps %+v", caps)
	}
	if q, _ := render(cfg.metrics["cpu"].tmpl, "1m", map[string]string{"job": `a"b`}); q != `sum(rate(cpu_seconds_total{job="a\"b"}[1m]))` {
		t.Errorf("cpu renders %s", q)
	}
	if q, _ := render(cfg.metrics["requests"].tmpl, "1m", nil); q != "sum(up)" {
		t.Errorf("file overrides default: %s", q)
	}
	_, err = render(cfg.metrics["up"].tmpl, "1m", map[string]string{"bad-name": "x"})
	wantCode(t, err, sdk.CodeInvalid, "bad-name")
}

func TestDefaultTemplatesRender(t *testing.T) {
	cfg, err := parseConfig(sdk.Config{Settings: map[string]string{"url": "http://x", "window": "30s"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		metric string
		labels map[string]string
		want   string
	}{
		{"requests", nil, `sum by (service, version) (increase(requests_total{}[30s]))`},
		{"requests", map[string]string{"version": "3.2.0", "service": "payments"}, `sum by (service, version) (increase(requests_total{service="payments",version="3.2.0"}[30s]))`},
		{"errors", nil, `sum by (service, version) (increase(requests_total{code=~"5.."}[30s]))`},
		{"errors", map[string]string{"service": "payments"}, `sum by (service, version) (increase(requests_total{code=~"5..",service="payments"}[30s]))`},
		{"latency_p99", map[string]string{"service": "payments"}, `histogram_quantile(0.99, sum by (service, version, vmrange, le) (rate(request_duration_seconds_bucket{service="payments"}[30s])))`},
	} {
		got, err := render(cfg.metrics[c.metric].tmpl, cfg.window, c.labels)
		if err != nil || got != c.want {
			t.Errorf("%s %v:\n got %s (%v)\nwant %s", c.metric, c.labels, got, err, c.want)
		}
	}
}

func TestQueryRange(t *testing.T) {
	f, u := serve(t, 200, matrixJSON)
	s := configured(t, map[string]string{"url": u + "/prom/"})
	end := time.Unix(1700000030, 0)
	series, err := s.Query(context.Background(), sdk.QueryRequest{
		Metric: "requests", Labels: map[string]string{"service": "payments"},
		Start: end.Add(-30 * time.Second), End: end,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.last()
	q := r.URL.Query()
	if r.URL.Path != "/prom/api/v1/query_range" || q.Get("start") != "1700000000.000" || q.Get("end") != "1700000030.000" || q.Get("step") != "15" ||
		q.Get("query") != `sum by (service, version) (increase(requests_total{service="payments"}[1m]))` {
		t.Errorf("request %s", r.URL)
	}
	if len(series) != 2 {
		t.Fatalf("series %+v", series)
	}
	a, b := series[0], series[1]
	if a.Metric != "requests" || a.Labels["version"] != "3.1.0" || len(a.Labels) != 2 || len(a.Points) != 1 || a.Points[0] != (sdk.Point{T: 1700000000500, V: 1}) {
		t.Errorf("first %+v", a)
	}
	if b.Labels["version"] != "3.2.0" || len(b.Points) != 2 || b.Points[1] != (sdk.Point{T: 1700000015000, V: 12.5}) {
		t.Errorf("second (NaN left out) %+v", b)
	}

	_, err = s.Query(context.Background(), sdk.QueryRequest{Metric: "requests", Step: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	q = f.last().URL.Query()
	if q.Get("step") != "1" || q.Get("query") != `sum by (service, version) (increase(requests_total{}[1m]))` {
		t.Errorf("request %s", f.last().URL)
	}
	_, err = s.Query(context.Background(), sdk.QueryRequest{Metric: "nope"})
	wantCode(t, err, sdk.CodeInvalid, `unknown metric "nope"`)
	_, err = s.Query(context.Background(), sdk.QueryRequest{Metric: "requests", Start: end, End: end.Add(-time.Second)})
	wantCode(t, err, sdk.CodeInvalid)
}

func TestAPIErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		status int
		body   string
		code   sdk.Code
		msg    string
	}{
		{400, errorJSON, sdk.CodeInvalid, `bad_data: 1:10: parse error`},
		{422, vmErrorJSON, sdk.CodeInvalid, `422: error when executing`},
		{503, `{"status":"error","errorType":"timeout","error":"query timed out"}`, sdk.CodeUnavailable, "timeout: query timed out"},
		{500, `{"status":"error","errorType":"execution","error":"boom"}`, sdk.CodeInternal, "execution: boom"},
		{502, `<html>bad gateway</html>`, sdk.CodeUnavailable, "HTTP 502"},
		{200, `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`, sdk.CodeInvalid, "result type"},
		{200, `not json`, sdk.CodeInternal, "not a Prometheus API answer"},
	} {
		_, u := serve(t, c.status, c.body)
		s := configured(t, map[string]string{"url": u})
		_, err := s.Query(ctx, sdk.QueryRequest{Metric: "requests"})
		wantCode(t, err, c.code, c.msg)
	}

	// Nothing listens: unavailable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := configured(t, map[string]string{"url": "http://" + addr, "alertmanager_url": "http://" + addr})
	_, err = s.Query(ctx, sdk.QueryRequest{Metric: "requests"})
	wantCode(t, err, sdk.CodeUnavailable, "unreachable")
	_, err = s.Alerts(ctx, sdk.AlertsRequest{})
	wantCode(t, err, sdk.CodeUnavailable, "unreachable")

	// A server slower than the timeout: unavailable.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	s = configured(t, map[string]string{"url": slow.URL, "timeout": "50ms"})
	_, err = s.Query(ctx, sdk.QueryRequest{Metric: "requests"})
	wantCode(t, err, sdk.CodeUnavailable)
	_, err = s.Logs(ctx, sdk.LogsRequest{})
	wantCode(t, err, sdk.CodeUnimplemented)
}

// collector is a SampleWriter that keeps what it is given.
type collector struct {
	mu      sync.Mutex
	series  []sdk.SeriesDef
	samples []sdk.Sample
	flushes int
}

func (c *collector) Series(metric string, labels map[string]string) sdk.SeriesID {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := sdk.SeriesID(len(c.series) + 1)
	c.series = append(c.series, sdk.SeriesDef{ID: id, Metric: metric, Labels: labels})
	return id
}

func (c *collector) Write(id sdk.SeriesID, t int64, v float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = append(c.samples, sdk.Sample{Series: &c.series[id-1], T: t, V: v})
	return nil
}

func (c *collector) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushes++
	return nil
}

func (c *collector) snapshot() ([]sdk.SeriesDef, []sdk.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sdk.SeriesDef(nil), c.series...), append([]sdk.Sample(nil), c.samples...)
}

func TestWatchPollsInstantQueries(t *testing.T) {
	f, u := serve(t, 200, vectorJSON)
	s := configured(t, map[string]string{"url": u})
	var tick int64
	var tmu sync.Mutex
	s.now = func() time.Time {
		tmu.Lock()
		defer tmu.Unlock()
		tick++
		return time.Unix(1700000000+tick, 0)
	}
	// The answer's time moves on with every poll.
	f.body = strings.ReplaceAll(vectorJSON, "1700000100.123", "1700000101")
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, sdk.WatchRequest{Metrics: []string{"error_ratio"}, Labels: map[string]string{"service": "payments"}, Interval: 10 * time.Millisecond}, c)
	}()
	// Wait for the first poll's samples (not a fixed sleep: under load the
	// first poll may come late), then move the answer's time on.
	waitFor(t, "first poll", 2*time.Second, func() bool { _, s := c.snapshot(); return len(s) >= 2 })
	f.mu.Lock()
	f.body = strings.ReplaceAll(vectorJSON, "1700000100.123", "1700000102")
	f.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, samples := c.snapshot()
		if len(samples) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	series, samples := c.snapshot()
	if len(series) != 2 || series[0].Metric != "error_ratio" || series[0].Labels["version"] != "3.1.0" || series[1].Labels["version"] != "3.2.0" {
		t.Fatalf("series declared %+v", series)
	}
	// Each series once per distinct answer time: 2 series x 2 times.
	if len(samples) != 4 || samples[0].V != 0.25 || samples[0].T != 1700000101000 || samples[2].T != 1700000102000 {
		t.Errorf("samples %+v", samples)
	}
	r := f.last()
	if r.URL.Path != "/api/v1/query" || !strings.Contains(r.URL.Query().Get("query"), `code=~"5..",service="payments"`) || r.URL.Query().Get("time") == "" {
		t.Errorf("request %s", r.URL)
	}

	err := s.Watch(context.Background(), sdk.WatchRequest{Metrics: []string{"nope"}}, c)
	wantCode(t, err, sdk.CodeInvalid)
	f.mu.Lock()
	f.status, f.body = 400, errorJSON
	f.mu.Unlock()
	err = s.Watch(context.Background(), sdk.WatchRequest{Interval: time.Millisecond}, c)
	wantCode(t, err, sdk.CodeInvalid, "bad_data")
}

func TestAlerts(t *testing.T) {
	f, u := serve(t, 200, amAlertsJSON)
	s := configured(t, map[string]string{"url": "http://127.0.0.1:1", "alertmanager_url": u})
	alerts, err := s.Alerts(context.Background(), sdk.AlertsRequest{Labels: map[string]string{"service": "payments", "env": `p"d`}})
	if err != nil {
		t.Fatal(err)
	}
	r := f.last()
	if r.URL.Path != "/api/v2/alerts" || strings.Join(r.URL.Query()["filter"], " ") != `env="p\"d" service="payments"` {
		t.Errorf("request %s %v", r.URL, r.URL.Query()["filter"])
	}
	if len(alerts) != 3 {
		t.Fatalf("alerts %+v", alerts)
	}
	old, high, slow := alerts[0], alerts[1], alerts[2]
	if high.Name != "HighErrorRate" || high.State != "firing" || high.Severity != "critical" || high.Fingerprint != "a1b2c3" ||
		high.Annotations["summary"] != "errors up" || high.Labels["service"] != "payments" || !high.StartsAt.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("active %+v", high)
	}
	if slow.State != "pending" || old.State != "resolved" {
		t.Errorf("suppressed %+v, ended %+v", slow, old)
	}
	caps, _ := s.Describe(context.Background())
	if !caps.Alerts {
		t.Error("alerts capability with alertmanager_url")
	}

	f.mu.Lock()
	f.status, f.body = 400, `"bad matcher format: service=~"`
	f.mu.Unlock()
	_, err = s.Alerts(context.Background(), sdk.AlertsRequest{})
	wantCode(t, err, sdk.CodeInvalid, "bad matcher format")

	s = configured(t, map[string]string{"url": "http://127.0.0.1:1"})
	_, err = s.Alerts(context.Background(), sdk.AlertsRequest{})
	wantCode(t, err, sdk.CodeUnimplemented)
}
