package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestQuickJSON(t *testing.T) {
	var out, errw bytes.Buffer
	if err := run(&out, &errw, "json", true, 2); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if want := len(scenarios(true)) * len(algNames); len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	for _, r := range rows {
		for _, k := range []string{"scenario", "algorithm", "runs", "false_rollback_rate", "power", "median_ttd_s"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("row %v lacks %q", r, k)
			}
		}
		if !strings.HasPrefix(r["algorithm"].(string), "warroom") || !strings.Contains(r["scenario"].(string), "healthy") ||
			strings.Contains(r["scenario"].(string), "errors") {
			continue
		}
		runs := r["runs"].(float64)
		slack := 3 * math.Sqrt(alpha*(1-alpha)/runs)
		if fr := r["false_rollback_rate"].(float64); fr > alpha+slack {
			t.Errorf("%s: warroom false-rollback rate %.4f > %.4f", r["scenario"], fr, alpha+slack)
		}
	}
}

func TestMannWhitney(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	y := []float64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if !mannWhitneyHigher(x, y, 2.326) || mannWhitneyHigher(y, x, 2.326) || mannWhitneyHigher(x, x, 2.326) {
		t.Error("Mann-Whitney direction")
	}
}

func TestP99(t *testing.T) {
	var h [14]int64
	h[7] = 100 // all in (100, 250]
	if got := p99(&h); math.Abs(got-(100+150*0.99)) > 1e-9 {
		t.Errorf("p99 %g", got)
	}
}
