package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/warroom/warroom/plugins/internal/runner"
	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store/fsmode"
)

// The phases; each has a <phase>_playbook setting.
const (
	phasePreflight  = "preflight"
	phaseDeploy     = runner.OpDeploy
	phaseSetTraffic = runner.OpSetTraffic
	phaseVerify     = "verify"
	phaseRollback   = runner.OpRollback
	phaseStatus     = "status"
)

var phases = []string{phaseDeploy, phaseRollback, phaseVerify, phasePreflight, phaseSetTraffic, phaseStatus}

const (
	defaultTimeout = 30 * time.Minute
	defaultBinary  = "ansible-playbook"
	// localInventory is the default inventory: this machine, without ssh.
	localInventory = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"

	// Files and directories in the state dir.
	journalFile   = "ansible-journal.jsonl"
	inventoryFile = "inventory.ini"
	ansibleDir    = "ansible" // ANSIBLE_HOME, temp dirs, ssh control sockets
	callsDir      = "calls"   // per-call extra-vars and status files
	// maxControlPathDir bounds the ssh control socket directory: a unix
	// socket path has 108 bytes, and ansible and ssh add about 30.
	maxControlPathDir = 76

	journalOrigin = "the ansible plugin's journal, not observed (no status playbook configured)"
)

// settingSpecs documents every setting the plugin understands; Configure
// refuses any other.
var settingSpecs = []sdk.SettingSpec{
	{Name: "playbook", Description: "Playbook run for every phase; it branches on the warroom_phase extra var. Required unless every phase the target is used for has its own <phase>_playbook."},
	{Name: "deploy_playbook", Description: "Playbook that deploys warroom_version of warroom_service (overrides playbook for this phase)."},
	{Name: "rollback_playbook", Description: "Playbook that rolls warroom_service back to warroom_version; warroom_reason says why (overrides playbook)."},
	{Name: "verify_playbook", Description: "Post-deployment smoke tests: each task that runs is a check (overrides playbook)."},
	{Name: "preflight_playbook", Description: "Pre-flight checks: each task that runs is a check (overrides playbook)."},
	{Name: "set_traffic_playbook", Description: "Playbook that applies the traffic split in warroom_weights (overrides playbook). Without any playbook for this phase the target does not shift traffic."},
	{Name: "status_playbook", Description: "Playbook that writes what runs, as JSON in the shape of sdk.Status, to the path in warroom_status_file (overrides playbook)."},
	// Default holds values only (warroom's conformance suite configures
	// with them), so the defaults that are not values are described.
	{Name: "inventory", Description: "Inventory passed as -i: a file, a directory or a host list; a relative path is relative to workdir. Unset: a generated inventory of localhost over the local connection."},
	{Name: "ansible_playbook", Description: "The ansible-playbook program: a path, or a name looked up on PATH.", Default: defaultBinary},
	{Name: "extra_vars", Description: "JSON object of extra vars added to every run; names starting with warroom_ are reserved."},
	{Name: "timeout", Description: "Time limit of one ansible-playbook run, a Go duration (90s, 15m); its process group is killed when it passes.", Default: defaultTimeout.String()},
	{Name: "workdir", Description: "Directory ansible-playbook runs in (where it finds ansible.cfg); relative playbook and inventory paths are relative to it; a relative workdir is relative to the state dir. Unset: the state dir."},
}

// config is the validated plugin configuration.
type config struct {
	playbooks map[string]string // phase -> absolute path; only phases that have one
	// shared marks phases that run the general playbook rather than one
	// of their own.
	shared    map[string]bool
	inventory string
	binary    string
	extraVars map[string]any
	timeout   time.Duration
	workdir   string
	stateDir  string
	mode      fsmode.Mode // of what the plugin creates: its state directory's
}

func knownSettings() []string {
	names := make([]string, len(settingSpecs))
	for i, s := range settingSpecs {
		names[i] = s.Name
	}
	return names
}

func invalid(format string, args ...any) error {
	return sdk.Errorf(sdk.CodeInvalid, "ansible: "+format, args...)
}

// parseConfig validates the settings and prepares the state dir; every
// refusal is CodeInvalid and names the setting.
func parseConfig(cfg sdk.Config) (config, error) {
	if cfg.StateDir == "" {
		return config{}, invalid("no state dir given: the plugin keeps its idempotency journal there")
	}
	stateDir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return config{}, invalid("state dir %s: %v", cfg.StateDir, err)
	}
	c := config{
		playbooks: map[string]string{},
		shared:    map[string]bool{},
		timeout:   defaultTimeout,
		workdir:   stateDir,
		stateDir:  stateDir,
	}
	known := map[string]bool{}
	for _, name := range knownSettings() {
		known[name] = true
	}
	names := make([]string, 0, len(cfg.Settings))
	for name := range cfg.Settings {
		names = append(names, name)
	}
	sort.Strings(names) // report the same unknown setting every time
	for _, name := range names {
		if !known[name] {
			return config{}, invalid("unknown setting %q; the known settings are %s", name, strings.Join(knownSettings(), ", "))
		}
	}
	set := func(name string) string { return strings.TrimSpace(cfg.Settings[name]) }

	if v := set("workdir"); v != "" {
		if !filepath.IsAbs(v) {
			v = filepath.Join(stateDir, v)
		}
		c.workdir = filepath.Clean(v)
	}
	// The host made the state directory (0700, or 0770 when warroom shares
	// its files with the group); made here only when run without one.
	if err := fsmode.Private.MkdirAll(stateDir); err != nil {
		return config{}, invalid("state dir: %v", err)
	}
	if c.mode, err = fsmode.Of(stateDir); err != nil {
		return config{}, invalid("state dir: %v", err)
	}
	if fi, err := os.Stat(c.workdir); err != nil || !fi.IsDir() {
		return config{}, invalid("setting workdir: %s is not a directory", c.workdir)
	}
	if v := set("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return config{}, invalid("setting timeout: %q is not a positive duration (write it like 90s or 15m)", v)
		}
		c.timeout = d
	}

	general := set("playbook")
	for _, phase := range phases {
		name := phase + "_playbook"
		path := set(name)
		if path == "" {
			if general == "" {
				continue
			}
			name, path = "playbook", general
			c.shared[phase] = true
		}
		abs, err := c.file(name, path)
		if err != nil {
			return config{}, err
		}
		c.playbooks[phase] = abs
	}
	if len(c.playbooks) == 0 {
		return config{}, invalid("no playbook configured: set playbook (one playbook for every phase, branching on warroom_phase) or a phase's own, such as deploy_playbook")
	}

	c.inventory = filepath.Join(stateDir, inventoryFile)
	if v := set("inventory"); v != "" {
		abs := v
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(c.workdir, abs)
		}
		switch _, err := os.Stat(abs); {
		case err == nil:
			c.inventory = abs
		case strings.Contains(v, ","):
			c.inventory = v // a host list, like "web1,web2," or "localhost,"
		default:
			return config{}, invalid("setting inventory: %s does not exist (a host list needs a comma, like \"host1,\")", abs)
		}
	} else if err := writeFileAtomic(c.mode, c.inventory, []byte(localInventory)); err != nil {
		return config{}, invalid("writing the default inventory: %v", err)
	}

	bin := defaultBinary
	if v := set("ansible_playbook"); v != "" {
		bin = v
	}
	if strings.Contains(bin, "/") && !filepath.IsAbs(bin) {
		bin = filepath.Join(c.workdir, bin)
	}
	if c.binary, err = exec.LookPath(bin); err != nil {
		if bin == defaultBinary {
			return config{}, invalid("ansible-playbook is not on PATH: install ansible-core or set ansible_playbook to its path")
		}
		return config{}, invalid("setting ansible_playbook: %s is not an executable: %v", bin, err)
	}

	if v := set("extra_vars"); v != "" {
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&c.extraVars); err != nil || c.extraVars == nil || dec.More() {
			return config{}, invalid("setting extra_vars: not a JSON object like {\"app_user\": \"deploy\"}")
		}
		for k := range c.extraVars {
			if strings.HasPrefix(k, "warroom_") {
				return config{}, invalid("setting extra_vars: %q: names starting with warroom_ are reserved for the vars warroom passes", k)
			}
		}
	}

	for _, dir := range []string{filepath.Join(stateDir, ansibleDir), filepath.Join(stateDir, callsDir)} {
		if err := c.mode.MkdirAll(dir); err != nil {
			return config{}, invalid("state dir: %v", err)
		}
	}
	return c, nil
}

// file resolves a playbook setting to an existing regular file.
func (c config) file(setting, path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.workdir, path)
	}
	path = filepath.Clean(path)
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return "", invalid("setting %s: playbook %s does not exist", setting, path)
	case !fi.Mode().IsRegular():
		return "", invalid("setting %s: playbook %s is not a file", setting, path)
	}
	return path, nil
}

// environ is the environment of every ansible-playbook run: the runner's
// minimal one, plain output in the default callback's format (which the
// plugin parses, whatever an ansible.cfg says), and every file ansible
// writes for itself under the state dir rather than in ~/.ansible.
func (c config) environ() []string {
	private := filepath.Join(c.stateDir, ansibleDir)
	vars := map[string]string{
		"ANSIBLE_NOCOLOR":                   "1",
		"ANSIBLE_FORCE_COLOR":               "0",
		"ANSIBLE_HOST_KEY_CHECKING":         "False",
		"ANSIBLE_RETRY_FILES_ENABLED":       "False",
		"ANSIBLE_HOME":                      private,
		"ANSIBLE_LOCAL_TEMP":                filepath.Join(private, "tmp"),
		"ANSIBLE_REMOTE_TEMP":               filepath.Join(private, "remote-tmp"),
		"ANSIBLE_STDOUT_CALLBACK":           "default",
		"ANSIBLE_CALLBACK_RESULT_FORMAT":    "json",
		"ANSIBLE_CALLBACK_FORMAT_PRETTY":    "False",
		"ANSIBLE_DISPLAY_OK_HOSTS":          "True",
		"ANSIBLE_DISPLAY_SKIPPED_HOSTS":     "True",
		"ANSIBLE_DISPLAY_FAILED_STDERR":     "False",
		"ANSIBLE_DISPLAY_ARGS_TO_STDOUT":    "False",
		"ANSIBLE_SHOW_TASK_PATH_ON_FAILURE": "False",
		// ansible-playbook does not flush its output: without this, no
		// progress reaches warroom until a buffer fills.
		"PYTHONUNBUFFERED": "1",
	}
	if cp := filepath.Join(private, "cp"); len(cp) <= maxControlPathDir {
		vars["ANSIBLE_SSH_CONTROL_PATH_DIR"] = cp
	}
	return runner.Environ(c.workdir, vars)
}

// writeFileAtomic replaces a file with data, durably; the file gets
// exactly mode's permissions.
func writeFileAtomic(mode fsmode.Mode, path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	f, err := mode.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Configure validates the settings and opens the journal. Called again, it
// replaces the configuration.
func (t *target) Configure(ctx context.Context, cfg sdk.Config) error {
	c, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	j, err := runner.OpenJournal(filepath.Join(c.stateDir, journalFile))
	if err != nil {
		return fmt.Errorf("ansible: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.journal != nil {
		t.journal.Close()
	}
	t.cfg = c
	t.journal = j
	t.configured = true
	return nil
}
