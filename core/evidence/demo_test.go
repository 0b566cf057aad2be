package evidence

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/warroom/warroom/core/model"
)

// TestDemoEvidence reads every file of the demo's evidence index
// (testdata/demo/evidence, made by scripts/gen-demo-evidence) and
// measures it against the demo's gate: every gate passes except
// recommendations' coverage, the gate the demo shows blocking.
func TestDemoEvidence(t *testing.T) {
	const dir = "../../testdata/demo/evidence"
	var index struct {
		Version  int `yaml:"version"`
		Evidence []struct {
			Release, Service, Gate, File, Baseline, Format string
		} `yaml:"evidence"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "evidence.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalWithOptions(data, &index, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Version int          `yaml:"version"`
		Gates   []model.Gate `yaml:"gates"`
	}
	data, err = os.ReadFile("../../testdata/demo/gates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	gates := map[string]model.Gate{}
	for _, g := range spec.Gates {
		gates[g.Name] = g
	}
	if len(index.Evidence) == 0 {
		t.Fatal("the demo's evidence index is empty")
	}
	seen := map[string]bool{}
	for _, e := range index.Evidence {
		g, ok := gates[e.Gate]
		if !ok {
			t.Errorf("%s/%s: no gate %q in gates.yaml", e.Release, e.Service, e.Gate)
			continue
		}
		seen[e.Gate] = true
		f := Format(e.Format)
		r, err := ReadFile(context.Background(), filepath.Join(dir, e.File), f)
		if err != nil {
			t.Errorf("%s/%s %s: %v", e.Release, e.Service, e.Gate, err)
			continue
		}
		var base *Reading
		if e.Baseline != "" {
			if base, err = ReadFile(context.Background(), filepath.Join(dir, e.Baseline), f); err != nil {
				t.Errorf("%s/%s %s baseline: %v", e.Release, e.Service, e.Gate, err)
				continue
			}
		}
		m, err := Measure(g, r, base)
		if err != nil {
			t.Errorf("%s/%s %s: %v", e.Release, e.Service, e.Gate, err)
			continue
		}
		wantPass := !(e.Service == "recommendations" && e.Gate == "coverage")
		if m.Pass != wantPass {
			t.Errorf("%s/%s %s: %s (pass %v, want %v)", e.Release, e.Service, e.Gate, m.Summary, m.Pass, wantPass)
		}
		t.Logf("%s/%s %s: %s", e.Release, e.Service, e.Gate, m.Summary)
	}
	for _, g := range []string{"unit-tests", "coverage", "licences", "sast", "integration", "performance"} {
		if !seen[g] {
			t.Errorf("the demo has no evidence for gate %s", g)
		}
	}
}
