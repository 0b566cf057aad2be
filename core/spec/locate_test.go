package spec

import (
	"fmt"
	"strings"
	"testing"
)

// TestSyntaxErrorLocations pins each YAML syntax error to the problem's
// own line and column, not the line yaml.v3's message names.
func TestSyntaxErrorLocations(t *testing.T) {
	const head = "teams:\n  - name: payments\nservices:\n  - name: ledger\n    tier: 1\n    version: 1.0.0\n"
	cases := []struct {
		name, spec string
		want       string // line:col
		msg, hint  string // fragments
	}{
		{"unclosed flow mapping opened on line 7", head + "    deploy: {strategy: canary, instances: 3\n    owner: payments\n",
			"7:13", "{ is never closed", "close the mapping with }"},
		{"unclosed flow mapping at the end", head + "    deploy: {strategy: canary, instances: 3\n",
			"7:13", "{ is never closed", "close the mapping with }"},
		{"unclosed flow sequence", "teams:\n  - name: a\n    roles: [security, operations\nservices: []\n",
			"3:12", "[ is never closed", "close the list with ]"},
		{"tab on line 3", "teams:\n  - name: payments\n\t  display_name: Payments\n",
			"3:1", "tab in the indentation", "indent with spaces"},
		{"tab after spaces", "teams:\n  - name: payments\n  \t display_name: Payments\n",
			"3:3", "tab in the indentation", "indent with spaces"},
		{"invalid UTF-8 on line 3", "teams:\n  - name: payments\n    display_name: Pay\xffments\n",
			"3:22", "invalid UTF-8 (byte 0xFF)", "save the file as UTF-8"},
		{"NUL byte", "teams:\n  - name: pay\x00ments\n",
			"2:14", "control character U+0000", "remove the character"},
		{"unclosed double quote", "teams:\n  - name: payments\n    display_name: \"Pay\n    channel: x\n",
			"3:19", "double-quoted text is never closed", `end the text with a "`},
		{"unclosed single quote", "teams:\n  - name: payments\n    display_name: 'Pay\n    channel: x\n",
			"3:19", "single-quoted text is never closed", "end the text with a '"},
		{"indentation too shallow", "teams:\n  - name: payments\n   display_name: Payments\n",
			"3:4", "indentation does not fit", "line it up"},
		{"indentation back out", "teams:\n  - name: payments\n    display_name: Payments\n  channel: x\n",
			"4:3", "indentation does not fit", "line it up"},
		{"missing colon", "teams:\n  - name: payments\n    display_name Payments\n    channel: x\n",
			"3:5", "indentation does not fit", "missing \"key:\""},
		{"tab with CR LF line ends", "teams:\r\n  - name: payments\r\n\t  display_name: Payments\r\n",
			"3:1", "tab in the indentation", "indent with spaces"},
		{"tab with CR line ends", "teams:\r  - name: payments\r  \t display_name: Payments\r",
			"3:3", "tab in the indentation", "indent with spaces"},
		{"invalid UTF-8 after CR line ends", "teams:\r  - name: payments\r    display_name: Pay\xffments\r",
			"3:22", "invalid UTF-8", "save the file as UTF-8"},
		{"bare dash with CR LF", "services:\r\n  -\r\n",
			"2:3", "empty item in services", "delete the empty"},
		{"unknown alias", "teams:\n  - name: payments\n    roles: *nope\n",
			"3:12", "alias *nope refers to no anchor", "define the anchor &nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Parse("f.yaml", []byte(tc.spec))
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
			}
			e := errs[0]
			if got := fmt.Sprintf("%d:%d", e.Pos.Line, e.Pos.Col); got != tc.want {
				t.Errorf("at %s, want %s: %v", got, tc.want, e)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message %q does not say %q", e.Msg, tc.msg)
			}
			if !strings.Contains(e.Hint, tc.hint) {
				t.Errorf("hint %q does not say %q", e.Hint, tc.hint)
			}
		})
	}
}
