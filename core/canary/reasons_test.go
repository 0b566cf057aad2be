package canary

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/deploy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// longNumber matches a JSON number with more than 9 significant digits.
var longNumber = regexp.MustCompile(`-?[0-9]*\.[0-9]{9,}(e[-+][0-9]+)?`)

// TestReasonsGolden holds every kind of verdict's reason and evidence to
// a golden file (testdata/reasons.golden; go test -run ReasonsGolden
// -update rewrites it): a rollback names its test, the observed values,
// the e-value and its threshold; a promotion states each bound it proved,
// its confidence and the requests it took; an inconclusive bake says how
// many requests it has and how many more it needs. The traffic is seeded,
// so the figures are the same every run.
func TestReasonsGolden(t *testing.T) {
	slo := Config{Objectives: Objectives{ErrorRate: 0.003, LatencyP99Ms: 150}}
	cases := []struct {
		name string
		run  func() Result
		want deploy.Verdict
	}{
		{"rollback: errors x10 at 1 rps", func() Result {
			s := newLatencySim(slo, 11, 10, 1, 1, 0)
			s.errors = [2]float64{0.001, 0.01}
			s.step(3600)
			return s.a.Result()
		}, deploy.VerdictRollback},
		{"rollback: latency +100 ms on a 30 ms median", func() Result {
			s := newLatencySim(slo, 12, 10, 1, 1, 100)
			s.step(600)
			return s.a.Result()
		}, deploy.VerdictRollback},
		{"promote: healthy at 10 rps, bake over", func() Result {
			s := newLatencySim(slo, 13, 10, 10, 1, 0)
			s.errors = [2]float64{0.001, 0.001}
			s.step(1800)
			return s.a.Result().Finish()
		}, deploy.VerdictPromote},
		{"insufficient evidence: healthy at 0.2 rps, bake over", func() Result {
			s := newLatencySim(slo, 14, 10, 0.2, 1, 0)
			s.errors = [2]float64{0.001, 0.001}
			s.step(600)
			return s.a.Result().Finish()
		}, deploy.VerdictContinue},
		{"rollback at 100 %: errors against the pre-deployment baseline", func() Result {
			s := newLatencySim(Config{}, 15, 10, 5, 1, 0)
			s.errors = [2]float64{0.001, 0.001}
			s.step(120)
			a := NewAnalysis(Config{}, s.o.At, 100)
			a.SetReference(s.a.Reference())
			s.a, s.o.Weight, s.rps = a, 100, [2]float64{0, 50}
			s.errors[1] = 0.02
			a.Observe(s.o)
			s.step(600)
			return a.Result()
		}, deploy.VerdictRollback},
	}
	var got bytes.Buffer
	for _, c := range cases {
		r := c.run()
		if r.Verdict != c.want {
			t.Errorf("%s: verdict %s, want %s (%s)", c.name, r.Verdict, c.want, r.Reason)
		}
		checkReason(t, c.name, r)
		j, err := r.Judgement()
		if err != nil {
			t.Fatal(err)
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, j.Evidence, "", "  "); err != nil {
			t.Fatalf("%s: evidence is not JSON: %v", c.name, err)
		}
		// Numbers to 9 significant digits: the last bits of a float
		// change with the order of operations (and with fused
		// multiply-adds on some architectures), not with what was judged.
		evid := longNumber.ReplaceAllStringFunc(ind.String(), func(n string) string {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return n
			}
			return strconv.FormatFloat(v, 'g', 9, 64)
		})
		fmt.Fprintf(&got, "== %s\nverdict: %s\nreason: %s\nevidence:\n%s\n\n", c.name, r.Verdict, r.Reason, evid)
	}
	path := filepath.Join("testdata", "reasons.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run ReasonsGolden -update writes it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("reasons and evidence differ from %s (go test -run ReasonsGolden -update rewrites it); got:\n%s", path, got.String())
	}
}

// checkReason holds a reason to what item 5 of issue 13 asks, whatever
// the figures: the test named, the observed values, the e-value and the
// threshold; a promotion's bounds with their confidence and requests.
func checkReason(t *testing.T, name string, r Result) {
	t.Helper()
	ev := r.Evid
	switch r.Verdict {
	case deploy.VerdictRollback:
		for _, m := range ev.Metrics {
			if !m.Rejected {
				continue
			}
			for _, want := range []string{metricLabel(m.Name) + ":", m.Test, pct(m.Canary.Rate) + " ", "e-value " + num(m.EValue) + " >= " + num(m.Threshold)} {
				if !strings.Contains(r.Reason, want) {
					t.Errorf("%s: reason %q lacks %q", name, r.Reason, want)
				}
			}
		}
	case deploy.VerdictPromote:
		for _, p := range ev.Proofs {
			want := fmt.Sprintf("%s with %s confidence after %s canary requests (%s", p.Claim, pctConf(p.Confidence), thousands(p.ProvedAfterRequests), p.Test)
			if !p.Proved || p.ProvedAfterRequests <= 0 || !strings.Contains(r.Reason, want) {
				t.Errorf("%s: reason %q lacks %q", name, r.Reason, want)
			}
		}
	default:
		if ev.Insufficient == nil || !strings.HasPrefix(r.Reason, ReasonInsufficient+": "+thousands(ev.Insufficient.Requests)+" canary requests, about ") {
			t.Errorf("%s: reason %q, shortfall %+v", name, r.Reason, ev.Insufficient)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 2310: "2,310", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
