package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// The Overview gives each canary in flight one clause of its judgement:
// what was decided and on how much, not every test, and at most 100
// characters of it.
func TestFirstClause(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"insufficient evidence: 48 canary requests, about 487 more needed (12 s at the current traffic); not yet proved error rate", "insufficient evidence: 48 canary requests, about 487 more needed (12 s at the current traffic) …"},
		{"canary judged worse than baseline", "canary judged worse than baseline"},
		{"", ""},
		// An error chain is cut at a word within 100 characters.
		{"the canary judge could not judge: reading metrics of mobile-bff 2.4.0: no sample of the cohort yet (not scraped since it started, or since the source did): mobile-bff/dev/eu-west@2.4.0",
			"the canary judge could not judge: reading metrics of mobile-bff 2.4.0: no sample of the cohort yet …"},
	} {
		if got := firstClause(c.in); got != c.want {
			t.Errorf("firstClause(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// wrapHangingAt keeps every character, styled or not: the first line
// takes the whole width, the others start at the hang, none is wider
// than the width, and the styles' escape sequences go through.
func TestWrapHangingAt(t *testing.T) {
	red := "\x1b[31m"
	reset := "\x1b[0m"
	for _, c := range []struct {
		name, in    string
		width, hang int
	}{
		{"label", "Gates     4 gates, 8 required across 3 environments · payments: 15 pass, 1 waived, 1 missing, 1 expired", 60, 10},
		{"styled item", red + "  ✗ HighErrorRate (critical) · checkout prod/eu-west · since 14:02 UTC — error rate above 5 % for 5 minutes" + reset, 50, 4},
		{"wide runes", "Warnings  発表 リリース 窓口 の 終わり まで に 低 トラフィック 窓 が ありません 東京 リージョン", 40, 10},
		{"fits", "Captain   carol", 80, 10},
		{"no hang", "Latest audit events and a long tail of words that wraps at the margin as before", 30, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := wrapHangingAt(c.in, c.width, c.hang)
			var got strings.Builder
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > c.width {
					t.Errorf("line %d is %d cells wide, more than %d: %q", i, w, c.width, l)
				}
				plain := ansi.Strip(l)
				if i > 0 && c.hang > 0 {
					if !strings.HasPrefix(plain, strings.Repeat(" ", c.hang)) || plain[c.hang] == ' ' {
						t.Errorf("line %d does not start at the hang %d: %q", i, c.hang, plain)
					}
					plain = plain[c.hang:]
				}
				if i > 0 {
					got.WriteByte(' ')
				}
				got.WriteString(plain)
			}
			// Breaks fall at blanks (dropped) or after hyphens (kept): the
			// text but its blanks is the same.
			if want := ansi.Strip(c.in); strings.Join(strings.Fields(got.String()), "") != strings.Join(strings.Fields(want), "") {
				t.Errorf("text changed:\n got %q\nwant %q", got.String(), want)
			}
			if strings.Contains(c.in, red) && !strings.Contains(strings.Join(lines, "\n"), red) {
				t.Error("the style's escape sequence was lost")
			}
		})
	}
}
