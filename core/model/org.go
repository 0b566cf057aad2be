package model

import (
	"sort"
	"time"
)

// Kind names a kind of spec object. The values are the top-level keys of a
// spec file, singular.
type Kind string

const (
	KindTeam        Kind = "team"
	KindPerson      Kind = "person"
	KindPolicy      Kind = "policy"
	KindVendor      Kind = "vendor"
	KindLibrary     Kind = "library"
	KindService     Kind = "service"
	KindGate        Kind = "gate"
	KindEnvironment Kind = "environment"
	KindCalendar    Kind = "calendar"
	KindRelease     Kind = "release"
)

// Kinds lists every kind in dependency order: an object only refers to
// objects of kinds listed before its own (services to teams, releases to
// services, ...), except services, which refer to each other.
var Kinds = []Kind{KindTeam, KindPerson, KindPolicy, KindVendor, KindLibrary, KindService, KindGate, KindEnvironment, KindCalendar, KindRelease}

// Org is the whole declared organisation: everything spec files describe.
type Org struct {
	Teams        []Team         `json:"teams,omitempty"`
	People       []Person       `json:"people,omitempty"`
	Policies     []Policy       `json:"policies,omitempty"`
	Vendors      []Vendor       `json:"vendors,omitempty"`
	Libraries    []Library      `json:"libraries,omitempty"`
	Services     []Service      `json:"services,omitempty"`
	Gates        []Gate         `json:"gates,omitempty"`
	Environments []Environment  `json:"environments,omitempty"`
	Calendar     []CalendarItem `json:"calendar,omitempty"`
	Releases     []Release      `json:"releases,omitempty"`
}

// Sort puts every list in its canonical order: environments by promotion
// order, everything else by name. Loaders call it so that output does not
// depend on file or row order.
func (o *Org) Sort() {
	sort.Slice(o.Teams, func(i, j int) bool { return o.Teams[i].Name < o.Teams[j].Name })
	sort.Slice(o.People, func(i, j int) bool { return o.People[i].Name < o.People[j].Name })
	sort.Slice(o.Policies, func(i, j int) bool { return o.Policies[i].Name < o.Policies[j].Name })
	sort.Slice(o.Vendors, func(i, j int) bool { return o.Vendors[i].Name < o.Vendors[j].Name })
	sort.Slice(o.Libraries, func(i, j int) bool { return o.Libraries[i].Name < o.Libraries[j].Name })
	sort.Slice(o.Services, func(i, j int) bool { return o.Services[i].Name < o.Services[j].Name })
	sort.Slice(o.Gates, func(i, j int) bool { return o.Gates[i].Name < o.Gates[j].Name })
	sort.SliceStable(o.Environments, func(i, j int) bool {
		a, b := o.Environments[i], o.Environments[j]
		if a.Order != b.Order {
			return a.Order < b.Order
		}
		return a.Name < b.Name
	})
	sort.Slice(o.Calendar, func(i, j int) bool { return o.Calendar[i].Name < o.Calendar[j].Name })
	sort.Slice(o.Releases, func(i, j int) bool { return o.Releases[i].Name < o.Releases[j].Name })
}

// Contact is one rung of an escalation path.
type Contact struct {
	Name    string `yaml:"name" json:"name" spec:"required"`
	Role    string `yaml:"role" json:"role,omitempty"`
	Email   string `yaml:"email" json:"email,omitempty"`
	Phone   string `yaml:"phone" json:"phone,omitempty"`
	Chat    string `yaml:"chat" json:"chat,omitempty"`
	OnCall  string `yaml:"on_call" json:"on_call,omitempty"` // on-call rotation reference, e.g. a PagerDuty schedule id
	Pager   bool   `yaml:"pager" json:"pager,omitempty"`     // paging this contact wakes someone up
	Comment string `yaml:"comment" json:"comment,omitempty"`
}

// Team is an owning team inside the company.
type Team struct {
	Name         string    `yaml:"name" json:"name" spec:"required"`
	DisplayName  string    `yaml:"display_name" json:"display_name,omitempty"`
	BusinessUnit string    `yaml:"business_unit" json:"business_unit,omitempty"`
	Channel      string    `yaml:"channel" json:"channel,omitempty"` // where the team talks during a release
	OnCall       string    `yaml:"on_call" json:"on_call,omitempty"` // rotation reference
	Escalation   []Contact `yaml:"escalation" json:"escalation,omitempty"`
	// Roles are the governance roles the team may exercise (security,
	// compliance, operations, support, business): who may approve what.
	Roles []string `yaml:"roles" json:"roles,omitempty"`
}

// Roles lists the governance roles a team may hold and an approver may
// name.
var Roles = []string{"security", "compliance", "operations", "support", "business"}

// Vendor is an external company that owns upstream or downstream services.
type Vendor struct {
	Name        string    `yaml:"name" json:"name" spec:"required"`
	DisplayName string    `yaml:"display_name" json:"display_name,omitempty"`
	Contract    string    `yaml:"contract" json:"contract,omitempty"` // contract or support-plan reference
	SupportURL  string    `yaml:"support_url" json:"support_url,omitempty"`
	StatusURL   string    `yaml:"status_url" json:"status_url,omitempty"`
	Escalation  []Contact `yaml:"escalation" json:"escalation,omitempty"`
}

// Library is a shared library in the catalogue: its owner and the versions
// that were released, so conflicts can be resolved to a real version.
type Library struct {
	Name        string   `yaml:"name" json:"name" spec:"required"`
	Owner       string   `yaml:"owner" json:"owner,omitempty"` // team or vendor
	Description string   `yaml:"description" json:"description,omitempty"`
	Versions    []string `yaml:"versions" json:"versions,omitempty"` // released versions, any order
}

// ServiceKind says how a service holds state, which decides the deployment
// strategies and steps it may use.
type ServiceKind string

const (
	Stateless ServiceKind = "stateless"
	Stateful  ServiceKind = "stateful"
	Database  ServiceKind = "database"
	Queue     ServiceKind = "queue"
)

// ServiceKinds lists the valid service kinds.
var ServiceKinds = []string{string(Stateless), string(Stateful), string(Database), string(Queue)}

// Tier ranks a service's business criticality: 0 is the most critical
// (outage stops revenue), 3 the least.
type Tier int

const (
	MinTier Tier = 0
	MaxTier Tier = 3
)

// APIProvision is an API a service provides, at a semantic version.
type APIProvision struct {
	API     string `yaml:"api" json:"api" spec:"required"`
	Version string `yaml:"version" json:"version" spec:"required"`
}

// APIRequirement is an API a service consumes, with the semver range of
// versions it can talk to (Masterminds/semver syntax: "^2.1", ">=1.4 <3").
type APIRequirement struct {
	API      string `yaml:"api" json:"api" spec:"required"`
	Range    string `yaml:"range" json:"range" spec:"required"`
	Optional bool   `yaml:"optional" json:"optional,omitempty"` // degrades gracefully without it
}

// LibraryUse is a shared library a service is built with: the version it
// bundles and the range of versions it would accept (default: ^version).
type LibraryUse struct {
	Name    string `yaml:"name" json:"name" spec:"required"`
	Version string `yaml:"version" json:"version" spec:"required"`
	Range   string `yaml:"range" json:"range,omitempty"`
}

// SLO is a service's objectives. They are a release's acceptance criteria
// and the thresholds of its canary analysis.
type SLO struct {
	Availability float64  `yaml:"availability" json:"availability,omitempty"` // percent of good requests, e.g. 99.95
	LatencyP99   Duration `yaml:"latency_p99" json:"latency_p99,omitempty"`
	LatencyP50   Duration `yaml:"latency_p50" json:"latency_p50,omitempty"`
	Window       Duration `yaml:"window" json:"window,omitempty"` // error-budget window, default 28 days
	// BudgetPolicy decides what an exhausted error budget does: "block"
	// (non-emergency changes are refused) or "warn".
	BudgetPolicy string `yaml:"budget_policy" json:"budget_policy,omitempty"`
}

// Strategy is a deployment strategy.
type Strategy string

const (
	Rolling   Strategy = "rolling"
	BlueGreen Strategy = "blue-green"
	Canary    Strategy = "canary"
)

// Strategies lists the valid strategies.
var Strategies = []string{string(Rolling), string(BlueGreen), string(Canary)}

// DeployPolicy is how a service is deployed.
type DeployPolicy struct {
	Target      string   `yaml:"target" json:"target,omitempty"` // deploy-target plugin name
	Strategy    Strategy `yaml:"strategy" json:"strategy,omitempty"`
	BatchSize   int      `yaml:"batch_size" json:"batch_size,omitempty"`     // rolling: instances per batch
	CanarySteps []int    `yaml:"canary_steps" json:"canary_steps,omitempty"` // canary: traffic percentages, ending at 100
	BakeTime    Duration `yaml:"bake_time" json:"bake_time,omitempty"`       // per canary step / after the step
	Instances   int      `yaml:"instances" json:"instances,omitempty"`
	// CanaryTolerance is the largest regression a canary may carry and
	// still be promoted: the judge promotes only once the data rule out
	// anything larger (zero fields: defaults derived from the SLO).
	CanaryTolerance CanaryTolerance `yaml:"canary_tolerance" json:"canary_tolerance,omitempty"`
	// BakeExtension bounds how long a canary step may bake when its bake
	// time ends with neither proof of safety nor of harm: up to
	// BakeExtension times bake_time in all (0: the default, 4), never past
	// the release's window. Then the step waits for an operator.
	BakeExtension float64 `yaml:"bake_extension" json:"bake_extension,omitempty"`
	// ExpectedRPS is the traffic the service is expected to serve during
	// a release, per environment name, in requests per second, all its
	// regions together: the plan estimates from it the bake time a
	// canary needs for the judge's proofs.
	ExpectedRPS map[string]float64 `yaml:"expected_rps" json:"expected_rps,omitempty"`
	// Settings are passed to the deploy target verbatim.
	Settings map[string]string `yaml:"settings" json:"settings,omitempty"`
}

// CanaryTolerance is the largest regression a canary is allowed.
type CanaryTolerance struct {
	// ErrorRate is in percentage points over the baseline's error rate:
	// 0.5 tolerates 1.2 % errors against a baseline's 0.7 %.
	ErrorRate float64 `yaml:"error_rate" json:"error_rate,omitempty"`
	// LatencyP95 is in percent of the baseline's p95 latency: 20
	// tolerates a p95 of 120 ms against a baseline's 100 ms.
	LatencyP95 float64 `yaml:"latency_p95" json:"latency_p95,omitempty"`
}

// DefaultBakeExtension is how many times its bake time a canary step may
// bake in all when the evidence is not yet conclusive.
const DefaultBakeExtension = 4

// Service is a deployable component in the catalogue.
type Service struct {
	Name        string      `yaml:"name" json:"name" spec:"required"`
	Description string      `yaml:"description" json:"description,omitempty"`
	Owner       string      `yaml:"owner" json:"owner,omitempty"` // team or vendor; empty is a plan blocker
	Tier        Tier        `yaml:"tier" json:"tier" spec:"required"`
	Kind        ServiceKind `yaml:"kind" json:"kind,omitempty"` // default stateless
	Repository  string      `yaml:"repository" json:"repository,omitempty"`
	// Version is the version running in production now: what consumers
	// talk to unless a release changes it.
	Version   string           `yaml:"version" json:"version" spec:"required"`
	Provides  []APIProvision   `yaml:"provides" json:"provides,omitempty"`
	Requires  []APIRequirement `yaml:"requires" json:"requires,omitempty"`
	Libraries []LibraryUse     `yaml:"libraries" json:"libraries,omitempty"`
	// Databases are the database services whose schema this one reads or
	// writes; a migration of one of them orders this service around it.
	Databases []string      `yaml:"databases" json:"databases,omitempty"`
	SLO       SLO           `yaml:"slo" json:"slo,omitempty"`
	Deploy    DeployPolicy  `yaml:"deploy" json:"deploy,omitempty"`
	Labels    LabelSet      `yaml:"labels" json:"labels,omitempty"`
	Runbook   string        `yaml:"runbook" json:"runbook,omitempty"`
	Toggles   []FeatureFlag `yaml:"toggles" json:"toggles,omitempty"`
}

// LabelSet is free-form key/value metadata.
type LabelSet map[string]string

// FeatureFlag is a feature toggle a service reads: unfinished work ships dark.
type FeatureFlag struct {
	Name        string          `yaml:"name" json:"name" spec:"required"`
	Description string          `yaml:"description" json:"description,omitempty"`
	Default     bool            `yaml:"default" json:"default"`
	PerEnv      map[string]bool `yaml:"per_env" json:"per_env,omitempty"` // environment -> on/off
}

// GateKind is what a gate checks and so which evidence it reads.
type GateKind string

const (
	GateTests       GateKind = "tests"       // JUnit XML pass rate
	GateCoverage    GateKind = "coverage"    // coverage profile percentage
	GatePerformance GateKind = "performance" // benchmark regression against the baseline
	GateSecurity    GateKind = "security"    // SARIF findings by severity
	GateLicence     GateKind = "licence"     // SPDX licence identifiers against an allow-list
	GateIntegration GateKind = "integration" // end-to-end across teams
	GateRehearsal   GateKind = "rehearsal"   // rollback rehearsed in staging
	GateApproval    GateKind = "approval"    // sign-off by roles
	GateDrift       GateKind = "drift"       // desired state equals running state
)

// GateKinds lists the valid gate kinds.
var GateKinds = []string{string(GateTests), string(GateCoverage), string(GatePerformance), string(GateSecurity),
	string(GateLicence), string(GateIntegration), string(GateRehearsal), string(GateApproval), string(GateDrift)}

// Severities lists the severities of security findings, lowest first.
var Severities = []string{"low", "medium", "high", "critical"}

// Gate is a quality gate definition; environments require gates by name.
type Gate struct {
	Name        string   `yaml:"name" json:"name" spec:"required"`
	Kind        GateKind `yaml:"kind" json:"kind" spec:"required"`
	Description string   `yaml:"description" json:"description,omitempty"`
	// Min and Max are the pass thresholds, in the unit of the kind: pass
	// rate and coverage in percent, regression in percent, findings as a
	// count.
	Min       *float64 `yaml:"min" json:"min,omitempty"`
	Max       *float64 `yaml:"max" json:"max,omitempty"`
	Severity  string   `yaml:"severity" json:"severity,omitempty"`   // security: lowest severity that counts
	Allow     []string `yaml:"allow" json:"allow,omitempty"`         // licence: allowed SPDX ids
	Approvers []string `yaml:"approvers" json:"approvers,omitempty"` // roles or teams who may approve or waive
	Owners    []string `yaml:"owners" json:"owners,omitempty"`       // teams answerable for the gate
}

// DataSource says where an environment's data comes from.
type DataSource string

const (
	DataSynthetic  DataSource = "synthetic"
	DataMasked     DataSource = "masked"
	DataProduction DataSource = "production"
)

// DataSources lists the valid data sources.
var DataSources = []string{string(DataSynthetic), string(DataMasked), string(DataProduction)}

// Region is where an environment runs, with its local low-traffic window,
// used to time production waves.
type Region struct {
	Name       string      `yaml:"name" json:"name" spec:"required"`
	TimeZone   string      `yaml:"time_zone" json:"time_zone" spec:"required"` // IANA name
	LowTraffic DailyWindow `yaml:"low_traffic" json:"low_traffic,omitempty"`
	Weight     int         `yaml:"weight" json:"weight,omitempty"` // share of traffic, for ordering ties
}

// Environment is a stage of the promotion lifecycle.
type Environment struct {
	Name        string `yaml:"name" json:"name" spec:"required"`
	Description string `yaml:"description" json:"description,omitempty"`
	// Order is the position in the promotion lifecycle: a build enters an
	// environment only after every environment of lower order.
	Order      int        `yaml:"order" json:"order" spec:"required"`
	Production bool       `yaml:"production" json:"production,omitempty"`
	Shared     bool       `yaml:"shared" json:"shared,omitempty"` // shared by teams (reservations apply) or dedicated
	Data       DataSource `yaml:"data" json:"data,omitempty"`
	Regions    []Region   `yaml:"regions" json:"regions,omitempty"`
	Gates      []string   `yaml:"gates" json:"gates,omitempty"` // required to enter
	// Approval is required before a run enters this environment.
	Approval  bool     `yaml:"approval" json:"approval,omitempty"`
	Approvers []string `yaml:"approvers" json:"approvers,omitempty"`
	// Approvals is the quorum: how many distinct people must approve
	// entry (nil: 1). See Quorum.
	Approvals *int     `yaml:"approvals" json:"approvals,omitempty"`
	BakeTime  Duration `yaml:"bake_time" json:"bake_time,omitempty"` // between waves here
	Target    string   `yaml:"target" json:"target,omitempty"`       // default deploy target
	// Parallel is how many steps of one wave a run deploys here at once
	// (0: the default, 10).
	Parallel int `yaml:"parallel" json:"parallel,omitempty"`
}

// CalendarKind is what a calendar item is.
type CalendarKind string

const (
	Freeze      CalendarKind = "freeze"
	Maintenance CalendarKind = "maintenance"
	Business    CalendarKind = "business"
	VendorEvent CalendarKind = "vendor"
)

// CalendarKinds lists the valid calendar kinds.
var CalendarKinds = []string{string(Freeze), string(Maintenance), string(Business), string(VendorEvent)}

// FreezeExceptions is a freeze's exception policy.
type FreezeExceptions struct {
	// Classes of change allowed through the freeze, usually [emergency].
	Classes []ChangeClass `yaml:"classes" json:"classes,omitempty"`
	// Approvers must sign off an exception (roles or teams).
	Approvers []string `yaml:"approvers" json:"approvers,omitempty"`
	MaxTier   *Tier    `yaml:"max_tier" json:"max_tier,omitempty"` // only services of this tier or less critical
}

// Weekly is a weekly recurrence in a local time zone, e.g. Tuesdays and
// Thursdays 22:00-02:00 Europe/Berlin. A window may cross midnight.
type Weekly struct {
	Days     []string `yaml:"days" json:"days" spec:"required"` // mon..sun
	Start    string   `yaml:"start" json:"start" spec:"required"`
	End      string   `yaml:"end" json:"end" spec:"required"`
	TimeZone string   `yaml:"time_zone" json:"time_zone" spec:"required"`
}

// CalendarItem is a freeze, a maintenance window, a business event or a
// vendor window. It is either one interval (start..end) or a weekly
// recurrence, optionally bounded by start and end.
type CalendarItem struct {
	Name         string       `yaml:"name" json:"name" spec:"required"`
	Kind         CalendarKind `yaml:"kind" json:"kind" spec:"required"`
	Title        string       `yaml:"title" json:"title,omitempty"`
	Description  string       `yaml:"description" json:"description,omitempty"`
	Start        time.Time    `yaml:"start" json:"start,omitempty"`
	End          time.Time    `yaml:"end" json:"end,omitempty"`
	Weekly       *Weekly      `yaml:"weekly" json:"weekly,omitempty"`
	Environments []string     `yaml:"environments" json:"environments,omitempty"` // empty: all
	Services     []string     `yaml:"services" json:"services,omitempty"`         // empty: all
	Vendor       string       `yaml:"vendor" json:"vendor,omitempty"`             // vendor windows
	Owner        string       `yaml:"owner" json:"owner,omitempty"`
	// Impact of a business or vendor event: low, medium, high. High-impact
	// events conflict with releases in their span.
	Impact     string            `yaml:"impact" json:"impact,omitempty"`
	Exceptions *FreezeExceptions `yaml:"exceptions" json:"exceptions,omitempty"`
}

// ChangeClass classifies a change by risk and policy.
type ChangeClass string

const (
	ClassStandard  ChangeClass = "standard"
	ClassNormal    ChangeClass = "normal"
	ClassEmergency ChangeClass = "emergency"
)

// ChangeClasses lists the valid change classes.
var ChangeClasses = []string{string(ClassStandard), string(ClassNormal), string(ClassEmergency)}

// Artifact identifies an immutable build.
type Artifact struct {
	Digest string `yaml:"digest" json:"digest,omitempty"` // sha256:<64 hex>
	Ref    string `yaml:"ref" json:"ref,omitempty"`       // where it is fetched from (image, URL, path)
	Source string `yaml:"source" json:"source,omitempty"` // repository@revision it was built from
}

// ScopeItem is one service version a release ships. Provides, Requires and
// Libraries describe the new build where they differ from the catalogue;
// left empty, the catalogue's declarations carry over.
type ScopeItem struct {
	Service   string           `yaml:"service" json:"service" spec:"required"`
	Version   string           `yaml:"version" json:"version" spec:"required"`
	Artifact  Artifact         `yaml:"artifact" json:"artifact,omitempty"`
	Provides  []APIProvision   `yaml:"provides" json:"provides,omitempty"`
	Requires  []APIRequirement `yaml:"requires" json:"requires,omitempty"`
	Libraries []LibraryUse     `yaml:"libraries" json:"libraries,omitempty"`
	Strategy  Strategy         `yaml:"strategy" json:"strategy,omitempty"` // overrides the service's
	Hotfix    bool             `yaml:"hotfix" json:"hotfix,omitempty"`     // came from another stream
	Notes     string           `yaml:"notes" json:"notes,omitempty"`
}

// MigrationPhase is one step of an expand/contract schema change.
type MigrationPhase string

const (
	PhaseExpand   MigrationPhase = "expand"
	PhaseMigrate  MigrationPhase = "migrate"
	PhaseContract MigrationPhase = "contract"
)

// MigrationPhases lists the phases in the order they run.
var MigrationPhases = []MigrationPhase{PhaseExpand, PhaseMigrate, PhaseContract}

// MigrationStep is what one phase does.
type MigrationStep struct {
	Description string   `yaml:"description" json:"description,omitempty"`
	Script      string   `yaml:"script" json:"script,omitempty"`
	Timeout     Duration `yaml:"timeout" json:"timeout,omitempty"`
	Reversible  bool     `yaml:"reversible" json:"reversible,omitempty"`
}

// Migration is a data migration shipped with a release. The planner puts
// expand before any consumer of the new schema and contract after all of
// them, so no consumer ever runs against a schema it cannot read.
type Migration struct {
	Name      string   `yaml:"name" json:"name" spec:"required"`
	Databases []string `yaml:"databases" json:"databases" spec:"required"` // database services
	// Consumers are the services that need the new schema. Empty: every
	// service in scope that uses one of the databases.
	Consumers []string       `yaml:"consumers" json:"consumers,omitempty"`
	Expand    *MigrationStep `yaml:"expand" json:"expand,omitempty"`
	Migrate   *MigrationStep `yaml:"migrate" json:"migrate,omitempty"`
	Contract  *MigrationStep `yaml:"contract" json:"contract,omitempty"`
}

// Phases returns the phases the migration declares, in running order.
func (m Migration) Phases() []MigrationPhase {
	var out []MigrationPhase
	if m.Expand != nil {
		out = append(out, PhaseExpand)
	}
	if m.Migrate != nil {
		out = append(out, PhaseMigrate)
	}
	if m.Contract != nil {
		out = append(out, PhaseContract)
	}
	return out
}

// Window is a closed-open interval of time.
type Window struct {
	Start time.Time `yaml:"start" json:"start" spec:"required"`
	End   time.Time `yaml:"end" json:"end" spec:"required"`
}

// Overlaps reports whether two windows share any instant.
func (w Window) Overlaps(o Window) bool { return w.Start.Before(o.End) && o.Start.Before(w.End) }

// Contains reports whether o lies entirely inside w.
func (w Window) Contains(o Window) bool { return !o.Start.Before(w.Start) && !o.End.After(w.End) }

// Release is a release train: the service versions that ship together, in
// one window.
type Release struct {
	Name        string      `yaml:"name" json:"name" spec:"required"`
	Title       string      `yaml:"title" json:"title,omitempty"`
	Description string      `yaml:"description" json:"description,omitempty"`
	Captain     string      `yaml:"captain" json:"captain,omitempty"` // release captain (person)
	Owner       string      `yaml:"owner" json:"owner,omitempty"`     // team
	Class       ChangeClass `yaml:"class" json:"class,omitempty"`     // default normal
	Window      Window      `yaml:"window" json:"window" spec:"required"`
	// Environments the release goes through; empty: all, in promotion order.
	Environments []string    `yaml:"environments" json:"environments,omitempty"`
	Scope        []ScopeItem `yaml:"scope" json:"scope" spec:"required"`
	Migrations   []Migration `yaml:"migrations" json:"migrations,omitempty"`
	Backout      string      `yaml:"backout" json:"backout,omitempty"` // backout plan
	// Parallel overrides, for this release's runs, how many steps of one
	// wave an environment deploys at once (environment name -> N >= 1).
	Parallel     map[string]int `yaml:"parallel" json:"parallel,omitempty"`
	Stakeholders []string       `yaml:"stakeholders" json:"stakeholders,omitempty"` // teams to inform
}

// IsEmergency reports whether the release is classified emergency.
func (r Release) IsEmergency() bool { return r.Class == ClassEmergency }

// EffectiveClass is the release's class with the default applied.
func (r Release) EffectiveClass() ChangeClass {
	if r.Class == "" {
		return ClassNormal
	}
	return r.Class
}
