package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/core/model"
)

// FormatVersion is the newest spec format this warroom reads.
const FormatVersion = 1

// Source is one object read from a spec file, with where it came from and
// where each of its values is, so later checks can point at the exact
// line and column.
type Source struct {
	Object model.Object
	Pos    Pos
	fields map[string]Pos
}

// Kind is the object's kind.
func (s *Source) Kind() model.Kind { return s.Object.ObjectKind() }

// Name is the object's name.
func (s *Source) Name() string { return s.Object.ObjectName() }

// At returns the position of the value at path ("requires[1].range"),
// falling back to its nearest enclosing value, then to the object.
func (s *Source) At(path string) Pos {
	if s == nil {
		return Pos{}
	}
	for path != "" {
		if p, ok := s.fields[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return s.Pos
}

// KeySuffix, after a mapping entry's path ("parallel.prod"), names the
// position of its key rather than of its value.
const KeySuffix = "#key"

// Set is the objects read from a group of spec files.
type Set struct {
	Files   []string
	Sources []*Source
	// parseErrs are the errors ParseFiles found: Check reports them with
	// its own, so a set that did not parse is never applied.
	parseErrs Errors
}

// sections maps a spec file's top-level keys to the kind of their items.
var sections = []struct {
	key  string
	kind model.Kind
	typ  reflect.Type
}{
	{"teams", model.KindTeam, reflect.TypeOf(model.Team{})},
	{"people", model.KindPerson, reflect.TypeOf(model.Person{})},
	{"policy", model.KindPolicy, reflect.TypeOf(model.Policy{})},
	{"vendors", model.KindVendor, reflect.TypeOf(model.Vendor{})},
	{"libraries", model.KindLibrary, reflect.TypeOf(model.Library{})},
	{"services", model.KindService, reflect.TypeOf(model.Service{})},
	{"gates", model.KindGate, reflect.TypeOf(model.Gate{})},
	{"environments", model.KindEnvironment, reflect.TypeOf(model.Environment{})},
	{"calendar", model.KindCalendar, reflect.TypeOf(model.CalendarItem{})},
	{"releases", model.KindRelease, reflect.TypeOf(model.Release{})},
}

func topKeys() []string {
	keys := []string{"version"}
	for _, s := range sections {
		keys = append(keys, s.key)
	}
	return keys
}

// ParseFiles reads every spec file named by paths; a directory stands for
// every .yaml and .yml file below it, in lexical order.
func ParseFiles(paths []string) (*Set, Errors) {
	set := &Set{}
	var errs Errors
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			errs.add(Pos{File: p}, "check the path given to -f", "%v", err)
			continue
		}
		set.Files = append(set.Files, files...)
	}
	var total int64
	for _, f := range set.Files {
		data, err := readSpec(f, MaxTotalSize-total)
		var tl *tooLarge
		switch {
		case errors.As(err, &tl) && tl.limit < MaxFileSize:
			errs.add(Pos{File: f, Line: 1, Col: 1}, "split the organisation into fewer, smaller files, or check that -f names only spec files",
				"the spec files together are over the %s limit of one run (%s before this file; this one is %s)",
				sizeText(MaxTotalSize), sizeText(total), tl.sizeText())
			errs.Sort()
			set.parseErrs = errs
			return set, errs // nothing more is read
		case errors.As(err, &tl):
			errs.add(Pos{File: f, Line: 1, Col: 1}, "split it into several files (warroom reads a directory of files as one spec), or check that -f names a spec file",
				"file is %s, over the %s limit of a spec file", tl.sizeText(), sizeText(MaxFileSize))
			continue
		case err != nil:
			errs.add(Pos{File: f}, "check the file exists and is readable", "%v", err)
			continue
		}
		total += int64(len(data))
		srcs, perrs := Parse(f, data)
		set.Sources = append(set.Sources, srcs...)
		errs = append(errs, perrs...)
	}
	errs.Sort()
	set.parseErrs = errs
	return set, errs
}

// The largest spec file and the most spec text one run reads. A generated
// organisation of 5,000 services is 4.9 MB in 108 files, its largest file
// 0.3 MB, and validates in 0.6 s: these limits leave room for much larger
// organisations, or one file holding everything, while a 50 MB file by
// mistake is refused at once instead of taking seconds and hundreds of MB.
const (
	MaxFileSize  = 16 << 20
	MaxTotalSize = 64 << 20
)

// tooLarge is a file over a limit; size is -1 when the file did not say
// (a pipe or a device) and reading stopped at the limit.
type tooLarge struct {
	size, limit int64
}

func (e *tooLarge) Error() string { return "too large" }

func (e *tooLarge) sizeText() string {
	if e.size < 0 {
		return "more than " + sizeText(e.limit)
	}
	return sizeText(e.size)
}

// sizeText writes a byte count for people: "16 MiB", "52428800 bytes (50.0 MiB)".
func sizeText(n int64) string {
	if n%(1<<20) == 0 && n > 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// readSpec reads a spec file of at most min(MaxFileSize, left) bytes,
// refusing a larger one before reading it, and never reading more than
// the limit from one whose size is not known in advance (/dev/zero).
func readSpec(path string, left int64) ([]byte, error) {
	limit := min(int64(MaxFileSize), left)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, unwrapPathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, unwrapPathErr(err))
	}
	if st.Mode().IsRegular() && st.Size() > limit {
		return nil, &tooLarge{size: st.Size(), limit: limit}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, unwrapPathErr(err))
	}
	if int64(len(data)) > limit {
		return nil, &tooLarge{size: -1, limit: limit}
	}
	return data, nil
}

func expand(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, unwrapPathErr(err))
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		// A folder of evidence (its index is evidence.yaml, read by
		// `warroom evidence import`) is not specs, even inside one.
		if d.IsDir() && p != path {
			if _, err := os.Stat(filepath.Join(p, "evidence.yaml")); err == nil {
				return filepath.SkipDir
			}
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			// Only regular files, or links to them: opening a named pipe
			// blocks until something writes to it, so a FIFO left in a
			// spec folder hung validate and apply (-f names one on
			// purpose).
			if !d.Type().IsRegular() {
				st, err := os.Stat(p)
				if err != nil {
					return fmt.Errorf("%s: %w", p, unwrapPathErr(err))
				}
				if !st.Mode().IsRegular() {
					return fmt.Errorf("%s is not a regular file (a pipe, device or socket): a folder's specs are read from regular files only; name it with -f to read it", p)
				}
			}
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no .yaml or .yml files", path)
	}
	sort.Strings(files)
	return files, nil
}

// unwrapPathErr drops the path from an os error: the message names it once.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads one spec file's content. file names it in errors.
func Parse(file string, data []byte) ([]*Source, Errors) {
	var (
		errs Errors
		out  []*Source
	)
	if len(data) > MaxFileSize {
		errs.add(Pos{File: file, Line: 1, Col: 1}, "split it into several files (warroom reads a directory of files as one spec)",
			"file is %s, over the %s limit of a spec file", sizeText(int64(len(data))), sizeText(MaxFileSize))
		return nil, errs
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		// yaml.v3 would decode UTF-16 and count lines in the decoded text
		// (U+2028 is a line break there), so no position it gives could be
		// found in the file's bytes: a spec is UTF-8, as docs/spec.md says.
		errs.add(Pos{File: file, Line: 1, Col: 1}, "save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8 FILE",
			"file is UTF-16 (it starts with a UTF-16 byte order mark); spec files are UTF-8")
		return nil, errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	src, al := &text{data: data}, &aliases{}
	declared := false // some document is more than empty
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			errs = append(errs, syntaxError(file, data, err))
			break
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue // an empty document
		}
		declared = true
		srcs, derrs := parseDocument(file, src, al, doc.Content[0])
		out = append(out, srcs...)
		errs = append(errs, derrs...)
		if al.blown {
			// What was decoded is incomplete: checking it would only
			// add errors about values the file never wrote.
			return nil, errs
		}
	}
	if !declared && len(errs) == 0 {
		// Most likely the wrong file, or one saved before it was written.
		errs.add(Pos{File: file, Line: 1, Col: 1}, "write the objects it should declare (teams:, services:, releases:, ... see docs/spec.md), or leave the file out",
			"the file is empty: it declares nothing")
	}
	return out, errs
}

func parseDocument(file string, src *text, al *aliases, root *yaml.Node) ([]*Source, Errors) {
	var errs Errors
	pos := func(n *yaml.Node) Pos { return Pos{File: file, Line: n.Line, Col: n.Column} }
	if isNull(root) {
		return nil, nil
	}
	if deep := tooDeep(root); deep != nil {
		errs.add(pos(deep), "a spec is a few levels deep: check that -f names a spec file, and that its brackets are closed",
			"nested more than %d levels deep", maxDepth)
		return nil, errs
	}
	if root.Kind != yaml.MappingNode {
		errs.add(pos(root), "a spec file is a mapping with keys such as services:, teams:, releases:", "expected a mapping at the top of the file, got %s", describe(root))
		return nil, errs
	}
	var out []*Source
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			errs.add(pos(k), "merge the two lists into one", "top-level key %q appears twice in this document", k.Value)
			continue
		}
		seen[k.Value] = true
		if k.Value == "version" {
			n, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || n < 1 || n > FormatVersion {
				errs.add(pos(v), fmt.Sprintf("this warroom reads spec format versions 1 to %d", FormatVersion), "unsupported spec format version %s", describe(v))
			}
			continue
		}
		sec := -1
		for j, s := range sections {
			if s.key == k.Value {
				sec = j
			}
		}
		if sec < 0 {
			errs.add(pos(k), didYouMean(k.Value, topKeys()), "unknown top-level key %q", k.Value)
			continue
		}
		for v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if isNull(v) {
			continue
		}
		items := v.Content
		if v.Kind == yaml.MappingNode && sections[sec].kind == model.KindPolicy {
			// An organisation has one policy: "policy:" takes the object
			// itself as well as a list of one.
			items = []*yaml.Node{v}
		} else if v.Kind != yaml.SequenceNode {
			errs.add(pos(v), fmt.Sprintf("write %s as a list, one \"- name: ...\" item each", k.Value), "%s: expected a list, got %s", k.Value, describe(v))
			continue
		}
		for _, item := range items {
			if isNull(item) {
				errs.add(dashPos(file, src, item), `write the item as "- name: ..." with its keys, or delete the empty "-" line`,
					"empty item in %s", k.Value)
				continue
			}
			d := &decoder{file: file, errs: &errs, fields: map[string]Pos{}, aliases: al}
			val := reflect.New(sections[sec].typ)
			d.decode(item, val.Elem(), "")
			obj := val.Elem().Interface().(model.Object)
			out = append(out, &Source{Object: obj, Pos: pos(item), fields: d.fields})
		}
	}
	return out, errs
}

// dashPos is where the "-" of an empty list item is: yaml.v3 places the
// empty value after it, past the end of the line.
func dashPos(file string, src *text, item *yaml.Node) Pos {
	p := Pos{File: file, Line: item.Line, Col: item.Column}
	r := []rune(src.line(item.Line))
	for i := min(item.Column-2, len(r)-1); i >= 0; i-- {
		if r[i] != ' ' {
			if r[i] == '-' {
				p.Col = i + 1
			}
			break
		}
	}
	return p
}

// text is a file's content with its lines indexed on first use, so that
// looking up many lines of a large file stays linear.
type text struct {
	data      []byte
	starts    []int // where each line starts
	ends      []int // where each line's break starts
	lineIndex bool
}

// line is line n (1-based) without its line break; "" past the end.
func (t *text) line(n int) string {
	if !t.lineIndex {
		t.lineIndex = true
		t.starts = []int{0}
		for i := 0; i < len(t.data); {
			if b := breakAt(t.data, i); b > 0 {
				t.ends = append(t.ends, i)
				i += b
				t.starts = append(t.starts, i)
				continue
			}
			i++
		}
		t.ends = append(t.ends, len(t.data))
	}
	if n < 1 || n > len(t.starts) {
		return ""
	}
	return string(t.data[t.starts[n-1]:t.ends[n-1]])
}

// maxDepth is how deeply a spec document may nest. The deepest field of
// the format is six levels down (releases[].scope[].requires[].range);
// a document nested far deeper is not a spec.
const maxDepth = 100

// tooDeep returns the first node nested more than maxDepth levels below
// root, without following aliases (the alias budget bounds those).
func tooDeep(root *yaml.Node) *yaml.Node {
	type item struct {
		n     *yaml.Node
		depth int
	}
	stack := []item{{root, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > maxDepth {
			return it.n
		}
		for i := len(it.n.Content) - 1; i >= 0; i-- {
			stack = append(stack, item{it.n.Content[i], it.depth + 1})
		}
	}
	return nil
}
