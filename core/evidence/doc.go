// Package evidence reads the reports that CI hands to quality gates and
// measures them against a gate's threshold. It parses only: storing
// evidence and deciding gate states belong to the store and core/gates.
//
// Formats (Format), detected by content first and by file name second:
//
//   - junit: JUnit XML, both the gotestsum dialect (<testsuites> root) and
//     the Maven Surefire one (a bare <testsuite> root). Counted per
//     <testcase>: a <failure> or <error> child fails it, <skipped> skips it.
//   - gocover: a Go coverage profile ("mode: set|count|atomic"). Blocks that
//     appear more than once (several test binaries writing one profile) are
//     merged as `go tool cover` merges them, by golang.org/x/tools/cover.
//     Percent = covered statements / all statements, as `go tool cover -func`.
//   - cobertura: Cobertura XML; lines-covered/lines-valid of the root
//     <coverage> element when present, else its line-rate.
//   - sarif: SARIF 2.1.0. A result's severity is taken from the
//     "security-severity" property (CVSS score: ≥9 critical, ≥7 high, ≥4
//     medium, >0 low) of the result or of its rule, else from a severity
//     tag ("HIGH", as gosec writes) of the result or its rule, else from its level
//     (error high, warning medium, note low; "none" is not a finding). A
//     result with a suppression whose status is not "rejected" is not open.
//   - spdx: SPDX 2.3 JSON. A package's licence is its licenseConcluded, or
//     its licenseDeclared when the concluded one is NOASSERTION or absent.
//     Expressions (AND, OR, WITH, parentheses, LicenseRef-…) are parsed by
//     github.com/github/go-spdx/v2. NOASSERTION (nobody knows) and NONE (no
//     licence at all) are not satisfiable by any allow-list unless the
//     allow-list names them literally: a package of unknown licence must be
//     looked at by a person, through a waiver, not passed silently. The
//     document's subject (documentDescribes, or a DESCRIBES relationship
//     from SPDXRef-DOCUMENT) is the thing built, not a dependency: the
//     licence gate does not judge it.
//   - gobench: Go benchmark output (`go test -bench`, several -count runs),
//     read by golang.org/x/perf/benchfmt and compared with a baseline in the
//     manner of benchstat (golang.org/x/perf/benchmath).
//
// Limits: a file larger than MaxFileSize is refused before it is read
// (ReadFile checks its size first; Read stops at the limit). Parsing
// streams: XML through encoding/xml's token decoder, JSON through
// encoding/json's token decoder one array element at a time, so memory does
// not grow with the size of the file but with what is kept (counts, open
// findings, packages).
//
// Malformed input gives an *Error carrying file:line:column, what is wrong
// and how to fix it; parsing never panics (fuzz tests per format).
package evidence
