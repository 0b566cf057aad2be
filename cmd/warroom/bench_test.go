package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/core/synth"
	"github.com/warroom/warroom/store"
)

// The benchmarks of `make bench`: apply, plan and graph of a generated
// 5,000-service organisation, end to end through the real parser and a
// real SQLite file. Targets: apply under 5 s, plan under 200 ms.

const benchServices = 5000

func benchSpec(b *testing.B) []string {
	b.Helper()
	dir := b.TempDir()
	if err := synth.Write(dir, synth.Options{Services: benchServices, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return []string{dir}
}

// applyFiles is `warroom apply`: parse, validate, diff and write in one
// audited transaction.
func applyFiles(ctx context.Context, s *store.Store, files []string) (spec.Result, error) {
	set, errs := spec.ParseFiles(files)
	if len(errs) > 0 {
		return spec.Result{Errors: errs}, spec.ErrInvalid
	}
	var res spec.Result
	_, err := s.Write(ctx, "bench", "apply", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		var err error
		res, err = spec.Apply(ctx, tx, set, spec.Options{})
		if err != nil || !res.Changed() {
			return store.Change{}, err
		}
		return store.Change{Summary: res.Summary(), Payload: res.Changes}, nil
	})
	return res, err
}

func BenchmarkApply5000(b *testing.B) {
	ctx := context.Background()
	files := benchSpec(b)
	for i := 0; i < b.N; i++ {
		s, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		res, err := applyFiles(ctx, s, files)
		if err != nil {
			b.Fatalf("%v\n%v", err, res.Errors)
		}
		s.Close()
	}
}

func BenchmarkApplyUnchanged5000(b *testing.B) {
	ctx := context.Background()
	files := benchSpec(b)
	s, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if res, err := applyFiles(ctx, s, files); err != nil {
		b.Fatalf("%v\n%v", err, res.Errors)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := applyFiles(ctx, s, files)
		if err != nil || res.Changed() {
			b.Fatalf("second apply: %v changed=%v", err, res.Changed())
		}
	}
}

// loadedStore is a database holding the generated organisation.
func loadedStore(b *testing.B) (*store.Store, string) {
	b.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	if res, err := applyFiles(ctx, s, benchSpec(b)); err != nil {
		b.Fatalf("%v\n%v", err, res.Errors)
	}
	org, err := s.Org(ctx)
	if err != nil || len(org.Releases) == 0 {
		b.Fatalf("load org: %v (%d releases)", err, len(org.Releases))
	}
	return s, org.Releases[0].Name
}

// BenchmarkPlan5000 is `warroom plan` after start-up: load the org from
// SQLite and build the plan.
func BenchmarkPlan5000(b *testing.B) {
	ctx := context.Background()
	s, release := loadedStore(b)
	defer s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		org, err := s.Org(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p, err := plan.Build(model.NewIndex(org), release)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Waves) == 0 {
			b.Fatal("empty plan")
		}
	}
}

// BenchmarkGraph5000 is `warroom graph -o json` after start-up.
func BenchmarkGraph5000(b *testing.B) {
	ctx := context.Background()
	s, _ := loadedStore(b)
	defer s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		org, err := s.Org(ctx)
		if err != nil {
			b.Fatal(err)
		}
		g := graph.New(org)
		if len(g.Edges()) == 0 || len(g.Cycles()) != 0 {
			b.Fatal("unexpected graph")
		}
	}
}
