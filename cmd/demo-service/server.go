package main

import (
	"encoding/json"
	"fmt"
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
	// ErrorRate is the fraction of application requests answered 500.
	// The errors are spread evenly (one every 1/ErrorRate requests), not
	// drawn at random, so that even a short smoke test sees the rate.
	ErrorRate float64
	// Latency is added to every application request, with +-20% jitter.
	Latency time.Duration
	// SlowStart: /healthz (and the application) answer 503 until it has
	// passed since the start.
	SlowStart time.Duration
	// CrashAfter > 0: the process exits with status 1 after answering
	// that many application requests.
	CrashAfter int64
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

	metrics  *metrics.Set
	duration *metrics.Histogram

	mu       sync.Mutex
	errPPM   int64 // ErrorRate in millionths, so the spreading is exact
	errDebt  int64 // error-rate accumulator, in millionths
	served   atomic.Int64
	crashed  chan struct{} // closed when CrashAfter requests were served
	crashOne sync.Once
}

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
		metrics:  metrics.NewSet(),
		crashed:  make(chan struct{}),
		errPPM:   int64(math.Round(f.ErrorRate * 1e6)),
	}
	s.duration = s.metrics.NewHistogram(fmt.Sprintf(`request_duration_seconds{service=%q,version=%q}`, service, version))
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
			if d := s.latency(); d > 0 {
				select {
				case <-time.After(d):
				case <-r.Context().Done():
				}
			}
			if s.fail() {
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

// latency is the fault's added latency with +-20% jitter.
func (s *server) latency() time.Duration {
	d := s.faults.Latency
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// fail decides whether this request gets the injected error.
func (s *server) fail() bool {
	if s.errPPM <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errDebt += s.errPPM
	if s.errDebt >= 1e6 {
		s.errDebt -= 1e6
		return true
	}
	return false
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
