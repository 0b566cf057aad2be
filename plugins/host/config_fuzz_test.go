package host_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/plugins/host"
)

// configSeeds are malformed (and a few good) plugin configurations: wrong
// types, unknown keys, empty names, huge values, binary garbage, broken
// YAML, and the combination rules' mistakes.
var configSeeds = []string{
	"",
	"plugins:\n  - name: exec\n    path: /bin/true\n    kinds: [deploy-target]\n",
	"plugins:\n  - name: scrape\n    settings: {interval: 1s}\ndisable: [exec]\ncanary_judge: scrape\n",
	"canary_judge: none\n",
	"plugins: 3\n",
	"plugins: {name: x}\n",
	"plugins:\n  - 42\n",
	"plugins:\n  - name: x\n    path: [a]\n    kinds: deploy-target\n",
	"plugins:\n  - name: \"\"\n    path: p\n    kinds: [ticketing]\n",
	"plugins:\n  - name: ~\n",
	"plugins:\n  - name: x\n    path: p\n    kinds: [ticketing]\n    colour: blue\n",
	"plugins:\n  - name: x\n    path: p\n    kinds: [ticketing]\n    timeout: -1s\n    start_timeout: 99999999999999999999h\n",
	"plugins:\n  - name: x\n    path: p\n    kinds: [ticketing]\n    settings: {a: {b: c}, \"\": d, e: ~}\n",
	"plugins:\n  - {name: x, path: p, kinds: [ticketing]}\n  - {name: x, path: q, kinds: [ticketing]}\n",
	"disable: scrape\n",
	"disable: [nope, ~, [a]]\n",
	"canary_judge: [scrape]\n",
	"canary_judge: exec\n",
	"? [a, b]\n: c\n",
	"plugins:\n  - name: " + strings.Repeat("n", 3000) + "\n",
	"plugins:\n  - name: x\n    path: p\n    kinds: [" + strings.Repeat("k", 3000) + "]\n",
	"plugins:\n\t- name: x\n",
	"plugins:\n  - name: x\xff\n",
	"\x00\x01\x02\x7fELF\x02\x01\x01",
	"plugins: [\n",
	"plugins:\n  - name: x\n   path: y\n",
	"a: &a [*a, *a]\n",
	"a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nplugins: *c\n",
	"---\nplugins: []\n---\nplugins: []\n",
	"plugins: !!binary aGVsbG8=\n",
	strings.Repeat("- ", 500) + "x\n",
	"\r0", // a lone CR: a line end to YAML, not to most editors
	"---", // an empty document's node sits past the last line
	strings.Repeat("[", 500) + strings.Repeat("]", 500) + "\n",
}

// FuzzParseConfig: whatever the bytes, parsing a plugin configuration
// never panics, and either yields a usable configuration or errors that
// each point at a line and column of the file, with a bounded message.
func FuzzParseConfig(f *testing.F) {
	for _, s := range configSeeds {
		f.Add([]byte(s))
	}
	base := host.DefaultConfig(f.TempDir()) // no built-in binaries
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		cfg, err := host.ParseConfig("fuzz.yaml", "/cfg", data, base)
		// A configuration is parsed on every command: a file that takes
		// long is a hang waiting to happen.
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("parsing %d bytes took %s: %.300q", len(data), took, data)
		}
		if err != nil {
			checkConfigErrors(t, data, err)
			return
		}
		seen := map[string]bool{}
		for _, p := range cfg.Plugins {
			if p.Name == "" || seen[p.Name] || !filepath.IsAbs(p.Path) || len(p.Kinds) == 0 {
				t.Fatalf("accepted an unusable plugin %+v from %q", p, data)
			}
			seen[p.Name] = true
		}
	})
}

func checkConfigErrors(t *testing.T, data []byte, err error) {
	t.Helper()
	var errs host.ConfigErrors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("error %v (%T) is not ConfigErrors", err, err)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	for _, e := range errs {
		if e.File != "fuzz.yaml" || e.Line < 1 || e.Line > lines || e.Col < 1 {
			t.Fatalf("error %q is not at a line:column of the file (%d lines)", e.Error(), lines)
		}
		if len(e.Msg) > 1024 || !utf8.ValidString(e.Msg) {
			t.Fatalf("error message of %d bytes (valid UTF-8: %t): %.200q", len(e.Msg), utf8.ValidString(e.Msg), e.Msg)
		}
	}
	if len(err.Error()) > 64<<10 {
		t.Fatalf("the errors come to %d bytes", len(err.Error()))
	}
}

// The malformed seeds are refused at their own place, with the fix.
func TestConfigErrorsPointAtTheProblem(t *testing.T) {
	base := host.DefaultConfig(t.TempDir())
	for _, tc := range []struct{ file, want string }{
		{"plugins: 3\n", "fuzz.yaml:1:10: plugins must be a list"},
		{"plugins:\n  - name: \"\"\n    path: p\n    kinds: [ticketing]\n", "fuzz.yaml:2:11: name must be a non-empty string"},
		{"plugins:\n\t- name: x\n", "fuzz.yaml:2:1: a tab in the indentation: YAML indents with spaces only"},
		{"plugins:\n  - name: x\xff\n", "fuzz.yaml:2:12: byte 0xff is not UTF-8: the file must be UTF-8 text (is it a binary?)"},
		{"\x00\x01ELF", "fuzz.yaml:1:1: control character U+0000: the file must be text (is it a binary?)"},
		{"plugins:\n  - name: x\n    path: p\n    kinds: [ticketing]\n    colour: blue\n",
			`fuzz.yaml:5:5: unknown key "colour" in a plugin (known keys: kinds, name, path, settings, start_timeout, stream_idle_timeout, timeout)`},
		{"plugins:\n  - name: x\n    path: p\n    kinds: [" + strings.Repeat("k", 50000) + "]\n",
			`fuzz.yaml:4:13: unknown kind "` + strings.Repeat("k", 80) + `"… (50000 bytes) (known kinds: deploy-target, monitoring-source, ticketing)`},
		{"disable: [nope]\n", `fuzz.yaml:1:11: "nope" is not a built-in plugin`},
		{"plugins: [\n", `fuzz.yaml:1:10: YAML syntax: did not find expected node content (the '[' here is never closed)`},
		{"plugins:\n  - name: x\n    path: p\n    kinds: [ticketing]\n    settings: {a: b,\n      c: d\n", `fuzz.yaml:5:15: YAML syntax: `},
		{"plugins:\n  - name: x\n   path: y\n", "fuzz.yaml:3:4: YAML syntax: did not find expected '-' indicator"},
		{"plugins:\n  - name: x\n    path: p\n  kinds: [ticketing]\n", "fuzz.yaml:4:3: "},
		{"plugins:\n  - name: x\n    path: p\n    kinds: [ticketing]\n    settings:\n      a: b\n     c: d\n", "fuzz.yaml:7:6: YAML syntax: did not find expected key"},
	} {
		_, err := host.ParseConfig("fuzz.yaml", "/cfg", []byte(tc.file), base)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%.60q:\n got %v\nwant %s", tc.file, err, tc.want)
		}
	}
}

// Floods are capped: a file over MaxConfigSize is refused unread, and a
// report lists the first 50 errors, then how many more.
func TestConfigFloodsCapped(t *testing.T) {
	big := writeConfig(t, "plugins:\n  - name: x\n    settings: {a: \""+strings.Repeat("x", host.MaxConfigSize)+"\"}\n")
	if _, err := host.LoadConfig(big, nil); err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB: is it the right file?") {
		t.Errorf("a 1 MiB file: %.200v", err)
	}
	var b strings.Builder
	b.WriteString("plugins:\n")
	for i := range 60 {
		fmt.Fprintf(&b, "  - {name: p%d, path: p, kinds: [nope]}\n", i)
	}
	_, err := host.LoadConfig(writeConfig(t, b.String()), nil)
	if err == nil || strings.Count(err.Error(), "\n") != 50 || !strings.HasSuffix(err.Error(), "… and 10 more errors") {
		t.Errorf("60 errors reported as:\n%v", err)
	}
}
