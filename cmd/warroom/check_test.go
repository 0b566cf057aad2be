package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// checkPlugins are the plugins `plugins check` is tested against, built
// once per test binary, on first use, next to the warroom binary that
// TestMain builds (and removes with its directory).
var checkPlugins = map[string]string{
	"exec":          "plugins/exec",
	"tickets-local": "plugins/tickets-local",
	"dirtarget":     "docs/example/dirtarget",
	"crash":         "testdata/plugins/crash",
	"hang":          "testdata/plugins/hang",
	"garbage":       "testdata/plugins/garbage",
	"badhandshake":  "testdata/plugins/badhandshake",
}

var (
	pluginBinsOnce sync.Once
	pluginBins     map[string]string
	pluginBinsErr  error
)

// pluginBin returns the binary of a test plugin, building them all the
// first time, two at a time.
func pluginBin(t *testing.T, name string) string {
	t.Helper()
	pluginBinsOnce.Do(func() {
		dir := filepath.Join(filepath.Dir(warroomBin), "plugins")
		if pluginBinsErr = os.Mkdir(dir, 0o755); pluginBinsErr != nil {
			return
		}
		pluginBins = map[string]string{}
		var (
			mu   sync.Mutex
			errs []string
			wg   sync.WaitGroup
			sem  = make(chan struct{}, 2)
		)
		for n, src := range checkPlugins {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				out := filepath.Join(dir, n)
				cmd := exec.Command("go", "build", "-o", out, "./"+src)
				cmd.Dir = "../.."
				b, err := cmd.CombinedOutput()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Sprintf("build %s: %v\n%s", src, err, b))
					return
				}
				pluginBins[n] = out
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			pluginBinsErr = fmt.Errorf("%s", strings.Join(errs, "\n"))
		}
	})
	if pluginBinsErr != nil {
		t.Fatal(pluginBinsErr)
	}
	bin, ok := pluginBins[name]
	if !ok {
		t.Fatalf("no test plugin %q", name)
	}
	return bin
}

// checkReport is the JSON contract of `plugins check -o json`.
type checkReport struct {
	Plugin string `json:"plugin"`
	Passed bool   `json:"passed"`
	Checks []struct {
		Name    string `json:"name"`
		Passed  bool   `json:"passed"`
		Message string `json:"message"`
	} `json:"checks"`
}

func TestPluginsCheckPasses(t *testing.T) {
	tests := []struct {
		plugin string
		args   []string
	}{
		{"exec", nil},
		{"exec", []string{"--set", "deploy=echo deploying $WARROOM_VERSION", "--set", "rollback=echo back", "--set", "set_traffic=true"}},
		{"tickets-local", nil},
		{"dirtarget", []string{"--set", "root=" + t.TempDir()}},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			c := newCLI(t)
			args := append([]string{"plugins", "check", pluginBin(t, tt.plugin)}, tt.args...)
			r := c.run(args...)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "PASS  launch") || !strings.Contains(r.stdout, tt.plugin+": PASS: ") {
				t.Errorf("stdout:\n%s", r.stdout)
			}
			if strings.Contains(r.stdout, "FAIL") || r.stderr != "" {
				t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}

			var rep checkReport
			c.json(&rep, args...)
			if !rep.Passed || rep.Plugin != tt.plugin || len(rep.Checks) < 5 {
				t.Errorf("JSON report: %+v", rep)
			}
			for _, ch := range rep.Checks {
				if ch.Name == "" || !ch.Passed || ch.Message == "" {
					t.Errorf("JSON check: %+v", ch)
				}
			}
			noPluginLeft(t)
		})
	}
}

func TestPluginsCheckFailsNamingTheFault(t *testing.T) {
	tests := []struct {
		plugin string
		fault  string
	}{
		{"crash", "crashed"},
		{"hang", "timeout"},
		{"garbage", "malformed"},
		{"badhandshake", "handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			c := newCLI(t)
			logFile := filepath.Join(t.TempDir(), "plugin.log")
			start := time.Now()
			// A short deadline: the hang plugin is given up on in 1s.
			r := c.run("plugins", "check", pluginBin(t, tt.plugin), "--timeout", "1s", "--log-file", logFile)
			if r.code != exitError {
				t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %s", d)
			}
			if !regexp.MustCompile(`(?m)^FAIL  \S+ +` + tt.fault + `: `).MatchString(r.stdout) {
				t.Errorf("no failure naming %q:\n%s", tt.fault, r.stdout)
			}
			if !strings.Contains(r.stdout, ": FAIL: ") {
				t.Errorf("no summary:\n%s", r.stdout)
			}
			if strings.Contains(r.stdout+r.stderr, "goroutine ") {
				t.Errorf("a stack trace reached the screen:\n%s\n%s", r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, logFile) {
				t.Errorf("stderr does not name the plugin log:\n%s", r.stderr)
			}
			if tt.plugin == "crash" {
				// The plugin's panic is in the log, not on the screen.
				if b, _ := os.ReadFile(logFile); !bytes.Contains(b, []byte("deliberately panicking")) {
					t.Errorf("the crash plugin's panic is not in its log:\n%s", b)
				}
			}

			var rep checkReport
			out := c.run("plugins", "check", pluginBin(t, tt.plugin), "--timeout", "1s", "--log-file", logFile, "-o", "json")
			if out.code != exitError {
				t.Fatalf("-o json: exit %d", out.code)
			}
			if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
				t.Fatalf("-o json: %v\n%s", err, out.stdout)
			}
			if rep.Passed || len(rep.Checks) == 0 {
				t.Errorf("JSON report: %+v", rep)
			}
			noPluginLeft(t)
		})
	}
}

func TestPluginsCheckUsage(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{
		{"plugins", "check"},
		{"plugins", "check", pluginBin(t, "dirtarget"), "--set", "root"},
		{"plugins", "check", pluginBin(t, "dirtarget"), "--set", "root=a", "--set", "root=b"},
		{"plugins", "check", pluginBin(t, "dirtarget"), "-o", "yaml"},
	} {
		if r := c.run(args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	if r := c.run("plugins", "check", filepath.Join(t.TempDir(), "nothing")); r.code != exitError || !strings.Contains(r.stderr, "no plugin binary") {
		t.Errorf("missing binary: exit %d\n%s", r.code, r.stderr)
	}
}

// The example of docs/plugins.md is the file the docs show, builds, and
// passes the suite.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../docs/example/dirtarget/main.go")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- listing: docs/example/dirtarget/main.go -->\n```go\n"
	i := bytes.Index(doc, []byte(marker))
	if i < 0 {
		t.Fatalf("docs/plugins.md has no listing of main.go (marker %q)", marker)
	}
	listing := doc[i+len(marker):]
	end := bytes.Index(listing, []byte("\n```\n"))
	if end < 0 {
		t.Fatal("the listing of main.go in docs/plugins.md is not closed")
	}
	listing = listing[:end+1]
	if !bytes.Equal(listing, src) {
		t.Errorf("the listing in docs/plugins.md differs from docs/example/dirtarget/main.go; copy the file into the listing\n%s", firstDiff(listing, src))
	}

	root := t.TempDir()
	c := newCLI(t)
	r := c.run("plugins", "check", pluginBin(t, "dirtarget"), "--set", "root="+root)
	if r.code != 0 {
		t.Fatalf("warroom plugins check of the example: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// It deployed where it was told.
	if _, err := os.Stat(filepath.Join(root, "conformance", "conformance-svc", "traffic")); err != nil {
		t.Errorf("the example did not deploy under its root: %v", err)
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  docs:    %q\n  main.go: %q", i+1, x, y)
		}
	}
	return ""
}

// A real warroom process checking the hang plugin is interrupted: it
// exits, and no plugin process is left.
func TestPluginsCheckInterrupted(t *testing.T) {
	hang := pluginBin(t, "hang")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(warroomBin, "plugins", "check", hang, "--timeout", "1m")
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), "WARROOM_DB="+filepath.Join(cmd.Dir, "warroom.db"))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-exited
				}
			}()

			// Wait for the plugin to run (it then blocks in Configure).
			var plugin []int
			waitUntil(t, 20*time.Second, "the hang plugin to start", func() bool {
				plugin = childrenOf(cmd.Process.Pid, "hang")
				return len(plugin) > 0
			})
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				t.Fatalf("warroom did not exit within 15s of %s\nstdout:\n%s\nstderr:\n%s", sig, stdout.String(), stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != exitError {
				t.Errorf("exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("stderr:\n%s", stderr.String())
			}
			// The process table: the plugin is gone, not even a zombie
			// waiting for init.
			waitUntil(t, 5*time.Second, "the plugin process to be gone", func() bool {
				for _, pid := range plugin {
					if alive(pid) {
						return false
					}
				}
				return true
			})
		})
	}
}

// childrenOf lists the processes whose parent is ppid and whose command
// name is comm, from /proc.
func childrenOf(ppid int, comm string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		c, p, _, ok := procStat(pid)
		if ok && p == ppid && c == comm {
			out = append(out, pid)
		}
	}
	return out
}

// procStat reads a process's command name, parent and state.
func procStat(pid int) (comm string, ppid int, state string, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, "", false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", 0, "", false
	}
	fields := strings.Fields(s[closing+1:])
	if len(fields) < 2 {
		return "", 0, "", false
	}
	ppid, _ = strconv.Atoi(fields[1])
	return s[open+1 : closing], ppid, fields[0], true
}

// alive reports whether pid is a process (a zombie counts: nobody reaped
// it).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// noPluginLeft fails the test if a test plugin started by this test
// process is still in the process table (a moment is allowed for the
// reaping of one being killed).
func noPluginLeft(t *testing.T) {
	t.Helper()
	var left []string
	waitUntil(t, 5*time.Second, "no plugin process left", func() bool {
		left = left[:0]
		for name := range checkPlugins {
			for _, pid := range childrenOf(os.Getpid(), name) {
				_, _, state, _ := procStat(pid)
				left = append(left, fmt.Sprintf("%s (pid %d, %s)", name, pid, state))
			}
		}
		return len(left) == 0
	})
}

// waitUntil polls cond until it holds, failing the test at the deadline.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s after %s", what, within)
		case <-tick.C:
		}
	}
}
