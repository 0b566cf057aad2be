package main

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/model"
)

func newReleaseCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "release", Short: "Releases (trains) and their scope"}
	cmd.AddCommand(a.orgCommand(&cobra.Command{
		Use:   "list",
		Short: "List releases by window",
		Args:  cobra.NoArgs,
	}, func(cmd *cobra.Command, org *model.Org, args []string) error {
		rels := append([]model.Release(nil), org.Releases...)
		sort.SliceStable(rels, func(i, j int) bool { return rels[i].Window.Start.Before(rels[j].Window.Start) })
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
		return a.table("NAME\tCLASS\tWINDOW (UTC)\tSERVICES\tMIGRATIONS\tCAPTAIN", func(row func(...any)) {
			for _, r := range rels {
				row(r.Name, r.EffectiveClass(), formatWindow(r.Window), len(r.Scope), len(r.Migrations), dash(r.Captain))
			}
		})
	}))
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
	cmd.AddCommand(a.orgCommand(&cobra.Command{
		Use:   "list",
		Short: "List environments in promotion order",
		Args:  cobra.NoArgs,
	}, func(cmd *cobra.Command, org *model.Org, args []string) error {
		if a.json() {
			return a.writeJSON(orEmpty(org.Environments))
		}
		return a.table("ORDER\tNAME\tPRODUCTION\tDATA\tREGIONS\tGATES\tAPPROVAL", func(row func(...any)) {
			for _, e := range org.Environments {
				var regions []string
				for _, r := range e.Regions {
					regions = append(regions, r.Name)
				}
				row(e.Order, e.Name, yesNo(e.Production), dash(string(e.Data)),
					dash(strings.Join(regions, ", ")), dash(strings.Join(e.Gates, ", ")), yesNo(e.Approval))
			}
		})
	}))
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
