package spec

import (
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Pos is a place in a spec file. Line and Col are 1-based; a zero Line
// means the whole file (or an object stored earlier, when File is empty).
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "(database)"
	case p.Line == 0:
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem in a spec, where it is and how to fix it.
type Error struct {
	Pos  Pos    `json:"pos"`
	Msg  string `json:"message"`
	Hint string `json:"hint,omitempty"`
}

func (e Error) Error() string {
	if e.Hint == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg + "\n    hint: " + e.Hint
}

// Errors is every problem found in one run, in file order.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Sort orders errors by file, line and column, keeping the order of errors
// at one place.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// dedupe drops repeats of an error, which a value reached through an
// alias many times would give, keeping the order.
func (es Errors) dedupe() Errors {
	seen := make(map[Error]bool, len(es))
	out := es[:0]
	for _, e := range es {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

func (es *Errors) add(p Pos, hint, format string, args ...any) {
	for i, a := range args {
		// Every text argument is a value from the file, or a name:
		// clipped, so a 50 MB scalar in the wrong place is not echoed.
		if rv := reflect.ValueOf(a); rv.Kind() == reflect.String {
			if _, ok := a.(fmt.Formatter); !ok {
				args[i] = clipped(rv.String())
			}
		}
	}
	*es = append(*es, Error{Pos: p, Msg: capText(fmt.Sprintf(format, args...)), Hint: capText(hint)})
}

// maxText bounds a message or hint whatever went into it; clipping each
// value keeps them far below it.
const maxText = 1024

func capText(s string) string {
	if len(s) <= maxText {
		return s
	}
	return truncate(s)
}

// suggest returns the candidate closest to s, if it is close enough to be
// a likely typo.
func suggest(s string, candidates []string) string {
	if len(s) > 64 {
		return "" // no name is that long: not a typo, and costly to compare
	}
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		if diff := len(c) - len(s); diff >= bestD || -diff >= bestD {
			continue // the distance is at least the difference in length
		}
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between two short strings.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// didYouMean is a hint naming the likely intended value, or listing the
// valid ones.
func didYouMean(got string, valid []string) string {
	if s := suggest(got, valid); s != "" {
		return fmt.Sprintf("did you mean %q? valid: %s", clip(s), strings.Join(valid, ", "))
	}
	return "valid: " + strings.Join(valid, ", ")
}

// maxQuoted is how many characters of a user's value a message repeats: a
// 50 MB scalar in the wrong place must not be echoed whole.
const maxQuoted = 80

// clipped is a value quoted in a message: at most maxQuoted characters,
// then "… (N bytes)" after the quotes, giving its full size.
type clipped string

// clip marks a value for quoting in a message.
func clip(s string) clipped { return clipped(s) }

func (c clipped) Format(f fmt.State, verb rune) {
	s, tail := string(c), ""
	if len(s) > maxQuoted { // bytes >= characters: only long text is counted
		n := 0
		for i := range s {
			if n == maxQuoted {
				s, tail = s[:i], fmt.Sprintf("… (%d bytes)", len(c))
				break
			}
			n++
		}
	}
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	io.WriteString(f, s)
	io.WriteString(f, tail)
}

// truncate shortens s to maxQuoted characters, saying how long it was.
func truncate(s string) string { return fmt.Sprintf("%s", clipped(s)) }
