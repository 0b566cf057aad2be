package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/evidence"
	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/core/model"
)

// The evidence commands through the CLI against a real database: the
// demo organisation in open mode (openDemo), its evidence files made by
// the real tools (testdata/demo/evidence, scripts/gen-demo-evidence), and
// core/evidence's malformed samples (testdata/evidence/malformed).

func demoEvidence(parts ...string) string {
	return repo(append([]string{"testdata", "demo", "evidence"}, parts...)...)
}

// evidenceCLI is a CLI on a database holding the open-mode demo.
func evidenceCLI(t *testing.T) *cli {
	t.Helper()
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	return c
}

// dbState is every byte of the database (its file and write-ahead log)
// and the audit chain's head: what a command that writes nothing leaves
// as it was.
func dbState(t *testing.T, c *cli) string {
	t.Helper()
	var b strings.Builder
	for _, f := range []string{c.db, c.db + "-wal"} {
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		b.WriteString(filepath.Base(f) + ":" + hex.EncodeToString(sum[:]) + "\n")
	}
	var events []model.AuditEvent
	c.json(&events, "audit", "list")
	if n := len(events); n > 0 {
		b.WriteString(events[n-1].Hash)
	}
	return b.String()
}

func TestEvidenceAddEachFormat(t *testing.T) {
	c := evidenceCLI(t)
	cases := []struct {
		name, release, service, gate string
		files                        []string // the file, then --baseline
		format                       string   // as detected
		pass                         bool
		state                        gates.State
		summary                      string
	}{
		{"gotestsum junit", "checkout-2026-12", "payments", "unit-tests", []string{demoEvidence("checkout-2026-12", "payments", "junit.xml")}, "junit", true, gates.Pass, "pass rate 100.0 % >= min 100 %"},
		{"integration junit", "checkout-2026-12", "fraud", "integration", []string{demoEvidence("checkout-2026-12", "integration.junit.xml")}, "junit", true, gates.Pass, ">= min 98 %"},
		{"surefire junit", "checkout-2026-12", "refunds", "unit-tests", []string{repo("testdata", "evidence", "TEST-com.lumen.checkout.PaymentServiceTest.xml")}, "junit", false, gates.Fail, "< min 100 %"},
		{"go coverage profile below the gate", "storefront-2026-12", "recommendations", "coverage", []string{demoEvidence("storefront-2026-12", "recommendations", "cover.out")}, "gocover", false, gates.Fail, "coverage 63.6 % < min 75 %"},
		{"cobertura", "checkout-2026-12", "cart", "coverage", []string{repo("testdata", "evidence", "cobertura.xml")}, "cobertura", false, gates.Fail, "coverage 71.2 % < min 75 %"},
		{"gosec sarif", "checkout-2026-12", "payments", "sast", []string{demoEvidence("checkout-2026-12", "payments", "gosec.sarif")}, "sarif", true, gates.Pass, ""},
		{"syft spdx", "checkout-2026-12", "payments", "licences", []string{demoEvidence("checkout-2026-12", "sbom.spdx.json")}, "spdx", true, gates.Pass, "licences allowed"},
		{"go benchmarks against a baseline", "checkout-2026-12", "payments", "performance",
			[]string{demoEvidence("checkout-2026-12", "payments", "new.bench"), demoEvidence("checkout-2026-12", "payments", "baseline.bench")}, "gobench", true, gates.Pass, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			args := []string{"evidence", "add", tc.release, "--service", tc.service, "--gate", tc.gate, tc.files[0]}
			if len(tc.files) > 1 {
				args = append(args, "--baseline", tc.files[1])
			}
			var out evidenceOutputJSON
			c.json(&out, args...)
			if out.Policy != "open" || len(out.Evidence) != 1 || out.AuditSeq == 0 {
				t.Fatalf("output: %+v", out)
			}
			e := out.Evidence[0]
			data, err := os.ReadFile(tc.files[0])
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if e.Format != tc.format || e.Pass != tc.pass || e.State != tc.state || !e.Added ||
				e.SHA256 != hex.EncodeToString(sum[:]) || e.Size != int64(len(data)) || e.File != filepath.Base(tc.files[0]) ||
				!strings.Contains(e.Summary, tc.summary) || !strings.Contains(e.Reason, "added by tester") {
				t.Errorf("evidence %+v\nwant format %s, pass %v, state %s, summary ~%q", e, tc.format, tc.pass, tc.state, tc.summary)
			}
			if len(tc.files) > 1 && e.BaselineFile != filepath.Base(tc.files[1]) {
				t.Errorf("baseline %q", e.BaselineFile)
			}
			// The gate's status agrees, and the audit names the file.
			var st gateStatusJSON
			c.json(&st, "gate", "status", tc.release)
			found := false
			for _, r := range st.Results {
				if r.Service == tc.service && r.Gate == tc.gate {
					found = true
					if r.State != tc.state || r.EvidenceSHA != e.SHA256 || r.AddedBy != "tester" {
						t.Errorf("gate status %+v", r)
					}
				}
			}
			if !found {
				t.Errorf("gate status has no %s/%s", tc.service, tc.gate)
			}
			var events []model.AuditEvent
			c.json(&events, "audit", "list")
			last := events[len(events)-1]
			if last.Command != "evidence add" || last.Actor != "tester" || last.Seq != out.AuditSeq || !strings.Contains(last.Summary, e.File) {
				t.Errorf("audit %+v", last)
			}
			// The same file again is the current evidence already:
			// nothing recorded.
			before := dbState(t, c)
			text := c.ok(args...)
			if !strings.Contains(text, "already the current evidence") || !strings.Contains(text, "gate "+tc.gate+" for "+tc.service+" is now") {
				t.Errorf("second add said:\n%s", text)
			}
			if dbState(t, c) != before {
				t.Error("adding the current evidence again changed the database")
			}
		})
	}
}

// Malformed evidence: an error at file:line:column, exit 1, and the
// database byte for byte as it was.
func TestEvidenceAddMalformed(t *testing.T) {
	c := evidenceCLI(t)
	cases := []struct{ file, gate, format string }{
		{"junit-truncated.xml", "unit-tests", ""},
		{"junit-mismatched.xml", "unit-tests", ""},
		{"cover-bad.out", "coverage", ""},
		{"cover-badmode.out", "coverage", "gocover"},
		{"cobertura-broken.xml", "coverage", ""},
		{"cobertura-badrate.xml", "coverage", ""},
		{"sarif-syntax.sarif", "sast", ""},
		{"sarif-type.sarif", "sast", ""},
		{"spdx-truncated.spdx.json", "licences", ""},
		{"spdx-badexpr.spdx.json", "licences", ""},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			c.t = t
			path := repo("testdata", "evidence", "malformed", tc.file)
			args := []string{"evidence", "add", "checkout-2026-12", "--service", "payments", "--gate", tc.gate, path}
			if tc.format != "" {
				args = append(args, "--format", tc.format)
			}
			before := dbState(t, c)
			r := c.run(args...)
			at := regexp.MustCompile(regexp.QuoteMeta(path) + `:\d+(:\d+)?: \S`)
			if r.code != 1 || !at.MatchString(r.stderr) {
				t.Errorf("exit %d, want 1 with an error at %s:LINE[:COL]:\n%s", r.code, tc.file, r.stderr)
			}
			if dbState(t, c) != before {
				t.Error("a malformed file changed the database")
			}
		})
	}
	t.Run("bench against a malformed baseline", func(t *testing.T) {
		c.t = t
		before := dbState(t, c)
		bad := repo("testdata", "evidence", "malformed", "bench-bad.bench")
		r := c.run("evidence", "add", "checkout-2026-12", "--service", "payments", "--gate", "performance",
			demoEvidence("checkout-2026-12", "payments", "new.bench"), "--baseline", bad)
		if r.code != 1 || !regexp.MustCompile(regexp.QuoteMeta(bad)+`:\d+:\d+: `).MatchString(r.stderr) {
			t.Errorf("exit %d:\n%s", r.code, r.stderr)
		}
		if dbState(t, c) != before {
			t.Error("a malformed baseline changed the database")
		}
	})
}

// Names and sizes refused before anything is read or written.
func TestEvidenceAddRefuses(t *testing.T) {
	c := evidenceCLI(t)
	cover := demoEvidence("storefront-2026-12", "recommendations", "cover.out")
	huge := filepath.Join(t.TempDir(), "huge.out")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: the size is over the limit, the disk holds nothing.
	if err := f.Truncate(evidence.MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cases := []struct {
		name string
		args []string
		code int
		says []string
	}{
		{"misspelt gate", []string{"storefront-2026-12", "--service", "recommendations", "--gate", "covrage", cover}, 1,
			[]string{`unknown gate "covrage"`, `did you mean "coverage"?`}},
		{"service not in the release", []string{"storefront-2026-12", "--service", "payments", "--gate", "coverage", cover}, 1,
			[]string{`unknown service "payments" in the scope of release storefront-2026-12`, "recommendations"}},
		{"misspelt release", []string{"storefront-2026-1", "--service", "recommendations", "--gate", "coverage", cover}, 1,
			[]string{`unknown release "storefront-2026-1"`, `did you mean "storefront-2026-12"?`}},
		{"over the size limit", []string{"storefront-2026-12", "--service", "recommendations", "--gate", "coverage", huge}, 1,
			[]string{huge + ": the file has 268435457 bytes, over the 256 MiB limit"}},
		{"performance without a baseline", []string{"storefront-2026-12", "--service", "reviews", "--gate", "performance",
			demoEvidence("storefront-2026-12", "reviews", "new.bench")}, 2, []string{"--baseline"}},
		{"a baseline for a coverage gate", []string{"storefront-2026-12", "--service", "recommendations", "--gate", "coverage", cover, "--baseline", cover}, 2,
			[]string{"compares against no baseline"}},
		{"wrong format for the gate", []string{"storefront-2026-12", "--service", "recommendations", "--gate", "coverage",
			demoEvidence("storefront-2026-12", "recommendations", "junit.xml")}, 1, []string{"junit.xml"}},
		{"unknown format", []string{"storefront-2026-12", "--service", "recommendations", "--gate", "coverage", cover, "--format", "lcov"}, 2,
			[]string{"--format"}},
		{"two files", []string{"storefront-2026-12", "--service", "recommendations", "--gate", "coverage", cover, cover}, 2,
			[]string{"one evidence file per command"}},
		{"no such file", []string{"storefront-2026-12", "--service", "recommendations", "--gate", "coverage", cover + ".missing"}, 1,
			[]string{"no such file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			before := dbState(t, c)
			r := c.run(append([]string{"evidence", "add"}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, tc.code, r.stderr)
			}
			for _, s := range tc.says {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, r.stderr)
				}
			}
			if dbState(t, c) != before {
				t.Error("a refused command changed the database")
			}
		})
	}
}

// Evidence for a declared gate that no environment of the release
// requires is recorded, and the output says it decides nothing.
func TestEvidenceAddGateNotRequired(t *testing.T) {
	c := evidenceCLI(t)
	sarif := demoEvidence("checkout-2026-12", "payments", "gosec.sarif")
	text := c.ok("evidence", "add", "checkout-2026-12", "--service", "payments", "--gate", "dast", sarif)
	if !strings.Contains(text, "no environment release checkout-2026-12 goes through requires gate dast: recorded, it decides nothing until one does") {
		t.Errorf("evidence add for a gate nothing requires said:\n%s", text)
	}
	var out evidenceOutputJSON
	c.json(&out, "evidence", "add", "checkout-2026-12", "--service", "payments", "--gate", "dast", sarif)
	if e := out.Evidence[0]; e.Required || e.State != "" || e.Added || !e.Pass {
		t.Errorf("-o json: %+v", e)
	}
}

// evidence import of the demo's folder: every file in one transaction;
// again, nothing.
func TestEvidenceImportDemo(t *testing.T) {
	c := evidenceCLI(t)
	var out evidenceOutputJSON
	c.json(&out, "evidence", "import", demoEvidence())
	if len(out.Evidence) != 60 || out.AuditSeq == 0 {
		t.Fatalf("imported %d files, audit #%d", len(out.Evidence), out.AuditSeq)
	}
	fails := 0
	for _, e := range out.Evidence {
		if !e.Added {
			t.Errorf("%s/%s %s not added", e.Release, e.Service, e.Gate)
		}
		if !e.Pass {
			fails++
			if e.Service != "recommendations" || e.Gate != "coverage" || e.State != gates.Fail || !strings.Contains(e.Reason, "coverage 63.6 % < min 75 %") {
				t.Errorf("fails: %+v", e)
			}
		}
	}
	if fails != 1 {
		t.Errorf("%d files fail their gate, want 1 (recommendations' coverage)", fails)
	}
	var events []model.AuditEvent
	c.json(&events, "audit", "list")
	if n := len(events); events[n-1].Command != "evidence import" || events[n-2].Command != "apply" {
		t.Errorf("one audit event for the import: %+v", events[n-2:])
	}
	// staging is blocked by that one cell, and by nothing else.
	r := c.run("gate", "status", "storefront-2026-12", "--env", "staging", "-o", "json")
	var st gateStatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != exitRefused || len(st.Blocking) != 1 || st.Blocking[0].Service != "recommendations" {
		t.Errorf("staging: exit %d, %+v (%v)", r.code, st.Blocking, err)
	}
	before := dbState(t, c)
	text := c.ok("evidence", "import", demoEvidence())
	if !strings.Contains(text, "nothing recorded") || dbState(t, c) != before {
		t.Errorf("a second import of the same folder wrote something:\n%s", text)
	}
}

// Errors in the index are at evidence.yaml:LINE:COLUMN; any error, in the
// index or in a report, records nothing.
func TestEvidenceImportErrors(t *testing.T) {
	c := evidenceCLI(t)
	good := "  - {release: storefront-2026-12, service: reviews, gate: unit-tests, file: junit.xml}\n"
	cases := []struct {
		name, index string
		files       map[string]string // extra files of the folder
		at          string            // "evidence.yaml:L:C" or the file's name
		says        string
	}{
		{"misspelt entry key", "version: 1\nevidence:\n" + good + "  - {release: storefront-2026-12, service: reviews, gaet: coverage, file: junit.xml}\n",
			nil, "evidence.yaml:4:53", `unknown key "gaet" in an entry (did you mean "gate"?)`},
		{"entry without a file", "version: 1\nevidence:\n  - {release: storefront-2026-12, service: reviews, gate: unit-tests}\n",
			nil, "evidence.yaml:3:5", "the entry has no file"},
		{"misspelt gate in an entry", "version: 1\nevidence:\n" + good + "  - {release: storefront-2026-12, service: reviews, gate: unit-test, file: junit.xml}\n",
			nil, "evidence.yaml:4:5", `unknown gate "unit-test"`},
		{"a file outside the folder", "version: 1\nevidence:\n  - {release: storefront-2026-12, service: reviews, gate: unit-tests, file: ../junit.xml}\n",
			nil, "evidence.yaml:3:77", "leaves the folder"},
		{"version 2", "version: 2\nevidence:\n" + good, nil, "evidence.yaml:1:10", "version \"2\" is not supported"},
		{"unknown top-level key", "version: 1\nevidence:\n" + good + "evidnce: []\n", nil, "evidence.yaml:4:1", `did you mean "evidence"?`},
		{"yaml syntax", "version: 1\nevidence:\n  - {release: x\n", nil, "evidence.yaml:", ""},
		{"empty list", "version: 1\nevidence: []\n", nil, "evidence.yaml:2:11", "give a list of entries"},
		{"a malformed report after a good one", "version: 1\nevidence:\n" + good +
			"  - {release: storefront-2026-12, service: reviews, gate: coverage, file: cover.out}\n",
			map[string]string{"cover.out": "mode: set\nreviews/reviews.go:1.1,2.2 x 1\n"}, "cover.out:2:1", "malformed"},
	}
	junit, err := os.ReadFile(demoEvidence("storefront-2026-12", "reviews", "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			dir := t.TempDir()
			files := map[string]string{"evidence.yaml": tc.index, "junit.xml": string(junit)}
			for k, v := range tc.files {
				files[k] = v
			}
			for name, text := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := dbState(t, c)
			r := c.run("evidence", "import", dir)
			if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(dir, tc.at)) || !strings.Contains(r.stderr, tc.says) {
				t.Errorf("exit %d, want 1 at %s saying %q:\n%s", r.code, tc.at, tc.says, r.stderr)
			}
			if dbState(t, c) != before {
				t.Error("a failed import changed the database")
			}
		})
	}
}
