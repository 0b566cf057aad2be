package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

// fixedNow is the clock of every test: 14:30 UTC, 15:30 in Paris.
var fixedNow = time.Date(2026, 11, 27, 14, 30, 0, 0, time.UTC)

// fakeSource serves a fixed snapshot; tests change it with set.
type fakeSource struct {
	mu      sync.Mutex
	snap    Snapshot
	version int64
	loads   int
}

func (f *fakeSource) Load(_ context.Context, limit int) (Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	s := f.snap
	s.Version = f.version
	if len(s.Audit) > limit {
		s.Audit = s.Audit[len(s.Audit)-limit:]
	}
	return s, nil
}

func (f *fakeSource) Changed(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version, nil
}

// set changes the data as another process would, bumping the version.
func (f *fakeSource) set(fn func(*Snapshot)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.snap)
	f.version++
}

func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func newTestModel(src Source) *Model {
	return New(Deps{Source: src, Renderer: asciiRenderer(), Now: func() time.Time { return fixedNow }, Actor: "carol"},
		WithLocation(time.FixedZone("CET", 3600)))
}

// fixture is a paused release run of 35 steps over four waves, with a
// failure, a canary in flight, a migration and long names to truncate.
func fixture() *fakeSource {
	t0 := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	org := &model.Org{Releases: []model.Release{{
		Name: "2026-11-27-payments", Title: "Payments 3.2 and ledger schema v7", Captain: "carol",
		Window: model.Window{Start: t0, End: t0.Add(4 * time.Hour)},
		Scope:  []model.ScopeItem{{Service: "payments", Version: "3.2.0"}},
	}}}
	addCalendarAndGates(org)
	addGraph(org)
	run := &deploy.Run{
		ID: "run-7f3a", Release: "2026-11-27-payments", State: deploy.RunPaused,
		Reason: "paused by dave: checking the eu-west dashboards", StartedBy: "carol", CreatedAt: t0,
	}
	services := []string{"api-gateway", "payments", "ledger", "notifications-and-webhooks-dispatcher", "search"}
	envs := []struct{ env, region string }{{"staging", ""}, {"prod", "eu-west-1"}, {"prod", "us-east-1"}, {"prod", "ap-southeast-2"}}
	idx := 0
	for wave := 1; wave <= 4; wave++ {
		for _, e := range envs {
			for si, svc := range services {
				if idx == 35 || (wave > 1 && si > 1 && e.env == "staging") {
					continue
				}
				idx++
				s := deploy.Step{Index: idx, Wave: wave, Kind: deploy.KindService, Service: svc, Env: e.env,
					Region: e.region, FromVersion: "3.1.4", Version: "3.2.0", Strategy: model.Strategy("rolling"),
					State: deploy.StepPending}
				switch {
				case idx == 7:
					s.State, s.Strategy, s.Weight, s.Evidence = deploy.StepDone, model.Strategy("canary"), 100, promoteJudgement(t0)
				case idx <= 12:
					s.State = deploy.StepDone
				case idx == 13:
					s.State, s.Strategy, s.Weight, s.Progress = deploy.StepBaking, model.Strategy("canary"), 25, "25% on canary, bake ends 14:45"
				case idx == 14:
					s.State, s.Strategy, s.Weight = deploy.StepFailed, model.Strategy("canary"), 10
					s.Evidence, s.Error = rollbackJudgement(t0)
				case idx == 15:
					s.State = deploy.StepSkipped
				case idx == 16:
					s.Kind, s.Migration, s.Phase, s.State = deploy.KindMigration, "ledger-v7", model.MigrationPhase("expand"), deploy.StepDeploying
				}
				run.Steps = append(run.Steps, s)
			}
		}
	}
	var events []model.AuditEvent
	cmds := []string{"apply", "plan", "deploy.start", "deploy.step", "deploy.pause"}
	for i := 1; i <= 30; i++ {
		events = append(events, model.AuditEvent{Seq: int64(i), At: t0.Add(time.Duration(i) * time.Minute),
			Actor: []string{"carol", "engine", "dave"}[i%3], Command: cmds[i%len(cmds)],
			Summary: fmt.Sprintf("event %d: step %d of run run-7f3a moved on; a long summary that must be truncated at narrow widths", i, i)})
	}
	return &fakeSource{version: 1, snap: Snapshot{Org: org, Run: run, Audit: events, Samples: fixtureSamples(t0),
		AuditVerify: AuditVerification{OK: true, Events: 30},
		Identity:    &Identity{Person: "carol", Login: "carol", Roles: []string{"captain", "approver"}, Teams: []string{"platform"}},
		GateResults: map[string][]GateResult{"2026-11-27-payments": fixtureGates(t0)}, GatesKnown: true}}
}

// fixtureGates are the payments release's gate results, one of each
// state: payments short of coverage, ledger's coverage waived, search's
// security waiver expired, api-gateway's change approval at 1 of 2, the
// dispatcher's tests never reported.
func fixtureGates(t0 time.Time) []GateResult {
	ev := func(file, hash, by string, at time.Duration) *GateEvidence {
		return &GateEvidence{File: file, SHA256: hash, AddedBy: by, AddedAt: t0.Add(at), Format: "gocover"}
	}
	var out []GateResult
	for _, svc := range []string{"payments", "api-gateway", "ledger", "notifications-and-webhooks-dispatcher", "search"} {
		if svc != "notifications-and-webhooks-dispatcher" {
			out = append(out, GateResult{Service: svc, Gate: "unit-tests", State: GatePass, Value: "100 %", Threshold: "min 99.5 %",
				Reason:   "pass rate 100 % >= min 99.5 % (junit.xml sha256:9f2c…, added by ci-bot 12:41)",
				Evidence: &GateEvidence{File: "junit.xml", SHA256: "9f2c4e61b0aa53d1c7e8", AddedBy: "ci-bot", AddedAt: t0.Add(-19 * time.Minute), Format: "junit"}})
		}
		switch svc {
		case "payments":
			out = append(out, GateResult{Service: svc, Gate: "coverage", State: GateFail, Value: "71.2 %", Threshold: "min 80 %",
				Reason:   "coverage 71.2 % < min 80 % (cover.out sha256:ab12…, added by alice 12:03)",
				Evidence: ev("cover.out", "ab12f09c33d2e4b5a6c7", "alice", -57*time.Minute)})
		case "ledger":
			out = append(out, GateResult{Service: svc, Gate: "coverage", State: GateWaived, Value: "78.0 %", Threshold: "min 80 %",
				Reason:   "waived by dave until 28 Nov 13:00 UTC: generated code lowers the figure",
				Evidence: ev("cover.out", "c0ffee1234567890abcd", "ci-bot", -50*time.Minute),
				Waiver:   &GateWaiver{By: "dave", Reason: "generated code lowers the figure", At: t0.Add(-30 * time.Minute), Expires: t0.Add(24 * time.Hour)}})
		default:
			out = append(out, GateResult{Service: svc, Gate: "coverage", State: GatePass, Value: "84.0 %", Threshold: "min 80 %",
				Reason: "coverage 84.0 % >= min 80 %", Evidence: ev("cover.out", "0123456789abcdef0123", "ci-bot", -50*time.Minute)})
		}
		if svc == "search" {
			out = append(out, GateResult{Service: svc, Gate: "security-scan", State: GateExpired, Value: "2 high+", Threshold: "max 0 high+",
				Reason: "waiver by dave expired 27 Nov 12:00 UTC; 2 high findings open",
				Waiver: &GateWaiver{By: "dave", Reason: "false positives, fix in 3.2.1", At: t0.Add(-25 * time.Hour), Expires: t0.Add(-time.Hour)}})
		} else {
			out = append(out, GateResult{Service: svc, Gate: "security-scan", State: GatePass, Value: "0 high+", Threshold: "max 0 high+",
				Reason: "0 findings at high or above"})
		}
		if svc == "api-gateway" {
			out = append(out, GateResult{Service: svc, Gate: "change-approval", State: GateMissing, Needed: 2,
				Reason:    "1 of 2 sign-offs (release-captains, sre)",
				Approvals: []GateSignoff{{By: "erin", Reason: "dashboards green", At: t0.Add(-10 * time.Minute)}}})
		} else {
			out = append(out, GateResult{Service: svc, Gate: "change-approval", State: GatePass, Needed: 2,
				Reason:    "2 of 2 sign-offs",
				Approvals: []GateSignoff{{By: "erin", At: t0.Add(-10 * time.Minute)}, {By: "frank", At: t0.Add(-5 * time.Minute)}}})
		}
	}
	return out
}

// promoteJudgement is the judge's promote of a clean canary at 100 %
// after its proofs held, as the engine stores it on the step.
func promoteJudgement(t0 time.Time) json.RawMessage {
	f := func(v float64) *float64 { return &v }
	ev := canary.Evidence{Verdict: deploy.VerdictPromote, Alpha: 0.05, Tolerance: 0.1, Beta: 0.01,
		ErrorTolerance: 0.005, LatencyTolerance: 0.2,
		Since: t0.Add(10 * time.Minute), At: t0.Add(25 * time.Minute), ElapsedS: 900, Against: "baseline",
		Latency: &canary.LatencyEvid{Histogram: true, P50Ms: 30, P95Ms: 30, LimitMs: 36},
		Metrics: []canary.MetricEvid{
			{Name: "error_rate", Test: "two-sample sequential test of the canary's error rate against the baseline's",
				Against: "baseline", Baseline: canary.CohortEvid{Requests: 30028, Events: 60, Rate: 60.0 / 30028},
				Canary: canary.CohortEvid{Requests: 9972, Events: 21, Rate: 21.0 / 9972}, RateRatio: f(1.05), RelativeEffect: f(0.05),
				EValue: 0.62, Threshold: 20},
			{Name: "latency_shift", Test: "sequential rank test of a shift in the canary's latency distribution",
				Against: "baseline", Baseline: canary.CohortEvid{Requests: 30028, Events: 1502, Rate: 1502.0 / 30028},
				Canary: canary.CohortEvid{Requests: 9972, Events: 480, Rate: 480.0 / 9972}, RateRatio: f(0.96), RelativeEffect: f(-0.04),
				EValue: 0.31, Threshold: 20},
		},
		Proofs: []canary.ProofEvid{
			{Name: "error_rate", Test: "one-sample sequential test of the canary's error rate against the baseline's lower bound + tolerance",
				Claim: "error rate <= base + 0.5 pp", Confidence: 0.99, Canary: canary.CohortEvid{Requests: 9972, Events: 21, Rate: 21.0 / 9972},
				Limit: 0.007, Dispersion: 1, EValue: 412, Threshold: 200, Proved: true, ProvedAfterS: 610},
			{Name: "latency_p95", Test: "one-sample sequential test of the canary's share of requests slower than (1 + tolerance) x the baseline's p95 against 5 %",
				Claim: "p95 latency <= 36ms (base 30ms + 20%)", Confidence: 0.99, Canary: canary.CohortEvid{Requests: 9972, Events: 130, Rate: 130.0 / 9972},
				Limit: 0.05, Dispersion: 1, EValue: 1.4e5, Threshold: 100, Proved: true, ProvedAfterS: 320},
		},
		Proved: true,
		SRM:    canary.SRMEvid{NominalWeight: 25, ObservedShare: 0.2493, CanaryRequests: 9972, TotalRequests: 40000, EValue: 0.44, Threshold: 20},
	}
	return judgement(deploy.VerdictPromote,
		"bake time over; proved error rate <= base + 0.5 pp and p95 latency <= 36ms with 99% confidence after 9972 requests", ev)
}

// inconclusiveJudgement is a 25 % canary whose bake ended with neither a
// rejection nor the proofs: too little traffic to tell.
func inconclusiveJudgement(t0 time.Time) json.RawMessage {
	f := func(v float64) *float64 { return &v }
	ev := canary.Evidence{Verdict: deploy.VerdictContinue, Alpha: 0.05, Tolerance: 0.1, Beta: 0.01,
		ErrorTolerance: 0.005, LatencyTolerance: 0.2, Objectives: canary.Objectives{ErrorRate: 0.01},
		Since: t0.Add(30 * time.Minute), At: t0.Add(90 * time.Minute), ElapsedS: 3600, Against: "baseline",
		Metrics: []canary.MetricEvid{
			{Name: "error_rate", Against: "baseline", Baseline: canary.CohortEvid{Requests: 1240, Events: 2, Rate: 2.0 / 1240},
				Canary: canary.CohortEvid{Requests: 412, Events: 1, Rate: 1.0 / 412}, RateRatio: f(1.5), RelativeEffect: f(0.5),
				EValue: 1.3, Threshold: 40},
			{Name: "latency_shift", Against: "baseline", Baseline: canary.CohortEvid{Requests: 1240, Events: 62, Rate: 0.05},
				Canary: canary.CohortEvid{Requests: 412, Events: 22, Rate: 22.0 / 412}, EValue: 0.9, Threshold: 40},
			{Name: "error_slo", Against: "slo", Canary: canary.CohortEvid{Requests: 412, Events: 1, Rate: 1.0 / 412},
				ReferenceRate: 0.01, EValue: 0.4, Threshold: 80},
		},
		Proofs: []canary.ProofEvid{
			{Name: "error_rate", Claim: "error rate <= base + 0.5 pp", Confidence: 0.99, Canary: canary.CohortEvid{Requests: 412, Events: 1, Rate: 1.0 / 412},
				Limit: 0.0066, EValue: 3.1, Threshold: 200, MoreRequests: 1900},
			{Name: "latency_p95", Claim: "p95 latency <= 36ms (base 30ms + 20%)", Confidence: 0.99, Canary: canary.CohortEvid{Requests: 412, Events: 22, Rate: 22.0 / 412},
				Limit: 0.05, EValue: 0.8, Threshold: 100, MoreRequests: -1},
		},
		Insufficient: &canary.Shortfall{Requests: 412, MoreRequests: 1900, CanaryRPS: 0.11, MoreS: 17270},
		SRM:          canary.SRMEvid{NominalWeight: 25, ObservedShare: 0.249, CanaryRequests: 412, TotalRequests: 1652, EValue: 0.3, Threshold: 20},
	}
	return judgement(deploy.VerdictContinue,
		"insufficient evidence: 412 canary requests, about 1900 more needed (4h47m50s at the current traffic); no evidence of harm yet", ev)
}

// rollbackJudgement is the judge rejecting a 10% canary whose error rate
// doubled, and the step error the engine records with it.
func rollbackJudgement(t0 time.Time) (json.RawMessage, string) {
	f := func(v float64) *float64 { return &v }
	reason := "error rate 0.6% on the canary vs 0.3% on the baseline; e-value 34 >= 20 after 412 s"
	ev := canary.Evidence{Verdict: deploy.VerdictRollback, Alpha: 0.05, Tolerance: 0.1,
		Since: t0.Add(20 * time.Minute), At: t0.Add(20*time.Minute + 430*time.Second), ElapsedS: 430, DecidedAfter: 412,
		Metrics: []canary.MetricEvid{
			{Name: "error_rate", Baseline: canary.CohortEvid{Requests: 61200, Events: 186, Rate: 186.0 / 61200},
				Canary: canary.CohortEvid{Requests: 6830, Events: 41, Rate: 41.0 / 6830}, RateRatio: f(1.975), RelativeEffect: f(0.975),
				EValue: 34.2, Threshold: 20, Rejected: true, RejectedAfterS: 412},
			{Name: "slow_rate", Baseline: canary.CohortEvid{Requests: 61200, Events: 734, Rate: 734.0 / 61200},
				Canary: canary.CohortEvid{Requests: 6830, Events: 86, Rate: 86.0 / 6830}, RateRatio: f(1.05), RelativeEffect: f(0.05),
				EValue: 0.8, Threshold: 20},
		},
		SRM: canary.SRMEvid{NominalWeight: 10, ObservedShare: 6830.0 / 68030, CanaryRequests: 6830, TotalRequests: 68030, EValue: 0.52, Threshold: 20},
	}
	return judgement(deploy.VerdictRollback, reason, ev), "canary judged worse than baseline: " + reason
}

func judgement(v deploy.Verdict, reason string, ev canary.Evidence) json.RawMessage {
	inner, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	b, err := json.Marshal(deploy.Judgement{Verdict: v, Reason: reason, Evidence: inner})
	if err != nil {
		panic(err)
	}
	return b
}

// addCalendarAndGates gives the fixture's organisation a freeze over the
// release, a weekly maintenance window in prod, a high-impact business
// event, three environments and four gates.
func addCalendarAndGates(org *model.Org) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	f := func(v float64) *float64 { return &v }
	org.Calendar = []model.CalendarItem{
		{Name: "black-friday-freeze", Kind: model.Freeze, Title: "Black Friday", Start: day(27, 0), End: day(30, 0),
			Environments: []string{"prod"}, Exceptions: &model.FreezeExceptions{Classes: []model.ChangeClass{model.ClassEmergency}}},
		{Name: "cyber-monday", Kind: model.Business, Title: "Cyber Monday sale", Impact: "high", Start: day(30, 0), End: day(31, 0)},
		{Name: "prod-maintenance", Kind: model.Maintenance, Title: "Tue/Thu night", Environments: []string{"prod"},
			Weekly: &model.Weekly{Days: []string{"tue", "thu"}, Start: "22:00", End: "02:00", TimeZone: "UTC"}},
	}
	org.Environments = []model.Environment{
		{Name: "dev", Order: 1, Gates: []string{"unit-tests"}},
		{Name: "staging", Order: 2, Gates: []string{"unit-tests", "coverage", "security-scan"}},
		{Name: "prod", Order: 3, Production: true, Gates: []string{"unit-tests", "coverage", "security-scan", "change-approval"}},
	}
	org.Gates = []model.Gate{
		{Name: "change-approval", Kind: model.GateApproval, Description: "Sign-off by the release captain and SRE", Approvers: []string{"release-captains", "sre"}, Owners: []string{"sre"}},
		{Name: "coverage", Kind: model.GateCoverage, Description: "Statement coverage of changed packages", Min: f(80), Owners: []string{"platform"}},
		{Name: "security-scan", Kind: model.GateSecurity, Description: "No high or critical SARIF findings", Max: f(0), Severity: "high", Approvers: []string{"security"}, Owners: []string{"security"}},
		{Name: "unit-tests", Kind: model.GateTests, Description: "JUnit pass rate", Min: f(99.5), Owners: []string{"platform"}},
	}
}

// addGraph gives the fixture's organisation a catalogue for the Graph
// screen: the release ships five services over three waves (ledger and
// search; payments; api-gateway and the dispatcher), three more services
// stay outside it, the dispatcher's range rejects the new payments API and
// payments and ledger bundle libjson at different majors.
func addGraph(org *model.Org) {
	api := func(name, v string) []model.APIProvision { return []model.APIProvision{{API: name, Version: v}} }
	req := func(pairs ...string) []model.APIRequirement {
		var out []model.APIRequirement
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, model.APIRequirement{API: pairs[i], Range: pairs[i+1]})
		}
		return out
	}
	libjson := func(v string) []model.LibraryUse { return []model.LibraryUse{{Name: "libjson", Version: v}} }
	org.Teams = []model.Team{
		{Name: "payments-team", Channel: "#payments-warroom", OnCall: "pd-payments", Escalation: []model.Contact{
			{Name: "Priya Raman", Role: "primary on-call", Phone: "+44 20 7946 0101", Pager: true},
			{Name: "Tomás Ortega", Role: "secondary", Chat: "@tomas", Email: "tomas@example.com"},
			{Name: "Dana Kim", Role: "engineering manager", Email: "dana@example.com"},
			{Name: "Eve Laurent", Role: "director"},
		}},
		{Name: "edge-team", Channel: "#edge", Escalation: []model.Contact{{Name: "Sam Park", Chat: "@sam"}}},
		{Name: "platform", Channel: "#platform"},
	}
	org.Vendors = []model.Vendor{{Name: "fraudshield", Escalation: []model.Contact{
		{Name: "FraudShield support", Role: "24/7 desk", Phone: "+1 415 555 0199", Email: "support@fraudshield.example"}}}}
	org.Libraries = []model.Library{{Name: "libjson", Owner: "platform", Versions: []string{"1.4.0", "1.5.0", "2.0.0"}}}
	org.Services = []model.Service{
		{Name: "api-gateway", Owner: "edge-team", Tier: 0, Version: "3.1.4", Provides: api("gateway-api", "3.1.0"), Requires: req("payments-api", "^3")},
		{Name: "payments", Owner: "payments-team", Tier: 0, Version: "3.1.4", Provides: api("payments-api", "3.1.0"),
			Requires: req("ledger-api", "^7", "fraud-api", "^1"), Libraries: libjson("1.4.0")},
		{Name: "ledger", Owner: "payments-team", Tier: 0, Kind: model.Stateful, Version: "3.1.4", Provides: api("ledger-api", "7.0.0"),
			Libraries: libjson("2.0.0"), Databases: []string{"ledger-db"}},
		{Name: "ledger-db", Owner: "platform", Tier: 0, Kind: model.Database, Version: "15.4"},
		{Name: "notifications-and-webhooks-dispatcher", Owner: "platform", Tier: 2, Version: "3.1.4", Requires: req("payments-api", "~3.1")},
		{Name: "search", Owner: "platform", Tier: 2, Version: "3.1.4"},
		{Name: "fraud-check", Owner: "fraudshield", Tier: 1, Version: "1.8.2", Provides: api("fraud-api", "1.8.0")},
		{Name: "reporting", Owner: "platform", Tier: 3, Version: "2.0.0", Requires: req("ledger-api", "^7")},
	}
	rel := &org.Releases[0]
	rel.Scope = []model.ScopeItem{
		{Service: "payments", Version: "3.2.0", Provides: api("payments-api", "3.2.0")},
		{Service: "api-gateway", Version: "3.2.0"},
		{Service: "ledger", Version: "3.2.0"},
		{Service: "notifications-and-webhooks-dispatcher", Version: "3.2.0"},
		{Service: "search", Version: "3.2.0"},
	}
}
