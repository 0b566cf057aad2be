package evidence

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// TestCounts is what a JUnit report says, counted per <testcase>.
type TestCounts struct {
	Total   int // every test case
	Passed  int
	Failed  int // <failure> or <error>
	Skipped int // <skipped>
	// FirstFailures names up to maxNamed failed cases, "suite/name", so a
	// gate's reason can say which.
	FirstFailures []string
}

// PassRate is passed/(passed+failed) in percent: skipped cases neither
// pass nor fail a suite. A report with nothing run has no pass rate (ok
// false).
func (t *TestCounts) PassRate() (pct float64, ok bool) {
	ran := t.Passed + t.Failed
	if ran == 0 {
		return 0, false
	}
	return 100 * float64(t.Passed) / float64(ran), true
}

const maxNamed = 5

// readJUnit streams a JUnit report with encoding/xml's token decoder.
// joshdk/go-junit was the first choice, but it reads the whole file into
// memory and builds a node tree before ingesting it: a 50 MB report then
// costs several times that in RSS. The token decoder keeps only the
// element being read, so memory stays flat with the size of the suite.
//
// Both dialects reduce to <testcase> elements inside one or more
// <testsuite> elements, with or without a <testsuites> root (gotestsum
// writes the root, Maven Surefire writes a bare <testsuite>); suites may
// nest. The counts are taken from the test cases, not from the suites'
// tests/failures attributes, which some tools get wrong.
//
// RawToken rather than Token: Token also translates namespaces and checks
// that end tags match, which costs a third of the time on a big report;
// JUnit has no namespaces that matter, and open keeps the check of end
// tags at the price of a slice of names.
func readJUnit(ctx context.Context, r io.Reader, name string) (*Reading, error) {
	d := xml.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	d.Strict = true
	counts := &TestCounts{}
	var open []string // names of the open elements, to match end tags
	var (
		root      string
		suite     []string // names of the open testsuite elements
		inCase    bool
		caseName  string
		caseClass string
		verdict   string // "", "failure", "skipped"
		depth     int    // element depth inside the current testcase
		tokens    int
	)
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			if len(open) > 0 {
				line, col := d.InputPos()
				return nil, &Error{File: name, Line: line, Col: col,
					Msg:  fmt.Sprintf("malformed JUnit XML: unexpected EOF: <%s> is not closed", open[len(open)-1]),
					Hint: "the report is cut short; regenerate it with the tool that wrote it"}
			}
			break
		}
		if err != nil {
			return nil, xmlError(name, d, err, "JUnit XML")
		}
		if tokens++; tokens%checkEvery == 0 {
			if err := ctxErr(ctx, name); err != nil {
				return nil, err
			}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			local := t.Name.Local
			open = append(open, local)
			if root == "" {
				root = local
				if local != "testsuites" && local != "testsuite" {
					line, col := d.InputPos()
					return nil, &Error{File: name, Line: line, Col: col,
						Msg:  fmt.Sprintf("root element is <%s>, not <testsuites> or <testsuite>", local),
						Hint: "give a JUnit XML report (gotestsum --junitfile, Maven Surefire's TEST-*.xml), or the right --format"}
				}
			}
			if inCase {
				depth++
				if depth == 1 {
					switch local {
					case "failure", "error":
						verdict = "failure"
					case "skipped":
						if verdict == "" {
							verdict = "skipped"
						}
					}
				}
				continue
			}
			switch local {
			case "testsuite":
				suite = append(suite, attr(t, "name"))
			case "testcase":
				// The name is joined only for a failure: building it for
				// every case cost 5 % of a big report's parse.
				inCase, caseName, caseClass, verdict, depth = true, attr(t, "name"), attr(t, "classname"), "", 0
				if caseClass == "" && len(suite) > 0 {
					caseClass = suite[len(suite)-1]
				}
			}
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != t.Name.Local {
				line, _ := d.InputPos()
				msg := fmt.Sprintf("malformed JUnit XML: </%s> closes no open element", t.Name.Local)
				if len(open) > 0 {
					msg = fmt.Sprintf("malformed JUnit XML: element <%s> closed by </%s>", open[len(open)-1], t.Name.Local)
				}
				return nil, &Error{File: name, Line: line, Msg: msg,
					Hint: "the report is not well-formed XML; regenerate it with the tool that wrote it"}
			}
			open = open[:len(open)-1]
			if inCase {
				if depth > 0 {
					depth--
					continue
				}
				inCase = false
				counts.Total++
				switch verdict {
				case "failure":
					counts.Failed++
					if len(counts.FirstFailures) < maxNamed {
						full := caseName
						if caseClass != "" {
							full = caseClass + "/" + caseName
						}
						counts.FirstFailures = append(counts.FirstFailures, full)
					}
				case "skipped":
					counts.Skipped++
				default:
					counts.Passed++
				}
				continue
			}
			if t.Name.Local == "testsuite" && len(suite) > 0 {
				suite = suite[:len(suite)-1]
			}
		}
	}
	if root == "" {
		return nil, &Error{File: name, Line: 1, Msg: "no XML element: the file is empty or not XML",
			Hint: "give a JUnit XML report (gotestsum --junitfile, Maven Surefire's TEST-*.xml)"}
	}
	return &Reading{Format: FormatJUnit, Tests: counts}, nil
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// xmlError places an encoding/xml error: a *xml.SyntaxError carries its
// line; the decoder's InputPos gives line and column of where it stopped.
func xmlError(name string, d *xml.Decoder, err error, what string) error {
	var le *Error
	if errors.As(err, &le) {
		return le // the size limit
	}
	line, col := d.InputPos()
	msg := err.Error()
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if se.Line != line {
			line, col = se.Line, 0
		}
		msg = se.Msg
	} else if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of file"
	}
	return &Error{File: name, Line: line, Col: col, Msg: "malformed " + what + ": " + msg, Err: err,
		Hint: "the report is cut short or not well-formed XML; regenerate it with the tool that wrote it"}
}
