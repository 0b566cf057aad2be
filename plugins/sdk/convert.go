package sdk

import (
	"fmt"
	"math"
	"time"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

// Converters between the hand-written SDK types and the generated
// protobuf messages. Both sides use them: the server converts requests
// from and answers to protobuf, the client the other way round.
//
// Conventions: times travel as Unix milliseconds with 0 for the zero
// time; durations as milliseconds; Go ints as int32 (a value that does not
// fit is an error, never silently wrapped); maps are passed through, as
// neither side keeps or mutates a map it converted.

// enc records the first value that does not fit its wire field, so the
// converters to protobuf stay plain expressions.
type enc struct{ err error }

func (e *enc) i32(field string, v int) int32 {
	if v < math.MinInt32 || v > math.MaxInt32 {
		if e.err == nil {
			e.err = fmt.Errorf("%s: %d does not fit in 32 bits", field, v)
		}
		return 0
	}
	return int32(v)
}

func timeToMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func msToTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func durToMS(d time.Duration) int64 { return d.Milliseconds() }

func msToDur(ms int64) time.Duration {
	const maxMS = math.MaxInt64 / int64(time.Millisecond)
	switch {
	case ms > maxMS:
		return math.MaxInt64
	case ms < -maxMS:
		return math.MinInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// each converts a slice element by element; empty in, nil out.
func each[T, U any](in []T, f func(T) U) []U {
	if len(in) == 0 {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// ---- Provider ----

func kindToPB(k Kind) pb.Kind {
	switch k {
	case KindDeployTarget:
		return pb.Kind_KIND_DEPLOY_TARGET
	case KindMonitoringSource:
		return pb.Kind_KIND_MONITORING_SOURCE
	case KindTicketing:
		return pb.Kind_KIND_TICKETING
	}
	return pb.Kind_KIND_UNSPECIFIED
}

func kindFromPB(k pb.Kind) (Kind, bool) {
	switch k {
	case pb.Kind_KIND_DEPLOY_TARGET:
		return KindDeployTarget, true
	case pb.Kind_KIND_MONITORING_SOURCE:
		return KindMonitoringSource, true
	case pb.Kind_KIND_TICKETING:
		return KindTicketing, true
	}
	return "", false
}

func settingSpecToPB(s SettingSpec) *pb.SettingSpec {
	return &pb.SettingSpec{
		Name:         s.Name,
		Description:  s.Description,
		Required:     s.Required,
		DefaultValue: s.Default,
		Secret:       s.Secret,
	}
}

func settingSpecFromPB(s *pb.SettingSpec) SettingSpec {
	return SettingSpec{
		Name:        s.GetName(),
		Description: s.GetDescription(),
		Required:    s.GetRequired(),
		Default:     s.GetDefaultValue(),
		Secret:      s.GetSecret(),
	}
}

func infoToPB(in Info) *pb.InfoResponse {
	return &pb.InfoResponse{
		Name:        in.Name,
		Version:     in.Version,
		Kinds:       each(in.Kinds, kindToPB),
		Description: in.Description,
		Settings:    each(in.Settings, settingSpecToPB),
	}
}

// infoFromPB fails on a kind this SDK does not know: a malformed answer.
func infoFromPB(r *pb.InfoResponse) (Info, error) {
	var kinds []Kind
	for _, k := range r.GetKinds() {
		kind, ok := kindFromPB(k)
		if !ok {
			return Info{}, malformedf("info: unknown provider kind %d", int32(k))
		}
		kinds = append(kinds, kind)
	}
	return Info{
		Name:        r.GetName(),
		Version:     r.GetVersion(),
		Description: r.GetDescription(),
		Kinds:       kinds,
		Settings:    each(r.GetSettings(), settingSpecFromPB),
	}, nil
}

func configToPB(c Config) *pb.ConfigureRequest {
	return &pb.ConfigureRequest{Settings: c.Settings, StateDir: c.StateDir}
}

func configFromPB(r *pb.ConfigureRequest) Config {
	return Config{Settings: r.GetSettings(), StateDir: r.GetStateDir()}
}

func checkToPB(c Check) *pb.Check {
	return &pb.Check{
		Name:       c.Name,
		Passed:     c.Passed,
		Message:    c.Message,
		DurationMs: durToMS(c.Duration),
		Evidence:   c.Evidence,
	}
}

func checkFromPB(c *pb.Check) Check {
	return Check{
		Name:     c.GetName(),
		Passed:   c.GetPassed(),
		Message:  c.GetMessage(),
		Duration: msToDur(c.GetDurationMs()),
		Evidence: c.GetEvidence(),
	}
}

// ---- DeployTarget ----

func capabilitiesToPB(e *enc, c Capabilities) *pb.TargetCapabilities {
	return &pb.TargetCapabilities{
		Strategies:        c.Strategies,
		TrafficShifting:   c.TrafficShifting,
		Stateful:          c.Stateful,
		ServiceKinds:      c.ServiceKinds,
		BlueGreenStateful: c.BlueGreenStateful,
		MaxParallel:       e.i32("max_parallel", c.MaxParallel),
		Status:            c.Status,
	}
}

func capabilitiesFromPB(c *pb.TargetCapabilities) Capabilities {
	return Capabilities{
		Strategies:        c.GetStrategies(),
		TrafficShifting:   c.GetTrafficShifting(),
		Stateful:          c.GetStateful(),
		ServiceKinds:      c.GetServiceKinds(),
		BlueGreenStateful: c.GetBlueGreenStateful(),
		MaxParallel:       int(c.GetMaxParallel()),
		Status:            c.GetStatus(),
	}
}

func targetToPB(t Target) *pb.Target {
	return &pb.Target{Service: t.Service, Environment: t.Environment, Region: t.Region}
}

func targetFromPB(t *pb.Target) Target {
	return Target{Service: t.GetService(), Environment: t.GetEnvironment(), Region: t.GetRegion()}
}

func artifactToPB(a Artifact) *pb.Artifact {
	return &pb.Artifact{Digest: a.Digest, Ref: a.Ref, Source: a.Source}
}

func artifactFromPB(a *pb.Artifact) Artifact {
	return Artifact{Digest: a.GetDigest(), Ref: a.GetRef(), Source: a.GetSource()}
}

func preflightRequestToPB(r PreflightRequest) *pb.PreflightRequest {
	return &pb.PreflightRequest{
		Target:   targetToPB(r.Target),
		Version:  r.Version,
		Artifact: artifactToPB(r.Artifact),
		Strategy: r.Strategy,
		Settings: r.Settings,
	}
}

func preflightRequestFromPB(r *pb.PreflightRequest) PreflightRequest {
	return PreflightRequest{
		Target:   targetFromPB(r.GetTarget()),
		Version:  r.GetVersion(),
		Artifact: artifactFromPB(r.GetArtifact()),
		Strategy: r.GetStrategy(),
		Settings: r.GetSettings(),
	}
}

func deployRequestToPB(e *enc, r DeployRequest) *pb.DeployRequest {
	return &pb.DeployRequest{
		IdempotencyKey: r.IdempotencyKey,
		Target:         targetToPB(r.Target),
		Version:        r.Version,
		FromVersion:    r.FromVersion,
		Artifact:       artifactToPB(r.Artifact),
		Strategy:       r.Strategy,
		BatchSize:      e.i32("batch_size", r.BatchSize),
		Instances:      e.i32("instances", r.Instances),
		ServiceKind:    r.ServiceKind,
		Settings:       r.Settings,
		RunId:          r.RunID,
		Step:           e.i32("step", r.Step),
		Attempt:        e.i32("attempt", r.Attempt),
	}
}

func deployRequestFromPB(r *pb.DeployRequest) DeployRequest {
	return DeployRequest{
		IdempotencyKey: r.GetIdempotencyKey(),
		Target:         targetFromPB(r.GetTarget()),
		Version:        r.GetVersion(),
		FromVersion:    r.GetFromVersion(),
		Artifact:       artifactFromPB(r.GetArtifact()),
		Strategy:       r.GetStrategy(),
		BatchSize:      int(r.GetBatchSize()),
		Instances:      int(r.GetInstances()),
		ServiceKind:    r.GetServiceKind(),
		Settings:       r.GetSettings(),
		RunID:          r.GetRunId(),
		Step:           int(r.GetStep()),
		Attempt:        int(r.GetAttempt()),
	}
}

func deployEventToPB(e *enc, ev DeployEvent) *pb.DeployEvent {
	return &pb.DeployEvent{
		AtMs:           timeToMS(ev.At),
		Phase:          ev.Phase,
		Message:        ev.Message,
		Percent:        e.i32("percent", ev.Percent),
		InstancesReady: e.i32("instances_ready", ev.InstancesReady),
		InstancesTotal: e.i32("instances_total", ev.InstancesTotal),
		Done:           ev.Done,
		Failed:         ev.Failed,
		Replayed:       ev.Replayed,
	}
}

func deployEventFromPB(ev *pb.DeployEvent) DeployEvent {
	return DeployEvent{
		At:             msToTime(ev.GetAtMs()),
		Phase:          ev.GetPhase(),
		Message:        ev.GetMessage(),
		Percent:        int(ev.GetPercent()),
		InstancesReady: int(ev.GetInstancesReady()),
		InstancesTotal: int(ev.GetInstancesTotal()),
		Done:           ev.GetDone(),
		Failed:         ev.GetFailed(),
		Replayed:       ev.GetReplayed(),
	}
}

func trafficWeightsToPB(e *enc, ws []TrafficWeight) []*pb.TrafficWeight {
	return each(ws, func(w TrafficWeight) *pb.TrafficWeight {
		return &pb.TrafficWeight{Version: w.Version, Percent: e.i32("percent", w.Percent)}
	})
}

func trafficWeightFromPB(w *pb.TrafficWeight) TrafficWeight {
	return TrafficWeight{Version: w.GetVersion(), Percent: int(w.GetPercent())}
}

func setTrafficRequestToPB(e *enc, r SetTrafficRequest) *pb.SetTrafficRequest {
	return &pb.SetTrafficRequest{
		IdempotencyKey: r.IdempotencyKey,
		Target:         targetToPB(r.Target),
		Weights:        trafficWeightsToPB(e, r.Weights),
	}
}

func setTrafficRequestFromPB(r *pb.SetTrafficRequest) SetTrafficRequest {
	return SetTrafficRequest{
		IdempotencyKey: r.GetIdempotencyKey(),
		Target:         targetFromPB(r.GetTarget()),
		Weights:        each(r.GetWeights(), trafficWeightFromPB),
	}
}

func verifyRequestToPB(r VerifyRequest) *pb.VerifyRequest {
	return &pb.VerifyRequest{
		Target:   targetToPB(r.Target),
		Version:  r.Version,
		Checks:   r.Checks,
		Settings: r.Settings,
	}
}

func verifyRequestFromPB(r *pb.VerifyRequest) VerifyRequest {
	return VerifyRequest{
		Target:   targetFromPB(r.GetTarget()),
		Version:  r.GetVersion(),
		Checks:   r.GetChecks(),
		Settings: r.GetSettings(),
	}
}

func rollbackRequestToPB(e *enc, r RollbackRequest) *pb.RollbackRequest {
	return &pb.RollbackRequest{
		IdempotencyKey: r.IdempotencyKey,
		Target:         targetToPB(r.Target),
		ToVersion:      r.ToVersion,
		FromVersion:    r.FromVersion,
		Reason:         r.Reason,
		RunId:          r.RunID,
		Step:           e.i32("step", r.Step),
	}
}

func rollbackRequestFromPB(r *pb.RollbackRequest) RollbackRequest {
	return RollbackRequest{
		IdempotencyKey: r.GetIdempotencyKey(),
		Target:         targetFromPB(r.GetTarget()),
		ToVersion:      r.GetToVersion(),
		FromVersion:    r.GetFromVersion(),
		Reason:         r.GetReason(),
		RunID:          r.GetRunId(),
		Step:           int(r.GetStep()),
	}
}

func statusRequestToPB(r StatusRequest) *pb.StatusRequest {
	return &pb.StatusRequest{Target: targetToPB(r.Target)}
}

func statusRequestFromPB(r *pb.StatusRequest) StatusRequest {
	return StatusRequest{Target: targetFromPB(r.GetTarget())}
}

func statusToPB(e *enc, s Status) *pb.StatusResponse {
	return &pb.StatusResponse{
		Services: each(s.Services, func(ss ServiceStatus) *pb.ServiceStatus {
			return &pb.ServiceStatus{
				Target: targetToPB(ss.Target),
				Versions: each(ss.Versions, func(v VersionStatus) *pb.VersionStatus {
					return &pb.VersionStatus{
						Version:   v.Version,
						Instances: e.i32("instances", v.Instances),
						Ready:     e.i32("ready", v.Ready),
						Weight:    e.i32("weight", v.Weight),
						Colour:    v.Colour,
					}
				}),
				Healthy: ss.Healthy,
				Message: ss.Message,
			}
		}),
		AppliedKeys: s.AppliedKeys,
	}
}

func statusFromPB(s *pb.StatusResponse) Status {
	return Status{
		Services: each(s.GetServices(), func(ss *pb.ServiceStatus) ServiceStatus {
			return ServiceStatus{
				Target: targetFromPB(ss.GetTarget()),
				Versions: each(ss.GetVersions(), func(v *pb.VersionStatus) VersionStatus {
					return VersionStatus{
						Version:   v.GetVersion(),
						Instances: int(v.GetInstances()),
						Ready:     int(v.GetReady()),
						Weight:    int(v.GetWeight()),
						Colour:    v.GetColour(),
					}
				}),
				Healthy: ss.GetHealthy(),
				Message: ss.GetMessage(),
			}
		}),
		AppliedKeys: s.GetAppliedKeys(),
	}
}

// ---- MonitoringSource ----

func metricDescriptorToPB(m MetricDescriptor) *pb.MetricDescriptor {
	return &pb.MetricDescriptor{
		Name:        m.Name,
		Kind:        m.Kind,
		Unit:        m.Unit,
		Labels:      m.Labels,
		Description: m.Description,
	}
}

func metricDescriptorFromPB(m *pb.MetricDescriptor) MetricDescriptor {
	return MetricDescriptor{
		Name:        m.GetName(),
		Kind:        m.GetKind(),
		Unit:        m.GetUnit(),
		Labels:      m.GetLabels(),
		Description: m.GetDescription(),
	}
}

func monitoringCapabilitiesToPB(c MonitoringCapabilities) *pb.MonitoringCapabilities {
	return &pb.MonitoringCapabilities{
		Metrics: each(c.Metrics, metricDescriptorToPB),
		Watch:   c.Watch,
		Alerts:  c.Alerts,
		Logs:    c.Logs,
	}
}

func monitoringCapabilitiesFromPB(c *pb.MonitoringCapabilities) MonitoringCapabilities {
	return MonitoringCapabilities{
		Metrics: each(c.GetMetrics(), metricDescriptorFromPB),
		Watch:   c.GetWatch(),
		Alerts:  c.GetAlerts(),
		Logs:    c.GetLogs(),
	}
}

func queryRequestToPB(r QueryRequest) *pb.QueryRequest {
	return &pb.QueryRequest{
		Metric:  r.Metric,
		Labels:  r.Labels,
		StartMs: timeToMS(r.Start),
		EndMs:   timeToMS(r.End),
		StepMs:  durToMS(r.Step),
	}
}

func queryRequestFromPB(r *pb.QueryRequest) QueryRequest {
	return QueryRequest{
		Metric: r.GetMetric(),
		Labels: r.GetLabels(),
		Start:  msToTime(r.GetStartMs()),
		End:    msToTime(r.GetEndMs()),
		Step:   msToDur(r.GetStepMs()),
	}
}

func seriesToPB(s Series) *pb.Series {
	// One allocation for all points rather than one per point: a range
	// query can return many thousands.
	points := make([]pb.Point, len(s.Points))
	ptrs := make([]*pb.Point, len(s.Points))
	for i, p := range s.Points {
		points[i].TMs, points[i].Value = p.T, p.V
		ptrs[i] = &points[i]
	}
	if len(ptrs) == 0 {
		ptrs = nil
	}
	return &pb.Series{Metric: s.Metric, Labels: s.Labels, Points: ptrs}
}

func seriesFromPB(s *pb.Series) Series {
	return Series{
		Metric: s.GetMetric(),
		Labels: s.GetLabels(),
		Points: each(s.GetPoints(), func(p *pb.Point) Point { return Point{T: p.GetTMs(), V: p.GetValue()} }),
	}
}

func watchRequestToPB(r WatchRequest) *pb.WatchRequest {
	return &pb.WatchRequest{Metrics: r.Metrics, Labels: r.Labels, IntervalMs: durToMS(r.Interval)}
}

func watchRequestFromPB(r *pb.WatchRequest) WatchRequest {
	return WatchRequest{Metrics: r.GetMetrics(), Labels: r.GetLabels(), Interval: msToDur(r.GetIntervalMs())}
}

func alertsRequestToPB(r AlertsRequest) *pb.AlertsRequest {
	return &pb.AlertsRequest{Labels: r.Labels}
}

func alertsRequestFromPB(r *pb.AlertsRequest) AlertsRequest {
	return AlertsRequest{Labels: r.GetLabels()}
}

func alertToPB(a Alert) *pb.Alert {
	return &pb.Alert{
		Name:        a.Name,
		State:       a.State,
		Severity:    a.Severity,
		Labels:      a.Labels,
		Annotations: a.Annotations,
		StartsAtMs:  timeToMS(a.StartsAt),
		Fingerprint: a.Fingerprint,
	}
}

func alertFromPB(a *pb.Alert) Alert {
	return Alert{
		Name:        a.GetName(),
		State:       a.GetState(),
		Severity:    a.GetSeverity(),
		Labels:      a.GetLabels(),
		Annotations: a.GetAnnotations(),
		StartsAt:    msToTime(a.GetStartsAtMs()),
		Fingerprint: a.GetFingerprint(),
	}
}

func logsRequestToPB(e *enc, r LogsRequest) *pb.LogsRequest {
	return &pb.LogsRequest{
		Services: r.Services,
		StartMs:  timeToMS(r.Start),
		EndMs:    timeToMS(r.End),
		TraceId:  r.TraceID,
		Query:    r.Query,
		Limit:    e.i32("limit", r.Limit),
	}
}

func logsRequestFromPB(r *pb.LogsRequest) LogsRequest {
	return LogsRequest{
		Services: r.GetServices(),
		Start:    msToTime(r.GetStartMs()),
		End:      msToTime(r.GetEndMs()),
		TraceID:  r.GetTraceId(),
		Query:    r.GetQuery(),
		Limit:    int(r.GetLimit()),
	}
}

func logLineToPB(l LogLine) *pb.LogLine {
	return &pb.LogLine{
		AtMs:    timeToMS(l.At),
		Service: l.Service,
		Level:   l.Level,
		Message: l.Message,
		TraceId: l.TraceID,
		Fields:  l.Fields,
	}
}

func logLineFromPB(l *pb.LogLine) LogLine {
	return LogLine{
		At:      msToTime(l.GetAtMs()),
		Service: l.GetService(),
		Level:   l.GetLevel(),
		Message: l.GetMessage(),
		TraceID: l.GetTraceId(),
		Fields:  l.GetFields(),
	}
}

func logsResultToPB(r LogsResult) *pb.LogsResponse {
	return &pb.LogsResponse{Lines: each(r.Lines, logLineToPB), Truncated: r.Truncated}
}

func logsResultFromPB(r *pb.LogsResponse) LogsResult {
	return LogsResult{Lines: each(r.GetLines(), logLineFromPB), Truncated: r.GetTruncated()}
}

// ---- Ticketing ----

func ticketingCapabilitiesToPB(c TicketingCapabilities) *pb.TicketingCapabilities {
	return &pb.TicketingCapabilities{
		System:    c.System,
		Url:       c.URL,
		States:    c.States,
		Approvals: c.Approvals,
		Channels:  c.Channels,
	}
}

func ticketingCapabilitiesFromPB(c *pb.TicketingCapabilities) TicketingCapabilities {
	return TicketingCapabilities{
		System:    c.GetSystem(),
		URL:       c.GetUrl(),
		States:    c.GetStates(),
		Approvals: c.GetApprovals(),
		Channels:  c.GetChannels(),
	}
}

func changeSpecToPB(s ChangeSpec) *pb.ChangeSpec {
	return &pb.ChangeSpec{
		Release:           s.Release,
		Title:             s.Title,
		Description:       s.Description,
		Class:             s.Class,
		Risk:              s.Risk,
		Impact:            s.Impact,
		BackoutPlan:       s.BackoutPlan,
		Stakeholders:      s.Stakeholders,
		Services:          s.Services,
		WindowStartMs:     timeToMS(s.WindowStart),
		WindowEndMs:       timeToMS(s.WindowEnd),
		RequestedBy:       s.RequestedBy,
		ApproversRequired: s.ApproversRequired,
	}
}

func changeSpecFromPB(s *pb.ChangeSpec) ChangeSpec {
	return ChangeSpec{
		Release:           s.GetRelease(),
		Title:             s.GetTitle(),
		Description:       s.GetDescription(),
		Class:             s.GetClass(),
		Risk:              s.GetRisk(),
		Impact:            s.GetImpact(),
		BackoutPlan:       s.GetBackoutPlan(),
		Stakeholders:      s.GetStakeholders(),
		Services:          s.GetServices(),
		WindowStart:       msToTime(s.GetWindowStartMs()),
		WindowEnd:         msToTime(s.GetWindowEndMs()),
		RequestedBy:       s.GetRequestedBy(),
		ApproversRequired: s.GetApproversRequired(),
	}
}

func createChangeRequestToPB(r CreateChangeRequest) *pb.CreateChangeRequest {
	return &pb.CreateChangeRequest{IdempotencyKey: r.IdempotencyKey, Spec: changeSpecToPB(r.Spec)}
}

func createChangeRequestFromPB(r *pb.CreateChangeRequest) CreateChangeRequest {
	return CreateChangeRequest{IdempotencyKey: r.GetIdempotencyKey(), Spec: changeSpecFromPB(r.GetSpec())}
}

func approvalToPB(a Approval) *pb.Approval {
	return &pb.Approval{
		Approver: a.Approver,
		Role:     a.Role,
		Decision: a.Decision,
		Comment:  a.Comment,
		AtMs:     timeToMS(a.At),
	}
}

func approvalFromPB(a *pb.Approval) Approval {
	return Approval{
		Approver: a.GetApprover(),
		Role:     a.GetRole(),
		Decision: a.GetDecision(),
		Comment:  a.GetComment(),
		At:       msToTime(a.GetAtMs()),
	}
}

func commentToPB(c Comment) *pb.ChangeComment {
	return &pb.ChangeComment{Author: c.Author, Body: c.Body, AtMs: timeToMS(c.At)}
}

func commentFromPB(c *pb.ChangeComment) Comment {
	return Comment{Author: c.GetAuthor(), Body: c.GetBody(), At: msToTime(c.GetAtMs())}
}

func changeToPB(c Change) *pb.Change {
	return &pb.Change{
		Id:          c.ID,
		Url:         c.URL,
		State:       c.State,
		Spec:        changeSpecToPB(c.Spec),
		Approvals:   each(c.Approvals, approvalToPB),
		Comments:    each(c.Comments, commentToPB),
		CreatedAtMs: timeToMS(c.CreatedAt),
		UpdatedAtMs: timeToMS(c.UpdatedAt),
	}
}

func changeFromPB(c *pb.Change) Change {
	return Change{
		ID:        c.GetId(),
		URL:       c.GetUrl(),
		State:     c.GetState(),
		Spec:      changeSpecFromPB(c.GetSpec()),
		Approvals: each(c.GetApprovals(), approvalFromPB),
		Comments:  each(c.GetComments(), commentFromPB),
		CreatedAt: msToTime(c.GetCreatedAtMs()),
		UpdatedAt: msToTime(c.GetUpdatedAtMs()),
	}
}

func commentRequestToPB(r CommentRequest) *pb.CommentRequest {
	return &pb.CommentRequest{Id: r.ID, Author: r.Author, Body: r.Body}
}

func commentRequestFromPB(r *pb.CommentRequest) CommentRequest {
	return CommentRequest{ID: r.GetId(), Author: r.GetAuthor(), Body: r.GetBody()}
}

func transitionRequestToPB(r TransitionRequest) *pb.TransitionRequest {
	return &pb.TransitionRequest{
		Id:      r.ID,
		ToState: r.ToState,
		Actor:   r.Actor,
		Reason:  r.Reason,
		Role:    r.Role,
	}
}

func transitionRequestFromPB(r *pb.TransitionRequest) TransitionRequest {
	return TransitionRequest{
		ID:      r.GetId(),
		ToState: r.GetToState(),
		Actor:   r.GetActor(),
		Reason:  r.GetReason(),
		Role:    r.GetRole(),
	}
}

func notifyRequestToPB(r NotifyRequest) *pb.NotifyRequest {
	return &pb.NotifyRequest{
		IdempotencyKey: r.IdempotencyKey,
		To:             r.To,
		Subject:        r.Subject,
		Body:           r.Body,
		Severity:       r.Severity,
		ChangeId:       r.ChangeID,
		Channel:        r.Channel,
	}
}

func notifyRequestFromPB(r *pb.NotifyRequest) NotifyRequest {
	return NotifyRequest{
		IdempotencyKey: r.GetIdempotencyKey(),
		To:             r.GetTo(),
		Subject:        r.GetSubject(),
		Body:           r.GetBody(),
		Severity:       r.GetSeverity(),
		ChangeID:       r.GetChangeId(),
		Channel:        r.GetChannel(),
	}
}

func notifyResultToPB(r NotifyResult) *pb.NotifyResponse {
	return &pb.NotifyResponse{Delivered: r.Delivered, MessageId: r.MessageID}
}

func notifyResultFromPB(r *pb.NotifyResponse) NotifyResult {
	return NotifyResult{Delivered: r.GetDelivered(), MessageID: r.GetMessageId()}
}
