package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/store"
)

// The store keeps the checksums operators trusted.
var _ host.TrustStore = (*store.Store)(nil)

// defaultPluginsFile is the plugin configuration used when it exists in
// the working directory and neither --plugins nor $WARROOM_PLUGINS says
// otherwise.
const defaultPluginsFile = "warroom-plugins.yaml"

// pluginEnv is what plugins get of warroom's environment: enough to run
// tools (the exec plugin runs shell commands), nothing else. Credentials a
// plugin needs are named in its settings.
var pluginEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"}

func (a *app) resolvePluginGlobals(cmd *cobra.Command) {
	// Faults this process records name it, for the people reading them
	// in another process.
	name := "warroom"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	hostname, _ := os.Hostname()
	a.plugins.process = fmt.Sprintf("%s (pid %d on %s)", name, os.Getpid(), hostname)
	if a.pluginsFile == "" {
		a.pluginsFile = a.getenv("WARROOM_PLUGINS")
	}
	if a.pluginsFile == "" {
		if _, err := os.Stat(defaultPluginsFile); err == nil {
			a.pluginsFile = defaultPluginsFile
		}
	}
	if a.logFile == "" {
		a.logFile = a.getenv("WARROOM_LOG")
	}
	if a.logFile == "" {
		a.logFile = filepath.Join(filepath.Dir(a.dbPath), "warroom.log")
	}
}

// pluginConfig is the built-in plugins in the plugins directory next to
// the warroom binary (bin/plugins after make build), combined with the
// configuration file when there is one: the file adds plugins and
// overrides built-ins by name, and drops a built-in only where it says
// so (disable).
func (a *app) pluginConfig() (*host.Config, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return nil, fmt.Errorf("find the built-in plugins: %w", err)
	}
	cfg := host.DefaultConfig(filepath.Join(filepath.Dir(exe), "plugins"))
	// The command's settings replace the built-ins' defaults...
	a.applyCommandSettings(cfg, true)
	if a.pluginsFile == "" {
		return cfg, nil
	}
	if cfg, err = host.LoadConfig(a.pluginsFile, cfg); err != nil {
		return nil, err
	}
	// ...but not what the configuration file sets.
	a.applyCommandSettings(cfg, false)
	return cfg, nil
}

// applyCommandSettings sets the settings a command gives plugins by name
// (the demo's faulty version); override says whether they replace what
// the configuration already sets.
func (a *app) applyCommandSettings(cfg *host.Config, override bool) {
	for i, p := range cfg.Plugins {
		for k, v := range a.plugins.settings[p.Name] {
			if cfg.Plugins[i].Settings == nil {
				cfg.Plugins[i].Settings = map[string]string{}
			}
			if _, set := cfg.Plugins[i].Settings[k]; set && !override {
				continue
			}
			cfg.Plugins[i].Settings[k] = v
		}
	}
}

// pluginRuntime is an app's plugin host with what it holds open: the
// database it reads trusted checksums from and the log file.
type pluginRuntime struct {
	// settings are set on plugins by the command (the demo's faulty
	// version), before the host starts; a configuration file's own
	// settings win.
	settings map[string]map[string]string
	// process names this process in the plugin faults it records.
	process string

	mu     sync.Mutex
	closed bool
	host   *host.Host
	store  *store.Store
	log    *os.File
}

// pluginHost returns the app's plugin host, creating it on first use.
func (a *app) pluginHost(ctx context.Context) (*host.Host, error) {
	r := &a.plugins
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("warroom is stopping: plugins are not started any more")
	}
	if r.host != nil {
		return r.host, nil
	}
	cfg, err := a.pluginConfig()
	if err != nil {
		return nil, err
	}
	opts := host.Options{StateDir: filepath.Join(filepath.Dir(a.dbPath), "plugin-state"), Mode: a.mode(), Warn: a.warn}
	for _, k := range pluginEnv {
		if v := a.getenv(k); v != "" {
			opts.Env = append(opts.Env, k+"="+v)
		}
	}
	// Without a database nobody trusted anything yet: only the build's
	// checksums count, and listing plugins must not create a database.
	s, err := store.OpenExisting(ctx, a.dbPath)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
	case err != nil:
		return nil, a.openError(err)
	default:
		a.checkDBFile()
		r.store, opts.Trust, opts.Faults = s, s, storeFaults{s}
	}
	opts.Process = r.process
	if r.log, err = a.openLog(); err != nil {
		a.closePluginsLocked()
		return nil, err
	}
	opts.LogWriter = r.log
	if r.host, err = host.New(cfg, opts); err != nil {
		a.closePluginsLocked()
		return nil, err
	}
	return r.host, nil
}

// closePlugins stops every plugin process and waits for them; nothing is
// started after it. It is safe to call more than once and concurrently.
func (a *app) closePlugins() {
	a.plugins.mu.Lock()
	defer a.plugins.mu.Unlock()
	a.plugins.closed = true
	a.closePluginsLocked()
}

func (a *app) closePluginsLocked() {
	r := &a.plugins
	if r.host != nil {
		r.host.Close()
		r.host = nil
	}
	if r.store != nil {
		r.store.Close()
		r.store = nil
	}
	if r.log != nil {
		r.log.Close()
		r.log = nil
	}
}

func newPluginsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Provider plugins: list them, trust their binaries",
		Long: `Provider plugins are the programs warroom deploys, monitors and files
tickets through. The built-in plugins are those next to the warroom binary
(plugins/: exec, tickets-local, localfleet, scrape). A configuration file
(--plugins, $WARROOM_PLUGINS, ./warroom-plugins.yaml) adds plugins and
overrides built-ins by name (settings merged key by key); it drops a
built-in only with 'disable: [NAME]'. 'canary_judge: NAME' names the
monitoring source that judges canaries (default: scrape when configured);
without one a canary step fails pre-flight, unless the file says
'canary_judge: none'. See docs/plugins.md.

A plugin binary runs only if its SHA-256 is trusted: by an operator with
'warroom plugins trust NAME' (recorded in the database and audited), or by
the SHA256SUMS file 'make build' writes next to the binaries it built.`,
	}
	cmd.AddCommand(newPluginsListCmd(a), newPluginsTrustCmd(a), newPluginsUntrustCmd(a), newPluginsCheckCmd(a))
	return cmd
}

func newPluginsListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the configured plugins: version, trust and health",
		Long: `List the configured plugins. Trusted plugins that are not running are
started to learn their version and health, and stopped again when the
command ends. LAST ERROR is the plugin's last fault recorded in the
database, whichever warroom process saw it (when, and which process), or
else this process's; -o json gives it as last_fault, and each plugin's
origin (built-in, file, or "built-in, overridden by file"). Exit status 0
whatever their health.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			h, err := a.pluginHost(cmd.Context())
			if err != nil {
				return err
			}
			statuses := h.List(cmd.Context())
			if err := cmd.Context().Err(); err != nil {
				return fmt.Errorf("plugins list: %w", err)
			}
			faults, err := a.recordedFaults(cmd.Context())
			if err != nil {
				return fmt.Errorf("plugins list: %w", err)
			}
			list := withRecordedFaults(statuses, faults)
			if a.json() {
				return a.writeJSON(orEmpty(list))
			}
			if len(list) == 0 {
				fmt.Fprintln(a.stdout, "no plugins configured: write a warroom-plugins.yaml, or run 'make build' for the built-in ones")
				return nil
			}
			return a.table("NAME\tKINDS\tVERSION\tTRUSTED\tHEALTHY\tLAST ERROR", func(row func(...any)) {
				for _, s := range list {
					kinds := make([]string, len(s.Kinds))
					for i, k := range s.Kinds {
						kinds[i] = string(k)
					}
					trusted := "no"
					if s.Trusted {
						trusted = "yes (" + s.TrustSource + ")"
					}
					row(s.Name, strings.Join(kinds, ","), dash(s.Version), trusted, yesNo(s.Healthy), dash(oneLine(s.LastError)))
				}
			})
		},
	}
}

// storeFaults keeps the plugins' faults in the store, where every
// process sees them.
type storeFaults struct{ s *store.Store }

func (f storeFaults) RecordFault(ctx context.Context, r host.FaultRecord) error {
	return f.s.RecordPluginFault(ctx, store.PluginFault{Name: r.Plugin, Fault: string(r.Fault), Call: r.Call,
		Message: r.Message, At: r.At, Process: r.Process})
}

// listedPlugin is one plugin of plugins list -o json: the host's report,
// with the last fault any process recorded.
type listedPlugin struct {
	host.Status
	// LastFault is the plugin's last fault as the store has it, seen by
	// this process or another; nil when none was recorded.
	LastFault *store.PluginFault `json:"last_fault"`
}

// withRecordedFaults adds the faults recorded in the store to the host's
// report. A recorded fault replaces what this process knows (it recorded
// its own faults there too), except a binary untrusted now: that is the
// present, not history.
func withRecordedFaults(list []host.Status, faults map[string]store.PluginFault) []listedPlugin {
	out := make([]listedPlugin, len(list))
	for i, st := range list {
		out[i].Status = st
		f, ok := faults[st.Name]
		if !ok {
			continue
		}
		out[i].LastFault = &f
		if st.Fault != host.FaultUntrusted {
			out[i].LastError = describeFault(f)
			out[i].Fault = host.Fault(f.Fault)
		}
	}
	return out
}

// describeFault is a recorded fault in one line: what, when, seen by whom.
func describeFault(f store.PluginFault) string {
	return fmt.Sprintf("%s (at %s, seen by %s)", f.Message, f.At.UTC().Format("2006-01-02 15:04:05 UTC"), f.Process)
}

// recordedFaults reads the faults the store holds; none without a
// database.
func (a *app) recordedFaults(ctx context.Context) (map[string]store.PluginFault, error) {
	if _, err := a.pluginHost(ctx); err != nil {
		return nil, err
	}
	a.plugins.mu.Lock()
	s := a.plugins.store // the host's: nil without a database
	a.plugins.mu.Unlock()
	if s == nil {
		return nil, nil
	}
	return s.PluginFaults(ctx)
}

// oneLine keeps a table row on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func newPluginsTrustCmd(a *app) *cobra.Command {
	var sum string
	cmd := &cobra.Command{
		Use:   "trust NAME",
		Short: "Trust the binary of a configured plugin (audited)",
		Long: `Record the SHA-256 of a configured plugin's binary as trusted, so that
warroom runs it. Check the binary first: a trusted plugin runs with your
rights. The checksum is computed from the configured binary, or given with
--sha256 (to trust a build before it is installed). It replaces the
checksums trusted before for that plugin. Recorded in the database and in
the audit trail.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			return a.trustPlugin(cmd.Context(), args[0], sum)
		},
	}
	cmd.Flags().StringVar(&sum, "sha256", "", "the checksum to trust (hex), instead of the configured binary's")
	return cmd
}

func (a *app) trustPlugin(ctx context.Context, name, sum string) error {
	cfg, err := a.pluginConfig()
	if err != nil {
		return err
	}
	pc, ok := cfg.Plugin(name)
	if !ok {
		return notConfigured(cfg, name)
	}
	current, cerr := host.Checksum(pc.Path)
	switch {
	case sum == "" && cerr != nil:
		return fmt.Errorf("plugins trust %s: %w", name, cerr)
	case sum == "":
		sum = current
	case !sha256Hex.MatchString(sum):
		return usageError{fmt.Errorf("--sha256 %q is not a SHA-256 (64 hex digits)", sum)}
	default:
		sum = strings.ToLower(sum)
		if cerr == nil && current != sum {
			fmt.Fprintf(a.stderr, "note: %s has sha256 %s now, not the one trusted; it will not run until they match\n", pc.Path, current)
		}
	}
	s, err := a.openExisting(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	var previous []string
	ev, err := s.Write(ctx, a.actor, "plugins trust", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		if previous, err = tx.TrustedChecksums(ctx, name); err != nil {
			return store.Change{}, err
		}
		if len(previous) == 1 && previous[0] == sum {
			return store.Change{}, nil // already exactly that
		}
		if _, err := tx.UntrustPlugin(ctx, name); err != nil {
			return store.Change{}, err
		}
		if err := tx.TrustPlugin(ctx, name, sum, pc.Path, a.actor); err != nil {
			return store.Change{}, err
		}
		return store.Change{
			Summary: fmt.Sprintf("trusted plugin %s: sha256 %s", name, sum),
			Payload: trustPayload{Name: name, Path: pc.Path, SHA256: sum, Previous: orEmpty(previous)},
		}, nil
	})
	if err != nil {
		return fmt.Errorf("plugins trust %s: %w", name, err)
	}
	if a.json() {
		out := struct {
			trustPayload
			Changed bool  `json:"changed"`
			Audit   int64 `json:"audit_seq,omitempty"`
		}{trustPayload{name, pc.Path, sum, orEmpty(previous)}, ev != nil, 0}
		if ev != nil {
			out.Audit = ev.Seq
		}
		return a.writeJSON(out)
	}
	if ev == nil {
		fmt.Fprintf(a.stdout, "plugin %s is already trusted with sha256 %s\n", name, sum)
		return nil
	}
	fmt.Fprintf(a.stdout, "trusted plugin %s (%s): sha256 %s\n", name, pc.Path, sum)
	return nil
}

// trustPayload is the audit payload of plugins trust.
type trustPayload struct {
	Name     string   `json:"name"`
	Path     string   `json:"path"`
	SHA256   string   `json:"sha256"`
	Previous []string `json:"previous"`
}

func notConfigured(cfg *host.Config, name string) error {
	where := "the built-in plugins"
	if cfg.File != "" {
		where = cfg.File
	}
	known := "none"
	if names := cfg.Names(); len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	return fmt.Errorf("plugin %q is not configured in %s (configured: %s)", name, where, known)
}

func newPluginsUntrustCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "untrust NAME",
		Short: "Revoke every trusted checksum of a plugin (audited)",
		Long: `Revoke the checksums operators trusted for a plugin, so that warroom no
longer runs it. A binary listed in the SHA256SUMS its build wrote stays
trusted by the build: remove it, or the file, to stop it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			return a.untrustPlugin(cmd.Context(), args[0])
		},
	}
}

func (a *app) untrustPlugin(ctx context.Context, name string) error {
	var revoked []string
	var ev bool
	s, err := store.OpenExisting(ctx, a.dbPath)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		// Nothing was ever trusted.
	case err != nil:
		return a.openError(err)
	default:
		defer s.Close()
		e, err := s.Write(ctx, a.actor, "plugins untrust", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
			var err error
			if revoked, err = tx.TrustedChecksums(ctx, name); err != nil || len(revoked) == 0 {
				return store.Change{}, err
			}
			if _, err := tx.UntrustPlugin(ctx, name); err != nil {
				return store.Change{}, err
			}
			return store.Change{
				Summary: fmt.Sprintf("untrusted plugin %s: %d %s revoked", name, len(revoked), plural(len(revoked), "checksum", "checksums")),
				Payload: map[string]any{"name": name, "revoked": revoked},
			}, nil
		})
		if err != nil {
			return fmt.Errorf("plugins untrust %s: %w", name, err)
		}
		ev = e != nil
	}
	if a.json() {
		return a.writeJSON(map[string]any{"name": name, "revoked": orEmpty(revoked), "changed": ev})
	}
	if !ev {
		fmt.Fprintf(a.stdout, "plugin %s had no trusted checksum in the database\n", name)
	} else {
		fmt.Fprintf(a.stdout, "untrusted plugin %s: revoked %s\n", name, strings.Join(revoked, ", "))
	}
	if cfg, err := a.pluginConfig(); err == nil {
		if pc, ok := cfg.Plugin(name); ok {
			sums := filepath.Join(filepath.Dir(pc.Path), host.BuildSumsFile)
			if _, err := os.Stat(sums); err == nil {
				fmt.Fprintf(a.stderr, "note: %s may still trust the binary through its build's %s\n", name, sums)
			}
		}
	}
	return nil
}
