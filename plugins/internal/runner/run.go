package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// MinimalPath is the PATH of every command: the host's own PATH is
	// not passed on, so a command behaves the same whoever started
	// warroom.
	MinimalPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// MaxStdout bounds what a command run with KeepStdout may print.
	MaxStdout = 8 << 20
	// DefaultKillGrace is how long a timed-out or cancelled command has
	// between SIGTERM and SIGKILL to clean up.
	DefaultKillGrace = 5 * time.Second

	// stderrTailLines is how much of stderr a failure message quotes.
	stderrTailLines = 20
	// maxLineBytes cuts over-long output lines into pieces.
	maxLineBytes = 64 << 10
)

// ErrCancelled marks a run stopped because the caller's context ended.
var ErrCancelled = errors.New("cancelled")

// Environ returns a command's whole environment: PATH=MinimalPath, HOME
// (the plugin's own HOME, else home), LANG=C.UTF-8, then vars, which win
// over those three. The result is sorted.
func Environ(home string, vars map[string]string) []string {
	if h := os.Getenv("HOME"); h != "" {
		home = h
	}
	m := map[string]string{"PATH": MinimalPath, "HOME": home, "LANG": "C.UTF-8"}
	for k, v := range vars {
		m[k] = v
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Command is one program to run.
type Command struct {
	// Name is what messages call the command: "deploy command",
	// "ansible-playbook".
	Name string
	Path string   // the program
	Args []string // its arguments, without the program name
	Dir  string
	Env  []string // the whole environment; see Environ
	// Timeout is the time limit of the run; it must be positive.
	Timeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL; zero means
	// DefaultKillGrace.
	KillGrace time.Duration
	// OnLine receives each stdout line, in order, while the command runs.
	OnLine func(line string)
	// KeepStdout collects stdout whole (up to MaxStdout) instead of by
	// line.
	KeepStdout bool
}

// Result is how a command ended.
type Result struct {
	ExitCode int    // -1 when a signal ended it
	Signal   string // the signal that ended it, if any
	TimedOut bool
	Stdout   []byte // with KeepStdout
	// StdoutCut: stdout went past MaxStdout and was cut.
	StdoutCut  bool
	LastLine   string // last non-empty stdout line
	StderrTail []string
	Duration   time.Duration

	name    string
	timeout time.Duration
}

// OK reports a zero exit within the time limit.
func (r Result) OK() bool { return r.ExitCode == 0 && !r.TimedOut }

// Failure says why a command failed, with the tail of its stderr.
func (r Result) Failure() string {
	var msg string
	switch {
	case r.TimedOut:
		msg = fmt.Sprintf("%s timed out after %s and its process group was killed", r.name, r.timeout)
	case r.Signal != "":
		msg = fmt.Sprintf("%s was killed by signal %s", r.name, r.Signal)
	default:
		msg = fmt.Sprintf("%s exited with code %d", r.name, r.ExitCode)
	}
	if len(r.StderrTail) == 0 {
		return msg + " (no stderr output)"
	}
	return msg + "; last stderr lines:\n" + strings.Join(r.StderrTail, "\n")
}

// Run runs one command in its own process group. A non-zero exit or a
// timeout is a result, not an error; the error is for a command that
// could not start or whose context ended (wrapping ErrCancelled).
//
// A command that outlives its timeout, or whose context ends, gets
// SIGTERM with its whole group, and the group gets SIGKILL once the
// command has exited or the grace has passed. Background processes a
// command leaves after a successful exit are left alone, but they must
// not hold its stdout or stderr open past the grace.
func Run(ctx context.Context, c Command) (Result, error) {
	grace := c.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	tctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()

	cmd := exec.CommandContext(tctx, c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	// Its own process group, so that a timeout reaches everything the
	// command started, not just the command.
	// Pdeathsig: a command dies with the plugin, also when the plugin is
	// SIGKILLed (with warroom), so no script outlives a crash and runs on
	// unrecorded.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var killed atomic.Bool
	cmd.Cancel = func() error {
		killed.Store(true)
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	// After the grace, Wait kills the command and stops waiting for
	// output held open by its descendants; the group gets SIGKILL below.
	cmd.WaitDelay = grace

	res := Result{name: c.Name, timeout: c.Timeout}
	var stdoutBuf *cappedBuffer
	var stdoutLines *lineWriter
	if c.KeepStdout {
		stdoutBuf = &cappedBuffer{max: MaxStdout}
		cmd.Stdout = stdoutBuf
	} else {
		stdoutLines = &lineWriter{onLine: func(line string) {
			if strings.TrimSpace(line) != "" {
				res.LastLine = line
			}
			if c.OnLine != nil {
				c.OnLine(line)
			}
		}}
		cmd.Stdout = stdoutLines
	}
	var tail []string
	stderr := &lineWriter{onLine: func(line string) {
		if len(tail) == stderrTailLines {
			tail = append(tail[:0], tail[1:]...)
		}
		tail = append(tail, line)
	}}
	cmd.Stderr = stderr

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("%s: starting %s: %w", c.Name, c.Path, err)
	}
	pgid := cmd.Process.Pid
	waitErr := cmd.Wait()
	if killed.Load() {
		// Whatever ignored SIGTERM or outlived the command goes now.
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
	res.Duration = time.Since(start)
	if stdoutLines != nil {
		stdoutLines.close()
	} else {
		res.Stdout, res.StdoutCut = stdoutBuf.bytes(), stdoutBuf.truncated()
	}
	stderr.close()
	res.StderrTail = tail

	ps := cmd.ProcessState
	if ps == nil {
		return res, fmt.Errorf("%s: %w", c.Name, waitErr)
	}
	res.ExitCode = ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal().String()
	}
	if killed.Load() {
		if ctx.Err() != nil {
			return res, fmt.Errorf("%s %w (%v); its process group was killed", c.Name, ErrCancelled, context.Cause(ctx))
		}
		// Even a clean exit after SIGTERM is an interrupted step.
		res.TimedOut = true
	}
	return res, nil
}

// lineWriter splits what a command writes into lines. Writes may come
// from exec's copying goroutine after Wait gave up on it, hence the lock
// and the closed flag.
type lineWriter struct {
	mu     sync.Mutex
	buf    []byte
	onLine func(string)
	closed bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if w.closed {
		return n, nil
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			for len(w.buf) >= maxLineBytes {
				w.onLine(string(w.buf[:maxLineBytes]))
				w.buf = append(w.buf[:0], w.buf[maxLineBytes:]...)
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) emit() {
	line := strings.TrimSuffix(string(w.buf), "\r")
	w.buf = w.buf[:0]
	w.onLine(line)
}

// close hands over a last unterminated line and ignores later writes.
func (w *lineWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if len(w.buf) > 0 {
		w.emit()
	}
	w.closed = true
}

// cappedBuffer keeps the first max bytes written and notes an overflow.
type cappedBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); len(p) > room {
		b.buf.Write(p[:max(room, 0)])
		b.overflow = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *cappedBuffer) truncated() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.overflow
}
