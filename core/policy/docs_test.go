package policy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/model"
)

// TestDefaultsDocumented: docs/spec.md's table of actions lists every
// action with exactly the roles of its default.
func TestDefaultsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "| action | the command | default |")
	if !ok {
		t.Fatal("docs/spec.md has no table of actions")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	code := regexp.MustCompile("`([a-z.]+)`")
	seen := map[Action]bool{}
	for _, line := range strings.Split(table, "\n")[2:] {
		cols := strings.Split(line, "|")
		if len(cols) < 4 {
			continue
		}
		m := code.FindStringSubmatch(cols[1])
		if m == nil {
			t.Fatalf("row without an action: %q", line)
		}
		act := Action(m[1])
		seen[act] = true
		var roles []string
		for _, r := range code.FindAllStringSubmatch(cols[3], -1) {
			if slices.Contains(model.BuiltinRoles, r[1]) { // not field names such as `approvers`
				roles = append(roles, r[1])
			}
		}
		want := Default(act)
		slices.Sort(roles)
		slices.Sort(want)
		if !slices.Equal(roles, want) {
			t.Errorf("%s: documented %v, default %v", act, roles, want)
		}
	}
	for _, a := range Actions {
		if !seen[a] {
			t.Errorf("%s is not documented", a)
		}
	}
}
