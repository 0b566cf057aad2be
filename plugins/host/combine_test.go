package host_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// builtinDir is a plugins directory holding the named built-ins (empty
// files: only their presence counts here).
func builtinDir(t *testing.T, names ...string) *host.Config {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return host.DefaultConfig(dir)
}

// A configuration file adds to the built-ins and overrides them by name;
// it drops one only by saying so.
func TestConfigCombinesWithBuiltins(t *testing.T) {
	base := builtinDir(t, "exec", "localfleet", "scrape")
	if !slices.Equal(base.Names(), []string{"exec", "localfleet", "scrape"}) || base.CanaryJudge != "scrape" {
		t.Fatalf("built-ins = %v, judge %q", base.Names(), base.CanaryJudge)
	}
	type want struct {
		names   []string
		judge   string
		check   func(t *testing.T, cfg *host.Config)
		errText string
	}
	for _, tc := range []struct {
		name, file string
		want
	}{
		{"a file of other plugins keeps every built-in", `
plugins:
  - name: mine
    path: /opt/mine
    kinds: [deploy-target]
`, want{names: []string{"exec", "localfleet", "scrape", "mine"}, judge: "scrape", check: func(t *testing.T, cfg *host.Config) {
			p, _ := cfg.Plugin("mine")
			s, _ := cfg.Plugin("scrape")
			if p.Origin != host.OriginFile || s.Origin != host.OriginBuiltin || s.Settings["targets_file"] != "../localfleet/scrape-targets.json" {
				t.Errorf("mine %+v, scrape %+v", p, s)
			}
		}}},
		{"an empty file is the built-ins", "", want{names: []string{"exec", "localfleet", "scrape"}, judge: "scrape"}},
		{"an entry named like a built-in overrides only what it sets", `
plugins:
  - name: scrape
    settings: {interval: 500ms}
    timeout: 3s
  - name: localfleet
    path: /opt/fleet
`, want{names: []string{"exec", "localfleet", "scrape"}, judge: "scrape", check: func(t *testing.T, cfg *host.Config) {
			s, _ := cfg.Plugin("scrape")
			if s.Origin != host.OriginOverridden || s.Path != filepath.Join(base.BuiltinDir, "scrape") || s.Timeout != 3*time.Second ||
				s.Settings["interval"] != "500ms" || s.Settings["targets_file"] != "../localfleet/scrape-targets.json" ||
				!slices.Equal(s.Kinds, []sdk.Kind{sdk.KindMonitoringSource}) {
				t.Errorf("scrape = %+v", s)
			}
			f, _ := cfg.Plugin("localfleet")
			if f.Path != "/opt/fleet" || f.Settings["evict_idle"] != "true" {
				t.Errorf("localfleet = %+v", f)
			}
		}}},
		{"a built-in is dropped by disable", `
disable: [scrape, exec]
`, want{names: []string{"localfleet"}, judge: ""}},
		{"disabling a built-in that was not built is no error", `
disable: [tickets-local]
`, want{names: []string{"exec", "localfleet", "scrape"}, judge: "scrape"}},
		{"canary_judge names another monitoring source", `
plugins:
  - name: prom
    path: /opt/prom
    kinds: [monitoring-source]
canary_judge: prom
`, want{names: []string{"exec", "localfleet", "scrape", "prom"}, judge: "prom"}},
		{"canary_judge none promotes canaries unjudged, deliberately", `
canary_judge: none
`, want{names: []string{"exec", "localfleet", "scrape"}, judge: "none"}},
		{"disable names only built-ins", `
plugins:
  - name: mine
    path: /opt/mine
    kinds: [deploy-target]
disable: [mine, scrap]
`, want{errText: `:6:11: "mine" is not a built-in plugin, so there is nothing to disable (built-ins: exec, tickets-local, localfleet, scrape); to leave out a plugin of this file, delete its entry
F:6:17: "scrap" is not a built-in plugin`}},
		{"disabled and configured at once", `
plugins:
  - name: scrape
    settings: {interval: 1s}
disable: [scrape]
`, want{errText: `:5:11: built-in plugin "scrape" is both disabled and configured (line 3): remove one of them`}},
		{"an override of a built-in that was not built needs a path", `
plugins:
  - name: tickets-local
    settings: {dir: /tmp}
`, want{errText: `:3:5: plugin "tickets-local" overrides a built-in whose binary is not in ` + base.BuiltinDir + `: run 'make build', or give its path`}},
		{"canary_judge must be a configured monitoring source", `
canary_judge: exec
`, want{errText: `:2:15: canary_judge "exec" is configured as deploy-target, not as a monitoring-source`}},
		{"canary_judge of a dropped source", `
disable: [scrape]
canary_judge: scrape
`, want{errText: `:3:15: canary_judge "scrape" is not a configured plugin (configured: exec, localfleet); name a monitoring source, or "none" to promote canaries when their bake ends, unjudged`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.file)
			cfg, err := host.LoadConfig(path, base)
			if tc.errText != "" {
				want := path + strings.ReplaceAll(tc.errText, "\nF:", "\n"+path+":")
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Names(), tc.names) || cfg.CanaryJudge != tc.judge {
				t.Errorf("plugins %v judged by %q, want %v judged by %q", cfg.Names(), cfg.CanaryJudge, tc.names, tc.judge)
			}
			if tc.check != nil {
				tc.check(t, cfg)
			}
			// The built-ins given are not changed by the combination.
			if s, _ := base.Plugin("scrape"); s.Origin != host.OriginBuiltin || len(s.Settings) != 1 {
				t.Errorf("the built-in scrape was changed: %+v", s)
			}
		})
	}
}
