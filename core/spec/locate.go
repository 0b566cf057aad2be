package spec

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	goccy "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// yaml.v3 reads the spec (its nodes carry the positions of every value),
// but its syntax errors only say "line N", and N is often the line of the
// construct that was open, not of the problem. So when it fails, the
// problem is located again: a scan for what the scanner would choke on
// first (invalid UTF-8, control characters, tabs in indentation), then
// goccy/go-yaml, whose syntax errors carry the offending token's line and
// column. goccy is used for nothing else.

const syntaxHint = "fix the YAML syntax here (indentation, a missing colon, an unclosed quote or bracket)"

var (
	yamlLine     = regexp.MustCompile(`line (\d+)`)
	unknownAlias = regexp.MustCompile(`unknown anchor '([^']*)' referenced`)
)

// syntaxError turns yaml.v3's error for data into an Error at the
// problem's own line and column.
func syntaxError(file string, data []byte, err error) Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimLeft(yamlLine.ReplaceAllString(msg, ""), ": ")
	v3line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		v3line, _ = strconv.Atoi(m[1])
	}
	at := func(line, col int) Pos { return Pos{File: file, Line: line, Col: col} }

	charErr := strings.Contains(msg, "UTF-8") || strings.Contains(msg, "control characters") || strings.Contains(msg, "Unicode")
	if off, r, ok := badChar(data); ok && charErr {
		line, col := lineCol(data, off)
		if r == utf8.RuneError {
			return Error{Pos: at(line, col), Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02X)", data[off]),
				Hint: "spec files are UTF-8 text: save the file as UTF-8, or check that -f names the right file"}
		}
		return Error{Pos: at(line, col), Msg: fmt.Sprintf("control character %U is not allowed in YAML", r),
			Hint: "spec files are text: remove the character, or check that -f names the right file"}
	}
	if strings.Contains(msg, "tab character") {
		if line, col, ok := tabIndent(data, v3line); ok {
			return Error{Pos: at(line, col), Msg: "a tab in the indentation",
				Hint: "indent with spaces only: YAML does not allow tabs for indentation"}
		}
	}
	if m := unknownAlias.FindStringSubmatch(msg); m != nil {
		line, col := 1, 1
		if off := aliasAt(data, m[1]); off >= 0 {
			line, col = lineCol(data, off)
		}
		return Error{Pos: at(line, col), Msg: fmt.Sprintf("alias *%s refers to no anchor", truncate(m[1])),
			Hint: fmt.Sprintf("define the anchor &%s before this alias, or fix the name", truncate(m[1]))}
	}
	if strings.Contains(msg, "exceeded max depth") {
		line, col := v3line, 0
		if off := flowTooDeep(data); off >= 0 {
			line, col = lineCol(data, off)
		} else if line > 0 {
			col = firstCol(data, line)
		} else {
			line, col = 1, 1
		}
		return Error{Pos: at(line, col), Msg: fmt.Sprintf("nested more than %d levels deep", maxDepth),
			Hint: "a spec is a few levels deep: check that -f names a spec file, and that its brackets are closed"}
	}
	// goccy's parser takes time quadratic in the nesting depth (a minute
	// for 100,000 levels), so it is only asked about plausible files.
	if flowTooDeep(data) < 0 && maxIndent(data) <= 1000 {
		if e, ok := goccyError(file, lf(data), msg); ok {
			return e
		}
	}
	// Neither scan found it: yaml.v3's line, at its first non-blank column.
	line := max(v3line, 1)
	return Error{Pos: at(line, firstCol(data, line)), Msg: "invalid YAML: " + msg, Hint: syntaxHint}
}

// badChar finds the first byte YAML may not contain: invalid UTF-8 or a
// control character other than tab, line feed and carriage return
// (YAML 1.2, 5.1), the set yaml.v3 refuses.
func badChar(data []byte) (int, rune, bool) {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return off, r, true
		case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffe || r == 0xffff:
			return off, r, true
		}
		off += size
	}
	return 0, 0, false
}

// breakAt is the length of the line break starting at data[i], or 0.
// Line breaks are what yaml.v3 counts as one, so that positions found by
// scanning agree with those of its nodes: CR LF, CR, LF, and NEL, LS and
// PS (U+0085, U+2028, U+2029).
func breakAt(data []byte, i int) int {
	switch c := data[i]; {
	case c == '\n':
		return 1
	case c == '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case c == 0xc2 && i+1 < len(data) && data[i+1] == 0x85:
		return 2
	case c == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9):
		return 3
	}
	return 0
}

// lineCol is the 1-based line and column (in characters) of byte offset off.
func lineCol(data []byte, off int) (int, int) {
	line, start := 1, 0
	for i := 0; i < off && i < len(data); {
		if n := breakAt(data, i); n > 0 {
			i += n
			line, start = line+1, i
			continue
		}
		i++
	}
	return line, utf8.RuneCount(data[start:min(max(off, start), len(data))]) + 1
}

// lf writes every line break as LF. goccy counts some breaks otherwise
// than yaml.v3 (CR LF inside quotes as two); a break is never part of a
// column, so lines and columns stay those of the original.
func lf(data []byte) []byte {
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); {
		if n := breakAt(data, i); n > 0 {
			out = append(out, '\n')
			i += n
			continue
		}
		out = append(out, data[i])
		i++
	}
	return out
}

// lines splits data into lines without their line breaks.
func lines(data []byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(data); {
		if n := breakAt(data, i); n > 0 {
			out = append(out, string(data[start:i]))
			i += n
			start = i
			continue
		}
		i++
	}
	return append(out, string(data[start:]))
}

// tabIndent finds the first tab in a line's indentation, from line from
// on (yaml.v3 names the line before the tab, or the tab's own).
func tabIndent(data []byte, from int) (int, int, bool) {
	ls := lines(data)
	for i := max(from-1, 0); i < len(ls); i++ {
		for j, c := range ls[i] {
			if c == '\t' {
				return i + 1, utf8.RuneCountInString(ls[i][:j]) + 1, true
			}
			if c != ' ' && c != '-' {
				break
			}
		}
	}
	return 0, 0, false
}

// firstCol is the column of line's first non-blank character.
func firstCol(data []byte, line int) int {
	ls := lines(data)
	if line < 1 || line > len(ls) {
		return 1
	}
	s := ls[line-1]
	return utf8.RuneCountInString(s[:len(s)-len(strings.TrimLeft(s, " \t"))]) + 1
}

// goccyError parses data with goccy/go-yaml and returns its syntax error,
// located; an unclosed flow collection is reported where it opens.
// msg is yaml.v3's message, kept where goccy's says no more.
func goccyError(file string, data []byte, msg string) (e Error, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false // a bug in the locator must not hide the real error
		}
	}()
	_, err := parser.ParseBytes(data, 0)
	var se *goccy.SyntaxError
	if !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil {
		return Error{}, false
	}
	p := Pos{File: file, Line: se.Token.Position.Line, Col: se.Token.Position.Column}
	if n := len(lines(data)); p.Line < 1 || p.Line > n || p.Col < 1 {
		return Error{}, false // a position outside the file helps nobody
	}
	m := se.Message
	switch {
	case strings.Contains(m, "'}'") || strings.Contains(m, "flow mapping"):
		if o := unclosed(data, token.MappingStartType, p); o != nil {
			return Error{Pos: Pos{File: file, Line: o.Line, Col: o.Column},
				Msg:  "this { is never closed",
				Hint: "close the mapping with } before the next key, or write it as an indented block"}, true
		}
	case strings.Contains(m, "']'") || strings.Contains(m, "flow sequence"):
		if o := unclosed(data, token.SequenceStartType, p); o != nil {
			return Error{Pos: Pos{File: file, Line: o.Line, Col: o.Column},
				Msg:  "this [ is never closed",
				Hint: "close the list with ] before the next key, or write it one \"- item\" per line"}, true
		}
	case strings.Contains(m, "double-quoted"):
		return Error{Pos: p, Msg: "this double-quoted text is never closed",
			Hint: `end the text with a " (write \" for a quote inside it)`}, true
	case strings.Contains(m, "single-quoted"):
		return Error{Pos: p, Msg: "this single-quoted text is never closed",
			Hint: "end the text with a ' (write '' for a quote inside it)"}, true
	case strings.Contains(m, "\t"):
		return Error{Pos: p, Msg: "a tab in the indentation",
			Hint: "indent with spaces only: YAML does not allow tabs for indentation"}, true
	case strings.Contains(msg, "mapping values are not allowed"):
		return Error{Pos: p, Msg: "invalid YAML: " + msg,
			Hint: `fix the YAML syntax: quote a value that contains ": " (channel: "a: b"), or put a nested key on a line of its own`}, true
	case strings.Contains(m, "not allowed in this context") || strings.Contains(m, "non-map value"):
		return Error{Pos: p, Msg: "invalid YAML: this line's indentation does not fit the lines above it",
			Hint: "line it up with the keys of the mapping it belongs to, or add the missing \"key:\" above it"}, true
	}
	return Error{Pos: p, Msg: "invalid YAML: " + msg, Hint: syntaxHint}, true
}

// unclosed is the innermost flow collection opened before the error at p
// and never closed.
func unclosed(data []byte, open token.Type, p Pos) *token.Position {
	var stack []*token.Token
	for _, tk := range lexer.Tokenize(string(data)) {
		if tk.Position == nil {
			continue
		}
		if tk.Position.Line > p.Line || (tk.Position.Line == p.Line && tk.Position.Column > p.Col) {
			break
		}
		switch tk.Type {
		case token.MappingStartType, token.SequenceStartType:
			stack = append(stack, tk)
		case token.MappingEndType, token.SequenceEndType:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].Type == open {
			return stack[i].Position
		}
	}
	return nil
}

// flowTooDeep is the offset of the first "[" or "{" nested more than
// maxDepth deep, counting brackets as if none were quoted; -1 if none is.
func flowTooDeep(data []byte) int {
	depth := 0
	for i, c := range data {
		switch c {
		case '[', '{':
			if depth++; depth > maxDepth {
				return i
			}
		case ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return -1
}

// maxIndent is the widest indentation of any line, in bytes.
func maxIndent(data []byte) int {
	widest, n, start := 0, 0, true
	for _, c := range data {
		switch {
		case c == '\n':
			n, start = 0, true
		case start && c == ' ':
			n++
			widest = max(widest, n)
		default:
			start = false
		}
	}
	return widest
}

// aliasAt is the offset of the first use of alias *name outside a
// comment; -1 if there is none.
func aliasAt(data []byte, name string) int {
	text := string(data)
	for from := 0; ; {
		i := strings.Index(text[from:], "*"+name)
		if i < 0 {
			return -1
		}
		off := from + i
		from = off + 1
		end := off + 1 + len(name)
		if end < len(text) && !strings.ContainsRune(" \t\r\n,]}", rune(text[end])) {
			continue // a longer name
		}
		lineStart := strings.LastIndexByte(text[:off], '\n') + 1
		if before := text[lineStart:off]; strings.HasPrefix(strings.TrimLeft(before, " \t"), "#") || strings.Contains(before, " #") {
			continue // in a comment
		}
		if off > lineStart && !strings.ContainsRune(" \t[{,:-", rune(text[off-1])) {
			continue // inside a word
		}
		return off
	}
}
