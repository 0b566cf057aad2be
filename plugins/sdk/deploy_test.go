package sdk

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

func TestDeployOutcome(t *testing.T) {
	at := time.UnixMilli(1_750_000_000_123)
	afterDone := make(chan error, 2) // one per Deploy and Rollback
	tests := []struct {
		name    string
		deploy  func(ctx context.Context, events EventSink) error
		want    []DeployEvent // At zero: the SDK must have filled it
		wantErr string        // "": success; else the error's message
		code    Code          // the error's code (CodeInternal unless set)
	}{
		{
			name:   "success without events",
			deploy: func(context.Context, EventSink) error { return nil },
			want:   []DeployEvent{{Done: true, Percent: 100}},
		},
		{
			name: "progress then success",
			deploy: func(_ context.Context, events EventSink) error {
				if err := events.Send(DeployEvent{Phase: "pulling", Percent: 10, InstancesTotal: 3}); err != nil {
					return err
				}
				return events.Send(DeployEvent{At: at, Phase: "starting", Percent: 60, InstancesReady: 2, InstancesTotal: 3})
			},
			want: []DeployEvent{
				{Phase: "pulling", Percent: 10, InstancesTotal: 3},
				{At: at, Phase: "starting", Percent: 60, InstancesReady: 2, InstancesTotal: 3},
				{Done: true, Percent: 100},
			},
		},
		{
			name: "own done event stands",
			deploy: func(_ context.Context, events EventSink) error {
				return events.Send(DeployEvent{At: at, Done: true, Replayed: true, Percent: 100, Message: "already applied"})
			},
			want: []DeployEvent{{At: at, Done: true, Replayed: true, Percent: 100, Message: "already applied"}},
		},
		{
			name: "own failed done event",
			deploy: func(_ context.Context, events EventSink) error {
				return events.Send(DeployEvent{At: at, Done: true, Failed: true, Message: "crash loop", Percent: 30})
			},
			want:    []DeployEvent{{At: at, Done: true, Failed: true, Message: "crash loop", Percent: 30}},
			wantErr: "crash loop",
		},
		{
			name: "error after progress",
			deploy: func(_ context.Context, events EventSink) error {
				if err := events.Send(DeployEvent{At: at, Percent: 40}); err != nil {
					return err
				}
				return errors.New("image pull failed")
			},
			want: []DeployEvent{
				{At: at, Percent: 40},
				{Done: true, Failed: true, Percent: 40, Message: "image pull failed"},
			},
			wantErr: "image pull failed",
		},
		{
			// A done event has no code: the status carries it.
			name:    "refusal keeps its code",
			deploy:  func(context.Context, EventSink) error { return Errorf(CodeFailedPrecondition, "quota exceeded") },
			wantErr: "quota exceeded",
			code:    CodeFailedPrecondition,
		},
		{
			name: "unavailable after progress keeps its code",
			deploy: func(_ context.Context, events EventSink) error {
				if err := events.Send(DeployEvent{At: at, Percent: 10}); err != nil {
					return err
				}
				return Errorf(CodeUnavailable, "registry down")
			},
			want:    []DeployEvent{{At: at, Percent: 10}},
			wantErr: "registry down",
			code:    CodeUnavailable,
		},
		{
			name:    "internal is in-band",
			deploy:  func(context.Context, EventSink) error { return Errorf(CodeInternal, "disk full") },
			want:    []DeployEvent{{Done: true, Failed: true, Message: "disk full"}},
			wantErr: "disk full",
		},
		{
			name: "send after done is refused",
			deploy: func(_ context.Context, events EventSink) error {
				if err := events.Send(DeployEvent{At: at, Done: true, Percent: 100}); err != nil {
					return err
				}
				afterDone <- events.Send(DeployEvent{Percent: 5})
				return nil
			},
			want: []DeployEvent{{At: at, Done: true, Percent: 100}},
		},
		{
			name: "panic",
			deploy: func(_ context.Context, events EventSink) error {
				_ = events.Send(DeployEvent{At: at, Percent: 20})
				var m map[string]int
				m["x"]++
				return nil
			},
			want: []DeployEvent{
				{At: at, Percent: 20},
				{Done: true, Failed: true, Percent: 20, Message: "plugin panicked in DeployTarget.%s: assignment to entry in nil map"},
			},
			wantErr: "plugin panicked in DeployTarget.%s: assignment to entry in nil map",
		},
	}
	c, r := setup(t)
	for _, op := range []string{"Deploy", "Rollback"} {
		for _, tt := range tests {
			t.Run(op+"/"+tt.name, func(t *testing.T) {
				r.mu.Lock()
				r.deploy = tt.deploy
				r.mu.Unlock()
				var log eventLog
				start := time.Now().Truncate(time.Millisecond)
				var err error
				if op == "Deploy" {
					err = c.DeployTarget().Deploy(context.Background(), DeployRequest{}, &log)
				} else {
					err = c.DeployTarget().Rollback(context.Background(), RollbackRequest{}, &log)
				}
				end := time.Now()

				wantErr := strings.ReplaceAll(tt.wantErr, "%s", op)
				var e *Error
				switch {
				case wantErr == "" && err != nil:
					t.Errorf("err = %v, want success", err)
				case wantErr != "" && (!errors.As(err, &e) || e.Code != tt.code || e.Message != wantErr):
					t.Errorf("err = %#v, want *Error{%v, %q}", err, tt.code, wantErr)
				}
				got := log.events
				for i := range got {
					if i < len(tt.want) && tt.want[i].At.IsZero() {
						if got[i].At.Before(start) || got[i].At.After(end) {
							t.Errorf("event %d: At %v not filled with the time it was sent", i, got[i].At)
						}
						got[i].At = time.Time{}
					}
				}
				want := make([]DeployEvent, len(tt.want))
				for i, ev := range tt.want {
					ev.Message = strings.ReplaceAll(ev.Message, "%s", op)
					want[i] = ev
				}
				if (len(got) > 0 || len(want) > 0) && !reflect.DeepEqual(got, want) {
					t.Errorf("events\n got %+v\nwant %+v", got, want)
				}
			})
		}
	}
	for range 2 {
		if err := waitFor(t, afterDone, "Send after done"); !errors.Is(err, errSinkDone) {
			t.Errorf("Send after the done event: %v, want errSinkDone", err)
		}
	}
}

// failingSink refuses the events after the first.
type failingSink struct {
	n   int
	err error
}

func (s *failingSink) Send(DeployEvent) error {
	s.n++
	if s.n > 1 {
		return s.err
	}
	return nil
}

func TestDeployCallerStops(t *testing.T) {
	c, r := setup(t)
	stopped := make(chan error, 1)
	r.deploy = func(ctx context.Context, events EventSink) error {
		for i := 0; ; i++ {
			if err := events.Send(DeployEvent{Percent: i % 100}); err != nil {
				stopped <- err
				return err
			}
			if ctx.Err() != nil {
				stopped <- ctx.Err()
				return ctx.Err()
			}
		}
	}
	t.Run("sink refuses", func(t *testing.T) {
		sinkErr := errors.New("console closed")
		err := c.DeployTarget().Deploy(context.Background(), DeployRequest{}, &failingSink{err: sinkErr})
		if !errors.Is(err, sinkErr) {
			t.Errorf("err = %v, want the sink's error", err)
		}
		waitFor(t, stopped, "the plugin to see the deployment abandoned")
	})
	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		sink := sinkFunc(func(DeployEvent) error {
			if n++; n == 3 {
				cancel()
			}
			return nil
		})
		err := c.DeployTarget().Deploy(ctx, DeployRequest{}, sink)
		var e *Error
		if status.Code(err) != codes.Canceled || errors.As(err, &e) {
			t.Errorf("err = %T %v, want the gRPC Canceled error", err, err)
		}
		if got := waitFor(t, stopped, "the plugin to see the cancellation"); got == nil {
			t.Error("the plugin saw no error")
		}
	})
}

type sinkFunc func(DeployEvent) error

func (f sinkFunc) Send(ev DeployEvent) error { return f(ev) }

// waitFor waits for a value with a deadline rather than sleeping.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestDeployStreamWithoutFinalEvent(t *testing.T) {
	c := connectRaw(t, func(s *grpc.Server) {
		pb.RegisterDeployTargetServer(s, quitterTarget{})
	})
	var log eventLog
	for _, call := range []func() error{
		func() error { return c.DeployTarget().Deploy(context.Background(), DeployRequest{}, &log) },
		func() error { return c.DeployTarget().Rollback(context.Background(), RollbackRequest{}, &log) },
	} {
		err := call()
		var e *Error
		if err == nil || errors.As(err, &e) || !errors.Is(err, ErrMalformed) ||
			err.Error() != "plugin ended the deployment stream without a final event" {
			t.Errorf("err = %T %v, want the plain no-final-event error", err, err)
		}
	}
	if len(log.events) != 2 || log.events[0].Phase != "halfway" {
		t.Errorf("events %+v, want the event sent before the stream ended", log.events)
	}
}

// quitterTarget ends its deployment streams without a done event.
type quitterTarget struct {
	pb.UnimplementedDeployTargetServer
}

func (quitterTarget) Deploy(_ *pb.DeployRequest, s grpc.ServerStreamingServer[pb.DeployEvent]) error {
	return s.Send(&pb.DeployEvent{Phase: "halfway", Percent: 50})
}

func (quitterTarget) Rollback(_ *pb.RollbackRequest, s grpc.ServerStreamingServer[pb.DeployEvent]) error {
	return s.Send(&pb.DeployEvent{Phase: "halfway", Percent: 50})
}
