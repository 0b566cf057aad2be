package spec

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are the cases of issue 11 and of the tests above: every kind
// of syntax error, each validation rule, the valid organisation, the demo
// organisation's files and the acceptance table's malformed specs
// (testdata/badspec). They run in every go test.
func fuzzSeeds(f *testing.F) {
	f.Helper()
	f.Add([]byte(org))
	f.Add([]byte(base))
	for _, c := range ruleCases {
		f.Add([]byte(strings.Replace(org, c.old, c.new, 1)))
	}
	const head = "teams:\n  - name: payments\nservices:\n  - name: ledger\n    tier: 1\n    version: 1.0.0\n"
	for _, s := range []string{
		head + "    deploy: {strategy: canary, instances: 3\n    owner: payments\n",
		"teams:\n  - name: payments\n\t  display_name: Payments\n",
		"teams:\n  - name: payments\n    display_name: Pay\xffments\n",
		"teams:\n  - name: pay\x00ments\n",
		"teams:\n  - name: payments\n    display_name: \"Pay\n    channel: x\n",
		"teams:\n  - name: payments\n    display_name: 'Pay\n",
		"teams:\n  - name: payments\n   display_name: Payments\n",
		"teams:\n  - name: payments\n    roles: *nope\n",
		"services:\n  -\n  - ~\n",
		"teams: [" + strings.Repeat("[", 150) + "\n",
		"teams: " + strings.Repeat("{a: ", 120) + "\n",
		"a: &a [x, x, x, x]\nteams: &b [*a, *a, *a, *a]\nvendors: [*b, *b]\n",
		"---\nteams: []\n---\n- a\n---\nversion: 2\n",
		"",
		"\n\n# only a comment\n",
		"\xef\xbb\xbfteams: []\n",
		"releases:\n  - name: r\n    window: {start: yesterday, end: 2026-13-45}\n    scope: [{service: x, version: v1}]\n",
		"environments:\n  - {name: p, order: 1, production: true, regions: [{name: r, time_zone: Mars/Olympus}]}\n",
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "demo", "*.yaml"))
	bad, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "badspec", "*.yaml"))
	for _, p := range append(files, bad...) {
		if strings.HasSuffix(p, "alias-bomb.yaml") {
			continue // 0.3 s a run: the small alias seeds above stand for it
		}
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
}

// yamlBreak is a line break as YAML counts them.
var yamlBreak = regexp.MustCompile("\r\n|\r|\n|\u0085|\u2028|\u2029")

// splitLines splits as YAML does (CR LF, CR, LF, NEL, LS, PS).
func splitLines(data []byte) []string { return yamlBreak.Split(string(data), -1) }

// checkPositions asserts that every error points inside the file and is
// short.
func checkPositions(t *testing.T, data []byte, errs Errors) {
	t.Helper()
	lines := len(splitLines(data))
	for _, e := range errs {
		if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 {
			t.Errorf("error outside the file (%d lines): %v", lines, e)
		}
		if n := len(e.Error()); n > 2200 {
			t.Errorf("error of %d bytes: %.200s", n, e.Error())
		}
		if !utf8.ValidString(e.Msg) || !utf8.ValidString(e.Hint) {
			t.Errorf("error is not UTF-8: %q", e.Error())
		}
	}
}

// FuzzParse: any input parses without a panic, and every error it gives
// is located inside the file and short.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		srcs, errs := Parse("fuzz.yaml", data)
		checkPositions(t, data, errs)
		for _, s := range srcs {
			if s.Object == nil {
				t.Fatalf("source without an object at %v", s.Pos)
			}
		}
	})
}

// FuzzCheck: the whole path of validate and apply. Whatever Check
// accepts, Apply writes without an error; whatever it refuses, Apply
// refuses with the same errors and writes nothing.
func FuzzCheck(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		srcs, perrs := Parse("fuzz.yaml", data)
		set := &Set{Files: []string{"fuzz.yaml"}, Sources: srcs, parseErrs: perrs}
		_, errs := Check(set, nil, Options{})
		checkPositions(t, data, errs)
		cat := &catalog{}
		res, err := Apply(context.Background(), cat, set, Options{})
		switch {
		case len(errs) == 0 && err != nil:
			t.Fatalf("validate accepts what apply refuses: %v", err)
		case len(errs) > 0 && err == nil:
			t.Fatalf("apply accepts what validate refuses:\n%v", errs)
		case len(errs) > 0 && cat.writes > 0:
			t.Fatalf("a refused apply wrote %d records", cat.writes)
		case len(errs) > 0 && len(res.Errors) != len(errs):
			t.Fatalf("apply reports %d errors, validate %d", len(res.Errors), len(errs))
		}
	})
}
