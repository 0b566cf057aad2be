package gates

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/warroom/warroom/core/model"
)

var (
	now  = time.Date(2026, 12, 6, 12, 30, 0, 0, time.UTC)
	hash = func(c byte) string { return strings.Repeat(string(c), 64) }
	pct  = func(v float64) *float64 { return &v }
)

// scenarioGates are the gates of the scenario, in matrix order.
var scenarioGates = []model.Gate{
	{Name: "coverage", Kind: model.GateCoverage, Min: pct(75)},
	{Name: "perf", Kind: model.GatePerformance, Max: pct(5)},
	{Name: "security-signoff", Kind: model.GateApproval, Approvers: []string{"security"}},
	{Name: "rollback-rehearsal", Kind: model.GateRehearsal},
	{Name: "drift", Kind: model.GateDrift},
}

func ev(svc, gate, file string, c byte, value float64, threshold string, pass bool, summary, by string, at time.Time) Evidence {
	return Evidence{Release: "r1", Service: svc, Gate: gate, SHA256: hash(c), File: file, Format: "gocover",
		Value: value, Threshold: threshold, Pass: pass, Summary: summary, AddedBy: by, AddedAt: at}
}

// scenario has one case of every rule; the golden file holds the reason
// of each cell.
func scenario() Records {
	at := func(h, m int) time.Time { return time.Date(2026, 12, 6, h, m, 0, 0, time.UTC) }
	perf := ev("checkout", "perf", "new.txt", 'c', 1.8, "max 5 %", true, "performance +1.8 % ≤ max 5 % (p=0.002)", "ci-bot for alice", at(11, 0))
	perf.BaselineSHA256, perf.BaselineFile = hash('d'), "base.txt"
	return Records{
		Evidence: []Evidence{
			// checkout: an older passing file superseded by a failing one.
			ev("checkout", "coverage", "cover.out", 'e', 80, "min 75 %", true, "coverage 80 % ≥ min 75 %", "alice", at(9, 0)),
			ev("checkout", "coverage", "cover.out", 'a', 71.2, "min 75 %", false, "coverage 71.2 % < min 75 %", "alice", at(12, 3)),
			ev("ledger", "coverage", "coverage.xml", 'b', 91.5, "min 75 %", true, "coverage 91.5 % ≥ min 75 %", "bob", at(12, 3).Add(-24*time.Hour)),
			perf,
			ev("ledger", "perf", "new.txt", 'f', 12.5, "max 5 %", false, "performance +12.5 % > max 5 % (p=0.001)", "alice", at(10, 0)),
			// another release's evidence is ignored
			{Release: "r2", Service: "payments", Gate: "coverage", Pass: true, SHA256: hash('9'), AddedAt: at(1, 0)},
		},
		SignOffs: []SignOff{
			{ID: 1, Release: "r1", Service: "checkout", Gate: "security-signoff", Approver: "carol", Via: "ci-bot", Reason: "pen test clean", At: at(12, 10)},
			{ID: 2, Release: "r1", Service: "ledger", Gate: "security-signoff", Approver: "carol", At: at(12, 10).Add(-25 * time.Hour)},
			{ID: 3, Release: "r1", Service: "payments", Gate: "security-signoff", Approver: "dave", At: at(12, 0)},
		},
		Waivers: []Waiver{
			// ledger/perf: an older expired waiver, then a live one.
			{ID: 1, Release: "r1", Service: "ledger", Gate: "perf", Approver: "carol", Reason: "old", At: at(8, 0), Expires: at(9, 0)},
			{ID: 2, Release: "r1", Service: "ledger", Gate: "perf", Approver: "carol", Via: "ci-bot", RequestedBy: "alice",
				Reason: "known regression, fixed in 1.2", At: at(11, 0), Expires: at(11, 0).Add(48 * time.Hour)},
			// payments/perf: only an expired waiver.
			{ID: 3, Release: "r1", Service: "payments", Gate: "perf", Approver: "carol", Reason: "vendor outage", At: at(8, 0), Expires: at(12, 0)},
			// payments/coverage: a waiver for prod only does not count in staging.
			{ID: 4, Release: "r1", Service: "payments", Gate: "coverage", Env: "prod", Approver: "carol", Reason: "prod only", At: at(8, 0), Expires: at(20, 0)},
			// checkout/perf passes: its waiver changes nothing.
			{ID: 5, Release: "r1", Service: "checkout", Gate: "perf", Approver: "carol", Reason: "just in case", At: at(8, 0), Expires: at(20, 0)},
			// payments/rollback-rehearsal: a waiver lets a gate not evaluated yet through.
			{ID: 6, Release: "r1", Service: "payments", Gate: "rollback-rehearsal", Approver: "carol", Reason: "rehearsed by hand", At: at(8, 0), Expires: at(20, 0)},
		},
	}
}

func scenarioRequest() Request {
	return Request{Release: "r1", Services: []string{"checkout", "ledger", "payments"}, Gates: scenarioGates, Env: "staging", Now: now,
		Policy: Policy{MayApprove: func(person string, approvers []string) bool {
			return person == "carol" && slices.Contains(approvers, "security")
		}}}
}

func TestEvaluateReasons(t *testing.T) {
	results := Evaluate(scenarioRequest(), scenario())
	var b strings.Builder
	for _, r := range results {
		v := "-"
		if r.Value != nil {
			v = fmt.Sprintf("%g", *r.Value)
		}
		fmt.Fprintf(&b, "%s/%s %s value=%s threshold=%q\n    %s\n", r.Service, r.Gate, r.State, v, r.Threshold, r.Reason)
	}
	golden.RequireEqual(t, []byte(b.String()))
}

func TestEvaluateStates(t *testing.T) {
	results := Evaluate(scenarioRequest(), scenario())
	want := map[string]State{
		"checkout/coverage": Fail, "checkout/perf": Pass, "checkout/security-signoff": Pass,
		"checkout/rollback-rehearsal": Missing, "checkout/drift": Missing,
		"ledger/coverage": Pass, "ledger/perf": Waived, "ledger/security-signoff": Expired,
		"ledger/rollback-rehearsal": Missing, "ledger/drift": Missing,
		"payments/coverage": Missing, "payments/perf": Expired, "payments/security-signoff": Missing,
		"payments/rollback-rehearsal": Waived, "payments/drift": Missing,
	}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d", len(results), len(want))
	}
	for i, r := range results {
		// services outer, gates inner, in the request's order
		if wantSvc, wantGate := []string{"checkout", "ledger", "payments"}[i/5], scenarioGates[i%5].Name; r.Service != wantSvc || r.Gate != wantGate {
			t.Errorf("result %d is %s/%s, want %s/%s", i, r.Service, r.Gate, wantSvc, wantGate)
		}
		if got := want[r.Service+"/"+r.Gate]; r.State != got {
			t.Errorf("%s/%s: %s, want %s (%s)", r.Service, r.Gate, r.State, got, r.Reason)
		}
		if r.Clears() != (r.State == Pass || r.State == Waived) {
			t.Errorf("%s/%s: Clears %v for %s", r.Service, r.Gate, r.Clears(), r.State)
		}
	}
	// The failing cell carries its evidence; the waived one its waiver.
	cov := results[0]
	if cov.EvidenceSHA != hash('a') || cov.File != "cover.out" || cov.AddedBy != "alice" || *cov.Value != 71.2 || cov.Threshold != "min 75 %" {
		t.Errorf("checkout/coverage: %+v", cov)
	}
	if w := results[6].Waiver; w == nil || w.ID != 2 || results[6].EvidenceSHA != hash('f') {
		t.Errorf("ledger/perf: waiver %+v", w)
	}
	if got := len(Blocking(results)); got != 10 {
		t.Errorf("%d blocking, want 10", got)
	}
	// JSON field names are part of 'gate status -o json'.
	b, _ := json.Marshal(cov)
	for _, f := range []string{`"release":"r1"`, `"service":"checkout"`, `"gate":"coverage"`, `"kind":"coverage"`, `"state":"fail"`,
		`"value":71.2`, `"threshold":"min 75 %"`, `"evidence_sha256":"aaaa`, `"file":"cover.out"`, `"added_by":"alice"`,
		`"added_at":"2026-12-06T12:03:00Z"`, `"reason":"coverage 71.2 % \u003c min 75 % (cover.out sha256:aaaa…, added by alice 12:03)"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("JSON lacks %s:\n%s", f, b)
		}
	}
}

func TestEvaluateOpenModeAndTTL(t *testing.T) {
	req := scenarioRequest()
	req.MayApprove = nil // open mode: dave's sign-off counts
	req.ApprovalTTL = 26 * time.Hour
	got := map[string]Result{}
	for _, r := range Evaluate(req, scenario()) {
		got[r.Service+"/"+r.Gate] = r
	}
	if r := got["payments/security-signoff"]; r.State != Pass || r.Reason != "signed off by dave 12:00" || *r.Value != 1 {
		t.Errorf("open mode: %+v", r)
	}
	if r := got["ledger/security-signoff"]; r.State != Pass || r.Reason != "signed off by carol 2026-12-05 11:10" {
		t.Errorf("approval_ttl 26h: %+v", r)
	}
	// With no environment, a waiver for prod counts.
	req.Env = ""
	for _, r := range Evaluate(req, scenario()) {
		if r.Service == "payments" && r.Gate == "coverage" && r.State != Waived {
			t.Errorf("across environments: %+v", r)
		}
	}
}

func TestRequired(t *testing.T) {
	org := &model.Org{
		Gates: scenarioGates,
		Environments: []model.Environment{
			{Name: "prod", Order: 3, Gates: []string{"coverage", "rollback-rehearsal"}},
			{Name: "dev", Order: 1},
			{Name: "staging", Order: 2, Gates: []string{"coverage", "security-signoff"}},
			{Name: "broken", Order: 4, Gates: []string{"nope"}},
		},
		Releases: []model.Release{
			{Name: "r1", Environments: []string{"prod", "staging", "dev"}, Scope: []model.ScopeItem{{Service: "ledger"}, {Service: "checkout"}, {Service: "ledger"}}},
			{Name: "r2", Scope: []model.ScopeItem{{Service: "ledger"}}},
		},
	}
	ix := model.NewIndex(org)
	sc, err := Required(ix, "r1", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range sc.Gates {
		names = append(names, g.Name)
	}
	if !slices.Equal(sc.Environments, []string{"dev", "staging", "prod"}) || !slices.Equal(sc.Services, []string{"ledger", "checkout"}) ||
		!slices.Equal(names, []string{"coverage", "security-signoff", "rollback-rehearsal"}) ||
		!slices.Equal(sc.RequiredBy["coverage"], []string{"staging", "prod"}) {
		t.Errorf("r1 everywhere: %+v", sc)
	}
	if sc, err := Required(ix, "r1", "staging"); err != nil || len(sc.Gates) != 2 || !slices.Equal(sc.Environments, []string{"staging"}) {
		t.Errorf("r1 staging: %+v %v", sc, err)
	}
	if only := sc.Only([]string{"checkout", "payments"}); !slices.Equal(only.Services, []string{"checkout"}) || len(only.Gates) != 3 {
		t.Errorf("Only: %+v", only)
	}
	if sc, err := Required(ix, "r1", "dev"); err != nil || len(sc.Gates) != 0 || len(sc.Services) != 2 {
		t.Errorf("r1 dev: %+v %v", sc, err)
	}
	for _, tc := range []struct{ release, env, want string }{
		{"r9", "", `release "r9": unknown release`},
		{"r1", "qa", `environment "qa": unknown environment`},
		{"r1", "broken", "release r1 does not go through environment broken (it goes through dev, staging, prod)"},
		{"r2", "", `environment broken requires gate "nope", which is not declared: unknown gate`},
	} {
		if _, err := Required(ix, tc.release, tc.env); err == nil || err.Error() != tc.want {
			t.Errorf("Required(%s, %s): %v, want %q", tc.release, tc.env, err, tc.want)
		}
	}
}

func TestWhen(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), "00:00"},
		{time.Date(2026, 12, 5, 23, 59, 0, 0, time.UTC), "2026-12-05 23:59"},
		{time.Date(2025, 12, 6, 12, 0, 0, 0, time.UTC), "2025-12-06 12:00"},
		{time.Date(2026, 12, 6, 14, 3, 0, 0, time.FixedZone("CET", 3600)), "13:03"},
	} {
		if got := When(now, tc.t); got != tc.want {
			t.Errorf("When(%s) = %q, want %q", tc.t, got, tc.want)
		}
	}
	if ShortHash(hash('a')) != "aaaa…" || ShortHash("ab") != "ab" {
		t.Error("ShortHash")
	}
}

func TestThreshold(t *testing.T) {
	for _, tc := range []struct {
		g    model.Gate
		want string
	}{
		{model.Gate{Kind: model.GateCoverage, Min: pct(75)}, "min 75 %"},
		{model.Gate{Kind: model.GateTests, Min: pct(99.5)}, "min 99.5 %"},
		{model.Gate{Kind: model.GateSecurity, Max: pct(0), Severity: "high"}, "max 0 high+"},
		{model.Gate{Kind: model.GateSecurity, Max: pct(3)}, "max 3 low+"},
		{model.Gate{Kind: model.GateLicence, Allow: []string{"MIT", "Apache-2.0"}}, "allow [MIT Apache-2.0]"},
		{model.Gate{Kind: model.GateIntegration}, ""},
	} {
		if got := Threshold(&tc.g); got != tc.want {
			t.Errorf("Threshold(%+v) = %q, want %q", tc.g, got, tc.want)
		}
	}
}
