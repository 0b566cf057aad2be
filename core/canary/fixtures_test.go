package canary

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

type fixtures struct {
	Betaln []struct{ A, B, Lnbeta float64 }
	SRM    []struct {
		Pi, Concentration float64
		X, N              int64
		LogE              float64 `json:"log_e"`
	}
	Regression []struct {
		Name      string
		Tolerance float64
		Ticks     [][4]int64
		LogE      []float64 `json:"log_e"`
	}
	Wilson []struct {
		K, N      int
		Z, Lo, Hi float64
	}
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "canary", "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// close1e9 compares to 1e-9 relative (absolute below magnitude 1).
func close1e9(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

func TestFixturesLnBeta(t *testing.T) {
	for _, c := range loadFixtures(t).Betaln {
		if got := LnBeta(c.A, c.B); !close1e9(got, c.Lnbeta) {
			t.Errorf("LnBeta(%g, %g) = %.17g, scipy %.17g", c.A, c.B, got, c.Lnbeta)
		}
	}
}

func TestFixturesSRM(t *testing.T) {
	for _, c := range loadFixtures(t).SRM {
		s := NewSRMTest(c.Pi, c.Concentration)
		s.Update(c.N-c.X, c.X)
		if got := s.LogE(); !close1e9(got, c.LogE) {
			t.Errorf("SRM pi=%g x=%d n=%d: log e %.17g, scipy %.17g", c.Pi, c.X, c.N, got, c.LogE)
		}
	}
}

func TestFixturesRegression(t *testing.T) {
	for _, c := range loadFixtures(t).Regression {
		rt := NewRegressionTest(c.Tolerance)
		for i, tk := range c.Ticks {
			rt.Update(tk[0], tk[1], tk[2], tk[3])
			if got := rt.LogE(); !close1e9(got, c.LogE[i]) {
				t.Fatalf("%s tick %d: log e %.17g, scipy %.17g", c.Name, i, got, c.LogE[i])
			}
		}
		t.Logf("%s: final e-value %.4g", c.Name, math.Exp(rt.LogE()))
	}
}

func TestFixturesWilson(t *testing.T) {
	for _, c := range loadFixtures(t).Wilson {
		lo, hi := Wilson(c.K, c.N, c.Z)
		if !close1e9(lo, c.Lo) || !close1e9(hi, c.Hi) {
			t.Errorf("Wilson(%d, %d) = [%.17g, %.17g], scipy [%.17g, %.17g]", c.K, c.N, lo, hi, c.Lo, c.Hi)
		}
	}
}
