package host

import (
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/warroom/warroom/plugins/sdk"
)

// The host's checks of plugins' answers. The SDK's client already refuses
// what it cannot decode (unknown enum values, undeclared series); these
// catch answers that decode but cannot be true, before the engine acts on
// them. Each returns a *malformedError naming what is wrong.

func checkInfo(want []sdk.Kind) func(sdk.Info) error {
	return func(i sdk.Info) error {
		if strings.TrimSpace(i.Name) == "" {
			return malformed("Info has no name")
		}
		if _, err := semver.StrictNewVersion(i.Version); err != nil {
			return malformed("Info: version %q is not a semantic version like 1.2.3", i.Version)
		}
		if missing := missingKinds(i, want); len(missing) > 0 {
			return malformed("Info: the plugin serves %s, not %s as configured", kindNames(i.Kinds), kindNames(missing))
		}
		return nil
	}
}

func kindNames(ks []sdk.Kind) string {
	if len(ks) == 0 {
		return "no kind"
	}
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// ---- DeployTarget ----

var knownStrategies = []string{"rolling", "blue-green", "canary"}

func checkCapabilities(c sdk.Capabilities) error {
	if len(c.Strategies) == 0 {
		return malformed("Describe: no deployment strategy")
	}
	for _, s := range c.Strategies {
		if !slices.Contains(knownStrategies, s) {
			return malformed("Describe: unknown strategy %q (known: %s)", s, strings.Join(knownStrategies, ", "))
		}
	}
	if c.MaxParallel < 0 {
		return malformed("Describe: max_parallel is %d", c.MaxParallel)
	}
	return nil
}

func checkChecks(cs []sdk.Check) error {
	seen := make(map[string]bool, len(cs))
	for _, c := range cs {
		switch {
		case strings.TrimSpace(c.Name) == "":
			return malformed("a check without a name")
		case seen[c.Name]:
			return malformed("check %q reported twice", c.Name)
		case c.Duration < 0:
			return malformed("check %q took a negative time", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// checkWeights checks the weights SetTraffic says it applied.
func checkWeights(ws []sdk.TrafficWeight) error {
	sum := 0
	for _, w := range ws {
		if w.Version == "" {
			return malformed("a traffic weight without a version")
		}
		if w.Percent < 0 || w.Percent > 100 {
			return malformed("weight of %s is %d%%, outside 0..100", w.Version, w.Percent)
		}
		sum += w.Percent
	}
	if sum != 100 {
		return malformed("applied weights sum to %d%%, not 100%%", sum)
	}
	return nil
}

func checkStatus(req sdk.StatusRequest) func(sdk.Status) error {
	return func(st sdk.Status) error {
		for _, s := range st.Services {
			t := s.Target
			switch {
			case t.Service == "":
				return malformed("Status: a service status without a service")
			case req.Target.Service != "" && t.Service != req.Target.Service:
				return malformed("Status: asked about %s, answered about %s", req.Target.Service, t.Service)
			case differs(req.Target.Environment, t.Environment):
				return malformed("Status: asked about environment %s, answered about %s", req.Target.Environment, t.Environment)
			case differs(req.Target.Region, t.Region):
				return malformed("Status: asked about region %s, answered about %s", req.Target.Region, t.Region)
			}
			weights := 0
			for _, v := range s.Versions {
				switch {
				case v.Version == "":
					return malformed("Status of %s: a version without a name", t.Service)
				case v.Instances < 0 || v.Ready < 0 || v.Ready > v.Instances && v.Instances > 0:
					return malformed("Status of %s %s: %d of %d instances ready", t.Service, v.Version, v.Ready, v.Instances)
				case v.Weight < 0 || v.Weight > 100:
					return malformed("Status of %s %s: weight %d%%, outside 0..100", t.Service, v.Version, v.Weight)
				}
				weights += v.Weight
			}
			if weights != 0 && weights != 100 {
				return malformed("Status of %s: weights sum to %d%%, not 100%%", t.Service, weights)
			}
		}
		return nil
	}
}

// differs reports whether an answer names another place than asked; an
// empty answer means the place asked about.
func differs(asked, answered string) bool {
	return asked != "" && answered != "" && asked != answered
}

func checkEvent(ev sdk.DeployEvent) error {
	switch {
	case ev.Percent < 0 || ev.Percent > 100:
		return malformed("deploy event at %d%%, outside 0..100", ev.Percent)
	case ev.InstancesReady < 0 || ev.InstancesTotal < 0:
		return malformed("deploy event with a negative instance count")
	case ev.InstancesTotal > 0 && ev.InstancesReady > ev.InstancesTotal:
		return malformed("deploy event with %d of %d instances ready", ev.InstancesReady, ev.InstancesTotal)
	}
	return nil
}

// ---- MonitoringSource ----

var knownMetricKinds = []string{"counter", "gauge", "histogram", "quantile"}

func checkMonitoringCapabilities(c sdk.MonitoringCapabilities) error {
	seen := make(map[string]bool, len(c.Metrics))
	for _, m := range c.Metrics {
		switch {
		case m.Name == "":
			return malformed("Describe: a metric without a name")
		case seen[m.Name]:
			return malformed("Describe: metric %q listed twice", m.Name)
		case !slices.Contains(knownMetricKinds, m.Kind):
			return malformed("Describe: metric %s has unknown kind %q (known: %s)", m.Name, m.Kind, strings.Join(knownMetricKinds, ", "))
		}
		seen[m.Name] = true
	}
	return nil
}

func checkSeries(ss []sdk.Series) error {
	for _, s := range ss {
		if s.Metric == "" {
			return malformed("Query: a series without a metric name")
		}
		for i := 1; i < len(s.Points); i++ {
			if s.Points[i].T < s.Points[i-1].T {
				return malformed("Query: points of %s are not in time order", s.Metric)
			}
		}
	}
	return nil
}

var knownAlertStates = []string{"firing", "pending", "resolved"}

func checkAlerts(as []sdk.Alert) error {
	for _, a := range as {
		if a.Name == "" {
			return malformed("Alerts: an alert without a name")
		}
		if !slices.Contains(knownAlertStates, a.State) {
			return malformed("Alerts: alert %s has unknown state %q (known: %s)", a.Name, a.State, strings.Join(knownAlertStates, ", "))
		}
	}
	return nil
}

func checkLogs(req sdk.LogsRequest) func(sdk.LogsResult) error {
	return func(r sdk.LogsResult) error {
		if req.Limit > 0 && len(r.Lines) > req.Limit {
			return malformed("Logs: %d lines, limit was %d", len(r.Lines), req.Limit)
		}
		return nil
	}
}

// ---- Ticketing ----

func checkTicketingCapabilities(c sdk.TicketingCapabilities) error {
	if c.System == "" {
		return malformed("Describe: no system name")
	}
	if len(c.States) == 0 {
		return malformed("Describe: no change states")
	}
	return nil
}

var knownDecisions = []string{"approved", "rejected"}

// checkChange checks a change the plugin returned; id, when set, is the
// change asked about.
func checkChange(id string) func(sdk.Change) error {
	return func(c sdk.Change) error {
		switch {
		case c.ID == "":
			return malformed("a change without an id")
		case id != "" && c.ID != id:
			return malformed("asked about change %s, answered about %s", id, c.ID)
		case c.State == "":
			return malformed("change %s has no state", c.ID)
		}
		for _, a := range c.Approvals {
			if a.Approver == "" {
				return malformed("change %s: an approval without an approver", c.ID)
			}
			if !slices.Contains(knownDecisions, a.Decision) {
				return malformed("change %s: approval by %s has unknown decision %q (known: %s)", c.ID, a.Approver, a.Decision, strings.Join(knownDecisions, ", "))
			}
		}
		return nil
	}
}
