package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/plugins/conformance"
	"github.com/warroom/warroom/plugins/host"
)

// newPluginsCheckCmd is `warroom plugins check PATH`: the conformance
// suite against any plugin binary, in a sandbox.
func newPluginsCheckCmd(a *app) *cobra.Command {
	var (
		sets    []string
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:   "check PATH [--set NAME=VALUE]...",
		Short: "Run the conformance suite against a plugin binary",
		Long: `Launches the plugin binary at PATH in a sandbox (a fresh temporary state
directory, only the settings given with --set) and runs the conformance
suite against it: what every plugin must do, then the contract of each
provider kind it declares. Prints PASS, FAIL or SKIP per check and a
summary; a plugin that crashes, hangs or answers nonsense fails the checks
it touches, naming the fault. Checks that deploy or file changes run only
in the sandbox.

Launching a path is an explicit choice, so the binary need not be trusted
first; its checksum is still verified right before it is executed. The
plugin gets the environment warroom gives every plugin (PATH, HOME, USER,
LANG, TZ, TMPDIR...), its logs go to warroom's log file (--log-file), never
to the screen, and its process is killed when the suite ends, also on
Ctrl-C.

Exit codes: 0 every check passed, 1 a check failed, 2 usage.`,
		Example: `  warroom plugins check bin/plugins/exec --set deploy='./deploy.sh'
  warroom plugins check ./my-target --set root=/tmp/deployments -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			settings, err := parseSettings(sets)
			if err != nil {
				return err
			}
			if timeout <= 0 {
				return usageError{fmt.Errorf("--timeout must be positive, not %s", timeout)}
			}
			path := args[0]
			if fi, err := os.Stat(path); err != nil || fi.IsDir() {
				return fmt.Errorf("no plugin binary at %s: build it first (go build -o %s ./path/to/plugin)", path, path)
			}
			logs, err := a.openLog()
			if err != nil {
				return err
			}
			defer logs.Close()
			var env []string
			for _, k := range pluginEnv {
				if v := a.getenv(k); v != "" {
					env = append(env, k+"="+v)
				}
			}
			rep := conformance.Check(cmd.Context(), path, conformance.Options{
				Settings:     settings,
				CallTimeout:  timeout,
				CheckTimeout: checkTimeout(timeout),
				Env:          env,
				LogWriter:    logs,
			})
			if a.json() {
				rep.Checks = orEmpty(rep.Checks)
				if err := a.writeJSON(rep); err != nil {
					return err
				}
			} else if err := printReport(a.stdout, rep); err != nil {
				return err
			}
			if cmd.Context().Err() != nil {
				fmt.Fprintln(a.stderr, "warroom: interrupted; the plugin was stopped")
			}
			if !rep.Passed {
				fmt.Fprintf(a.stderr, "warroom: the plugin's log is in %s\n", a.logFile)
				return silentExit(exitError)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringArrayVar(&sets, "set", nil, "a setting for the plugin, NAME=VALUE (repeatable)")
	f.DurationVar(&timeout, "timeout", host.DefaultTimeout, "deadline of each call to the plugin")
	return c
}

// parseSettings reads --set NAME=VALUE flags.
func parseSettings(sets []string) (map[string]string, error) {
	settings := make(map[string]string, len(sets))
	for _, s := range sets {
		name, value, ok := strings.Cut(s, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, usageError{fmt.Errorf("--set %q: write it as NAME=VALUE", s)}
		}
		if _, dup := settings[name]; dup {
			return nil, usageError{fmt.Errorf("--set %s is given twice", name)}
		}
		settings[name] = value
	}
	return settings, nil
}

// checkTimeout bounds one check: it makes a few calls, each bounded by
// the call deadline, and may start the plugin again after a fault.
func checkTimeout(call time.Duration) time.Duration {
	return 4*call + host.DefaultStartTimeout
}

// printReport writes the human report: one line per check, then a
// summary.
func printReport(w io.Writer, rep conformance.Report) error {
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	// A message of several lines (a script's stderr) stays under its
	// check.
	indent := "\n" + strings.Repeat(" ", 4+2+width+2)
	var b strings.Builder
	passed, skipped := 0, 0
	for _, c := range rep.Checks {
		verdict := "FAIL"
		switch {
		case c.Skipped:
			verdict = "SKIP"
			skipped++
		case c.Passed:
			verdict = "PASS"
			passed++
		}
		msg := strings.ReplaceAll(strings.TrimRight(c.Message, "\n"), "\n", indent)
		fmt.Fprintf(&b, "%s  %-*s  %s\n", verdict, width, c.Name, msg)
	}
	failed := len(rep.Checks) - passed - skipped
	if failed > 0 || !rep.Passed {
		fmt.Fprintf(&b, "\n%s: FAIL: %d of %d checks failed (%d passed, %d skipped)\n", rep.Plugin, failed, len(rep.Checks), passed, skipped)
	} else {
		fmt.Fprintf(&b, "\n%s: PASS: %d checks passed (%d skipped)\n", rep.Plugin, passed+skipped, skipped)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
