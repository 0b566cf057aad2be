package host_test

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

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// binDir holds the test plugins, built once per test binary from
// testdata/, with the SHA256SUMS a `make build` would write.
var binDir string

var testPlugins = []string{"okplugin", "crashplugin", "hangplugin", "liarplugin", "badinfoplugin", "badhandshake"}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperMain() // a subprocess of TestPluginDiesWithWarroom
		return
	}
	dir, err := os.MkdirTemp("", "warroom-host-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range testPlugins {
		args = append(args, "./testdata/"+p)
	}
	build := exec.Command("go", args...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build test plugins: " + err.Error())
	}
	if err := writeSums(dir); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// writeSums writes SHA256SUMS for every file in dir, as `make build` does.
func writeSums(dir string) error {
	var b strings.Builder
	for _, p := range testPlugins {
		sum, err := host.Checksum(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, p)
	}
	return os.WriteFile(filepath.Join(dir, host.BuildSumsFile), []byte(b.String()), 0o644)
}

func bin(name string) string { return filepath.Join(binDir, name) }

// copyBin copies a test plugin into a directory of its own, without
// SHA256SUMS, so that only a TrustStore can trust it.
func copyBin(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(bin(name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeTrust is a TrustStore in memory.
type fakeTrust map[string][]string

func (f fakeTrust) TrustedChecksums(_ context.Context, name string) ([]string, error) {
	return f[name], nil
}

// syncBuffer is a log writer the test can read while plugins write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// plugin configures a test plugin of the build directory.
func plugin(name string, kinds ...sdk.Kind) host.PluginConfig {
	if len(kinds) == 0 {
		kinds = []sdk.Kind{sdk.KindDeployTarget}
	}
	return host.PluginConfig{Name: name, Path: bin(name), Kinds: kinds}
}

// newHost returns a Host of the given plugins that the test closes,
// checking that no plugin process is left. Its log is returned.
func newHost(t *testing.T, opts host.Options, plugins ...host.PluginConfig) (*host.Host, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if opts.LogWriter == nil {
		opts.LogWriter = logs
	}
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	h, err := host.New(&host.Config{Plugins: plugins}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if kids := children(t); len(kids) > 0 {
			t.Errorf("after Close, child processes remain: %v", kids)
		}
		if t.Failed() {
			t.Logf("plugin log:\n%s", logs.String())
		}
	})
	return h, logs
}

// children returns the live (not zombie) processes whose parent is this
// test process, from /proc.
func children(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, state, comm, ok := procStat(pid)
		if ok && ppid == me && state != "Z" {
			out = append(out, fmt.Sprintf("%d (%s)", pid, comm))
		}
	}
	return out
}

// procStat reads a process's parent, state and command from
// /proc/PID/stat.
func procStat(pid int) (ppid int, state, comm string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", "", false
	}
	s := string(b)
	// comm is in parentheses and may contain spaces: split after it.
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0, "", "", false
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 2 {
		return 0, "", "", false
	}
	ppid, _ = strconv.Atoi(fields[1])
	return ppid, fields[0], s[open+1 : end], true
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	_, state, _, ok := procStat(pid)
	return ok && state != "Z"
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantFault checks that err is a *CallError of the plugin, call and fault.
func wantFault(t *testing.T, err error, plugin, call string, fault host.Fault) *host.CallError {
	t.Helper()
	ce, ok := err.(*host.CallError)
	if !ok {
		t.Fatalf("error %v (%T) is not a *host.CallError", err, err)
	}
	if ce.Plugin != plugin || ce.Call != call || ce.Fault != fault {
		t.Fatalf("CallError{%s, %s, %s}, want {%s, %s, %s}: %v", ce.Plugin, ce.Call, ce.Fault, plugin, call, fault, err)
	}
	if !strings.HasPrefix(err.Error(), "plugin "+plugin) {
		t.Errorf("message does not start by naming the plugin: %v", err)
	}
	return ce
}
