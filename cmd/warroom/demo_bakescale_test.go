package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// demo --bake-scale is deploy start's: a negative scale is a usage error
// before anything is created, and the help says what 0 means; NaN, Inf and a scale above 1000 are refused too.
func TestDemoBakeScaleUsage(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "demo")
	for _, x := range []string{"-1", "NaN", "Inf", "1001"} {
		r := c.run("demo", "--headless", "--once", "--dir", dir, "--bake-scale", x)
		if r.code != 2 || !strings.Contains(r.stderr, "--bake-scale must be a number from 0 (no bake) to 1000, got ") {
			t.Errorf("demo --bake-scale %s: exit %d %q", x, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused demo created its directory (%v)", err)
	}
	if help := c.ok("demo", "--help"); !strings.Contains(help, "from 0 (no bake at all") || !strings.Contains(help, "anything else is a usage error") {
		t.Errorf("demo help does not say what --bake-scale 0 means:\n%s", help)
	}
}

// demo --bake-scale 0 deploys with no bake at all, as deploy start does,
// not with the full bake times (30m canaries).
func TestDemoBakeScaleZeroMeansNoBake(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys on real processes")
	}
	bin := fleetLayout(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "demo", "--dir", dir, "--spec", repo("testdata", "demo"), "--headless", "--once",
		"--env", "dev", "--bake-scale", "0")
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	done := make(chan struct{})
	var (
		out []byte
		err error
	)
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill() //nolint:errcheck
		<-done
		t.Fatalf("the demo did not end in 3 minutes with no bake:\n%s", out)
	}
	took := time.Since(start)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	c := demoCLI(t, filepath.Join(dir, "warroom.db"))
	var run deploy.Run
	c.json(&run, "deploy", "status")
	if run.State != deploy.RunSucceeded || !run.Options.NoBake {
		t.Fatalf("run %s (%s), options %+v", run.State, run.Reason, run.Options)
	}
	canaries := 0
	for _, s := range run.Steps {
		if s.Strategy == "canary" {
			canaries++
		}
	}
	text := string(out)
	if canaries == 0 || strings.Count(text, "no bake: --bake-scale 0") < canaries {
		t.Errorf("%d canary steps, but %d promoted with no bake:\n%s", canaries, strings.Count(text, "no bake: --bake-scale 0"), text)
	}
	if strings.Contains(text, "bake time over") {
		t.Errorf("a step baked with --bake-scale 0:\n%s", text)
	}
	t.Logf("demo --bake-scale 0 through dev: %d steps (%d canaries) in %s", len(run.Steps), canaries, took.Round(time.Millisecond))
}
