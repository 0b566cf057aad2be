package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line as docs/spec.md ("Command-line reference") and --help
// describe it: every flag's default said once, and the values the docs
// call usage errors refused with exit 2 before anything is opened or
// written.

// TestHelpStatesOneDefault: a flag whose usage text gives its default in
// words ("(default: the release's, else normal)") must have the zero
// value as pflag's default, or --help prints a second, contradicting
// "(default "normal")" after it.
func TestHelpStatesOneDefault(t *testing.T) {
	root, _ := newRoot(io.Discard, io.Discard, func(string) string { return "" })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			if !strings.Contains(f.Usage, "(default") {
				return
			}
			switch f.DefValue {
			case "", "0", "false", "[]", "0s":
				return
			}
			t.Errorf("%s --%s: usage says %q and pflag's default is %q: --help prints both", c.CommandPath(), f.Name, f.Usage, f.DefValue)
		}
		c.LocalFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// The flag that had two defaults: its help now says the release's.
	create, _, err := root.Find([]string{"change", "create"})
	if err != nil {
		t.Fatal(err)
	}
	if f := create.Flags().Lookup("class"); f == nil || f.DefValue != "" || !strings.Contains(f.Usage, "the release's") {
		t.Errorf("change create --class: %+v", f)
	}
}

// TestFlagValuesRefusedBeforeOpening: each of these is a usage error
// (exit 2) checked before the command opens the database, so with no
// database at all the command exits 2 naming the flag, not 1 for the
// missing database; and gen writes nothing.
func TestFlagValuesRefusedBeforeOpening(t *testing.T) {
	out := filepath.Join(t.TempDir(), "org")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "start", "r", "--wait"}, "--wait only applies with --follow"},
		{[]string{"deploy", "start", "r", "--bake-scale", "-1"}, "--bake-scale"},
		{[]string{"deploy", "start", "r", "--parallel", "-1"}, "--parallel"},
		{[]string{"deploy", "skip", "run-x", "3abc", "--reason", "x"}, "STEP must be a step number"},
		{[]string{"deploy", "retry", "run-x", "2 7"}, "STEP must be a step number"},
		{[]string{"deploy", "retry", "run-x", "+3"}, "STEP must be a step number"},
		{[]string{"serve", "--poll", "0s"}, "--poll must be positive"},
		{[]string{"serve", "--poll", "-1s"}, "--poll must be positive"},
		{[]string{"serve", "-o", "json"}, "-o json is not supported here"},
		{[]string{"audit", "list", "--limit", "-1"}, "--limit must be 0 (all) or more"},
		{[]string{"gen", "--out", out, "--teams", "-1"}, "--teams"},
		{[]string{"gen", "--out", out, "--scope", "0"}, "--scope must be a percent from 1 to 100"},
		{[]string{"gen", "--out", out, "--scope", "101"}, "--scope must be a percent from 1 to 100"},
		{[]string{"gen", "--out", out, "-o", "json"}, "-o json is not supported here"},
		{[]string{"version", "-o", "yaml"}, "-o yaml is not supported here"},
		{[]string{"demo", "-o", "json"}, "-o json is not supported here"},
		{[]string{"-o", "json"}, "-o json is not supported here"}, // the console
		// A value of the wrong type says what was wanted, not the parser.
		{[]string{"audit", "list", "--limit", "abc"}, `invalid argument "abc" for "--limit": want a whole number`},
		{[]string{"audit", "list", "--limit", "99999999999999999999"}, `for "--limit": the number is out of range`},
		{[]string{"deploy", "start", "r", "--bake-scale", "abc"}, `for "--bake-scale": want a number such as 0.5`},
		{[]string{"deploy", "start", "r", "--bake-scale", "NaN"}, "--bake-scale must be a number from 0 (no bake) to 1000"},
		{[]string{"serve", "--poll", "soon"}, `for "--poll": want a duration such as "90s"`},
		{[]string{"demo", "--headless=maybe"}, `for "--headless": want true or false`},
	} {
		c := newCLI(t) // its database is never created
		r := c.run(tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("warroom %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(tc.args, " "), r.code, r.stderr, exitUsage, tc.want)
		}
		if _, err := os.Stat(c.db); !os.IsNotExist(err) {
			t.Errorf("warroom %s: the database exists afterwards (%v)", strings.Join(tc.args, " "), err)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("gen refused, yet %s exists (%v)", out, err)
	}
	// The bounds themselves are accepted.
	c := newCLI(t)
	c.ok("gen", "--out", out, "--services", "5", "--scope", "100", "--teams", "0")
	if _, err := os.Stat(out); err != nil {
		t.Errorf("gen --scope 100: %v", err)
	}
	if got := c.ok("version", "-o", "json"); !json.Valid([]byte(got)) {
		t.Errorf("version -o json: %q", got)
	}
}

// TestDeployStartWaitWithoutFollowStartsNothing: --wait without --follow
// used to be ignored, the run started and exit 0; it is a usage error
// and no run is recorded.
func TestDeployStartWaitWithoutFollowStartsNothing(t *testing.T) {
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	r := c.run("deploy", "start", "storefront-2026-12", "--env", "dev", "--wait")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--wait only applies with --follow") {
		t.Fatalf("deploy start --wait: exit %d, stderr %q", r.code, r.stderr)
	}
	var events []struct {
		Command string `json:"command"`
	}
	c.json(&events, "audit", "list", "--command", "deploy start")
	if len(events) != 0 {
		t.Errorf("deploy start --wait was refused, yet the audit trail has %d deploy start events", len(events))
	}
	// The same query finds what was written: the apply.
	c.json(&events, "audit", "list", "--command", "apply")
	if len(events) == 0 {
		t.Error("audit list --command apply finds no event: the query above proves nothing")
	}
}
