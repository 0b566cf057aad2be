package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/warroom/warroom/store"
)

// warroomBin is the binary built once for the tests that need a real
// process (several processes on one database).
var warroomBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "warroom-cmd-test")
	if err != nil {
		panic(err)
	}
	warroomBin = filepath.Join(dir, "warroom")
	build := exec.Command("go", "build", "-o", warroomBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build warroom: " + err.Error())
	}
	code := m.Run()
	if !fleetsEnded() {
		code = 1
	}
	os.RemoveAll(dir)
	// The binaries built once for all the tests.
	if fleetBin != "" {
		os.RemoveAll(filepath.Dir(fleetBin))
	}
	for _, bin := range pluginBuilds {
		os.RemoveAll(filepath.Dir(filepath.Dir(bin)))
	}
	// The generated organisation of the engine and console benchmarks.
	if engineOrg.dir != "" {
		os.RemoveAll(engineOrg.dir)
	}
	os.Exit(code)
}

// result is one command's outcome.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs warroom in-process with a database of its own.
type cli struct {
	t  *testing.T
	db string
	// asLogin: act as the OS login, without --as tester (which only a
	// delegate may give once people are declared): for the demo's
	// database, where the OS login is the demo's captain (demoCLI).
	asLogin bool
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	return &cli{t: t, db: filepath.Join(t.TempDir(), "warroom.db")}
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "WARROOM_DB" {
			return c.db
		}
		return ""
	}
	if !c.asLogin {
		args = append([]string{"--as", "tester"}, args...)
	}
	code := run(context.Background(), args, &out, &errb, env)
	return result{code, out.String(), errb.String()}
}

// initDB creates the CLI's database, empty, as an organisation's first
// apply would (only apply, demo and migrate create or upgrade one).
func (c *cli) initDB() {
	c.t.Helper()
	s, err := store.Open(context.Background(), c.db)
	if err != nil {
		c.t.Fatal(err)
	}
	s.Close()
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("warroom %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func (c *cli) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("warroom %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// repo is the repository root, for testdata.
func repo(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", ".."}, parts...)...)
}

// isCI reports whether the tests run in CI, where a missing tool is a
// failure, not a skip.
func isCI() bool { return os.Getenv("CI") == "true" }
