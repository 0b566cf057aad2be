package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/store"
)

func newValidateCmd(a *app) *cobra.Command {
	var (
		files []string
		opts  spec.Options
	)
	cmd := &cobra.Command{
		Use:   "validate -f PATH...",
		Short: "Check spec files without changing anything",
		Long: `Check spec files: YAML syntax, unknown keys, types, enumerations,
references, versions and ranges, times, duplicates and dependency cycles
(docs/spec.md, "Validation rules", lists every rule). It is the very check
apply makes: references may point at objects already in the database
(--db), as they would for apply, or, with --prune, only at objects of the
files, as for apply --prune. Nothing is ever written.

Every error is reported as file:line:col with a hint on how to fix it;
the first 50 are printed, then how many more there are. Values quoted in
messages are cut at 80 characters. A spec file over 16 MiB, or over
64 MiB of spec files in one run, is refused before it is read.
Exit 1 if there is any error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			set, _ := spec.ParseFiles(files)
			stored, err := a.storedRecords(cmd.Context())
			if err != nil {
				return err
			}
			// The same check apply makes, against the same stored objects.
			_, errs := spec.Check(set, stored, opts)
			return a.reportValidation(set, errs)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "spec file or directory (repeatable)")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "check the files as the whole organisation, as apply --prune would")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// storedRecords are the objects of the database, if there is one: a spec
// is checked against them, since it may refer to objects applied earlier.
func (a *app) storedRecords(ctx context.Context) ([]model.Record, error) {
	s, err := store.OpenExisting(ctx, a.dbPath)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		return nil, nil
	case err != nil:
		return nil, a.openError(err)
	}
	defer s.Close()
	return s.Records(ctx)
}

// maxReported is how many errors a run prints: enough to fix a file in
// one pass, few enough that a broken or wrong file cannot flood a CI log.
const maxReported = 50

// haveDatabase reports whether the database file exists.
func (a *app) haveDatabase(ctx context.Context) bool {
	s, err := store.OpenExisting(ctx, a.dbPath)
	if err != nil {
		return !errors.Is(err, store.ErrNoDatabase)
	}
	s.Close()
	return true
}

// reportValidation prints the outcome of a validation; errors exit 1.
func (a *app) reportValidation(set *spec.Set, errs spec.Errors) error {
	shown := errs
	if len(shown) > maxReported {
		shown = shown[:maxReported]
	}
	if a.json() {
		if err := a.writeJSON(struct {
			Valid      bool        `json:"valid"`
			Files      int         `json:"files"`
			Objects    int         `json:"objects"`
			ErrorCount int         `json:"error_count"`
			Errors     spec.Errors `json:"errors"`
		}{len(errs) == 0, len(set.Files), len(set.Sources), len(errs), orEmpty(shown)}); err != nil {
			return err
		}
	} else if len(errs) == 0 {
		fmt.Fprintf(a.stdout, "ok: %d objects in %d files are valid\n", len(set.Sources), len(set.Files))
	} else {
		for _, e := range shown {
			fmt.Fprintln(a.stderr, e.Error())
		}
		if more := len(errs) - len(shown); more > 0 {
			fmt.Fprintf(a.stderr, "… and %d more %s\n", more, plural(more, "error", "errors"))
		}
		fmt.Fprintf(a.stderr, "%d %s\n", len(errs), plural(len(errs), "error", "errors"))
	}
	if len(errs) > 0 {
		return silentExit(exitError)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func newApplyCmd(a *app) *cobra.Command {
	var (
		files []string
		opts  spec.Options
	)
	cmd := &cobra.Command{
		Use:   "apply -f PATH...",
		Short: "Load spec files into the database",
		Long: `Load spec files into the database in one transaction, audited.

apply is idempotent: applying the same spec again changes nothing and says
so. It reports what a changed spec changed, field by field. Objects the
files do not mention are left alone, unless --prune makes the files the
whole organisation.

The files are checked exactly as validate checks them (with --prune,
without the stored objects). A spec with any error writes nothing, and
creates no database: the errors are reported as validate reports them
(the first 50, each at file:line:col with a hint) and apply exits 1.

apply creates the database when there is none (or an empty file):
owner-only, 0600, or 0660 with --share-group. A database whose schema is
older than this warroom's is upgraded first, as 'warroom migrate' does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			return a.apply(cmd.Context(), files, opts)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "spec file or directory (repeatable)")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "delete stored objects the files do not declare")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would change, write nothing (no database is created or upgraded)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func (a *app) apply(ctx context.Context, files []string, opts spec.Options) error {
	set, perrs := spec.ParseFiles(files)
	if len(perrs) > 0 || !a.haveDatabase(ctx) {
		// A spec with errors creates no database and writes nothing:
		// when the set did not parse, or there is no database yet, it is
		// checked first against what is stored (nothing, for a new
		// database), by spec.Check, exactly as validate and spec.Apply do.
		stored, err := a.storedRecords(ctx)
		if err != nil {
			return err
		}
		if _, errs := spec.Check(set, stored, opts); len(errs) > 0 {
			return a.reportValidation(set, errs)
		}
	}
	s, done, err := a.openForApply(ctx, opts.DryRun)
	if err != nil {
		return err
	}
	defer done()
	res, ev, err := applySet(ctx, s, a.actor, "apply", set, opts)
	if errors.Is(err, spec.ErrInvalid) {
		return a.reportValidation(set, res.Errors)
	}
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if a.json() {
		out := struct {
			Changed bool          `json:"changed"`
			DryRun  bool          `json:"dry_run"`
			Summary string        `json:"summary"`
			Changes []spec.Change `json:"changes"`
			Audit   int64         `json:"audit_seq,omitempty"`
		}{res.Changed(), opts.DryRun, res.Summary(), orEmpty(res.Changes), 0}
		if ev != nil {
			out.Audit = ev.Seq
		}
		return a.writeJSON(out)
	}
	for _, c := range res.Changes {
		sign := map[spec.Action]string{spec.Created: "+", spec.Updated: "~", spec.Deleted: "-"}[c.Action]
		fmt.Fprintf(a.stdout, "%s %s %s %s\n", sign, c.Kind, c.Name, c.Action)
		for _, f := range c.Fields {
			fmt.Fprintf(a.stdout, "    %s\n", f)
		}
	}
	prefix := ""
	if opts.DryRun {
		prefix = "dry run, nothing written: "
	}
	fmt.Fprintf(a.stdout, "%s%s\n", prefix, res.Summary())
	return nil
}

// openForApply opens the database apply writes to; done closes it. A dry
// run writes nothing, the database file included: without a database it
// compares against an empty one made in a temporary directory (removed by
// done), and it does not upgrade an old schema.
func (a *app) openForApply(ctx context.Context, dryRun bool) (s *store.Store, done func(), err error) {
	if !dryRun {
		s, err = a.openStore(ctx)
	} else if s, err = store.OpenExisting(ctx, a.dbPath); err != nil && !errors.Is(err, store.ErrNoDatabase) {
		err = a.openError(err)
	}
	if !dryRun || !errors.Is(err, store.ErrNoDatabase) {
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	tmp, err := os.MkdirTemp("", "warroom-dry-run-")
	if err != nil {
		return nil, nil, err
	}
	if s, err = store.Open(ctx, filepath.Join(tmp, "warroom.db")); err != nil {
		os.RemoveAll(tmp)
		return nil, nil, err
	}
	return s, func() { s.Close(); os.RemoveAll(tmp) }, nil
}

// applySet is the one way a spec set is applied: parse errors aside,
// validated against the stored objects, diffed and written with its audit
// event in one transaction (a dry run or an unchanged spec writes
// nothing).
func applySet(ctx context.Context, s *store.Store, actor, command string, set *spec.Set, opts spec.Options) (spec.Result, *model.AuditEvent, error) {
	var res spec.Result
	ev, err := s.Write(ctx, actor, command, func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		var err error
		res, err = spec.Apply(ctx, tx, set, opts)
		if err != nil || !res.Changed() || opts.DryRun {
			return store.Change{}, err
		}
		return store.Change{Summary: res.Summary(), Payload: struct {
			Files   []string      `json:"files"`
			Changes []spec.Change `json:"changes"`
		}{set.Files, res.Changes}}, nil
	})
	return res, ev, err
}
