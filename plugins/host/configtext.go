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
