package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
)

func intp(n int) *int { return &n }

// org is a small organisation with one person per role, a delegate and
// teams holding governance roles.
func org() *model.Org {
	return &model.Org{
		Teams: []model.Team{
			{Name: "platform", Roles: []string{"operations"}},
			{Name: "appsec", Roles: []string{"security"}},
		},
		People: []model.Person{
			{Name: "alice", Logins: []string{"alice", "al"}, Roles: []string{"captain"}, Teams: []string{"platform"}},
			{Name: "bob", Logins: []string{"bob"}, Roles: []string{"operator"}},
			{Name: "carol", Logins: []string{"carol"}, Roles: []string{"approver"}, Teams: []string{"appsec"}},
			{Name: "dave", Logins: []string{"dave"}, Roles: []string{"viewer"}},
			{Name: "root-admin", Logins: []string{"adm"}, Roles: []string{"admin"}},
			{Name: "ci-bot", Logins: []string{"ci"}, Roles: []string{"operator"}, Delegate: true},
		},
	}
}

func TestResolve(t *testing.T) {
	p := New(org())
	for _, c := range []struct {
		name, login, as string
		actor           string
		roles           []string
		refused         string // part of the refusal, "" for none
	}{
		{"own login", "alice", "", "alice", []string{"captain"}, ""},
		{"second login", "al", "", "alice", []string{"captain"}, ""},
		{"as oneself", "alice", "alice", "alice", []string{"captain"}, ""},
		{"undeclared is a viewer", "mallory", "", "mallory", []string{"viewer"}, ""},
		{"delegate as itself", "ci", "", "ci-bot", []string{"operator"}, ""},
		{"delegate for a person", "ci", "alice", "ci-bot for alice", []string{"captain"}, ""},
		{"non-delegate --as", "bob", "alice", "", nil, "bob (login bob) is not a delegate"},
		{"undeclared --as", "mallory", "alice", "", nil, "login mallory is no declared person"},
		{"delegate for nobody", "ci", "alise", "", nil, `no person "alise"`},
		{"delegate for a delegate", "ci", "ci-bot", "ci-bot", []string{"operator"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := p.Resolve(c.login, c.as)
			if c.refused != "" {
				var re *RefusedError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("got %v, want a refusal saying %q", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Actor() != c.actor || !slices.Equal(id.Roles, c.roles) || id.Mode != Enforced {
				t.Errorf("got actor %q roles %v mode %s, want %q %v enforced", id.Actor(), id.Roles, id.Mode, c.actor, c.roles)
			}
		})
	}
	if id, _ := p.Resolve("alice", ""); !slices.Equal(id.Governance, []string{"operations"}) || !id.Holds("platform") || !id.Holds("operations") {
		t.Errorf("alice's governance roles and teams: %+v", id)
	}
	if _, err := p.Resolve("ci", "ghost-bot"); err == nil || !strings.Contains(err.Error(), "hint:") {
		t.Errorf("unknown --as gives no hint: %v", err)
	}
	o := org()
	o.People = append(o.People, model.Person{Name: "ci-two", Logins: []string{"ci2"}, Delegate: true})
	if _, err := New(o).Resolve("ci", "ci-two"); err == nil || !strings.Contains(err.Error(), "delegate itself") {
		t.Errorf("a delegate acting for a delegate: %v", err)
	}
}

func TestOpenMode(t *testing.T) {
	p := New(&model.Org{Teams: org().Teams})
	if p.Mode() != Open {
		t.Fatalf("mode %s with no people", p.Mode())
	}
	id, err := p.Resolve("anyone", "someone-else")
	if err != nil || id.Actor() != "someone-else" || id.Mode != Open {
		t.Fatalf("open mode --as: %+v %v", id, err)
	}
	for _, a := range Actions {
		d := p.Decide(id, Request{Action: a, Requester: "someone-else"})
		if !d.Allowed || d.Mode != Open || !strings.Contains(d.Reasons[0], "open mode") {
			t.Errorf("%s in open mode: %+v", a, d)
		}
	}
}

// TestDecideMatrix runs every action for every role, with the defaults.
func TestDecideMatrix(t *testing.T) {
	p := New(org())
	logins := map[string]string{"captain": "alice", "operator": "bob", "approver": "carol", "viewer": "dave", "admin": "adm", "undeclared": "mallory"}
	// allowed[action] = the roles the default lets through.
	allowed := map[Action][]string{
		Apply: {"captain", "admin"}, DeployStart: {"captain", "operator", "admin"}, DeployContinue: {"captain", "operator", "admin"},
		DeployApprove: {"captain", "approver", "admin"}, DeployPause: {"captain", "operator", "admin"}, DeployResume: {"captain", "operator", "admin"},
		DeployRollback: {"captain", "operator", "admin"}, DeployAbort: {"captain", "operator", "admin"}, DeploySkip: {"captain", "operator", "admin"},
		GateWaive: {"captain", "approver", "admin"}, GateApprove: {"captain", "approver", "admin"}, PluginsTrust: {"admin"},
		EvidenceAdd: {"captain", "operator", "admin"}, ChangeApprove: {"captain", "approver", "admin"},
		ChangeCreate: {"captain", "operator", "admin"},
	}
	if len(allowed) != len(Actions) {
		t.Fatalf("the matrix covers %d actions of %d", len(allowed), len(Actions))
	}
	for _, a := range Actions {
		for _, role := range []string{"captain", "operator", "approver", "viewer", "admin", "undeclared"} {
			id, err := p.Resolve(logins[role], "")
			if err != nil {
				t.Fatal(err)
			}
			d := p.Decide(id, Request{Action: a})
			if want := slices.Contains(allowed[a], role); d.Allowed != want {
				t.Errorf("%s by %s: allowed %v, want %v (%s)", a, role, d.Allowed, want, d.Summary())
			}
			if !d.Allowed && (!strings.Contains(d.Reasons[0], "needs") || d.NeedsFrom != "default") {
				t.Errorf("%s by %s: refusal does not say what is needed: %v", a, role, d.Reasons)
			}
		}
	}
}

func TestDecideRules(t *testing.T) {
	o := org()
	o.Policies = []model.Policy{{Name: "strict", Actions: map[string][]string{"deploy.start": {"captain"}, "plugins.trust": {"security"}, "apply": {}}}}
	p := New(o)
	as := func(login, as string) Identity {
		id, err := p.Resolve(login, as)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for _, c := range []struct {
		name    string
		id      Identity
		req     Request
		allowed bool
		reason  string
	}{
		{"policy narrows deploy.start", as("bob", ""), Request{Action: DeployStart}, false, "needs captain (policy strict)"},
		{"policy keeps the captain", as("alice", ""), Request{Action: DeployStart}, true, "holds captain"},
		{"governance role from a team", as("carol", ""), Request{Action: PluginsTrust}, true, "holds security"},
		{"empty list: admins only", as("alice", ""), Request{Action: Apply}, false, "admin (the policy allows nobody else)"},
		{"admin passes an empty list", as("adm", ""), Request{Action: Apply}, true, "is an admin"},
		{"approver of the environment", as("alice", ""), Request{Action: DeployApprove, Approvers: []string{"operations"}, ApproversOf: "environment prod"}, true, "one of the approvers of environment prod"},
		{"not an approver of the environment", as("carol", ""), Request{Action: DeployApprove, Approvers: []string{"operations"}, ApproversOf: "environment prod"}, false, "environment prod approves only by operations"},
		{"admin is no approver", as("adm", ""), Request{Action: DeployApprove, Approvers: []string{"operations"}}, false, "approves only by operations"},
		{"own run", as("alice", ""), Request{Action: DeployApprove, Requester: "alice", Requested: "run r1"}, false, "four-eyes: alice asked for run r1"},
		{"run started by a delegate for me", as("alice", ""), Request{Action: DeployApprove, Requester: "ci-bot for alice"}, false, "four-eyes"},
		{"run started by a delegate for another", as("alice", ""), Request{Action: DeployApprove, Requester: "ci-bot for bob"}, true, "four-eyes: ci-bot for bob asked for it"},
		{"delegate approving for me my own run", as("ci", "alice"), Request{Action: DeployApprove, Requester: "alice"}, false, "four-eyes"},
		{"delegate that started the run", as("ci", "carol"), Request{Action: DeployApprove, Requester: "ci-bot for alice"}, false, "four-eyes"},
		{"own waiver", as("carol", ""), Request{Action: GateWaive, Requester: "carol"}, false, "four-eyes"},
		{"another's waiver", as("carol", ""), Request{Action: GateWaive, Requester: "alice"}, true, ""},
		{"own change", as("carol", ""), Request{Action: ChangeApprove, Requester: "carol"}, false, "four-eyes"},
		{"admin never escapes four-eyes", as("adm", ""), Request{Action: ChangeApprove, Requester: "root-admin"}, false, "four-eyes"},
		{"second approval by the same person", as("alice", ""), Request{Action: DeployApprove, Prior: []string{"ci-bot for alice"}}, false, "already signed this off"},
		{"quorum from another", as("alice", ""), Request{Action: DeployApprove, Prior: []string{"carol"}}, true, ""},
		{"four-eyes is for sign-offs only", as("alice", ""), Request{Action: DeployPause, Requester: "alice"}, true, ""},
		{"unknown action", as("alice", ""), Request{Action: "deploy.fly"}, false, "unknown action"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := p.Decide(c.id, c.req)
			if d.Allowed != c.allowed || !strings.Contains(strings.Join(d.Reasons, "\n"), c.reason) {
				t.Errorf("allowed %v, want %v with %q\n%s", d.Allowed, c.allowed, c.reason, d.Summary())
			}
		})
	}
}

func TestFourEyes(t *testing.T) {
	for _, c := range []struct {
		approver, requester string
		violation           bool
	}{
		{"alice", "alice", true},
		{"alice", "bob", false},
		{"alice", "", false},
		{"ci-bot for alice", "alice", true},
		{"alice", "ci-bot for alice", true},
		{"ci-bot for bob", "ci-bot for alice", true}, // the delegate started it
		{"ci-bot for bob", "alice", false},
		{"bob", "ci-bot", false},
		{"ci-bot", "ci-bot for alice", true},
	} {
		err := FourEyes(c.approver, c.requester)
		var fe *FourEyesError
		if got := errors.As(err, &fe); got != c.violation {
			t.Errorf("FourEyes(%q, %q) = %v, want violation %v", c.approver, c.requester, err, c.violation)
		}
	}
}

func TestActorStrings(t *testing.T) {
	for _, c := range []struct{ delegate, person, actor string }{
		{"", "alice", "alice"}, {"ci-bot", "alice", "ci-bot for alice"}, {"alice", "alice", "alice"},
	} {
		if got := ActorString(c.delegate, c.person); got != c.actor {
			t.Errorf("ActorString(%q, %q) = %q", c.delegate, c.person, got)
		}
		d, p := SplitActor(c.actor)
		if p != c.person || (c.delegate != c.person && d != c.delegate) {
			t.Errorf("SplitActor(%q) = %q, %q", c.actor, d, p)
		}
	}
	if got := Distinct([]string{"alice", "ci-bot for alice", "bob", "alice"}); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("Distinct = %v", got)
	}
	if QuorumMet([]string{"alice", "ci-bot for alice"}, 2) || !QuorumMet([]string{"alice", "bob"}, 2) || !QuorumMet([]string{"alice"}, 0) {
		t.Error("QuorumMet counts people, not sign-offs")
	}
}

func TestExpired(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		now     time.Time
		ttl     time.Duration
		expired bool
	}{
		{at.Add(time.Hour), time.Hour, true},
		{at.Add(59 * time.Minute), time.Hour, false},
		{at.Add(23 * time.Hour), 0, false},
		{at.Add(24 * time.Hour), 0, true},
	} {
		if got := Expired(at, c.now, c.ttl); got != c.expired {
			t.Errorf("Expired(at, +%s, %s) = %v", c.now.Sub(at), c.ttl, got)
		}
	}
	o := org()
	o.Policies = []model.Policy{{Name: "p", ApprovalTTL: model.Duration(2 * time.Hour)}}
	if New(o).TTL() != 2*time.Hour || New(org()).TTL() != DefaultApprovalTTL {
		t.Error("TTL from the policy, else the default")
	}
}

func TestDescribe(t *testing.T) {
	p := New(org())
	for login, want := range map[string]string{
		"alice":   "alice (login alice): roles captain; teams platform (operations)",
		"mallory": "login mallory (no person declares it, so a viewer)",
	} {
		id, _ := p.Resolve(login, "")
		if got := id.Describe(); got != want {
			t.Errorf("Describe(%s) = %q, want %q", login, got, want)
		}
	}
	id, _ := p.Resolve("ci", "bob")
	if got := id.Describe(); !strings.HasPrefix(got, "ci-bot for bob (delegate ci-bot acting for bob, login ci): roles operator") {
		t.Errorf("delegate: %q", got)
	}
}

// TestMayApprove: a sign-off counts from a declared person holding one of
// the approvers (a role, a team, a governance role through a team), the
// same holdings Decide checks; admin is no approver by itself, and an
// undeclared name never is.
func TestMayApprove(t *testing.T) {
	p := New(org())
	for _, c := range []struct {
		person    string
		approvers []string
		want      bool
	}{
		{"carol", []string{"approver"}, true},      // a built-in role
		{"alice", []string{"platform"}, true},      // a team
		{"alice", []string{"operations"}, true},    // platform's governance role
		{"carol", []string{"x", "security"}, true}, // any one of them
		{"bob", []string{"approver", "operations"}, false},
		{"root-admin", []string{"approver"}, false},
		{"mallory", []string{"viewer"}, false},
		{"ci-bot for alice", []string{"captain"}, false}, // a person's name, not an actor string
	} {
		if got := p.MayApprove(c.person, c.approvers); got != c.want {
			t.Errorf("MayApprove(%q, %v) = %v, want %v", c.person, c.approvers, got, c.want)
		}
		// Decide checks a sign-off's approvers with the same holdings.
		if id, err := p.Resolve(c.person, ""); err == nil && id.Declared() {
			d := p.Decide(id, Request{Action: GateApprove, Approvers: c.approvers})
			if approves := !slices.ContainsFunc(d.Reasons, func(r string) bool { return strings.Contains(r, "holds none of them") }); approves != c.want {
				t.Errorf("Decide for %s with approvers %v: %v, MayApprove says %v", c.person, c.approvers, d.Reasons, c.want)
			}
		}
	}
}
