package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/plugins/host"
)

// warroom's own metrics, served at --metrics-addr by the long-running
// commands (deploy start --follow, deploy resume, serve, demo) in the
// Prometheus text format. One metrics.Set per process (per app, so tests
// running several commands in one process do not share counters); it is
// not registered with the library's default set: the handler writes it.
//
//	warroom_plugin_call_duration_seconds{plugin,call}       histogram (le buckets)
//	warroom_plugin_call_failures_total{plugin,call,fault}   counter; fault is the
//	    host's classification (crashed, timeout, malformed, refused, handshake,
//	    untrusted), "canceled" for the caller's own cancellation, else "error"
//	warroom_run_steps{run,state}                            gauge: a run's steps by state
//	warroom_step_transitions_total{state}                   counter: step transitions
//	    this process committed or saw, by the state entered
//	warroom_canary_judgements_total{verdict}                counter: the judge's verdicts
//	    (continue, promote, pause, rollback; "error" when the judge failed)
//	warroom_rollbacks_total{cause}                          counter: runs that started
//	    rolling back, cause automatic (the engine) or operator (deploy rollback)
//	warroom_engine_lag_seconds                              gauge, see below
//
// Engine lag is the time from the engine stamping a change (Run.UpdatedAt,
// set just before the journal commit) to the OnChange notification of that
// commit: the durable (synchronous=FULL) SQLite write, retries on
// conflicts included, that the engine waited for before it could act
// again. It is the last value observed; it does not measure how late the
// engine's polling is.
type warroomMetrics struct {
	set *metrics.Set

	judgements func(verdict string) *metrics.Counter
	rollbacks  func(cause string) *metrics.Counter
	lag        *metrics.Gauge

	mu       sync.Mutex
	runs     map[string]*runSeen // last seen state of each run observed
	finished []string            // runs ended, oldest first: their gauges go after a while
}

// runSeen is what the observer last saw of a run.
type runSeen struct {
	state deploy.RunState
	steps []deploy.StepState
}

// keepFinished is how many ended runs keep their warroom_run_steps series.
const keepFinished = 16

var (
	stepStates = []deploy.StepState{deploy.StepPending, deploy.StepPreflight, deploy.StepDeploying, deploy.StepVerifying,
		deploy.StepBaking, deploy.StepDone, deploy.StepFailed, deploy.StepRollingBack, deploy.StepRolledBack, deploy.StepSkipped}
	verdicts = []deploy.Verdict{deploy.VerdictContinue, deploy.VerdictPromote, deploy.VerdictPause, deploy.VerdictRollback}
)

// metricHelp is the HELP and TYPE of each family, written before it.
var metricHelp = map[string][2]string{
	"warroom_plugin_call_duration_seconds": {"histogram", "Duration of calls to plugins, by plugin and call."},
	"warroom_plugin_call_failures_total":   {"counter", "Calls to plugins that failed, by plugin, call and fault."},
	"warroom_run_steps":                    {"gauge", "Steps of a run driven here, by state."},
	"warroom_step_transitions_total":       {"counter", "Step state transitions seen by this process's engines, by the state entered."},
	"warroom_canary_judgements_total":      {"counter", "Verdicts of the canary judge, by verdict."},
	"warroom_rollbacks_total":              {"counter", "Runs that started rolling back, by cause (automatic or operator)."},
	"warroom_engine_lag_seconds":           {"gauge", "Seconds from the engine stamping a change to its commit being notified (the last one)."},
}

func newWarroomMetrics() *warroomMetrics {
	m := &warroomMetrics{set: metrics.NewSet(), runs: map[string]*runSeen{}}
	m.judgements = func(v string) *metrics.Counter {
		return m.set.GetOrCreateCounter(fmt.Sprintf(`warroom_canary_judgements_total{verdict=%q}`, v))
	}
	m.rollbacks = func(c string) *metrics.Counter {
		return m.set.GetOrCreateCounter(fmt.Sprintf(`warroom_rollbacks_total{cause=%q}`, c))
	}
	// Series that exist from the start, at zero, so that rates and alerts
	// need no absent().
	for _, v := range verdicts {
		m.judgements(string(v))
	}
	m.rollbacks("automatic")
	m.rollbacks("operator")
	for _, st := range stepStates {
		m.transitions(st)
	}
	m.lag = m.set.NewGauge("warroom_engine_lag_seconds", nil)
	return m
}

func (m *warroomMetrics) transitions(st deploy.StepState) *metrics.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf(`warroom_step_transitions_total{state=%q}`, st))
}

func runStepsName(run string, st deploy.StepState) string {
	return fmt.Sprintf(`warroom_run_steps{run=%q,state=%q}`, run, st)
}

// pluginCall times one call of a plugin and counts it if it failed.
func (m *warroomMetrics) pluginCall(ctx context.Context, plugin, call string, start time.Time, err error) {
	if m == nil {
		return
	}
	m.set.GetOrCreatePrometheusHistogramExt(fmt.Sprintf(`warroom_plugin_call_duration_seconds{plugin=%q,call=%q}`, plugin, call), pluginBuckets).UpdateDuration(start)
	if err == nil {
		return
	}
	fault := string(host.FaultOf(err))
	switch {
	case fault != "":
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		fault = "canceled"
	default:
		fault = "error"
	}
	m.set.GetOrCreateCounter(fmt.Sprintf(`warroom_plugin_call_failures_total{plugin=%q,call=%q,fault=%q}`, plugin, call, fault)).Inc()
}

// pluginBuckets span a quick status call to a long rolling deployment.
var pluginBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// observe is an engine's OnChange: it notes the run's steps by state,
// the transitions since the last change seen, the start of a rollback,
// and the engine lag.
func (m *warroomMetrics) observe(r *deploy.Run) {
	if m == nil || r == nil {
		return
	}
	if !r.UpdatedAt.IsZero() {
		if lag := time.Since(r.UpdatedAt).Seconds(); lag >= 0 {
			m.lag.Set(lag)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seen, known := m.runs[r.ID]
	if !known {
		seen = &runSeen{}
		m.runs[r.ID] = seen
	}
	counts := map[deploy.StepState]int{}
	steps := make([]deploy.StepState, len(r.Steps))
	for i, s := range r.Steps {
		steps[i] = s.State
		counts[s.State]++
		// The first sight of a run (a resumed one) is its starting point,
		// not a burst of transitions.
		if known && (i >= len(seen.steps) || seen.steps[i] != s.State) {
			m.transitions(s.State).Inc()
		}
	}
	for _, st := range stepStates {
		m.set.GetOrCreateGauge(runStepsName(r.ID, st), nil).Set(float64(counts[st]))
	}
	if known && r.State == deploy.RunRollingBack && seen.state != deploy.RunRollingBack {
		// The operator's command is committed by another process; the
		// engine's first commit after it is where this one sees it. A run
		// first seen rolling back (taken over) was counted where it began.
		cause := "operator"
		if strings.HasPrefix(r.Reason, "automatic rollback") {
			cause = "automatic"
		}
		m.rollbacks(cause).Inc()
	}
	if r.State.Terminal() && !seen.state.Terminal() {
		m.finished = append(m.finished, r.ID)
		for len(m.finished) > keepFinished {
			old := m.finished[0]
			m.finished = m.finished[1:]
			for _, st := range stepStates {
				m.set.UnregisterMetric(runStepsName(old, st))
			}
			delete(m.runs, old)
		}
	}
	seen.state, seen.steps = r.State, steps
}

// instrument hooks the engine: its OnChange (composed with whatever it
// already does) and its judge, if it has one.
func (m *warroomMetrics) instrument(e *deploy.Engine) {
	if m == nil {
		return
	}
	next := e.OnChange
	e.OnChange = func(r *deploy.Run, what string) {
		m.observe(r)
		if next != nil {
			next(r, what)
		}
	}
	if e.Judge != nil {
		e.Judge = countedJudge{j: e.Judge, m: m}
	}
}

// countedJudge counts a judge's verdicts.
type countedJudge struct {
	j deploy.Judge
	m *warroomMetrics
}

func (c countedJudge) Judge(ctx context.Context, req deploy.CanaryRequest) (deploy.Judgement, error) {
	j, err := c.j.Judge(ctx, req)
	if err != nil {
		c.m.judgements("error").Inc()
	} else {
		c.m.judgements(string(j.Verdict)).Inc()
	}
	return j, err
}

// writePrometheus writes the set in the Prometheus text format, each
// family preceded by its HELP and TYPE (written here rather than through
// the library's global metrics.ExposeMetadata switch, which would give
// empty help texts).
func (m *warroomMetrics) writePrometheus(w io.Writer) {
	var buf bytes.Buffer
	m.set.WritePrometheus(&buf)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	done := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if fam := family(line); fam != "" && !done[fam] {
			if h, ok := metricHelp[fam]; ok {
				fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", fam, h[1], fam, h[0])
			}
			done[fam] = true
		}
		bw.WriteString(line)
		bw.WriteByte('\n')
	}
}

// family is the metric family a sample line belongs to.
func family(line string) string {
	if line == "" || line[0] == '#' {
		return ""
	}
	name := line
	if i := strings.IndexAny(line, "{ "); i >= 0 {
		name = line[:i]
	}
	if _, ok := metricHelp[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if h, ok := metricHelp[base]; ok && h[0] == "histogram" {
				return base
			}
		}
	}
	return name
}

// parseMetricsAddr checks a --metrics-addr: HOST:PORT, or :PORT for
// 127.0.0.1 (port 0 picks a free one).
func parseMetricsAddr(addr string) (string, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", usageError{fmt.Errorf("--metrics-addr %q: want HOST:PORT, e.g. 127.0.0.1:9464 or :9464 (%v)", addr, err)}
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return "", usageError{fmt.Errorf("--metrics-addr %q: the port must be a number from 0 to 65535", addr)}
	}
	if h == "" {
		h = "127.0.0.1"
	}
	if strings.ContainsAny(h, " /") {
		return "", usageError{fmt.Errorf("--metrics-addr %q: %q is not a host name or address", addr, h)}
	}
	return net.JoinHostPort(h, p), nil
}

// serveMetrics serves GET /metrics at --metrics-addr, if set, until the
// returned stop is called. It says where on stderr (the bound address,
// so :0 is usable). A second call while serving does nothing: demo serves
// for longer than the drive inside it.
func (a *app) serveMetrics() (stop func(), err error) {
	if a.metricsAddr == "" {
		return func() {}, nil
	}
	a.outMu.Lock()
	serving := a.metricsServing
	a.metricsServing = true
	a.outMu.Unlock()
	if serving {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", a.metricsAddr)
	if err != nil {
		a.outMu.Lock()
		a.metricsServing = false
		a.outMu.Unlock()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		a.metrics.writePrometheus(w)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	a.outMu.Lock()
	fmt.Fprintf(a.stderr, "metrics: serving http://%s/metrics\n", ln.Addr())
	a.outMu.Unlock()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		<-done
		a.outMu.Lock()
		a.metricsServing = false
		a.outMu.Unlock()
	}, nil
}
