package spec

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
)

// loginPattern is what an OS user name may look like: POSIX portable
// names, plus the "@" and "\" of directory logins ("alice@corp",
// "CORP\alice"), at most 256 characters.
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@\\-]{0,255}\$?$`)

// minApprovalTTL is the shortest approval_ttl: an approval that expires
// in seconds could never be acted on.
const minApprovalTTL = time.Minute

func (v *validator) person(src *Source, p model.Person) {
	for i, l := range p.Logins {
		path := fmt.Sprintf("logins[%d]", i)
		if !loginPattern.MatchString(l) {
			v.errs.add(src.At(path), "write the OS user name as 'id -un' prints it (letters, digits, _ . - @ \\)", "invalid login %q", l)
			continue
		}
		if other, ok := v.logins[l]; ok && other != p.Name {
			v.errs.add(src.At(path), fmt.Sprintf("a login belongs to one person: remove it from %q or from %q", clip(other), clip(p.Name)),
				"login %q is already person %q's", l, other)
		}
	}
	for i, k := range p.SSHKeys {
		path := fmt.Sprintf("ssh_keys[%d]", i)
		if _, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
			v.errs.add(src.At(path), `write one authorized_keys line, e.g. "ssh-ed25519 AAAAC3Nz... alice@laptop"`, "invalid SSH key: %v", err)
		} else if len(strings.TrimSpace(string(rest))) > 0 {
			v.errs.add(src.At(path), "give one key per list item", "ssh_keys item holds more than one key")
		}
	}
	for i, t := range p.Teams {
		v.ref(src, fmt.Sprintf("teams[%d]", i), t, "team", model.KindTeam)
	}
	for i, r := range p.Roles {
		path := fmt.Sprintf("roles[%d]", i)
		if slices.Contains(model.Roles, r) {
			v.errs.add(src.At(path), fmt.Sprintf("a person holds %q through a team: add the person to a team whose roles list it", clip(r)),
				"%q is a governance role, held through teams, not given to a person", r)
			continue
		}
		v.enum(src, path, r, model.BuiltinRoles, "role")
	}
	if p.Delegate && slices.Contains(p.Roles, policy.Admin) {
		v.errs.add(src.At("roles"), "give the service account the roles its own work needs (operator), and act --as people for the rest",
			"delegate %q may not be an admin: a delegate acting as itself would hold every action", p.Name)
	}
}

// indexLogins maps each login to the person declaring it: stored people
// first, then spec people in file order, so a clash is reported on the
// person written second.
func (v *validator) indexLogins() {
	v.logins = map[string]string{}
	ents := make([]*entry, 0, len(v.entries[model.KindPerson]))
	for _, e := range v.entries[model.KindPerson] {
		ents = append(ents, e)
	}
	slices.SortFunc(ents, func(a, b *entry) int {
		if entryBefore(a, b) {
			return -1
		}
		if entryBefore(b, a) {
			return 1
		}
		return 0
	})
	for _, e := range ents {
		p := e.obj.(model.Person)
		for _, l := range p.Logins {
			if _, ok := v.logins[l]; !ok {
				v.logins[l] = p.Name
			}
		}
	}
}

func (v *validator) policyObject(src *Source, p model.Policy) {
	// One policy per organisation: a second name is most likely a rename
	// or a copy, and two policies could not both decide.
	for name, e := range v.entries[model.KindPolicy] {
		if name != p.Name && (e.src == nil || entryBefore(e, v.entries[model.KindPolicy][p.Name])) {
			where := "stored"
			if e.src != nil {
				where = "at " + e.src.Pos.String()
			}
			v.errs.add(src.At("name"), fmt.Sprintf("an organisation has one policy (%q, %s): name this one %q to replace it, or apply with --prune", clip(name), where, clip(name)),
				"second policy %q", p.Name)
			break
		}
	}
	for _, a := range slices.Sorted(maps.Keys(p.Actions)) {
		path := "actions." + a
		if !policy.Known(policy.Action(a)) {
			v.errs.add(src.At(path+KeySuffix), didYouMean(a, policy.ActionNames()), "unknown action %q", a)
			continue
		}
		for i, who := range p.Actions[a] {
			ipath := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case who == policy.Viewer:
				v.errs.add(src.At(ipath), "a viewer only looks; give the action to a role that acts (captain, operator, approver, admin) or a team",
					"viewer cannot be allowed %s: every action writes", a)
			case slices.Contains(model.BuiltinRoles, who), v.exists(model.KindTeam, who):
			case slices.Contains(model.Roles, who):
				if !v.roleHeld(who) {
					v.errs.add(src.At(ipath), fmt.Sprintf("add %q to the roles of a team, or name a built-in role or team here", clip(who)),
						"no team holds role %q, so nobody could %s", who, a)
				}
			default:
				cands := append(append(slices.Clone(model.BuiltinRoles), model.Roles...), v.namesOf(model.KindTeam)...)
				hint := fmt.Sprintf("allow a built-in role (%s), a governance role (%s) or a team", strings.Join(model.BuiltinRoles, ", "), strings.Join(model.Roles, ", "))
				if s := suggest(who, cands); s != "" {
					hint = fmt.Sprintf("did you mean %q? %s", clip(s), hint)
				}
				v.errs.add(src.At(ipath), hint, "unknown role or team %q", who)
			}
		}
	}
	if d := p.ApprovalTTL; d != 0 && d.Std() < minApprovalTTL {
		v.errs.add(src.At("approval_ttl"), fmt.Sprintf("use at least %s, e.g. 24h", minApprovalTTL), "approval_ttl of %s is too short", d)
	}
}

// approvals checks an environment's quorum.
func (v *validator) approvals(src *Source, e model.Environment) {
	if e.Approvals == nil {
		return
	}
	n := *e.Approvals
	if n < 1 {
		v.errs.add(src.At("approvals"), "approvals is how many distinct people must approve: 1 or more (leave it out for 1)", "approvals %d is below 1", n)
		return
	}
	if !e.Approval {
		v.errs.add(src.At("approvals"), "add approval: true, or remove approvals", "approvals is the quorum of approval, but environment %q requires no approval", e.Name)
	}
}
