package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/model"
)

func newGraphCmd(a *app) *cobra.Command {
	var release string
	cmd := &cobra.Command{
		Use:   "graph [--release NAME]",
		Short: "The dependency graph (-o text, json, dot or mermaid)",
		Long: `Print the dependency graph of the catalogue: an edge goes from a consumer
to the provider of an API it requires (kind api) or to a database it uses
(kind database). With --release, the graph is the world after the release:
its services at their new versions, marked in scope, and every edge checked
against the provider's new version.

  warroom graph -o dot | dot -Tsvg > graph.svg
  warroom graph -o mermaid --release 2026.12-checkout`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json", "dot", "mermaid"); err != nil {
				return err
			}
			org, err := a.loadOrg(cmd)
			if err != nil {
				return err
			}
			g := graph.New(org)
			if release != "" {
				ix := model.NewIndex(org)
				rel, ok := ix.Releases[release]
				if !ok {
					return unknownRelease(release, org)
				}
				g = graph.ForRelease(ix, rel)
			}
			switch a.output {
			case "json":
				nodes, edges := g.Nodes(), g.Edges()
				if nodes == nil {
					nodes = []graph.Node{}
				}
				if edges == nil {
					edges = []graph.Edge{}
				}
				return a.writeJSON(struct {
					Release string       `json:"release,omitempty"`
					Nodes   []graph.Node `json:"nodes"`
					Edges   []graph.Edge `json:"edges"`
				}{release, nodes, edges})
			case "dot":
				_, err := fmt.Fprint(a.stdout, g.DOT())
				return err
			case "mermaid":
				_, err := fmt.Fprint(a.stdout, g.Mermaid())
				return err
			}
			return a.printGraph(g)
		},
	}
	cmd.Flags().StringVar(&release, "release", "", "show the world after this release")
	return cmd
}

// printGraph lists each service with what it depends on.
func (a *app) printGraph(g *graph.Graph) error {
	deps := map[string][]string{}
	for _, e := range g.Edges() {
		mark := ""
		if !e.Satisfied {
			mark = " (UNSATISFIED)"
		}
		label := e.To
		if e.API != "" {
			label = fmt.Sprintf("%s via %s %s%s", e.To, e.API, e.Range, mark)
		}
		deps[e.From] = append(deps[e.From], label)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tTIER\tVERSION\tOWNER\tDEPENDS ON")
	for _, n := range g.Nodes() {
		version := n.Version
		if n.InScope {
			version = n.FromVersion + " -> " + n.ToVersion
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", n.Name, n.Tier, version, dash(n.Owner), dash(strings.Join(deps[n.Name], "; ")))
	}
	return tw.Flush()
}

func unknownRelease(name string, org *model.Org) error {
	var names []string
	for _, r := range org.Releases {
		names = append(names, r.Name)
	}
	if len(names) == 0 {
		return fmt.Errorf("unknown release %q: the database has no releases; apply a spec with releases first", name)
	}
	return fmt.Errorf("unknown release %q: known releases are %s", name, strings.Join(names, ", "))
}
