package spec

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/model"
)

// org is a valid organisation touching every kind; each rule case below
// breaks it in one place.
const org = `teams:
  - name: payments
    roles: [operations, security]
    escalation:
      - {name: Ana Ruiz, email: ana@example.com}
  - name: web
vendors:
  - name: paynova
services:
  - name: ledger
    owner: payments
    tier: 0
    version: 2.4.0
    kind: database
  - name: checkout
    owner: payments
    tier: 1
    version: 1.10.0
    databases: [ledger]
gates:
  - {name: sast, kind: security, severity: high, approvers: [security], owners: [payments]}
environments:
  - {name: test, order: 1, gates: [sast], approvers: [operations]}
calendar:
  - name: holiday
    kind: freeze
    start: 2026-12-14
    end: 2027-01-04
    exceptions: {classes: [emergency], approvers: [operations]}
releases:
  - name: r1
    window: {start: 2026-12-08T21:00:00Z, end: 2026-12-09T04:00:00Z}
    scope:
      - {service: checkout, version: 1.11.0}
`

// ruleCase breaks org by replacing old with new; the one error is at the
// first occurrence of at in the broken text.
type ruleCase struct {
	name, old, new, at, msg, hint string
}

var ruleCases = []ruleCase{
	{"misspelt team role", "roles: [operations, security]", "roles: [operations, security, buisness]", "buisness", `invalid role "buisness"`, `did you mean "business"`},
	{"gate approver neither role nor team", "approvers: [security], owners", "approvers: [risk-comittee], owners", "risk-comittee", `unknown approver "risk-comittee": neither a role nor a team`, "an approver is a role (security, compliance"},
	{"misspelt freeze-exception approver", "classes: [emergency], approvers: [operations]", "classes: [emergency], approvers: [operatons]", "operatons", `unknown approver "operatons"`, `did you mean "operations"`},
	{"misspelt gate severity", "severity: high", "severity: critcal", "critcal", `invalid severity "critcal"`, `did you mean "critical"`},
	{"environment approver misspelt team", "approvers: [operations]}", "approvers: [paymnts]}", "paymnts", `unknown approver "paymnts"`, `did you mean "payments"`},
	{"approver role nobody holds", "approvers: [operations]}", "approvers: [compliance]}", "compliance", `no team holds role "compliance"`, `add "compliance" to the roles`},
	{"bare dash in services", "services:\n", "services:\n  -\n", "-\n  - name: ledger", "empty item in services", `delete the empty "-" line`},
	{"null in a list of names", "gates: [sast]", "gates: [sast, ~]", "~", "gates[1]: empty list item", "write a value"},
	{"null required value", "tier: 1\n", "tier: ~\n", "name: checkout", `service is missing required key "tier"`, `add "tier"`},
	{"misspelt service kind", "version: 1.10.0\n", "version: 1.10.0\n    kind: stateles\n", "stateles", `invalid service kind "stateles"`, `did you mean "stateless"`},
	{"misspelt scope strategy", "version: 1.11.0}", "version: 1.11.0, strategy: canery}", "canery", `invalid strategy "canery"`, `did you mean "canary"`},
	{"misspelt release class", "  - name: r1\n", "  - name: r1\n    class: emergncy\n", "emergncy", `invalid change class "emergncy"`, `did you mean "emergency"`},
	{"misspelt calendar kind", "kind: freeze", "kind: freez", "freez", `invalid calendar kind "freez"`, `did you mean "freeze"`},
	{"misspelt exception class", "classes: [emergency]", "classes: [emergncy]", "emergncy", `invalid change class "emergncy"`, `did you mean "emergency"`},
	{"misspelt data source", "{name: test, order: 1,", "{name: test, order: 1, data: synthetc,", "synthetc", `invalid data source "synthetc"`, `did you mean "synthetic"`},
	{"misspelt gate owner", "owners: [payments]", "owners: [paymnts]", "paymnts", `unknown team or vendor "paymnts"`, `did you mean "payments"`},
	{"severity on a tests gate", "kind: security, severity: high", "kind: tests, severity: high", "high, approvers", `severity is for security gates`, "use kind: security"},
	{"allow on a security gate", "severity: high,", "severity: high, allow: [MIT],", "[MIT]", `allow is for licence gates`, "use kind: licence"},
	{"misspelt service owner", "owner: payments\n    tier: 0", "owner: paymnts\n    tier: 0", "paymnts", `unknown team or vendor "paymnts"`, `did you mean "payments"`},
	{"misspelt environment gate", "gates: [sast]", "gates: [sats]", "sats", `unknown gate "sats"`, `did you mean "sast"`},
	{"misspelt scope service", "{service: checkout", "{service: chekout", "chekout", `unknown service "chekout"`, `did you mean "checkout"`},
	{"misspelt database", "databases: [ledger]", "databases: [ledgr]", "ledgr", `unknown database service "ledgr"`, `did you mean "ledger"`},
	{"misspelt release environment", "  - name: r1\n", "  - name: r1\n    environments: [tset]\n", "tset", `unknown environment "tset"`, `did you mean "test"`},
	{"misspelt calendar vendor", "releases:\n", "  - {name: psp, kind: vendor, vendor: paynva, start: 2026-12-01, end: 2026-12-02}\nreleases:\n", "paynva", `unknown vendor "paynva"`, `did you mean "paynova"`},
	{"misspelt weekday", "    start: 2026-12-14\n", "    weekly: {days: [tue, thurs], start: \"20:00\", end: \"06:00\", time_zone: UTC}\n    start: 2026-12-14\n", "thurs", `invalid day "thurs"`, `did you mean "thu"`},
	{"misspelt budget policy", "    databases: [ledger]\n", "    databases: [ledger]\n    slo: {budget_policy: blok}\n", "blok", `invalid budget policy "blok"`, `did you mean "block"`},
	{"negative parallel", "{name: test, order: 1,", "{name: test, order: 1, parallel: -2,", "-2", "parallel -2 is negative", "1 or more, or 0"},
	{"release parallel for an unknown environment", "      - {service: checkout, version: 1.11.0}\n", "      - {service: checkout, version: 1.11.0}\n    parallel: {tset: 2}\n", "tset", `unknown environment "tset"`, `did you mean "test"`},
	{"release parallel below 1", "      - {service: checkout, version: 1.11.0}\n", "      - {service: checkout, version: 1.11.0}\n    parallel: {test: 00}\n", "00}", `parallel 0 for environment "test" is below 1`, "1 or more"},
	{"release parallel outside its environments", "      - {service: checkout, version: 1.11.0}\n", "      - {service: checkout, version: 1.11.0}\n    environments: [test]\n    parallel: {test: 2, prod: 1}\n", "prod", `unknown environment "prod"`, ""},
	{"misspelt impact", "releases:\n", "  - {name: sale, kind: business, impact: hihg, start: 2026-12-01, end: 2026-12-02}\nreleases:\n", "hihg", `invalid impact "hihg"`, `did you mean "high"`},
}

func (c ruleCase) spec(t *testing.T) string {
	t.Helper()
	if !strings.Contains(org, c.old) {
		t.Fatalf("org has no %q", c.old)
	}
	return strings.Replace(org, c.old, c.new, 1)
}

func (c ruleCase) want(t *testing.T, text string) string {
	t.Helper()
	off := strings.Index(text, c.at)
	if off < 0 {
		t.Fatalf("broken spec has no %q", c.at)
	}
	line, col := lineCol([]byte(text), off)
	return fmt.Sprintf("org.yaml:%d:%d", line, col)
}

func TestOrgIsValid(t *testing.T) {
	if _, errs := checkText(org); len(errs) > 0 {
		t.Fatalf("unexpected errors:\n%v", errs)
	}
}

func checkText(text string) (*Set, Errors) {
	srcs, perrs := Parse("org.yaml", []byte(text))
	set := &Set{Files: []string{"org.yaml"}, Sources: srcs, parseErrs: perrs}
	_, errs := Check(set, nil, Options{})
	return set, errs
}

// TestValidationRules: each closed value set and each reference is checked,
// at the value's own line and column, with the nearest name or the valid
// values.
func TestValidationRules(t *testing.T) {
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			text := c.spec(t)
			_, errs := checkText(text)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
			}
			e := errs[0]
			if got, want := e.Pos.String(), c.want(t, text); got != want {
				t.Errorf("at %s, want %s: %v", got, want, e)
			}
			if !strings.Contains(e.Msg, c.msg) {
				t.Errorf("message %q does not say %q", e.Msg, c.msg)
			}
			if !strings.Contains(e.Hint, c.hint) {
				t.Errorf("hint %q does not say %q", e.Hint, c.hint)
			}
		})
	}
}

// catalog is an in-memory Catalog.
type catalog struct {
	recs   []model.Record
	writes int
}

func (c *catalog) Records(context.Context) ([]model.Record, error) { return c.recs, nil }
func (c *catalog) PutRecord(_ context.Context, r model.Record) error {
	c.writes++
	for i := range c.recs {
		if c.recs[i].Kind == r.Kind && c.recs[i].Name == r.Name {
			c.recs[i] = r
			return nil
		}
	}
	c.recs = append(c.recs, r)
	return nil
}
func (c *catalog) DeleteRecord(context.Context, model.Kind, string) error { c.writes++; return nil }

// TestValidateAndApplyAgree: apply refuses exactly what validate reports,
// with the same errors, and writes nothing; both on an empty catalogue
// and on one holding the valid organisation.
func TestValidateAndApplyAgree(t *testing.T) {
	ctx := context.Background()
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			text := c.spec(t)
			for _, stored := range []bool{false, true} {
				cat := &catalog{}
				if stored {
					set, errs := checkText(org)
					if len(errs) > 0 {
						t.Fatal(errs)
					}
					if _, err := Apply(ctx, cat, set, Options{}); err != nil {
						t.Fatal(err)
					}
					cat.writes = 0
				}
				set, verrs := checkText(text)
				recs, _ := cat.Records(ctx)
				_, verrs = Check(set, recs, Options{})
				res, err := Apply(ctx, cat, set, Options{})
				if err == nil || len(verrs) == 0 {
					t.Fatalf("stored=%v: validate found %d errors, apply returned %v", stored, len(verrs), err)
				}
				if !reflect.DeepEqual(res.Errors, verrs) {
					t.Errorf("stored=%v: apply's errors differ from validate's:\napply:\n%v\nvalidate:\n%v", stored, res.Errors, verrs)
				}
				if cat.writes != 0 {
					t.Errorf("stored=%v: a refused apply wrote %d records", stored, cat.writes)
				}
			}
		})
	}
}
