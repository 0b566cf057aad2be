package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/canary/canarysim"
)

func TestQuickJSON(t *testing.T) {
	var out, errw bytes.Buffer
	if err := run(&out, &errw, "json", true, 2, "high 100rps err1%", 0); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	// Five judges on every cell, and the oracle that knows the size on
	// every regression.
	want := 0
	for _, sc := range canarysim.Scenarios(133, 20) {
		if strings.Contains(sc.Name, "high 100rps err1%") {
			want += 5
			if !strings.HasSuffix(sc.Name, "healthy") {
				want++
			}
		}
	}
	if len(rows) != want || want == 0 {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	for _, r := range rows {
		for _, k := range []string{"scenario", "algorithm", "runs", "false_rollback_rate", "promoted", "missed_regressions", "power", "median_ttd_s", "median_ttd_lo_s", "insufficient"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("row %v lacks %q", r, k)
			}
		}
		if _, ok := r["floor_s"]; !ok && !strings.HasSuffix(r["scenario"].(string), "healthy") {
			t.Errorf("regression row %v lacks its floor", r["scenario"])
		}
	}
	if err := run(&out, &errw, "json", true, 2, "no such scenario", 0); err == nil {
		t.Error("-only matching nothing: no error")
	}
}
