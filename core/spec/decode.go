package spec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/core/model"
)

// decoder fills a model value from a YAML node, recording the position of
// every value by its path ("requires[1].range") and collecting every error
// instead of stopping at the first: a captain fixing a spec wants the whole
// list in one run.
type decoder struct {
	file   string
	errs   *Errors
	fields map[string]Pos
	*aliases
}

// maxAliasValues bounds the values a file may reach through aliases: a
// few nested anchors can stand for billions of values (an "alias bomb"),
// while real specs use aliases to share a block or two.
const maxAliasValues = 250_000

// maxFileErrors is how many errors reading one document collects before
// it stops: only 50 are shown, and a file with thousands is most likely
// not a spec at all.
const maxFileErrors = 1000

// aliases counts, for one file, the values decoded through aliases, and
// stops decoding (blown) when they, or the errors, are too many.
type aliases struct {
	open     int  // aliases being expanded now
	at       Pos  // the outermost of them
	expanded int  // values decoded through aliases so far
	blown    bool // over maxAliasValues: decode nothing more
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(model.Duration(0))
)

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// verbatim is message text already made safe (values clipped), which
// Errors.add must not clip again.
type verbatim string

func (v verbatim) Format(f fmt.State, _ rune) { fmt.Fprint(f, string(v)) }

// describe names a YAML node's shape for type errors.
func describe(n *yaml.Node) verbatim {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return verbatim(fmt.Sprintf("%q", clip(n.Value)))
	}
	return "nothing"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// resolve follows an alias to the node it stands for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.blown {
		return
	}
	if len(*d.errs) >= maxFileErrors {
		d.blown = true
		d.errs.add(d.pos(n), "fix the errors above and run again; check that -f names a spec file",
			"stopped reading this file after %d errors", maxFileErrors)
		return
	}
	if n.Kind == yaml.AliasNode {
		if d.open == 0 {
			d.at = d.pos(n)
		}
		d.open++
		defer func() { d.open-- }()
	}
	if d.open > 0 {
		if d.expanded++; d.expanded > maxAliasValues {
			d.blown = true
			d.errs.add(d.at, "write the values out, or share fewer and smaller blocks through anchors",
				"aliases here expand to more than %d values", maxAliasValues)
			return
		}
	}
	n = resolve(n)
	d.fields[path] = d.pos(n)
	if isNull(n) {
		return // an empty value leaves the zero value; required keys are checked by the parent
	}
	switch v.Type() {
	case timeType:
		d.decodeTime(n, v, path)
		return
	case durationType:
		if n.Kind != yaml.ScalarNode {
			d.typeError(n, path, "a duration", `write it as text such as "90s", "15m", "2h30m" or "3d"`)
			return
		}
		dur, err := model.ParseDuration(n.Value)
		if err != nil {
			// What the parser says beyond the form (": too long (at most
			// 106751d)"); the value itself is given as %q, which the
			// error list clips.
			detail := strings.TrimPrefix(err.Error(), fmt.Sprintf("invalid duration %q", n.Value))
			d.errs.add(d.pos(n), `write it as text such as "90s", "15m", "2h30m" or "3d"`, "%s: invalid duration %q%s", path, n.Value, detail)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		before := len(*d.errs)
		d.decode(n, e.Elem(), path)
		if len(*d.errs) == before {
			// A value that did not decode stays unset, so that checks of
			// the value do not report the zero it would otherwise hold.
			v.Set(e)
		}
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.typeError(n, path, "a list", "write a YAML list: one \"- item\" per line, or [a, b]")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if isNull(resolve(item)) {
				// A bare "-" would become an empty name or an empty
				// object, which nothing can refer to or act on.
				d.errs.add(d.pos(item), "write a value after the \"-\", or delete the line", "%s: empty list item", p)
				continue
			}
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.typeError(n, path, "a mapping", "write key: value pairs, one per line")
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.typeError(k, path, "a text key", "")
				continue
			}
			if seen[k.Value] {
				d.errs.add(d.pos(k), "remove one of them", "%s: key %q appears twice", path, k.Value)
				continue
			}
			seen[k.Value] = true
			// The key's own position, for errors about the key (a map
			// keyed by names: Source.At(path + ".name" + KeySuffix)).
			d.fields[join(path, k.Value)+KeySuffix] = d.pos(k)
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, join(path, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.typeError(n, path, "text", "write a single value; quote it if it contains \": \" or starts with a special character")
			return
		}
		// The literal text, not YAML's reading of it: a version written
		// 1.10 must stay "1.10", not become the float 1.1.
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode {
			d.typeError(n, path, "a whole number", "write a whole number such as 2")
			return
		}
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			d.typeError(n, path, "a whole number", "write a whole number such as 2")
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.typeError(n, path, "a number", "write a number such as 99.9")
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.typeError(n, path, "true or false", "write true or false")
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	default:
		d.errs.add(d.pos(n), "", "%s: warroom cannot read a %s here (internal error)", path, v.Type())
	}
}

func (d *decoder) typeError(n *yaml.Node, path, want, hint string) {
	d.errs.add(d.pos(n), hint, "%s: expected %s, got %s", path, want, describe(n))
}

// timeLayouts are the accepted ways to write an instant.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02"}

func (d *decoder) decodeTime(n *yaml.Node, v reflect.Value, path string) {
	const hint = `write an RFC 3339 time such as "2026-12-02T21:00:00Z" or "2026-12-02T22:00:00+01:00", or a date "2026-12-02"`
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, path, "a time", hint)
		return
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, n.Value); err == nil {
			v.Set(reflect.ValueOf(t.UTC()))
			return
		}
	}
	d.errs.add(d.pos(n), hint, "%s: %q is not a time", path, n.Value)
}

// field is one settable struct field with its spec key.
type field struct {
	key      string
	index    int
	required bool
}

var fieldCache sync.Map // reflect.Type -> []field

func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := strings.Split(sf.Tag.Get("yaml"), ",")[0]
		if key == "" || key == "-" || !sf.IsExported() {
			continue
		}
		fs = append(fs, field{key: key, index: i, required: sf.Tag.Get("spec") == "required"})
	}
	fieldCache.Store(t, fs)
	return fs
}

func keysOf(fs []field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.key
	}
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, path, "a mapping", "write key: value pairs, one per line, indented under the key")
		return
	}
	fs := fieldsOf(v.Type())
	seen, null := map[string]bool{}, map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		var f *field
		for j := range fs {
			if fs[j].key == k.Value {
				f = &fs[j]
				break
			}
		}
		where := path
		if where == "" {
			where = kindLabel(v.Type())
		}
		if f == nil {
			d.errs.add(d.pos(k), didYouMean(k.Value, keysOf(fs)), "unknown key %q in %s", k.Value, where)
			continue
		}
		if seen[f.key] {
			d.errs.add(d.pos(k), "remove one of them", "key %q appears twice in %s", k.Value, where)
			continue
		}
		seen[f.key] = true
		if isNull(resolve(val)) {
			null[f.key] = true
		}
		d.decode(val, v.Field(f.index), join(path, f.key))
	}
	if d.blown {
		return // stopped part-way: the missing keys are not missing
	}
	for _, f := range fs {
		if !f.required {
			continue
		}
		fv := v.Field(f.index)
		if !seen[f.key] || null[f.key] || (fv.Kind() == reflect.String && fv.String() == "") || (fv.Kind() == reflect.Slice && fv.Len() == 0) {
			where := path
			if where == "" {
				where = kindLabel(v.Type())
			}
			d.errs.add(d.pos(n), fmt.Sprintf("add %q (see docs/spec.md)", f.key), "%s is missing required key %q", where, f.key)
		}
	}
}

// kindLabel names a top-level object type in messages.
func kindLabel(t reflect.Type) string {
	switch t {
	case reflect.TypeOf(model.Team{}):
		return "team"
	case reflect.TypeOf(model.Person{}):
		return "person"
	case reflect.TypeOf(model.Policy{}):
		return "policy"
	case reflect.TypeOf(model.Vendor{}):
		return "vendor"
	case reflect.TypeOf(model.Library{}):
		return "library"
	case reflect.TypeOf(model.Service{}):
		return "service"
	case reflect.TypeOf(model.Gate{}):
		return "gate"
	case reflect.TypeOf(model.Environment{}):
		return "environment"
	case reflect.TypeOf(model.CalendarItem{}):
		return "calendar item"
	case reflect.TypeOf(model.Release{}):
		return "release"
	}
	return strings.ToLower(t.Name())
}
