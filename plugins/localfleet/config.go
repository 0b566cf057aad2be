package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store/fsmode"
)

// Defaults of the settings.
const (
	defaultInstances         = 4
	defaultMaxInstances      = 4
	defaultMaxProcesses      = 100
	defaultHealthTimeout     = 30 * time.Second
	defaultSmokeRequests     = 20
	defaultSmokeMaxErrorRate = 0.05
	defaultTrafficRPS        = 200.0
	defaultTrafficIdle       = 20 * time.Second
	defaultIdleExit          = 5 * time.Minute
)

// settingSpecs documents every setting; Configure refuses any other. A
// Default is always a value the setting accepts (the conformance suite
// configures the plugin with them).
var settingSpecs = []sdk.SettingSpec{
	{Name: "service_binary", Description: "The demo-service binary every instance runs. Unset: demo-service in the parent of the plugin binary's directory (bin/demo-service for bin/plugins/localfleet)."},
	{Name: "faults", Description: "Faults per version, `SERVICE@VERSION=FAULT[,FAULT...]` entries separated by `;` or new lines, e.g. `payments@3.2.0=error-rate=0.3,latency=200ms`. Faults: error-rate=R (0..1), latency=D, crash-on-start, slow-start=D, crash-after=N. A deploy request's settings may add `fault.NAME` keys for the version it deploys."},
	{Name: "faults_file", Description: "A file of faults in the syntax of `faults`, one entry per line, # comments; relative to the state dir. Read again at every instance start, so a version can be made bad during a demo; a file that does not exist holds no faults."},
	{Name: "health_timeout", Description: "How long a new instance may take to answer 200 on /healthz before the deploy fails (a Go duration).", Default: defaultHealthTimeout.String()},
	{Name: "smoke_requests", Description: "Verify: rounds of GET / and GET /healthz through the proxy, pinned to the version verified.", Default: strconv.Itoa(defaultSmokeRequests)},
	{Name: "smoke_max_error_rate", Description: "Verify: the highest error rate (0..1) of the smoke requests that still passes.", Default: strconv.FormatFloat(defaultSmokeMaxErrorRate, 'f', -1, 64)},
	{Name: "traffic_rps", Description: "Requests per second the built-in traffic generator sends through each target's proxy; 0 disables it.", Default: strconv.FormatFloat(defaultTrafficRPS, 'f', -1, 64)},
	{Name: "traffic_idle", Description: "The traffic generator of a target pauses when no call of the deploy engine (deploy, rollback, set_traffic, verify, or status naming the target) came for this long, and resumes at the next one (a Go duration); 0: it never pauses. A bake asks for its target's status at every look, so a step in flight keeps its traffic; the fleet's CPU goes to the targets in use.", Default: defaultTrafficIdle.String()},
	{Name: "max_instances", Description: "The most instances one version of one target runs: a deploy asking for more (the demo's specs ask for 12 or 24) runs this many, and says so.", Default: strconv.Itoa(defaultMaxInstances)},
	{Name: "max_processes", Description: "The most demo-service processes of the whole fleet; a start beyond it is refused (or makes room, with evict_idle).", Default: strconv.Itoa(defaultMaxProcesses)},
	{Name: "evict_idle", Description: "true: when the fleet is full, stop the instances of the target changed longest ago that no call is using, instead of refusing.", Default: "false"},
	{Name: "idle_exit", Description: "How long the fleet's supervisor lives on with no demo-service process running and no call (a Go duration); 0: until stopped. A fleet that runs something lives until it is stopped.", Default: defaultIdleExit.String()},
}

// config is the validated configuration.
type config struct {
	stateDir          string
	binary            string // absolute
	binaryDefaulted   bool   // derived from the plugin's own path, not set
	faults            faultTable
	faultsFile        string // absolute; empty if unset
	healthTimeout     time.Duration
	smokeRequests     int
	smokeMaxErrorRate float64
	trafficRPS        float64
	trafficIdle       time.Duration // 0: traffic never pauses
	maxInstances      int
	maxProcesses      int
	evictIdle         bool
	idleExit          time.Duration // 0: never
}

func knownSettings() []string {
	names := make([]string, len(settingSpecs))
	for i, s := range settingSpecs {
		names[i] = s.Name
	}
	return names
}

// defaultBinary is demo-service in the parent of the plugin binary's
// directory: bin/demo-service beside bin/plugins/localfleet.
func defaultBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return filepath.Join(filepath.Dir(filepath.Dir(exe)), "demo-service"), nil
}

func invalid(format string, args ...any) error {
	return sdk.Errorf(sdk.CodeInvalid, "localfleet: "+format, args...)
}

// parseConfig validates the settings; every refusal is CodeInvalid and
// names the setting.
func parseConfig(cfg sdk.Config) (config, error) {
	if cfg.StateDir == "" {
		return config{}, invalid("no state dir given: the plugin keeps its journal, lock and endpoints.json there")
	}
	stateDir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return config{}, invalid("state dir %s: %v", cfg.StateDir, err)
	}
	c := config{
		stateDir:          stateDir,
		healthTimeout:     defaultHealthTimeout,
		smokeRequests:     defaultSmokeRequests,
		smokeMaxErrorRate: defaultSmokeMaxErrorRate,
		trafficRPS:        defaultTrafficRPS,
		trafficIdle:       defaultTrafficIdle,
		maxInstances:      defaultMaxInstances,
		maxProcesses:      defaultMaxProcesses,
		idleExit:          defaultIdleExit,
	}
	names := make([]string, 0, len(cfg.Settings))
	for name := range cfg.Settings {
		names = append(names, name)
	}
	sort.Strings(names) // report the same problem every time
	for _, name := range names {
		value := strings.TrimSpace(cfg.Settings[name])
		if value == "" {
			continue // unset: the default
		}
		var err error
		switch name {
		case "service_binary":
			c.binary = value
		case "faults":
			c.faults, err = parseFaults(value)
		case "faults_file":
			if !filepath.IsAbs(value) {
				value = filepath.Join(stateDir, value)
			}
			c.faultsFile = filepath.Clean(value)
		case "health_timeout":
			c.healthTimeout, err = positiveDuration(value)
		case "smoke_requests":
			c.smokeRequests, err = positiveInt(value)
		case "smoke_max_error_rate":
			c.smokeMaxErrorRate, err = fraction(value)
		case "traffic_rps":
			c.trafficRPS, err = strconv.ParseFloat(value, 64)
			if err == nil && (c.trafficRPS < 0 || c.trafficRPS > 1000) {
				err = fmt.Errorf("want 0 (off) to 1000 requests per second")
			}
		case "traffic_idle":
			c.trafficIdle, err = time.ParseDuration(value)
			if err == nil && c.trafficIdle < 0 {
				err = fmt.Errorf("want a duration of 0 (never pause) or more")
			}
		case "max_instances":
			c.maxInstances, err = positiveInt(value)
		case "max_processes":
			c.maxProcesses, err = positiveInt(value)
		case "evict_idle":
			c.evictIdle, err = strconv.ParseBool(value)
		case "idle_exit":
			c.idleExit, err = time.ParseDuration(value)
			if err == nil && c.idleExit < 0 {
				err = fmt.Errorf("want a duration of 0 (never) or more")
			}
		default:
			return config{}, invalid("unknown setting %q; the known settings are %s", name, strings.Join(knownSettings(), ", "))
		}
		if err != nil {
			return config{}, invalid("setting %s: %q: %v", name, value, err)
		}
	}
	if c.binary == "" {
		c.binary, err = defaultBinary()
		if err != nil {
			return config{}, invalid("setting service_binary is unset and the plugin's own path is unknown (%v): set it", err)
		}
		c.binaryDefaulted = true
	} else {
		if c.binary, err = filepath.Abs(c.binary); err != nil {
			return config{}, invalid("setting service_binary: %v", err)
		}
		// Set explicitly, it must be right now; the default is checked
		// when something is deployed, so that a plugin installed without
		// the demo service still configures (and says why it cannot
		// deploy).
		if err := checkBinary(c.binary); err != nil {
			return config{}, invalid("setting service_binary: %v", err)
		}
	}
	if c.faultsFile != "" {
		// A file that does not exist yet holds no faults: it may be
		// written during the demo. One that does not parse is refused.
		if _, err := readFaultsFile(c.faultsFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return config{}, invalid("setting faults_file: %v", err)
		}
	}
	if err := ownerOnlyDir(stateDir); err != nil {
		return config{}, invalid("state dir: %v", err)
	}
	return c, nil
}

// checkBinary says why path cannot run as the demo service.
func checkBinary(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w (build it with `go build -o %s ./cmd/demo-service`)", path, err, path)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

func positiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("not a positive duration (write it like 30s or 2m)")
	}
	return d, nil
}

func positiveInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a positive whole number")
	}
	return n, nil
}

func fraction(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("not a fraction between 0 and 1")
	}
	return f, nil
}

// ownerOnlyDir creates dir 0700, or narrows it: its socket drives the
// fleet and its journal says what was deployed, so only its owner may
// reach them — or its group, when warroom shares its files with the group
// (--share-group makes the state dir 0770, and the fleet follows:
// store/fsmode's rule). Others never.
func ownerOnlyDir(dir string) error {
	if err := fsmode.Private.MkdirAll(dir); err != nil {
		return err
	}
	mode := stateMode(dir)
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&^mode.Dir() != 0 {
		return os.Chmod(dir, mode.Dir()|fi.Mode()&os.ModeSetgid)
	}
	return nil
}

// stateMode is the mode of the files the fleet creates in its state dir:
// the group's too when the dir is group-writable, else the owner's alone.
func stateMode(dir string) fsmode.Mode {
	m, err := fsmode.Of(dir)
	if err != nil {
		return fsmode.Private
	}
	return m
}
