package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/plugins/sdk"
)

func TestParseFaults(t *testing.T) {
	tab, err := parseFaults("payments@3.2.0=error-rate=0.3,latency=200ms; cart@1.0.0=crash-on-start\n# comment\nfraud@2.0.0 = slow-start=5s , crash-after=100")
	if err != nil {
		t.Fatal(err)
	}
	if got := tab["payments@3.2.0"].String(); got != "error-rate=0.3,latency=200ms" {
		t.Errorf("payments: %q", got)
	}
	if got := strings.Join(tab["cart@1.0.0"].args(), " "); got != "--crash-on-start" {
		t.Errorf("cart args: %q", got)
	}
	if got := strings.Join(tab["fraud@2.0.0"].args(), " "); got != "--slow-start=5s --crash-after=100" {
		t.Errorf("fraud args: %q", got)
	}
	for _, bad := range []string{"payments=error-rate=0.3", "payments@3.2.0=error-rate=2", "payments@3.2.0=latency=fast", "payments@3.2.0=explode", "@1=latency=1s"} {
		if _, err := parseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	f, err := requestFaults(map[string]string{"fault.latency": "50ms", "engine": "postgresql"})
	if err != nil || f.String() != "latency=50ms" {
		t.Errorf("request faults: %v %v", f, err)
	}
}

func TestPercentages(t *testing.T) {
	tests := []struct {
		in   map[string]int
		want map[string]int
	}{
		{map[string]int{"a": 1, "b": 1}, map[string]int{"a": 50, "b": 50}},
		{map[string]int{"a": 1, "b": 2}, map[string]int{"a": 33, "b": 67}},
		{map[string]int{"a": 1, "b": 1, "c": 1}, map[string]int{"a": 34, "b": 33, "c": 33}},
		{map[string]int{"a": 10}, map[string]int{"a": 100}},
		{map[string]int{}, map[string]int{}},
	}
	for _, tt := range tests {
		got := percentages(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("%v -> %v, want %v", tt.in, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%v -> %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

func TestSmoothWeightedRoundRobinIsExactAndSpread(t *testing.T) {
	g := &group{swrr: map[string]int{}, rr: map[string]int{}}
	w := map[string]int{"new": 10, "old": 90}
	counts := map[string]int{}
	maxRun := 0
	run := 0
	for i := range 100 {
		v := g.swrrPickLocked(w)
		counts[v]++
		if v == "old" {
			run++
			maxRun = max(maxRun, run)
		} else {
			run = 0
		}
		_ = i
	}
	if counts["new"] != 10 || counts["old"] != 90 {
		t.Errorf("100 picks at 10/90: %v", counts)
	}
	if maxRun > 10 {
		t.Errorf("the canary's share comes in a burst (runs of %d old in a row)", maxRun)
	}
}

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		settings map[string]string
		contains string
	}{
		{map[string]string{"nope": "1"}, `unknown setting "nope"`},
		{map[string]string{"health_timeout": "soon"}, "health_timeout"},
		{map[string]string{"smoke_max_error_rate": "2"}, "smoke_max_error_rate"},
		{map[string]string{"traffic_rps": "-1"}, "traffic_rps"},
		{map[string]string{"traffic_idle": "-1s"}, "traffic_idle"},
		{map[string]string{"traffic_idle": "soon"}, "traffic_idle"},
		{map[string]string{"max_processes": "0"}, "max_processes"},
		{map[string]string{"evict_idle": "maybe"}, "evict_idle"},
		{map[string]string{"faults": "payments@1=boom"}, "faults"},
		{map[string]string{"faults_file": "/"}, "faults_file"},
		{map[string]string{"service_binary": "/no/such/demo-service"}, "service_binary"},
	}
	for _, tt := range tests {
		err := newTarget(nil).Configure(context.Background(), sdk.Config{StateDir: dir, Settings: tt.settings})
		if sdk.CodeOf(err) != sdk.CodeInvalid || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("%v: %v", tt.settings, err)
		}
	}
	if _, err := newTarget(nil).Status(context.Background(), sdk.StatusRequest{}); sdk.CodeOf(err) != sdk.CodeFailedPrecondition {
		t.Errorf("status before Configure: %v", err)
	}
	// The declared defaults are accepted, and a missing default binary is
	// a failed preflight check, not a refused configuration.
	defaults := map[string]string{}
	for _, s := range settingSpecs {
		if s.Default != "" {
			defaults[s.Name] = s.Default
		}
	}
	tg := newTarget(nil)
	if err := tg.Configure(context.Background(), sdk.Config{StateDir: t.TempDir(), Settings: defaults}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	defer tg.Close()
	checks, err := tg.Preflight(context.Background(), sdk.PreflightRequest{Target: payments, Version: "1.0.0"})
	if err != nil || checks[0].Name != "service-binary" || checks[0].Passed {
		t.Errorf("preflight without the demo service: %v %+v", err, checks)
	}
	_, err = deploy(t, tg, "k", "1.0.0", "", "rolling")
	if sdk.CodeOf(err) != sdk.CodeFailedPrecondition || !strings.Contains(err.Error(), "demo-service") {
		t.Errorf("deploy without the demo service: %v", err)
	}
}

func TestJournalSurvivesATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), journalFile)
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	j.record(entry{Key: "a", Op: opDeploy, State: keyStarted, Service: "s", Environment: "e", Version: "1"})
	j.record(entry{Key: "a", Op: opDeploy, State: keyDone, Service: "s", Environment: "e", Version: "1"})
	j.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"key":"b","op":"dep`)
	f.Close()
	j, err = openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if keys := j.appliedKeys(); len(keys) != 1 || keys[0] != "a" {
		t.Errorf("applied keys %v", keys)
	}
	if e := j.lastChanges()[sdk.Target{Service: "s", Environment: "e"}]; e.Version != "1" {
		t.Errorf("last change %+v", e)
	}
}

func TestFaultedVersions(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "faults.txt"), []byte("checkout@4.9.1=latency=1s\npayments@1=crash-on-start\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tab, err := parseFaults("checkout@4.9.0=latency=700ms;checkout@4.9.1=error-rate=0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := config{faults: tab, faultsFile: filepath.Join(dir, "faults.txt")}
	if got := strings.Join(c.faultedVersions("checkout"), " "); got != "4.9.0 4.9.1" {
		t.Errorf("checkout: %q", got)
	}
	if got := c.faultedVersions("cart"); len(got) != 0 {
		t.Errorf("cart: %q", got)
	}
}
