package sdk

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

// server is what the gRPC services of one plugin process share: the
// plugin and whether it has been configured.
type server struct {
	p   Plugin
	log hclog.Logger

	configureMu sync.Mutex // one Configure at a time
	configured  atomic.Bool
}

// ready refuses calls until Configure has succeeded, for plugins that
// take a configuration at all.
func (s *server) ready(method string) error {
	if s.p.Configure == nil || s.configured.Load() {
		return nil
	}
	return Errorf(CodeFailedPrecondition, "not configured: %s needs a successful Configure first", method)
}

// protect runs plugin code, turning a panic into a CodeInternal error that
// names the method; the stack goes to the log.
func (s *server) protect(method string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("plugin panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = Errorf(CodeInternal, "plugin panicked in %s: %v", method, r)
		}
	}()
	return fn()
}

// unary is the frame of every unary call but Info and Configure.
func (s *server) unary(ctx context.Context, method string, fn func() error) error {
	if err := s.ready(method); err != nil {
		return toStatus(ctx, err)
	}
	if err := s.protect(method, fn); err != nil {
		return toStatus(ctx, err)
	}
	return nil
}

// answer converts an answer with int fields, which may not fit the wire.
func answer[T any](e *enc, v T) (T, error) {
	if e.err != nil {
		var zero T
		return zero, Errorf(CodeInternal, "plugin answer: %v", e.err)
	}
	return v, nil
}

// ---- Provider ----

type providerServer struct {
	pb.UnimplementedProviderServer
	s *server
}

func (ps *providerServer) Info(context.Context, *pb.InfoRequest) (*pb.InfoResponse, error) {
	p := ps.s.p
	return infoToPB(Info{
		Name:        p.Name,
		Version:     p.Version,
		Description: p.Description,
		Kinds:       p.Kinds(),
		Settings:    p.Settings,
	}), nil
}

func (ps *providerServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	s := ps.s
	s.configureMu.Lock()
	defer s.configureMu.Unlock()
	cfg := configFromPB(req)
	err := s.protect("Provider.Configure", func() error {
		if s.p.Configure == nil {
			return checkSettings(s.p.Settings, cfg.Settings)
		}
		return s.p.Configure(ctx, cfg)
	})
	// The author may have applied part of refused settings: a failed
	// Configure leaves the plugin unconfigured rather than half-configured.
	s.configured.Store(err == nil)
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	return &pb.ConfigureResponse{}, nil
}

// checkSettings is the validation a plugin without a Configure func gets.
func checkSettings(specs []SettingSpec, settings map[string]string) error {
	known := make(map[string]bool, len(specs))
	var problems []string
	for _, s := range specs {
		known[s.Name] = true
		if _, ok := settings[s.Name]; s.Required && !ok {
			problems = append(problems, fmt.Sprintf("setting %q is required", s.Name))
		}
	}
	var unknown []string
	for name := range settings {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		problems = append(problems, fmt.Sprintf("unknown setting %q", name))
	}
	if len(problems) > 0 {
		return &Error{Code: CodeInvalid, Message: strings.Join(problems, "; ")}
	}
	return nil
}

// ---- DeployTarget ----

type deployTargetServer struct {
	pb.UnimplementedDeployTargetServer
	s    *server
	impl DeployTarget
}

func (d *deployTargetServer) Describe(ctx context.Context, _ *pb.DescribeTargetRequest) (out *pb.TargetCapabilities, err error) {
	err = d.s.unary(ctx, "DeployTarget.Describe", func() error {
		c, err := d.impl.Describe(ctx)
		if err != nil {
			return err
		}
		var e enc
		out, err = answer(&e, capabilitiesToPB(&e, c))
		return err
	})
	return out, err
}

func (d *deployTargetServer) Preflight(ctx context.Context, req *pb.PreflightRequest) (out *pb.PreflightResponse, err error) {
	err = d.s.unary(ctx, "DeployTarget.Preflight", func() error {
		checks, err := d.impl.Preflight(ctx, preflightRequestFromPB(req))
		if err != nil {
			return err
		}
		out = &pb.PreflightResponse{Checks: each(checks, checkToPB)}
		return nil
	})
	return out, err
}

func (d *deployTargetServer) Deploy(req *pb.DeployRequest, stream grpc.ServerStreamingServer[pb.DeployEvent]) error {
	return d.s.deployment("DeployTarget.Deploy", stream, func(ctx context.Context, sink EventSink) error {
		return d.impl.Deploy(ctx, deployRequestFromPB(req), sink)
	})
}

func (d *deployTargetServer) SetTraffic(ctx context.Context, req *pb.SetTrafficRequest) (out *pb.SetTrafficResponse, err error) {
	err = d.s.unary(ctx, "DeployTarget.SetTraffic", func() error {
		applied, err := d.impl.SetTraffic(ctx, setTrafficRequestFromPB(req))
		if err != nil {
			return err
		}
		var e enc
		out, err = answer(&e, &pb.SetTrafficResponse{Applied: trafficWeightsToPB(&e, applied)})
		return err
	})
	return out, err
}

func (d *deployTargetServer) Verify(ctx context.Context, req *pb.VerifyRequest) (out *pb.VerifyResponse, err error) {
	err = d.s.unary(ctx, "DeployTarget.Verify", func() error {
		checks, err := d.impl.Verify(ctx, verifyRequestFromPB(req))
		if err != nil {
			return err
		}
		out = &pb.VerifyResponse{Checks: each(checks, checkToPB)}
		return nil
	})
	return out, err
}

func (d *deployTargetServer) Rollback(req *pb.RollbackRequest, stream grpc.ServerStreamingServer[pb.DeployEvent]) error {
	return d.s.deployment("DeployTarget.Rollback", stream, func(ctx context.Context, sink EventSink) error {
		return d.impl.Rollback(ctx, rollbackRequestFromPB(req), sink)
	})
}

func (d *deployTargetServer) Status(ctx context.Context, req *pb.StatusRequest) (out *pb.StatusResponse, err error) {
	err = d.s.unary(ctx, "DeployTarget.Status", func() error {
		st, err := d.impl.Status(ctx, statusRequestFromPB(req))
		if err != nil {
			return err
		}
		var e enc
		out, err = answer(&e, statusToPB(&e, st))
		return err
	})
	return out, err
}

// deployment runs a Deploy or Rollback. Its outcome is in-band: the stream
// ends with a done event, failed if the plugin's func returned an error
// (of CodeInternal, or none) or panicked, and with an OK status. A refusal
// before the work starts (not configured), and an error with any other
// code (a done event has none), is a status error with its code.
func (s *server) deployment(method string, stream grpc.ServerStreamingServer[pb.DeployEvent], run func(context.Context, EventSink) error) error {
	ctx := stream.Context()
	if err := s.ready(method); err != nil {
		return toStatus(ctx, err)
	}
	sink := &eventSink{stream: stream}
	err := s.protect(method, func() error { return run(ctx, sink) })
	if err != nil && sink.sentDone() {
		s.log.Warn("deployment returned an error after its done event; the done event stands", "method", method, "error", err)
	}
	if err := sink.finish(ctx, err); err != nil {
		if ctx.Err() == nil { // a host that went away knows already
			s.log.Warn("deployment outcome not delivered", "method", method, "error", err)
		}
		return err
	}
	return nil
}

// eventSink is the EventSink a deployment writes to. It may be used from
// several goroutines; the first done event is final.
type eventSink struct {
	stream grpc.ServerStreamingServer[pb.DeployEvent]

	mu      sync.Mutex
	done    bool // a done event went out
	closed  bool // the RPC is over
	percent int  // last percent reported, kept by a failed done event
}

var (
	errSinkClosed  = errors.New("deployment event after the deployment returned")
	errSinkDone    = errors.New("deployment event after the done event")
	errWatchClosed = errors.New("sample written after Watch returned")
)

func (k *eventSink) Send(ev DeployEvent) error {
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	var e enc
	msg := deployEventToPB(&e, ev)
	if e.err != nil {
		return &Error{Code: CodeInvalid, Message: "deployment event: " + e.err.Error()}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.closed:
		return errSinkClosed
	case k.done:
		return errSinkDone
	}
	if err := k.stream.Send(msg); err != nil {
		return err
	}
	k.done = ev.Done
	k.percent = ev.Percent
	return nil
}

func (k *eventSink) sentDone() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.done
}

// finish sends the final event the plugin did not send itself.
func (k *eventSink) finish(ctx context.Context, runErr error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if k.done {
		return nil // the plugin's own done event stands
	}
	if ctx.Err() != nil {
		return toStatus(ctx, ctx.Err()) // nobody is listening any more
	}
	if code := CodeOf(runErr); runErr != nil && code != CodeInternal {
		// A done event has no code: a refusal (FailedPrecondition) or an
		// Unavailable ends the stream as a status with its code, which
		// warroom acts on (waits for an operator, retries).
		return toStatus(ctx, runErr)
	}
	ev := &pb.DeployEvent{AtMs: time.Now().UnixMilli(), Done: true, Percent: 100}
	if runErr != nil {
		msg := runErr.Error()
		if msg == "" {
			msg = "deployment failed"
		}
		ev = &pb.DeployEvent{AtMs: ev.AtMs, Done: true, Failed: true, Message: msg, Percent: int32(max(0, min(100, k.percent)))}
	}
	return k.stream.Send(ev)
}

// ---- MonitoringSource ----

type monitoringSourceServer struct {
	pb.UnimplementedMonitoringSourceServer
	s    *server
	impl MonitoringSource
}

func (m *monitoringSourceServer) Describe(ctx context.Context, _ *pb.DescribeMonitoringRequest) (out *pb.MonitoringCapabilities, err error) {
	err = m.s.unary(ctx, "MonitoringSource.Describe", func() error {
		c, err := m.impl.Describe(ctx)
		if err != nil {
			return err
		}
		out = monitoringCapabilitiesToPB(c)
		return nil
	})
	return out, err
}

func (m *monitoringSourceServer) Query(ctx context.Context, req *pb.QueryRequest) (out *pb.QueryResponse, err error) {
	err = m.s.unary(ctx, "MonitoringSource.Query", func() error {
		series, err := m.impl.Query(ctx, queryRequestFromPB(req))
		if err != nil {
			return err
		}
		out = &pb.QueryResponse{Series: each(series, seriesToPB)}
		return nil
	})
	return out, err
}

func (m *monitoringSourceServer) Watch(req *pb.WatchRequest, stream grpc.ServerStreamingServer[pb.SampleBatch]) error {
	const method = "MonitoringSource.Watch"
	ctx := stream.Context()
	if err := m.s.ready(method); err != nil {
		return toStatus(ctx, err)
	}
	w := newSampleWriter(ctx, stream.Send, watchBatchSize, watchFlushDelay)
	err := m.s.protect(method, func() error { return m.impl.Watch(ctx, watchRequestFromPB(req), w) })
	// Samples written before an error are still good data: deliver them.
	if ferr := w.close(); err == nil {
		err = ferr
	}
	if err != nil {
		return toStatus(ctx, err)
	}
	return nil
}

func (m *monitoringSourceServer) Alerts(ctx context.Context, req *pb.AlertsRequest) (out *pb.AlertsResponse, err error) {
	err = m.s.unary(ctx, "MonitoringSource.Alerts", func() error {
		alerts, err := m.impl.Alerts(ctx, alertsRequestFromPB(req))
		if err != nil {
			return err
		}
		out = &pb.AlertsResponse{Alerts: each(alerts, alertToPB)}
		return nil
	})
	return out, err
}

func (m *monitoringSourceServer) Logs(ctx context.Context, req *pb.LogsRequest) (out *pb.LogsResponse, err error) {
	err = m.s.unary(ctx, "MonitoringSource.Logs", func() error {
		res, err := m.impl.Logs(ctx, logsRequestFromPB(req))
		if err != nil {
			return err
		}
		out = logsResultToPB(res)
		return nil
	})
	return out, err
}

// ---- Ticketing ----

type ticketingServer struct {
	pb.UnimplementedTicketingServer
	s    *server
	impl Ticketing
}

func (t *ticketingServer) Describe(ctx context.Context, _ *pb.DescribeTicketingRequest) (out *pb.TicketingCapabilities, err error) {
	err = t.s.unary(ctx, "Ticketing.Describe", func() error {
		c, err := t.impl.Describe(ctx)
		if err != nil {
			return err
		}
		out = ticketingCapabilitiesToPB(c)
		return nil
	})
	return out, err
}

// change is the frame of the calls that answer a Change.
func (t *ticketingServer) change(ctx context.Context, method string, call func() (Change, error)) (out *pb.Change, err error) {
	err = t.s.unary(ctx, method, func() error {
		c, err := call()
		if err != nil {
			return err
		}
		out = changeToPB(c)
		return nil
	})
	return out, err
}

func (t *ticketingServer) CreateChange(ctx context.Context, req *pb.CreateChangeRequest) (*pb.Change, error) {
	return t.change(ctx, "Ticketing.CreateChange", func() (Change, error) {
		return t.impl.CreateChange(ctx, createChangeRequestFromPB(req))
	})
}

func (t *ticketingServer) GetChange(ctx context.Context, req *pb.GetChangeRequest) (*pb.Change, error) {
	return t.change(ctx, "Ticketing.GetChange", func() (Change, error) {
		return t.impl.GetChange(ctx, req.GetId())
	})
}

func (t *ticketingServer) Comment(ctx context.Context, req *pb.CommentRequest) (*pb.Change, error) {
	return t.change(ctx, "Ticketing.Comment", func() (Change, error) {
		return t.impl.Comment(ctx, commentRequestFromPB(req))
	})
}

func (t *ticketingServer) Transition(ctx context.Context, req *pb.TransitionRequest) (*pb.Change, error) {
	return t.change(ctx, "Ticketing.Transition", func() (Change, error) {
		return t.impl.Transition(ctx, transitionRequestFromPB(req))
	})
}

func (t *ticketingServer) Notify(ctx context.Context, req *pb.NotifyRequest) (out *pb.NotifyResponse, err error) {
	err = t.s.unary(ctx, "Ticketing.Notify", func() error {
		res, err := t.impl.Notify(ctx, notifyRequestFromPB(req))
		if err != nil {
			return err
		}
		out = notifyResultToPB(res)
		return nil
	})
	return out, err
}
