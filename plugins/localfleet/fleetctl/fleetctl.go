// Package fleetctl talks to the supervisor of a local fleet: the detached
// process, started by the localfleet plugin, that runs the fleet's
// demo-service instances and weighted proxies so that they outlive the
// plugin process. The plugin reaches the supervisor through it, and
// warroom stops a fleet deliberately with Stop.
//
// The supervisor of a state dir listens on the Unix socket
// <state dir>/supervisor.sock (0600, in a 0700 dir: only its owner can
// talk to it) and holds an flock on <state dir>/supervisor.lock for as
// long as it lives. The protocol is HTTP/1.1 with JSON bodies: POST
// /v1/METHOD with the request, answered by {"result": ...} or
// {"error": {"code": N, "message": "..."}}; the deployment methods answer
// with one JSON object a line, {"event": ...} for each progress event and
// a last {"result": {}} or {"error": ...}.
package fleetctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// Files of the supervisor in the fleet's state dir.
const (
	SocketFile = "supervisor.sock"
	LockFile   = "supervisor.lock"
	LogFile    = "supervisor.log"
	// FleetLockFile is held by the plugin process that drives the fleet
	// (one warroom at a time).
	FleetLockFile = "fleet.lock"
)

// Protocol is the version of the supervisor's protocol. A plugin meeting
// a supervisor of another protocol (the plugin was rebuilt while its
// fleet ran) refuses to drive it and says how to stop it.
const Protocol = 1

// Hello is what a supervisor says about itself.
type Hello struct {
	Protocol  int       `json:"protocol"`
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	StateDir  string    `json:"state_dir"`
	// Processes is how many demo-service processes the fleet runs.
	Processes int `json:"processes"`
}

// Stopped is what a supervisor stopped before it exited.
type Stopped struct {
	PID       int `json:"pid"`
	Processes int `json:"processes"`
	Proxies   int `json:"proxies"`
}

// WireError is an error as the supervisor sends it: the sdk code and the
// message.
type WireError struct {
	Code    sdk.Code `json:"code"`
	Message string   `json:"message"`
}

// Envelope is one answer, or one line of a deployment's answer.
type Envelope struct {
	Event  *sdk.DeployEvent `json:"event,omitempty"`
	Result json.RawMessage  `json:"result,omitempty"`
	Error  *WireError       `json:"error,omitempty"`
}

// ErrNotRunning is matched (errors.Is) by a call that found no supervisor
// listening: nothing was sent, so the call can be made again once one
// runs.
var ErrNotRunning = errors.New("no supervisor runs")

// Client calls the supervisor of one state dir.
type Client struct {
	stateDir string
	hc       *http.Client
}

// New returns a client of the supervisor of stateDir (nothing is
// connected yet).
func New(stateDir string) *Client {
	c := &Client{stateDir: stateDir}
	c.hc = &http.Client{Transport: &http.Transport{
		Proxy:       nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx) },
		// A connection per call (a Unix socket connects in microseconds):
		// an idle one kept from a supervisor since gone would fail the
		// next call as sent when it was not.
		DisableKeepAlives: true,
	}}
	return c
}

// SocketPath is the supervisor's socket.
func (c *Client) SocketPath() string { return filepath.Join(c.stateDir, SocketFile) }

// maxSocketPath is the longest path connect(2) takes (sun_path is 108
// bytes with the terminating NUL); a longer one is reached through
// /proc/self/fd.
const maxSocketPath = 107

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	path := c.SocketPath()
	if len(path) <= maxSocketPath {
		conn, err := d.DialContext(ctx, "unix", path)
		return conn, notRunning(err)
	}
	dir, err := os.Open(c.stateDir)
	if err != nil {
		return nil, notRunning(err)
	}
	defer dir.Close()
	conn, err := d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(int(dir.Fd()))+"/"+SocketFile)
	return conn, notRunning(err)
}

// notRunning marks the errors of a connect that found nobody listening.
func notRunning(err error) error {
	if err != nil && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) {
		return fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	return err
}

// supervisorAlive reports whether the process that holds the state
// dir's supervisor lock still runs (a zombie does not).
func (c *Client) supervisorAlive() bool {
	pid := LockHolder(filepath.Join(c.stateDir, LockFile))
	if pid == "unknown" {
		return false
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// Hello asks the supervisor who it is.
func (c *Client) Hello(ctx context.Context) (Hello, error) {
	var h Hello
	err := c.Call(ctx, "hello", struct{}{}, &h)
	return h, err
}

// Call makes one call: an answer of the supervisor is returned as an
// *sdk.Error; a failure to reach it wraps ErrNotRunning (nobody listens)
// or the transport's error.
func (c *Client) Call(ctx context.Context, method string, in, out any) error {
	return c.do(ctx, method, in, func(env Envelope) error {
		if env.Result != nil && out != nil {
			if err := json.Unmarshal(env.Result, out); err != nil {
				return fmt.Errorf("the supervisor's answer to %s: %w", method, err)
			}
		}
		return nil
	}, false)
}

// SinkError is returned by Stream when onEvent failed (the caller's
// stream went away), as opposed to the supervisor.
type SinkError struct{ Err error }

func (e *SinkError) Error() string { return e.Err.Error() }
func (e *SinkError) Unwrap() error { return e.Err }

// Stream makes a deployment call, handing each event to onEvent as it
// comes; an error of onEvent ends the call as a *SinkError.
func (c *Client) Stream(ctx context.Context, method string, in any, onEvent func(sdk.DeployEvent) error) error {
	return c.do(ctx, method, in, func(env Envelope) error {
		if env.Event != nil {
			if err := onEvent(*env.Event); err != nil {
				return &SinkError{Err: err}
			}
		}
		return nil
	}, true)
}

func (c *Client) do(ctx context.Context, method string, in any, handle func(Envelope) error, stream bool) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://supervisor/v1/"+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if !errors.Is(err, ErrNotRunning) && errors.Is(err, syscall.ECONNRESET) && !c.supervisorAlive() {
			// Connected to a supervisor in its last moments (its socket
			// still listened): reset before any answer, and it is gone.
			// Its fleet died with it, so this is a call that found no
			// supervisor, not one lost in a live one.
			err = fmt.Errorf("%w: %w", ErrNotRunning, err)
		}
		if errors.Is(err, ErrNotRunning) {
			return fmt.Errorf("%s: %w", c.SocketPath(), err)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("the supervisor answered %s to %s: %s", resp.Status, method, strings.TrimSpace(string(b)))
	}
	r := bufio.NewReaderSize(resp.Body, 64*1024)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var env Envelope
			if jerr := json.Unmarshal(line, &env); jerr != nil {
				return fmt.Errorf("the supervisor's answer to %s: %w", method, jerr)
			}
			if env.Error != nil {
				return &sdk.Error{Code: env.Error.Code, Message: env.Error.Message}
			}
			if herr := handle(env); herr != nil {
				return herr
			}
			if env.Result != nil || !stream {
				return nil
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("the supervisor ended its answer to %s before its outcome (it stopped or died)", method)
			}
			return err
		}
	}
}

// CloseIdle closes the client's idle connections.
func (c *Client) CloseIdle() { c.hc.CloseIdleConnections() }

// Stop stops the supervisor of stateDir, if one runs: every instance and
// proxy of the fleet stops (SIGTERM, then SIGKILL after a grace) and is
// reaped before the supervisor exits, and Stop returns once the
// supervisor is gone (its lock is free). With no supervisor it does
// nothing and returns a zero Stopped.
func Stop(ctx context.Context, stateDir string) (Stopped, error) {
	c := New(stateDir)
	defer c.CloseIdle()
	var st Stopped
	err := c.Call(ctx, "shutdown", struct{}{}, &st)
	switch {
	case errors.Is(err, ErrNotRunning):
		// No one listens; one may still be starting or exiting: wait for
		// its lock.
	case err != nil:
		return st, fmt.Errorf("localfleet: stop the supervisor of %s: %w", stateDir, err)
	}
	if err := WaitGone(ctx, stateDir); err != nil {
		return st, err
	}
	// The kernel frees the lock as the process exits, an instant before
	// it is gone: wait for that too, so that nothing of the fleet runs
	// when Stop returns.
	if st.PID > 0 {
		if err := waitExited(ctx, st.PID); err != nil {
			return st, fmt.Errorf("localfleet: the supervisor of %s (pid %d) has not exited: %w", stateDir, st.PID, err)
		}
	}
	return st, nil
}

// waitExited returns once pid is gone or a zombie (it runs nothing; its
// parent reaps it).
func waitExited(ctx context.Context, pid int) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if exited(pid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func exited(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// ErrDriven is returned by StopUndriven when a plugin process (another
// warroom) drives the fleet.
var ErrDriven = errors.New("a warroom process drives the local fleet")

// StopUndriven stops the fleet of stateDir unless the plugin process of
// another warroom drives it (holds the fleet lock; self is the calling
// warroom's pid, whose own plugin may hold it): warroom calls it when it
// ends and nothing needs the fleet any more. While it stops a fleet no
// plugin drives it holds the fleet lock, so that none adopts the fleet
// being stopped.
func StopUndriven(ctx context.Context, stateDir string, self int) (Stopped, error) {
	path := filepath.Join(stateDir, FleetLockFile)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return Stopped{}, nil // no plugin ever ran here: no fleet either
	}
	if err != nil {
		return Stopped{}, fmt.Errorf("localfleet: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := readSmall(path)
			if !strings.Contains(holder, "warroom_pid="+strconv.Itoa(self)+"\n") {
				return Stopped{}, fmt.Errorf("%w (%s)", ErrDriven, strings.Join(strings.Fields(holder), ", "))
			}
			// This warroom's own plugin: stopping the fleet while it
			// lives lets it reap the supervisor it started.
			return Stop(ctx, stateDir)
		}
		return Stopped{}, fmt.Errorf("localfleet: lock %s: %w", path, err)
	}
	return Stop(ctx, stateDir)
}

func readSmall(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 256 {
		b = b[:256]
	}
	return string(b)
}

// Running reports whether a supervisor holds the lock of stateDir.
func Running(stateDir string) bool {
	free, _, err := lockFree(filepath.Join(stateDir, LockFile))
	return err == nil && !free
}

// WaitGone returns once no supervisor holds the lock of stateDir.
func WaitGone(ctx context.Context, stateDir string) error {
	path := filepath.Join(stateDir, LockFile)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		free, holder, err := lockFree(path)
		if err != nil || free {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localfleet: the supervisor of %s (pid %s) has not exited: %w", stateDir, holder, ctx.Err())
		case <-t.C:
		}
	}
}

// lockFree reports whether nobody holds the lock at path (a missing
// file is free), and who holds it if someone does.
func lockFree(path string) (bool, string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("localfleet: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, LockHolder(path), nil
		}
		return false, "", fmt.Errorf("localfleet: lock %s: %w", path, err)
	}
	return true, "", nil
}

// LockHolder reads the pid a supervisor wrote in its lock file
// ("unknown" if none).
func LockHolder(path string) string {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "supervisor_pid="); ok {
			if _, err := strconv.Atoi(v); err == nil {
				return v
			}
		}
	}
	return "unknown"
}
