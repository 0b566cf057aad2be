package sdk

import (
	"context"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// recorder is what the fakes share: the requests they got, and what they
// do instead of answering.
type recorder struct {
	mu   sync.Mutex
	reqs map[string]any
	// fail, when set, is returned by (or, for a panic value, raised in)
	// every call.
	fail func(method string) error
	// deploy runs Deploy and Rollback; nil: succeed without events.
	deploy func(ctx context.Context, events EventSink) error
	// watch runs Watch; nil: return at once.
	watch func(ctx context.Context, req WatchRequest, w SampleWriter) error
}

func newRecorder() *recorder { return &recorder{reqs: map[string]any{}} }

func (r *recorder) call(method string, req any) error {
	r.mu.Lock()
	r.reqs[method] = req
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return fail(method)
	}
	return nil
}

func (r *recorder) got(method string) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[method]
}

// Answers are filled from the method's name, so a test can build the
// same value to compare.
func answerOf[T any](method string) T { return filled[T](snake(method)) }

type fakeTarget struct{ *recorder }

func (f fakeTarget) Describe(ctx context.Context) (Capabilities, error) {
	return answerOf[Capabilities]("DeployTarget.Describe"), f.call("DeployTarget.Describe", nil)
}

func (f fakeTarget) Preflight(ctx context.Context, req PreflightRequest) ([]Check, error) {
	return answerOf[[]Check]("DeployTarget.Preflight"), f.call("DeployTarget.Preflight", req)
}

func (f fakeTarget) Deploy(ctx context.Context, req DeployRequest, events EventSink) error {
	if err := f.call("DeployTarget.Deploy", req); err != nil {
		return err
	}
	if f.deploy == nil {
		return nil
	}
	return f.deploy(ctx, events)
}

func (f fakeTarget) SetTraffic(ctx context.Context, req SetTrafficRequest) ([]TrafficWeight, error) {
	return answerOf[[]TrafficWeight]("DeployTarget.SetTraffic"), f.call("DeployTarget.SetTraffic", req)
}

func (f fakeTarget) Verify(ctx context.Context, req VerifyRequest) ([]Check, error) {
	return answerOf[[]Check]("DeployTarget.Verify"), f.call("DeployTarget.Verify", req)
}

func (f fakeTarget) Rollback(ctx context.Context, req RollbackRequest, events EventSink) error {
	if err := f.call("DeployTarget.Rollback", req); err != nil {
		return err
	}
	if f.deploy == nil {
		return nil
	}
	return f.deploy(ctx, events)
}

func (f fakeTarget) Status(ctx context.Context, req StatusRequest) (Status, error) {
	return answerOf[Status]("DeployTarget.Status"), f.call("DeployTarget.Status", req)
}

type fakeSource struct{ *recorder }

func (f fakeSource) Describe(ctx context.Context) (MonitoringCapabilities, error) {
	return answerOf[MonitoringCapabilities]("MonitoringSource.Describe"), f.call("MonitoringSource.Describe", nil)
}

func (f fakeSource) Query(ctx context.Context, req QueryRequest) ([]Series, error) {
	return answerOf[[]Series]("MonitoringSource.Query"), f.call("MonitoringSource.Query", req)
}

func (f fakeSource) Watch(ctx context.Context, req WatchRequest, w SampleWriter) error {
	if err := f.call("MonitoringSource.Watch", req); err != nil {
		return err
	}
	if f.watch == nil {
		return nil
	}
	return f.watch(ctx, req, w)
}

func (f fakeSource) Alerts(ctx context.Context, req AlertsRequest) ([]Alert, error) {
	return answerOf[[]Alert]("MonitoringSource.Alerts"), f.call("MonitoringSource.Alerts", req)
}

func (f fakeSource) Logs(ctx context.Context, req LogsRequest) (LogsResult, error) {
	return answerOf[LogsResult]("MonitoringSource.Logs"), f.call("MonitoringSource.Logs", req)
}

type fakeTickets struct{ *recorder }

func (f fakeTickets) Describe(ctx context.Context) (TicketingCapabilities, error) {
	return answerOf[TicketingCapabilities]("Ticketing.Describe"), f.call("Ticketing.Describe", nil)
}

func (f fakeTickets) CreateChange(ctx context.Context, req CreateChangeRequest) (Change, error) {
	return answerOf[Change]("Ticketing.CreateChange"), f.call("Ticketing.CreateChange", req)
}

func (f fakeTickets) GetChange(ctx context.Context, id string) (Change, error) {
	return answerOf[Change]("Ticketing.GetChange"), f.call("Ticketing.GetChange", id)
}

func (f fakeTickets) Comment(ctx context.Context, req CommentRequest) (Change, error) {
	return answerOf[Change]("Ticketing.Comment"), f.call("Ticketing.Comment", req)
}

func (f fakeTickets) Transition(ctx context.Context, req TransitionRequest) (Change, error) {
	return answerOf[Change]("Ticketing.Transition"), f.call("Ticketing.Transition", req)
}

func (f fakeTickets) Notify(ctx context.Context, req NotifyRequest) (NotifyResult, error) {
	return answerOf[NotifyResult]("Ticketing.Notify"), f.call("Ticketing.Notify", req)
}

// fakePlugin serves all three kinds from one recorder.
func fakePlugin(r *recorder) Plugin {
	return Plugin{
		Name:             "fake",
		Version:          "1.2.3",
		Description:      "a plugin of every kind",
		Settings:         []SettingSpec{{Name: "endpoint", Description: "where", Required: true, Default: "http://x"}, {Name: "token_env", Secret: true}},
		DeployTarget:     fakeTarget{r},
		MonitoringSource: fakeSource{r},
		Ticketing:        fakeTickets{r},
	}
}

// connect serves p in-process over real gRPC, as Serve would, and
// dispenses the host's *Conn. stop ends the plugin's server, as if its
// process were gone.
func connect(t testing.TB, p Plugin) (c *Conn, stop func()) {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, pluginSet(p, hclog.NewNullLogger()))
	// Closing the client shuts the server down through go-plugin's
	// controller; stopping it here as well would race with that.
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*Conn), server.Stop
}

// connectRaw connects a *Conn to hand-written gRPC services, to play a
// plugin that breaks the contract.
func connectRaw(t testing.TB, register func(*grpc.Server)) *Conn {
	t.Helper()
	cc, server := plugin.TestGRPCConn(t, register)
	t.Cleanup(func() {
		_ = cc.Close()
		server.Stop()
	})
	return &Conn{impl: newConn(cc)}
}
