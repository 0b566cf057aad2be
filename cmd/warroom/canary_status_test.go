package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// insufficientJudgement is what the judge says of a healthy canary whose
// bake ends on too little traffic: a real analysis, finished.
func insufficientJudgement(t *testing.T, start time.Time) deploy.Judgement {
	t.Helper()
	a := canary.NewAnalysis(canary.Config{}, start, 10)
	for i := int64(1); i <= 60; i++ {
		a.Observe(canary.Observation{At: start.Add(time.Duration(i) * time.Second), Weight: 10,
			Baseline: canary.Counts{Requests: 90 * i, Errors: i / 10}, Canary: canary.Counts{Requests: 10 * i}})
	}
	j, err := a.Result().Finish().Judgement()
	if err != nil {
		t.Fatal(err)
	}
	if j.Verdict != deploy.VerdictContinue || !strings.HasPrefix(j.Reason, canary.ReasonInsufficient) {
		t.Fatalf("the analysis was not inconclusive: %s %q", j.Verdict, j.Reason)
	}
	return j
}

// deploy status carries the judge's proof fields of a canary step: the
// one-line reason in text, the whole evidence in JSON.
func TestDeployStatusCarriesTheJudgesEvidence(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	s, err := store.Open(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	j := insufficientJudgement(t, start)
	ev, _ := json.Marshal(deploy.CanaryEvidence{Judgement: j, Bake: &deploy.BakeExtension{Weight: 10, Attempt: 1, Started: start,
		Extensions: 3, Until: start.Add(40 * time.Minute), Limit: start.Add(40 * time.Minute), LimitBy: "bake_extension 4 x 10m0s", AwaitingOperator: true}})
	until := start.Add(40 * time.Minute)
	r := &deploy.Run{ID: "run-1", Release: "r1", State: deploy.RunPaused, Reason: j.Reason + "; step 1 waits for an operator",
		StartedBy: "ana", Environments: []string{"prod"}, CreatedAt: start, UpdatedAt: start,
		Steps: []deploy.Step{
			{Index: 1, Wave: 1, Kind: deploy.KindService, Service: "checkout", Env: "prod", FromVersion: "4.8.0", Version: "4.9.0",
				Strategy: model.Canary, Target: "localfleet", CanarySteps: []int{10, 100}, State: deploy.StepBaking, Weight: 10, Attempt: 1,
				BakeUntil: &until, Evidence: ev, Progress: "canary 10%: waits for an operator (insufficient evidence)"},
			{Index: 2, Wave: 2, Kind: deploy.KindService, Service: "web", Env: "prod", Version: "2.0.0", Strategy: model.Rolling,
				Target: "localfleet", State: deploy.StepPending},
		}}
	if err := s.CreateRun(ctx, r, deploy.Audit{Actor: "ana", Command: "deploy start"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	text := c.ok("deploy", "status", "run-1")
	if !strings.Contains(text, "continue: insufficient evidence: ") || strings.Count(text, "continue: ") != 1 {
		t.Errorf("text status does not show the judge's reason once, below the canary:\n%s", text)
	}
	var got struct {
		Steps []struct {
			Evidence *struct {
				Verdict  string `json:"verdict"`
				Reason   string `json:"reason"`
				Evidence struct {
					Metrics []struct {
						Name      string  `json:"name"`
						Test      string  `json:"test"`
						EValue    float64 `json:"e_value"`
						Threshold float64 `json:"threshold"`
					} `json:"metrics"`
					Proofs []struct {
						Claim  string `json:"claim"`
						Proved bool   `json:"proved"`
					} `json:"proofs"`
					Insufficient *struct {
						Requests     int64 `json:"requests"`
						MoreRequests int64 `json:"more_requests"`
					} `json:"insufficient"`
				} `json:"evidence"`
				Bake *struct {
					Extensions       int  `json:"extensions"`
					AwaitingOperator bool `json:"awaiting_operator"`
				} `json:"bake"`
			} `json:"evidence"`
		} `json:"steps"`
	}
	out := c.ok("deploy", "status", "run-1", "-o", "json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	e := got.Steps[0].Evidence
	switch {
	case e == nil:
		t.Fatalf("no evidence on the canary step:\n%s", out)
	case e.Verdict != "continue" || !strings.HasPrefix(e.Reason, "insufficient evidence"):
		t.Errorf("verdict %q reason %q", e.Verdict, e.Reason)
	case len(e.Evidence.Metrics) == 0 || e.Evidence.Metrics[0].Test == "" || e.Evidence.Metrics[0].Threshold <= 0:
		t.Errorf("no rollback tests with their thresholds: %+v", e.Evidence.Metrics)
	case len(e.Evidence.Proofs) == 0 || e.Evidence.Proofs[0].Claim == "":
		t.Errorf("no proofs with their claims: %+v", e.Evidence.Proofs)
	case e.Evidence.Insufficient == nil || e.Evidence.Insufficient.Requests != 590:
		t.Errorf("no shortfall (590 canary requests after the first observation, the reference): %+v", e.Evidence.Insufficient)
	case e.Bake == nil || e.Bake.Extensions != 3 || !e.Bake.AwaitingOperator:
		t.Errorf("no extension: %+v", e.Bake)
	}
}
