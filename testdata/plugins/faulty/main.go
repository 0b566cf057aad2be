// Command faulty is a deploy target for warroom's tests whose faults are
// driven by hooks, so the engine's handling of each fault of the plugin
// contract can be tested through a real plugin process.
//
// Its one setting, dir, names a directory shared with the test:
//
//   - dir/hooks holds the faults, one a line, read again on every call:
//     "refuse MESSAGE" (Deploy answers FailedPrecondition with MESSAGE),
//     "crash N" (the first N Deploy calls exit the process, counted in
//     dir/crash.count), "unavailable N" (the first N Deploy calls answer
//     Unavailable, counted in dir/unavailable.count), "hang" (Deploy starts the new version, then blocks
//     forever, ignoring its context), "unhealthy" (Status reports every service it deployed
//     unhealthy).
//   - dir/calls.log gets a line per call: the call, its idempotency key
//     (or "-"), service, environment, region (or "-") and version.
//   - dir/state.json is what runs and the keys applied, so that a new
//     process (after a crash or a timeout) knows them: Status reports
//     them, and a Deploy of an applied key is replayed, not repeated.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	t := &target{}
	sdk.Serve(sdk.Plugin{
		Name:        "faulty",
		Version:     "1.0.0",
		Description: "a deploy target whose faults tests drive with hooks (a test plugin)",
		Settings:    settings,
		Configure: func(_ context.Context, cfg sdk.Config) error {
			get, err := sdk.ReadSettings(cfg, settings)
			if err != nil {
				return err
			}
			if t.dir = get("dir"); t.dir == "" {
				return sdk.Errorf(sdk.CodeInvalid, "setting dir is required")
			}
			return nil
		},
		DeployTarget: t,
	})
}

var settings = []sdk.SettingSpec{{Name: "dir", Description: "the directory of the hooks, the call log and the state", Required: true}}

type target struct {
	dir string
	mu  sync.Mutex // one call at a time reads and writes the files
}

// state is what the target runs, kept on disk across processes.
type state struct {
	Running map[string]string `json:"running"` // "service env region" -> version
	Applied []string          `json:"applied"`
}

func place(t sdk.Target) string { return t.Service + " " + t.Environment + " " + t.Region }

func (t *target) load() state {
	st := state{Running: map[string]string{}}
	if b, err := os.ReadFile(filepath.Join(t.dir, "state.json")); err == nil {
		json.Unmarshal(b, &st)
	}
	if st.Running == nil {
		st.Running = map[string]string{}
	}
	return st
}

func (t *target) save(st state) error {
	b, _ := json.Marshal(st)
	tmp := filepath.Join(t.dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(t.dir, "state.json"))
}

// hook returns the argument of the hook named name, and whether it is set.
func (t *target) hook(name string) (string, bool) {
	f, err := os.Open(filepath.Join(t.dir, "hooks"))
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		word, arg, _ := strings.Cut(line, " ")
		if word == name {
			return strings.TrimSpace(arg), true
		}
	}
	return "", false
}

// first reports whether the hook "name N" is set and this is one of the
// first N calls that asked, counted in dir/name.count across processes.
func (t *target) first(name string) bool {
	n, ok := t.hook(name)
	if !ok {
		return false
	}
	limit, _ := strconv.Atoi(n)
	count := filepath.Join(t.dir, name+".count")
	b, _ := os.ReadFile(count)
	done, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if done >= limit {
		return false
	}
	os.WriteFile(count, []byte(strconv.Itoa(done+1)), 0o644)
	return true
}

// record appends a call to the log; it is synced before a crash.
func (t *target) record(call, key string, tg sdk.Target, version string) {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	f, err := os.OpenFile(filepath.Join(t.dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%s %s %s %s %s %s\n", call, dash(key), dash(tg.Service), dash(tg.Environment), dash(tg.Region), dash(version))
	f.Sync()
	f.Close()
}

func (t *target) Describe(context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{Strategies: []string{"rolling", "canary"}}, nil
}

func (t *target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "faulty", Passed: true}}, nil
}

func (t *target) Deploy(ctx context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record("deploy", req.IdempotencyKey, req.Target, req.Version)
	st := t.load()
	if slices.Contains(st.Applied, req.IdempotencyKey) {
		return events.Send(sdk.DeployEvent{At: time.Now(), Done: true, Percent: 100, Replayed: true, Message: "already applied"})
	}
	if msg, ok := t.hook("refuse"); ok {
		return sdk.Errorf(sdk.CodeFailedPrecondition, "%s", msg)
	}
	if t.first("crash") {
		os.Exit(3)
	}
	if t.first("unavailable") {
		return sdk.Errorf(sdk.CodeUnavailable, "the registry is down")
	}
	st.Running[place(req.Target)] = req.Version
	if _, ok := t.hook("hang"); ok {
		// Half done: the new version runs, the key is not applied, and
		// the call never ends, ignoring its context: only the host's
		// deadline ends it.
		if err := t.save(st); err != nil {
			return err
		}
		select {}
	}
	st.Applied = append(st.Applied, req.IdempotencyKey)
	if err := t.save(st); err != nil {
		return err
	}
	return events.Send(sdk.DeployEvent{At: time.Now(), Done: true, Percent: 100, Message: "deployed " + req.Version})
}

func (t *target) SetTraffic(_ context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record("set_traffic", req.IdempotencyKey, req.Target, "")
	return req.Weights, nil
}

func (t *target) Verify(_ context.Context, req sdk.VerifyRequest) ([]sdk.Check, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record("verify", "", req.Target, req.Version)
	return []sdk.Check{{Name: "smoke", Passed: true}}, nil
}

func (t *target) Rollback(_ context.Context, req sdk.RollbackRequest, events sdk.EventSink) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record("rollback", req.IdempotencyKey, req.Target, req.ToVersion)
	st := t.load()
	st.Running[place(req.Target)] = req.ToVersion
	st.Applied = append(st.Applied, req.IdempotencyKey)
	if err := t.save(st); err != nil {
		return err
	}
	return events.Send(sdk.DeployEvent{At: time.Now(), Done: true, Percent: 100, Message: "rolled back to " + req.ToVersion})
}

func (t *target) Status(_ context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record("status", "", req.Target, "")
	st := t.load()
	_, sick := t.hook("unhealthy")
	// The target knows every place it is asked about: one it never
	// deployed to runs nothing of warroom's yet.
	svc := sdk.ServiceStatus{Target: req.Target, Healthy: true}
	if v, ok := st.Running[place(req.Target)]; ok {
		svc.Healthy = !sick
		svc.Versions = []sdk.VersionStatus{{Version: v, Instances: 1, Ready: 1, Weight: 100}}
	}
	return sdk.Status{AppliedKeys: st.Applied, Services: []sdk.ServiceStatus{svc}}, nil
}
