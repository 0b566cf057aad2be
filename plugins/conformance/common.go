package conformance

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/warroom/warroom/plugins/sdk"
)

// unknownSetting is a setting no plugin declares.
const unknownSetting = "conformance_no_such_setting"

func commonChecks() []check {
	return []check{
		{name: "info", run: checkInfo},
		{name: "configure/unknown-setting", run: checkUnknownSetting},
		{name: "configure/defaults", run: checkDefaults},
	}
}

var knownKinds = []sdk.Kind{sdk.KindDeployTarget, sdk.KindMonitoringSource, sdk.KindTicketing}

func checkInfo(ctx context.Context, s *state) (string, error) {
	info, err := s.subj.Info(ctx)
	if err != nil {
		return "", called("Info", err)
	}
	var problems []string
	if strings.TrimSpace(info.Name) == "" {
		problems = append(problems, "no name")
	}
	if _, err := semver.StrictNewVersion(info.Version); err != nil {
		problems = append(problems, fmt.Sprintf("version %q is not a semantic version like 1.2.3", info.Version))
	}
	if len(info.Kinds) == 0 {
		problems = append(problems, "no provider kind")
	}
	seen := map[sdk.Kind]bool{}
	for _, k := range info.Kinds {
		switch {
		case !slices.Contains(knownKinds, k):
			problems = append(problems, fmt.Sprintf("unknown kind %q", k))
		case seen[k]:
			problems = append(problems, fmt.Sprintf("kind %s listed twice", k))
		}
		seen[k] = true
	}
	names := map[string]bool{}
	for i, st := range info.Settings {
		switch {
		case strings.TrimSpace(st.Name) == "":
			problems = append(problems, fmt.Sprintf("setting %d has no name", i+1))
		case names[st.Name]:
			problems = append(problems, fmt.Sprintf("setting %q declared twice", st.Name))
		case st.Name == unknownSetting:
			problems = append(problems, fmt.Sprintf("setting %q is reserved for this suite", st.Name))
		}
		names[st.Name] = true
	}
	// The rest of the suite goes by what Info said, even if it is wrong.
	s.info, s.infoOK = info, true
	if len(problems) > 0 {
		return "", malformedf("Info: %s", strings.Join(problems, "; "))
	}
	kinds := make([]string, len(info.Kinds))
	for i, k := range info.Kinds {
		kinds[i] = string(k)
	}
	return fmt.Sprintf("%s %s serves %s", info.Name, info.Version, strings.Join(kinds, ", ")), nil
}

// defaults is the configuration the suite runs with: every declared
// default, overridden by the operator's settings.
func (s *state) defaults() sdk.Config {
	settings := map[string]string{}
	for _, st := range s.info.Settings {
		if st.Default != "" {
			settings[st.Name] = st.Default
		}
	}
	maps.Copy(settings, s.opts.Settings)
	return sdk.Config{Settings: settings, StateDir: s.opts.StateDir}
}

func needInfo(s *state) error {
	if !s.infoOK {
		return failf("not checked: Info did not answer")
	}
	return nil
}

func checkUnknownSetting(ctx context.Context, s *state) (string, error) {
	if err := needInfo(s); err != nil {
		return "", err
	}
	cfg := s.defaults()
	cfg.Settings[unknownSetting] = "x"
	err := s.subj.Configure(ctx, cfg)
	if err == nil {
		return "", failf("Configure accepted the unknown setting %q: a plugin must refuse settings it does not know (CodeInvalid), so that a typo cannot pass silently", unknownSetting)
	}
	code, ok := answered(err)
	if !ok {
		return "", called("Configure", err)
	}
	if code != sdk.CodeInvalid {
		return "", failf("Configure refused the unknown setting %q with %s, want CodeInvalid: %v", unknownSetting, codeName(code), err)
	}
	return fmt.Sprintf("refused with CodeInvalid: %v", err), nil
}

func checkDefaults(ctx context.Context, s *state) (string, error) {
	if err := needInfo(s); err != nil {
		return "", err
	}
	cfg := s.defaults()
	var missing []string
	for _, st := range s.info.Settings {
		if st.Required && cfg.Settings[st.Name] == "" {
			missing = append(missing, st.Name)
		}
	}
	if len(missing) > 0 {
		return "", failf("required settings without a default or a value: %s (give them with --set NAME=VALUE)", strings.Join(missing, ", "))
	}
	if err := s.subj.Configure(ctx, cfg); err != nil {
		return "", called("Configure with the declared defaults", err)
	}
	names := slices.Collect(maps.Keys(cfg.Settings))
	sort.Strings(names)
	if len(names) == 0 {
		return "accepted an empty configuration", nil
	}
	return "accepted " + strings.Join(names, ", "), nil
}
