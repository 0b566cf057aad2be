package graph

import (
	"fmt"
	"strings"
)

// Colours of the renderings. Status is always spelled out in the labels
// too ("in scope", "unsatisfied"), never carried by colour alone.
const (
	scopeFill   = "#fff2cc"
	scopeStroke = "#b45f06"
	brokenColor = "#cc0000"
)

func (g *Graph) nodeLabel(p int) (title, version string) {
	s := g.cur[p]
	version = s.Version
	if g.item[p] != nil {
		version = g.old[p].Version + " -> " + s.Version + " (in scope)"
	}
	return s.Name, fmt.Sprintf("%s, tier %d", version, s.Tier)
}

func edgeLabel(e Edge) string {
	l := string(e.Kind)
	if e.Kind == EdgeAPI {
		l = e.API + " " + e.Range
		if e.Optional {
			l += " (optional)"
		}
	}
	if !e.Satisfied {
		l += " (unsatisfied: " + e.ProviderVersion + ")"
	}
	return l
}

// DOT renders the graph in Graphviz's language: nodes by name, edges in
// Edges order, in-scope services filled and bold, unsatisfied edges red,
// bold and labelled, database edges dashed.
func (g *Graph) DOT() string {
	var b strings.Builder
	b.WriteString("digraph warroom {\n\trankdir=LR;\n\tnode [shape=box, fontname=\"Helvetica\"];\n\tedge [fontname=\"Helvetica\", fontsize=10];\n")
	for p := range g.names {
		title, version := g.nodeLabel(p)
		fmt.Fprintf(&b, "\t%s [label=%s", dotQuote(g.names[p]), dotQuote(title+"\n"+version))
		if g.item[p] != nil {
			fmt.Fprintf(&b, ", style=\"filled,bold\", fillcolor=%q, color=%q", scopeFill, scopeStroke)
		}
		b.WriteString("];\n")
	}
	for _, e := range g.edges {
		fmt.Fprintf(&b, "\t%s -> %s [label=%s", dotQuote(e.From), dotQuote(e.To), dotQuote(edgeLabel(e)))
		switch {
		case !e.Satisfied:
			fmt.Fprintf(&b, ", color=%q, fontcolor=%q, style=bold", brokenColor, brokenColor)
		case e.Kind == EdgeDatabase:
			b.WriteString(", style=dashed")
		case e.Optional:
			b.WriteString(", style=dotted")
		}
		b.WriteString("];\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// Mermaid renders the graph as a Mermaid flowchart. Node ids are n<index>
// so that any service name is safe; in-scope services get the class
// "inscope", unsatisfied edges a thick red link.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for p := range g.names {
		title, version := g.nodeLabel(p)
		fmt.Fprintf(&b, "\tn%d[\"%s<br/>%s\"]", p, mermaidEscape(title), mermaidEscape(version))
		if g.item[p] != nil {
			b.WriteString(":::inscope")
		}
		b.WriteString("\n")
	}
	var broken []int
	for i, e := range g.edges {
		arrow := "-->"
		switch {
		case !e.Satisfied:
			arrow = "==>"
			broken = append(broken, i)
		case e.Kind == EdgeDatabase || e.Optional:
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "\tn%d %s|\"%s\"| n%d\n", g.pos[e.From], arrow, mermaidEscape(edgeLabel(e)), g.pos[e.To])
	}
	fmt.Fprintf(&b, "\tclassDef inscope fill:%s,stroke:%s,stroke-width:2px\n", scopeFill, scopeStroke)
	for _, i := range broken {
		fmt.Fprintf(&b, "\tlinkStyle %d stroke:%s,stroke-width:3px,color:%s\n", i, brokenColor, brokenColor)
	}
	return b.String()
}

// mermaidEscape writes characters Mermaid would read as markup as its
// numeric entity codes.
func mermaidEscape(s string) string {
	r := strings.NewReplacer(`"`, "#34;", "<", "#60;", ">", "#62;", "|", "#124;", "#", "#35;")
	return r.Replace(s)
}
