package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQuotedValuesAreClipped: a huge value in the wrong place is quoted
// in at most 80 characters, with its size.
func TestQuotedValuesAreClipped(t *testing.T) {
	huge := strings.Repeat("x", 10<<20)
	key := strings.Repeat("x", 1000) // YAML keys are at most 1024 characters
	upper := strings.Repeat("X", 10<<20)
	cases := []struct{ name, value, spec string }{
		{"type error", huge, "teams:\n  - name: a\n    roles: " + huge + "\n"},
		{"unknown key", key, "teams:\n  - name: a\n    " + key + ": 1\n"},
		{"bad reference", huge, "libraries:\n  - name: a\n    owner: " + huge + "\n"},
		{"bad name", upper, "teams:\n  - name: " + upper + "\n"},
		{"bad duration", huge, "environments:\n  - {name: a, order: 1, bake_time: " + huge + "}\n"},
		{"bad enumeration", huge, "teams:\n  - name: a\n    roles: [" + huge + "]\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := checkText(tc.spec)
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			for _, e := range errs {
				if n := len(e.Error()); n > 600 {
					t.Errorf("error is %d bytes: %.300s", n, e.Error())
				}
			}
			if want := fmt.Sprintf("… (%d bytes)", len(tc.value)); !strings.Contains(errs.Error(), want) {
				t.Errorf("errors do not say %q:\n%.600s", want, errs.Error())
			}
		})
	}
}

func TestClip(t *testing.T) {
	short := strings.Repeat("é", 80)
	if got := fmt.Sprintf("%q", clip(short)); got != `"`+short+`"` {
		t.Errorf("80 characters were clipped: %s", got)
	}
	long := strings.Repeat("é", 81)
	if got, want := fmt.Sprintf("%q", clip(long)), `"`+short+`"… (162 bytes)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func writeSparse(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestFileSizeLimits: an oversized file, or too much spec text in one
// run, is refused before it is read, naming the file, its size and the
// limit.
func TestFileSizeLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	writeSparse(t, big, MaxFileSize+1)
	start := time.Now()
	_, errs := ParseFiles([]string{big})
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("refusing took %v", took)
	}
	want := fmt.Sprintf("%s:1:1: file is %d bytes (16.0 MiB), over the 16 MiB limit of a spec file", big, MaxFileSize+1)
	if got := errs[0].Pos.String() + ": " + errs[0].Msg; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// Five files of 15 MiB: the fifth crosses the 64 MiB of one run.
	many := filepath.Join(dir, "many")
	os.Mkdir(many, 0o755)
	for i := range 5 {
		writeSparse(t, filepath.Join(many, fmt.Sprintf("%d.yaml", i)), 15<<20)
	}
	_, errs = ParseFiles([]string{many})
	var total *Error
	for i := range errs {
		if strings.Contains(errs[i].Msg, "together") {
			total = &errs[i]
		}
	}
	if total == nil || !strings.HasSuffix(total.Pos.File, "4.yaml") || !strings.Contains(total.Msg, "over the 64 MiB limit of one run") {
		t.Errorf("no total-size error at 4.yaml:\n%v", errs)
	}

	// A device whose size is not known is read no further than the limit.
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, errs = ParseFiles([]string{"/dev/zero"})
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, "more than 16 MiB, over the 16 MiB limit") {
			t.Errorf("/dev/zero: %v", errs)
		}
	}
}

// aliasBomb is a spec whose aliases stand for 10^9 values, all of the
// right type: a thousand releases of a thousand migrations of a thousand
// consumers.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("services:\n  - {name: s, tier: 1, version: 1.0.0}\nreleases:\n  - &r0\n    name: r\n    window: {start: 2026-12-01, end: 2026-12-02}\n    scope: [{service: s, version: 1.0.1}]\n")
	b.WriteString("    migrations: [{name: m, databases: [s], consumers: &c0 [" + strings.Repeat("s, ", 999) + "s]}" +
		strings.Repeat(", {name: m, databases: [s], consumers: *c0}", 999) + "]\n")
	for range 1000 {
		b.WriteString("  - *r0\n")
	}
	return b.String()
}

// TestAliasBombAndDeepNesting: both are refused at their line and column.
// How quickly is BenchmarkAliasBomb's to say, not a timed test's.
func TestAliasBombAndDeepNesting(t *testing.T) {
	block := &strings.Builder{}
	block.WriteString("teams:\n")
	for i := range 200 {
		fmt.Fprintf(block, "%s- a:\n", strings.Repeat("  ", i+1))
	}
	cases := []struct {
		name, spec, want, msg string
	}{
		{"alias bomb", aliasBomb(), "8:13806", "aliases here expand to more than 250000 values"},
		{"deep flow nesting", "teams: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n", "1:108", "nested more than 100 levels deep"},
		{"very deep flow nesting", "teams: " + strings.Repeat("[", 100000) + "\n", "1:108", "nested more than 100 levels deep"},
		{"deep block nesting", block.String(), "", "nested more than 100 levels deep"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := checkText(tc.spec)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%.2000v", len(errs), errs)
			}
			if got := fmt.Sprintf("%d:%d", errs[0].Pos.Line, errs[0].Pos.Col); tc.want != "" && got != tc.want {
				t.Errorf("at %s, want %s", got, tc.want)
			}
			if !strings.Contains(errs[0].Msg, tc.msg) {
				t.Errorf("message %q does not say %q", errs[0].Msg, tc.msg)
			}
		})
	}
}

// BenchmarkAliasBomb is the cost of refusing an alias bomb (the cap at
// 250,000 reachable values keeps it to a fraction of a second).
func BenchmarkAliasBomb(b *testing.B) {
	spec := aliasBomb()
	for b.Loop() {
		if _, errs := checkText(spec); len(errs) != 1 {
			b.Fatalf("got %d errors, want 1", len(errs))
		}
	}
}

// A named pipe in a spec folder is refused at once, naming it, instead
// of hanging on its open until something writes to it; a link to a
// regular file is read as the file.
func TestFolderReadsRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "teams.yaml"), []byte("teams:\n  - name: payments\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(t.TempDir(), "more.yaml")
	if err := os.WriteFile(linked, []byte("teams:\n  - name: ledger\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(linked, filepath.Join(dir, "more.yaml")); err != nil {
		t.Fatal(err)
	}
	if set, errs := ParseFiles([]string{dir}); len(errs) != 0 || len(set.Files) != 2 {
		t.Fatalf("regular file and link: files %v, %v", set.Files, errs)
	}
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan []Error, 1)
	go func() { _, errs := ParseFiles([]string{dir}); done <- errs }()
	select {
	case errs := <-done:
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, fifo+" is not a regular file") || !strings.Contains(errs[0].Msg, "name it with -f") {
			t.Fatalf("a pipe in the folder: %v", errs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a folder with a named pipe in it hangs")
	}
}
