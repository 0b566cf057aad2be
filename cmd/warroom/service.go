package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/model"
)

func newServiceCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "The service catalogue: owners, escalation, blast radius"}
	cmd.AddCommand(a.orgCommand(&cobra.Command{
		Use:   "list",
		Short: "List services",
		Args:  cobra.NoArgs,
	}, func(cmd *cobra.Command, org *model.Org, args []string) error {
		if a.json() {
			return a.writeJSON(orEmpty(org.Services))
		}
		return a.table("NAME\tTIER\tKIND\tVERSION\tOWNER", func(row func(...any)) {
			for _, s := range org.Services {
				row(s.Name, s.Tier, orDefault(string(s.Kind), string(model.Stateless)), s.Version, dash(s.Owner))
			}
		})
	}))
	cmd.AddCommand(a.orgCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "A service's owner, escalation path, dependencies and blast radius",
		Args:  cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, org *model.Org, args []string) error {
		ix := model.NewIndex(org)
		svc, ok := ix.Services[args[0]]
		if !ok {
			return fmt.Errorf("unknown service %q: 'warroom service list' shows the catalogue", args[0])
		}
		g := graph.New(org)
		blast := g.BlastRadius(svc.Name)
		owner := ix.OwnerOf(svc.Owner)
		if a.json() {
			return a.writeJSON(struct {
				Service      model.Service     `json:"service"`
				Owner        model.Owner       `json:"owner"`
				Dependencies []string          `json:"dependencies"`
				BlastRadius  []graph.Dependent `json:"blast_radius"`
				Summary      graph.Summary     `json:"blast_summary"`
			}{*svc, owner, orEmpty(g.Dependencies(svc.Name)), orEmpty(blast), graph.Summarize(blast)})
		}
		w := a.stdout
		fmt.Fprintf(w, "%s %s (tier %d, %s)\n", svc.Name, svc.Version, svc.Tier, orDefault(string(svc.Kind), "stateless"))
		if svc.Description != "" {
			fmt.Fprintf(w, "  %s\n", svc.Description)
		}
		fmt.Fprintf(w, "\nOwner: %s", dash(owner.Name))
		if owner.Kind != "" {
			fmt.Fprintf(w, " (%s)", owner.Kind)
		}
		fmt.Fprintln(w)
		if owner.Channel != "" || owner.OnCall != "" {
			fmt.Fprintf(w, "  channel %s, on-call %s\n", dash(owner.Channel), dash(owner.OnCall))
		}
		for i, c := range owner.Escalation {
			var how []string
			for _, s := range []string{c.Email, c.Phone, c.Chat, c.OnCall} {
				if s != "" {
					how = append(how, s)
				}
			}
			fmt.Fprintf(w, "  %d. %s, %s: %s\n", i+1, c.Name, dash(c.Role), strings.Join(how, ", "))
		}
		fmt.Fprintf(w, "\nDepends on: %s\n", dash(strings.Join(g.Dependencies(svc.Name), ", ")))
		sum := graph.Summarize(blast)
		fmt.Fprintf(w, "\nBlast radius: %d dependents (%d direct)\n", sum.Total, sum.Direct)
		if len(blast) > 0 {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  DEPTH\tSERVICE\tTIER\tOWNER\tVIA")
			for _, d := range blast {
				fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\t%s\n", d.Depth, d.Name, d.Tier, dash(d.Owner), d.Via)
			}
			return tw.Flush()
		}
		return nil
	}))
	return cmd
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
