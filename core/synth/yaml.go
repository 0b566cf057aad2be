package synth

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// doc writes one spec file. The generator writes YAML text itself rather
// than marshalling model values: it controls quoting (versions and times of
// day are always quoted, so no YAML reader takes "1.10" for a number), key
// order and flow style, which keeps the files readable and the bytes stable.
type doc struct {
	b bytes.Buffer
}

func newDoc(comment ...string) *doc {
	d := &doc{}
	for _, c := range comment {
		d.b.WriteString("# " + c + "\n")
	}
	d.b.WriteString("version: 1\n")
	return d
}

// line writes one line at an indentation of depth*2 spaces.
func (d *doc) line(depth int, format string, args ...any) {
	d.b.WriteString(strings.Repeat("  ", depth))
	fmt.Fprintf(&d.b, format, args...)
	d.b.WriteByte('\n')
}

func (d *doc) blank() { d.b.WriteByte('\n') }

func (d *doc) bytes() []byte { return bytes.Clone(d.b.Bytes()) }

// q quotes a string for YAML. Go's escapes (\", \\, \n, \t, \xXX, \uXXXX)
// are all valid in a YAML double-quoted scalar.
func q(s string) string { return strconv.Quote(s) }

// list writes a flow list of plain scalars: [a, b, c].
func list(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

// qlist writes a flow list of quoted scalars.
func qlist(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = q(s)
	}
	return list(out)
}

func ints(xs []int) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Itoa(x)
	}
	return list(out)
}
