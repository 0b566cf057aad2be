package synth

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/warroom/warroom/core/model"
)

func TestDeterministic(t *testing.T) {
	opts := Options{Services: 300, Seed: 42}
	a, b := Generate(opts), Generate(opts)
	if !maps.EqualFunc(a, b, bytes.Equal) {
		t.Fatal("the same options gave different files")
	}
	c := Generate(Options{Services: 300, Seed: 43})
	if maps.EqualFunc(a, c, bytes.Equal) {
		t.Fatal("different seeds gave the same files")
	}
}

func TestWriteWritesGenerate(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Services: 120, Seed: 5}
	if err := Write(dir, opts); err != nil {
		t.Fatal(err)
	}
	want := Generate(opts)
	for name, content := range want {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, content) {
			t.Errorf("%s: written content differs from Generate", name)
		}
	}
	if got := len(readDir(t, dir)); got != len(want) {
		t.Errorf("wrote %d files, Generate returns %d", got, len(want))
	}
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		opts      Options
		teams     int
		scope     int
		migration bool
	}{
		{Options{Services: 1}, 3, 1, false},
		{Options{Services: 2, Seed: 3}, 3, 1, false},
		{Options{Services: 7, Seed: 3}, 3, 1, true},
		{Options{Services: 30, Seed: 9}, 3, 3, true},
		{Options{Services: 200, Seed: 1}, 4, 20, true},
		{Options{Services: 200, Seed: 1, Teams: 12, ScopePercent: 25}, 12, 50, true},
		{Options{Services: 1000, Seed: 77}, 20, 100, true},
		{Options{Services: 5000, Seed: 2}, 100, 500, true},
	} {
		t.Run(fmt.Sprintf("%d-services-seed-%d", tc.opts.Services, tc.opts.Seed), func(t *testing.T) {
			org, err := decodeFiles(Generate(tc.opts))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(org.Services); got != tc.opts.Services {
				t.Errorf("services: got %d, want %d", got, tc.opts.Services)
			}
			if got := len(org.Teams); got != tc.teams {
				t.Errorf("teams: got %d, want %d", got, tc.teams)
			}
			if got := len(org.Environments); got != 5 {
				t.Errorf("environments: got %d, want 5", got)
			}
			if prod := org.Environments[len(org.Environments)-1]; !prod.Production || len(prod.Regions) != 3 {
				t.Errorf("last environment %s: production %t with %d regions, want production in 3", prod.Name, prod.Production, len(prod.Regions))
			}
			if len(org.Releases) != 1 {
				t.Fatalf("releases: got %d, want 1", len(org.Releases))
			}
			rel := org.Releases[0]
			if got := len(rel.Scope); got != tc.scope {
				t.Errorf("scope: got %d services, want %d", got, tc.scope)
			}
			if got := len(rel.Migrations) == 1; got != tc.migration {
				t.Errorf("migration: got %t, want %t", got, tc.migration)
			}
			for _, p := range problems(org) {
				t.Error(p)
			}
		})
	}
}

// TestGraph checks the graph's shape on a mid-sized organisation: acyclic,
// every requirement provided and satisfied (problems checks both), about
// three requirements per service, databases, queues and a vendor.
func TestGraph(t *testing.T) {
	for seed := range int64(5) {
		org, err := decodeFiles(Generate(Options{Services: 400, Seed: seed}))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems(org) {
			t.Errorf("seed %d: %s", seed, p)
		}
		apis := map[string]string{}
		for _, s := range org.Services {
			for _, p := range s.Provides {
				apis[p.API] = s.Name
			}
		}
		if c := findCycle(org, apis); c != nil {
			t.Errorf("seed %d: cycle %v", seed, c)
		}
		reqs, users, kinds := 0, 0, map[model.ServiceKind]int{}
		for _, s := range org.Services {
			for _, r := range s.Requires {
				reqs++
				if _, ok := apis[r.API]; !ok {
					t.Errorf("seed %d: %s requires %s, which nothing provides", seed, s.Name, r.API)
				}
			}
			if len(s.Databases) > 0 {
				users++
			}
			kinds[s.Kind]++
		}
		if avg := float64(reqs) / float64(len(org.Services)); avg < 2 || avg > 4 {
			t.Errorf("seed %d: %.2f requirements per service, want about 3", seed, avg)
		}
		if kinds[model.Database] == 0 || kinds[model.Queue] == 0 || users == 0 {
			t.Errorf("seed %d: kinds %v, %d database users", seed, kinds, users)
		}
		if len(org.Vendors) != 1 {
			t.Errorf("seed %d: %d vendors, want 1", seed, len(org.Vendors))
		}
		for _, l := range org.Libraries {
			if len(l.Versions) < 3 {
				t.Errorf("seed %d: library %s has %d versions", seed, l.Name, len(l.Versions))
			}
		}
	}
}

// TestRelease checks what the release must exercise: new versions, a
// consumer needing the new API of a provider in the same release (so the
// provider ships first), new requirement ranges, library conflicts, and one
// expand/migrate/contract migration whose consumers are in scope.
func TestRelease(t *testing.T) {
	for seed := range int64(5) {
		org, err := decodeFiles(Generate(Options{Services: 200, Seed: seed}))
		if err != nil {
			t.Fatal(err)
		}
		ix := model.NewIndex(org)
		rel := org.Releases[0]
		needsNew, newRanges := 0, 0
		for _, it := range rel.Scope {
			if len(it.Requires) > 0 {
				newRanges++
			}
			for _, r := range it.Requires {
				p := providerOf(org, r.API)
				if p == nil {
					continue
				}
				if _, ok := rel.InScope(p.Name); !ok {
					continue
				}
				c := semver.MustParse(p.Provides[0].Version)
				if rng, err := semver.NewConstraint(r.Range); err == nil && !rng.Check(c) {
					needsNew++
				}
			}
		}
		if needsNew == 0 {
			t.Errorf("seed %d: no build in scope needs the new API of a provider in scope", seed)
		}
		if newRanges < 2 {
			t.Errorf("seed %d: %d builds declare new requirement ranges", seed, newRanges)
		}
		versions := map[string][]string{}
		for _, it := range rel.Scope {
			for _, l := range it.Effective(*ix.Services[it.Service]).Libraries {
				if !slices.Contains(versions[l.Name], l.Version) {
					versions[l.Name] = append(versions[l.Name], l.Version)
				}
			}
		}
		conflicts := 0
		for _, vs := range versions {
			if len(vs) > 1 {
				conflicts++
			}
		}
		if conflicts == 0 {
			t.Errorf("seed %d: no library conflict in scope", seed)
		}
		if len(rel.Migrations) != 1 {
			t.Fatalf("seed %d: %d migrations", seed, len(rel.Migrations))
		}
		m := rel.Migrations[0]
		if len(m.Phases()) != 3 || len(m.Consumers) == 0 {
			t.Errorf("seed %d: migration %s has phases %v and consumers %v", seed, m.Name, m.Phases(), m.Consumers)
		}
	}
}

func providerOf(org *model.Org, api string) *model.Service {
	for i := range org.Services {
		for _, p := range org.Services[i].Provides {
			if p.API == api {
				return &org.Services[i]
			}
		}
	}
	return nil
}

// TestDemo holds the demo organisation in testdata/demo to the same rules,
// and to what the demo is there to show.
func TestDemo(t *testing.T) {
	org, err := decodeFiles(readDir(t, filepath.Join("..", "..", "testdata", "demo")))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems(org) {
		t.Error(p)
	}
	ix := model.NewIndex(org)
	if len(org.Services) < 30 || len(org.Teams) < 6 || len(org.Vendors) != 1 || len(org.Environments) != 5 {
		t.Errorf("demo has %d services, %d teams, %d vendors, %d environments", len(org.Services), len(org.Teams), len(org.Vendors), len(org.Environments))
	}
	for _, name := range []string{"storefront-2026-12", "checkout-2026-12"} {
		if ix.Releases[name] == nil {
			t.Errorf("demo lacks release %s", name)
		}
	}
	if rel := ix.Releases["checkout-2026-12"]; rel != nil {
		if len(rel.Migrations) != 1 || len(rel.Migrations[0].Phases()) != 3 {
			t.Errorf("checkout-2026-12 should carry one expand/migrate/contract migration")
		}
		money := map[string]bool{}
		for _, it := range rel.Scope {
			for _, l := range it.Effective(*ix.Services[it.Service]).Libraries {
				if l.Name == "money" {
					money[l.Version] = true
				}
			}
		}
		if len(money) < 2 {
			t.Errorf("checkout-2026-12 should bundle money at two versions, got %v", money)
		}
	}
}

// TestProblemsCatchesBreaks makes sure the independent checker used above
// is not vacuous: each break of a valid organisation is reported.
func TestProblemsCatchesBreaks(t *testing.T) {
	files := Generate(Options{Services: 60, Seed: 11})
	for _, tc := range []struct {
		name     string
		breakOrg func(o *model.Org)
	}{
		{"cycle", func(o *model.Org) {
			// A consumer's provider comes to require the consumer.
			for i := range o.Services {
				c := &o.Services[i]
				if len(c.Requires) == 0 || len(c.Provides) == 0 {
					continue
				}
				if p := providerOf(o, c.Requires[0].API); p != nil {
					p.Requires = append(p.Requires, model.APIRequirement{API: c.Provides[0].API, Range: ">=0.0.0"})
					return
				}
			}
		}},
		{"unsatisfied range", func(o *model.Org) {
			for i := range o.Services {
				if len(o.Services[i].Requires) > 0 {
					o.Services[i].Requires[0].Range = "^99.0"
					return
				}
			}
		}},
		{"missing API", func(o *model.Org) {
			for i := range o.Services {
				if len(o.Services[i].Requires) > 0 {
					o.Services[i].Requires[0] = model.APIRequirement{API: "nothing-api", Range: "^1.0"}
					return
				}
			}
		}},
		{"window in freeze", func(o *model.Org) {
			o.Releases[0].Window.Start = o.Releases[0].Window.Start.AddDate(0, 0, 14)
			o.Releases[0].Window.End = o.Releases[0].Window.End.AddDate(0, 0, 14)
		}},
		{"window outside maintenance", func(o *model.Org) {
			o.Releases[0].Window.Start = o.Releases[0].Window.Start.AddDate(0, 0, 3)
			o.Releases[0].Window.End = o.Releases[0].Window.End.AddDate(0, 0, 3)
		}},
	} {
		org, err := decodeFiles(files)
		if err != nil {
			t.Fatal(err)
		}
		if ps := problems(org); len(ps) != 0 {
			t.Fatalf("valid org has problems: %v", ps)
		}
		tc.breakOrg(org)
		if len(problems(org)) == 0 {
			t.Errorf("%s: not reported", tc.name)
		}
	}
}
