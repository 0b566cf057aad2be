package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/synth"
)

func newGenCmd(a *app) *cobra.Command {
	var (
		opts synth.Options
		out  string
	)
	cmd := &cobra.Command{
		Use:   "gen --services N --out DIR",
		Short: "Generate a large synthetic organisation as spec files",
		Long: `Write the spec files of a synthetic organisation: a layered, acyclic
dependency graph of N services with teams, shared libraries, databases,
environments, a freeze, maintenance windows and one release. Deterministic
for a given --seed. For benchmarks and load tests:

  warroom gen --services 5000 --out /tmp/org && warroom apply -f /tmp/org`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text"); err != nil {
				return err
			}
			if opts.Services < 1 {
				return usageError{fmt.Errorf("--services must be at least 1")}
			}
			// synth would replace these silently (a negative --teams by the
			// default, --scope by 10 or 100): refused instead.
			if opts.Teams < 0 {
				return usageError{fmt.Errorf("--teams must be 0 (services/50, at least 3) or more, got %d", opts.Teams)}
			}
			if opts.ScopePercent < 1 || opts.ScopePercent > 100 {
				return usageError{fmt.Errorf("--scope must be a percent from 1 to 100, got %d", opts.ScopePercent)}
			}
			if err := synth.Write(out, opts); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote a %d-service organisation to %s\n", opts.Services, out)
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Services, "services", 500, "number of services, at least 1")
	cmd.Flags().IntVar(&opts.Teams, "teams", 0, "number of teams; 0 means services/50, at least 3")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "random seed")
	cmd.Flags().IntVar(&opts.ScopePercent, "scope", 10, "percent of services in the generated release, 1 to 100")
	cmd.Flags().StringVar(&out, "out", "", "directory to write (created if needed; files of the same names are overwritten)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
