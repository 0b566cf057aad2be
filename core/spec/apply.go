package spec

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/warroom/warroom/core/model"
)

// Catalog is where applied objects are kept. The store's transaction
// satisfies it, so an apply reads and writes in one transaction.
type Catalog interface {
	Records(ctx context.Context) ([]model.Record, error)
	PutRecord(ctx context.Context, r model.Record) error
	DeleteRecord(ctx context.Context, kind model.Kind, name string) error
}

// Action is what an apply does to one object.
type Action string

const (
	Created Action = "created"
	Updated Action = "updated"
	Deleted Action = "deleted"
)

// Change is what an apply did, or would do, to one object.
type Change struct {
	Action Action        `json:"action"`
	Kind   model.Kind    `json:"kind"`
	Name   string        `json:"name"`
	Source string        `json:"source,omitempty"`
	Fields []FieldChange `json:"fields,omitempty"` // for updates
}

// Result is the outcome of an apply.
type Result struct {
	Changes   []Change `json:"changes"`
	Unchanged int      `json:"unchanged"`
	Errors    Errors   `json:"errors,omitempty"`
}

// Changed reports whether the apply changed anything.
func (r Result) Changed() bool { return len(r.Changes) > 0 }

// Summary is a one-line account: "2 created, 1 updated, 40 unchanged".
func (r Result) Summary() string {
	n := map[Action]int{}
	for _, c := range r.Changes {
		n[c.Action]++
	}
	var parts []string
	for _, a := range []Action{Created, Updated, Deleted} {
		if n[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[a], a))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("no changes (%d objects unchanged)", r.Unchanged)
	}
	return fmt.Sprintf("%s, %d unchanged", strings.Join(parts, ", "), r.Unchanged)
}

// ErrInvalid is returned, wrapped, when the spec has errors; Result.Errors
// lists them.
var ErrInvalid = errors.New("spec has errors")

// Options change how Apply works.
type Options struct {
	// Prune deletes stored objects that the set does not declare, making
	// the set the whole organisation.
	Prune bool
	// DryRun computes the changes and writes nothing.
	DryRun bool
}

// Apply validates the set against the stored objects and writes what
// changed. With any error it writes nothing and returns ErrInvalid.
func Apply(ctx context.Context, cat Catalog, set *Set, opts Options) (Result, error) {
	stored, err := cat.Records(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("read stored objects: %w", err)
	}
	if _, errs := Check(set, stored, opts); len(errs) > 0 {
		return Result{Errors: errs}, ErrInvalid
	}
	res, puts, err := Diff(set, stored, opts.Prune)
	if err != nil {
		return Result{}, err
	}
	if opts.DryRun {
		return res, nil
	}
	for _, r := range puts {
		if err := cat.PutRecord(ctx, r); err != nil {
			return Result{}, fmt.Errorf("write %s %q: %w", r.Kind, r.Name, err)
		}
	}
	for _, c := range res.Changes {
		if c.Action == Deleted {
			if err := cat.DeleteRecord(ctx, c.Kind, c.Name); err != nil {
				return Result{}, fmt.Errorf("delete %s %q: %w", c.Kind, c.Name, err)
			}
		}
	}
	return res, nil
}

type key struct {
	kind model.Kind
	name string
}

// Diff compares the set with the stored objects: what would be created,
// updated (with the fields that change) and, when pruning, deleted; and
// the records to write.
func Diff(set *Set, stored []model.Record, prune bool) (Result, []model.Record, error) {
	old := make(map[key]model.Record, len(stored))
	for _, r := range stored {
		old[key{r.Kind, r.Name}] = r
	}
	var (
		res  Result
		puts []model.Record
	)
	declared := make(map[key]bool, len(set.Sources))
	for _, s := range set.Sources {
		rec, err := model.NewRecord(s.Object, s.Pos.String())
		if err != nil {
			return Result{}, nil, err
		}
		k := key{rec.Kind, rec.Name}
		declared[k] = true
		prev, ok := old[k]
		switch {
		case !ok:
			res.Changes = append(res.Changes, Change{Action: Created, Kind: rec.Kind, Name: rec.Name, Source: rec.Source})
			puts = append(puts, rec)
		case prev.Digest != rec.Digest:
			fields, err := fieldChanges(prev.Spec, rec.Spec)
			if err != nil {
				return Result{}, nil, fmt.Errorf("compare %s %q: %w", rec.Kind, rec.Name, err)
			}
			res.Changes = append(res.Changes, Change{Action: Updated, Kind: rec.Kind, Name: rec.Name, Source: rec.Source, Fields: fields})
			puts = append(puts, rec)
		default:
			res.Unchanged++
		}
	}
	if prune {
		for k := range old {
			if !declared[k] {
				res.Changes = append(res.Changes, Change{Action: Deleted, Kind: k.kind, Name: k.name})
			}
		}
	}
	order := map[model.Kind]int{}
	for i, k := range model.Kinds {
		order[k] = i
	}
	sort.SliceStable(res.Changes, func(i, j int) bool {
		a, b := res.Changes[i], res.Changes[j]
		if order[a.Kind] != order[b.Kind] {
			return order[a.Kind] < order[b.Kind]
		}
		return a.Name < b.Name
	})
	return res, puts, nil
}
