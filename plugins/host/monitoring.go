package host

import (
	"context"

	"github.com/warroom/warroom/plugins/sdk"
)

// monitoringSource is the hardened client of a plugin's monitoring
// source (see deployTarget).
type monitoringSource struct{ b backend }

var _ sdk.MonitoringSource = (*monitoringSource)(nil)

func (m *monitoringSource) Describe(ctx context.Context) (sdk.MonitoringCapabilities, error) {
	return unary(ctx, m.b, "Describe", func(ctx context.Context, c *sdk.Conn) (sdk.MonitoringCapabilities, error) {
		return c.MonitoringSource().Describe(ctx)
	}, checkMonitoringCapabilities)
}

func (m *monitoringSource) Query(ctx context.Context, req sdk.QueryRequest) ([]sdk.Series, error) {
	return unary(ctx, m.b, "Query", func(ctx context.Context, c *sdk.Conn) ([]sdk.Series, error) {
		return c.MonitoringSource().Query(ctx, req)
	}, checkSeries)
}

// Watch writes samples to w until ctx ends (it returns nil then, as the
// interface says) or the plugin fails or goes quiet for its idle timeout.
func (m *monitoringSource) Watch(ctx context.Context, req sdk.WatchRequest, w sdk.SampleWriter) error {
	err := stream(ctx, m.b, "Watch", func(ctx context.Context, c *sdk.Conn, g *guard) error {
		return c.MonitoringSource().Watch(ctx, req, &sampleSink{g: g, next: w})
	})
	if err != nil && ctx.Err() != nil && FaultOf(err) == "" {
		return nil
	}
	return err
}

func (m *monitoringSource) Alerts(ctx context.Context, req sdk.AlertsRequest) ([]sdk.Alert, error) {
	return unary(ctx, m.b, "Alerts", func(ctx context.Context, c *sdk.Conn) ([]sdk.Alert, error) {
		return c.MonitoringSource().Alerts(ctx, req)
	}, checkAlerts)
}

func (m *monitoringSource) Logs(ctx context.Context, req sdk.LogsRequest) (sdk.LogsResult, error) {
	return unary(ctx, m.b, "Logs", func(ctx context.Context, c *sdk.Conn) (sdk.LogsResult, error) {
		return c.MonitoringSource().Logs(ctx, req)
	}, checkLogs(req))
}

// sampleSink keeps a Watch's watchdog fed. It sits on the path of every
// sample, so it only notes the event; the SDK's client checks series ids.
type sampleSink struct {
	g    *guard
	next sdk.SampleWriter
}

func (s *sampleSink) Series(metric string, labels map[string]string) sdk.SeriesID {
	s.g.event()
	return s.next.Series(metric, labels)
}

func (s *sampleSink) Write(series sdk.SeriesID, tMillis int64, value float64) error {
	s.g.event()
	if err := s.next.Write(series, tMillis, value); err != nil {
		return s.g.sinkFailed(err)
	}
	return nil
}

func (s *sampleSink) Flush() error {
	s.g.event()
	if err := s.next.Flush(); err != nil {
		return s.g.sinkFailed(err)
	}
	return nil
}
