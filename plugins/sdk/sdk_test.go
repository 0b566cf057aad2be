package sdk

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

// setup serves the fake plugin, with a Configure func, and configures it.
func setup(t testing.TB) (*Conn, *recorder) {
	t.Helper()
	r := newRecorder()
	p := fakePlugin(r)
	p.Configure = func(ctx context.Context, cfg Config) error { return r.call("Provider.Configure", cfg) }
	c, _ := connect(t, p)
	if err := c.Configure(context.Background(), Config{Settings: map[string]string{"endpoint": "http://x"}}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	return c, r
}

// eventLog is an EventSink that keeps what it gets.
type eventLog struct{ events []DeployEvent }

func (l *eventLog) Send(ev DeployEvent) error {
	l.events = append(l.events, ev)
	return nil
}

// TestCallsRoundTrip makes every call through the SDK with every request
// field set and checks the plugin got exactly that request and the host
// exactly the plugin's answer.
func TestCallsRoundTrip(t *testing.T) {
	ctx := context.Background()
	c, r := setup(t)

	type call func() (req, answer any, err error)
	tests := []struct {
		method string
		call   call
		want   any // the answer expected; nil: none
	}{
		{"Provider.Configure", func() (any, any, error) {
			req := filled[Config]("config")
			return req, nil, c.Configure(ctx, req)
		}, nil},
		{"DeployTarget.Describe", func() (any, any, error) {
			a, err := c.DeployTarget().Describe(ctx)
			return nil, a, err
		}, answerOf[Capabilities]("DeployTarget.Describe")},
		{"DeployTarget.Preflight", func() (any, any, error) {
			req := filled[PreflightRequest]("preflight")
			a, err := c.DeployTarget().Preflight(ctx, req)
			return req, a, err
		}, answerOf[[]Check]("DeployTarget.Preflight")},
		{"DeployTarget.Deploy", func() (any, any, error) {
			req := filled[DeployRequest]("deploy")
			return req, nil, c.DeployTarget().Deploy(ctx, req, nil)
		}, nil},
		{"DeployTarget.SetTraffic", func() (any, any, error) {
			req := filled[SetTrafficRequest]("set_traffic")
			a, err := c.DeployTarget().SetTraffic(ctx, req)
			return req, a, err
		}, answerOf[[]TrafficWeight]("DeployTarget.SetTraffic")},
		{"DeployTarget.Verify", func() (any, any, error) {
			req := filled[VerifyRequest]("verify")
			a, err := c.DeployTarget().Verify(ctx, req)
			return req, a, err
		}, answerOf[[]Check]("DeployTarget.Verify")},
		{"DeployTarget.Rollback", func() (any, any, error) {
			req := filled[RollbackRequest]("rollback")
			return req, nil, c.DeployTarget().Rollback(ctx, req, nil)
		}, nil},
		{"DeployTarget.Status", func() (any, any, error) {
			req := filled[StatusRequest]("status")
			a, err := c.DeployTarget().Status(ctx, req)
			return req, a, err
		}, answerOf[Status]("DeployTarget.Status")},
		{"MonitoringSource.Describe", func() (any, any, error) {
			a, err := c.MonitoringSource().Describe(ctx)
			return nil, a, err
		}, answerOf[MonitoringCapabilities]("MonitoringSource.Describe")},
		{"MonitoringSource.Query", func() (any, any, error) {
			req := filled[QueryRequest]("query")
			a, err := c.MonitoringSource().Query(ctx, req)
			return req, a, err
		}, answerOf[[]Series]("MonitoringSource.Query")},
		{"MonitoringSource.Watch", func() (any, any, error) {
			req := filled[WatchRequest]("watch")
			return req, nil, c.MonitoringSource().Watch(ctx, req, &collector{})
		}, nil},
		{"MonitoringSource.Alerts", func() (any, any, error) {
			req := filled[AlertsRequest]("alerts")
			a, err := c.MonitoringSource().Alerts(ctx, req)
			return req, a, err
		}, answerOf[[]Alert]("MonitoringSource.Alerts")},
		{"MonitoringSource.Logs", func() (any, any, error) {
			req := filled[LogsRequest]("logs")
			a, err := c.MonitoringSource().Logs(ctx, req)
			return req, a, err
		}, answerOf[LogsResult]("MonitoringSource.Logs")},
		{"Ticketing.Describe", func() (any, any, error) {
			a, err := c.Ticketing().Describe(ctx)
			return nil, a, err
		}, answerOf[TicketingCapabilities]("Ticketing.Describe")},
		{"Ticketing.CreateChange", func() (any, any, error) {
			req := filled[CreateChangeRequest]("create_change")
			a, err := c.Ticketing().CreateChange(ctx, req)
			return req, a, err
		}, answerOf[Change]("Ticketing.CreateChange")},
		{"Ticketing.GetChange", func() (any, any, error) {
			a, err := c.Ticketing().GetChange(ctx, "CHG-42")
			return "CHG-42", a, err
		}, answerOf[Change]("Ticketing.GetChange")},
		{"Ticketing.Comment", func() (any, any, error) {
			req := filled[CommentRequest]("comment")
			a, err := c.Ticketing().Comment(ctx, req)
			return req, a, err
		}, answerOf[Change]("Ticketing.Comment")},
		{"Ticketing.Transition", func() (any, any, error) {
			req := filled[TransitionRequest]("transition")
			a, err := c.Ticketing().Transition(ctx, req)
			return req, a, err
		}, answerOf[Change]("Ticketing.Transition")},
		{"Ticketing.Notify", func() (any, any, error) {
			req := filled[NotifyRequest]("notify")
			a, err := c.Ticketing().Notify(ctx, req)
			return req, a, err
		}, answerOf[NotifyResult]("Ticketing.Notify")},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			req, got, err := tt.call()
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if gotReq := r.got(tt.method); !reflect.DeepEqual(gotReq, req) {
				t.Errorf("plugin got request\n %+v\nwant\n %+v", gotReq, req)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("host got answer\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	r := newRecorder()
	p := fakePlugin(r)
	p.MonitoringSource = nil
	c, _ := connect(t, p)
	got, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Info{
		Name:        "fake",
		Version:     "1.2.3",
		Description: "a plugin of every kind",
		Kinds:       []Kind{KindDeployTarget, KindTicketing},
		Settings:    p.Settings,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
}

// TestErrorCodes: a plugin's code and message reach the host unchanged.
func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode Code
		wantMsg  string
	}{
		{"internal", Errorf(CodeInternal, "boom"), CodeInternal, "boom"},
		{"invalid", Errorf(CodeInvalid, "bad strategy %q", "zigzag"), CodeInvalid, `bad strategy "zigzag"`},
		{"not found", Errorf(CodeNotFound, "no service api"), CodeNotFound, "no service api"},
		{"failed precondition", Errorf(CodeFailedPrecondition, "frozen"), CodeFailedPrecondition, "frozen"},
		{"unavailable", Errorf(CodeUnavailable, "kube api down"), CodeUnavailable, "kube api down"},
		{"unimplemented", Errorf(CodeUnimplemented, "no blue-green"), CodeUnimplemented, "no blue-green"},
		{"wrapped", fmt.Errorf("deploy api: %w", Errorf(CodeNotFound, "no such app")), CodeNotFound, "deploy api: no such app"},
		{"plain error", errors.New("disk full"), CodeInternal, "disk full"},
		{"unknown code", &Error{Code: 99, Message: "odd"}, CodeInternal, "odd"},
		{"plugin's own deadline", context.DeadlineExceeded, CodeInternal, "context deadline exceeded"},
	}
	c, r := setup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.mu.Lock()
			r.fail = func(string) error { return tt.err }
			r.mu.Unlock()
			_, err := c.Ticketing().GetChange(context.Background(), "CHG-1")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %T %v, want an *Error", err, err)
			}
			if e.Code != tt.wantCode || e.Message != tt.wantMsg {
				t.Errorf("err = {%d %q}, want {%d %q}", e.Code, e.Message, tt.wantCode, tt.wantMsg)
			}
			if got := errors.Is(err, ErrNotFound); got != (tt.wantCode == CodeNotFound) {
				t.Errorf("errors.Is(err, ErrNotFound) = %v", got)
			}
		})
	}
}

// TestFromStatus: what a client makes of each gRPC error.
func TestFromStatus(t *testing.T) {
	marked := func(c Code, msg string) error { return toStatus(context.Background(), Errorf(c, "%s", msg)) }
	tests := []struct {
		name     string
		in       error
		wantCode Code       // when an *Error is expected
		wantRaw  codes.Code // when the gRPC error is expected back
	}{
		{"plugin unavailable", marked(CodeUnavailable, "db down"), CodeUnavailable, 0},
		{"process gone", status.Error(codes.Unavailable, "error reading from server: EOF"), 0, codes.Unavailable},
		{"deadline", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), 0, codes.DeadlineExceeded},
		{"cancelled", status.Error(codes.Canceled, "context canceled"), 0, codes.Canceled},
		{"too large", status.Error(codes.ResourceExhausted, "message larger than max"), 0, codes.ResourceExhausted},
		{"unknown service", status.Error(codes.Unimplemented, "unknown service warroom.plugin.v1.Ticketing"), CodeUnimplemented, 0},
		{"other plugin invalid", status.Error(codes.InvalidArgument, "nope"), CodeInvalid, 0},
		{"other plugin not found", status.Error(codes.NotFound, "nope"), CodeNotFound, 0},
		{"other plugin precondition", status.Error(codes.FailedPrecondition, "nope"), CodeFailedPrecondition, 0},
		{"other plugin internal", status.Error(codes.Internal, "nope"), CodeInternal, 0},
		{"marked internal", marked(CodeInternal, "x"), CodeInternal, 0},
		{"marked invalid", marked(CodeInvalid, "x"), CodeInvalid, 0},
		{"marked not found", marked(CodeNotFound, "x"), CodeNotFound, 0},
		{"marked precondition", marked(CodeFailedPrecondition, "x"), CodeFailedPrecondition, 0},
		{"marked unimplemented", marked(CodeUnimplemented, "x"), CodeUnimplemented, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fromStatus(tt.in)
			var e *Error
			isSDK := errors.As(err, &e)
			if tt.wantRaw != 0 {
				if isSDK || status.Code(err) != tt.wantRaw || err != tt.in {
					t.Errorf("got %T %v, want the gRPC %s error itself", err, err, tt.wantRaw)
				}
				return
			}
			if !isSDK || e.Code != tt.wantCode || e.Message != status.Convert(tt.in).Message() {
				t.Errorf("got %T %v, want *Error code %d", err, err, tt.wantCode)
			}
		})
	}
	plain := errors.New("not grpc")
	if got := fromStatus(plain); got != plain {
		t.Errorf("a non-gRPC error came back as %v", got)
	}
}

func TestKindNotServed(t *testing.T) {
	r := newRecorder()
	p := fakePlugin(r)
	p.Ticketing, p.MonitoringSource = nil, nil
	c, _ := connect(t, p)
	ctx := context.Background()
	_, err := c.Ticketing().Describe(ctx)
	if CodeOf(err) != CodeUnimplemented {
		t.Errorf("Ticketing.Describe: %v, want CodeUnimplemented", err)
	}
	err = c.MonitoringSource().Watch(ctx, WatchRequest{}, &collector{})
	if CodeOf(err) != CodeUnimplemented {
		t.Errorf("MonitoringSource.Watch: %v, want CodeUnimplemented", err)
	}
	if _, err := c.DeployTarget().Describe(ctx); err != nil {
		t.Errorf("DeployTarget.Describe: %v", err)
	}
}

// TestPluginGone: when the plugin's server is gone the host gets the
// transport's error, not a plugin's answer.
func TestPluginGone(t *testing.T) {
	c, stop := connect(t, fakePlugin(newRecorder()))
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.DeployTarget().Describe(ctx)
	var e *Error
	if err == nil || errors.As(err, &e) || status.Code(err) != codes.Unavailable {
		t.Errorf("err = %T %v, want a gRPC Unavailable error", err, err)
	}
	err = c.DeployTarget().Deploy(ctx, DeployRequest{}, nil)
	if err == nil || errors.As(err, &e) || status.Code(err) != codes.Unavailable {
		t.Errorf("Deploy: err = %T %v, want a gRPC Unavailable error", err, err)
	}
}

func TestRequestOutOfRange(t *testing.T) {
	c, r := setup(t)
	err := c.DeployTarget().Deploy(context.Background(), DeployRequest{Instances: 1 << 40}, nil)
	if CodeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "instances") {
		t.Errorf("err = %v, want CodeInvalid naming instances", err)
	}
	if r.got("DeployTarget.Deploy") != nil {
		t.Error("the request reached the plugin")
	}
}

func TestPanics(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		method string
		call   func(c *Conn) error
	}{
		{"DeployTarget.Status", func(c *Conn) error { _, err := c.DeployTarget().Status(ctx, StatusRequest{}); return err }},
		{"Ticketing.Notify", func(c *Conn) error { _, err := c.Ticketing().Notify(ctx, NotifyRequest{}); return err }},
		{"DeployTarget.Deploy", func(c *Conn) error { return c.DeployTarget().Deploy(ctx, DeployRequest{}, nil) }},
		{"DeployTarget.Rollback", func(c *Conn) error { return c.DeployTarget().Rollback(ctx, RollbackRequest{}, nil) }},
		{"MonitoringSource.Watch", func(c *Conn) error {
			return c.MonitoringSource().Watch(ctx, WatchRequest{}, &collector{})
		}},
		{"Provider.Configure", func(c *Conn) error { return c.Configure(ctx, Config{}) }},
	}
	c, r := setup(t)
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			r.mu.Lock()
			r.fail = func(m string) error {
				if m == tt.method {
					panic("kaboom")
				}
				return nil
			}
			r.mu.Unlock()
			err := tt.call(c)
			if CodeOf(err) != CodeInternal || !strings.Contains(err.Error(), "panicked in "+tt.method) || !strings.Contains(err.Error(), "kaboom") {
				t.Errorf("err = %v, want CodeInternal naming %s and the panic", err, tt.method)
			}
			// The plugin lives on.
			r.mu.Lock()
			r.fail = nil
			r.mu.Unlock()
			if err := c.Configure(ctx, Config{}); err != nil {
				t.Fatalf("configure after the panic: %v", err)
			}
			if _, err := c.Info(ctx); err != nil {
				t.Errorf("info after the panic: %v", err)
			}
		})
	}
}

func TestConfigureRequired(t *testing.T) {
	ctx := context.Background()
	refuse := errors.New("refused")
	describe := func(c *Conn) error { _, err := c.DeployTarget().Describe(ctx); return err }
	tests := []struct {
		name      string
		configure func(ctx context.Context, cfg Config) error // nil: the plugin takes none
		settings  []Config                                    // Configure calls made, in order
		wantCfg   []Code                                      // per Configure: -1 for success
		wantCall  Code                                        // -1: the call succeeds
	}{
		{"never configured", func(context.Context, Config) error { return nil }, nil, nil, CodeFailedPrecondition},
		{"configured", func(context.Context, Config) error { return nil }, []Config{{}}, []Code{-1}, -1},
		{"refused", func(context.Context, Config) error { return Errorf(CodeInvalid, "unknown setting") }, []Config{{}}, []Code{CodeInvalid}, CodeFailedPrecondition},
		{"refused plain", func(context.Context, Config) error { return refuse }, []Config{{}}, []Code{CodeInternal}, CodeFailedPrecondition},
		{"refused then accepted", func(_ context.Context, cfg Config) error {
			if cfg.Settings["ok"] == "" {
				return Errorf(CodeInvalid, "ok is required")
			}
			return nil
		}, []Config{{}, {Settings: map[string]string{"ok": "1"}}}, []Code{CodeInvalid, -1}, -1},
		{"accepted then refused", func(_ context.Context, cfg Config) error {
			if cfg.Settings["ok"] == "" {
				return Errorf(CodeInvalid, "ok is required")
			}
			return nil
		}, []Config{{Settings: map[string]string{"ok": "1"}}, {}}, []Code{-1, CodeInvalid}, CodeFailedPrecondition},
		{"no Configure func, none called", nil, nil, nil, -1},
		{"no Configure func, declared settings", nil, []Config{{Settings: map[string]string{"endpoint": "http://y"}}}, []Code{-1}, -1},
		{"no Configure func, unknown setting", nil, []Config{{Settings: map[string]string{"endpoint": "e", "colour": "red"}}}, []Code{CodeInvalid}, -1},
		{"no Configure func, required missing", nil, []Config{{Settings: map[string]string{"token_env": "T"}}}, []Code{CodeInvalid}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fakePlugin(newRecorder())
			p.Configure = tt.configure
			c, _ := connect(t, p)
			if _, err := c.Info(ctx); err != nil {
				t.Fatalf("Info must work unconfigured: %v", err)
			}
			for i, cfg := range tt.settings {
				err := c.Configure(ctx, cfg)
				if want := tt.wantCfg[i]; (want == -1) != (err == nil) || (err != nil && CodeOf(err) != want) {
					t.Errorf("Configure #%d: %v, want code %d", i, err, want)
				}
			}
			err := describe(c)
			switch {
			case tt.wantCall == -1 && err != nil:
				t.Errorf("call: %v, want success", err)
			case tt.wantCall != -1 && (CodeOf(err) != tt.wantCall || !strings.Contains(err.Error(), "not configured")):
				t.Errorf("call: %v, want code %d, not configured", err, tt.wantCall)
			}
		})
	}
}

func TestConfigureDiagnostics(t *testing.T) {
	c := connectRaw(t, func(s *grpc.Server) {
		pb.RegisterProviderServer(s, diagnosingProvider{})
	})
	err := c.Configure(context.Background(), Config{})
	if CodeOf(err) != CodeInvalid || err.Error() != "endpoint missing: set endpoint" {
		t.Errorf("err = %v, want CodeInvalid from the error diagnostic", err)
	}
}

type diagnosingProvider struct{ pb.UnimplementedProviderServer }

func (diagnosingProvider) Configure(context.Context, *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	return &pb.ConfigureResponse{Diagnostics: []*pb.Diagnostic{
		{Severity: pb.Diagnostic_SEVERITY_WARNING, Summary: "old setting"},
		{Severity: pb.Diagnostic_SEVERITY_ERROR, Summary: "endpoint missing", Detail: "set endpoint"},
	}}, nil
}

func TestInfoMalformed(t *testing.T) {
	c := connectRaw(t, func(s *grpc.Server) {
		pb.RegisterProviderServer(s, badInfoProvider{})
	})
	_, err := c.Info(context.Background())
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "unknown provider kind 42") {
		t.Errorf("err = %v, want a malformed answer naming the kind", err)
	}
}

type badInfoProvider struct{ pb.UnimplementedProviderServer }

func (badInfoProvider) Info(context.Context, *pb.InfoRequest) (*pb.InfoResponse, error) {
	return &pb.InfoResponse{Name: "odd", Version: "1.0.0", Kinds: []pb.Kind{42}}, nil
}

func TestValidate(t *testing.T) {
	target := fakeTarget{newRecorder()}
	tests := []struct {
		name string
		p    Plugin
		want []string // fragments of the error; none: valid
	}{
		{"valid", Plugin{Name: "k8s", Version: "1.0.0", DeployTarget: target}, nil},
		{"prerelease", Plugin{Name: "k8s", Version: "2.1.0-rc.1+build.5", DeployTarget: target}, nil},
		{"no name", Plugin{Version: "1.0.0", DeployTarget: target}, []string{"Name is empty"}},
		{"blank name", Plugin{Name: "  ", Version: "1.0.0", DeployTarget: target}, []string{"Name is empty"}},
		{"no version", Plugin{Name: "k8s", DeployTarget: target}, []string{"Version"}},
		{"v prefix", Plugin{Name: "k8s", Version: "v1.0.0", DeployTarget: target}, []string{`Version "v1.0.0"`}},
		{"short version", Plugin{Name: "k8s", Version: "1.0", DeployTarget: target}, []string{`Version "1.0"`}},
		{"no kind", Plugin{Name: "k8s", Version: "1.0.0"}, []string{"no provider kind"}},
		{"settings", Plugin{Name: "k8s", Version: "1.0.0", DeployTarget: target,
			Settings: []SettingSpec{{Name: "a"}, {Name: ""}, {Name: "a"}}}, []string{"Settings[1] has no name", `"a" is declared twice`}},
		{"everything", Plugin{}, []string{"Name is empty", "Version", "no provider kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate: nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("validate: %v, want it to say %q", err, w)
				}
			}
		})
	}
}
