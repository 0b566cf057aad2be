// Command dirtarget is the example provider of docs/plugins.md: a deploy
// target that "deploys" a version of a service by writing a file under a
// directory, keeps the traffic split in another file and reports Status
// by reading them back. Idempotency keys it has applied are kept in the
// plugin's state directory.
//
//	ROOT/ENVIRONMENT/SERVICE/versions/VERSION   one file per deployed version
//	ROOT/ENVIRONMENT/SERVICE/traffic            "VERSION PERCENT" lines
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	t := &target{}
	sdk.Serve(sdk.Plugin{
		Name:        "dirtarget",
		Version:     "1.0.0",
		Description: "Deploys services as files under a directory (an example).",
		Settings: []sdk.SettingSpec{
			{Name: "root", Default: "deployments", Description: "Directory to deploy into; relative to the state dir."},
		},
		Configure:    t.configure,
		DeployTarget: t,
	})
}

type target struct {
	mu         sync.Mutex // one change at a time
	root, keys string
}

// configure refuses unknown settings and applies the defaults: warroom
// hands over only the settings its configuration gives.
func (t *target) configure(_ context.Context, cfg sdk.Config) error {
	for name := range cfg.Settings {
		if name != "root" {
			return sdk.Errorf(sdk.CodeInvalid, "unknown setting %q (known: root)", name)
		}
	}
	root := cfg.Settings["root"]
	if root == "" {
		root = "deployments"
	}
	if !filepath.IsAbs(root) {
		root = filepath.Join(cfg.StateDir, root)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.root, t.keys = root, filepath.Join(cfg.StateDir, "keys")
	for _, dir := range []string{t.root, t.keys} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return sdk.Errorf(sdk.CodeInvalid, "root: %v", err)
		}
	}
	return nil
}

func (t *target) Describe(context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{Strategies: []string{"rolling", "canary"}, TrafficShifting: true, Status: true}, nil
}

func (t *target) dir(tg sdk.Target) string { return filepath.Join(t.root, tg.Environment, tg.Service) }

func (t *target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	c := sdk.Check{Name: "root-writable", Passed: true, Message: t.root}
	if f, err := os.CreateTemp(t.root, ".preflight-"); err != nil {
		c.Passed, c.Message = false, err.Error()
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	return []sdk.Check{c}, nil
}

// applied returns the key's file and whether the key was applied before.
func (t *target) applied(key string) (string, bool) {
	sum := sha256.Sum256([]byte(key))
	path := filepath.Join(t.keys, hex.EncodeToString(sum[:]))
	_, err := os.Stat(path)
	return path, err == nil
}

func (t *target) Deploy(_ context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	return t.change(req.IdempotencyKey, events, func() error {
		events.Send(sdk.DeployEvent{Phase: "writing", Percent: 50, Message: "writing " + req.Version})
		weights := []sdk.TrafficWeight{{Version: req.Version, Percent: 100}}
		if old := t.traffic(req.Target); req.Strategy == "canary" && len(old) > 0 {
			weights = append(old, sdk.TrafficWeight{Version: req.Version}) // 0% until SetTraffic
		}
		return t.install(req.Target, req.Version, req.Artifact.Ref, weights)
	})
}

func (t *target) Rollback(_ context.Context, req sdk.RollbackRequest, events sdk.EventSink) error {
	return t.change(req.IdempotencyKey, events, func() error {
		return t.install(req.Target, req.ToVersion, "rollback: "+req.Reason,
			[]sdk.TrafficWeight{{Version: req.ToVersion, Percent: 100}})
	})
}

// change applies a keyed change once; asked again, it replays.
func (t *target) change(key string, events sdk.EventSink, apply func() error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	keyFile, done := t.applied(key)
	if done {
		return events.Send(sdk.DeployEvent{Done: true, Replayed: true, Percent: 100, Message: "already applied"})
	}
	if err := apply(); err != nil {
		return err
	}
	return os.WriteFile(keyFile, []byte(key), 0o644)
}

// install writes a version's file and the new traffic split.
func (t *target) install(tg sdk.Target, version, note string, weights []sdk.TrafficWeight) error {
	for _, name := range []string{tg.Environment, tg.Service, version} {
		if !filepath.IsLocal(name) || strings.ContainsRune(name, filepath.Separator) {
			return sdk.Errorf(sdk.CodeInvalid, "%q cannot name a directory", name)
		}
	}
	versions := filepath.Join(t.dir(tg), "versions")
	if err := os.MkdirAll(versions, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(versions, version), []byte(note+"\n"), 0o644); err != nil {
		return err
	}
	return t.writeTraffic(tg, weights)
}

func (t *target) writeTraffic(tg sdk.Target, weights []sdk.TrafficWeight) error {
	var b strings.Builder
	for _, w := range weights {
		fmt.Fprintf(&b, "%s %d\n", w.Version, w.Percent)
	}
	return os.WriteFile(filepath.Join(t.dir(tg), "traffic"), []byte(b.String()), 0o644)
}

func (t *target) traffic(tg sdk.Target) []sdk.TrafficWeight {
	data, _ := os.ReadFile(filepath.Join(t.dir(tg), "traffic"))
	var out []sdk.TrafficWeight
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if v, p, ok := strings.Cut(line, " "); ok {
			n, _ := strconv.Atoi(p)
			out = append(out, sdk.TrafficWeight{Version: v, Percent: n})
		}
	}
	return out
}

func (t *target) SetTraffic(_ context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sum := 0
	for _, w := range req.Weights {
		if w.Percent < 0 || w.Percent > 100 {
			return nil, sdk.Errorf(sdk.CodeInvalid, "weight %d of %s is outside 0..100", w.Percent, w.Version)
		}
		sum += w.Percent
	}
	if sum != 100 {
		return nil, sdk.Errorf(sdk.CodeInvalid, "weights sum to %d, not 100", sum)
	}
	for _, w := range req.Weights {
		if _, err := os.Stat(filepath.Join(t.dir(req.Target), "versions", w.Version)); err != nil {
			return nil, sdk.Errorf(sdk.CodeFailedPrecondition, "version %q is not deployed", w.Version)
		}
	}
	return req.Weights, t.writeTraffic(req.Target, req.Weights)
}

func (t *target) Verify(_ context.Context, req sdk.VerifyRequest) ([]sdk.Check, error) {
	_, err := os.Stat(filepath.Join(t.dir(req.Target), "versions", req.Version))
	return []sdk.Check{{Name: "version-present", Passed: err == nil, Message: req.Version}}, nil
}

// Status reads back what the files say, for one environment or all.
func (t *target) Status(_ context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := sdk.Status{Services: []sdk.ServiceStatus{}}
	dirs, _ := filepath.Glob(filepath.Join(t.root, "*", "*"))
	for _, dir := range dirs {
		tg := sdk.Target{Environment: filepath.Base(filepath.Dir(dir)), Service: filepath.Base(dir)}
		if req.Target.Environment != "" && tg.Environment != req.Target.Environment ||
			req.Target.Service != "" && tg.Service != req.Target.Service {
			continue
		}
		svc := sdk.ServiceStatus{Target: tg, Healthy: true}
		for _, w := range t.traffic(tg) {
			svc.Versions = append(svc.Versions, sdk.VersionStatus{Version: w.Version, Instances: 1, Ready: 1, Weight: w.Percent})
		}
		st.Services = append(st.Services, svc)
	}
	keys, _ := os.ReadDir(t.keys)
	for _, k := range keys {
		if data, err := os.ReadFile(filepath.Join(t.keys, k.Name())); err == nil {
			st.AppliedKeys = append(st.AppliedKeys, string(data))
		}
	}
	return st, nil
}
