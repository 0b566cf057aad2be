package synth

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/core/spec"
)

// These tests run the demo, generated organisations, the invalid example
// and the example of docs/spec.md through warroom's own parser, validator
// dependency graph and release planner.

var repoRoot = filepath.Join("..", "..")

// validate parses and validates spec files and fails the test on any
// error.
func validate(t *testing.T, paths ...string) *model.Org {
	t.Helper()
	set, errs := spec.ParseFiles(paths)
	for _, e := range errs {
		t.Error(e)
	}
	org, verrs := spec.Validate(set, nil)
	for _, e := range verrs {
		t.Error(e)
	}
	if t.Failed() {
		t.FailNow()
	}
	return org
}

// shippable fails the test if a release would break a requirement, has a
// library conflict no released version resolves, or cannot be put in
// waves. It returns the waves.
func shippable(t *testing.T, ix *model.Index, rel *model.Release) []graph.Wave {
	t.Helper()
	for _, inc := range graph.Compatibility(ix, rel) {
		t.Errorf("release %s: %s", rel.Name, inc.Message)
	}
	for _, c := range graph.LibraryConflicts(ix, rel) {
		if len(c.Satisfying) == 0 {
			t.Errorf("release %s: no version of %s satisfies every build", rel.Name, c.Library)
		}
	}
	waves, err := graph.Waves(ix, rel)
	if err != nil {
		t.Errorf("release %s: %v", rel.Name, err)
	}
	return waves
}

// planned builds the release's plan and fails the test on any blocker. It
// returns the warnings.
func planned(t *testing.T, ix *model.Index, rel *model.Release) []plan.Issue {
	t.Helper()
	p, err := plan.Build(ix, rel.Name)
	if err != nil {
		t.Fatalf("plan %s: %v", rel.Name, err)
	}
	for _, b := range p.Blockers {
		t.Errorf("release %s: blocker %s: %s", rel.Name, b.Kind, b.Message)
	}
	return p.Warnings
}

func waveOf(waves []graph.Wave, service string) int {
	for _, w := range waves {
		for _, s := range w.Services {
			if s == service {
				return w.Index
			}
		}
	}
	return 0
}

func phaseWave(waves []graph.Wave, phase model.MigrationPhase) int {
	for _, w := range waves {
		for _, m := range w.Migrations {
			if m.Phase == phase {
				return w.Index
			}
		}
	}
	return 0
}

func TestDemoValidates(t *testing.T) {
	org := validate(t, filepath.Join(repoRoot, "testdata", "demo"))
	ix := model.NewIndex(org)

	clean := ix.Releases["storefront-2026-12"]
	if clean == nil {
		t.Fatal("no release storefront-2026-12")
	}
	shippable(t, ix, clean)
	if cs := graph.LibraryConflicts(ix, clean); len(cs) != 0 {
		t.Errorf("storefront-2026-12 should have no library conflict, has %+v", cs)
	}
	if ws := planned(t, ix, clean); len(ws) != 0 {
		t.Errorf("storefront-2026-12 should plan without warnings, has %+v", ws)
	}

	rel := ix.Releases["checkout-2026-12"]
	if rel == nil {
		t.Fatal("no release checkout-2026-12")
	}
	waves := shippable(t, ix, rel)
	if ws := planned(t, ix, rel); len(ws) != 1 || ws[0].Kind != plan.KindLibraryConflict {
		t.Errorf("checkout-2026-12 should plan with one warning, the library conflict; has %+v", ws)
	}
	cs := graph.LibraryConflicts(ix, rel)
	if len(cs) != 1 || cs[0].Library != "money" || len(cs[0].Satisfying) == 0 {
		t.Errorf("checkout-2026-12 should have one resolvable conflict, on money; has %+v", cs)
	}
	// checkout 4.9.0 needs the new fraud and payments APIs.
	if !(waveOf(waves, "fraud") < waveOf(waves, "payments") && waveOf(waves, "payments") < waveOf(waves, "checkout")) {
		t.Errorf("want fraud, then payments, then checkout; waves %+v", waves)
	}
	expand, contract := phaseWave(waves, model.PhaseExpand), phaseWave(waves, model.PhaseContract)
	for _, c := range []string{"payments", "refunds"} {
		if w := waveOf(waves, c); !(expand < w && w < contract) {
			t.Errorf("consumer %s in wave %d, want between expand (%d) and contract (%d)", c, w, expand, contract)
		}
	}
}

func TestGeneratedValidates(t *testing.T) {
	for _, opts := range []Options{
		{Services: 200, Seed: 1},
		{Services: 200, Seed: 2, Teams: 7, ScopePercent: 30},
		{Services: 9, Seed: 3},
		{Services: 1, Seed: 4},
	} {
		dir := t.TempDir()
		if err := Write(dir, opts); err != nil {
			t.Fatal(err)
		}
		org := validate(t, dir)
		if len(org.Services) != opts.Services {
			t.Errorf("%+v: %d services", opts, len(org.Services))
		}
		ix := model.NewIndex(org)
		shippable(t, ix, ix.Releases[ReleaseName])
		planned(t, ix, ix.Releases[ReleaseName])
	}
}

// TestGeneratedReleasesPlan checks that the generated release has no
// blockers whatever the seed.
func TestGeneratedReleasesPlan(t *testing.T) {
	for seed := range int64(10) {
		org, err := decodeFiles(Generate(Options{Services: 300, Seed: seed}))
		if err != nil {
			t.Fatal(err)
		}
		ix := model.NewIndex(org)
		planned(t, ix, ix.Releases[ReleaseName])
	}
}

// TestFiveErrors checks that the invalid example yields exactly its five
// errors, one on each line marked "# ERROR".
func TestFiveErrors(t *testing.T) {
	path := filepath.Join(repoRoot, "testdata", "invalid", "five-errors.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text(), "# ERROR") {
			want = append(want, n)
		}
	}
	if len(want) != 5 {
		t.Fatalf("%s marks %d errors, want 5", path, len(want))
	}
	set, errs := spec.ParseFiles([]string{path})
	_, verrs := spec.Validate(set, nil)
	errs = append(errs, verrs...)
	errs.Sort()
	var got []int
	for _, e := range errs {
		got = append(got, e.Pos.Line)
	}
	if len(got) != 5 || !equal(got, want) {
		t.Errorf("errors on lines %v, want %v:\n%v", got, want, errs)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSpecDocExample checks that the complete example of docs/spec.md is
// a valid spec whose release can ship.
func TestSpecDocExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "spec.md"))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "# example.yaml"
	var block []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case !in && strings.HasPrefix(line, marker):
			in = true
			block = append(block, line)
		case in && line == "```":
			in = false
		case in:
			block = append(block, line)
		}
	}
	if len(block) == 0 {
		t.Fatalf("docs/spec.md has no code block starting with %q", marker)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "example.yaml")
	content := []byte(strings.Join(block, "\n") + "\n")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	org := validate(t, file)
	ix := model.NewIndex(org)
	if len(org.Releases) != 1 || len(org.Releases[0].Migrations) != 1 {
		t.Fatalf("the example should declare one release with a migration")
	}
	shippable(t, ix, &org.Releases[0])
	planned(t, ix, &org.Releases[0])
	indep, err := decodeFiles(map[string][]byte{"example.yaml": content})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems(indep) {
		t.Error(p)
	}
}
