package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/warroom/warroom/core/policy"
)

// TestWithPolicyField: writeJSON's objects carry "policy" first unless
// they have it at the top level; a "policy" deeper down, or inside a
// string, does not count; lists are left alone.
func TestWithPolicyField(t *testing.T) {
	indent := func(v any) []byte {
		out, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return append(out, '\n')
	}
	type inner struct {
		Policy string `json:"policy"`
	}
	for _, tc := range []struct {
		name string
		v    any
		want string // the top-level "policy" after
	}{
		{"own field kept", map[string]any{"policy": "open", "a": 1}, "open"},
		{"added", map[string]any{"a": 1}, "enforced"},
		{"nested does not count", map[string]any{"a": inner{Policy: "open"}}, "enforced"},
		{"string does not count", map[string]any{"a": "x\n  \"policy\": \"open\""}, "enforced"},
		{"empty object", struct{}{}, "enforced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := withPolicyField(indent(tc.v), policy.Enforced)
			var got map[string]json.RawMessage
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if string(got["policy"]) != `"`+tc.want+`"` {
				t.Errorf("policy %s, want %q\n%s", got["policy"], tc.want, out)
			}
		})
	}
	if out := withPolicyField(indent([]int{1, 2}), policy.Enforced); string(out) != "[\n  1,\n  2\n]\n" {
		t.Errorf("a list changed: %s", out)
	}
}

// TestIndentJSON: writeJSON's indenter gives json.MarshalIndent's bytes.
func TestIndentJSON(t *testing.T) {
	type cell struct {
		Name   string         `json:"name"`
		Value  *float64       `json:"value,omitempty"`
		Tags   []string       `json:"tags"`
		Empty  map[string]int `json:"empty"`
		Nested [][]any        `json:"nested"`
	}
	v := 71.25
	for _, val := range []any{
		nil, 1.5, "a \"quoted\" \\ string, with: {braces} [and] commas\n<html> & é \u2028", []int{}, map[string]any{},
		[]cell{{Name: "x", Value: &v, Tags: []string{"a", "b"}, Empty: map[string]int{}, Nested: [][]any{{}, {1, "}"}, nil}}, {}},
		map[string]any{"a": map[string]any{"b": []any{map[string]any{}, []any{[]any{}}, `\"`}}, "z": true},
	} {
		want, err := json.MarshalIndent(val, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		compact, err := json.Marshal(val)
		if err != nil {
			t.Fatal(err)
		}
		if got := indentJSON(nil, compact); string(got) != string(want) {
			t.Errorf("indentJSON(%s) =\n%s\nwant\n%s", compact, got, want)
		}
	}
}

// FuzzIndentJSON: on any valid JSON made compact (what Marshal writes),
// indentJSON and json.Indent agree.
func FuzzIndentJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,{},[]],"b":"x\"y\\"}`, `[]`, `"s"`, `{"k":{"l":[null,true]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var compact bytes.Buffer
		if json.Compact(&compact, data) != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := indentJSON(nil, compact.Bytes()); string(got) != want.String() {
			t.Errorf("indentJSON(%s) =\n%s\nwant\n%s", compact.Bytes(), got, want.String())
		}
	})
}
