package main

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// source is the MonitoringSource. It keeps no state of its own: every
// call asks the server.
type source struct {
	client *http.Client
	now    func() time.Time

	mu         sync.Mutex
	cfg        config
	configured bool
}

func newSource() *source {
	return &source{client: &http.Client{}, now: time.Now}
}

// Configure applies settings.
func (s *source) Configure(_ context.Context, c sdk.Config) error {
	cfg, err := parseConfig(c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg, s.configured = cfg, true
	return nil
}

func (s *source) config() (config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.configured {
		return config{}, sdk.Errorf(sdk.CodeFailedPrecondition, "not configured")
	}
	return s.cfg, nil
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func (s *source) metric(cfg config, name string) (*metricDef, error) {
	m, ok := cfg.metrics[name]
	if !ok {
		return nil, sdk.Errorf(sdk.CodeInvalid, "unknown metric %q", name)
	}
	return m, nil
}

func (s *source) Describe(context.Context) (sdk.MonitoringCapabilities, error) {
	cfg, err := s.config()
	if err != nil {
		// Before Configure: the defaults.
		cfg = config{metrics: map[string]*metricDef{}}
		for k, v := range defaultTemplates {
			cfg.metrics[k] = &metricDef{name: k, text: v}
		}
	}
	caps := sdk.MonitoringCapabilities{Watch: true, Alerts: cfg.amURL != ""}
	for name, m := range cfg.metrics {
		d, ok := defaultDescriptors[name]
		if !ok || m.text != defaultTemplates[name] {
			d = sdk.MetricDescriptor{Kind: "gauge", Description: "PromQL: " + m.text}
		} else {
			d.Description += "; PromQL: " + m.text
		}
		d.Name = name
		caps.Metrics = append(caps.Metrics, d)
	}
	sort.Slice(caps.Metrics, func(i, j int) bool { return caps.Metrics[i].Name < caps.Metrics[j].Name })
	return caps, nil
}

// Query runs the metric's template as a query_range over [Start, End]
// (End defaults to now, Start to End minus the range setting) at Step
// (default: the step setting).
func (s *source) Query(ctx context.Context, req sdk.QueryRequest) ([]sdk.Series, error) {
	cfg, err := s.config()
	if err != nil {
		return nil, err
	}
	m, err := s.metric(cfg, req.Metric)
	if err != nil {
		return nil, err
	}
	q, err := render(m.tmpl, cfg.window, req.Labels)
	if err != nil {
		return nil, err
	}
	end := req.End
	if end.IsZero() {
		end = s.now()
	}
	start := req.Start
	if start.IsZero() {
		start = end.Add(-cfg.rng)
	}
	if end.Before(start) {
		return nil, sdk.Errorf(sdk.CodeInvalid, "query ends before it starts")
	}
	step := req.Step
	if step <= 0 {
		step = cfg.step
	}
	if step < time.Millisecond {
		return nil, sdk.Errorf(sdk.CodeInvalid, "step %v: want at least 1ms", step)
	}
	params := url.Values{
		"query": {q},
		"start": {promTime(start)},
		"end":   {promTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	res, err := s.promQuery(ctx, cfg, "/api/v1/query_range", params)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.Series, 0, len(res))
	for _, r := range res {
		out = append(out, sdk.Series{Metric: req.Metric, Labels: r.Labels, Points: r.Points})
	}
	return out, nil
}

// instant runs one metric's template as an instant query at t.
func (s *source) instant(ctx context.Context, cfg config, m *metricDef, labels map[string]string, t time.Time) ([]result, error) {
	q, err := render(m.tmpl, cfg.window, labels)
	if err != nil {
		return nil, err
	}
	return s.promQuery(ctx, cfg, "/api/v1/query", url.Values{"query": {q}, "time": {promTime(t)}})
}

// Watch runs an instant query of every metric asked for (all when none)
// every Interval (default: the interval setting), at once first, and
// writes each result's value. A poll that fails with CodeUnavailable is
// skipped (the server may come back); any other failure ends the Watch.
func (s *source) Watch(ctx context.Context, req sdk.WatchRequest, w sdk.SampleWriter) error {
	cfg, err := s.config()
	if err != nil {
		return err
	}
	names := req.Metrics
	if len(names) == 0 {
		for n := range cfg.metrics {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var defs []*metricDef
	for _, n := range names {
		m, err := s.metric(cfg, n)
		if err != nil {
			return err
		}
		if _, err := render(m.tmpl, cfg.window, req.Labels); err != nil {
			return err
		}
		defs = append(defs, m)
	}
	every := req.Interval
	if every <= 0 {
		every = cfg.interval
	}
	type key struct{ metric, labels string }
	ids := map[key]sdk.SeriesID{}
	// last keeps the last time written per series: an instant query may
	// answer the same sample twice (VictoriaMetrics aligns times).
	last := map[sdk.SeriesID]int64{}
	poll := func() error {
		now := s.now()
		n := 0
		for _, m := range defs {
			res, err := s.instant(ctx, cfg, m, req.Labels, now)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if sdk.CodeOf(err) == sdk.CodeUnavailable {
					continue
				}
				return err
			}
			for _, r := range res {
				k := key{m.name, labelKey(r.Labels)}
				id, ok := ids[k]
				if !ok {
					id = w.Series(m.name, r.Labels)
					ids[k] = id
				}
				p := r.Points[len(r.Points)-1]
				if t, ok := last[id]; ok && p.T <= t {
					continue
				}
				last[id] = p.T
				if err := w.Write(id, p.T, p.V); err != nil {
					return err
				}
				n++
			}
		}
		if n > 0 {
			return w.Flush()
		}
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := poll(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Alerts asks Alertmanager for its alerts, the request's labels as
// equality matchers.
func (s *source) Alerts(ctx context.Context, req sdk.AlertsRequest) ([]sdk.Alert, error) {
	cfg, err := s.config()
	if err != nil {
		return nil, err
	}
	if cfg.amURL == "" {
		return nil, sdk.Errorf(sdk.CodeUnimplemented, "no alertmanager_url configured")
	}
	params := url.Values{}
	names := make([]string, 0, len(req.Labels))
	for k := range req.Labels {
		if !labelNameRE.MatchString(k) {
			return nil, sdk.Errorf(sdk.CodeInvalid, "label name %q is not a Prometheus label name", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		params.Add("filter", k+`="`+promString(req.Labels[k])+`"`)
	}
	u := cfg.amURL + "/api/v2/alerts"
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	b, status, err := s.get(ctx, cfg, u)
	if err != nil {
		return nil, err
	}
	return parseAlerts(b, status, cfg.amURL+"/api/v2/alerts", s.now())
}

func (s *source) Logs(context.Context, sdk.LogsRequest) (sdk.LogsResult, error) {
	return sdk.LogsResult{}, sdk.Errorf(sdk.CodeUnimplemented, "the prometheus source has no logs")
}
