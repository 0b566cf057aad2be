package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/warroom/warroom/plugins/host"
	"io"
	"os/user"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// app is what every command shares: the global flags and the output.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	dbPath      string
	output      string
	actor       string
	pluginsFile string
	logFile     string
	metricsAddr string

	// metrics are this process's own (served at --metrics-addr by the
	// long-running commands); metricsServing is guarded by outMu.
	metrics        *warroomMetrics
	metricsServing bool

	outMu sync.Mutex // serialises output of concurrent engines

	// plugins is the plugin host, started on first use; run closes it.
	plugins pluginRuntime

	// alerts are the host's alert-serving monitoring sources, made once
	// per host (alertSources).
	alertsMu   sync.Mutex
	alerts     *pluginAlerts
	alertsHost *host.Host
}

// newRoot returns the command tree and the app its commands share, which
// the caller must close (app.closePlugins) when the command ends.
func newRoot(stdout, stderr io.Writer, getenv func(string) string) (*cobra.Command, *app) {
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv, metrics: newWarroomMetrics()}
	root := &cobra.Command{
		Use:   "warroom",
		Short: "The terminal command centre for release day",
		Long: `warroom puts the release calendar, the dependency graph, quality gates,
deployment waves and canary judgement in one console. Every action of the
console is also a command with JSON output (-o json) for CI.

Exit codes: 0 ok, 1 error, 2 usage, 3 refused by a gate or policy
(for example a plan with blockers).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.resolveGlobals(cmd)
		},
		// No command: the console.
		RunE: func(cmd *cobra.Command, args []string) error { return a.openConsole(cmd.Context()) },
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.dbPath, "db", "", "database file (default $WARROOM_DB, else ./warroom.db)")
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json (graph also: dot, mermaid)")
	pf.StringVar(&a.actor, "as", "", "who is acting, for the audit trail (default: the OS user)")
	pf.StringVar(&a.pluginsFile, "plugins", "", "plugin configuration, combined with the built-in plugins next to warroom: it adds and overrides by name, and drops a built-in only with disable (default $WARROOM_PLUGINS, else ./warroom-plugins.yaml if it exists, else the built-ins alone)")
	pf.StringVar(&a.metricsAddr, "metrics-addr", "", "serve warroom's metrics at http://HOST:PORT/metrics while a long-running command (deploy start --follow, deploy resume, serve, demo) runs; :PORT means 127.0.0.1:PORT (default $WARROOM_METRICS_ADDR)")
	pf.StringVar(&a.logFile, "log-file", "", "log file, plugins' logs included (default $WARROOM_LOG, else warroom.log next to the database)")

	root.AddCommand(
		newValidateCmd(a),
		newApplyCmd(a),
		newPlanCmd(a),
		newGraphCmd(a),
		newReleaseCmd(a),
		newEnvCmd(a),
		newServiceCmd(a),
		newAuditCmd(a),
		newGenCmd(a),
		newPluginsCmd(a),
		newChangeCmd(a),
		newDeployCmd(a),
		newServeCmd(a),
		newDemoCmd(a),
		newVersionCmd(a),
	)
	return root, a
}

// usageError marks a command-line mistake (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.Contains(msg, "accepts ") || strings.HasPrefix(msg, "required flag")
}

func (a *app) resolveGlobals(cmd *cobra.Command) error {
	if a.dbPath == "" {
		a.dbPath = a.getenv("WARROOM_DB")
	}
	if a.dbPath == "" {
		a.dbPath = "warroom.db"
	}
	if a.actor == "" {
		a.actor = osUser(a.getenv)
	}
	a.resolvePluginGlobals(cmd)
	if a.metricsAddr == "" {
		a.metricsAddr = a.getenv("WARROOM_METRICS_ADDR")
	}
	if a.metricsAddr != "" {
		addr, err := parseMetricsAddr(a.metricsAddr)
		if err != nil {
			return err
		}
		a.metricsAddr = addr
	}
	return nil
}

// checkOutput refuses an output format the command does not write.
func (a *app) checkOutput(formats ...string) error {
	for _, f := range formats {
		if a.output == f {
			return nil
		}
	}
	return usageError{fmt.Errorf("-o %s is not supported here: use one of %s", a.output, strings.Join(formats, ", "))}
}

func (a *app) json() bool { return a.output == "json" }

// writeJSON prints v as indented JSON.
func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func osUser(getenv func(string) string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// openStore opens (creating if needed) the database.
func (a *app) openStore(ctx context.Context) (*store.Store, error) {
	s, err := store.Open(ctx, a.dbPath)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", a.dbPath, err)
	}
	return s, nil
}

// openExisting opens the database for reading, refusing to create one.
func (a *app) openExisting(ctx context.Context) (*store.Store, error) {
	s, err := store.OpenExisting(ctx, a.dbPath)
	if errors.Is(err, store.ErrNoDatabase) {
		return nil, fmt.Errorf("no database at %s: create it with 'warroom apply -f SPEC' or point --db / WARROOM_DB at one", a.dbPath)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", a.dbPath, err)
	}
	return s, nil
}

// orgCommand makes c a read-only command over the stored organisation
// that prints text or JSON.
func (a *app) orgCommand(c *cobra.Command, run func(cmd *cobra.Command, org *model.Org, args []string) error) *cobra.Command {
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := a.checkOutput("text", "json"); err != nil {
			return err
		}
		org, err := a.loadOrg(cmd)
		if err != nil {
			return err
		}
		return run(cmd, org, args)
	}
	return c
}

// loadOrg reads the organisation from the database.
func (a *app) loadOrg(cmd *cobra.Command) (*model.Org, error) {
	s, err := a.openExisting(cmd.Context())
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Org(cmd.Context())
}

// table prints rows under a header, columns aligned.
func (a *app) table(header string, rows func(row func(cols ...any))) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(func(cols ...any) {
		for i, c := range cols {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	})
	return tw.Flush()
}

// orEmpty keeps JSON arrays from printing as null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
