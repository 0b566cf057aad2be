package gates

import (
	"fmt"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
)

// BenchmarkEvaluate is the pure half of 'gate status' for 1,000 services
// × 8 gates (store reads are in store's BenchmarkGateStatus).
func BenchmarkEvaluate(b *testing.B) {
	kinds := []model.GateKind{model.GateTests, model.GateCoverage, model.GatePerformance, model.GateSecurity,
		model.GateLicence, model.GateIntegration, model.GateApproval, model.GateRehearsal}
	req := Request{Release: "big", Now: now}
	var rec Records
	for i, k := range kinds {
		req.Gates = append(req.Gates, model.Gate{Name: fmt.Sprintf("gate-%d", i), Kind: k, Approvers: []string{"security"}})
	}
	for i := range 1000 {
		svc := fmt.Sprintf("svc-%04d", i)
		req.Services = append(req.Services, svc)
		for g := range 6 {
			rec.Evidence = append(rec.Evidence, Evidence{ID: int64(len(rec.Evidence) + 1), Release: "big", Service: svc, Gate: fmt.Sprintf("gate-%d", g),
				SHA256: hash('a'), File: "report.xml", Value: float64(70 + i%30), Threshold: "min 75 %", Pass: i%30 >= 5,
				Summary: "coverage 71.2 % < min 75 %", AddedBy: "ci-bot", AddedAt: now.Add(-time.Hour)})
		}
		rec.SignOffs = append(rec.SignOffs, SignOff{Release: "big", Service: svc, Gate: "gate-6", Approver: "carol", At: now.Add(-time.Hour)})
		if i%10 == 0 {
			rec.Waivers = append(rec.Waivers, Waiver{Release: "big", Service: svc, Gate: "gate-1", Approver: "carol", Reason: "bench", Expires: now.Add(time.Hour)})
		}
	}
	for b.Loop() {
		if n := len(Evaluate(req, rec)); n != 8000 {
			b.Fatal(n)
		}
	}
}
