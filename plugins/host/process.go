package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/warroom/warroom/plugins/sdk"
)

// killGrace is how long a plugin asked to stop gets before it is killed.
// go-plugin waits up to 2s itself after asking the plugin to shut down.
const killGrace = 5 * time.Second

// process starts the plugin's process and connects to it. The process:
//   - runs the binary at exe only if its SHA-256 is sum (go-plugin's
//     SecureConfig hashes it again right before exec);
//   - gets env as its whole environment (SkipHostEnv): warroom's own
//     variables, credentials included, are not handed down;
//   - is the leader of its own process group, so that killing it kills
//     what it spawned (the exec plugin runs shell commands), and a Ctrl-C
//     in warroom's terminal reaches warroom only, which stops plugins
//     itself;
//   - gets SIGKILL when warroom dies, even by SIGKILL (Pdeathsig).
//
// Pdeathsig is tied to the OS thread that forked the child, not to the
// process, so the fork happens on a goroutine locked to its thread that
// stays blocked until release is closed, after the process is gone.
// Returning from a locked goroutine without unlocking makes the runtime
// retire the thread instead of reusing it, which is what we want: a
// reused thread that later exits would kill nothing (the child is gone),
// but keeping the rule simple costs one thread per running plugin.
func (p *Plugin) process(ctx context.Context, exe, sum string, env []string, startTimeout time.Duration, logger hclog.Logger) error {
	checksum, err := hex.DecodeString(sum)
	if err != nil {
		return fmt.Errorf("checksum %q: %w", sum, err)
	}
	// procCtx is the process's lifetime: cancelling it kills the process
	// group (cmd.Cancel below), which is also how a start in progress is
	// abandoned when ctx ends.
	procCtx, cancel := context.WithCancel(context.Background())
	p.cancelProc = cancel
	cmd := exec.CommandContext(procCtx, exe)
	// go-plugin appends to Env: give it a slice of its own.
	cmd.Env = slices.Clip(slices.Clone(env))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		// Called by os/exec before Wait returns, so the pid is not yet
		// reaped and cannot name another process group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	p.cmd = cmd

	out := logger.StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Info})
	p.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginSet(),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: checksum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		// Not managed: the Host (or the owner of a Launch) kills its
		// plugins and waits for them; go-plugin's global CleanupClients
		// would be a second owner.
		Managed:      false,
		SkipHostEnv:  true,
		StartTimeout: startTimeout,
		Logger:       logger,
		SyncStdout:   out,
		SyncStderr:   out,
	})

	p.release = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		_, err := p.client.Start()
		started <- err
		<-p.release
	}()
	select {
	case err = <-started:
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
	case <-ctx.Done():
		cancel()
		<-started
		err = ctx.Err()
	}
	if err != nil {
		p.abandon()
		return err
	}
	p.pid = cmd.Process.Pid // set by Start, which has returned

	rpc, err := p.client.Client()
	if err == nil {
		var ok bool
		if p.rpc, ok = rpc.(*plugin.GRPCClient); !ok {
			err = fmt.Errorf("plugin speaks %T, not gRPC", rpc)
		}
	}
	var raw any
	if err == nil {
		raw, err = p.rpc.Dispense(sdk.PluginName)
	}
	if err == nil {
		var ok bool
		if p.conn, ok = raw.(*sdk.Conn); !ok {
			err = fmt.Errorf("dispensed %T, not *sdk.Conn", raw)
		}
	}
	if err != nil {
		p.abandon()
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// abandon cleans up after a start that failed: the process (if any) is
// killed and reaped, and the locked thread let go.
func (p *Plugin) abandon() {
	p.cancelProc()
	p.client.Kill()
	close(p.release)
	p.removeTempState()
	close(p.gone)
}

// reap stops the process and waits for it. A graceful stop asks the
// plugin to shut down (go-plugin's Kill) and kills it if it has not
// exited within killGrace; otherwise the process group is killed first.
func (p *Plugin) reap(graceful bool) {
	if !graceful {
		p.cancelProc()
	}
	done := make(chan struct{})
	go func() {
		// go-plugin's Kill closes the connection, waits for the process
		// and for its own goroutines.
		p.client.Kill()
		close(done)
	}()
	if graceful {
		t := time.NewTimer(killGrace)
		select {
		case <-done:
		case <-t.C:
			p.logger.Warn("plugin did not stop in time; killing it", "grace", killGrace)
			p.cancelProc()
			<-done
		}
		t.Stop()
	} else {
		<-done
	}
	p.cancelProc() // releases the context; the process is gone
	close(p.release)
	p.removeTempState()
	close(p.gone)
}

func (p *Plugin) removeTempState() {
	if p.tempState != "" {
		if err := os.RemoveAll(p.tempState); err != nil {
			p.logger.Warn("remove temporary state directory", "dir", p.tempState, "error", err)
		}
	}
}

// exitStatus describes how the process ended ("exit status 2", "signal:
// killed"), if it has.
func (p *Plugin) exitStatus() (string, bool) {
	if !p.client.Exited() {
		return "", false
	}
	// go-plugin sets Exited under its lock after cmd.Wait returned, so
	// ProcessState is safe to read once Exited has been seen.
	if ps := p.cmd.ProcessState; ps != nil {
		return ps.String(), true
	}
	return "exited", true
}

// startFault turns an error of process into a *CallError.
func (p *Plugin) startFault(call string, err error) error {
	if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		// The binary changed between our check and the exec.
		now, _ := Checksum(p.path)
		return p.newError(call, FaultUntrusted, &TrustError{Plugin: p.name, Path: p.path, SHA256: now, Trusted: p.sum})
	}
	return p.newError(call, FaultHandshake, &startError{err: err})
}
