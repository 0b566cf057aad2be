package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// demoEnvGates is an environment's list of required gates in
// testdata/demo/environments.yaml.
var demoEnvGates = regexp.MustCompile(`(?m)^\s+gates: \[[^\]]*\]\n`)

// demoSpecWithoutGates is a copy of testdata/demo whose environments
// require no gates, for the tests that deploy the demo and are not about
// gates: testdata/demo has no evidence yet, so its runs would wait (state
// waiting) at their first environment. The gates stay declared, so every
// screen that lists them still does. The tests of waiting on gates are
// in deploy_gates_test.go.
func demoSpecWithoutGates(t *testing.T) string {
	t.Helper()
	src := repo("testdata", "demo")
	dst := filepath.Join(t.TempDir(), "demo-spec")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == "environments.yaml" {
			if b = demoEnvGates.ReplaceAll(b, nil); demoEnvGates.Match(b) {
				t.Fatal("environments.yaml still requires gates")
			}
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
