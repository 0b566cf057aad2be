package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
	"github.com/warroom/warroom/plugins/sdk"
)

// watchInterval is how often the supervisor checks that its state dir
// (its lock file) still exists.
const watchInterval = time.Second

// supervisor is the detached process that runs a fleet: the target (its
// journal and its fleet) served on the Unix socket of the state dir, so
// that the fleet outlives the plugin processes that drive it.
type supervisor struct {
	t         *target
	log       hclog.Logger
	stateDir  string
	startedAt time.Time
	base      context.Context // every call's; cancelled when the supervisor stops
	cancel    context.CancelFunc
	stopOnce  sync.Once
	stopped   chan struct{} // closed once the fleet is stopped
	result    fleetctl.Stopped

	inflight atomic.Int64
	lastCall atomic.Int64 // unix nanoseconds of the last call's start or end
}

// runSupervisor is `localfleet supervise STATE_DIR`, started by the
// plugin (detached: its own session). It returns the exit code.
func runSupervisor(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: localfleet supervise STATE_DIR (started by the localfleet plugin; stop it with `localfleet stop STATE_DIR`)")
		return 2
	}
	stateDir, err := filepath.Abs(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "localfleet supervisor: %v\n", err)
		return 1
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "localfleet-supervisor", Level: hclog.Info, Output: os.Stderr, JSONFormat: true})
	if err := superviseDir(stateDir, log); err != nil {
		log.Error("supervisor stopped", "error", err)
		fmt.Fprintf(os.Stderr, "localfleet supervisor: %v\n", err)
		return 1
	}
	return 0
}

func superviseDir(stateDir string, log hclog.Logger) error {
	if err := ownerOnlyDir(stateDir); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	// Work from the state dir: the socket's relative path then never
	// exceeds the 107 bytes of a socket address.
	if err := os.Chdir(stateDir); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	lock, err := acquireSupervisorLock(stateDir)
	if err != nil {
		return err
	}
	defer lock.release()
	// The lock makes this the only supervisor: a socket file left is a
	// dead one's.
	os.Remove(fleetctl.SocketFile)
	ln, err := net.Listen("unix", fleetctl.SocketFile)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", filepath.Join(stateDir, fleetctl.SocketFile), err)
	}
	if err := os.Chmod(fleetctl.SocketFile, stateMode(".").File()); err != nil {
		ln.Close()
		return fmt.Errorf("socket: %w", err)
	}
	s := &supervisor{
		t:         newTarget(log),
		log:       log,
		stateDir:  stateDir,
		startedAt: time.Now(),
		stopped:   make(chan struct{}),
	}
	s.t.supervised = true
	s.touch()
	s.base, s.cancel = context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           s.counted(s.routes()),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.base },
	}
	go srv.Serve(ln)
	log.Info("supervisor ready", "pid", os.Getpid(), "state_dir", stateDir)

	// No terminal reaches it (its own session); a SIGHUP someone sends
	// does not end the fleet.
	signal.Ignore(syscall.SIGHUP)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	watch := time.NewTicker(watchInterval)
	defer watch.Stop()
	for running := true; running; {
		select {
		case sig := <-sigs:
			s.stop("signal " + sig.String())
		case <-watch.C:
			if !lock.stillOurs() {
				s.stop("its state dir " + stateDir + " was removed")
			} else if idle, after := s.idle(); idle {
				s.stop(fmt.Sprintf("idle: no process and no call for %s (idle_exit)", after))
			}
		case <-s.stopped:
			running = false
		}
	}
	// Let the shutdown call's answer go out, then close everything.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	srv.Shutdown(ctx)
	cancel()
	srv.Close()
	log.Info("supervisor exiting", "processes_stopped", s.result.Processes, "proxies_stopped", s.result.Proxies)
	return nil
}

// stop stops the fleet once: every call in flight is cancelled, every
// process reaped, every proxy closed.
func (s *supervisor) stop(why string) {
	s.stopOnce.Do(func() {
		s.log.Info("stopping the fleet", "why", why)
		s.cancel()
		s.result = fleetctl.Stopped{PID: os.Getpid()}
		if f, _, err := s.t.state(); err == nil {
			s.result.Processes = f.runningTotal()
			s.result.Proxies = f.groupCount()
		}
		s.t.Close()
		close(s.stopped)
	})
}

func (s *supervisor) touch() { s.lastCall.Store(time.Now().UnixNano()) }

// counted keeps the count of calls in flight and the time of the last.
func (s *supervisor) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		s.touch()
		defer func() {
			s.touch()
			s.inflight.Add(-1)
		}()
		h.ServeHTTP(w, r)
	})
}

// idle reports whether the supervisor has had nothing to do for its
// idle_exit: no process runs, no call is in flight, none came.
func (s *supervisor) idle() (bool, time.Duration) {
	after := s.t.idleExit()
	if after <= 0 || s.inflight.Load() > 0 || time.Since(time.Unix(0, s.lastCall.Load())) < after {
		return false, after
	}
	if f, _, err := s.t.state(); err == nil && f.runningTotal() > 0 {
		return false, after
	}
	return true, after
}

func (s *supervisor) hello() fleetctl.Hello {
	h := fleetctl.Hello{Protocol: fleetctl.Protocol, PID: os.Getpid(), Version: version, StartedAt: s.startedAt, StateDir: s.stateDir}
	if f, _, err := s.t.state(); err == nil {
		h.Processes = f.runningTotal()
	}
	return h
}

func (s *supervisor) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/hello", unary(func(ctx context.Context, _ struct{}) (fleetctl.Hello, error) {
		return s.hello(), nil
	}))
	mux.HandleFunc("POST /v1/shutdown", unary(func(ctx context.Context, _ struct{}) (fleetctl.Stopped, error) {
		s.stop("asked to (shutdown)")
		return s.result, nil
	}))
	mux.HandleFunc("POST /v1/configure", unary(func(ctx context.Context, cfg sdk.Config) (struct{}, error) {
		if cfg.StateDir != "" {
			if abs, err := filepath.Abs(cfg.StateDir); err != nil || abs != s.stateDir {
				return struct{}{}, invalid("this supervisor runs the fleet of %s, not of %s", s.stateDir, cfg.StateDir)
			}
		}
		cfg.StateDir = s.stateDir
		return struct{}{}, s.t.Configure(ctx, cfg)
	}))
	mux.HandleFunc("POST /v1/describe", unary(func(ctx context.Context, _ struct{}) (sdk.Capabilities, error) {
		return s.t.Describe(ctx)
	}))
	mux.HandleFunc("POST /v1/preflight", unary(s.t.Preflight))
	mux.HandleFunc("POST /v1/set_traffic", unary(s.t.SetTraffic))
	mux.HandleFunc("POST /v1/verify", unary(s.t.Verify))
	mux.HandleFunc("POST /v1/status", unary(s.t.Status))
	mux.HandleFunc("POST /v1/deploy", streamed(s.t.Deploy))
	mux.HandleFunc("POST /v1/rollback", streamed(s.t.Rollback))
	return mux
}

// wireError is an error as it goes on the wire.
func wireError(err error) *fleetctl.WireError {
	return &fleetctl.WireError{Code: sdk.CodeOf(err), Message: err.Error()}
}

func decode[I any](w http.ResponseWriter, r *http.Request) (I, bool) {
	var in I
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		writeEnvelope(w, fleetctl.Envelope{Error: &fleetctl.WireError{Code: sdk.CodeInvalid, Message: "localfleet supervisor: bad request: " + err.Error()}})
		return in, false
	}
	return in, true
}

func writeEnvelope(w http.ResponseWriter, env fleetctl.Envelope) error {
	b, err := json.Marshal(env)
	if err != nil {
		b, _ = json.Marshal(fleetctl.Envelope{Error: wireError(err)})
	}
	_, err = w.Write(append(b, '\n'))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return err
}

// unary serves a call with one answer.
func unary[I, O any](fn func(context.Context, I) (O, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in, ok := decode[I](w, r)
		if !ok {
			return
		}
		out, err := fn(r.Context(), in)
		if err != nil {
			writeEnvelope(w, fleetctl.Envelope{Error: wireError(err)})
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			writeEnvelope(w, fleetctl.Envelope{Error: wireError(err)})
			return
		}
		writeEnvelope(w, fleetctl.Envelope{Result: b})
	}
}

// lineSink sends each event as a line as it comes.
type lineSink struct {
	mu sync.Mutex
	w  http.ResponseWriter
}

func (l *lineSink) Send(ev sdk.DeployEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return writeEnvelope(l.w, fleetctl.Envelope{Event: &ev})
}

// streamed serves a deployment: its events, then its outcome.
func streamed[I any](fn func(context.Context, I, sdk.EventSink) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in, ok := decode[I](w, r)
		if !ok {
			return
		}
		sink := &lineSink{w: w}
		err := fn(r.Context(), in, sink)
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if err != nil {
			writeEnvelope(w, fleetctl.Envelope{Error: wireError(err)})
			return
		}
		writeEnvelope(w, fleetctl.Envelope{Result: json.RawMessage("{}")})
	}
}

// supervisorLock is the flock a supervisor holds on
// <state dir>/supervisor.lock while it lives.
type supervisorLock struct {
	f    *os.File
	path string
}

func acquireSupervisorLock(stateDir string) (*supervisorLock, error) {
	path := filepath.Join(stateDir, fleetctl.LockFile)
	f, err := stateMode(stateDir).OpenFile(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another localfleet supervisor (pid %s) runs the fleet of %s", fleetctl.LockHolder(path), stateDir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(fmt.Sprintf("supervisor_pid=%d\n", os.Getpid())), 0)
	}
	return &supervisorLock{f: f, path: path}, nil
}

// stillOurs reports whether the lock file is still there, the same file:
// a state dir removed (a test's temporary dir, a demo's) ends the
// supervisor.
func (l *supervisorLock) stillOurs() bool {
	a, err := os.Stat(l.path)
	if err != nil {
		return false
	}
	b, err := l.f.Stat()
	return err == nil && os.SameFile(a, b)
}

func (l *supervisorLock) release() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
