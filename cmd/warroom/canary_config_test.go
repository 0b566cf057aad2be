package main

import (
	"testing"
	"time"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

// Each canary is judged with its service's tolerances: the SLO's, then
// the spec's canary_tolerance over them, and alpha across the train.
func TestCanaryConfigComesFromTheServiceAndTheTrain(t *testing.T) {
	cases := []struct {
		name  string
		svc   *model.Service
		train int
		want  canary.Config
	}{
		{name: "unknown service: defaults", train: 0, want: canary.Config{Train: 1}},
		{name: "no SLO, no tolerance", svc: &model.Service{}, train: 3, want: canary.Config{Train: 3}},
		{name: "SLO: objectives and the error budget as tolerance",
			svc:   &model.Service{SLO: model.SLO{Availability: 99, LatencyP99: model.Duration(250 * time.Millisecond)}},
			train: 2,
			want:  canary.Config{Train: 2, ErrorTolerance: 0.01, Objectives: canary.Objectives{ErrorRate: 0.01, LatencyP99Ms: 250}}},
		{name: "a tight SLO keeps the floor of 0.5 pp",
			svc:  &model.Service{SLO: model.SLO{Availability: 99.95}},
			want: canary.Config{Train: 1, ErrorTolerance: canary.DefaultErrorTolerance, Objectives: canary.Objectives{ErrorRate: 0.0005}}},
		{name: "canary_tolerance overrides the SLO's",
			svc: &model.Service{SLO: model.SLO{Availability: 99},
				Deploy: model.DeployPolicy{CanaryTolerance: model.CanaryTolerance{ErrorRate: 0.25, LatencyP95: 10}}},
			train: 30,
			want:  canary.Config{Train: 30, ErrorTolerance: 0.0025, LatencyTolerance: 0.1, Objectives: canary.Objectives{ErrorRate: 0.01}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := canaryConfig(c.svc, c.train)
			if got.Train != c.want.Train || !near(got.ErrorTolerance, c.want.ErrorTolerance) || !near(got.LatencyTolerance, c.want.LatencyTolerance) ||
				!near(got.Objectives.ErrorRate, c.want.Objectives.ErrorRate) || got.Objectives.LatencyP99Ms != c.want.Objectives.LatencyP99Ms {
				t.Errorf("config %+v, want %+v", got, c.want)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }

func TestTheTrainIsTheRunsCanaryServices(t *testing.T) {
	r := &deploy.Run{Steps: []deploy.Step{
		{Kind: deploy.KindService, Service: "a", Strategy: model.Canary, Env: "test"},
		{Kind: deploy.KindService, Service: "a", Strategy: model.Canary, Env: "prod"},
		{Kind: deploy.KindService, Service: "b", Strategy: model.Canary, Env: "prod"},
		{Kind: deploy.KindService, Service: "c", Strategy: model.Rolling, Env: "prod"},
		{Kind: deploy.KindMigration, Service: "db", Env: "prod"},
	}}
	if n := canaryServices(r); n != 2 {
		t.Errorf("%d canary services, want 2", n)
	}
}

// The engine and the judge agree on how an inconclusive bake's reason
// starts: the run's pause reason is the judge's.
func TestInsufficientEvidenceReadsTheSame(t *testing.T) {
	if deploy.ReasonInsufficient != canary.ReasonInsufficient {
		t.Errorf("deploy says %q, canary %q", deploy.ReasonInsufficient, canary.ReasonInsufficient)
	}
}
