package sdk

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/grpc"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

// The host's side: clients that implement the plugin interfaces by
// calling the plugin. Errors: an answer of the plugin is an *Error with
// the plugin's code and message (NotFound also matches ErrNotFound); an
// answer that breaks the contract matches ErrMalformed; a failure of the
// transport (the process died, the deadline passed, the call was
// cancelled) is the gRPC error itself, for the host to classify.

type conn struct {
	provider   pb.ProviderClient
	deploy     *deployTargetClient
	monitoring *monitoringSourceClient
	tickets    *ticketingClient
}

func newConn(cc grpc.ClientConnInterface) *conn {
	return &conn{
		provider:   pb.NewProviderClient(cc),
		deploy:     &deployTargetClient{rpc: pb.NewDeployTargetClient(cc)},
		monitoring: &monitoringSourceClient{rpc: pb.NewMonitoringSourceClient(cc)},
		tickets:    &ticketingClient{rpc: pb.NewTicketingClient(cc)},
	}
}

func (c *conn) info(ctx context.Context) (Info, error) {
	r, err := c.provider.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus(err)
	}
	return infoFromPB(r)
}

func (c *conn) configure(ctx context.Context, cfg Config) error {
	r, err := c.provider.Configure(ctx, configToPB(cfg))
	if err != nil {
		return fromStatus(err)
	}
	// Plugins built with this SDK refuse with a status; others may answer
	// with error diagnostics instead.
	for _, d := range r.GetDiagnostics() {
		if d.GetSeverity() == pb.Diagnostic_SEVERITY_ERROR {
			msg := d.GetSummary()
			if d.GetDetail() != "" {
				msg += ": " + d.GetDetail()
			}
			return &Error{Code: CodeInvalid, Message: msg}
		}
	}
	return nil
}

func (c *conn) deployTarget() DeployTarget         { return c.deploy }
func (c *conn) monitoringSource() MonitoringSource { return c.monitoring }
func (c *conn) ticketing() Ticketing               { return c.tickets }

// request converts a request with int fields, which may not fit the wire.
func request[T any](e *enc, v T) (T, error) {
	if e.err != nil {
		var zero T
		return zero, &Error{Code: CodeInvalid, Message: "request: " + e.err.Error()}
	}
	return v, nil
}

// ---- DeployTarget ----

type deployTargetClient struct{ rpc pb.DeployTargetClient }

func (d *deployTargetClient) Describe(ctx context.Context) (Capabilities, error) {
	r, err := d.rpc.Describe(ctx, &pb.DescribeTargetRequest{})
	if err != nil {
		return Capabilities{}, fromStatus(err)
	}
	return capabilitiesFromPB(r), nil
}

func (d *deployTargetClient) Preflight(ctx context.Context, req PreflightRequest) ([]Check, error) {
	r, err := d.rpc.Preflight(ctx, preflightRequestToPB(req))
	if err != nil {
		return nil, fromStatus(err)
	}
	return each(r.GetChecks(), checkFromPB), nil
}

func (d *deployTargetClient) Deploy(ctx context.Context, req DeployRequest, events EventSink) error {
	var e enc
	m, err := request(&e, deployRequestToPB(&e, req))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := d.rpc.Deploy(ctx, m)
	if err != nil {
		return fromStatus(err)
	}
	return followDeployment(stream, events)
}

func (d *deployTargetClient) SetTraffic(ctx context.Context, req SetTrafficRequest) ([]TrafficWeight, error) {
	var e enc
	m, err := request(&e, setTrafficRequestToPB(&e, req))
	if err != nil {
		return nil, err
	}
	r, err := d.rpc.SetTraffic(ctx, m)
	if err != nil {
		return nil, fromStatus(err)
	}
	return each(r.GetApplied(), trafficWeightFromPB), nil
}

func (d *deployTargetClient) Verify(ctx context.Context, req VerifyRequest) ([]Check, error) {
	r, err := d.rpc.Verify(ctx, verifyRequestToPB(req))
	if err != nil {
		return nil, fromStatus(err)
	}
	return each(r.GetChecks(), checkFromPB), nil
}

func (d *deployTargetClient) Rollback(ctx context.Context, req RollbackRequest, events EventSink) error {
	var e enc
	m, err := request(&e, rollbackRequestToPB(&e, req))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := d.rpc.Rollback(ctx, m)
	if err != nil {
		return fromStatus(err)
	}
	return followDeployment(stream, events)
}

func (d *deployTargetClient) Status(ctx context.Context, req StatusRequest) (Status, error) {
	r, err := d.rpc.Status(ctx, statusRequestToPB(req))
	if err != nil {
		return Status{}, fromStatus(err)
	}
	return statusFromPB(r), nil
}

// errNoFinalEvent: the stream ended cleanly but the deployment never said
// how it went, so it cannot count as done.
var errNoFinalEvent error = &malformedError{msg: "plugin ended the deployment stream without a final event"}

// followDeployment hands every event to the caller's sink (nil: none)
// until the done event, which decides the outcome.
func followDeployment(stream grpc.ServerStreamingClient[pb.DeployEvent], events EventSink) error {
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return errNoFinalEvent
		}
		if err != nil {
			return fromStatus(err)
		}
		ev := deployEventFromPB(m)
		if events != nil {
			if err := events.Send(ev); err != nil {
				return err
			}
		}
		if ev.Done {
			if ev.Failed {
				msg := ev.Message
				if msg == "" {
					msg = "deployment failed"
				}
				return &Error{Code: CodeInternal, Message: msg}
			}
			return nil
		}
	}
}

// ---- MonitoringSource ----

type monitoringSourceClient struct{ rpc pb.MonitoringSourceClient }

func (m *monitoringSourceClient) Describe(ctx context.Context) (MonitoringCapabilities, error) {
	r, err := m.rpc.Describe(ctx, &pb.DescribeMonitoringRequest{})
	if err != nil {
		return MonitoringCapabilities{}, fromStatus(err)
	}
	return monitoringCapabilitiesFromPB(r), nil
}

func (m *monitoringSourceClient) Query(ctx context.Context, req QueryRequest) ([]Series, error) {
	r, err := m.rpc.Query(ctx, queryRequestToPB(req))
	if err != nil {
		return nil, fromStatus(err)
	}
	return each(r.GetSeries(), seriesFromPB), nil
}

// Watch reads the plugin's batches into w: each series the plugin
// declares is declared to w once (w.Series gives the caller's id), each
// sample is written to w, and w is flushed after every batch. It returns
// nil when ctx ends or the plugin ends the stream, and the error of w if
// writing to it fails.
func (m *monitoringSourceClient) Watch(ctx context.Context, req WatchRequest, w SampleWriter) error {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := m.rpc.Watch(streamCtx, watchRequestToPB(req))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fromStatus(err)
	}
	var table seriesTable
	batch := new(pb.SampleBatch)
	for {
		if err := stream.RecvMsg(batch); err != nil {
			switch {
			case err == io.EOF, ctx.Err() != nil:
				return nil
			}
			return fromStatus(err)
		}
		for _, d := range batch.GetSeries() {
			if err := table.declare(d, w); err != nil {
				return err
			}
		}
		samples := batch.GetSamples()
		for _, s := range samples {
			id, ok := table.lookup(s.GetSeries())
			if !ok {
				return malformedf("watch: sample of series %d, which the plugin never declared", s.GetSeries())
			}
			if err := w.Write(id, s.GetTMs(), s.GetValue()); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch: write sample: %w", err)
			}
		}
		if len(samples) > 0 {
			if err := w.Flush(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch: flush samples: %w", err)
			}
		}
	}
}

// seriesTable maps a Watch stream's series ids to their declarations and
// the ids the caller's writer gave them. Ids from this SDK are small and
// dense, so they index a slice; others fall back to a map.
type seriesTable struct {
	dense  []*watchedSeries
	sparse map[uint32]*watchedSeries
}

type watchedSeries struct {
	def      *SeriesDef
	callerID SeriesID
}

const denseSeriesIDs = 1 << 16

func (t *seriesTable) declare(d *pb.SeriesDef, w SampleWriter) error {
	id := d.GetId()
	if _, dup := t.lookup(id); dup {
		return malformedf("watch: series %d declared twice", id)
	}
	def := &SeriesDef{ID: SeriesID(id), Metric: d.GetMetric(), Labels: d.GetLabels()}
	s := &watchedSeries{def: def, callerID: w.Series(def.Metric, def.Labels)}
	if id < denseSeriesIDs {
		if int(id) >= len(t.dense) {
			t.dense = append(t.dense, make([]*watchedSeries, int(id)+1-len(t.dense))...)
		}
		t.dense[id] = s
		return nil
	}
	if t.sparse == nil {
		t.sparse = make(map[uint32]*watchedSeries)
	}
	t.sparse[id] = s
	return nil
}

func (t *seriesTable) lookup(id uint32) (SeriesID, bool) {
	if id < denseSeriesIDs {
		if int(id) < len(t.dense) && t.dense[id] != nil {
			return t.dense[id].callerID, true
		}
		return 0, false
	}
	s, ok := t.sparse[id]
	if !ok {
		return 0, false
	}
	return s.callerID, true
}

func (m *monitoringSourceClient) Alerts(ctx context.Context, req AlertsRequest) ([]Alert, error) {
	r, err := m.rpc.Alerts(ctx, alertsRequestToPB(req))
	if err != nil {
		return nil, fromStatus(err)
	}
	return each(r.GetAlerts(), alertFromPB), nil
}

func (m *monitoringSourceClient) Logs(ctx context.Context, req LogsRequest) (LogsResult, error) {
	var e enc
	q, err := request(&e, logsRequestToPB(&e, req))
	if err != nil {
		return LogsResult{}, err
	}
	r, err := m.rpc.Logs(ctx, q)
	if err != nil {
		return LogsResult{}, fromStatus(err)
	}
	return logsResultFromPB(r), nil
}

// ---- Ticketing ----

type ticketingClient struct{ rpc pb.TicketingClient }

func (t *ticketingClient) Describe(ctx context.Context) (TicketingCapabilities, error) {
	r, err := t.rpc.Describe(ctx, &pb.DescribeTicketingRequest{})
	if err != nil {
		return TicketingCapabilities{}, fromStatus(err)
	}
	return ticketingCapabilitiesFromPB(r), nil
}

func changeAnswer(r *pb.Change, err error) (Change, error) {
	if err != nil {
		return Change{}, fromStatus(err)
	}
	return changeFromPB(r), nil
}

func (t *ticketingClient) CreateChange(ctx context.Context, req CreateChangeRequest) (Change, error) {
	return changeAnswer(t.rpc.CreateChange(ctx, createChangeRequestToPB(req)))
}

func (t *ticketingClient) GetChange(ctx context.Context, id string) (Change, error) {
	return changeAnswer(t.rpc.GetChange(ctx, &pb.GetChangeRequest{Id: id}))
}

func (t *ticketingClient) Comment(ctx context.Context, req CommentRequest) (Change, error) {
	return changeAnswer(t.rpc.Comment(ctx, commentRequestToPB(req)))
}

func (t *ticketingClient) Transition(ctx context.Context, req TransitionRequest) (Change, error) {
	return changeAnswer(t.rpc.Transition(ctx, transitionRequestToPB(req)))
}

func (t *ticketingClient) Notify(ctx context.Context, req NotifyRequest) (NotifyResult, error) {
	r, err := t.rpc.Notify(ctx, notifyRequestToPB(req))
	if err != nil {
		return NotifyResult{}, fromStatus(err)
	}
	return notifyResultFromPB(r), nil
}

var (
	_ DeployTarget     = (*deployTargetClient)(nil)
	_ MonitoringSource = (*monitoringSourceClient)(nil)
	_ Ticketing        = (*ticketingClient)(nil)
)
