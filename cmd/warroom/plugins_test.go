package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/plugins/host"
)

var (
	okPluginOnce sync.Once
	okPluginBin  string
	okPluginErr  error
)

// okPlugin builds the host's well-behaved test plugin once and returns a
// copy of it in a directory of the test's own, without SHA256SUMS.
func okPlugin(t *testing.T) string {
	t.Helper()
	okPluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "warroom-cmd-plugin")
		if err != nil {
			okPluginErr = err
			return
		}
		okPluginBin = filepath.Join(dir, "okplugin")
		build := exec.Command("go", "build", "-o", okPluginBin, "./plugins/host/testdata/okplugin")
		build.Dir = repo()
		if out, err := build.CombinedOutput(); err != nil {
			okPluginErr = fmt.Errorf("build okplugin: %v\n%s", err, out)
		}
	})
	if okPluginErr != nil {
		t.Fatal(okPluginErr)
	}
	data, err := os.ReadFile(okPluginBin)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "okplugin")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// pluginsConfig writes a plugin configuration of plugin "ok" (the test
// plugin at okPath) and plugin "ghost" (no binary).
func pluginsConfig(t *testing.T, okPath string) string {
	t.Helper()
	cfg := fmt.Sprintf(`plugins:
  - name: ok
    path: %s
    kinds: [deploy-target, ticketing]
    settings: {greeting: hi}
  - name: ghost
    path: no/such/binary
    kinds: [monitoring-source]
`, okPath)
	path := filepath.Join(t.TempDir(), "warroom-plugins.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// listed runs plugins list -o json and returns each plugin's raw JSON
// object by name, checking the contract's keys and types.
func listed(t *testing.T, c *cli, cfg string) map[string]map[string]any {
	t.Helper()
	var list []map[string]any
	c.json(&list, "plugins", "list", "--plugins", cfg)
	out := make(map[string]map[string]any)
	for _, p := range list {
		for key, want := range map[string]string{"name": "string", "kinds": "array", "trusted": "bool", "healthy": "bool",
			"version": "string", "last_error": "string", "sha256": "string", "trust_source": "string", "running": "bool", "path": "string"} {
			if got := jsonType(p[key]); got != want {
				t.Errorf("plugins list -o json: %q is %s, want %s: %v", key, got, want, p)
			}
		}
		out[p["name"].(string)] = p
	}
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case nil:
		return "missing"
	}
	return fmt.Sprintf("%T", v)
}

func TestPluginsListAndTrust(t *testing.T) {
	c := newCLI(t)
	okPath := okPlugin(t)
	cfg := pluginsConfig(t, okPath)
	sum, _ := host.Checksum(okPath)

	// Without a database nothing is trusted, and listing creates none.
	got := listed(t, c, cfg)
	ok, ghost := got["ok"], got["ghost"]
	if ok["trusted"] != false || ok["healthy"] != false || ok["sha256"] != sum ||
		!strings.Contains(ok["last_error"].(string), "after checking the binary, run: warroom plugins trust ok") {
		t.Errorf("untrusted plugin: %v", ok)
	}
	if kinds := ok["kinds"].([]any); len(kinds) != 2 || kinds[0] != "deploy-target" || kinds[1] != "ticketing" {
		t.Errorf("kinds: %v", ok["kinds"])
	}
	if ghost["trusted"] != false || ghost["healthy"] != false || !strings.Contains(ghost["last_error"].(string), "does not exist") {
		t.Errorf("missing plugin: %v", ghost)
	}
	if _, err := os.Stat(c.db); !os.IsNotExist(err) {
		t.Errorf("plugins list created the database: %v", err)
	}

	// trust records in the database: it never creates one.
	if r := c.run("plugins", "trust", "ok", "--plugins", cfg); r.code != 1 || !strings.Contains(r.stderr, "no database at") {
		t.Errorf("trust without a database: exit %d: %s", r.code, r.stderr)
	}
	c.initDB()
	out := c.ok("plugins", "trust", "ok", "--plugins", cfg)
	if want := fmt.Sprintf("trusted plugin ok (%s): sha256 %s\n", okPath, sum); out != want {
		t.Errorf("trust said %q, want %q", out, want)
	}
	got = listed(t, c, cfg)
	if ok := got["ok"]; ok["trusted"] != true || ok["trust_source"] != "database" || ok["healthy"] != true ||
		ok["version"] != "1.2.3" || ok["last_error"] != "" {
		t.Errorf("trusted plugin: %v", ok)
	}
	text := c.ok("plugins", "list", "--plugins", cfg)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME KINDS VERSION TRUSTED HEALTHY LAST ERROR" ||
		strings.Join(strings.Fields(lines[1]), " ") != "ok deploy-target,ticketing 1.2.3 yes (database) yes -" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "ghost monitoring-source - no no plugin ghost: ") {
		t.Errorf("plugins list:\n%s", text)
	}
	if kids := pluginKids(t); len(kids) > 0 {
		t.Errorf("plugin processes left after the command: %v", kids)
	}
}

// TestPluginsTrustAudited: trust and untrust are commands like any other:
// recorded with their actor in the audit trail.
func TestPluginsTrustAudited(t *testing.T) {
	c := newCLI(t)
	okPath := okPlugin(t)
	cfg := pluginsConfig(t, okPath)
	sum, _ := host.Checksum(okPath)
	other := strings.Repeat("ab", 32)

	c.initDB()
	c.ok("plugins", "trust", "ok", "--plugins", cfg)
	if out := c.ok("plugins", "trust", "ok", "--plugins", cfg); !strings.Contains(out, "already trusted") {
		t.Errorf("trusting again: %q", out)
	}
	r := c.run("plugins", "trust", "ok", "--plugins", cfg, "--sha256", strings.ToUpper(other))
	if r.code != 0 || !strings.Contains(r.stderr, "note: "+okPath+" has sha256 "+sum) {
		t.Errorf("trust --sha256: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c.ok("plugins", "untrust", "ok", "--plugins", cfg)
	if out := c.ok("plugins", "untrust", "ok", "--plugins", cfg); !strings.Contains(out, "no trusted checksum") {
		t.Errorf("untrusting again: %q", out)
	}

	var evs []model.AuditEvent
	c.json(&evs, "audit", "list")
	type payload struct {
		Name, Path, SHA256 string
		Previous, Revoked  []string
	}
	var got []string
	for _, e := range evs {
		var p payload
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s %v %v", e.Actor, e.Command, p.Name, p.Path, p.SHA256, p.Previous, p.Revoked))
	}
	want := []string{
		fmt.Sprintf("tester plugins trust ok %s %s [] []", okPath, sum),
		fmt.Sprintf("tester plugins trust ok %s %s [%s] []", okPath, other, sum),
		fmt.Sprintf("tester plugins untrust ok   [] [%s]", other),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out := c.ok("audit", "verify"); !strings.HasPrefix(out, "ok") {
		t.Errorf("audit verify: %s", out)
	}
	if ok := listed(t, c, cfg)["ok"]; ok["trusted"] != false {
		t.Errorf("after untrust: %v", ok)
	}

	for _, args := range [][]string{
		{"plugins", "trust", "nope", "--plugins", cfg},
		{"plugins", "trust", "ok", "--plugins", cfg, "--sha256", "xyz"},
	} {
		if r := c.run(args...); r.code == 0 {
			t.Errorf("warroom %s succeeded", strings.Join(args, " "))
		}
	}
}

// TestPluginsChangedBinaryRefused: a binary changed by one byte after it
// was trusted is refused, with what happened and how to trust it again.
func TestPluginsChangedBinaryRefused(t *testing.T) {
	c := newCLI(t)
	okPath := okPlugin(t)
	cfg := pluginsConfig(t, okPath)
	c.initDB()
	c.ok("plugins", "trust", "ok", "--plugins", cfg)

	data, _ := os.ReadFile(okPath)
	data[len(data)-1] ^= 1
	os.WriteFile(okPath, data, 0o755)

	ok := listed(t, c, cfg)["ok"]
	msg, _ := ok["last_error"].(string)
	if ok["trusted"] != false || ok["healthy"] != false || ok["running"] != false ||
		!strings.Contains(msg, "plugin ok: "+okPath+" changed since it was trusted") ||
		!strings.HasSuffix(msg, "if you rebuilt it on purpose, run: warroom plugins trust ok") {
		t.Errorf("changed binary: %v", ok)
	}
	c.ok("plugins", "trust", "ok", "--plugins", cfg)
	if ok := listed(t, c, cfg)["ok"]; ok["healthy"] != true {
		t.Errorf("trusted again: %v", ok)
	}
}

func TestPluginsBadConfig(t *testing.T) {
	c := newCLI(t)
	cfg := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(cfg, []byte("plugins:\n  - name: x\n    path: y\n    kinds: [deploy]\n"), 0o644)
	r := c.run("plugins", "list", "--plugins", cfg)
	if r.code != 1 || !strings.Contains(r.stderr, cfg+`:4:13: unknown kind "deploy"`) {
		t.Errorf("bad config: exit %d\n%s", r.code, r.stderr)
	}
}

// TestNoPluginOutlivesSignal: SIGINT or SIGTERM while plugins run (here:
// one that never finishes starting, and a child it spawned) stops them
// all before warroom exits.
func TestNoPluginOutlivesSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		dir := t.TempDir()
		script := filepath.Join(dir, "slow")
		os.WriteFile(script, []byte("#!/bin/sh\nsleep 60 &\nwait\n"), 0o755)
		sum, _ := host.Checksum(script)
		os.WriteFile(filepath.Join(dir, host.BuildSumsFile), []byte(sum+"  slow\n"), 0o644)
		cfg := filepath.Join(dir, "plugins.yaml")
		os.WriteFile(cfg, []byte("plugins:\n  - name: slow\n    path: slow\n    kinds: [ticketing]\n    start_timeout: 1m\n"), 0o644)

		cmd := exec.Command(warroomBin, "--db", filepath.Join(dir, "w.db"), "--plugins", cfg, "plugins", "list")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the plugin and its child: warroom -> slow -> sleep.
		var plugin, child int
		pollUntil(t, 20*time.Second, "the plugin and its child to start", func() bool {
			for _, p := range kidsOf(cmd.Process.Pid) {
				if kids := kidsOf(p); len(kids) > 0 {
					plugin, child = p, kids[0]
					return true
				}
			}
			return false
		})
		start := time.Now()
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: warroom did not exit\n%s", sig, out.String())
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%v: warroom took %s to exit", sig, d)
		}
		for _, pid := range []int{plugin, child} {
			if pidAlive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("%v: process %d outlived warroom\n%s", sig, pid, out.String())
			}
		}
	}
}

// kidsOf returns the live child processes of pid, from /proc.
func kidsOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, state, ok := pidStat(p); ok && ppid == pid && state != "Z" {
			out = append(out, p)
		}
	}
	return out
}

func pluginKids(t *testing.T) []int {
	t.Helper()
	var out []int
	for _, p := range kidsOf(os.Getpid()) {
		// The go tool may run helpers of ours; plugins are what matter.
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); bytes.Contains(b, []byte("plugin")) {
			out = append(out, p)
		}
	}
	return out
}

func pidAlive(pid int) bool {
	_, state, ok := pidStat(pid)
	return ok && state != "Z"
}

// pidStat reads a process's parent and state from /proc/PID/stat.
func pidStat(pid int) (ppid int, state string, ok bool) {
	_, ppid, state, ok = procStat(pid)
	return ppid, state, ok
}

// pollUntil polls cond until it holds or the deadline passes.
func pollUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
