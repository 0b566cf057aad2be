package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/core/model"
)

// Mode says whether warroom enforces a policy.
type Mode string

const (
	// Open: no people are declared, so anyone may do anything. Every
	// output says so; nothing is silently permissive.
	Open Mode = "open"
	// Enforced: people are declared; every actor is resolved to one of
	// them (or is a viewer) and every action is decided.
	Enforced Mode = "enforced"
)

// Policy is the organisation's policy as decided: who the people are and
// who may take each action. Build it with New; it is read-only after.
type Policy struct {
	name     string // the policy object's name; "" when none is declared
	actions  map[Action][]string
	declared map[Action]bool // named by the policy object (else default)
	ttl      time.Duration
	people   map[string]*model.Person
	byLogin  map[string]*model.Person
	teams    map[string]*model.Team

	// holds is each declared person's identity (roles, teams, governance
	// roles), for MayApprove; worked out once, on its first call.
	holdsOnce sync.Once
	holds     map[string]Identity
}

// New builds the policy of a declared organisation. The organisation has
// passed validation (at most one policy object, logins unique); New still
// never fails: a later duplicate is ignored.
func New(org *model.Org) *Policy {
	p := &Policy{
		actions:  map[Action][]string{},
		declared: map[Action]bool{},
		ttl:      DefaultApprovalTTL,
		people:   map[string]*model.Person{},
		byLogin:  map[string]*model.Person{},
		teams:    map[string]*model.Team{},
	}
	for a, who := range defaults {
		p.actions[a] = who
	}
	if org == nil {
		return p
	}
	for i := range org.Teams {
		p.teams[org.Teams[i].Name] = &org.Teams[i]
	}
	for i := range org.People {
		person := &org.People[i]
		p.people[person.Name] = person
		for _, l := range person.Logins {
			if _, taken := p.byLogin[l]; !taken {
				p.byLogin[l] = person
			}
		}
	}
	if len(org.Policies) > 0 {
		pol := org.Policies[0]
		p.name = pol.Name
		for a, who := range pol.Actions {
			p.actions[Action(a)] = slices.Clone(who)
			p.declared[Action(a)] = true
		}
		if pol.ApprovalTTL > 0 {
			p.ttl = pol.ApprovalTTL.Std()
		}
	}
	return p
}

// Mode is Open when no person is declared, else Enforced.
func (p *Policy) Mode() Mode {
	if len(p.people) == 0 {
		return Open
	}
	return Enforced
}

// Name is the policy object's name, or "" when the defaults apply.
func (p *Policy) Name() string { return p.name }

// TTL is how long approvals and sign-offs stay valid.
func (p *Policy) TTL() time.Duration { return p.ttl }

// Allowed returns who may take the action (roles and teams) and whether
// the policy object says so (false: the default).
func (p *Policy) Allowed(a Action) (who []string, declared bool) {
	return slices.Clone(p.actions[a]), p.declared[a]
}

// Identity is who is acting, resolved.
type Identity struct {
	Mode  Mode   `json:"mode"`
	Login string `json:"login"` // the OS user name
	// Person is the person acting (for a delegate acting --as, the person
	// acted for); "" for a login no person declares.
	Person      string `json:"person,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	// Delegate is the service account acting for Person ("" for none).
	Delegate string `json:"delegate,omitempty"`
	// IsDelegate: Person is a delegate acting as itself.
	IsDelegate bool     `json:"is_delegate,omitempty"`
	Roles      []string `json:"roles"`            // built-in roles
	Teams      []string `json:"teams"`            // the person's teams
	Governance []string `json:"governance_roles"` // held through the teams
}

// Declared reports whether the actor is a declared person.
func (id Identity) Declared() bool { return id.Person != "" }

// Actor is the audit actor: "alice", "ci-bot for alice", or the login of
// an undeclared user.
func (id Identity) Actor() string {
	if id.Person == "" {
		return id.Login
	}
	return ActorString(id.Delegate, id.Person)
}

// Holds reports whether the actor holds a role (built-in or governance)
// or belongs to a team of that name.
func (id Identity) Holds(name string) bool {
	return slices.Contains(id.Roles, name) || slices.Contains(id.Governance, name) || slices.Contains(id.Teams, name)
}

// Describe says who the actor is and what they hold, in one line:
// "alice (login alice): roles captain, approver; teams platform (operations)".
func (id Identity) Describe() string {
	var b strings.Builder
	switch {
	case id.Mode == Open:
		fmt.Fprintf(&b, "%s (login %s, open mode)", id.Actor(), id.Login)
		return b.String()
	case id.Person == "":
		fmt.Fprintf(&b, "login %s (no person declares it, so a viewer)", id.Login)
		return b.String()
	case id.Delegate != "":
		fmt.Fprintf(&b, "%s (delegate %s acting for %s, login %s)", id.Actor(), id.Delegate, id.Person, id.Login)
	default:
		fmt.Fprintf(&b, "%s (login %s)", id.Person, id.Login)
	}
	fmt.Fprintf(&b, ": roles %s", listOr(id.Roles, "none"))
	if len(id.Teams) > 0 {
		fmt.Fprintf(&b, "; teams %s", strings.Join(id.Teams, ", "))
		if len(id.Governance) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(id.Governance, ", "))
		}
	}
	return b.String()
}

func listOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ", ")
}

// RefusedError is an identity warroom does not accept: --as from someone
// who is not a delegate, or for a person nobody declared.
type RefusedError struct {
	Login string
	As    string
	Why   string
	Hint  string
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("--as %s refused: %s", e.As, e.Why)
	if e.Hint != "" {
		msg += "\n    hint: " + e.Hint
	}
	return msg
}

// Resolve resolves the OS login, and the person named by --as (empty:
// none), to the acting identity. In open mode anyone is who they say:
// --as names the actor, as it always has. In enforced mode the login
// must belong to a delegate for --as to be accepted (a *RefusedError
// otherwise), and a login nobody declares acts as a viewer.
func (p *Policy) Resolve(login, as string) (Identity, error) {
	if p.Mode() == Open {
		id := Identity{Mode: Open, Login: login, Person: login, Roles: []string{}, Teams: []string{}, Governance: []string{}}
		if as != "" {
			id.Person = as
		}
		return id, nil
	}
	self := p.byLogin[login]
	if as != "" && (self == nil || as != self.Name) {
		switch {
		case self == nil:
			return Identity{}, &RefusedError{Login: login, As: as,
				Why:  fmt.Sprintf("login %s is no declared person, and only a delegate may act for another person", login),
				Hint: fmt.Sprintf("run it as %s's own login, or from a delegate (a person with delegate: true listing the login)", as)}
		case !self.Delegate:
			return Identity{}, &RefusedError{Login: login, As: as,
				Why:  fmt.Sprintf("%s (login %s) is not a delegate; only a person declared delegate: true may act for another", self.Name, login),
				Hint: "leave --as out to act as yourself"}
		}
		target := p.people[as]
		if target == nil {
			return Identity{}, &RefusedError{Login: login, As: as,
				Why:  fmt.Sprintf("no person %q is declared", as),
				Hint: suggestion(as, p.names())}
		}
		if target.Delegate {
			return Identity{}, &RefusedError{Login: login, As: as,
				Why:  fmt.Sprintf("%s is a delegate itself; a delegate acts for people, not for another delegate", as),
				Hint: "name the person the work is done for"}
		}
		id := p.identityOf(target, login)
		id.Delegate = self.Name
		return id, nil
	}
	if self == nil {
		return Identity{Mode: Enforced, Login: login, Roles: []string{Viewer}, Teams: []string{}, Governance: []string{}}, nil
	}
	id := p.identityOf(self, login)
	id.IsDelegate = self.Delegate
	return id, nil
}

func (p *Policy) identityOf(person *model.Person, login string) Identity {
	id := Identity{Mode: Enforced, Login: login, Person: person.Name, DisplayName: person.DisplayName,
		Roles: slices.Clone(person.Roles), Teams: slices.Clone(person.Teams), Governance: []string{}}
	if id.Roles == nil {
		id.Roles = []string{}
	}
	if id.Teams == nil {
		id.Teams = []string{}
	}
	for _, t := range person.Teams {
		if team := p.teams[t]; team != nil {
			for _, r := range team.Roles {
				if !slices.Contains(id.Governance, r) {
					id.Governance = append(id.Governance, r)
				}
			}
		}
	}
	sort.Strings(id.Governance)
	return id
}

// MayApprove reports whether the declared person holds one of approvers
// (a built-in role, a governance role through a team, or a team), as
// Decide checks a gate's or environment's approvers: an undeclared person
// may not, and admin is no approver unless it holds one of them. It is
// the policy's gates.Policy.MayApprove (a sign-off or waiver counts only
// from someone who may); each person's holdings are worked out once, as
// evaluating a release's gates calls it for every sign-off and waiver.
func (p *Policy) MayApprove(person string, approvers []string) bool {
	p.holdsOnce.Do(func() {
		p.holds = make(map[string]Identity, len(p.people))
		for name, pp := range p.people {
			p.holds[name] = p.identityOf(pp, "")
		}
	})
	id, ok := p.holds[person]
	return ok && firstHeld(id, approvers) != ""
}

// Person returns the declared person of that name.
func (p *Policy) Person(name string) (model.Person, bool) {
	if person := p.people[name]; person != nil {
		return *person, true
	}
	return model.Person{}, false
}

func (p *Policy) names() []string {
	out := make([]string, 0, len(p.people))
	for n := range p.people {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// suggestion is a did-you-mean hint among names, or a list of them.
func suggestion(got string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := distance(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	if len(names) > 0 && len(names) <= 12 {
		return "declared people: " + strings.Join(names, ", ")
	}
	return "'warroom whoami' and the people spec list who is declared"
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
