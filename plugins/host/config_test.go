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

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warroom-plugins.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	path := writeConfig(t, `
plugins:
  - name: exec
    path: bin/plugins/exec
    kinds: [deploy-target]
    settings:
      deploy: ./deploy.sh
      retries: 3
    timeout: 5s
    stream_idle_timeout: 1m
  - name: tickets
    path: /opt/warroom/tickets-local
    kinds: [ticketing, monitoring-source]
    start_timeout: 2s
`)
	cfg, err := host.LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if cfg.File != path || len(cfg.Plugins) != 2 || !slices.Equal(cfg.Names(), []string{"exec", "tickets"}) {
		t.Fatalf("config = %+v", cfg)
	}
	exec, _ := cfg.Plugin("exec")
	if exec.Path != filepath.Join(dir, "bin/plugins/exec") || exec.Timeout != 5*time.Second || exec.StreamIdleTimeout != time.Minute ||
		exec.Settings["deploy"] != "./deploy.sh" || exec.Settings["retries"] != "3" || !slices.Equal(exec.Kinds, []sdk.Kind{sdk.KindDeployTarget}) {
		t.Errorf("exec = %+v", exec)
	}
	tickets, _ := cfg.Plugin("tickets")
	if tickets.Path != "/opt/warroom/tickets-local" || tickets.StartTimeout != 2*time.Second || tickets.Timeout != 0 ||
		!slices.Equal(tickets.Kinds, []sdk.Kind{sdk.KindTicketing, sdk.KindMonitoringSource}) {
		t.Errorf("tickets = %+v", tickets)
	}
	if _, ok := cfg.Plugin("nope"); ok {
		t.Error("Plugin(nope) found")
	}

	empty, err := host.LoadConfig(writeConfig(t, "# nothing yet\n"), nil)
	if err != nil || len(empty.Plugins) != 0 {
		t.Errorf("empty file: %+v, %v", empty, err)
	}
}

// TestLoadConfigStrict: every problem is reported at once, with where it
// is.
func TestLoadConfigStrict(t *testing.T) {
	path := writeConfig(t, `plugins:
  - name: exec
    path: a
    kinds: [deploy-targt]
    colour: blue
  - name: exec
    kinds: [ticketing, ticketing]
    timeout: soon
  - path: b
    kinds: []
    settings: {a: [1, 2], b: ~}
  - name: "bad name!"
    path: c
extra: 1
`)
	_, err := host.LoadConfig(path, nil)
	errs, ok := err.(host.ConfigErrors)
	if !ok {
		t.Fatalf("error %v (%T), want ConfigErrors", err, err)
	}
	want := []string{
		path + `:4:13: unknown kind "deploy-targt" (known kinds: deploy-target, monitoring-source, ticketing)`,
		path + `:5:5: unknown key "colour" in a plugin (known keys: kinds, name, path, settings, start_timeout, stream_idle_timeout, timeout)`,
		path + `:6:11: plugin "exec" is configured twice (first at line 2)`,
		path + `:7:24: kind "ticketing" is listed twice`,
		path + `:8:14: timeout: "soon" is not a positive duration like "10s" or "2m"`,
		path + `:9:5: a plugin needs a name`,
		path + `:10:12: kinds must be a non-empty list of deploy-target, monitoring-source, ticketing`,
		path + `:11:19: setting "a" must have a single value (quote "" for an empty one)`,
		path + `:11:30: setting "b" must have a single value (quote "" for an empty one)`,
		path + `:12:11: plugin name "bad name!": use letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit`,
		path + `:14:1: unknown key "extra" in the configuration (known keys: canary_judge, disable, plugins)`,
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	_, err = host.LoadConfig(writeConfig(t, "plugins:\n  - name: [\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "warroom-plugins.yaml:") {
		t.Errorf("YAML syntax error: %v", err)
	}
	if _, err := host.LoadConfig(filepath.Join(t.TempDir(), "none.yaml"), nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
}

func TestDefaultConfig(t *testing.T) {
	dir := t.TempDir()
	if cfg := host.DefaultConfig(dir); len(cfg.Plugins) != 0 {
		t.Errorf("empty directory: %+v", cfg)
	}
	for _, name := range []string{"exec", "tickets-local", "something-else"} {
		os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755)
	}
	cfg := host.DefaultConfig(dir)
	if !slices.Equal(cfg.Names(), []string{"exec", "tickets-local"}) {
		t.Fatalf("DefaultConfig = %+v", cfg)
	}
	exec, _ := cfg.Plugin("exec")
	tickets, _ := cfg.Plugin("tickets-local")
	if exec.Path != filepath.Join(dir, "exec") || !slices.Equal(exec.Kinds, []sdk.Kind{sdk.KindDeployTarget}) || exec.Settings != nil ||
		!slices.Equal(tickets.Kinds, []sdk.Kind{sdk.KindTicketing}) {
		t.Errorf("DefaultConfig = %+v", cfg)
	}
}
