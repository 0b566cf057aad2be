package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runBin runs the real warroom binary in dir with env (and nothing of the
// test's own environment but PATH and HOME); a minute at most.
func runBin(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runProg(t, dir, env, warroomBin, args...)
}

// runProg runs the program name (a minute at most).
func runProg(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run warroom %q: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

// walkCommands calls fn for every runnable command of the tree.
func walkCommands(c *cobra.Command, fn func(*cobra.Command)) {
	if c.Runnable() {
		fn(c)
	}
	for _, sub := range c.Commands() {
		walkCommands(sub, fn)
	}
}

// minArgs returns the fewest placeholder positional arguments (at least
// least) that c accepts, or false.
func minArgs(c *cobra.Command, least int) ([]string, bool) {
	for n := least; n <= 4; n++ {
		args := slices.Repeat([]string{"1"}, n) // "1" is a run, a step, a name
		if c.ValidateArgs(args) == nil {
			return args, true
		}
	}
	return nil, false
}

// path is c's command line words after "warroom".
func path(c *cobra.Command) []string {
	return strings.Fields(c.CommandPath())[1:]
}

// TestEmptyFlagValues walks the whole command tree and gives every flag an
// empty and a blank value (comma-separated ones also empty items), through
// the real binary: each must be refused with exit 2, naming the flag. A
// new flag is covered the day it is added; one whose empty value means
// something must be marked allowEmpty and listed here.
func TestEmptyFlagValues(t *testing.T) {
	root, _ := newRoot(io.Discard, io.Discard, func(string) string { return "" })
	dir := t.TempDir()
	env := []string{"WARROOM_DB=" + filepath.Join(dir, "none.db"), "WARROOM_PLUGINS=", "WARROOM_LOG=" + filepath.Join(dir, "warroom.log")}

	wantAllowed := map[string]bool{"demo --faults": true}
	allowed := map[string]bool{}
	seen := map[*pflag.Flag]bool{}
	cases := 0
	walkCommands(root, func(c *cobra.Command) {
		args, ok := minArgs(c, 0)
		if !ok {
			t.Errorf("%s: no placeholder arguments accepted", c.CommandPath())
			return
		}
		visit := func(f *pflag.Flag) {
			if seen[f] {
				return // a persistent flag: one command is enough, the check is the same
			}
			seen[f] = true
			where := strings.Join(append(path(c), "--"+f.Name), " ")
			if _, ok := f.Annotations[annotAllowEmpty]; ok {
				allowed[where] = true
				return
			}
			values := []string{"", " ", "\t"}
			if _, ok := f.Annotations[annotCommaList]; ok {
				values = append(values, ",", " , ", "a,,b", "a, ", ",a")
			}
			for _, v := range values {
				cases++
				cmdline := append(append(path(c), args...), "--"+f.Name+"="+v)
				r := runBin(t, dir, env, cmdline...)
				if r.code != exitUsage || !strings.Contains(r.stderr, "--"+f.Name) {
					t.Errorf("warroom %q: exit %d, want 2 naming --%s\nstderr: %s", cmdline, r.code, f.Name, r.stderr)
				}
			}
		}
		c.LocalFlags().VisitAll(visit)
		c.InheritedFlags().VisitAll(visit)
	})
	if len(seen) < 30 {
		t.Errorf("walked %d flags: the tree walk is broken", len(seen))
	}
	for w := range allowed {
		if !wantAllowed[w] {
			t.Errorf("%s accepts an empty value: if that is right, add it to wantAllowed and say why in its help", w)
		}
	}
	for w := range wantAllowed {
		if !allowed[w] {
			t.Errorf("%s is no longer marked allowEmpty: update wantAllowed", w)
		}
	}
	t.Logf("%d flags, %d empty values refused", len(seen), cases)
}

// TestEmptyArguments: an empty or blank positional argument of any
// command is a usage error (exit 2), never an empty name looked up, or
// "all".
func TestEmptyArguments(t *testing.T) {
	root, _ := newRoot(io.Discard, io.Discard, func(string) string { return "" })
	dir := t.TempDir()
	env := []string{"WARROOM_DB=" + filepath.Join(dir, "none.db"), "WARROOM_PLUGINS=", "WARROOM_LOG=" + filepath.Join(dir, "warroom.log")}
	n := 0
	walkCommands(root, func(c *cobra.Command) {
		args, ok := minArgs(c, 1)
		if !ok || c.HasSubCommands() {
			return // takes no arguments (warroom itself: its words are commands)
		}
		for i := range args {
			for _, blank := range []string{"", " "} {
				a := slices.Clone(args)
				a[i] = blank
				cmdline := append(path(c), a...)
				r := runBin(t, dir, env, cmdline...)
				n++
				if r.code != exitUsage || !strings.Contains(r.stderr, "is empty") {
					t.Errorf("warroom %q: exit %d, want 2 (empty argument)\nstderr: %s", cmdline, r.code, r.stderr)
				}
			}
		}
	})
	if n < 10 {
		t.Errorf("only %d commands with arguments walked", n)
	}
}

// TestEmptyEnvNeverWidensDeploy is the case that started it: a deploy
// start with an empty --env must not start a run, and the database is
// left as it was.
func TestEmptyEnvNeverWidensDeploy(t *testing.T) {
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	var rels []struct{ Name string }
	c.json(&rels, "release", "list")
	before, err := os.ReadFile(c.db)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", ",", " ", " , ", "staging,"} {
		r := c.run("deploy", "start", rels[0].Name, "--env", v)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--env") {
			t.Errorf("deploy start --env %q: exit %d, want 2\nstdout: %s\nstderr: %s", v, r.code, r.stdout, r.stderr)
		}
	}
	if r := c.run("deploy", "status", "-o", "json"); r.code == 0 {
		t.Errorf("a run exists after refused starts:\n%s", r.stdout)
	}
	after, err := os.ReadFile(c.db)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the database changed")
	}
}
