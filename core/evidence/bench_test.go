package evidence

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkReadJUnit50MB parses a 50 MB gotestsum-style JUnit report,
// generated here (not committed), and reports, beside ns/op, how much the
// process's peak RSS (VmHWM) grew while parsing: the issue asks for ≤ 2 s
// and ≤ 100 MB.
func BenchmarkReadJUnit50MB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "junit.xml")
	size := writeJUnit(b, path, 50<<20)
	runtime.GC()
	before := vmHWM(b)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		rd, err := ReadFile(context.Background(), path, "")
		if err != nil {
			b.Fatal(err)
		}
		if rd.Tests.Total == 0 || rd.Tests.Failed == 0 {
			b.Fatalf("counts %+v", rd.Tests)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(vmHWM(b)-before)/(1<<20), "MB-rss-growth")
}

// writeJUnit writes a report of at least size bytes: suites of 100 test
// cases, one in fifty failing with output, one in a hundred skipped.
func writeJUnit(b *testing.B, path string, size int64) int64 {
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	w := bufio.NewWriter(fh)
	var n int64
	write := func(s string) {
		k, _ := w.WriteString(s)
		n += int64(k)
	}
	write(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites>\n")
	for suite := 0; n < size; suite++ {
		write(fmt.Sprintf(`	<testsuite name="example.com/svc/pkg%d" tests="100" failures="2" time="1.5" timestamp="2026-12-01T10:00:00Z">`+"\n", suite))
		for c := range 100 {
			name := "TestCase" + strconv.Itoa(c)
			switch {
			case c%50 == 0:
				write(`		<testcase classname="example.com/svc/pkg` + strconv.Itoa(suite) + `" name="` + name + `" time="0.010000">` +
					`<failure message="Failed" type="">=== RUN   ` + name + "&#xA;    x_test.go:12: got 1, want 2&#xA;--- FAIL: " + name + " (0.01s)&#xA;</failure></testcase>\n")
			case c%100 == 1:
				write(`		<testcase classname="example.com/svc/pkg` + strconv.Itoa(suite) + `" name="` + name + `" time="0.000000"><skipped message="later"></skipped></testcase>` + "\n")
			default:
				write(`		<testcase classname="example.com/svc/pkg` + strconv.Itoa(suite) + `" name="` + name + `" time="0.001000"></testcase>` + "\n")
			}
		}
		write("\t</testsuite>\n")
	}
	write("</testsuites>\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return n
}

// vmHWM is the process's peak resident set, in bytes, from /proc.
func vmHWM(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatalf("peak RSS: %v", err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.Fields(v)[0]), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
