package evidence

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"golang.org/x/tools/cover"
)

// Coverage is the share of code that tests ran.
type Coverage struct {
	Covered int64 // statements (gocover) or lines (cobertura) run
	Total   int64
	// Percent is Covered/Total in percent, or Cobertura's line-rate when
	// the report gives no line counts.
	Percent float64
}

// profileLine is the block line of a Go coverage profile, as
// golang.org/x/tools/cover expects it: name.go:line.col,line.col stmts count.
var profileLine = regexp.MustCompile(`^.+:[0-9]+\.[0-9]+,[0-9]+\.[0-9]+ [0-9]+ [0-9]+$`)

// readGoCover parses a Go coverage profile with golang.org/x/tools/cover,
// which merges the blocks that several test binaries wrote for the same
// code (set mode: or; count and atomic: sum) exactly as `go tool cover`
// does. The profile passes through checkedProfile first, because cover's
// errors do not say on which line the profile is wrong.
func readGoCover(ctx context.Context, r io.Reader, name string) (*Reading, error) {
	cr := &checkedProfile{ctx: ctx, name: name, s: bufio.NewScanner(r)}
	profiles, err := cover.ParseProfilesFromReader(cr)
	if err != nil {
		var le *Error
		if errors.As(err, &le) {
			return nil, le
		}
		if cr.err != nil {
			return nil, cr.err
		}
		return nil, &Error{File: name, Msg: "malformed Go coverage profile: " + err.Error(), Err: err,
			Hint: "write the profile in one run (go test -coverprofile), or merge profiles of the same code only"}
	}
	if cr.line == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "empty Go coverage profile",
			Hint: `a profile starts with "mode: set", "mode: count" or "mode: atomic" (go test -coverprofile=cover.out)`}
	}
	c := &Coverage{}
	for _, p := range profiles {
		for _, b := range p.Blocks {
			c.Total += int64(b.NumStmt)
			if b.Count > 0 {
				c.Covered += int64(b.NumStmt)
			}
		}
	}
	if c.Total > 0 {
		c.Percent = 100 * float64(c.Covered) / float64(c.Total)
	}
	return &Reading{Format: FormatGoCover, Coverage: c}, nil
}

// checkedProfile hands a coverage profile on line by line, refusing the
// first line that cover would refuse, with its line number.
type checkedProfile struct {
	ctx  context.Context
	name string
	s    *bufio.Scanner
	line int
	buf  []byte
	err  *Error
}

func (c *checkedProfile) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if !c.s.Scan() {
			if err := c.s.Err(); err != nil {
				var le *Error
				if errors.As(err, &le) {
					return 0, le
				}
				c.err = &Error{File: c.name, Line: c.line + 1, Msg: "reading Go coverage profile: " + err.Error(), Err: err,
					Hint: "a profile has one short line per code block; this is not one"}
				return 0, c.err
			}
			return 0, io.EOF
		}
		c.line++
		if c.line%checkEvery == 0 {
			if err := ctxErr(c.ctx, c.name); err != nil {
				return 0, err
			}
		}
		l := c.s.Bytes()
		if c.line == 1 {
			switch string(l) {
			case "mode: set", "mode: count", "mode: atomic":
			default:
				c.err = &Error{File: c.name, Line: 1, Col: 1, Msg: fmt.Sprintf("bad mode line %q", clip(l)),
					Hint: `a Go coverage profile starts with "mode: set", "mode: count" or "mode: atomic"`}
				return 0, c.err
			}
		} else if len(l) == 0 {
			continue
		} else if !profileLine.Match(l) {
			c.err = &Error{File: c.name, Line: c.line, Col: 1, Msg: fmt.Sprintf("malformed block line %q", clip(l)),
				Hint: "block lines read file.go:startLine.startCol,endLine.endCol statements count"}
			return 0, c.err
		}
		c.buf = append(append(c.buf[:0], l...), '\n')
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// readCobertura streams a Cobertura report: only the root <coverage>
// element's attributes matter, so nothing of the packages and classes is
// kept, but the rest is still read token by token so that a cut-short or
// broken report is refused (the usual Cobertura libraries unmarshal the
// whole tree instead).
func readCobertura(ctx context.Context, r io.Reader, name string) (*Reading, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Line: 1, Msg: "no <coverage> element: the file is empty or not Cobertura XML",
				Hint: "give a Cobertura XML report (e.g. gocover-cobertura, coverage.py xml, JaCoCo's cobertura export)"}
		}
		if err != nil {
			return nil, xmlError(name, d, err, "Cobertura XML")
		}
		t, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		line, col := d.InputPos()
		if t.Name.Local != "coverage" {
			return nil, &Error{File: name, Line: line, Col: col,
				Msg:  fmt.Sprintf("root element is <%s>, not <coverage>", t.Name.Local),
				Hint: "give a Cobertura XML report, or the right --format"}
		}
		bad := func(a, why string) error {
			return &Error{File: name, Line: line, Col: col, Msg: fmt.Sprintf("<coverage> attribute %s %s", a, why),
				Hint: "Cobertura gives lines-covered and lines-valid as counts, line-rate as a fraction from 0 to 1"}
		}
		c := &Coverage{}
		covered, valid := attr(t, "lines-covered"), attr(t, "lines-valid")
		if covered != "" && valid != "" {
			var err1, err2 error
			c.Covered, err1 = strconv.ParseInt(covered, 10, 64)
			c.Total, err2 = strconv.ParseInt(valid, 10, 64)
			switch {
			case err1 != nil || c.Covered < 0:
				return nil, bad("lines-covered", fmt.Sprintf("%q is not a count", covered))
			case err2 != nil || c.Total < 0:
				return nil, bad("lines-valid", fmt.Sprintf("%q is not a count", valid))
			case c.Covered > c.Total:
				return nil, bad("lines-covered", fmt.Sprintf("%d is more than lines-valid %d", c.Covered, c.Total))
			}
			if c.Total > 0 {
				c.Percent = 100 * float64(c.Covered) / float64(c.Total)
			}
			return drainXML(ctx, d, name, &Reading{Format: FormatCobertura, Coverage: c})
		}
		rate := attr(t, "line-rate")
		if rate == "" {
			return nil, bad("line-rate", "is missing (and so are lines-covered/lines-valid)")
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace([]byte(rate))), 64)
		if err != nil || f < 0 || f > 1 || f != f {
			return nil, bad("line-rate", fmt.Sprintf("%q is not a fraction from 0 to 1", rate))
		}
		c.Percent = 100 * f
		return drainXML(ctx, d, name, &Reading{Format: FormatCobertura, Coverage: c})
	}
}

// drainXML reads the rest of a document, so that malformed XML after the
// part that matters is still an error, and returns rd when it is well-formed.
func drainXML(ctx context.Context, d *xml.Decoder, name string, rd *Reading) (*Reading, error) {
	for n := 1; ; n++ {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return rd, nil
		}
		if err != nil {
			return nil, xmlError(name, d, err, "Cobertura XML")
		}
		if n%checkEvery == 0 {
			if err := ctxErr(ctx, name); err != nil {
				return nil, err
			}
		}
	}
}
