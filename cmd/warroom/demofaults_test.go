package main

import (
	"strings"
	"testing"

	"github.com/warroom/warroom/core/model"
)

func TestUndeployedFaultsAreNamed(t *testing.T) {
	org := &model.Org{
		Services: []model.Service{{Name: "checkout", Version: "4.8.2"}, {Name: "cart", Version: "2.6.1"}},
		Releases: []model.Release{{Name: "r", Scope: []model.ScopeItem{{Service: "checkout", Version: "4.9.0"}}}},
	}
	for _, tc := range []struct {
		faults string
		want   []string
	}{
		{"checkout@4.9.0=latency=700ms", nil},
		{"checkout@4.8.2=error-rate=0.05 # the baseline", nil},
		{"checkout@4.9.1=latency=700ms", []string{"--faults checkout@4.9.1: the demo never deploys checkout 4.9.1 (it runs 4.8.2, 4.9.0)"}},
		{"checkout@4.9.0=latency=1s; nope@1.0.0=crash-on-start\ncart@9=latency=1s", []string{
			"--faults nope@1.0.0: the demo has no service nope",
			"--faults cart@9: the demo never deploys cart 9 (it runs 2.6.1)",
		}},
		{"garbage", nil}, // the fleet refuses it, with its reason
	} {
		got := undeployedFaults(org, tc.faults)
		if len(got) != len(tc.want) {
			t.Errorf("%q: %q, want %q", tc.faults, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) || !strings.HasSuffix(got[i], "so the fault never applies") {
				t.Errorf("%q: %q, want %q...", tc.faults, got[i], tc.want[i])
			}
		}
	}
}
