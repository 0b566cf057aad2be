package sdk

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind is a provider kind.
type Kind string

const (
	KindDeployTarget     Kind = "deploy-target"
	KindMonitoringSource Kind = "monitoring-source"
	KindTicketing        Kind = "ticketing"
)

// Plugin is everything a plugin binary serves. Name and Version are
// required; at least one of the provider kinds must be set.
type Plugin struct {
	Name        string
	Version     string // semver
	Description string
	// Settings documents the settings the plugin understands; Configure
	// receives them from warroom's plugin configuration.
	Settings []SettingSpec
	// Configure is called once before any other call. Return an error to
	// refuse the settings (an unknown or missing setting, say).
	Configure func(ctx context.Context, cfg Config) error

	DeployTarget     DeployTarget
	MonitoringSource MonitoringSource
	Ticketing        Ticketing
}

// Kinds lists the provider kinds the plugin serves.
func (p Plugin) Kinds() []Kind {
	var out []Kind
	if p.DeployTarget != nil {
		out = append(out, KindDeployTarget)
	}
	if p.MonitoringSource != nil {
		out = append(out, KindMonitoringSource)
	}
	if p.Ticketing != nil {
		out = append(out, KindTicketing)
	}
	return out
}

// Info is what a plugin says about itself.
type Info struct {
	Name        string        `json:"name"`
	Version     string        `json:"version"`
	Description string        `json:"description,omitempty"`
	Kinds       []Kind        `json:"kinds"`
	Settings    []SettingSpec `json:"settings,omitempty"`
}

// SettingSpec documents one setting.
type SettingSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Default     string `json:"default,omitempty"`
	// Secret marks a setting that holds a reference to a secret (an
	// environment variable name, a file path), never the secret itself.
	Secret bool `json:"secret,omitempty"`
}

// Config is a plugin's configuration.
type Config struct {
	Settings map[string]string
	// StateDir is a directory the plugin may keep state in, created by
	// warroom and kept between launches.
	StateDir string
}

// Check is the outcome of one named check: a pre-flight check, a smoke
// test.
type Check struct {
	Name     string            `json:"name"`
	Passed   bool              `json:"passed"`
	Message  string            `json:"message,omitempty"`
	Duration time.Duration     `json:"duration,omitempty"`
	Evidence map[string]string `json:"evidence,omitempty"`
}

// ---- DeployTarget ----

// DeployTarget puts service versions on a platform.
//
// Calls that change something carry an idempotency key: a target that is
// asked again with a key it has already applied must not act again; it
// reports the recorded outcome (for Deploy and Rollback: a done event with
// Replayed set). That is how warroom resumes after a crash without
// repeating a deployment.
type DeployTarget interface {
	Describe(ctx context.Context) (Capabilities, error)
	Preflight(ctx context.Context, req PreflightRequest) ([]Check, error)
	// Deploy sends progress events as the deployment goes. Return nil when
	// it succeeded, an error when it failed: the SDK sends the final done
	// event either way.
	Deploy(ctx context.Context, req DeployRequest, events EventSink) error
	SetTraffic(ctx context.Context, req SetTrafficRequest) ([]TrafficWeight, error)
	Verify(ctx context.Context, req VerifyRequest) ([]Check, error)
	Rollback(ctx context.Context, req RollbackRequest, events EventSink) error
	// Status reports what actually runs, for drift detection and crash
	// recovery. It must tell the truth, not what was last asked for.
	Status(ctx context.Context, req StatusRequest) (Status, error)
}

// EventSink receives a deployment's progress events.
type EventSink interface {
	Send(DeployEvent) error
}

// Capabilities is what a deploy target can do.
type Capabilities struct {
	Strategies        []string `json:"strategies"` // rolling, blue-green, canary
	TrafficShifting   bool     `json:"traffic_shifting"`
	Stateful          bool     `json:"stateful"`
	ServiceKinds      []string `json:"service_kinds,omitempty"`
	BlueGreenStateful bool     `json:"blue_green_stateful,omitempty"`
	MaxParallel       int      `json:"max_parallel,omitempty"`
	Status            bool     `json:"status"`
}

// Target is where a step happens.
type Target struct {
	Service     string `json:"service"`
	Environment string `json:"environment"`
	Region      string `json:"region,omitempty"`
}

// Artifact identifies the build to deploy.
type Artifact struct {
	Digest string `json:"digest,omitempty"`
	Ref    string `json:"ref,omitempty"`
	Source string `json:"source,omitempty"`
}

// PreflightRequest asks whether a step can start.
type PreflightRequest struct {
	Target   Target
	Version  string
	Artifact Artifact
	Strategy string
	Settings map[string]string
}

// DeployRequest asks for a version to be deployed.
type DeployRequest struct {
	IdempotencyKey string
	Target         Target
	Version        string
	FromVersion    string
	Artifact       Artifact
	Strategy       string
	BatchSize      int
	Instances      int
	ServiceKind    string
	Settings       map[string]string
	RunID          string
	Step           int
	Attempt        int
}

// DeployEvent is one progress report of a deployment or rollback.
type DeployEvent struct {
	At             time.Time `json:"at"`
	Phase          string    `json:"phase,omitempty"`
	Message        string    `json:"message,omitempty"`
	Percent        int       `json:"percent"`
	InstancesReady int       `json:"instances_ready,omitempty"`
	InstancesTotal int       `json:"instances_total,omitempty"`
	Done           bool      `json:"done,omitempty"`
	Failed         bool      `json:"failed,omitempty"`
	Replayed       bool      `json:"replayed,omitempty"`
}

// TrafficWeight is a share of traffic for a version (or a blue-green
// colour).
type TrafficWeight struct {
	Version string `json:"version"`
	Percent int    `json:"percent"`
}

// SetTrafficRequest asks for traffic to be split; weights sum to 100.
type SetTrafficRequest struct {
	IdempotencyKey string
	Target         Target
	Weights        []TrafficWeight
}

// VerifyRequest asks for smoke checks of a deployed version.
type VerifyRequest struct {
	Target   Target
	Version  string
	Checks   []string // empty: the target's default checks
	Settings map[string]string
}

// RollbackRequest asks for a service to go back to a version.
type RollbackRequest struct {
	IdempotencyKey string
	Target         Target
	ToVersion      string
	FromVersion    string
	Reason         string
	RunID          string
	Step           int
}

// StatusRequest asks what runs; an empty Target.Service means every
// service the target runs in that environment and region.
type StatusRequest struct {
	Target Target
}

// Status is what actually runs.
type Status struct {
	Services    []ServiceStatus `json:"services"`
	AppliedKeys []string        `json:"applied_keys,omitempty"`
}

// ServiceStatus is what runs of one service in one place.
type ServiceStatus struct {
	Target   Target          `json:"target"`
	Versions []VersionStatus `json:"versions"`
	Healthy  bool            `json:"healthy"`
	Message  string          `json:"message,omitempty"`
}

// VersionStatus is one version's instances and traffic.
type VersionStatus struct {
	Version   string `json:"version"`
	Instances int    `json:"instances"`
	Ready     int    `json:"ready"`
	Weight    int    `json:"weight"`
	Colour    string `json:"colour,omitempty"`
}

// ---- MonitoringSource ----

// MonitoringSource reads metrics, alerts and logs.
type MonitoringSource interface {
	Describe(ctx context.Context) (MonitoringCapabilities, error)
	Query(ctx context.Context, req QueryRequest) ([]Series, error)
	// Watch writes samples as they arrive until ctx ends (return nil
	// then) or the source fails.
	Watch(ctx context.Context, req WatchRequest, w SampleWriter) error
	Alerts(ctx context.Context, req AlertsRequest) ([]Alert, error)
	Logs(ctx context.Context, req LogsRequest) (LogsResult, error)
}

// MonitoringCapabilities is what a monitoring source offers.
type MonitoringCapabilities struct {
	Metrics []MetricDescriptor `json:"metrics"`
	Watch   bool               `json:"watch"`
	Alerts  bool               `json:"alerts"`
	Logs    bool               `json:"logs"`
}

// MetricDescriptor describes one metric a source serves.
type MetricDescriptor struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"` // counter, gauge, histogram, quantile
	Unit        string   `json:"unit,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	Description string   `json:"description,omitempty"`
}

// QueryRequest is a range query of one metric.
type QueryRequest struct {
	Metric string
	Labels map[string]string
	Start  time.Time
	End    time.Time
	Step   time.Duration
}

// Series is one labelled time series.
type Series struct {
	Metric string            `json:"metric"`
	Labels map[string]string `json:"labels,omitempty"`
	Points []Point           `json:"points"`
}

// Point is one value at one time (Unix milliseconds).
type Point struct {
	T int64   `json:"t"`
	V float64 `json:"v"`
}

// WatchRequest asks for a stream of samples.
type WatchRequest struct {
	Metrics  []string
	Labels   map[string]string
	Interval time.Duration
}

// SeriesID names a series within one Watch stream.
type SeriesID uint32

// SampleWriter is where a Watch writes. Declare each series once, then
// write samples of it; the SDK batches them onto the wire.
type SampleWriter interface {
	Series(metric string, labels map[string]string) SeriesID
	Write(series SeriesID, tMillis int64, value float64) error
	// Flush sends what is batched now; the SDK also flushes by itself
	// when a batch is full and shortly after the last write.
	Flush() error
}

// SeriesDef is a series as a Watch stream declared it.
type SeriesDef struct {
	ID     SeriesID          `json:"id"`
	Metric string            `json:"metric"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Sample is one value of one series, as a watcher receives it.
type Sample struct {
	Series *SeriesDef
	T      int64 // Unix milliseconds
	V      float64
}

// AlertsRequest selects alerts by label.
type AlertsRequest struct {
	Labels map[string]string
}

// Alert is an alert of the monitoring system.
type Alert struct {
	Name        string            `json:"name"`
	State       string            `json:"state"`              // firing, pending, resolved
	Severity    string            `json:"severity,omitempty"` // critical, warning, info
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"starts_at"`
	Fingerprint string            `json:"fingerprint,omitempty"`
}

// LogsRequest selects log lines.
type LogsRequest struct {
	Services []string
	Start    time.Time
	End      time.Time
	TraceID  string
	Query    string
	Limit    int
}

// LogsResult is the log lines found.
type LogsResult struct {
	Lines     []LogLine `json:"lines"`
	Truncated bool      `json:"truncated,omitempty"`
}

// LogLine is one log line.
type LogLine struct {
	At      time.Time         `json:"at"`
	Service string            `json:"service,omitempty"`
	Level   string            `json:"level,omitempty"`
	Message string            `json:"message"`
	TraceID string            `json:"trace_id,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// ---- Ticketing ----

// Ticketing files change requests, follows their approvals and tells
// stakeholders.
type Ticketing interface {
	Describe(ctx context.Context) (TicketingCapabilities, error)
	// CreateChange files a change; asked again with the same idempotency
	// key it returns the change filed the first time.
	CreateChange(ctx context.Context, req CreateChangeRequest) (Change, error)
	GetChange(ctx context.Context, id string) (Change, error)
	Comment(ctx context.Context, req CommentRequest) (Change, error)
	Transition(ctx context.Context, req TransitionRequest) (Change, error)
	Notify(ctx context.Context, req NotifyRequest) (NotifyResult, error)
}

// TicketingCapabilities is what a ticketing system offers.
type TicketingCapabilities struct {
	System    string   `json:"system"`
	URL       string   `json:"url,omitempty"`
	States    []string `json:"states"`
	Approvals bool     `json:"approvals"`
	Channels  []string `json:"channels,omitempty"`
}

// ChangeSpec is what a change request says.
type ChangeSpec struct {
	Release           string    `json:"release,omitempty"`
	Title             string    `json:"title"`
	Description       string    `json:"description,omitempty"`
	Class             string    `json:"class,omitempty"` // standard, normal, emergency
	Risk              float64   `json:"risk,omitempty"`  // 0..100
	Impact            string    `json:"impact,omitempty"`
	BackoutPlan       string    `json:"backout_plan,omitempty"`
	Stakeholders      []string  `json:"stakeholders,omitempty"`
	Services          []string  `json:"services,omitempty"`
	WindowStart       time.Time `json:"window_start"`
	WindowEnd         time.Time `json:"window_end"`
	RequestedBy       string    `json:"requested_by,omitempty"`
	ApproversRequired []string  `json:"approvers_required,omitempty"`
}

// CreateChangeRequest files a change.
type CreateChangeRequest struct {
	IdempotencyKey string
	Spec           ChangeSpec
}

// Approval is one approver's decision.
type Approval struct {
	Approver string    `json:"approver"`
	Role     string    `json:"role,omitempty"`
	Decision string    `json:"decision"` // approved, rejected
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
}

// Comment is a remark on a change.
type Comment struct {
	Author string    `json:"author"`
	Body   string    `json:"body"`
	At     time.Time `json:"at"`
}

// Change is a change request as the ticketing system holds it.
type Change struct {
	ID        string     `json:"id"`
	URL       string     `json:"url,omitempty"`
	State     string     `json:"state"`
	Spec      ChangeSpec `json:"spec"`
	Approvals []Approval `json:"approvals,omitempty"`
	Comments  []Comment  `json:"comments,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// CommentRequest adds a comment.
type CommentRequest struct {
	ID     string
	Author string
	Body   string
}

// TransitionRequest moves a change to another state. Approving is a
// transition to "approved" by an actor with a role.
type TransitionRequest struct {
	ID      string
	ToState string
	Actor   string
	Role    string
	Reason  string
}

// NotifyRequest is a message to stakeholders.
type NotifyRequest struct {
	IdempotencyKey string
	To             []string
	Subject        string
	Body           string
	Severity       string // info, warning, critical
	ChangeID       string
	Channel        string
}

// NotifyResult says who was told.
type NotifyResult struct {
	Delivered []string `json:"delivered"`
	MessageID string   `json:"message_id,omitempty"`
}

// ReadSettings checks a configuration's settings against the plugin's
// declared ones: an undeclared setting is a CodeInvalid error naming it.
// The getter it returns gives a setting's value, trimmed, or its declared
// default when it is missing or blank.
func ReadSettings(cfg Config, specs []SettingSpec) (get func(name string) string, err error) {
	known := make(map[string]string, len(specs))
	for _, s := range specs {
		known[s.Name] = s.Default
	}
	var unknown []string
	for k := range cfg.Settings {
		if _, ok := known[k]; !ok {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, Errorf(CodeInvalid, "unknown setting %s", strings.Join(unknown, ", "))
	}
	return func(name string) string {
		if v := strings.TrimSpace(cfg.Settings[name]); v != "" {
			return v
		}
		return known[name]
	}, nil
}
