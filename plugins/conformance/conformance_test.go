package conformance_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/conformance"
	"github.com/warroom/warroom/plugins/host"
)

// bins are the plugin binaries, built once for the whole test binary.
var bins = map[string]string{}

// sources are the plugins the tests build, by name.
var sources = map[string]string{
	"exec":          "plugins/exec",
	"tickets-local": "plugins/tickets-local",
	"dirtarget":     "docs/example/dirtarget",
	"crash":         "testdata/plugins/crash",
	"hang":          "testdata/plugins/hang",
	"garbage":       "testdata/plugins/garbage",
	"badhandshake":  "testdata/plugins/badhandshake",
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "warroom-conformance-test-")
	if err != nil {
		panic(err)
	}
	if err := buildPlugins(dir, sources, bins); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildPlugins builds every source (relative to the module root) into
// dir, two at a time.
func buildPlugins(dir string, sources, into map[string]string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 2)
	)
	for name, src := range sources {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(dir, name)
			cmd := exec.Command("go", "build", "-o", out, "./"+src)
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("build %s: %v\n%s", src, err, b))
				mu.Unlock()
				return
			}
			mu.Lock()
			into[name] = out
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

func check(t *testing.T, name string, opts conformance.Options) conformance.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	opts.LogWriter = &syncWriter{w: &logs}
	rep := conformance.Check(ctx, bins[name], opts)
	for _, c := range rep.Checks {
		t.Logf("%-5v %-36s %s", c.Passed, c.Name, c.Message)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("plugin log:\n%s", logs.String())
		}
	})
	noChildrenLeft(t)
	return rep
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestBuiltinsAndExamplePass(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		skipped  int // checks that do not apply with these settings
	}{
		// Unconfigured, exec fails its deploys cleanly in-band.
		{name: "exec", skipped: 2},
		{name: "exec", settings: map[string]string{
			"deploy":      "echo deploying $WARROOM_SERVICE $WARROOM_VERSION",
			"rollback":    "echo rolling back",
			"set_traffic": "echo $WARROOM_WEIGHTS",
		}},
		{name: "tickets-local"},
		{name: "dirtarget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := check(t, tt.name, conformance.Options{Settings: tt.settings})
			if !rep.Passed {
				t.Fatalf("failed: %+v", rep.Failed())
			}
			skipped := 0
			for _, c := range rep.Checks {
				if c.Skipped {
					skipped++
				}
			}
			if skipped != tt.skipped {
				t.Errorf("%d checks skipped, want %d", skipped, tt.skipped)
			}
			if rep.Plugin != tt.name {
				t.Errorf("plugin %q", rep.Plugin)
			}
		})
	}
}

func TestMisbehavingPluginsFailNamingTheFault(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		fault string
		// failing are checks that must fail with the fault in their
		// message.
		failing []string
	}{
		{name: "crash", fault: "crashed", failing: []string{
			"deploy-target/describe", "deploy-target/status", "deploy-target/deploy", "deploy-target/rollback",
		}},
		{name: "hang", fault: "timeout", failing: []string{"launch"}},
		{name: "garbage", fault: "malformed", failing: []string{"launch"}},
		{name: "garbage", env: []string{"GARBAGE_VALID_INFO=1"}, fault: "malformed", failing: []string{
			"deploy-target/describe", "deploy-target/status", "deploy-target/preflight", "deploy-target/deploy",
			"deploy-target/verify", "deploy-target/set-traffic-invalid", "deploy-target/rollback",
		}},
		{name: "badhandshake", fault: "handshake", failing: []string{"launch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+strings.Join(tt.env, ","), func(t *testing.T) {
			start := time.Now()
			rep := check(t, tt.name, conformance.Options{CallTimeout: 500 * time.Millisecond, Env: tt.env})
			if rep.Passed {
				t.Fatal("passed")
			}
			results := map[string]conformance.Result{}
			for _, c := range rep.Checks {
				results[c.Name] = c
			}
			for _, name := range tt.failing {
				c, ok := results[name]
				switch {
				case !ok:
					t.Errorf("%s: not run", name)
				case c.Passed:
					t.Errorf("%s passed", name)
				case !strings.HasPrefix(c.Message, tt.fault+": "):
					t.Errorf("%s: message %q does not start with the fault %q", name, c.Message, tt.fault)
				}
			}
			// Every deadline held: nothing waited for the default 10s.
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("the suite took %s", d)
			}
		})
	}
}

// Run against a plugin the caller launched: read-only checks only, and
// the caller's process is left alone.
func TestRunWithoutSandboxOnlyReads(t *testing.T) {
	state := t.TempDir()
	p, err := host.Launch(t.Context(), bins["dirtarget"], host.LaunchOptions{StateDir: state, Settings: map[string]string{"root": "deployments"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	rep := conformance.Run(t.Context(), p, conformance.Options{})
	if !rep.Passed {
		t.Fatalf("failed: %+v", rep.Failed())
	}
	for _, c := range rep.Checks {
		if strings.Contains(c.Name, "deploy-target/deploy") || strings.Contains(c.Name, "rollback") {
			t.Errorf("%s ran outside a sandbox", c.Name)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(state, "deployments")); len(entries) != 0 {
		t.Errorf("the suite changed the plugin's state: %v", entries)
	}
	if !p.Running() {
		t.Error("the caller's plugin was stopped")
	}
}

// A plugin author's way in.
func TestRunT(t *testing.T) {
	conformance.RunT(t, bins["dirtarget"], map[string]string{"root": t.TempDir()})
}

func TestInterruptedCheckStopsThePlugin(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan conformance.Report, 1)
	go func() { done <- conformance.Check(ctx, bins["hang"], conformance.Options{}) }()
	// The hang plugin blocks in Configure for the default 10s: cancel
	// once it runs.
	waitFor(t, 10*time.Second, "the hang plugin to start", func() bool { return len(children()) > 0 })
	cancel()
	select {
	case rep := <-done:
		if rep.Passed {
			t.Fatal("passed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Check did not return within 5s of its context ending")
	}
	noChildrenLeft(t)
}

// children lists the plugin processes this test process started and has
// not reaped: by their parent pid, and their command being one of bins.
func children() []string {
	names := map[string]bool{}
	for name := range bins {
		if len(name) > 15 {
			name = name[:15] // the kernel's comm is cut there
		}
		names[name] = true
	}
	self := os.Getpid()
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		comm := s[open+1 : closing]
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == self && names[comm] {
			out = append(out, fmt.Sprintf("%s (pid %d, state %s)", comm, pid, fields[0]))
		}
	}
	return out
}

// noChildrenLeft fails the test if a plugin process outlives the run: a
// process being reaped gets a moment.
func noChildrenLeft(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := children()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin processes left: %v", left)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, not synchronising
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, within)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not synchronising
	}
}
