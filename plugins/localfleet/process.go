package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stopGrace is how long a stopped instance has between SIGTERM and
// SIGKILL to finish its in-flight requests.
const stopGrace = 3 * time.Second

// spawner starts processes from one goroutine locked to its OS thread.
// Pdeathsig fires when the thread that forked the child ends, not the
// process; Go retires a thread whose locked goroutine returns, so every
// fork happens on this one thread, which lives as long as the fleet.
type spawner struct {
	reqs   chan spawnReq
	mu     sync.RWMutex
	closed bool
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq)}
	go func() {
		runtime.LockOSThread()
		// Never unlocked: when the fleet closes (its processes are gone),
		// returning retires the thread.
		for r := range s.reqs {
			r.reply <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errors.New("the fleet is shutting down")
	}
	reply := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, reply: reply}
	return <-reply
}

// close ends the spawner's thread. A process that was started after the
// fleet stopped its instances (a deploy racing the shutdown) gets its
// SIGKILL from Pdeathsig then.
func (s *spawner) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.reqs)
	}
}

// instance is one demo-service process.
type instance struct {
	version string
	index   int // 1..N within its version
	colour  string
	faults  faultSet

	cmd     *exec.Cmd
	pid     int
	addr    string // host:port, once listening
	proxy   *httputil.ReverseProxy
	started time.Time

	ready    atomic.Bool
	starting atomic.Bool // not yet through its first health check
	stopping atomic.Bool // we asked it to stop: its exit is not a failure
	done     chan struct{}
	// Set before done is closed.
	exitedAt time.Time
	exitDesc string // "exited with status 1", "was killed by signal killed"
	stderr   *tail
}

func (in *instance) name(service string) string {
	return fmt.Sprintf("%s %s instance %d", service, in.version, in.index)
}

func (in *instance) exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// running: alive and not being stopped by us.
func (in *instance) running() bool { return !in.exited() && !in.stopping.Load() }

// exitStatus describes how a finished process ended.
func exitStatus(ps interface {
	ExitCode() int
	Sys() any
}) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "was killed by signal " + ws.Signal().String()
	}
	return "exited with status " + strconv.Itoa(ps.ExitCode())
}

// startSpec is what an instance is started with.
type startSpec struct {
	binary  string
	service string
	version string
	index   int
	colour  string
	faults  faultSet
}

// startProcess starts a demo-service and returns once it listens. It does
// not wait for health. onExit runs once the process has been reaped.
func startProcess(ctx context.Context, sp *spawner, spec startSpec, transport http.RoundTripper, onExit func(*instance)) (*instance, error) {
	args := []string{
		"--listen", "127.0.0.1:0",
		"--service", spec.service,
		"--version", spec.version,
		"--instance", strconv.Itoa(spec.index),
	}
	args = append(args, spec.faults.args()...)
	cmd := exec.Command(spec.binary, args...)
	// A small, fixed environment: one P keeps each process at a few MB.
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "GOMAXPROCS=1", "GOGC=50", "LANG=C.UTF-8"}, profileEnv()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	in := &instance{
		version: spec.version, index: spec.index, colour: spec.colour, faults: spec.faults,
		cmd: cmd, done: make(chan struct{}), stderr: &tail{max: 8},
	}
	cmd.Stderr = in.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sp.start(cmd); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", in.name(spec.service), spec.binary, err)
	}
	in.pid = cmd.Process.Pid
	in.started = time.Now()

	listening := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		listening <- strings.TrimSpace(line)
		io.Copy(io.Discard, r) // nothing else is expected; keep the pipe drained
	}()
	go func() {
		err := cmd.Wait()
		in.exitedAt = time.Now()
		switch {
		case cmd.ProcessState != nil:
			in.exitDesc = exitStatus(cmd.ProcessState)
		case err != nil:
			in.exitDesc = "failed: " + err.Error()
		}
		in.ready.Store(false)
		close(in.done)
		if onExit != nil {
			onExit(in)
		}
	}()

	select {
	case line := <-listening:
		addr, ok := strings.CutPrefix(line, "listening http://")
		if !ok {
			<-in.done // stdout closed: the process is gone or going
			return in, in.exitError(spec.service, "before becoming healthy")
		}
		in.addr = addr
	case <-ctx.Done():
		in.kill()
		return in, ctx.Err()
	}
	u := &url.URL{Scheme: "http", Host: in.addr}
	in.proxy = httputil.NewSingleHostReverseProxy(u)
	in.proxy.Transport = transport
	in.proxy.ErrorHandler = proxyError
	return in, nil
}

// exitError is the error of an instance that ended too early.
func (in *instance) exitError(service, when string) error {
	msg := fmt.Sprintf("%s %s %s", in.name(service), in.exitDesc, when)
	if t := in.stderr.last(); t != "" {
		// The demo service names itself; say it once.
		t = strings.TrimPrefix(t, "demo-service: ")
		t = strings.TrimPrefix(t, in.name(service)+": ")
		msg += ": " + t
	}
	return errors.New(msg)
}

// waitHealthy polls /healthz until it answers 200, the process exits,
// or timeout passes.
func (in *instance) waitHealthy(ctx context.Context, client *http.Client, service string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	interval := 10 * time.Millisecond
	last := "no answer yet"
	for {
		code, err := probe(ctx, client, in.addr)
		switch {
		case err == nil && code == http.StatusOK:
			in.ready.Store(true)
			return nil
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("/healthz answered %d", code)
		}
		select {
		case <-in.done:
			return in.exitError(service, "before becoming healthy")
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%s (pid %d) did not become healthy within %s (last: %s)", in.name(service), in.pid, timeout, last)
		case <-time.After(interval):
		}
		interval = min(interval*2, 250*time.Millisecond)
	}
}

// probe asks an instance's /healthz.
func probe(ctx context.Context, client *http.Client, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// stop ends the instance gracefully: SIGTERM, then SIGKILL after grace.
// It returns once the process is reaped.
func (in *instance) stop(grace time.Duration) {
	in.stopping.Store(true)
	in.ready.Store(false)
	if in.exited() {
		return
	}
	// Process.Signal goes through a pidfd: it cannot hit a recycled pid.
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(grace):
		in.cmd.Process.Kill()
		<-in.done
	}
}

// kill ends the instance at once and waits for it.
func (in *instance) kill() {
	in.stopping.Store(true)
	in.ready.Store(false)
	if !in.exited() {
		in.cmd.Process.Kill()
	}
	<-in.done
}

// tail keeps the last lines written to it (a process's stderr).
type tail struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := strings.IndexByte(string(t.partial), '\n')
		if i < 0 {
			break
		}
		t.add(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	if len(t.partial) > 4096 {
		t.add(string(t.partial))
		t.partial = nil
	}
	return len(p), nil
}

func (t *tail) add(line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// last returns the last line, including an unfinished one.
func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := strings.TrimSpace(string(t.partial)); s != "" {
		return s
	}
	if len(t.lines) == 0 {
		return ""
	}
	return t.lines[len(t.lines)-1]
}

// profileVars shape a healthy demo-service (its base errors and its own
// latency); the fleet passes those of its environment on to every
// instance, so that tests can ask for a perfect service (0 and 0) and
// count exactly.
var profileVars = []string{"DEMO_BASE_ERROR_RATE", "DEMO_MEDIAN_LATENCY", "DEMO_LATENCY_SIGMA"}

func profileEnv() []string {
	var out []string
	for _, k := range profileVars {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}
