package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/policy"
)

func newWhoamiCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who you act as: person, login, roles, teams and the policy mode",
		Long: `Show who warroom takes you for: the OS login, the person whose logins list
it, their built-in roles (captain, operator, approver, viewer, admin), their
teams and the governance roles those teams hold (security, compliance,
operations, support, business), and whether a delegate acts for them
(--as).

The mode is "enforced" once people are declared in the database, "open"
while none are (then anyone may do anything, and --as names the actor as
given). In enforced mode a login no person lists acts as a viewer, and
--as from anyone but a delegate is refused (exit 3, audited).

With -o json: {"policy", "actor", "login", "person", "display_name",
"delegate", "is_delegate", "roles", "teams", "governance_roles",
"policy_name"}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			id := a.gov.id
			name := ""
			if a.gov.pol != nil {
				name = a.gov.pol.Name()
			}
			if a.json() {
				return a.writeJSON(struct {
					Mode        policy.Mode `json:"policy"`
					Actor       string      `json:"actor"`
					Login       string      `json:"login"`
					Person      string      `json:"person"`
					DisplayName string      `json:"display_name,omitempty"`
					Delegate    string      `json:"delegate,omitempty"`
					IsDelegate  bool        `json:"is_delegate"`
					Roles       []string    `json:"roles"`
					Teams       []string    `json:"teams"`
					Governance  []string    `json:"governance_roles"`
					PolicyName  string      `json:"policy_name,omitempty"`
				}{a.policyMode(), id.Actor(), id.Login, id.Person, id.DisplayName, id.Delegate, id.IsDelegate,
					orEmpty(id.Roles), orEmpty(id.Teams), orEmpty(id.Governance), name})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			defer tw.Flush()
			row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
			{
				person := id.Person
				switch {
				case a.policyMode() == policy.Open:
					person += " (not declared: open mode)"
				case person == "":
					person = "(none: no person lists this login)"
				case id.DisplayName != "":
					person += " (" + id.DisplayName + ")"
				}
				row("person:", person)
				row("login:", id.Login)
				if id.Delegate != "" {
					row("delegate:", id.Delegate+", acting for "+id.Person+" (audited as \""+id.Actor()+"\")")
				} else if id.IsDelegate {
					row("delegate:", "yes: may act --as another person")
				}
				row("roles:", listOrNone(id.Roles))
				teams := listOrNone(id.Teams)
				if len(id.Governance) > 0 {
					teams += " (governance roles: " + strings.Join(id.Governance, ", ") + ")"
				}
				row("teams:", teams)
				switch {
				case a.policyMode() == policy.Open:
					row("policy:", "open: no people are declared, so anyone may do anything")
				case name != "":
					row("policy:", fmt.Sprintf("enforced, by policy %s (defaults for the actions it does not name)", name))
				default:
					row("policy:", "enforced, by the default roles of each action")
				}
			}
			return nil
		},
	}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
