package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/model"
)

func TestValidateDemo(t *testing.T) {
	c := newCLI(t)
	out := c.ok("validate", "-f", repo("testdata", "demo"))
	if !strings.HasPrefix(out, "ok: ") {
		t.Errorf("validate said %q", out)
	}
	if _, err := os.Stat(c.db); !os.IsNotExist(err) {
		t.Errorf("validate created a database (stat: %v)", err)
	}
}

var errorLine = regexp.MustCompile(`^(.+\.yaml):(\d+):(\d+): (.+)$`)

func TestFiveErrorsInOneRunWriteNothing(t *testing.T) {
	bad := repo("testdata", "invalid", "five-errors.yaml")
	c := newCLI(t)
	r := c.run("validate", "-f", bad)
	if r.code != 1 {
		t.Fatalf("validate exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	var msgs []string
	for _, line := range strings.Split(r.stderr, "\n") {
		if m := errorLine.FindStringSubmatch(line); m != nil {
			if !strings.HasSuffix(m[1], "five-errors.yaml") {
				t.Errorf("error names file %q", m[1])
			}
			msgs = append(msgs, m[4])
		}
	}
	want := []string{"unknown key", "expected a whole number", "unknown team or vendor", "invalid version range", "dependency cycle"}
	if len(msgs) != len(want) {
		t.Fatalf("got %d file:line:col errors, want %d:\n%s", len(msgs), len(want), r.stderr)
	}
	for _, w := range want {
		found := false
		for _, m := range msgs {
			found = found || strings.Contains(m, w)
		}
		if !found {
			t.Errorf("no error says %q:\n%s", w, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "hint: ") {
		t.Errorf("errors carry no hint:\n%s", r.stderr)
	}

	// apply of the same file leaves an existing database exactly as it was.
	c.ok("apply", "-f", openDemo(t))
	before := dumpDB(t, c)
	r = c.run("apply", "-f", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "5 errors") {
		t.Fatalf("apply exit %d, want 1 with 5 errors\n%s", r.code, r.stderr)
	}
	if after := dumpDB(t, c); after != before {
		t.Errorf("a failed apply changed the database")
	}
}

// dumpDB is everything a command could have written: objects and audit.
func dumpDB(t *testing.T, c *cli) string {
	t.Helper()
	return c.ok("audit", "list", "-o", "json") + c.ok("service", "list", "-o", "json") +
		c.ok("release", "list", "-o", "json") + c.ok("env", "list", "-o", "json")
}

func TestApplyIsIdempotentAndReportsChanges(t *testing.T) {
	c := newCLI(t)
	demo := openDemo(t)
	first := c.ok("apply", "-f", demo)
	if !strings.Contains(first, " created") {
		t.Fatalf("first apply: %s", first)
	}
	second := c.ok("apply", "-f", demo)
	if !strings.HasPrefix(second, "no changes (") {
		t.Errorf("second apply of the same spec: %q", second)
	}
	var events []model.AuditEvent
	c.json(&events, "audit", "list")
	if len(events) != 1 || events[0].Command != "apply" || events[0].Actor != "tester" {
		t.Fatalf("audit after two applies: %+v", events)
	}

	// Change one service's version in a copy of the demo.
	dir := copyDir(t, demo)
	path, content := findLine(t, dir, "  - name: catalog\n")
	edited := strings.Replace(content, `version: "3.4.2"`, `version: "3.5.0"`, 1)
	if edited == content {
		t.Fatal("the demo's catalog service is no longer at 3.4.2; update this test")
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out := c.ok("apply", "-f", dir)
	if !strings.Contains(out, "~ service catalog updated\n") || !strings.Contains(out, `version: "3.4.2" -> "3.5.0"`) || !strings.Contains(out, "1 updated") {
		t.Errorf("changed apply output:\n%s", out)
	}
	if c.ok("audit", "verify") == "" {
		t.Error("audit verify printed nothing")
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// findLine returns the first spec file under dir containing s, and its content.
func findLine(t *testing.T, dir, s string) (string, string) {
	t.Helper()
	var path, content string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || path != "" {
			return err
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), s) {
			path, content = p, string(b)
		}
		return nil
	})
	if path == "" {
		t.Fatalf("no file under %s contains %q", dir, s)
	}
	return path, content
}
