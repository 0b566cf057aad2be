package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// badSpec is one malformed spec and what the real binary must say about it.
type badSpec struct {
	name      string
	path      string
	line, col int
	msg, fix  string
}

var wantHeader = regexp.MustCompile(`(?m)^# want: (\d+):(\d+): (.+)\n# fix: (.+)$`)

// badSpecs reads testdata/badspec, whose files say in their first two
// lines where their error is and what its message and hint say, and adds
// the cases that cannot hold a comment, written to dir.
func badSpecs(t *testing.T, dir string) []badSpec {
	t.Helper()
	files, err := filepath.Glob(repo("testdata", "badspec", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/badspec files (%v)", err)
	}
	var out []badSpec
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := wantHeader.FindSubmatch(data)
		if m == nil {
			t.Fatalf("%s has no # want: / # fix: header", f)
		}
		var c badSpec
		fmt.Sscan(string(m[1]), &c.line)
		fmt.Sscan(string(m[2]), &c.col)
		c.name, c.path, c.msg, c.fix = strings.TrimSuffix(filepath.Base(f), ".yaml"), f, string(m[3]), string(m[4])
		out = append(out, c)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Binary garbage: the first bytes of a PNG image.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")
	// A file just over the limit, sparse: refused before it is read.
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(16<<20 + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A 50 MB scalar in the wrong place would be refused the same way; a
	// 10 MB one is read, and echoed in 80 characters.
	big := "teams:\n  - name: ops\n    roles: " + strings.Repeat("x", 10<<20) + "\n"
	out = append(out,
		badSpec{"empty-zero-bytes", write("empty.yaml", nil), 1, 1, "the file is empty", "write the objects it should declare"},
		badSpec{"binary-garbage", write("garbage.yaml", png), 1, 1, "invalid UTF-8 (byte 0x89)", "save the file as UTF-8"},
		badSpec{"invalid-utf8-line-3", write("latin1.yaml", []byte("teams:\n  - name: ops\n    display_name: Op\xe9rations\n")), 3, 21, "invalid UTF-8 (byte 0xE9)", "save the file as UTF-8"},
		badSpec{"deep-nesting", write("deep.yaml", []byte("teams: "+strings.Repeat("[", 100000)+"\n")), 1, 108, "nested more than 100 levels deep", "check that -f names a spec file"},
		badSpec{"huge-file", huge, 1, 1, "file is 16777217 bytes (16.0 MiB), over the 16 MiB limit of a spec file", "split it into several files"},
		badSpec{"huge-scalar", write("scalar.yaml", []byte(big)), 3, 12, `roles: expected a list, got "` + strings.Repeat("x", 80) + `"… (10485760 bytes)`, "write a YAML list"},
	)
	return out
}

// dbFiles are the bytes of the database and its WAL, if any.
func dbFiles(t *testing.T, db string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{db, db + "-wal"} {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	return out
}

// runBin runs the built warroom binary.
func runSpecBin(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(warroomBin, append([]string{"--as", "tester"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "WARROOM_DB=")
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run warroom: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

// TestBadSpecs is issue 11's acceptance table, through the real binary:
// for each malformed spec, validate and apply exit 1 with the same
// errors, the first at the exact file:line:column with the fix in its
// hint, in under 4 KiB, quickly, and apply leaves the database (the demo
// organisation) byte for byte as it was.
func TestBadSpecs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "warroom.db")
	if r := runSpecBin(t, "--db", db, "apply", "-f", openDemo(t)); r.code != 0 {
		t.Fatalf("apply demo: exit %d\n%s", r.code, r.stderr)
	}
	cases := badSpecs(t, dir)
	if len(cases) < 40 {
		t.Fatalf("%d cases, want at least 40", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := dbFiles(t, db)
			start := time.Now()
			v := runSpecBin(t, "--db", db, "validate", "-f", c.path)
			a := runSpecBin(t, "--db", db, "apply", "-f", c.path)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("validate and apply took %v", took)
			}
			for _, r := range []struct {
				cmd string
				result
			}{{"validate", v}, {"apply", a}} {
				if r.code != 1 {
					t.Errorf("%s: exit %d, want 1\n%s%s", r.cmd, r.code, r.stdout, r.stderr)
				}
				if len(r.stderr) >= 4096 {
					t.Errorf("%s: %d bytes on stderr, want under 4 KiB", r.cmd, len(r.stderr))
				}
			}
			if v.stderr != a.stderr {
				t.Errorf("validate and apply disagree:\nvalidate:\n%s\napply:\n%s", v.stderr, a.stderr)
			}
			where := fmt.Sprintf("%s:%d:%d: ", c.path, c.line, c.col)
			lines := strings.Split(v.stderr, "\n")
			found := false
			for i, l := range lines {
				if strings.HasPrefix(l, where) && strings.Contains(l, c.msg) {
					found = true
					if i+1 >= len(lines) || !strings.Contains(lines[i+1], "hint: ") || !strings.Contains(lines[i+1], c.fix) {
						t.Errorf("the error's hint does not say %q:\n%s", c.fix, v.stderr)
					}
				}
			}
			if !found {
				t.Errorf("no error %s%s\ngot:\n%.2000s", where, c.msg, v.stderr)
			}
			after := dbFiles(t, db)
			if len(after) != len(before) {
				t.Errorf("database files were %d, now %d", len(before), len(after))
			}
			for name, b := range before {
				if !bytes.Equal(b, after[name]) {
					t.Errorf("apply changed %s", name)
				}
			}
		})
	}
}

// TestBadSpecCreatesNoDatabase: apply of a spec with errors, semantic
// ones included, does not create the database it would have written to.
func TestBadSpecCreatesNoDatabase(t *testing.T) {
	for _, name := range []string{"syntax-tab-indent", "ref-owner", "cycle"} {
		db := filepath.Join(t.TempDir(), "new.db")
		r := runSpecBin(t, "--db", db, "apply", "-f", repo("testdata", "badspec", name+".yaml"))
		if r.code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", name, r.code, r.stderr)
		}
		if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a refused apply created the database (stat: %v)", name, err)
		}
	}
}

// TestValidatePruneAgreesWithApplyPrune: a file that refers to an object
// only the database holds passes validate and apply, but not validate
// --prune nor apply --prune, which both check the files alone.
func TestValidatePruneAgreesWithApplyPrune(t *testing.T) {
	db := filepath.Join(t.TempDir(), "warroom.db")
	if r := runSpecBin(t, "--db", db, "apply", "-f", openDemo(t)); r.code != 0 {
		t.Fatalf("apply demo: exit %d\n%s", r.code, r.stderr)
	}
	f := filepath.Join(t.TempDir(), "widget.yaml")
	os.WriteFile(f, []byte("services:\n  - name: widget\n    owner: storefront\n    tier: 2\n    version: \"1.0.0\"\n"), 0o600)
	if r := runSpecBin(t, "--db", db, "validate", "-f", f); r.code != 0 {
		t.Fatalf("validate: exit %d\n%s", r.code, r.stderr)
	}
	before := dbFiles(t, db)
	v := runSpecBin(t, "--db", db, "validate", "--prune", "-f", f)
	a := runSpecBin(t, "--db", db, "apply", "--prune", "-f", f)
	want := f + ":3:12: unknown team or vendor \"storefront\""
	if v.code != 1 || a.code != 1 || v.stderr != a.stderr || !strings.Contains(v.stderr, want) {
		t.Errorf("validate --prune (exit %d) and apply --prune (exit %d) must both say %s:\n%s\n%s", v.code, a.code, want, v.stderr, a.stderr)
	}
	for name, b := range before {
		if !bytes.Equal(b, dbFiles(t, db)[name]) {
			t.Errorf("apply --prune changed %s", name)
		}
	}
}
