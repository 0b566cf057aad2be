package host

import (
	"context"

	"github.com/warroom/warroom/plugins/sdk"
)

// deployTarget is the hardened client of a plugin's deploy target: every
// unary call has the plugin's deadline, Deploy and Rollback fail when the
// stream goes quiet for the idle timeout, and answers are checked.
type deployTarget struct{ b backend }

var _ sdk.DeployTarget = (*deployTarget)(nil)

func (d *deployTarget) Describe(ctx context.Context) (sdk.Capabilities, error) {
	return unary(ctx, d.b, "Describe", func(ctx context.Context, c *sdk.Conn) (sdk.Capabilities, error) {
		return c.DeployTarget().Describe(ctx)
	}, checkCapabilities)
}

func (d *deployTarget) Preflight(ctx context.Context, req sdk.PreflightRequest) ([]sdk.Check, error) {
	return unary(ctx, d.b, "Preflight", func(ctx context.Context, c *sdk.Conn) ([]sdk.Check, error) {
		return c.DeployTarget().Preflight(ctx, req)
	}, checkChecks)
}

func (d *deployTarget) Deploy(ctx context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	return stream(ctx, d.b, "Deploy", func(ctx context.Context, c *sdk.Conn, g *guard) error {
		return c.DeployTarget().Deploy(ctx, req, &eventSink{g: g, next: events})
	})
}

func (d *deployTarget) SetTraffic(ctx context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	return unary(ctx, d.b, "SetTraffic", func(ctx context.Context, c *sdk.Conn) ([]sdk.TrafficWeight, error) {
		return c.DeployTarget().SetTraffic(ctx, req)
	}, checkWeights)
}

func (d *deployTarget) Verify(ctx context.Context, req sdk.VerifyRequest) ([]sdk.Check, error) {
	return unary(ctx, d.b, "Verify", func(ctx context.Context, c *sdk.Conn) ([]sdk.Check, error) {
		return c.DeployTarget().Verify(ctx, req)
	}, checkChecks)
}

func (d *deployTarget) Rollback(ctx context.Context, req sdk.RollbackRequest, events sdk.EventSink) error {
	return stream(ctx, d.b, "Rollback", func(ctx context.Context, c *sdk.Conn, g *guard) error {
		return c.DeployTarget().Rollback(ctx, req, &eventSink{g: g, next: events})
	})
}

func (d *deployTarget) Status(ctx context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	return unary(ctx, d.b, "Status", func(ctx context.Context, c *sdk.Conn) (sdk.Status, error) {
		return c.DeployTarget().Status(ctx, req)
	}, checkStatus(req))
}

// eventSink checks each deploy event and keeps the stream's watchdog fed
// before handing the event to the caller's sink (nil: none).
type eventSink struct {
	g    *guard
	next sdk.EventSink
}

func (s *eventSink) Send(ev sdk.DeployEvent) error {
	s.g.event()
	if err := checkEvent(ev); err != nil {
		return s.g.malformed(err)
	}
	if s.next == nil {
		return nil
	}
	if err := s.next.Send(ev); err != nil {
		return s.g.sinkFailed(err)
	}
	return nil
}
