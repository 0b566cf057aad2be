package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const canaryPlanSpec = `teams:
  - name: web
    escalation: [{name: Ana, email: ana@example.com}]
services:
  - name: checkout
    owner: web
    tier: 1
    version: 4.8.0
    slo: {availability: 99.9}
    deploy: {strategy: canary, canary_steps: [10, 100], bake_time: 10m, expected_rps: {prod: 12, dev: 0.5}}
  - name: cart
    owner: web
    tier: 2
    version: 1.0.0
    deploy: {strategy: rolling}
environments:
  - name: dev
    order: 1
  - name: test
    order: 2
  - name: prod
    order: 3
    production: true
    regions:
      - {name: eu-west, time_zone: Europe/Dublin, low_traffic: {start: "01:00", end: "05:00"}}
releases:
  - name: train
    window: {start: 2027-03-01T00:00:00Z, end: 2027-03-01T18:00:00Z}
    scope:
      - {service: checkout, version: 4.9.0}
      - {service: cart, version: 1.1.0}
`

// The plan shows each canary step's traffic and the bake its proofs
// need, and says when bake_time is short, in text and in JSON.
func TestPlanShowsTheBakeCanaryProofsNeed(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "org.yaml"), []byte(canaryPlanSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok("apply", "-f", dir)
	text := c.ok("plan", "train")
	for _, re := range []string{
		`(?m)^Canary bakes \(3\)$`,
		// prod: 12 rps; 1.2 on the canary at 10 %.
		`(?m)^  \d+\. checkout in prod/eu-west, 12 rps expected; needed 10% \S+, 100% \S+\n     ~ bake 10m < \S+ needed at 1\.2 rps on the canary \(10%\): the judge will extend up to 40m$`,
		// dev: 0.5 rps; 0.05 on the canary: more than 40m.
		`(?m)^     ! bake 10m < \S+ needed at 0\.05 rps on the canary \(10%\), more than the 40m it may bake: the step will wait for an operator$`,
		`(?m)^  \d+\. checkout in test\n       no deploy\.expected_rps for test: the bake time the proofs need is not known$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("plan does not match %s:\n%s", re, text)
		}
	}
	if strings.Contains(text, "cart in") {
		t.Errorf("a rolling service has canary bakes:\n%s", text)
	}

	var p struct {
		Steps []struct {
			Service     string `json:"service"`
			Environment string `json:"environment"`
			Canary      *struct {
				ExpectedRPS float64 `json:"expected_rps"`
				MaxBake     string  `json:"max_bake"`
				Outlook     string  `json:"outlook"`
				Note        string  `json:"note"`
				Weights     []struct {
					Percent    int     `json:"percent"`
					CanaryRPS  float64 `json:"canary_rps"`
					BakeNeeded *string `json:"bake_needed"`
					Outlook    string  `json:"outlook"`
				} `json:"weights"`
			} `json:"canary"`
		} `json:"steps"`
	}
	c.json(&p, "plan", "train", "-o", "json")
	outlooks := map[string]string{}
	for _, s := range p.Steps {
		if s.Service != "checkout" {
			if s.Canary != nil {
				t.Errorf("%s has canary bakes", s.Service)
			}
			continue
		}
		if s.Canary == nil {
			t.Fatalf("checkout in %s has no canary bakes", s.Environment)
		}
		outlooks[s.Environment] = s.Canary.Outlook
		if s.Environment == "prod" {
			w := s.Canary.Weights[0]
			if s.Canary.ExpectedRPS != 12 || s.Canary.MaxBake != "40m" || w.Percent != 10 || w.CanaryRPS != 1.2 || w.BakeNeeded == nil || w.Outlook != "extended" {
				b, _ := json.Marshal(s.Canary)
				t.Errorf("prod canary: %s", b)
			}
		}
	}
	if outlooks["dev"] != "operator" || outlooks["test"] != "unknown" || outlooks["prod"] != "extended" {
		t.Errorf("outlooks %v", outlooks)
	}
}
