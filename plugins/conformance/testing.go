package conformance

import (
	"context"
	"testing"
)

// RunT runs the whole suite against the plugin binary at path, in a
// sandbox with the given settings, as a test: every failed check is a
// test error, every passed one a log line. A plugin author calls it from
// the plugin's own tests, after building the binary:
//
//	func TestConformance(t *testing.T) {
//		bin := filepath.Join(t.TempDir(), "my-target")
//		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
//			t.Fatalf("build: %v\n%s", err, out)
//		}
//		conformance.RunT(t, bin, map[string]string{"root": t.TempDir()})
//	}
func RunT(t *testing.T, path string, settings map[string]string) {
	t.Helper()
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	rep := Check(ctx, path, Options{Settings: settings})
	for _, c := range rep.Checks {
		switch {
		case !c.Passed:
			t.Errorf("FAIL %s: %s", c.Name, c.Message)
		case c.Skipped:
			t.Logf("SKIP %s: %s", c.Name, c.Message)
		default:
			t.Logf("PASS %s: %s", c.Name, c.Message)
		}
	}
}
