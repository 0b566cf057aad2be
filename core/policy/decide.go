package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Request is an action and what it is about: the context the decision
// needs beyond the actor.
type Request struct {
	Action  Action
	Release string // the release acted on, if any
	Env     string // the environment, if any
	Run     string // the run, if any
	Gate    string // the gate, if any
	// Approvers, when not empty, are the roles or teams of the
	// environment or gate of which the actor must hold one to sign off
	// (ApproversOf names whose they are: "environment prod").
	Approvers   []string
	ApproversOf string
	// Requester is the audit actor who asked for what is signed off (who
	// started the run, requested the waiver, filed the change): four-eyes.
	Requester string
	// Requested names what was asked for, for messages: "run r-1a2b".
	Requested string
	// Prior are the audit actors who already signed off the same thing
	// (valid approvals of the environment for the run): a person counts
	// once toward a quorum.
	Prior []string
}

// Decision is whether an actor may take an action, and why.
type Decision struct {
	Allowed  bool   `json:"allowed"`
	Mode     Mode   `json:"policy"`
	Action   Action `json:"action"`
	Actor    string `json:"actor"`
	Login    string `json:"login"`
	Person   string `json:"person,omitempty"`
	Delegate string `json:"delegate,omitempty"`
	// Holds is everything the actor holds: built-in roles, governance
	// roles and teams.
	Roles      []string `json:"roles"`
	Teams      []string `json:"teams"`
	Governance []string `json:"governance_roles"`
	// Needs is who the action allows; NeedsFrom says where that comes
	// from ("default" or "policy NAME").
	Needs     []string `json:"needs"`
	NeedsFrom string   `json:"needs_from"`
	Approvers []string `json:"approvers,omitempty"`
	// Reasons say why, one sentence each; when refused, every rule the
	// actor fails.
	Reasons []string `json:"reasons"`
}

// Decide decides whether the identity may take the request's action.
// In open mode everything is allowed, and the reason says so.
func (p *Policy) Decide(id Identity, req Request) Decision {
	needs, declared := p.Allowed(req.Action)
	from := "default"
	if declared {
		from = "policy " + p.name
	}
	d := Decision{Mode: p.Mode(), Action: req.Action, Actor: id.Actor(), Login: id.Login, Person: id.Person,
		Delegate: id.Delegate, Roles: nonNil(id.Roles), Teams: nonNil(id.Teams), Governance: nonNil(id.Governance),
		Needs: nonNil(needs), NeedsFrom: from, Approvers: req.Approvers}
	if !Known(req.Action) {
		d.Reasons = []string{fmt.Sprintf("unknown action %q: the actions are %s", req.Action, strings.Join(ActionNames(), ", "))}
		return d
	}
	if p.Mode() == Open {
		d.Allowed = true
		d.Reasons = []string{"open mode: no people are declared, so anyone may do anything (declare people to enforce the policy)"}
		return d
	}
	who := id.Actor()
	var refuse, allow []string
	// The action's roles. Admin may do whatever a role may.
	switch held := firstHeld(id, needs); {
	case held != "":
		allow = append(allow, fmt.Sprintf("%s holds %s, which %s allows (%s)", who, held, req.Action, from))
	case id.Holds(Admin):
		allow = append(allow, fmt.Sprintf("%s is an admin, who may take any action (%s allows %s, %s)", who, req.Action, listOr(needs, "admins only"), from))
	case !id.Declared():
		refuse = append(refuse, fmt.Sprintf("login %s is no declared person, so a viewer; %s needs %s (%s)", id.Login, req.Action, orList(needs), from))
	default:
		refuse = append(refuse, fmt.Sprintf("%s holds %s; %s needs %s (%s)", who, holdings(id), req.Action, orList(needs), from))
	}
	// The approvers of the environment or gate signed off: admin is no
	// approver unless it holds one of them.
	if len(req.Approvers) > 0 {
		of := req.ApproversOf
		if of == "" {
			of = "the sign-off"
		}
		if held := firstHeld(id, req.Approvers); held != "" {
			allow = append(allow, fmt.Sprintf("%s holds %s, one of the approvers of %s", who, held, of))
		} else {
			refuse = append(refuse, fmt.Sprintf("%s approves only by %s, and %s holds none of them", of, orList(req.Approvers), who))
		}
	}
	if req.Action.SignOff() {
		if err := FourEyes(who, req.Requester); err != nil {
			what := req.Requested
			if what == "" {
				what = "this"
			}
			refuse = append(refuse, fmt.Sprintf("four-eyes: %s asked for %s, so %s may not sign it off; another person must", req.Requester, what, who))
		} else if req.Requester != "" {
			allow = append(allow, fmt.Sprintf("four-eyes: %s asked for it, not %s", req.Requester, who))
		}
		for _, prior := range req.Prior {
			if _, pp := SplitActor(prior); id.Person != "" && pp == id.Person {
				refuse = append(refuse, fmt.Sprintf("%s has already signed this off (as %s); a quorum counts each person once", id.Person, prior))
				break
			}
		}
	}
	if len(refuse) > 0 {
		d.Reasons = refuse
		return d
	}
	d.Allowed, d.Reasons = true, allow
	return d
}

// Summary is the decision in one line, for logs and the audit.
func (d Decision) Summary() string {
	verdict := "refused"
	if d.Allowed {
		verdict = "allowed"
	}
	return fmt.Sprintf("%s %s for %s: %s", d.Action, verdict, d.Actor, strings.Join(d.Reasons, "; "))
}

// firstHeld is the first of names the identity holds, or "".
func firstHeld(id Identity, names []string) string {
	for _, n := range names {
		if id.Holds(n) {
			return n
		}
	}
	return ""
}

// holdings lists what an identity holds, for messages.
func holdings(id Identity) string {
	all := slices.Clone(id.Roles)
	all = append(all, id.Governance...)
	for _, t := range id.Teams {
		all = append(all, "team "+t)
	}
	if len(all) == 0 {
		return "no role"
	}
	return strings.Join(all, ", ")
}

// orList writes names as "a, b or c"; an empty list is admins only.
func orList(names []string) string {
	switch len(names) {
	case 0:
		return "admin (the policy allows nobody else)"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
