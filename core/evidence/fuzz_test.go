package evidence

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz tests feed each parser arbitrary bytes, seeded with the
// committed reports and their malformed variants: a parser may refuse,
// with an *Error, but never panic nor return neither a reading nor an
// error. Run one with: go test ./core/evidence -run '^$' -fuzz FuzzReadSARIF -fuzztime 30s

func fuzzFormat(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		for _, p := range []string{filepath.Join(testdata, s), filepath.Join(testdata, "malformed", s)} {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := Read(context.Background(), bytes.NewReader(data), "fuzz", format)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if e.File != "fuzz" || e.Msg == "" || e.Line < 0 || e.Col < 0 {
				t.Fatalf("error %+v: file, message or position wrong", e)
			}
			return
		}
		if rd == nil || rd.Format != format {
			t.Fatalf("no error and reading %+v", rd)
		}
		if _, err := Detect("fuzz", data); err != nil && len(data) > 0 {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Detect error %v is not an *Error", err)
			}
		}
	})
}

func FuzzReadJUnit(f *testing.F) {
	fuzzFormat(f, FormatJUnit, "TEST-com.lumen.checkout.PaymentServiceTest.xml", "gotestsum.junit.xml", "junit-truncated.xml", "junit-mismatched.xml")
}

func FuzzReadGoCover(f *testing.F) {
	f.Add([]byte("mode: count\na.go:1.1,2.2 3 1\na.go:1.1,2.2 3 4\nb.go:4.5,6.7 1 0\n"))
	f.Add([]byte("mode: set\na.go:1.1,2.2 3 1\na.go:1.1,2.2 2 0\n"))
	fuzzFormat(f, FormatGoCover, "cover-bad.out", "cover-badmode.out")
}

func FuzzReadCobertura(f *testing.F) {
	fuzzFormat(f, FormatCobertura, "cobertura.xml", "cobertura-rate-only.xml", "cobertura-badrate.xml", "cobertura-broken.xml")
}

func FuzzReadSARIF(f *testing.F) {
	fuzzFormat(f, FormatSARIF, "codescan.sarif", "sarif-syntax.sarif", "sarif-type.sarif")
}

func FuzzReadSPDX(f *testing.F) {
	fuzzFormat(f, FormatSPDX, "sbom.spdx.json", "spdx-badexpr.spdx.json", "spdx-truncated.spdx.json")
}

func FuzzReadGoBench(f *testing.F) {
	fuzzFormat(f, FormatGoBench, "old.bench", "new.bench", "noisy.bench", "bench-bad.bench")
}

// FuzzLicenceAllowed: any expression that reading accepted can be judged
// against an allow-list without a panic.
func FuzzLicenceAllowed(f *testing.F) {
	for _, s := range []string{"MIT", "(MIT OR GPL-3.0-only) AND Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0", "LicenseRef-X", "NONE", "NOASSERTION", "MIT AND (", "Apache-2.0+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if checkExpression(expr) != nil {
			return
		}
		if _, err := licenceAllowed(expr, []string{"MIT", "Apache-2.0", "BSD-3-Clause"}); err != nil {
			t.Logf("%q: %v", expr, err) // an error is reported to the user, not a panic
		}
	})
}
