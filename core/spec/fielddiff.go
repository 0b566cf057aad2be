package spec

import (
	"encoding/json"
	"fmt"
	"sort"
)

// FieldChange is one value an update changes, by its path in the spec
// ("requires[api=payments-api].range"). Old or New is empty when the value
// is added or removed.
type FieldChange struct {
	Path string `json:"path"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

func (f FieldChange) String() string {
	switch {
	case f.Old == "":
		return fmt.Sprintf("%s: + %s", f.Path, f.New)
	case f.New == "":
		return fmt.Sprintf("%s: - %s", f.Path, f.Old)
	}
	return fmt.Sprintf("%s: %s -> %s", f.Path, f.Old, f.New)
}

// fieldChanges lists the values that differ between two canonical JSON
// encodings of one object.
func fieldChanges(oldJSON, newJSON []byte) ([]FieldChange, error) {
	var a, b any
	if err := json.Unmarshal(oldJSON, &a); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(newJSON, &b); err != nil {
		return nil, err
	}
	var out []FieldChange
	diffValue("", a, b, &out)
	return out, nil
}

// identityKeys are the fields that name an element of a list of objects,
// so a reordered or inserted element is not reported as every later one
// changing.
var identityKeys = []string{"name", "api", "service"}

func diffValue(path string, a, b any, out *[]FieldChange) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			diffValue(joinPath(path, k), av[k], bv[k], out)
		}
		return
	case []any:
		bv, ok := b.([]any)
		if !ok {
			break
		}
		if id := listIdentity(av, bv); id != "" {
			diffKeyedList(path, id, av, bv, out)
			return
		}
		if isScalarList(av) && isScalarList(bv) {
			break // a list of plain values reads best whole
		}
		n := max(len(av), len(bv))
		for i := 0; i < n; i++ {
			var x, y any
			if i < len(av) {
				x = av[i]
			}
			if i < len(bv) {
				y = bv[i]
			}
			diffValue(fmt.Sprintf("%s[%d]", path, i), x, y, out)
		}
		return
	}
	ea, eb := render(a), render(b)
	if ea != eb {
		*out = append(*out, FieldChange{Path: path, Old: ea, New: eb})
	}
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func render(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func isScalarList(l []any) bool {
	for _, v := range l {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// listIdentity returns the key naming every element of both lists, if
// there is one.
func listIdentity(a, b []any) string {
	for _, k := range identityKeys {
		ok := len(a)+len(b) > 0
		seen := map[string]bool{}
		for _, l := range [][]any{a, b} {
			local := map[string]bool{}
			for _, e := range l {
				m, isMap := e.(map[string]any)
				s, isStr := m[k].(string)
				if !isMap || !isStr || local[s] {
					ok = false
					break
				}
				local[s] = true
				seen[s] = true
			}
		}
		if ok {
			return k
		}
	}
	return ""
}

func diffKeyedList(path, id string, a, b []any, out *[]FieldChange) {
	index := func(l []any) (map[string]any, []string) {
		m := map[string]any{}
		var order []string
		for _, e := range l {
			n := e.(map[string]any)[id].(string)
			m[n] = e
			order = append(order, n)
		}
		return m, order
	}
	am, aorder := index(a)
	bm, border := index(b)
	names := append([]string{}, aorder...)
	for _, n := range border {
		if _, ok := am[n]; !ok {
			names = append(names, n)
		}
	}
	for _, n := range names {
		diffValue(fmt.Sprintf("%s[%s=%s]", path, id, n), am[n], bm[n], out)
	}
}
