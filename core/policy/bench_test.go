package policy

import (
	"fmt"
	"testing"

	"github.com/warroom/warroom/core/model"
)

// bigOrg has n people in 50 teams, one of them the delegate ci-bot.
func bigOrg(n int) *model.Org {
	o := &model.Org{}
	for i := range 50 {
		o.Teams = append(o.Teams, model.Team{Name: fmt.Sprintf("team-%d", i), Roles: []string{model.Roles[i%len(model.Roles)]}})
	}
	for i := range n {
		o.People = append(o.People, model.Person{Name: fmt.Sprintf("p%d", i), Logins: []string{fmt.Sprintf("l%d", i)},
			Teams: []string{fmt.Sprintf("team-%d", i%50)}, Roles: []string{model.BuiltinRoles[i%len(model.BuiltinRoles)]}})
	}
	o.People = append(o.People, model.Person{Name: "ci-bot", Logins: []string{"ci"}, Roles: []string{"operator"}, Delegate: true})
	return o
}

// BenchmarkNewResolveDecide is what a command pays before it runs: build
// the policy of an organisation of 5,000 people, resolve the actor
// through a delegate and decide an approval.
func BenchmarkNewResolveDecide(b *testing.B) {
	org := bigOrg(5000)
	req := Request{Action: DeployApprove, Approvers: []string{"operations"}, Requester: "ci-bot for p7", Prior: []string{"p9"}}
	for b.Loop() {
		p := New(org)
		id, err := p.Resolve("ci", "p2")
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Decide(id, req)
	}
}
