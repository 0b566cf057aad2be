package main

import (
	"os"
	"path/filepath"
	"testing"
)

// openDemo is a copy of the demo organisation (testdata/demo, its
// evidence folder included) without its people and policy: a database
// it is applied to runs in open mode (docs/spec.md, "Who acts, and open
// mode"), where the test's OS login may take every action. The tests
// that are not about governance use it; testdata/demo itself declares
// people, and an OS login they do not list is a viewer.
func openDemo(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	if err := os.CopyFS(dir, os.DirFS(repo("testdata", "demo"))); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"people.yaml", "policy.yaml"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatalf("open-mode demo: %v (testdata/demo/%s moved?)", err, f)
		}
	}
	return dir
}

// openDemoWithoutGates is demoSpecWithoutGates in open mode: for the
// tests that deploy the demo with no evidence and act as the OS login.
func openDemoWithoutGates(t *testing.T) string {
	t.Helper()
	dir := demoSpecWithoutGates(t)
	for _, f := range []string{"people.yaml", "policy.yaml"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatalf("open-mode demo: %v", err)
		}
	}
	return dir
}

// demoCLI is the CLI on a database 'warroom demo' made: it declares the
// demo's people, and the OS login is its captain.
func demoCLI(t *testing.T, db string) *cli {
	return &cli{t: t, db: db, asLogin: true}
}
