package plan_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
)

// linear is an estimator whose bake needed is 600 canary requests,
// recording what it was asked.
type linear struct{ asked int }

func (l *linear) estimate(_ string, canaryRPS, _ float64, max time.Duration) (time.Duration, bool) {
	l.asked++
	d := time.Duration(600 / canaryRPS * float64(time.Second))
	if d > max {
		return max, false
	}
	return d, true
}

func canaryPayments(rps map[string]float64, bake time.Duration, steps []int) func(*model.Org, *model.Release) {
	return func(o *model.Org, _ *model.Release) {
		setService(o, "payments", func(s *model.Service) {
			s.Deploy = model.DeployPolicy{Strategy: model.Canary, BakeTime: model.Duration(bake), CanarySteps: steps, ExpectedRPS: rps}
		})
	}
}

func canarySteps(p *plan.Plan) map[string]*plan.Step {
	out := map[string]*plan.Step{}
	for i := range p.Steps {
		if s := &p.Steps[i]; s.Canary != nil {
			out[s.Environment+"/"+s.Region] = s
		}
	}
	return out
}

// The plan gives each canary step its traffic (the environment's
// expected_rps, a production region its weight's share) and the bake
// its weights need, saying when bake_time is short.
func TestThePlanEstimatesCanaryBakes(t *testing.T) {
	p := build(t, canaryPayments(map[string]float64{"prod": 100, "staging": 1}, 10*time.Minute, []int{10, 50, 100}))
	l := &linear{}
	p.EstimateCanaryBakes(l.estimate)
	steps := canarySteps(p)
	if len(steps) != 5 { // dev, staging/eu-staging, three prod regions
		t.Fatalf("%d canary steps: %v", len(steps), steps)
	}
	if s := p.Steps[0]; s.Service != "payments" && s.Canary != nil {
		t.Errorf("a step of another service has canary bakes: %+v", s)
	}
	cases := []struct {
		where     string
		rps       float64
		outlook   string
		needed10  string // at 10 %
		noteParts []string
	}{
		{"dev/", 0, plan.OutlookUnknown, "", []string{"no deploy.expected_rps for dev"}},
		// 1 rps: 0.1 rps on the canary at 10 %, 6000 s needed > 40m.
		{"staging/eu-staging", 1, plan.OutlookOperator, "1h40m", []string{"bake 10m < 1h40m needed at 0.1 rps on the canary (10%), more than the 40m it may bake: the step will wait for an operator"}},
		// us-east: 50 % of 100 rps; 5 rps at 10 %: 120 s.
		{"prod/us-east", 50, plan.OutlookEnough, "2m", []string{"bake 10m >= 2m needed at 5 rps on the canary (10%)"}},
		// ap-northeast: 20 rps; 2 rps at 10 %: 300 s.
		{"prod/ap-northeast", 20, plan.OutlookEnough, "5m", nil},
	}
	for _, c := range cases {
		s := steps[c.where]
		if s == nil {
			t.Errorf("no canary step in %s", c.where)
			continue
		}
		cb := s.Canary
		if cb.ExpectedRPS != c.rps || cb.Outlook != c.outlook || cb.BakeTime != model.Duration(10*time.Minute) || cb.MaxBake != model.Duration(40*time.Minute) {
			t.Errorf("%s: rps %g outlook %s bake %s max %s; want %g, %s, 10m, 40m", c.where, cb.ExpectedRPS, cb.Outlook, cb.BakeTime, cb.MaxBake, c.rps, c.outlook)
		}
		if len(cb.Weights) != 3 || cb.Weights[0].Percent != 10 || cb.Weights[0].CanaryRPS != c.rps/10 || cb.Weights[0].BaselineRPS != c.rps*0.9 {
			t.Errorf("%s: weights %+v", c.where, cb.Weights)
		}
		got := ""
		if n := cb.Weights[0].BakeNeeded; n != nil {
			got = n.String()
		}
		if got != c.needed10 {
			t.Errorf("%s: bake needed at 10%% %q, want %q", c.where, got, c.needed10)
		}
		for _, part := range c.noteParts {
			if !strings.Contains(cb.Note, part) {
				t.Errorf("%s: note %q does not say %q", c.where, cb.Note, part)
			}
		}
	}
	// Identical traffic is estimated once (us-east, eu-west, ap-northeast
	// and staging differ; each of their 3 weights once).
	if l.asked != 12 {
		t.Errorf("estimator asked %d times, want 12", l.asked)
	}
}

func TestTheJudgeWillExtendAShortBake(t *testing.T) {
	p := build(t, canaryPayments(map[string]float64{"prod": 10}, 5*time.Minute, []int{25, 100}))
	p.EstimateCanaryBakes((&linear{}).estimate)
	s := canarySteps(p)["prod/eu-west"] // 3 rps; 0.75 on the canary at 25 %: 800 s
	if s == nil || s.Canary.Outlook != plan.OutlookExtended ||
		s.Canary.Note != "bake 5m < 13m20s needed at 0.75 rps on the canary (25%): the judge will extend up to 20m" {
		t.Fatalf("%+v", s.Canary)
	}
	if w := s.Canary.Weights[1]; w.Outlook != plan.OutlookEnough || w.BaselineRPS != 0 {
		t.Errorf("100%%: %+v", w)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"canary":{"bake_time":"5m","bake_extension":4,"max_bake":"20m","expected_rps":3,"weights":[{"percent":25,"canary_rps":0.75,"baseline_rps":2.25,"bake_needed":"13m20s","outlook":"extended"}`,
		`"outlook":"extended","note":"bake 5m \u003c 13m20s needed`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s\ndoes not hold %s", b, want)
		}
	}
}

func TestARegionWithoutAWeightSharesEqually(t *testing.T) {
	p := build(t, func(o *model.Org, r *model.Release) {
		canaryPayments(map[string]float64{"prod": 90}, 10*time.Minute, nil)(o, r)
		for i := range o.Environments {
			if o.Environments[i].Name == "prod" {
				o.Environments[i].Regions[0].Weight = 0
			}
		}
	})
	for where, s := range canarySteps(p) {
		if strings.HasPrefix(where, "prod/") && s.Canary.ExpectedRPS != 30 {
			t.Errorf("%s: %g rps, want 30", where, s.Canary.ExpectedRPS)
		}
		if got := len(s.Canary.Weights); got != 3 {
			t.Errorf("%s: %d weights, want the default 10, 50, 100", where, got)
		}
	}
}
