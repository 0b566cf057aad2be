package spec

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	_ "time/tzdata"

	"github.com/warroom/warroom/core/model"
)

// base is a small valid organisation the cases below add to.
const base = `
teams:
  - name: payments
    escalation:
      - {name: Ana Ruiz, role: lead, email: ana@example.com}
services:
  - name: ledger
    owner: payments
    tier: 0
    version: 2.4.0
    provides:
      - {api: ledger-api, version: 2.4.0}
  - name: checkout
    owner: payments
    tier: 1
    version: 1.10.0
    requires:
      - {api: ledger-api, range: "^2.1"}
`

func parseAll(t *testing.T, files map[string]string) (*Set, Errors) {
	t.Helper()
	set := &Set{}
	var errs Errors
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		srcs, e := Parse(n, []byte(files[n]))
		set.Files = append(set.Files, n)
		set.Sources = append(set.Sources, srcs...)
		errs = append(errs, e...)
	}
	_, verrs := Validate(set, nil)
	errs = append(errs, verrs...)
	errs.Sort()
	return set, errs
}

func TestValidBase(t *testing.T) {
	set, errs := parseAll(t, map[string]string{"org.yaml": base})
	if len(errs) > 0 {
		t.Fatalf("unexpected errors:\n%v", errs)
	}
	if len(set.Sources) != 3 {
		t.Fatalf("got %d objects, want 3", len(set.Sources))
	}
	svc := set.Sources[2].Object.(model.Service)
	if svc.Version != "1.10.0" {
		t.Errorf("version read as %q: numbers-looking text must stay literal", svc.Version)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		spec string
		want []string // "line:col: message fragment"
		hint string   // fragment of the first error's hint
	}{
		{"unknown key", base + "  - name: cart\n    ownr: payments\n    version: 1.0.0\n    tier: 2\n",
			[]string{"20:5: unknown key \"ownr\" in service"}, `did you mean "owner"`},
		{"type error", base + "  - name: cart\n    tier: high\n    version: 1.0.0\n",
			[]string{`20:11: tier: expected a whole number, got "high"`}, "whole number"},
		{"dangling owner", base + "  - name: cart\n    owner: paymnets\n    version: 1.0.0\n    tier: 2\n",
			[]string{`20:12: unknown team or vendor "paymnets"`}, `did you mean "payments"`},
		{"dangling api", base + "  - name: cart\n    version: 1.0.0\n    requires:\n      - {api: ledger-apj, range: ^2}\n    tier: 2\n",
			[]string{`22:15: unknown API "ledger-apj"`}, `did you mean "ledger-api"`},
		{"bad range", base + "  - name: cart\n    version: 1.0.0\n    requires:\n      - {api: ledger-api, range: \"^^2\"}\n    tier: 2\n",
			[]string{`22:34: invalid version range "^^2"`}, "semver range"},
		{"bad version", base + "  - name: cart\n    version: v1.0\n    tier: 2\n",
			[]string{`20:14: invalid version "v1.0"`}, "MAJOR.MINOR.PATCH"},
		{"duplicate", base + "  - name: ledger\n    version: 1.0.0\n    tier: 2\n",
			[]string{`19:11: duplicate service name "ledger"`}, "first is at org.yaml:7:11"},
		{"missing required", base + "  - name: cart\n    owner: payments\n    tier: 2\n",
			[]string{`19:5: service is missing required key "version"`}, `add "version"`},
		{"unknown top-level", base + "servises: []\n",
			[]string{`19:1: unknown top-level key "servises"`}, `did you mean "services"`},
		{"bad yaml", "teams:\n  - name: a\n    bad: : x\n",
			[]string{`3:10: invalid YAML: mapping values are not allowed`}, "syntax"},
		{"not a database", base + "  - name: cart\n    version: 1.0.0\n    databases: [ledger]\n    tier: 2\n",
			[]string{`21:17: service "ledger" is not a database`}, "kind: database"},
		{"cycle", base + `  - name: a
    version: 1.0.0
    provides: [{api: a-api, version: 1.0.0}]
    requires: [{api: b-api, range: ^1}]
    tier: 2
  - name: b
    version: 1.0.0
    provides: [{api: b-api, version: 1.0.0}]
    requires: [{api: c-api, range: ^1}]
    tier: 2
  - name: c
    version: 1.0.0
    provides: [{api: c-api, version: 1.0.0}]
    requires: [{api: a-api, range: ^1}]
    tier: 2
`, []string{`22:22: dependency cycle: a -> b -> c -> a`}, "remove one of these requirements"},
		{"second provider", base + "  - name: cart\n    version: 1.0.0\n    provides: [{api: ledger-api, version: 1.0.0}]\n    tier: 2\n",
			[]string{`21:22: API "ledger-api" is already provided by service "ledger"`}, "one provider"},
		{"window order", base + "calendar:\n  - name: peak\n    kind: freeze\n    start: 2026-12-14\n    end: 2026-12-01\n",
			[]string{`23:10: calendar item "peak" ends at 2026-12-01T00:00:00Z`}, "after start"},
		{"bad time zone", base + "environments:\n  - name: prod\n    order: 1\n    production: true\n    regions:\n      - {name: eu, time_zone: Europe/Dublni, low_traffic: {start: \"02:00\", end: \"05:00\"}}\n",
			[]string{`24:31: unknown time zone "Europe/Dublni"`}, "IANA"},
		{"negative region weight", base + "environments:\n  - name: prod\n    order: 1\n    production: true\n    regions:\n      - {name: eu, time_zone: UTC, weight: -20, low_traffic: {start: \"02:00\", end: \"05:00\"}}\n",
			[]string{`24:44: region "eu" has weight -20, below 0`}, "0 or more"},
		// Go's "Local" is the reading machine's zone, not a place.
		{"local time zone", base + "environments:\n  - name: prod\n    order: 1\n    production: true\n    regions:\n      - {name: eu, time_zone: Local, low_traffic: {start: \"02:00\", end: \"05:00\"}}\n",
			[]string{`24:31: unknown time zone "Local"`}, "IANA"},
		{"canary steps", base + "  - name: cart\n    version: 1.0.0\n    deploy: {strategy: canary, canary_steps: [5, 50, 25]}\n    tier: 2\n",
			[]string{`21:54: canary step 25% does not rise`}, "rising"},
		{"canary tolerance", base + "  - name: cart\n    version: 1.0.0\n    deploy: {strategy: canary, canary_tolerance: {error_rate: 100, latency_p95: 20}}\n    tier: 2\n",
			[]string{`21:63: canary_tolerance.error_rate 100 is out of range`}, "percentage points"},
		{"bake extension", base + "  - name: cart\n    version: 1.0.0\n    deploy: {strategy: canary, bake_extension: 0.5}\n    tier: 2\n",
			[]string{`21:48: bake_extension 0.5 is out of range`}, "factor"},
		{"expected rps", base + "  - name: cart\n    version: 1.0.0\n    deploy: {strategy: canary, expected_rps: {dev: 0}}\n    tier: 2\nenvironments:\n  - {name: dev, order: 1}\n",
			[]string{`21:52: expected_rps of dev 0 is out of range`}, "requests per second"},
		{"expected rps of an unknown environment", base + "  - name: cart\n    version: 1.0.0\n    deploy: {strategy: canary, expected_rps: {prd: 12}}\n    tier: 2\nenvironments:\n  - {name: prod, order: 1}\n",
			[]string{`21:52: unknown environment "prd"`}, `did you mean "prod"`},
		{"tolerance off canary", base + "  - name: cart\n    version: 1.0.0\n    deploy: {strategy: rolling, canary_tolerance: {latency_p95: 20}}\n    tier: 2\n",
			[]string{`21:51: canary_tolerance given for strategy "rolling"`}, "strategy: canary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := parseAll(t, map[string]string{"org.yaml": c.spec})
			if len(errs) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(c.want), errs)
			}
			for i, w := range c.want {
				got := fmt.Sprintf("%d:%d: %s", errs[i].Pos.Line, errs[i].Pos.Col, errs[i].Msg)
				if !strings.HasPrefix(got, w) {
					t.Errorf("error %d:\n got  %s\n want %s...", i, got, w)
				}
				if errs[i].Pos.File != "org.yaml" {
					t.Errorf("error %d names file %q", i, errs[i].Pos.File)
				}
			}
			if !strings.Contains(errs[0].Hint, c.hint) {
				t.Errorf("hint %q does not mention %q", errs[0].Hint, c.hint)
			}
		})
	}
}

func TestAllErrorsOfARunTogether(t *testing.T) {
	set, errs := ParseFiles([]string{"../../testdata/invalid/five-errors.yaml"})
	_, verrs := Validate(set, nil)
	errs = append(errs, verrs...)
	errs.Sort()
	want := []string{"unknown key", "expected a whole number", "unknown team or vendor", "invalid version range", "dependency cycle"}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if !strings.Contains(errs[i].Msg, w) {
			t.Errorf("error %d = %q, want it to say %q", i, errs[i].Error(), w)
		}
		if errs[i].Pos.Line == 0 || errs[i].Pos.Col == 0 {
			t.Errorf("error %d has no line:col: %v", i, errs[i])
		}
	}
}

func TestReferencesResolveAgainstStored(t *testing.T) {
	set, errs := parseAll(t, map[string]string{"org.yaml": base})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cat := newMemCatalog()
	if _, err := Apply(context.Background(), cat, set, Options{}); err != nil {
		t.Fatal(err)
	}
	// A later file mentions only a new service owned by a stored team.
	srcs, perrs := Parse("more.yaml", []byte("services:\n  - name: cart\n    owner: payments\n    tier: 2\n    version: 1.0.0\n    requires: [{api: ledger-api, range: ^2}]\n"))
	if len(perrs) > 0 {
		t.Fatal(perrs)
	}
	stored, _ := cat.Records(context.Background())
	if _, errs := Validate(&Set{Sources: srcs}, stored); len(errs) > 0 {
		t.Fatalf("references to stored objects should resolve:\n%v", errs)
	}
}

// memCatalog is a Catalog in memory, to test Apply's logic apart from the
// store (which has its own tests on a real SQLite file).
type memCatalog struct {
	recs map[string]model.Record
	gen  map[string]int64
}

func newMemCatalog() *memCatalog {
	return &memCatalog{recs: map[string]model.Record{}, gen: map[string]int64{}}
}

func (m *memCatalog) Records(context.Context) ([]model.Record, error) {
	out := make([]model.Record, 0, len(m.recs))
	for _, r := range m.recs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+model.Kind(out[i].Name) < out[j].Kind+model.Kind(out[j].Name) })
	return out, nil
}

func (m *memCatalog) PutRecord(_ context.Context, r model.Record) error {
	k := string(r.Kind) + "/" + r.Name
	m.gen[k]++
	r.Generation = m.gen[k]
	m.recs[k] = r
	return nil
}

func (m *memCatalog) DeleteRecord(_ context.Context, kind model.Kind, name string) error {
	delete(m.recs, string(kind)+"/"+name)
	return nil
}

func TestApplyIdempotentAndReportsChanges(t *testing.T) {
	ctx := context.Background()
	cat := newMemCatalog()
	set, _ := parseAll(t, map[string]string{"org.yaml": base})
	res, err := Apply(ctx, cat, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary(); got != "3 created, 0 unchanged" {
		t.Errorf("first apply: %q", got)
	}
	res, err = Apply(ctx, cat, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() || res.Summary() != "no changes (3 objects unchanged)" {
		t.Errorf("second apply changed something: %q %+v", res.Summary(), res.Changes)
	}
	changed := strings.Replace(base, `range: "^2.1"`, `range: "^2.3"`, 1)
	changed = strings.Replace(changed, "version: 1.10.0", "version: 1.11.0", 1)
	set2, errs := parseAll(t, map[string]string{"org.yaml": changed})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	res, err = Apply(ctx, cat, set2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].Name != "checkout" || res.Changes[0].Action != Updated {
		t.Fatalf("changes = %+v", res.Changes)
	}
	var fields []string
	for _, f := range res.Changes[0].Fields {
		fields = append(fields, f.String())
	}
	want := []string{`requires[api=ledger-api].range: "^2.1" -> "^2.3"`, `version: "1.10.0" -> "1.11.0"`}
	if strings.Join(fields, "\n") != strings.Join(want, "\n") {
		t.Errorf("fields:\n%s\nwant:\n%s", strings.Join(fields, "\n"), strings.Join(want, "\n"))
	}
}

func TestApplyWithErrorsWritesNothing(t *testing.T) {
	ctx := context.Background()
	cat := newMemCatalog()
	srcs, _ := Parse("org.yaml", []byte(base+"  - name: cart\n    owner: nobody\n    version: 1.0.0\n"))
	res, err := Apply(ctx, cat, &Set{Sources: srcs}, Options{})
	if err == nil || len(res.Errors) != 1 {
		t.Fatalf("err = %v, errors = %v", err, res.Errors)
	}
	if recs, _ := cat.Records(ctx); len(recs) != 0 {
		t.Errorf("an invalid spec wrote %d records", len(recs))
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	cat := newMemCatalog()
	set, _ := parseAll(t, map[string]string{"org.yaml": base})
	if _, err := Apply(ctx, cat, set, Options{}); err != nil {
		t.Fatal(err)
	}
	less := strings.Split(base, "  - name: checkout")[0]
	set2, errs := parseAll(t, map[string]string{"org.yaml": less})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	res, err := Apply(ctx, cat, set2, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].Action != Deleted || res.Changes[0].Name != "checkout" {
		t.Fatalf("changes = %+v", res.Changes)
	}
	if recs, _ := cat.Records(ctx); len(recs) != 2 {
		t.Errorf("%d records left, want 2", len(recs))
	}
}
