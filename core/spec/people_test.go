package spec

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/model"
)

// govOrg is a valid organisation with people and a policy; each case
// below breaks it in one place.
const govOrg = `teams:
  - name: payments
    roles: [operations, security]
  - name: web
people:
  - name: alice
    display_name: Alice Ng
    logins: [alice, CORP\ang]
    ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHT8xNBWL0EhbT4cOWvyFWKPrjCpGbAE5LRzGBCSKCjb alice@laptop"]
    teams: [payments]
    roles: [captain, approver]
  - name: bob
    logins: [bob]
    roles: [operator]
  - name: ci-bot
    logins: [ci]
    roles: [operator]
    delegate: true
policy:
  name: default
  actions:
    deploy.start: [captain, operator]
    plugins.trust: [admin, security]
    gate.waive: [payments]
  approval_ttl: 12h
environments:
  - {name: prod, order: 1, production: false, approval: true, approvers: [operations], approvals: 2}
`

var govCases = []struct {
	name, old, new, at, msg, hint string
}{
	{"misspelt person role", "roles: [captain, approver]", "roles: [captian, approver]", "captian", `invalid role "captian"`, `did you mean "captain"`},
	{"governance role on a person", "roles: [captain, approver]", "roles: [captain, security]", "security]\n  - name: bob", `"security" is a governance role`, "through a team"},
	{"misspelt person team", "teams: [payments]\n    roles: [captain", "teams: [paymnts]\n    roles: [captain", "paymnts", `unknown team "paymnts"`, `did you mean "payments"`},
	{"login of two people", "logins: [bob]", "logins: [alice]", "alice]\n    roles: [operator]", `login "alice" is already person "alice"'s`, "a login belongs to one person"},
	{"invalid login", "logins: [bob]", "logins: [\"bob smith\"]", "\"bob smith\"", `invalid login "bob smith"`, "id -un"},
	{"invalid ssh key", "\"ssh-ed25519 AAAA", "\"ssh-ed25519 !!AAAA", "\"ssh-ed25519", "invalid SSH key", "authorized_keys line"},
	{"delegate admin", "    roles: [operator]\n    delegate: true", "    roles: [operator, admin]\n    delegate: true", "[operator, admin]\n    delegate", `delegate "ci-bot" may not be an admin`, "act --as people"},
	{"misspelt person key", "    display_name: Alice Ng", "    display_nme: Alice Ng", "display_nme", `unknown key "display_nme" in person`, `did you mean "display_name"`},
	{"misspelt action", "    deploy.start: [captain, operator]", "    deploy.strat: [captain, operator]", "deploy.strat", `unknown action "deploy.strat"`, `did you mean "deploy.start"`},
	{"misspelt action role", "deploy.start: [captain, operator]", "deploy.start: [captain, oprator]", "oprator", `unknown role or team "oprator"`, `did you mean "operator"`},
	{"viewer allowed an action", "deploy.start: [captain, operator]", "deploy.start: [captain, viewer]", "viewer]", "viewer cannot be allowed deploy.start", "a viewer only looks"},
	{"action role nobody holds", "plugins.trust: [admin, security]", "plugins.trust: [admin, compliance]", "compliance", `no team holds role "compliance"`, "add \"compliance\""},
	{"approval_ttl too short", "approval_ttl: 12h", "approval_ttl: 10s", "10s", "approval_ttl of 10s is too short", "at least 1m0s"},
	{"approval_ttl not a duration", "approval_ttl: 12h", "approval_ttl: soon", "soon", `invalid duration "soon"`, "90s"},
	// Days past the largest duration wrapped to a negative one, which the
	// store then could not read back.
	{"approval_ttl of too many days", "approval_ttl: 12h", "approval_ttl: 99999999999d", "99999999999d", `invalid duration "99999999999d": too long (at most 106751d)`, "90s"},
	{"approval_ttl of NaN days", "approval_ttl: 12h", "approval_ttl: NaNd", "NaNd", `invalid duration "NaNd": days are a number like 3d or 1.5d`, "90s"},
	{"misspelt policy key", "  approval_ttl: 12h", "  aproval_ttl: 12h", "aproval_ttl", `unknown key "aproval_ttl" in policy`, `did you mean "approval_ttl"`},
	{"approvals below 1", "approvals: 2}", "approvals: 0}", "0}", "approvals 0 is below 1", "1 or more"},
	{"approvals without approval", "approval: true, approvers", "approval: false, approvers", "2}", `requires no approval`, "add approval: true"},
	{"approvals not a number", "approvals: 2}", "approvals: two}", "two}", "expected a whole number", ""},
	{"second policy", "environments:\n", "---\npolicy: {name: strict}\n---\nenvironments:\n", "strict", `second policy "strict"`, "an organisation has one policy"},
	{"person missing name", "  - name: bob\n", "  - display_name: Bob\n", "display_name: Bob", `person is missing required key "name"`, ""},
}

func TestGovernanceOrgIsValid(t *testing.T) {
	set, errs := checkText(govOrg)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors:\n%v", errs)
	}
	org, _ := Check(set, nil, Options{})
	if len(org.People) != 3 || len(org.Policies) != 1 || org.Policies[0].ApprovalTTL.String() != "12h" ||
		org.Environments[0].Quorum() != 2 || org.People[0].Logins[1] != `CORP\ang` {
		t.Errorf("decoded wrongly: people %+v policies %+v", org.People, org.Policies)
	}
	// policy: also takes a list of one.
	list := strings.Replace(govOrg, "policy:\n  name: default\n  actions:\n    deploy.start: [captain, operator]\n    plugins.trust: [admin, security]\n    gate.waive: [payments]\n  approval_ttl: 12h\n",
		"policy:\n  - name: default\n", 1)
	if _, errs := checkText(list); len(errs) > 0 {
		t.Fatalf("policy as a list: %v", errs)
	}
}

func TestGovernanceRules(t *testing.T) {
	for _, c := range govCases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(govOrg, c.old) {
				t.Fatalf("govOrg has no %q", c.old)
			}
			text := strings.Replace(govOrg, c.old, c.new, 1)
			_, errs := checkText(text)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
			}
			e := errs[0]
			off := strings.Index(text, c.at)
			if off < 0 {
				t.Fatalf("broken spec has no %q", c.at)
			}
			line, col := lineCol([]byte(text), off)
			if got, want := e.Pos.String(), fmt.Sprintf("org.yaml:%d:%d", line, col); got != want {
				t.Errorf("at %s, want %s: %v", got, want, e)
			}
			if !strings.Contains(e.Msg, c.msg) || !strings.Contains(e.Hint, c.hint) {
				t.Errorf("got %q (hint %q), want %q (hint %q)", e.Msg, e.Hint, c.msg, c.hint)
			}
		})
	}
}

// TestGovernanceAgainstStored: a login or a second policy clashes with
// stored objects too; prune replaces them; an unchanged apply of
// people and policy changes nothing.
func TestGovernanceAgainstStored(t *testing.T) {
	ctx := context.Background()
	cat := &catalog{}
	set, _ := checkText(govOrg)
	res, err := Apply(ctx, cat, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[model.Kind]int{}
	for _, c := range res.Changes {
		kinds[c.Kind]++
	}
	if kinds[model.KindPerson] != 3 || kinds[model.KindPolicy] != 1 {
		t.Fatalf("apply created %v", kinds)
	}
	if set, _ := checkText(govOrg); func() bool { r, err := Apply(ctx, cat, set, Options{}); return err != nil || r.Changed() }() {
		t.Error("a second apply of the same people and policy changed something")
	}
	other := "people:\n  - name: mallory\n    logins: [alice]\npolicy: {name: strict}\n"
	set2, _ := checkText(other)
	recs, _ := cat.Records(ctx)
	_, errs := Check(set2, recs, Options{})
	if len(errs) != 2 || !strings.Contains(errs.Error(), `login "alice" is already person "alice"'s`) || !strings.Contains(errs.Error(), `second policy "strict"`) {
		t.Fatalf("against the stored organisation: %v", errs)
	}
	if _, errs := Check(set2, recs, Options{Prune: true}); len(errs) != 0 {
		t.Fatalf("with prune the set is the whole organisation: %v", errs)
	}
	res, err = Apply(ctx, cat, set2, Options{Prune: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, c := range res.Changes {
		if c.Action == Deleted && (c.Kind == model.KindPerson || c.Kind == model.KindPolicy) {
			deleted++
		}
	}
	if deleted != 4 {
		t.Errorf("prune deletes the 3 people and the policy not declared, got %d: %+v", deleted, res.Changes)
	}
}

// TestRecordRoundTrip: people and policies survive the store's encoding.
func TestGovernanceRecordRoundTrip(t *testing.T) {
	set, errs := checkText(govOrg)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, s := range set.Sources {
		rec, err := model.NewRecord(s.Object, "")
		if err != nil {
			t.Fatal(err)
		}
		back, err := rec.Decode()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := model.NewRecord(back, "")
		if again.Digest != rec.Digest {
			t.Errorf("%s %s does not round-trip", rec.Kind, rec.Name)
		}
	}
}

// TestDemoGovernanceIsValid: the demo's people and policy (testdata/demo) validate with
// the demo organisation they refer to.
func TestDemoGovernanceIsValid(t *testing.T) {
	set, errs := ParseFiles([]string{"../../testdata/demo"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	org, errs := Check(set, nil, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(org.People) < 6 || len(org.Policies) != 1 {
		t.Errorf("people %d, policies %d", len(org.People), len(org.Policies))
	}
}
