package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/warroom/warroom/plugins/sdk"
)

// backend is where a hardened client's calls go: a Host's supervisor
// (which starts the plugin on first use and again after a fault) or one
// launched *Plugin.
type backend interface {
	acquire(ctx context.Context, call string) (*Plugin, error)
}

// unary makes one call with the plugin's deadline and checks the answer.
func unary[T any](ctx context.Context, b backend, call string, fn func(context.Context, *sdk.Conn) (T, error), check func(T) error) (T, error) {
	p, err := b.acquire(ctx, call)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := unaryOn(ctx, p, call, fn, check)
	if err != nil {
		observe(b, err)
	}
	return v, err
}

// faultObserver is a backend that wants to know how calls failed (a
// Host's supervisor, which logs refusals).
type faultObserver interface{ observed(err error) }

func observe(b backend, err error) {
	if o, ok := b.(faultObserver); ok {
		o.observed(err)
	}
}

func unaryOn[T any](ctx context.Context, p *Plugin, call string, fn func(context.Context, *sdk.Conn) (T, error), check func(T) error) (T, error) {
	var zero T
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, err := fn(cctx, p.conn)
	if err != nil {
		var timedOut error
		// gRPC sends the deadline to the plugin, whose side may end the
		// call a moment before ours does: its DeadlineExceeded counts
		// when our deadline is that close.
		ours, _ := cctx.Deadline()
		theirsFirst := status.Code(err) == codes.DeadlineExceeded && time.Until(ours) < max(p.timeout/20, 50*time.Millisecond)
		if ctx.Err() == nil && (cctx.Err() != nil || theirsFirst) {
			if theirs, ok := ctx.Deadline(); ok && !theirs.After(ours) {
				// The caller's deadline came first: not the plugin's fault.
				return zero, fmt.Errorf("plugin %s: %s: %w", p.name, call, context.DeadlineExceeded)
			}
			timedOut = &timeoutError{after: p.timeout}
		}
		return zero, p.classify(ctx, call, err, timedOut)
	}
	if check != nil {
		if err := check(v); err != nil {
			return zero, p.fail(call, FaultMalformed, err)
		}
	}
	return v, nil
}

// stream runs a server-streaming call (Deploy, Rollback, Watch) that has
// no overall deadline but must not go quiet: if no event arrives for the
// plugin's idle timeout, the stream is cancelled and the call fails with
// FaultTimeout. fn wraps the caller's sink with the guard, which notes
// each event and the caller's own errors.
func stream(ctx context.Context, b backend, call string, fn func(context.Context, *sdk.Conn, *guard) error) error {
	p, err := b.acquire(ctx, call)
	if err != nil {
		return err
	}
	err = streamOn(ctx, p, call, fn)
	if err != nil {
		observe(b, err)
	}
	return err
}

func streamOn(ctx context.Context, p *Plugin, call string, fn func(context.Context, *sdk.Conn, *guard) error) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g := &guard{cancel: cancel}
	wd := g.watch(p.idle, func() { cancel(&timeoutError{after: p.idle, idle: true}) })
	err := fn(sctx, p.conn, g)
	wd.stop()

	if sinkErr := g.sinkError(); sinkErr != nil {
		return sinkErr // the caller's sink failed: not the plugin's doing
	}
	if ctx.Err() != nil {
		return fmt.Errorf("plugin %s: %s: %w", p.name, call, ctx.Err())
	}
	cause := context.Cause(sctx)
	var te *timeoutError
	if errors.As(cause, &te) {
		return p.fail(call, FaultTimeout, te)
	}
	var me *malformedError
	if errors.As(cause, &me) {
		return p.fail(call, FaultMalformed, me)
	}
	if err != nil {
		return p.classify(ctx, call, err, nil)
	}
	return nil
}

// guard is what a stream's sink wrapper reports to.
type guard struct {
	cancel context.CancelCauseFunc
	seen   atomic.Bool

	mu      sync.Mutex
	sinkErr error
}

// event notes that the stream is alive. It is on the path of every
// sample of a Watch, so it costs an atomic load when nothing changed.
func (g *guard) event() {
	if !g.seen.Load() {
		g.seen.Store(true)
	}
}

// malformed ends the stream because the plugin broke the contract; the
// returned error is for the SDK's client, which stops reading.
func (g *guard) malformed(err error) error {
	g.cancel(err)
	return err
}

// sinkFailed records an error of the caller's own sink, which the call
// returns as it is.
func (g *guard) sinkFailed(err error) error {
	g.mu.Lock()
	if g.sinkErr == nil {
		g.sinkErr = err
	}
	g.mu.Unlock()
	return err
}

func (g *guard) sinkError() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sinkErr
}

// watchdog fires when a guard has seen no event for idle. It checks every
// idle/8, so it fires between idle and idle*9/8 after the last event: a
// timer reset per event would cost more than the events on a busy Watch.
type watchdog struct {
	done chan struct{}
	once sync.Once
}

func (g *guard) watch(idle time.Duration, fire func()) *watchdog {
	w := &watchdog{done: make(chan struct{})}
	tick := max(idle/8, time.Millisecond)
	go func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-w.done:
				return
			case now := <-t.C:
				if g.seen.Swap(false) {
					last = now
				} else if now.Sub(last) >= idle {
					fire()
					return
				}
			}
		}
	}()
	return w
}

func (w *watchdog) stop() { w.once.Do(func() { close(w.done) }) }

// classify turns the error of a call into what the caller gets:
//   - the caller's own cancellation stays that (not a fault);
//   - our deadline passing is FaultTimeout;
//   - an answer of the plugin (*sdk.Error) is FaultRefused, unless the
//     process turns out to be gone (a transport failure may surface as
//     Internal or Unavailable);
//   - an answer the SDK could not accept is FaultMalformed;
//   - a dead process or a broken connection is FaultCrashed.
func (p *Plugin) classify(ctx context.Context, call string, err, timedOut error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("plugin %s: %s: %w", p.name, call, ctx.Err())
	}
	if timedOut != nil {
		return p.fail(call, FaultTimeout, timedOut)
	}
	if err := p.stoppedErr(call); err != nil {
		return err // stopped under the call: by Kill, or by another call's fault
	}
	var se *sdk.Error
	isAnswer := errors.As(err, &se)
	if isAnswer && se.Code != sdk.CodeInternal && se.Code != sdk.CodeUnavailable {
		return p.newError(call, FaultRefused, se) // clearly the plugin talking
	}
	if exit, dead := p.dead(); dead {
		return p.fail(call, FaultCrashed, &crashError{exit: exit, err: err})
	}
	switch {
	case isAnswer:
		return p.newError(call, FaultRefused, se)
	case errors.Is(err, sdk.ErrMalformed):
		return p.fail(call, FaultMalformed, err)
	}
	st, isStatus := status.FromError(err)
	switch {
	case !isStatus:
	case st.Code() == codes.DeadlineExceeded:
		// The plugin's own deadline, or one of a plugin not built with
		// the SDK: a hang all the same.
		return p.fail(call, FaultTimeout, err)
	case st.Code() == codes.Unavailable, st.Code() == codes.Canceled, st.Code() == codes.Aborted:
		// The connection broke although the process answers pings.
		return p.fail(call, FaultCrashed, &crashError{err: err})
	case st.Code() == codes.Unknown:
		// A handler of a plugin not built with the SDK returned a plain
		// error: the plugin answered.
		return p.newError(call, FaultRefused, &sdk.Error{Code: sdk.CodeInternal, Message: st.Message()})
	}
	return p.fail(call, FaultMalformed, fmt.Errorf("malformed answer: %w", err))
}

// pingTimeout bounds the health check that tells a dead plugin from one
// that answered with an error.
const pingTimeout = time.Second

// dead reports whether the process is gone or unreachable, waiting a
// little for a process that is going: a crash is usually seen by the
// connection before the process is reaped.
func (p *Plugin) dead() (exit string, dead bool) {
	if exit, ok := p.exitStatus(); ok {
		return exit, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	_, err := grpc_health_v1.NewHealthClient(p.rpc.Conn).Check(ctx,
		&grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err == nil {
		return "", false
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if exit, ok := p.exitStatus(); ok {
			return exit, true
		}
		select {
		case <-ctx.Done():
			return "", true // unreachable, though not (yet) seen exiting
		case <-t.C:
		}
	}
}
