package spec

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
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

func (es *Errors) add(p Pos, hint, format string, args ...any) {
	*es = append(*es, Error{Pos: p, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// suggest returns the candidate closest to s, if it is close enough to be
// a likely typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
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
		return fmt.Sprintf("did you mean %q? valid: %s", s, strings.Join(valid, ", "))
	}
	return "valid: " + strings.Join(valid, ", ")
}

// maxQuoted is how much of a user's value an error message repeats: a
// 50 MB scalar in the wrong place must not be echoed whole.
const maxQuoted = 80

// truncate shortens s to maxQuoted characters, saying how long it was.
func truncate(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoted {
		return s
	}
	n := 0
	for i := range s {
		if n == maxQuoted {
			return fmt.Sprintf("%s… (%d bytes)", s[:i], len(s))
		}
		n++
	}
	return s
}
