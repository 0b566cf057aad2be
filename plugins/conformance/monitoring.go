package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

var (
	knownMetricKinds = []string{"counter", "gauge", "histogram", "quantile"}
	knownAlertStates = []string{"firing", "pending", "resolved"}
)

// watchWindow is how long the Watch check waits for a first sample before
// it cancels; watchEndGrace is how soon after the cancel Watch must end.
const (
	watchWindow   = 2 * time.Second
	watchEndGrace = 5 * time.Second
)

func monitoringChecks() []check {
	return []check{
		{name: "monitoring-source/describe", run: checkMonitoringDescribe},
		{name: "monitoring-source/query", run: checkQuery},
		{name: "monitoring-source/watch", run: checkWatch},
		{name: "monitoring-source/alerts", run: checkAlerts},
		{name: "monitoring-source/logs", run: checkLogs},
	}
}

func (s *state) monitoringCapabilities(ctx context.Context) (sdk.MonitoringCapabilities, error) {
	if s.mcaps != nil {
		return *s.mcaps, nil
	}
	c, err := s.subj.MonitoringSource().Describe(ctx)
	if err != nil {
		return c, called("Describe", err)
	}
	var problems []string
	seen := map[string]bool{}
	for i, m := range c.Metrics {
		switch {
		case strings.TrimSpace(m.Name) == "":
			problems = append(problems, fmt.Sprintf("metric %d has no name", i+1))
		case seen[m.Name]:
			problems = append(problems, fmt.Sprintf("metric %q described twice", m.Name))
		case !slices.Contains(knownMetricKinds, m.Kind):
			problems = append(problems, fmt.Sprintf("metric %q has unknown kind %q (known: %s)", m.Name, m.Kind, strings.Join(knownMetricKinds, ", ")))
		}
		seen[m.Name] = true
	}
	if len(problems) > 0 {
		return c, malformedf("Describe: %s", strings.Join(problems, "; "))
	}
	s.mcaps = &c
	return c, nil
}

func checkMonitoringDescribe(ctx context.Context, s *state) (string, error) {
	c, err := s.monitoringCapabilities(ctx)
	if err != nil {
		return "", err
	}
	var offers []string
	for _, o := range []struct {
		on   bool
		name string
	}{{c.Watch, "watch"}, {c.Alerts, "alerts"}, {c.Logs, "logs"}} {
		if o.on {
			offers = append(offers, o.name)
		}
	}
	return fmt.Sprintf("%s; offers %s", count(len(c.Metrics), "metric"), strings.Join(append([]string{"query"}, offers...), ", ")), nil
}

// unavailable lets a check pass when the plugin answered in-band that a
// dependency is down: the sandbox has no monitoring system behind it
// unless the operator's settings point at one.
func unavailable(call string, err error) (string, bool) {
	if code, ok := answered(err); ok && code == sdk.CodeUnavailable {
		return fmt.Sprintf("answered in-band that its backend is unavailable: %v", err), true
	}
	return "", false
}

func (s *state) firstMetric(ctx context.Context) string {
	if c, err := s.monitoringCapabilities(ctx); err == nil && len(c.Metrics) > 0 {
		return c.Metrics[0].Name
	}
	return "requests"
}

func checkQuery(ctx context.Context, s *state) (string, error) {
	metric := s.firstMetric(ctx)
	end := time.Now().Truncate(time.Minute)
	series, err := s.subj.MonitoringSource().Query(ctx, sdk.QueryRequest{
		Metric: metric,
		Labels: map[string]string{"service": suiteTarget.Service},
		Start:  end.Add(-15 * time.Minute),
		End:    end,
		Step:   time.Minute,
	})
	if msg, ok := unavailable("Query", err); ok {
		return msg, nil
	}
	if err != nil {
		return "", called("Query", err)
	}
	points := 0
	for i, se := range series {
		for j := 1; j < len(se.Points); j++ {
			if se.Points[j].T < se.Points[j-1].T {
				return "", malformedf("Query: series %d: points out of time order", i+1)
			}
		}
		points += len(se.Points)
	}
	return fmt.Sprintf("%s: %s, %s", metric, count(len(series), "series"), count(points, "point")), nil
}

// counter is the SampleWriter of the Watch check.
type counter struct {
	mu      sync.Mutex
	series  int
	samples int
	first   chan struct{}
	bad     string
}

func (c *counter) Series(string, map[string]string) sdk.SeriesID {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.series++
	return sdk.SeriesID(c.series)
}

func (c *counter) Write(id sdk.SeriesID, _ int64, _ float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id < 1 || int(id) > c.series {
		c.bad = fmt.Sprintf("a sample of series %d, which was never declared", id)
	}
	if c.samples == 0 {
		close(c.first)
	}
	c.samples++
	return nil
}

func (c *counter) Flush() error { return nil }

func checkWatch(ctx context.Context, s *state) (string, error) {
	caps, err := s.monitoringCapabilities(ctx)
	if err != nil {
		return "", fmt.Errorf("not checked: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &counter{first: make(chan struct{})}
	ended := make(chan error, 1)
	go func() {
		ended <- s.subj.MonitoringSource().Watch(wctx, sdk.WatchRequest{
			Metrics:  []string{s.firstMetric(ctx)},
			Interval: time.Second,
		}, w)
	}()

	window := time.NewTimer(watchWindow)
	defer window.Stop()
	var endErr error
	endedEarly := false
	select {
	case <-w.first:
	case <-window.C:
	case endErr = <-ended:
		endedEarly = true
	case <-ctx.Done():
	}
	cancel()
	if !endedEarly {
		grace := time.NewTimer(watchEndGrace)
		defer grace.Stop()
		select {
		case endErr = <-ended:
		case <-grace.C:
			return "", failf("timeout: Watch did not end within %s of its context being cancelled", watchEndGrace)
		}
	}
	w.mu.Lock()
	samples, series, bad := w.samples, w.series, w.bad
	w.mu.Unlock()
	if bad != "" {
		return "", malformedf("Watch: %s", bad)
	}
	if endErr != nil {
		if code, ok := answered(endErr); ok && code == sdk.CodeUnimplemented && !caps.Watch {
			return "refused with CodeUnimplemented: the source does not watch", nil
		}
		if msg, ok := unavailable("Watch", endErr); ok {
			return msg, nil
		}
		return "", called("Watch", endErr)
	}
	if endedEarly {
		return fmt.Sprintf("ended by itself after %s of %s", count(samples, "sample"), count(series, "series")), nil
	}
	return fmt.Sprintf("%s of %s, ended cleanly on cancel", count(samples, "sample"), count(series, "series")), nil
}

func checkAlerts(ctx context.Context, s *state) (string, error) {
	caps, err := s.monitoringCapabilities(ctx)
	if err != nil {
		return "", fmt.Errorf("not checked: %w", err)
	}
	alerts, err := s.subj.MonitoringSource().Alerts(ctx, sdk.AlertsRequest{Labels: map[string]string{"service": suiteTarget.Service}})
	if code, ok := answered(err); ok && code == sdk.CodeUnimplemented && !caps.Alerts {
		return "refused with CodeUnimplemented: the source has no alerts", nil
	}
	if msg, ok := unavailable("Alerts", err); ok {
		return msg, nil
	}
	if err != nil {
		return "", called("Alerts", err)
	}
	for i, a := range alerts {
		if strings.TrimSpace(a.Name) == "" {
			return "", malformedf("Alerts: alert %d has no name", i+1)
		}
		if !slices.Contains(knownAlertStates, a.State) {
			return "", malformedf("Alerts: alert %q has unknown state %q (known: %s)", a.Name, a.State, strings.Join(knownAlertStates, ", "))
		}
	}
	return count(len(alerts), "alert"), nil
}

func checkLogs(ctx context.Context, s *state) (string, error) {
	caps, err := s.monitoringCapabilities(ctx)
	if err != nil {
		return "", fmt.Errorf("not checked: %w", err)
	}
	const limit = 10
	end := time.Now()
	res, err := s.subj.MonitoringSource().Logs(ctx, sdk.LogsRequest{
		Services: []string{suiteTarget.Service},
		Start:    end.Add(-time.Hour),
		End:      end,
		Limit:    limit,
	})
	if code, ok := answered(err); ok && code == sdk.CodeUnimplemented && !caps.Logs {
		return "refused with CodeUnimplemented: the source has no logs", nil
	}
	if msg, ok := unavailable("Logs", err); ok {
		return msg, nil
	}
	if err != nil {
		return "", called("Logs", err)
	}
	if len(res.Lines) > limit {
		return "", malformedf("Logs: %d lines for a limit of %d", len(res.Lines), limit)
	}
	return count(len(res.Lines), "line"), nil
}
