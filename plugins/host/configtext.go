package host

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// What a configuration file's errors quote is capped: a megabyte pasted
// in the wrong place must not come back as a megabyte of error.
const maxQuoted = 80

// quote is strconv.Quote of s, cut at maxQuoted bytes with its full
// length said.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}

// clip caps a message from the YAML parser, which may quote the input.
func clip(msg string) string {
	const maxMsg = 300
	if len(msg) <= maxMsg {
		return msg
	}
	cut := maxMsg
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", msg[:cut], len(msg))
}

type textPos struct{ line, col int }

// scanText finds what the YAML parser rejects without a useful position:
// bytes that are not UTF-8, control characters (binary garbage), and tabs
// in a line's indentation. Columns count characters, from 1.
func scanText(data []byte) (pos textPos, msg string, bad bool) {
	line, col, indent := 1, 1, true
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return textPos{line, col}, fmt.Sprintf("byte 0x%02x is not UTF-8: the file must be UTF-8 text (is it a binary?)", data[i]), true
		case r == '\n':
			line, col, indent = line+1, 0, true
		case r == '\t' && indent:
			return textPos{line, col}, "a tab in the indentation: YAML indents with spaces only", true
		case r == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
			// YAML takes a lone CR for a line end, editors mostly do not:
			// positions would disagree.
			return textPos{line, col}, "a carriage return without a line feed: save the file with Unix (LF) or Windows (CRLF) line ends", true
		case r == '\r' || r == '\t':
		case r < 0x20 || r == 0x7f || r == 0xfeff && i > 0:
			return textPos{line, col}, fmt.Sprintf("control character %U: the file must be text (is it a binary?)", r), true
		case r != ' ':
			indent = false
		}
		i += size
		col++
	}
	return textPos{}, "", false
}

// unclosedFlow finds the innermost '[' or '{' that is never closed,
// outside quotes and comments.
func unclosedFlow(data []byte) (textPos, rune, bool) {
	type opener struct {
		pos textPos
		r   rune
	}
	var stack []opener
	line, col := 1, 0
	var quote rune
	comment := false
	prev := ' '
	for _, r := range string(data) {
		col++
		switch {
		case r == '\n':
			// Quoted scalars may span lines: the quote stays open.
			line, col, comment = line+1, 0, false
		case comment:
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '#' && (prev == ' ' || prev == '\t' || col == 1):
			comment = true
		case r == '\'' || r == '"':
			quote = r
		case r == '[' || r == '{':
			stack = append(stack, opener{textPos{line, col}, r})
		case (r == ']' || r == '}') && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
		prev = r
	}
	if len(stack) == 0 {
		return textPos{}, 0, false
	}
	o := stack[len(stack)-1]
	return o.pos, o.r, true
}

// firstColumn is the column of the first character of line that is not
// blank, 1 when there is none.
func firstColumn(data []byte, line int) int {
	l := 1
	for i := 0; i < len(data); i++ {
		if l == line {
			col := 1
			for j := i; j < len(data) && (data[j] == ' ' || data[j] == '\t'); j++ {
				col++
			}
			if i+col-1 < len(data) && data[i+col-1] != '\n' {
				return col
			}
			return 1
		}
		if data[i] == '\n' {
			l++
		}
	}
	return 1
}
