package evidence

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/warroom/warroom/core/model"
)

// The real tools, built once per test binary from go.mod's tool
// directives (so offline, from the module cache) the first time a test
// needs them. gosec takes minutes to build cold; after that the build
// cache makes it a link.
var (
	toolsDir  string
	toolsOnce sync.Once
	toolsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if toolsDir != "" {
		os.RemoveAll(toolsDir)
	}
	os.Exit(code)
}

// tool returns the path of a built tool, failing the test if it cannot be
// built: a missing tool is a failure, never a skip.
func tool(t *testing.T, name string) string {
	t.Helper()
	toolsOnce.Do(func() {
		toolsDir, toolsErr = os.MkdirTemp("", "evidence-tools-")
		if toolsErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", toolsDir+string(filepath.Separator),
			"gotest.tools/gotestsum", "github.com/securego/gosec/v2/cmd/gosec")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			toolsErr = fmt.Errorf("go build the tools: %v\n%s", err, out)
		}
	})
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return filepath.Join(toolsDir, name)
}

// sampleModule writes a small Go module: package shop (tested by its own
// tests, one of which fails and one skips) and package money (tested only
// through shop, so -coverpkg profiles name its blocks from two binaries).
func sampleModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/sample\n\ngo 1.26\n",
		"money/money.go": `package money

// Cents formats cents.
func Cents(c int64) string {
	if c < 0 {
		return "-" + Cents(-c)
	}
	return itoa(c/100) + "." + pad(c%100)
}

func itoa(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

func pad(n int64) string {
	if n < 10 {
		return "0" + itoa(n)
	}
	return itoa(n)
}

// Unused is never called by a test.
func Unused(a, b int) int {
	if a > b {
		return a
	}
	return b
}
`,
		"money/money_test.go": `package money

import "testing"

func TestCents(t *testing.T) {
	if got := Cents(1205); got != "12.05" {
		t.Errorf("Cents = %q", got)
	}
}
`,
		"shop/shop.go": `package shop

import "example.com/sample/money"

// Total sums prices in cents and formats the sum.
func Total(prices ...int64) string {
	var s int64
	for _, p := range prices {
		s += p
	}
	return money.Cents(s)
}
`,
		"shop/shop_test.go": `package shop

import "testing"

func TestTotal(t *testing.T) {
	if got := Total(100, 250); got != "3.50" {
		t.Errorf("Total = %q", got)
	}
}

func TestTotalTable(t *testing.T) {
	for _, c := range []struct{ in []int64; want string }{{nil, "0.00"}, {[]int64{5}, "0.05"}} {
		t.Run(c.want, func(t *testing.T) {
			if got := Total(c.in...); got != c.want {
				t.Errorf("Total(%v) = %q", c.in, got)
			}
		})
	}
}

func TestRefundTotal(t *testing.T) {
	if got := Total(-150); got != "-1.50" {
		t.Errorf("Total(-150) = %q, want -1.50 (the test of a known bug)", got)
	}
	t.Error("deliberately failing: the report must count a failure")
}

func TestCurrencies(t *testing.T) {
	t.Skip("currencies come later")
}
`,
		"vuln/vuln.go": `package vuln

import (
	"math/rand"
	"os"
)

// Token is a session token from a weak generator: gosec G404, high.
func Token() int { return rand.Int() }

// Jitter needs no secrecy: suppressed in source.
func Jitter() int { return rand.Intn(10) } // #nosec G404 -- jitter, not a secret

// Load reads a file the caller names: gosec G304, medium.
func Load(path string) ([]byte, error) { return os.ReadFile(path) }
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func run(t *testing.T, dir string, okExit bool, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil && okExit {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestGotestsumJUnit reads the JUnit report that gotestsum writes for a
// run with passing, failing, skipped tests and subtests.
func TestGotestsumJUnit(t *testing.T) {
	gotestsum := tool(t, "gotestsum")
	dir := sampleModule(t)
	report := filepath.Join(dir, "junit.xml")
	// The run fails (a test fails): gotestsum exits 1 and still writes.
	run(t, dir, false, gotestsum, "--format", "standard-quiet", "--junitfile", report, "--", "-count=1", "./shop", "./money")
	rd, err := ReadFile(context.Background(), report, "")
	if err != nil {
		t.Fatal(err)
	}
	want := TestCounts{Total: 7, Passed: 5, Failed: 1, Skipped: 1, FirstFailures: []string{"example.com/sample/shop/TestRefundTotal"}}
	if rd.Format != FormatJUnit || rd.Tests == nil || fmt.Sprint(*rd.Tests) != fmt.Sprint(want) {
		t.Fatalf("read %+v, want %+v", rd.Tests, want)
	}
	m, err := Measure(model.Gate{Name: "unit-tests", Kind: model.GateTests, Min: ptr(100)}, rd, nil)
	if err != nil || m.Pass || !strings.HasPrefix(m.Summary, "pass rate 83.3 % < min 100 %") {
		t.Errorf("Measure = %+v, %v", m, err)
	}
}

// TestGoCoverProfile reads profiles written by go test -coverprofile, one
// with blocks repeated by several test binaries (-coverpkg), and checks
// the percentage against go tool cover -func's total.
func TestGoCoverProfile(t *testing.T) {
	dir := sampleModule(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"one package", []string{"-coverprofile=cover.out", "./money"}},
		{"merged blocks", []string{"-coverpkg=./money,./shop", "-coverprofile=cover.out", "./money", "./shop"}},
		{"count mode", []string{"-covermode=count", "-coverpkg=./money,./shop", "-coverprofile=cover.out", "./money", "./shop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, dir, false, "go", append([]string{"test", "-count=1"}, tc.args...)...)
			profile := filepath.Join(dir, "cover.out")
			rd, err := ReadFile(context.Background(), profile, "")
			if err != nil {
				t.Fatal(err)
			}
			total := run(t, dir, true, "go", "tool", "cover", "-func="+profile)
			m := regexp.MustCompile(`total:\s+\(statements\)\s+([0-9.]+)%`).FindStringSubmatch(total)
			if m == nil {
				t.Fatalf("no total in go tool cover output:\n%s", total)
			}
			want, _ := strconv.ParseFloat(m[1], 64)
			if rd.Format != FormatGoCover || fmt.Sprintf("%.1f", rd.Coverage.Percent) != fmt.Sprintf("%.1f", want) {
				t.Errorf("coverage %+v, go tool cover says %.1f %%", rd.Coverage, want)
			}
			if rd.Coverage.Percent <= 0 || rd.Coverage.Percent >= 100 {
				t.Errorf("coverage %v %%: the sample leaves some code unrun", rd.Coverage.Percent)
			}
		})
	}
}

// TestGosecSARIF reads gosec's SARIF: its severities come as rule tags
// (every result is level "error"), and #nosec findings kept by
// -track-suppressions are suppressed, not open.
func TestGosecSARIF(t *testing.T) {
	gosec := tool(t, "gosec")
	dir := sampleModule(t)
	report := filepath.Join(dir, "gosec.sarif")
	run(t, dir, true, gosec, "-no-fail", "-track-suppressions", "-fmt", "sarif", "-out", report, "./vuln")
	rd, err := ReadFile(context.Background(), report, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range rd.Findings {
		got[f.RuleID] = f.Severity
		if !strings.HasPrefix(f.Location, "vuln.go:") && !strings.Contains(f.Location, "vuln/vuln.go:") {
			t.Errorf("finding %+v: location should name vuln.go:line", f)
		}
	}
	if rd.Format != FormatSARIF || len(rd.Findings) != 2 || got["G404"] != "high" || got["G304"] != "medium" || rd.Suppressed != 1 {
		t.Fatalf("read %+v (suppressed %d), want G404 high and G304 medium open, one suppressed", rd.Findings, rd.Suppressed)
	}
	for _, tc := range []struct {
		severity string
		count    float64
	}{{"high", 1}, {"medium", 2}, {"critical", 0}} {
		m, err := Measure(model.Gate{Name: "sast", Kind: model.GateSecurity, Severity: tc.severity, Max: ptr(0)}, rd, nil)
		if err != nil || m.Value != tc.count || m.Pass != (tc.count == 0) {
			t.Errorf("severity %s: Measure = %+v, %v; want %v findings", tc.severity, m, err, tc.count)
		}
	}
}
