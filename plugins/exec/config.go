package main

import (
	"context"
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

// The phases, which are also the names of the command settings.
const (
	phasePreflight  = "preflight"
	phaseDeploy     = "deploy"
	phaseSetTraffic = "set_traffic"
	phaseVerify     = "verify"
	phaseRollback   = "rollback"
	phaseStatus     = "status"
)

const (
	defaultTimeout = 10 * time.Minute
	defaultShell   = "/bin/sh"
)

const (
	// journalFile is the idempotency journal, in the state dir.
	journalFile = "exec-journal.jsonl"
	// journalOrigin is how Status introduces what the journal says.
	journalOrigin = "the exec plugin's journal, not observed (no status command configured)"
)

// settingSpecs documents every setting the plugin understands; Configure
// refuses any other.
var settingSpecs = []sdk.SettingSpec{
	{Name: phasePreflight, Description: "Shell command for pre-flight checks. Exit 0 passes; `::check NAME pass|fail MESSAGE` lines on stdout report individual checks. Unset: nothing is checked."},
	{Name: phaseDeploy, Description: "Shell command that deploys WARROOM_VERSION of WARROOM_SERVICE. Each stdout line is a progress event; `::progress N` and `::phase NAME` lines set the percentage and phase. Exit 0 is success."},
	{Name: phaseSetTraffic, Description: "Shell command that splits traffic as WARROOM_WEIGHTS says (\"1.4.0=90,1.5.0=10\"). Unset: the target does not shift traffic."},
	{Name: phaseVerify, Description: "Shell command for post-deployment smoke tests, like preflight. WARROOM_CHECKS names the checks asked for."},
	{Name: phaseRollback, Description: "Shell command that rolls WARROOM_SERVICE back to WARROOM_VERSION; reports like deploy. WARROOM_REASON says why."},
	{Name: phaseStatus, Description: "Shell command printing what runs as JSON in the shape of sdk.Status (see the plugin's documentation). Unset: status comes from the plugin's journal."},
	{Name: "workdir", Description: "Directory the commands run in (default: the state dir); a relative path is relative to the state dir."},
	{Name: "timeout", Description: "Time limit of one command, a Go duration (90s, 15m); the command's process group is killed when it passes.", Default: defaultTimeout.String()},
	{Name: "shell", Description: "Shell that runs each command as `SHELL -c COMMAND`.", Default: defaultShell},
}

// config is the validated plugin configuration.
type config struct {
	commands map[string]string // phase -> command; only configured phases
	workdir  string
	timeout  time.Duration
	shell    string
	stateDir string
}

func knownSettings() []string {
	names := make([]string, len(settingSpecs))
	for i, s := range settingSpecs {
		names[i] = s.Name
	}
	return names
}

// parseConfig validates the settings; every refusal is CodeInvalid and
// names the setting.
func parseConfig(cfg sdk.Config) (config, error) {
	if cfg.StateDir == "" {
		return config{}, sdk.Errorf(sdk.CodeInvalid, "exec: no state dir given: the plugin keeps its idempotency journal there")
	}
	stateDir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return config{}, sdk.Errorf(sdk.CodeInvalid, "exec: state dir %s: %v", cfg.StateDir, err)
	}
	c := config{
		commands: map[string]string{},
		workdir:  stateDir,
		timeout:  defaultTimeout,
		shell:    defaultShell,
		stateDir: stateDir,
	}
	known := knownSettings()
	names := make([]string, 0, len(cfg.Settings))
	for name := range cfg.Settings {
		names = append(names, name)
	}
	sort.Strings(names) // report the same unknown setting every time
	for _, name := range names {
		value := cfg.Settings[name]
		switch name {
		case phasePreflight, phaseDeploy, phaseSetTraffic, phaseVerify, phaseRollback, phaseStatus:
			if strings.TrimSpace(value) != "" {
				c.commands[name] = value
			}
		case "workdir":
			if value != "" {
				if !filepath.IsAbs(value) {
					value = filepath.Join(stateDir, value)
				}
				c.workdir = filepath.Clean(value)
			}
		case "timeout":
			if value != "" {
				d, err := time.ParseDuration(value)
				if err != nil || d <= 0 {
					return config{}, sdk.Errorf(sdk.CodeInvalid,
						"exec: setting timeout: %q is not a positive duration (write it like 90s or 15m)", value)
				}
				c.timeout = d
			}
		case "shell":
			if value != "" {
				c.shell = value
			}
		default:
			return config{}, sdk.Errorf(sdk.CodeInvalid, "exec: unknown setting %q; the known settings are %s",
				name, strings.Join(known, ", "))
		}
	}
	// The host made the state directory (0700, or 0770 when warroom shares
	// its files with the group); made here only when run without one.
	if err := fsmode.Private.MkdirAll(stateDir); err != nil {
		return config{}, sdk.Errorf(sdk.CodeInvalid, "exec: state dir: %v", err)
	}
	if fi, err := os.Stat(c.workdir); err != nil || !fi.IsDir() {
		return config{}, sdk.Errorf(sdk.CodeInvalid, "exec: setting workdir: %s is not a directory", c.workdir)
	}
	shell, err := exec.LookPath(c.shell)
	if err != nil {
		return config{}, sdk.Errorf(sdk.CodeInvalid, "exec: setting shell: %s is not an executable: %v", c.shell, err)
	}
	c.shell = shell
	return c, nil
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
		return fmt.Errorf("exec: %w", err)
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
