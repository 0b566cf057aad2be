package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/store"
)

// governance is who is acting and the policy they act under, resolved
// once per command before it runs (resolveIdentity). Every write's audit
// actor is app.actor, which resolveIdentity sets to the resolved
// identity's: "alice", or "ci-bot for alice".
type governance struct {
	resolved bool
	pol      *policy.Policy
	id       policy.Identity
}

// skipIdentity are the commands that resolve no identity against the
// --db database: demo builds a database of its own, and migrate must
// read a database whose schema this warroom cannot read yet.
var skipIdentity = map[string]bool{
	"warroom demo":    true,
	"warroom migrate": true,
}

// osLogin is the OS user name warroom runs as: the actor's identity.
func osLogin(getenv func(string) string) string { return osUser(getenv) }

// asFlag is the --as value given on the command line ("" when not).
func asFlag(cmd *cobra.Command) string {
	if f := cmd.Flag("as"); f != nil && f.Changed {
		return f.Value.String()
	}
	return ""
}

// resolveIdentity resolves the actor and authorises the command (see
// authorize). It runs for every command, from root's PersistentPreRunE.
func (a *app) resolveIdentity(cmd *cobra.Command, args []string) error {
	login, as := osLogin(a.getenv), asFlag(cmd)
	// Until resolved (or when nothing can be: no database), the actor is
	// as before: --as, else the OS user; the mode is open.
	a.gov = governance{pol: policy.New(nil)}
	a.gov.id, _ = a.gov.pol.Resolve(login, as)
	if skipIdentity[cmd.CommandPath()] {
		return nil
	}
	ctx := cmd.Context()
	rule, governed := a.actionRule(cmd)
	if f := cmd.Flag("dry-run"); rule.action == policy.Apply && f != nil && f.Value.String() == "true" {
		// apply --dry-run writes nothing, and never upgrades the schema:
		// anyone may look.
		governed = false
	}
	s, err := a.openForIdentity(ctx, governed && rule.action == policy.Apply)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		// No database: no people, so open mode; a command that needs the
		// database says so itself.
		a.gov.resolved = true
		return nil
	case err != nil && !governed:
		return nil // the command reports the database's problem itself
	case err != nil:
		return a.openError(err)
	}
	defer s.Close()
	org, err := governanceOrg(ctx, s)
	if err != nil {
		return fmt.Errorf("read the people and policy: %w", err)
	}
	a.gov.pol = policy.New(org)
	id, err := a.gov.pol.Resolve(login, as)
	var refused *policy.RefusedError
	if errors.As(err, &refused) {
		// The refusal is the login's own: the person it resolves to
		// without --as (or the undeclared login, a viewer).
		a.gov.id, _ = a.gov.pol.Resolve(login, "")
		return a.refuse(ctx, s, cmd.CommandPath(), refused.Error(), map[string]any{"as": as, "login": login, "why": refused.Why})
	}
	if err != nil {
		return err
	}
	a.gov.id, a.gov.resolved = id, true
	a.actor = id.Actor()
	if !governed {
		return nil
	}
	req, err := rule.request(ctx, actionInput{cmd: cmd, args: args, s: s, org: org, pol: a.gov.pol})
	if err != nil {
		return err
	}
	return a.authorize(ctx, s, cmd.CommandPath(), req)
}

// authorize decides req for the resolved actor: nil when allowed; when
// refused, the refusal is audited (the one write) and an exit-3 error
// returned, saying who, what they hold and what the action needs. The
// console calls it for its keys as the commands do before they run.
func (a *app) authorize(ctx context.Context, s *store.Store, command string, req policy.Request) error {
	d := a.gov.pol.Decide(a.gov.id, req)
	if d.Allowed {
		return nil
	}
	return a.refuse(ctx, s, command, refusalText(d, a.gov.id), d)
}

// openForIdentity opens the database to read its people and policy.
// apply upgrades an old schema first, as it would anyway; every other
// command leaves the database as it is.
func (a *app) openForIdentity(ctx context.Context, upgrade bool) (*store.Store, error) {
	s, err := store.OpenExisting(ctx, a.dbPath)
	if upgrade && errors.Is(err, store.ErrSchemaOutdated) {
		return a.openStore(ctx)
	}
	return s, err
}

// refuse audits a refusal (one event, command "policy refuse") and
// returns the exit-3 error.
func (a *app) refuse(ctx context.Context, s *store.Store, command, text string, payload any) error {
	actor := a.gov.id.Actor()
	if actor == "" {
		actor = osLogin(a.getenv)
	}
	summary := fmt.Sprintf("refused %s: %s", command, firstLine(text))
	ev, err := s.Write(ctx, actor, "policy refuse", func(context.Context, *store.Tx) (store.Change, error) {
		return store.Change{Summary: summary, Payload: map[string]any{"command": command, "decision": payload}}, nil
	})
	if err != nil {
		// The refusal stands even when it cannot be recorded.
		return withCode(exitRefused, fmt.Errorf("%s\n    (the refusal could not be audited: %w)", text, err))
	}
	return withCode(exitRefused, fmt.Errorf("%s\n    recorded as audit event %d", text, ev.Seq))
}

// refusalText is a refusal for people: who, what they hold, what the
// action needs, and every rule they fail.
func refusalText(d policy.Decision, id policy.Identity) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "policy refuses %s to %s\n", d.Action, id.Describe())
	needs := "admin only"
	if len(d.Needs) > 0 {
		needs = joinOr(d.Needs)
	}
	fmt.Fprintf(&b, "    %s needs: %s (%s)", d.Action, needs, d.NeedsFrom)
	for _, r := range d.Reasons {
		fmt.Fprintf(&b, "\n    why: %s", r)
	}
	return b.String()
}

func firstLine(s string) string {
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func joinOr(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := ""
	for i, x := range s {
		switch {
		case i == 0:
		case i == len(s)-1:
			out += " or "
		default:
			out += ", "
		}
		out += x
	}
	return out
}

// policyMode is "open" or "enforced": what every -o json output carries
// as "policy".
func (a *app) policyMode() policy.Mode {
	if a.gov.pol == nil {
		return policy.Open
	}
	return a.gov.pol.Mode()
}

// withPolicyField adds "policy": MODE as the first key of a JSON object
// (indented as writeJSON writes it), unless it has one. Anything but an
// object (a list) is returned as it is.
func withPolicyField(out []byte, mode policy.Mode) []byte {
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) < 2 || trimmed[0] != '{' {
		return out
	}
	// writeJSON's indentation puts every top-level key, and only those,
	// two spaces into a line (a JSON string holds no raw newline): finding
	// the key there spares decoding the whole output, which cost 'gate
	// status -o json' of 1,000 services × 8 gates 30 ms.
	if bytes.Contains(trimmed, []byte("\n  \"policy\":")) {
		return out
	}
	field := fmt.Sprintf("%q: %q", "policy", mode)
	if string(trimmed) == "{}" {
		return []byte("{\n  " + field + "\n}\n")
	}
	i := bytes.IndexByte(out, '{')
	return append(append(append([]byte{}, out[:i+1]...), []byte("\n  "+field+",")...), out[i+1:]...)
}

// orgEnvironment finds an environment by name.
func orgEnvironment(org *model.Org, name string) *model.Environment {
	for i := range org.Environments {
		if org.Environments[i].Name == name {
			return &org.Environments[i]
		}
	}
	return nil
}

// identityHeader is the actor and mode in one line, for the console's
// header: "dana (captain; operations) · policy enforced", or the login
// and "OPEN MODE: anyone may do anything".
func (a *app) identityHeader() string {
	id := a.gov.id
	if a.policyMode() == policy.Open {
		return id.Actor() + " · OPEN MODE: no people declared, anyone may do anything"
	}
	if !id.Declared() {
		return "login " + id.Login + " (undeclared: viewer) · policy enforced"
	}
	held := append(append([]string{}, id.Roles...), id.Governance...)
	return fmt.Sprintf("%s (%s) · policy enforced", id.Actor(), joinOr(held))
}

// governanceKinds are the kinds a decision reads: people, the policy, the
// teams (governance roles), and the environments and gates (approvers).
var governanceKinds = map[model.Kind]bool{
	model.KindPerson: true, model.KindPolicy: true, model.KindTeam: true,
	model.KindEnvironment: true, model.KindGate: true,
}

// governanceOrg reads the part of the organisation decisions need,
// without decoding the services and releases, which every command would
// otherwise pay for (thousands of them in a large organisation).
func governanceOrg(ctx context.Context, s *store.Store) (*model.Org, error) {
	recs, err := s.Records(ctx)
	if err != nil {
		return nil, err
	}
	keep := recs[:0:0]
	for _, r := range recs {
		if governanceKinds[r.Kind] {
			keep = append(keep, r)
		}
	}
	return model.OrgFromRecords(keep)
}
