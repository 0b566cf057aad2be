package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/model"
)

func newReleaseCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "release", Short: "Releases (trains) and their scope"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List releases by window",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			org, err := a.loadOrg(cmd)
			if err != nil {
				return err
			}
			rels := org.Releases
			if a.json() {
				type item struct {
					model.Release
					ClassEffective model.ChangeClass `json:"effective_class"`
				}
				out := make([]item, 0, len(rels))
				for _, r := range rels {
					out = append(out, item{r, r.EffectiveClass()})
				}
				return a.writeJSON(out)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCLASS\tWINDOW (UTC)\tSERVICES\tMIGRATIONS\tCAPTAIN")
			for _, r := range rels {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Name, r.EffectiveClass(), formatWindow(r.Window), len(r.Scope), len(r.Migrations), r.Captain)
			}
			return tw.Flush()
		},
	})
	return cmd
}

func formatWindow(w model.Window) string {
	const layout = "2006-01-02 15:04"
	if w.Start.Format("2006-01-02") == w.End.Format("2006-01-02") {
		return w.Start.UTC().Format(layout) + "-" + w.End.UTC().Format("15:04")
	}
	return w.Start.UTC().Format(layout) + " - " + w.End.UTC().Format(layout)
}

func newEnvCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "env", Short: "Environments in promotion order"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List environments in promotion order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			org, err := a.loadOrg(cmd)
			if err != nil {
				return err
			}
			if a.json() {
				out := org.Environments
				if out == nil {
					out = []model.Environment{}
				}
				return a.writeJSON(out)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ORDER\tNAME\tPRODUCTION\tDATA\tREGIONS\tGATES\tAPPROVAL")
			for _, e := range org.Environments {
				var regions []string
				for _, r := range e.Regions {
					regions = append(regions, r.Name)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Order, e.Name, yesNo(e.Production), dash(string(e.Data)),
					dash(strings.Join(regions, ", ")), dash(strings.Join(e.Gates, ", ")), yesNo(e.Approval))
			}
			return tw.Flush()
		},
	})
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// loadOrg reads the organisation from the database.
func (a *app) loadOrg(cmd *cobra.Command) (*model.Org, error) {
	s, err := a.openExisting(cmd.Context())
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Org(cmd.Context())
}
