package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// stderrTailLines is how much of stderr a failure message quotes.
	stderrTailLines = 20
	// maxLineBytes cuts over-long output lines into pieces.
	maxLineBytes = 64 << 10
	// maxStdoutBytes bounds the JSON a status command may print.
	maxStdoutBytes = 8 << 20
)

// errCancelled marks a run stopped because the caller's context ended.
var errCancelled = errors.New("cancelled")

// runSpec is one command to run.
type runSpec struct {
	phase   string
	command string
	env     []string
	// onLine receives each stdout line, in order, while the command runs.
	onLine func(line string)
	// keepStdout collects stdout whole instead of by line (status).
	keepStdout bool
}

// runResult is how a command ended.
type runResult struct {
	exitCode int    // -1 when a signal ended it
	signal   string // the signal that ended it, if any
	timedOut bool
	stdout   []byte // with keepStdout
	// stdoutCut: stdout went past maxStdoutBytes and was cut.
	stdoutCut  bool
	lastLine   string // last non-empty stdout line
	stderrTail []string
	duration   time.Duration
}

func (r runResult) ok() bool { return r.exitCode == 0 && !r.timedOut }

// failure says why a command failed, with the tail of its stderr.
func (r runResult) failure(phase string, timeout time.Duration) string {
	var msg string
	switch {
	case r.timedOut:
		msg = fmt.Sprintf("%s command timed out after %s and its process group was killed", phase, timeout)
	case r.signal != "":
		msg = fmt.Sprintf("%s command was killed by signal %s", phase, r.signal)
	default:
		msg = fmt.Sprintf("%s command exited with code %d", phase, r.exitCode)
	}
	if len(r.stderrTail) == 0 {
		return msg + " (no stderr output)"
	}
	return msg + "; last stderr lines:\n" + strings.Join(r.stderrTail, "\n")
}

// runCommand runs one command in its own process group. A non-zero exit
// or a timeout is a result, not an error; the error is for a command that
// could not start or whose context ended (wrapping errCancelled).
func runCommand(ctx context.Context, c config, grace time.Duration, s runSpec) (runResult, error) {
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	cmd := exec.CommandContext(tctx, c.shell, "-c", s.command)
	cmd.Dir = c.workdir
	cmd.Env = s.env
	// Its own process group, so that a timeout reaches everything the
	// script started, not just the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var killed atomic.Bool
	cmd.Cancel = func() error {
		killed.Store(true)
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	// After the grace, Wait kills the shell and stops waiting for output
	// held open by its descendants; the group gets SIGKILL below.
	cmd.WaitDelay = grace

	var res runResult
	var stdoutBuf *cappedBuffer
	var stdoutLines *lineWriter
	if s.keepStdout {
		stdoutBuf = &cappedBuffer{max: maxStdoutBytes}
		cmd.Stdout = stdoutBuf
	} else {
		stdoutLines = &lineWriter{onLine: func(line string) {
			if strings.TrimSpace(line) != "" {
				res.lastLine = line
			}
			if s.onLine != nil {
				s.onLine(line)
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
		return runResult{}, fmt.Errorf("%s command: starting %s: %w", s.phase, c.shell, err)
	}
	pgid := cmd.Process.Pid
	waitErr := cmd.Wait()
	if killed.Load() {
		// Whatever ignored SIGTERM or outlived the shell goes now.
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
	res.duration = time.Since(start)
	if stdoutLines != nil {
		stdoutLines.close()
	} else {
		res.stdout, res.stdoutCut = stdoutBuf.bytes(), stdoutBuf.truncated()
	}
	stderr.close()
	res.stderrTail = tail

	ps := cmd.ProcessState
	if ps == nil {
		return res, fmt.Errorf("%s command: %w", s.phase, waitErr)
	}
	res.exitCode = ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.signal = ws.Signal().String()
	}
	if killed.Load() {
		if ctx.Err() != nil {
			return res, fmt.Errorf("%s command %w (%v); its process group was killed", s.phase, errCancelled, context.Cause(ctx))
		}
		// Even a clean exit after SIGTERM is an interrupted step.
		res.timedOut = true
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
