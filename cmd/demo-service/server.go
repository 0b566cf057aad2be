package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// faults are the ways a version can be bad.
type faults struct {
	// ErrorRate is the probability that an application request is
	// answered 500, drawn for each request independently (on top of the
	// profile's base errors), as real faults come: at random, not every
	// 1/ErrorRate-th request.
	ErrorRate float64
	// Latency is added to every application request, on top of the
	// profile's own latency.
	Latency time.Duration
	// SlowStart: /healthz (and the application) answer 503 until it has
	// passed since the start.
	SlowStart time.Duration
	// CrashAfter > 0: the process exits with status 1 after answering
	// that many application requests.
	CrashAfter int64
}

// profile is how a healthy version behaves: every version of a service
// shares it, so that a canary differs from its baseline only by its
// faults.
type profile struct {
	// BaseErrorRate is the probability that any request fails, healthy
	// or not: real services never serve a clean zero.
	BaseErrorRate float64
	// MedianLatency and LatencySigma shape each request's own latency:
	// log-normal, exp(N(ln MedianLatency, LatencySigma^2)), long-tailed
	// as real latencies are (sigma 0.5: p95 2.3x, p99 3.2x the median).
	MedianLatency time.Duration
	LatencySigma  float64
}

// The default profile: errors drawn per service between these rates, a
// 30 ms median latency with a log-normal tail.
const (
	minBaseErrorRate     = 0.001
	maxBaseErrorRate     = 0.005
	defaultMedianLatency = 30 * time.Millisecond
	defaultLatencySigma  = 0.5
)

// serviceBaseErrorRate is the base error rate of a service, drawn
// uniformly in [minBaseErrorRate, maxBaseErrorRate) from its name: every
// instance and version of one service has the same, different services
// differ.
func serviceBaseErrorRate(service string) float64 {
	h := fnv.New64a()
	h.Write([]byte(service))
	u := float64(h.Sum64()>>11) / (1 << 53)
	return minBaseErrorRate + (maxBaseErrorRate-minBaseErrorRate)*u
}

// lockedRand is a random source shared by concurrent requests.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// newRand seeds a source: seed 0 draws a seed of its own.
func newRand(seed uint64) *lockedRand {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// maxWork bounds /work?ms=, so a request cannot hold a process for long.
const maxWork = 10 * time.Second

// server is the demo service's HTTP side. Application requests are every
// request but /healthz and /metrics: those two are the fleet's, and
// neither suffer the faults nor count in the metrics, so that health
// checks and scrapes measure the version, not themselves.
type server struct {
	service  string
	version  string
	instance int
	faults   faults
	started  time.Time
	now      func() time.Time

	profile profile
	rng     *lockedRand

	metrics  *metrics.Set
	duration *metrics.PrometheusHistogram

	served   atomic.Int64
	crashed  chan struct{} // closed when CrashAfter requests were served
	crashOne sync.Once
}

// latencyBounds are the duration histogram's bucket upper bounds in
// seconds: 20 per decade (each 12 % wider than the one before) from 1 ms
// to 10 s, rounded to 3 significant digits. A Prometheus histogram with
// fixed buckets rather than VictoriaMetrics' vmrange one, whose buckets
// appear as they fill: the canary judge compares two cohorts' histograms
// bucket by bucket and needs one layout, the same for both and for the
// whole canary, which fixed buckets give from the first scrape. 12 %
// buckets resolve a +20 % shift of the p95 and are 40 buckets between
// 5 ms and 500 ms; 81 lines per scrape stay cheap.
var latencyBounds = func() []float64 {
	out := make([]float64, 0, 81)
	for k := 0; k <= 80; k++ {
		v := 0.001 * math.Pow(10, float64(k)/20)
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
		out = append(out, r)
	}
	return out
}()

// newServer returns a server with no base errors or latency of its own
// (tests); withProfile gives it a profile.
func newServer(service, version string, instance int, f faults, now func() time.Time) *server {
	if now == nil {
		now = time.Now
	}
	s := &server{
		service:  service,
		version:  version,
		instance: instance,
		faults:   f,
		started:  now(),
		now:      now,
		rng:      newRand(0),
		metrics:  metrics.NewSet(),
		crashed:  make(chan struct{}),
	}
	s.duration = s.metrics.NewPrometheusHistogramExt(fmt.Sprintf(`request_duration_seconds{service=%q,version=%q}`, service, version), latencyBounds)
	return s
}

// withProfile sets the healthy behaviour and the random source's seed
// (0: a seed of its own).
func (s *server) withProfile(p profile, seed uint64) *server {
	s.profile = p
	s.rng = newRand(seed)
	return s
}

// ready reports whether the slow start is over.
func (s *server) ready() bool {
	return s.now().Sub(s.started) >= s.faults.SlowStart
}

func (s *server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /metrics", s.writeMetrics)
	app := http.NewServeMux()
	app.HandleFunc("GET /{$}", s.root)
	app.HandleFunc("GET /work", s.work)
	mux.Handle("/", s.application(app))
	return mux
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	if !s.ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "starting"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (s *server) writeMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// application wraps the application endpoints with the faults and the
// metrics.
func (s *server) application(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		switch {
		case !s.ready():
			writeJSON(rec, http.StatusServiceUnavailable, map[string]any{"error": "starting"})
		default:
			d, fail := s.draw()
			if d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
				}
			}
			if fail {
				writeJSON(rec, http.StatusInternalServerError, map[string]any{
					"error": "injected fault", "service": s.service, "version": s.version, "instance": s.instance,
				})
			} else {
				next.ServeHTTP(rec, r)
			}
		}
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		s.metrics.GetOrCreateCounter(fmt.Sprintf(`requests_total{service=%q,version=%q,code="%d"}`, s.service, s.version, code)).Inc()
		s.duration.UpdateDuration(start)
		if n := s.served.Add(1); s.faults.CrashAfter > 0 && n >= s.faults.CrashAfter {
			s.crashOne.Do(func() { close(s.crashed) })
		}
	})
}

// draw decides one application request's fate: how long it waits (the
// profile's log-normal latency, capped at maxWork, plus the latency
// fault) and whether it fails (a base error or an injected one, each
// drawn independently).
func (s *server) draw() (time.Duration, bool) {
	s.rng.mu.Lock()
	z := s.rng.r.NormFloat64()
	uBase, uFault := s.rng.r.Float64(), s.rng.r.Float64()
	s.rng.mu.Unlock()
	var d time.Duration
	if m := s.profile.MedianLatency; m > 0 {
		d = min(time.Duration(float64(m)*math.Exp(s.profile.LatencySigma*z)), maxWork)
	}
	d += s.faults.Latency
	return d, uBase < s.profile.BaseErrorRate || uFault < s.faults.ErrorRate
}

func (s *server) root(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"service": s.service, "version": s.version, "instance": s.instance})
}

func (s *server) work(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "ms must be a whole number of milliseconds, e.g. /work?ms=25"})
		return
	}
	d := min(time.Duration(ms)*time.Millisecond, maxWork)
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"service": s.service, "version": s.version, "instance": s.instance, "worked_ms": d.Milliseconds(),
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
