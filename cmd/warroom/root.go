package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/warroom/warroom/plugins/host"
	"io"
	"os"
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
	actor       string // the audit actor of every write: the resolved identity's (identity.go)
	pluginsFile string
	logFile     string
	metricsAddr string
	shareGroup  bool

	// warned holds the warnings said (once each); stderrIsLog is set
	// while the console sends stderr to the log. Guarded by outMu.
	warned      map[string]bool
	stderrIsLog bool

	// metrics are this process's own (served at --metrics-addr by the
	// long-running commands); metricsServing is guarded by outMu.
	metrics        *warroomMetrics
	metricsServing bool

	outMu sync.Mutex // serialises output of concurrent engines

	// gov is who is acting and under which policy (identity.go).
	gov governance

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
console is also a command with JSON output (-o json) for CI. With no
command, warroom opens the console on the database (it needs a terminal:
without one, exit 2).

Exit codes: 0 ok, 1 error, 2 usage, 3 refused by a gate or policy
(for example a plan with blockers).

Who acts is the OS user, resolved to the person whose logins list it
('warroom whoami'). Once people are declared (a people spec), every
action (apply, deploy start, continue, pause, ...) is decided by the
policy: a refused command exits 3, says who the actor is, what they hold
and what the action needs, writes nothing and audits the refusal
('warroom policy check' explains a decision in advance). With no people
declared, the database is in open mode: anyone may do anything, and every
-o json object says so ("policy": "open"; else "enforced"). The console's
keys are decided the same way (its status line shows a refusal's text; the
refusal is audited), and its header shows who acts and the mode; people or
a policy applied while it is open take effect at once.

An empty or blank value of any flag (--env ''), an empty item of a
comma-separated one (--env ',') and an empty argument are usage errors
(exit 2), never "all": to get a flag's default, leave the flag out.

Only apply and demo create a database, and only apply, demo and migrate
change its schema: every other command that reads it refuses a missing
or empty database file, or one whose schema is older than this
warroom's, and leaves it as it was (exit 1, naming the fix). These run
without one: validate, gen, version, whoami, policy show, policy check
(without --release, --env, --run or --gate), plugins list, plugins check.

The files warroom creates (the database and its -wal and -shm, the log,
the plugins' state) are owner-only, files 0600 and directories 0700,
whatever the umask; --share-group makes them 0660 and 0770. warroom warns
when others may write to the database or a plugin binary.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := checkEmptyInput(cmd, args); err != nil {
				return err
			}
			if err := a.resolveGlobals(cmd); err != nil {
				return err
			}
			return a.resolveIdentity(cmd, args)
		},
		// No command: the console.
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text"); err != nil {
				return err
			}
			return a.openConsole(cmd.Context())
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{plainFlagError(err)} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.dbPath, "db", "", "database file (default $WARROOM_DB, else ./warroom.db)")
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json (graph also: dot, mermaid; gen, serve, demo and the console: text only)")
	pf.StringVar(&a.actor, "as", "", "act for another person: accepted only from a delegate (a person declared delegate: true), and audited as \"DELEGATE for NAME\"; in open mode (no people declared) NAME is taken as given (default: the person whose logins list the OS user)")
	pf.StringVar(&a.pluginsFile, "plugins", "", "plugin configuration, combined with the built-in plugins next to warroom: it adds and overrides by name, and drops a built-in only with disable (default $WARROOM_PLUGINS, else ./warroom-plugins.yaml if it exists, else the built-ins alone)")
	pf.StringVar(&a.metricsAddr, "metrics-addr", "", "serve warroom's metrics at http://HOST:PORT/metrics while a long-running command (deploy start --follow, deploy resume, serve, demo, the console) runs; :PORT means 127.0.0.1:PORT (default $WARROOM_METRICS_ADDR)")
	pf.StringVar(&a.logFile, "log-file", "", "log file, plugins' logs included (default $WARROOM_LOG, else warroom.log next to the database)")
	pf.BoolVar(&a.shareGroup, "share-group", false, "share the files warroom creates (database, log, plugin state) with the group: files 0660, directories 0770, for a war room on one host; without it they are owner-only (0600, 0700) whatever the umask (or set $WARROOM_SHARE_GROUP=1)")

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
		newGateCmd(a),
		newEvidenceCmd(a),
		newDeployCmd(a),
		newServeCmd(a),
		newDemoCmd(a),
		newMigrateCmd(a),
		newVersionCmd(a),
		newWhoamiCmd(a),
		newPolicyCmd(a),
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
	if f := cmd.Flag("share-group"); f == nil || !f.Changed {
		share, err := parseShareGroup(a.getenv("WARROOM_SHARE_GROUP"))
		if err != nil {
			return err
		}
		a.shareGroup = share
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

// writeJSON prints v as indented JSON; an object carries "policy":
// "open" or "enforced" (withPolicyField), so no output is silently
// permissive.
func (a *app) writeJSON(v any) error {
	compact, err := json.Marshal(v)
	if err != nil {
		return err
	}
	out := indentJSON(make([]byte, 0, len(compact)*3/2), compact)
	_, err = a.stdout.Write(withPolicyField(append(out, '\n'), a.policyMode()))
	return err
}

// indentJSON appends src, json.Marshal's compact output, indented as
// json.MarshalIndent(v, "", "  ") would: json.Indent runs the full JSON
// scanner over every byte, which cost 'gate status -o json' of 1,000
// services × 8 gates (5 MB) 20 ms; the output of Marshal needs no
// checking, only its strings told apart. TestIndentJSON holds the two to
// the same bytes.
func indentJSON(dst, src []byte) []byte {
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, ' ', ' ')
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			// Copy the string through its closing quote.
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			dst = append(dst, src[i:min(j+1, len(src))]...)
			i = j
		case '{', '[':
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, c, src[i+1])
				i++
				continue
			}
			dst = append(dst, c)
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
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

// openStore opens the database, creating it if needed and bringing its
// schema up to date: only for the commands that may (apply, demo,
// migrate). Every other command uses openExisting.
func (a *app) openStore(ctx context.Context) (*store.Store, error) {
	s, err := store.Open(ctx, a.dbPath, store.WithMode(a.mode()))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", a.dbPath, err)
	}
	a.checkDBFile()
	return s, nil
}

// openExisting opens the database for every command but apply, demo and
// migrate: it never creates one (a missing or empty file is refused) and
// never changes its schema (an old one is refused, naming the fix).
func (a *app) openExisting(ctx context.Context) (*store.Store, error) {
	s, err := store.OpenExisting(ctx, a.dbPath)
	if err != nil {
		return nil, a.openError(err)
	}
	a.checkDBFile()
	return s, nil
}

// openError says what to do about a database OpenExisting refused.
func (a *app) openError(err error) error {
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		what := "no database at " + a.dbPath
		if fi, serr := os.Stat(a.dbPath); serr == nil && fi.Size() == 0 {
			what = a.dbPath + " is an empty file, not a database"
		}
		return fmt.Errorf("%s: create it with 'warroom apply -f SPEC', or point --db / WARROOM_DB at one", what)
	}
	var se *store.SchemaOutdatedError
	if errors.As(err, &se) {
		if se.Have == 0 {
			return fmt.Errorf("%v: point --db / WARROOM_DB at a warroom database", se)
		}
		return fmt.Errorf("%v: back it up, then upgrade it with 'warroom migrate' (apply -f does it too); warroom never upgrades a database behind your back", se)
	}
	return fmt.Errorf("open database %s: %w", a.dbPath, err)
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

// plainFlagError says what a flag's value should have been instead of
// the parser's words: pflag's `invalid argument "abc" for "--limit"
// flag: strconv.ParseInt: parsing "abc": invalid syntax` becomes
// `invalid argument "abc" for "--limit": want a whole number`.
func plainFlagError(err error) error {
	msg := err.Error()
	head, why, ok := strings.Cut(msg, " flag: ")
	if !ok || !strings.HasPrefix(head, "invalid argument ") {
		return err
	}
	var want string
	switch {
	case strings.HasPrefix(why, "strconv.ParseInt"), strings.HasPrefix(why, "strconv.ParseUint"):
		want = "want a whole number"
		if strings.Contains(why, "value out of range") {
			want = "the number is out of range"
		}
	case strings.HasPrefix(why, "strconv.ParseFloat"):
		want = "want a number such as 0.5"
	case strings.HasPrefix(why, "strconv.ParseBool"):
		want = "want true or false"
	case strings.HasPrefix(why, "time: "):
		want = `want a duration such as "90s", "15m" or "2h30m"`
	default:
		return err
	}
	return fmt.Errorf("%s: %s", head, want)
}
